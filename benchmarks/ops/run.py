#!/usr/bin/env python3
"""Times Kiln's runtime kernels (JIT off), the JIT and ONNX Runtime on single-op models, single thread.

A development script, not part of CI (docs/performance.md quotes its output). It needs
`pip install onnx onnxruntime numpy`. Each case is a one-node ONNX model (opset 17) with the shapes
the benchmark set's models use (LR-ASPP's bilinear upsampling, the detector's nearest upsampling,
UNet's 2x2 stride-2 ConvTranspose, the text models' LSTM and GRU, the transformers' LayerNorm and
Softmax, MobileNetV3's HardSwish), written with seeded random weights into the results folder and
timed by benchmarks/models/run.py's harness: `kiln bench --json` with the JIT off and on, and ONNX
Runtime (1 thread, ORT_ENABLE_ALL), each in its own process under OMP_NUM_THREADS=1.

Usage:
    python3 benchmarks/ops/run.py [--results DIR] [--only NAME,...] [--repeat 20] [--warmup 3]
        [--kiln PATH]

Prints a Markdown table (median ms; "kernels/ORT" is the runtime kernel's time over ONNX Runtime's)
and writes DIR/results.md and DIR/results.json.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import run as harness  # noqa: E402  (benchmarks/models/run.py)

SEED = 0


def _model(node, inputs, outputs, inits=()):
    import onnx
    from onnx import helper
    graph = helper.make_graph([node], node.op_type.lower(), inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


def _f32(name, shape):
    from onnx import TensorProto, helper
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _const(name, array):
    from onnx import numpy_helper
    return numpy_helper.from_array(array, name)


def cases():
    """[(name, description, builder)]; builder() returns an onnx.ModelProto."""
    import numpy as np
    from onnx import helper
    rng = np.random.default_rng(SEED)

    def resize(name, x, out, mode, ctm, nearest="round_prefer_floor"):
        node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode,
                                coordinate_transformation_mode=ctm, nearest_mode=nearest)
        return _model(node, [_f32("x", x)], [_f32("y", out)],
                      [_const("sizes", np.array(out, np.int64))])

    def conv_transpose():
        w = rng.uniform(-0.1, 0.1, (256, 128, 2, 2)).astype(np.float32)
        b = rng.uniform(-0.1, 0.1, (128,)).astype(np.float32)
        node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], kernel_shape=[2, 2],
                                strides=[2, 2])
        return _model(node, [_f32("x", [1, 256, 32, 32])], [_f32("y", [1, 128, 64, 64])],
                      [_const("w", w), _const("b", b)])

    def recurrent(op, gates):
        hidden, inp, seq = 256, 128, 64
        w = rng.uniform(-0.1, 0.1, (1, gates * hidden, inp)).astype(np.float32)
        r = rng.uniform(-0.1, 0.1, (1, gates * hidden, hidden)).astype(np.float32)
        b = rng.uniform(-0.1, 0.1, (1, 2 * gates * hidden)).astype(np.float32)
        node = helper.make_node(op, ["x", "w", "r", "b"], ["y"], hidden_size=hidden)
        return _model(node, [_f32("x", [seq, 1, inp])], [_f32("y", [seq, 1, 1, hidden])],
                      [_const("w", w), _const("r", r), _const("b", b)])

    def layer_norm():
        scale = rng.uniform(0.5, 1.5, (768,)).astype(np.float32)
        bias = rng.uniform(-0.1, 0.1, (768,)).astype(np.float32)
        node = helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["y"], axis=-1,
                                epsilon=1e-5)
        return _model(node, [_f32("x", [1, 128, 768])], [_f32("y", [1, 128, 768])],
                      [_const("scale", scale), _const("bias", bias)])

    def unary(op, shape, **attrs):
        node = helper.make_node(op, ["x"], ["y"], **attrs)
        return _model(node, [_f32("x", shape)], [_f32("y", shape)])

    return [
        ("resize_linear_8x", "Resize linear half_pixel f32[1,21,64,64] -> [1,21,512,512] (LR-ASPP head)",
         lambda: resize("r", [1, 21, 64, 64], [1, 21, 512, 512], "linear", "half_pixel")),
        ("resize_nearest_2x", "Resize nearest asymmetric floor f32[1,128,20,20] -> [1,128,40,40] (detector neck)",
         lambda: resize("r", [1, 128, 20, 20], [1, 128, 40, 40], "nearest", "asymmetric", "floor")),
        ("conv_transpose_k2s2", "ConvTranspose 2x2 stride 2, f32[1,256,32,32] -> [1,128,64,64] (UNet)",
         conv_transpose),
        ("lstm", "LSTM hidden 256, input 128, sequence 64, batch 1", lambda: recurrent("LSTM", 4)),
        ("gru", "GRU hidden 256, input 128, sequence 64, batch 1", lambda: recurrent("GRU", 3)),
        ("layer_norm", "LayerNormalization over 768, f32[1,128,768]", layer_norm),
        ("softmax", "Softmax over the last axis, f32[1,12,128,128]",
         lambda: unary("Softmax", [1, 12, 128, 128], axis=-1)),
        ("hard_swish", "HardSwish f32[1,96,56,56]", lambda: unary("HardSwish", [1, 96, 56, 56])),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--only", default="")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--kiln", default=os.path.join(harness.ROOT, "build", "tools", "kiln"))
    args = ap.parse_args()
    args.openvino = False
    import onnx
    os.makedirs(args.results, exist_ok=True)
    only = {n for n in args.only.split(",") if n}
    rows, raw = [], {}
    for name, desc, build in cases():
        if only and name not in only:
            continue
        folder = os.path.join(args.results, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{name}.onnx")
        onnx.save(build(), path)
        print(f"[{len(rows) + 1}] {name} ...", file=sys.stderr, flush=True)
        res = harness.bench_model(path, args, folder)
        raw[name] = {k: {"result": v[0], "error": v[1]} for k, v in res.items()}
        off, on, ort = (harness.lat(res[k]) for k in ("kiln_off", "kiln_on", "ort"))
        rows.append(f"| {name} | {desc} | {harness.cell(res['kiln_off'])} | {harness.cell(res['kiln_on'])} | "
                    f"{harness.cell(res['ort'])} | {harness.ratio(off, ort)} | {harness.ratio(on, ort)} |")
    table = ("| case | what | Kiln kernels (ms) | Kiln JIT on (ms) | ORT (ms) | kernels/ORT | JIT on/ORT |\n"
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n" + "\n".join(rows) + "\n")
    header = (f"CPU: {harness.cpu_name()}; single thread (OMP_NUM_THREADS=1), medians of {args.repeat} "
              f"after {args.warmup} warm-up runs.\n\n")
    with open(os.path.join(args.results, "results.md"), "w") as f:
        f.write(header + table)
    with open(os.path.join(args.results, "results.json"), "w") as f:
        json.dump(raw, f, indent=1)
    print(header + table)


if __name__ == "__main__":
    main()
