"""neural-tangents side of bench_ntk.py: run by the Python of a separate venv, never imported by freqlens.

    <ntvenv>/bin/python benchmarks/ntk_neural_tangents.py weights.npz kernels.npz --repeats 5

Reads the inputs and the PyTorch weights written by bench_ntk.py (``np.load(..., allow_pickle=False)``), builds the
same network with ``neural_tangents.stax`` in the standard parametrisation (weights used as they are), computes the
full empirical NTK (``trace_axes=()``) with each implementation after a warm-up (JIT) call, writes the kernels to
``kernels.npz`` and prints one JSON line per implementation: ``{"method", "ms", "mib"}`` (median time, peak RSS
increase during a timed call, from /proc/self/status after resetting the high-water mark).

Venv recipe (neural-tangents 0.6.5 imports only with these pins):

    python3.11 -m venv /work/ntvenv
    /work/ntvenv/bin/pip install "numpy==1.26.4" "jax[cpu]==0.4.25" "jaxlib==0.4.25" \\
        "tensorflow-cpu==2.15.1" "tf2jax==0.3.6" "neural-tangents==0.6.5"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_THREADS = int(os.environ.get("FREQLENS_BENCH_THREADS", "0"))
if _THREADS:  # same CPU budget as the torch side: pin to the first N CPUs (before XLA sizes its thread pool)
    os.sched_setaffinity(0, set(range(_THREADS)))
    if _THREADS == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import neural_tangents as nt  # noqa: E402
from neural_tangents import stax  # noqa: E402


def rss() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, val = line.split(":")
                out[key] = int(val.split()[0]) * 1024
    return out


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def build(arch: str, data):
    if arch == "mlp":
        widths = [int(v) for v in data["widths"]]
        layers = []
        for i, w in enumerate(widths):
            layers.append(stax.Dense(w, b_std=1.0, parameterization="standard"))
            if i < len(widths) - 1:
                layers.append(stax.Relu())
        x = np.asarray(data["x"], np.float32)
    elif arch == "cnn":
        layers = [stax.Conv(16, (3, 3), padding="SAME", b_std=1.0, parameterization="standard"), stax.Relu(),
                  stax.Conv(16, (3, 3), padding="SAME", b_std=1.0, parameterization="standard"), stax.Relu(),
                  stax.Flatten(), stax.Dense(10, b_std=1.0, parameterization="standard")]
        x = np.asarray(data["x"], np.float32).transpose(0, 2, 3, 1)  # NCHW -> NHWC
    else:
        raise SystemExit(f"unknown arch {arch!r}")
    init_fn, apply_fn, _ = stax.serial(*layers)
    _, shapes = init_fn(jax.random.PRNGKey(0), x.shape)
    params, k = [], 0
    for p in shapes:
        if p == ():
            params.append(())
            continue
        w, b = np.asarray(data[f"w{k}"], np.float32), np.asarray(data[f"b{k}"], np.float32)
        params.append((w.reshape(p[0].shape), b.reshape(p[1].shape)))
        k += 1
    return apply_fn, params, x


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("kernels")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--methods", default="STRUCTURED_DERIVATIVES,JACOBIAN_CONTRACTION,NTK_VECTOR_PRODUCTS")
    args = ap.parse_args()
    data = np.load(args.weights, allow_pickle=False)
    apply_fn, params, x = build(str(data["arch"]), data)
    kernels = {}
    for name in args.methods.split(","):
        impl = getattr(nt.NtkImplementation, name)
        fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0, implementation=impl))
        try:
            k = jax.block_until_ready(fn(x, None, params))  # compile
        except Exception as exc:  # e.g. RESOURCE_EXHAUSTED: report it, go on with the next implementation
            print(json.dumps({"method": name, "error": str(exc).strip().splitlines()[0][:160]}), flush=True)
            continue
        times, peak, measured = [], 0, False
        for i in range(args.repeats):
            ok = reset_peak()
            before = rss()["VmRSS"]
            t = time.perf_counter()
            k = jax.block_until_ready(fn(x, None, params))
            times.append(time.perf_counter() - t)
            if ok:
                measured = True
                peak = max(peak, rss()["VmHWM"] - before)
            if i == 0 and times[0] > 10:
                break
        kernels[name] = np.asarray(k)
        print(json.dumps({"method": name, "ms": 1e3 * statistics.median(times),
                          "mib": peak / 2 ** 20 if measured else None,
                          "jax": jax.__version__, "nt": getattr(nt, "__version__", "?")}), flush=True)
    np.savez(args.kernels, **kernels)


if __name__ == "__main__":
    main()
