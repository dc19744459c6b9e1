#!/usr/bin/env python3
"""Peer measurement: ONNX Runtime latency of MobileNetV2 batch 1, single thread, same input as
benchmarks/mobilenet_benchmark.cc. Prints session creation + first run, and the median and spread of
steady runs over 5 repetitions of 50 runs each. Needs `pip install onnxruntime numpy` (not a Kiln dependency).

Usage: python3 benchmarks/peers/onnxruntime_mobilenet.py [MODEL]
"""
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

model = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/models/mobilenet_v2_1.0_224.onnx"
i = np.arange(3 * 224 * 224, dtype=np.int64)
x = (((i * 7919) % 256 - 128) / 128.0).astype(np.float32).reshape(1, 3, 224, 224)

opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL

t0 = time.perf_counter()
sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
sess.run(None, {name: x})
first = (time.perf_counter() - t0) * 1e3

medians = []
for _ in range(5):
    times = []
    for _ in range(50):
        t = time.perf_counter()
        sess.run(None, {name: x})
        times.append((time.perf_counter() - t) * 1e3)
    medians.append(statistics.median(times))
print(f"onnxruntime {ort.__version__}: first run (incl. session creation) {first:.1f} ms; "
      f"steady median {statistics.median(medians):.2f} ms (repetition medians: "
      + ", ".join(f"{m:.2f}" for m in medians) + ")")
