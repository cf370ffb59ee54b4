"""Time freqlens's empirical NTK against torch.func, nngeometry and neural-tangents on the same weights.

    python benchmarks/bench_ntk.py [--case mlp,cnn] [--n 2048] [--repeats 5] [--ntvenv /work/ntvenv]
                                   [--threads 0] [--skip-slow]

Cases (float32, CPU, full kernel ``(n, n, O, O)``):
  mlp   MLP 1-512-512-1 ReLU (264k parameters), n = 2,048 inputs in [−1, 1]
  cnn   conv16(3×3, same)-ReLU-conv16(3×3, same)-ReLU-dense10 on 16 inputs of 28×28 (16×16×10×10 kernel)
Methods:
  freqlens      freqlens.lab.theory.empirical_ntk (layer-wise contraction, one triangle of tiles)
  torch.func    vmap(jacrev) per-sample Jacobians, then Σ_params J₁J₂ᵀ (the generic PyTorch recipe)
  nngeometry    nngeometry.GramMatrix (hooks; installed with ``pip install --no-deps nngeometry``), if importable
  nt:<impl>     neural-tangents' STRUCTURED_DERIVATIVES / JACOBIAN_CONTRACTION / NTK_VECTOR_PRODUCTS, run by
                benchmarks/ntk_neural_tangents.py in the venv given by --ntvenv (recipe in that file), if it exists
Every kernel is checked against freqlens's: max |K − K_freqlens| / max |K_freqlens| must be <= 1e-5.
Time: median of the repeats after a warm-up call (one timed call when a call takes > 10 s). Memory: peak RSS
increase during a timed call (/proc/self/status VmHWM after resetting it through /proc/self/clear_refs;
memory the allocator kept from the warm-up call is not counted again, so small figures are lower bounds).
Timings on a shared machine are noisy (with other processes on the cores, multi-threaded OpenMP regions stall:
use --threads 1 there); the ratios column divides by freqlens's time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from freqlens.lab.theory import empirical_ntk

HERE = Path(__file__).resolve().parent


# -- memory and time -------------------------------------------------------------------------------------------
def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, val = line.split(":")
                out[key] = int(val.split()[0]) * 1024
    return out


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure(fn, repeats: int):
    """(result, median ms, peak MiB or None) after one warm-up call."""
    result = fn()
    times, peak, measured = [], 0, False
    for i in range(repeats):
        ok = _reset_peak()
        before = _status()["VmRSS"]
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        if ok:
            measured = True
            peak = max(peak, _status()["VmHWM"] - before)
        if i == 0 and times[0] > 10:
            break
    return result, 1e3 * statistics.median(times), (peak / 2 ** 20 if measured else None)


# -- models ----------------------------------------------------------------------------------------------------
def _fill(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """PyTorch's default ranges U(±1/√fan_in) for weights and biases, drawn from ``gen`` (no global RNG)."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Conv2d)):
                fan_in = mod.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                mod.weight.uniform_(-bound, bound, generator=gen)
                mod.bias.uniform_(-bound, bound, generator=gen)
    return model


def make_case(case: str, n: int, gen: torch.Generator):
    skip = torch.nn.utils.skip_init
    if case == "mlp":
        model = nn.Sequential(skip(nn.Linear, 1, 512), nn.ReLU(), skip(nn.Linear, 512, 512), nn.ReLU(),
                              skip(nn.Linear, 512, 1))
        x = torch.rand(n, 1, generator=gen) * 2 - 1
        extra = {"arch": "mlp", "widths": np.array([512, 512, 1])}
    else:
        model = nn.Sequential(skip(nn.Conv2d, 1, 16, 3, padding=1), nn.ReLU(), skip(nn.Conv2d, 16, 16, 3, padding=1),
                              nn.ReLU(), nn.Flatten(), skip(nn.Linear, 16 * 28 * 28, 10))
        x = torch.rand(16, 1, 28, 28, generator=gen)
        extra = {"arch": "cnn"}
    return _fill(model, gen), x, extra


def nt_weights(model: nn.Module, x: torch.Tensor, extra: dict) -> dict[str, np.ndarray]:
    """The torch weights in neural-tangents' layouts: Dense (in, out); Conv HWIO; the dense layer after a flatten
    reordered from torch's (C, H, W) to JAX's (H, W, C)."""
    out = {"x": x.numpy(), **extra}
    k = 0
    prev = None
    for mod in model:
        if isinstance(mod, nn.Conv2d):
            out[f"w{k}"] = mod.weight.detach().permute(2, 3, 1, 0).numpy()
        elif isinstance(mod, nn.Linear):
            w = mod.weight.detach()
            if isinstance(prev, nn.Flatten):
                c = 16
                hw = w.shape[1] // c
                side = int(math.isqrt(hw))
                w = w.reshape(w.shape[0], c, side, side).permute(0, 2, 3, 1).reshape(w.shape[0], -1)
            out[f"w{k}"] = w.T.contiguous().numpy()
        else:
            prev = mod
            continue
        out[f"b{k}"] = mod.bias.detach().numpy()
        k += 1
        prev = mod
    return out


