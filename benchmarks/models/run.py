#!/usr/bin/env python3
"""Times Kiln (JIT off and on), ONNX Runtime and OpenVINO on the benchmark set, single thread.

A development script, not part of CI. Needs `pip install onnxruntime numpy matplotlib` and, for the
OpenVINO column, `pip install openvino` (the column reads "n/a" when it cannot be imported). The
models come from benchmarks/models/generate.py (docs/benchmarks.md), plus two shared models:
light ResNet-50 of the ONNX backend tests and MobileNetV2 with real weights.

For every model the script writes the same inputs for every runtime (seeded uniform [-1, 1) floats;
int64 ids in [0, 1000); int64 attention masks of ones) as .npy files, then runs
  * `kiln bench MODEL --input ... --json --repeat R --warmup W` with KILN_FLAGS unset (JIT off) and
    with KILN_FLAGS=--auto_jit=2 (JIT on),
  * ONNX Runtime (1 intra-op and 1 inter-op thread, ORT_ENABLE_ALL, sequential),
  * OpenVINO (CPU, INFERENCE_NUM_THREADS=1, PERFORMANCE_HINT=LATENCY, INFERENCE_PRECISION_HINT=f32;
    without the last, OpenVINO computes in bf16 on this AMX CPU),
each in its own process under OMP_NUM_THREADS=1 and a per-model timeout. Steady latency is the median
of R timed runs after W warm-up runs; "first run" is load + compile + the first inference. A runtime
that fails or times out on a model gets its error text in the table; the run goes on.

Usage:
    python3 benchmarks/models/run.py [--results DIR] [--only NAME,...] [--repeat 20] [--warmup 3]
        [--timeout 600] [--models DIR] [--kiln PATH]

Writes DIR/results.md (the table), DIR/results.json (every raw figure) and DIR/latency.png, and prints
the table and the geometric mean of Kiln JIT on / ONNX Runtime.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SHARED_MODELS = [  # relative to the repository root
    "../shared/data/onnx-backend-tests/light/light_resnet50.onnx",
    "../shared/data/models/mobilenet_v2_1.0_224.onnx",
]
SEED = 0


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def single_thread_env():
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env.pop("KILN_FLAGS", None)
    return env


# ----------------------------------------------------------------------------------------------
# Inputs, shared by every runtime.


def write_inputs(model, folder):
    """Writes one .npy per model input into folder; returns [(name, path)]."""
    import numpy as np
    import onnx
    m = onnx.load(model, load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(SEED)
    out = []
    for vi in m.graph.input:
        if vi.name in init:
            continue
        t = vi.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)
        if np.issubdtype(dtype, np.integer):
            a = (np.ones(shape, dtype) if "mask" in vi.name
                 else rng.integers(0, 1000, size=shape).astype(dtype))
        else:
            a = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
        safe = "".join(c if c.isalnum() else "_" for c in vi.name)
        path = os.path.join(folder, f"{safe}.npy")
        np.save(path, a)
        out.append((vi.name, path))
    return out


# ----------------------------------------------------------------------------------------------
# Peers, each run in a child process of this script (so that the per-model timeout holds).


def peer_main(kind, model, inputs, repeat, warmup):
    import numpy as np
    feeds = {n: np.load(p) for n, p in inputs}
    t0 = time.perf_counter()
    if kind == "ort":
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        run = lambda: sess.run(None, feeds)  # noqa: E731
        version = ort.__version__
    else:
        import openvino as ov
        core = ov.Core()
        # f32 precision: on CPUs with AMX or AVX512-BF16 OpenVINO otherwise computes in bf16.
        compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1,
                                                     "PERFORMANCE_HINT": "LATENCY",
                                                     "INFERENCE_PRECISION_HINT": "f32"})
        req = compiled.create_infer_request()
        run = lambda: req.infer(feeds)  # noqa: E731
        version = ov.__version__
    run()
    first = (time.perf_counter() - t0) * 1e3
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({"first_run_ms": first, "latency_ms_median": statistics.median(times),
                      "latency_ms_min": min(times), "repeat": repeat, "version": version}))


def run_child(cmd, env, timeout):
    """Runs cmd; returns (parsed JSON of its last stdout line, None) or (None, error text)."""
    try:
        p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {timeout} s"
    except OSError as e:
        return None, str(e)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if p.returncode == 0 and lines:
        try:
            return json.loads(lines[-1]), None
        except json.JSONDecodeError:
            pass
    err = (p.stderr.strip() or p.stdout.strip() or f"exit code {p.returncode}").splitlines()
    return None, f"exit {p.returncode}: " + (err[-1] if err else "")


def bench_model(model, args, folder):
    inputs = write_inputs(model, folder)
    env = single_thread_env()
    res = {}
    kiln = [args.kiln, "bench", model, "--json", "--repeat", str(args.repeat),
            "--warmup", str(args.warmup)]
    for n, p in inputs:
        kiln += ["--input", f"{n}={p}"]
    res["kiln_off"] = run_child(kiln, env, args.timeout)
    res["kiln_on"] = run_child(kiln, dict(env, KILN_FLAGS="--auto_jit=2"), args.timeout)
    peer = [sys.executable, os.path.abspath(__file__), "--peer", "", "--peer-model", model,
            "--repeat", str(args.repeat), "--warmup", str(args.warmup)]
    for n, p in inputs:
        peer += ["--peer-input", f"{n}={p}"]
    peer[3] = "ort"
    res["ort"] = run_child(peer, env, args.timeout)
    if args.openvino:
        peer[3] = "openvino"
        res["openvino"] = run_child(peer, env, args.timeout)
    else:
        res["openvino"] = (None, "n/a")
    return res


# ----------------------------------------------------------------------------------------------
# Report.


def lat(r):
    return r[0]["latency_ms_median"] if r[0] else None


def cell(r, key="latency_ms_median"):
    if r[0] is None:
        return (r[1] or "error").replace("|", "/")[:120]
    v = r[0].get(key)
    return "" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else ""


def write_report(results, args, versions):
    os.makedirs(args.results, exist_ok=True)
    head = ("| model | Kiln JIT off (ms) | Kiln JIT on (ms) | ORT (ms) | OpenVINO (ms) | on/off | "
            "Kiln best/ORT | clusters | compile_ms | first run JIT on (ms) |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    rows = []
    on_over_ort = []
    for name, r in results:
        off, on, ort = lat(r["kiln_off"]), lat(r["kiln_on"]), lat(r["ort"])
        best = min([v for v in (off, on) if v] or [0]) or None
        if on and ort:
            on_over_ort.append(on / ort)
        rows.append(f"| {name} | {cell(r['kiln_off'])} | {cell(r['kiln_on'])} | {cell(r['ort'])} | "
                    f"{cell(r['openvino'])} | {ratio(on, off)} | {ratio(best, ort)} | "
                    f"{cell(r['kiln_on'], 'clusters') if r['kiln_on'][0] else ''} | "
                    f"{cell(r['kiln_on'], 'compile_ms') if r['kiln_on'][0] else ''} | "
                    f"{cell(r['kiln_on'], 'first_run_ms') if r['kiln_on'][0] else ''} |")
    geo = (math.exp(sum(math.log(x) for x in on_over_ort) / len(on_over_ort))
           if on_over_ort else None)
    text = (f"CPU: {cpu_name()}; single thread (OMP_NUM_THREADS=1); median of {args.repeat} runs after "
            f"{args.warmup} warm-up runs. {versions}\n\n" + head + "\n".join(rows) + "\n\n"
            + (f"Geometric mean of Kiln JIT on / ONNX Runtime over {len(on_over_ort)} models: "
               f"{geo:.3f}\n" if geo else "Geometric mean of Kiln JIT on / ONNX Runtime: n/a "
               "(no model ran in both)\n"))
    with open(os.path.join(args.results, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.results, "results.json"), "w") as f:
        json.dump({"cpu": cpu_name(), "repeat": args.repeat, "warmup": args.warmup,
                   "versions": versions,
                   "models": {n: {k: {"result": v[0], "error": v[1]} for k, v in r.items()}
                              for n, r in results}}, f, indent=1)
    print(text)
    plot(results, os.path.join(args.results, "latency.png"))


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return
    keys = [("kiln_off", "Kiln JIT off"), ("kiln_on", "Kiln JIT on"), ("ort", "ONNX Runtime"),
            ("openvino", "OpenVINO")]
    names = [n for n, _ in results]
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(names)), 5))
    w = 0.2
    for i, (k, label) in enumerate(keys):
        xs = [j + (i - 1.5) * w for j in range(len(names))]
        ys = [lat(r[k]) or 0 for _, r in results]
        ax.bar(xs, ys, w, label=label)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("median latency, ms (log scale; missing bar = failed)")
    ax.set_title(f"Single-thread latency, batch 1 ({cpu_name()})", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def versions_line(args):
    parts = []
    try:
        p = subprocess.run([args.kiln, "--version"], capture_output=True, text=True, timeout=30)
        parts.append(p.stdout.strip() or "kiln ?")
    except OSError as e:
        parts.append(f"kiln: {e}")
    try:
        import onnxruntime
        parts.append(f"onnxruntime {onnxruntime.__version__}")
    except ImportError:
        parts.append("onnxruntime missing")
    if args.openvino:
        import openvino
        parts.append(f"openvino {openvino.__version__}")
    return "; ".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--results", default=os.path.join(HERE, "out", "results"),
                   help="folder for results.md, results.json and latency.png")
    p.add_argument("--models", default=os.path.join(HERE, "out"),
                   help="folder of generate.py's .onnx files")
    p.add_argument("--only", default="", help="comma-separated model names (file names without .onnx)")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--timeout", type=float, default=600, help="seconds per model and runtime")
    p.add_argument("--kiln", default=os.path.join(ROOT, "build", "tools", "kiln"))
    p.add_argument("--no-openvino", dest="openvino", action="store_false")
    p.add_argument("--peer", help=argparse.SUPPRESS)
    p.add_argument("--peer-model", help=argparse.SUPPRESS)
    p.add_argument("--peer-input", action="append", default=[], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.peer:
        peer_main(args.peer, args.peer_model, [s.split("=", 1) for s in args.peer_input],
                  args.repeat, args.warmup)
        return
    if args.repeat < 5:
        sys.exit("--repeat must be at least 5 (medians of fewer runs are noise)")
    if args.openvino:
        try:
            import openvino  # noqa: F401
        except ImportError:
            print("openvino is not importable: its column reads n/a", file=sys.stderr)
            args.openvino = False
    models = []
    if os.path.isdir(args.models):
        models += [os.path.join(args.models, f) for f in sorted(os.listdir(args.models))
                   if f.endswith(".onnx")]
    models += [os.path.normpath(os.path.join(ROOT, m)) for m in SHARED_MODELS]
    only = {n for n in args.only.split(",") if n}
    models = [m for m in models if not only or os.path.basename(m)[:-5] in only]
    if not models:
        sys.exit("no models: run benchmarks/models/generate.py first, or check --only")
    import tempfile
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in models:
            name = os.path.basename(m)[:-5]
            if not os.path.exists(m):
                results.append((name, {k: (None, "model file missing")
                                       for k in ("kiln_off", "kiln_on", "ort", "openvino")}))
                continue
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            print(f"{name} ...", file=sys.stderr, flush=True)
            results.append((name, bench_model(m, args, folder)))
    write_report(results, args, versions_line(args))


if __name__ == "__main__":
    main()
