"""Sweep throughput: the same sweep on each backend, in one process, with its results tables compared.

    python benchmarks/bench_sweep.py [--steps 600] [--seeds 5] [--backends serial,local,ray] [--workers N]

The sweep: fp1d, activation (tanh, relu) x width (16, 32, 64, 128, 200; three hidden layers) x seeds (5) = 50 runs
of ``--steps`` full-batch Adam steps each, every run stored (index + folder), no reports. Each backend gets its own
fresh runs directory. Printed: runs per minute, the ratio to serial, and whether every backend's results table
(the median convergence step per configuration and k over seeds) and every run's ΔF equal serial's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def spec(steps: int, seeds: int) -> dict:
    return {"experiment": "fp1d", "name": "bench", "seeds": seeds,
            "set": {"steps": steps, "eval_every": 10, "checkpoint_every": max(steps // 2, 1), "threshold": 0.1},
            "grid": {"activation": ["tanh", "relu"], "hidden": [f"{w},{w},{w}" for w in (16, 32, 64, 128, 200)]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--backends", default="serial,local,ray")
    ap.add_argument("--workers", type=int, default=None, help="local/ray workers (default: the cores)")
    args = ap.parse_args()

    import freqlens
    from freqlens.lab.sweep import run_sweep
    from freqlens.report.sweep import sweep_summary
    from freqlens.runs.store import RunStore

    sp_spec = spec(args.steps, args.seeds)
    rows, tables, delta_fs = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            runs_dir = Path(tmp) / backend
            t0 = time.perf_counter()
            sp = run_sweep(sp_spec, runs_dir=runs_dir, backend=backend, workers=args.workers, quiet=True,
                           say=lambda s: None)
            wall = time.perf_counter() - t0
            store = RunStore(runs_dir, readonly=True)
            records = store.sweep_runs(sp.id)
            finished = sum(r["status"] == "finished" for r in records)
            _, _, table, _ = sweep_summary(store, sp.id)
            tables[backend] = [row[:-1] for row in table]  # without the training time column
            delta_fs[backend] = {r["sweep_index"]: freqlens.load_run(r["id"], runs_dir=runs_dir).delta_f
                                 for r in records}
            rows.append((backend, len(records), finished, wall, 60.0 * finished / wall))
            print(f"  {backend}: {finished}/{len(records)} runs finished in {wall:.1f} s", flush=True)

    ref = rows[0][0]
    print(f"\nsweep: fp1d, activation x width x {args.seeds} seeds = {rows[0][1]} runs of {args.steps} steps\n")
    print("| backend | runs finished | wall time (s) | runs / min | ratio to " + ref + " | same table and ΔF as "
          + ref + " |")
    print("|---|---|---|---|---|---|")
    for backend, n, finished, wall, rpm in rows:
        same_table = tables[backend] == tables[ref]
        same_df = all(delta_fs[backend][i].equals(delta_fs[ref][i]) for i in delta_fs[ref])
        print(f"| {backend} | {finished}/{n} | {wall:.1f} | {rpm:.1f} | {rpm / rows[0][4]:.2f} | "
              f"{'yes' if same_table and same_df else 'NO'} |")


if __name__ == "__main__":
    main()