# -- peers -----------------------------------------------------------------------------------------------------
def torch_func_ntk(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def f(p, xi):
        return functional_call(model, p, (xi.unsqueeze(0),)).reshape(-1)

    jac = vmap(jacrev(f), (None, 0))(params, x)
    out = None
    for j in jac.values():
        j = j.flatten(2)
        term = torch.einsum("aoi,bpi->abop", j, j)
        out = term if out is None else out.add_(term)
    return out


def nngeometry_ntk(model: nn.Module, x: torch.Tensor):
    from nngeometry import GramMatrix
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x), batch_size=x.shape[0])
    g = GramMatrix(model, loader, function=lambda xb: model(xb)).data  # (O, n, O, n)
    return g.permute(1, 3, 0, 2)


def run_neural_tangents(ntvenv: Path, weights: dict, repeats: int, threads: int) -> tuple[list[dict], dict, str]:
    py = ntvenv / "bin" / "python"
    if not py.exists():
        return [], {}, f"no venv at {ntvenv} (recipe in benchmarks/ntk_neural_tangents.py)"
    with tempfile.TemporaryDirectory() as tmp:
        wpath, kpath = Path(tmp) / "weights.npz", Path(tmp) / "kernels.npz"
        np.savez(wpath, **weights)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["FREQLENS_BENCH_THREADS"] = str(threads)
        proc = subprocess.run([str(py), str(HERE / "ntk_neural_tangents.py"), str(wpath), str(kpath),
                               "--repeats", str(repeats)], capture_output=True, text=True, env=env, timeout=3600)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return [], {}, f"neural-tangents worker failed: {last}"
        rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        with np.load(kpath, allow_pickle=False) as z:
            kernels = {k: z[k] for k in z.files}
    return rows, kernels, ""


# -- main ------------------------------------------------------------------------------------------------------
def rel_diff(k, ref) -> float:
    k = np.asarray(k, dtype=np.float64).reshape(ref.shape)
    return float(np.abs(k - ref).max() / np.abs(ref).max())


def bench_case(case: str, args) -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    model, x, extra = make_case(case, args.n, gen)
    rows = []
    ref, ms, mib = measure(lambda: empirical_ntk(model, x, output="full"), args.repeats)
    ref = ref.double().numpy()
    rows.append({"method": "freqlens", "ms": ms, "mib": mib, "diff": 0.0})
    peers = [("torch.func", lambda: torch_func_ntk(model, x))]
    if importlib.util.find_spec("nngeometry") is not None:
        peers.append(("nngeometry", lambda: nngeometry_ntk(model, x)))
    else:
        rows.append({"method": "nngeometry", "skip": "not installed (pip install --no-deps nngeometry)"})
    for name, fn in peers:
        if args.skip_slow and name == "torch.func" and case == "mlp":
            rows.append({"method": name, "skip": "--skip-slow"})
            continue
        k, ms, mib = measure(fn, args.repeats)
        rows.append({"method": name, "ms": ms, "mib": mib, "diff": rel_diff(k.detach().numpy(), ref)})
        del k
    nt_rows, nt_kernels, why = run_neural_tangents(Path(args.ntvenv), nt_weights(model, x, extra), args.repeats,
                                                   args.threads)
    if why:
        rows.append({"method": "neural-tangents", "skip": why})
    for r in nt_rows:
        if "error" in r:
            rows.append({"method": "nt:" + r["method"].lower(), "skip": r["error"]})
            continue
        rows.append({"method": "nt:" + r["method"].lower(), "ms": r["ms"], "mib": r["mib"],
                     "diff": rel_diff(nt_kernels[r["method"]], ref), "versions": f"jax {r['jax']}"})
    return rows


def print_table(case: str, rows: list[dict]) -> None:
    base = next(r["ms"] for r in rows if r["method"] == "freqlens")
    print(f"\n{case}")
    print("| method | ms | MiB | time / freqlens | max rel. diff | agrees (1e-5) |")
    print("|---|---:|---:|---:|---:|:---:|")
    for r in rows:
        if "skip" in r:
            print(f"| {r['method']} | — | — | — | — | skipped: {r['skip']} |")
            continue
        mib = "?" if r["mib"] is None else f"{r['mib']:.0f}"
        print(f"| {r['method']} | {r['ms']:.1f} | {mib} | {r['ms'] / base:.2f} | {r['diff']:.1e} | "
              f"{'yes' if r['diff'] <= 1e-5 else 'NO'} |")
    nt = [r for r in rows if r["method"].startswith("nt:") and "ms" in r]
    if nt:
        best = min(nt, key=lambda r: r["ms"])
        print(f"freqlens / neural-tangents' best ({best['method']}): {base / best['ms']:.2f}x")
    else:
        peers = [r for r in rows if r["method"] != "freqlens" and "ms" in r]
        if peers:
            best = min(peers, key=lambda r: r["ms"])
            print(f"freqlens / fastest torch peer ({best['method']}): {base / best['ms']:.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="mlp,cnn")
    ap.add_argument("--n", type=int, default=2048, help="inputs of the MLP case")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ntvenv", default=os.environ.get("FREQLENS_NTVENV", "/work/ntvenv"))
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads for both sides: torch.set_num_threads and affinity to the first N CPUs here, "
                         "the same affinity (and single-threaded XLA for 1) in the neural-tangents worker; "
                         "0 = each library's default")
    ap.add_argument("--skip-slow", action="store_true", help="skip torch.func on the MLP (~15 s, 2.5 GiB)")
    args = ap.parse_args(argv)
    if args.threads:
        os.sched_setaffinity(0, set(range(args.threads)))
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}")
    for case in args.case.split(","):
        print_table(case, bench_case(case, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
