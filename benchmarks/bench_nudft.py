"""Where a real NUFFT (finufft) pays for the projection monitor: time per call against the direct sum.

    PYTHONPATH=src python benchmarks/bench_nudft.py [--quick] [--columns 10] [--calls 20]

For n points, K frequencies (uniform grid from 0, as the projection monitor uses) and c columns, times one call of
``NudftPlan`` by each method (after its setup, which is timed separately), checks both against the float64 direct
sum, and prints the ratio. The cost model of ``freqlens.spectrum.nufft.choose_method`` comes from this table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from freqlens.spectrum.nufft import NudftPlan, finufft_available, nudft_direct


def timed(fn, reps):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        out = fn()
    return (time.perf_counter() - t) / reps, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--columns", type=int, default=10)
    ap.add_argument("--calls", type=int, default=5, help="repetitions per timing")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (direct sum)")
    ap.add_argument("--nufft-threads", type=int, default=1)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not finufft_available():
        raise SystemExit("finufft is not installed (pip install freqlens[nufft]); nothing to compare")
    ns = [1797, 20000] if args.quick else [1797, 20000, 60000]
    ks = [64, 256] if args.quick else [64, 256, 1024, 4096]
    rng = np.random.default_rng(0)
    print(f"threads={torch.get_num_threads()} columns={args.columns}  (times per call, ms; setup in s)")
    print(f"{'n':>6} {'K':>5} | {'direct':>8} {'setup':>6} | {'finufft1':>8} {'setup':>6} | {'finufft3':>8} | "
          f"{'direct/nufft1':>13} | {'max rel err d / 1 / 3':>24}")
    for n in ns:
        v = rng.normal(size=n) * 2.0
        y = rng.random((n, args.columns))
        for k in ks:
            freqs = np.arange(k) * (3.0 / k)
            ref = nudft_direct(v, y, freqs) if n * k <= 60000 * 1024 else None
            t0 = time.perf_counter()
            pd = NudftPlan(v, freqs, n_columns=args.columns, method="direct")
            sd = time.perf_counter() - t0
            td, od = timed(lambda: pd(y), args.calls)
            t0 = time.perf_counter()
            p1 = NudftPlan(v, freqs, n_columns=args.columns, method="finufft", nthreads=args.nufft_threads)
            p1(y)
            s1 = time.perf_counter() - t0
            t1, o1 = timed(lambda: p1(y), args.calls)
            p3 = NudftPlan(v, freqs + 1e-12, n_columns=args.columns, method="finufft",
                           nthreads=args.nufft_threads)  # off-grid: type 3
            t3, o3 = timed(lambda: p3(y), args.calls)
            if ref is None:
                ref = od
            scale = np.abs(ref).max()
            errs = [np.abs(o - ref).max() / scale for o in (od, o1, o3)]
            print(f"{n:>6} {k:>5} | {td * 1e3:>8.2f} {sd:>6.2f} | {t1 * 1e3:>8.2f} {s1:>6.2f} | {t3 * 1e3:>8.2f} | "
                  f"{td / t1:>13.2f} | {errs[0]:.1e} {errs[1]:.1e} {errs[2]:.1e}")


if __name__ == "__main__":
    main()
