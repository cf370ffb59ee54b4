"""Time freqlens's training loop against a plain PyTorch loop over the same model and data, in one process.

    python benchmarks/bench_loop.py [--steps 2000] [--repeats 5] [--device cpu]

Rows (fp1d defaults: 101 points, MLP 1-200-200-200-100-1 tanh, Adam 2e-4, float32, full batch):
  plain      the textbook loop: forward, MSE, zero_grad, backward, step
  fit        freqlens.lab.train.fit with no measurement
  fit+mon    fit + FrequencyMonitor every eval_every steps (ΔF of the tracked frequencies, outputs kept)
  run        freqlens.lab.run: fit + monitor + SQLite store + progress bookkeeping + checkpoints (training time)
Each variant is repeated (interleaved) and the median is reported, with ratios to `plain` and the measurement
overhead (fit+mon / fit − 1, run / fit − 1).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch

from freqlens.lab import Config
from freqlens.lab.families.fp1d import grids, target_values
from freqlens.lab.models import mlp
from freqlens.lab.monitors.frequency import FrequencyMonitor
from freqlens.lab.train import fit, make_optimizer


def setup(cfg: Config, device: str):
    x_np, _ = grids(cfg)
    x = torch.as_tensor(x_np, dtype=torch.float32, device=device).unsqueeze(1)
    y_np = target_values(cfg, x_np)
    y = torch.as_tensor(y_np, dtype=torch.float32, device=device).unsqueeze(1)
    model = mlp(1, cfg.hidden, 1, activation=cfg.activation, init=cfg.init,
                generator=torch.Generator().manual_seed(0), device=device)
    opt = make_optimizer("adam", model.parameters(), lr=cfg.lr)
    return model, opt, x, y, y_np


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def plain(cfg, steps, device):
    model, opt, x, y, _ = setup(cfg, device)
    sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        loss = torch.mean((model(x) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync(device)
    return time.perf_counter() - t


def fit_only(cfg, steps, device):
    model, opt, x, y, _ = setup(cfg, device)
    sync(device)
    t = time.perf_counter()
    fit(model, opt, x, y, steps=steps, eval_every=steps)
    sync(device)
    return time.perf_counter() - t


def fit_monitor(cfg, steps, device):
    model, opt, x, y, y_np = setup(cfg, device)
    mon = FrequencyMonitor(y_np, threshold=cfg.threshold, hold=cfg.hold)
    sync(device)
    t = time.perf_counter()
    fit(model, opt, x, y, steps=steps, eval_every=cfg.eval_every, on_eval=lambda s, out, loss: mon.record(s, out, loss))
    sync(device)
    return time.perf_counter() - t


def full_run(cfg, steps, device):
    import freqlens.lab as lab

    with tempfile.TemporaryDirectory() as d:
        run = lab.run("fp1d", runs_dir=d, steps=steps, device=device, report=False, quiet=True)
        return float(run.members["wall_time"].sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    cfg = Config()
    variants = {"plain": plain, "fit": fit_only, "fit+mon": fit_monitor, "run": full_run}
    for fn in variants.values():  # warm-up
        fn(cfg, 50, args.device)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            times[name].append(fn(cfg, args.steps, args.device))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"fp1d defaults, {args.steps} steps, eval_every={cfg.eval_every}, device={args.device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'variant':10s} {'s / 1000 steps':>15s} {'ratio to plain':>15s}")
    for k in variants:
        print(f"{k:10s} {1000 * med[k] / args.steps:15.3f} {med[k] / med['plain']:15.3f}")
    print(f"measurement overhead: monitor {100 * (med['fit+mon'] / med['fit'] - 1):+.1f} %, "
          f"monitor+store+checkpoints {100 * (med['run'] / med['fit'] - 1):+.1f} % of training time")
    # the measurement's own cost, timed directly (immune to the machine's run-to-run noise above)
    model, _, x, _, y_np = setup(cfg, args.device)
    mon = FrequencyMonitor(y_np)
    with torch.no_grad():
        out = model(x)
    t = time.perf_counter()
    for i in range(2000):
        mon.record(i, out, 0.0)
    per_record = (time.perf_counter() - t) / 2000
    per_step = med["plain"] / args.steps
    print(f"FrequencyMonitor.record: {1e6 * per_record:.1f} us per call = "
          f"{100 * per_record / (cfg.eval_every * per_step):.2f} % of the {cfg.eval_every} training steps between calls")
    spread = {k: (np.max(v) - np.min(v)) / med[k] for k, v in times.items()}
    print("run-to-run spread (max-min)/median: " + ", ".join(f"{k} {100 * s:.0f} %" for k, s in spread.items()))


if __name__ == "__main__":
    main()
