"""Many seeds at once: S separate training loops against one stacked model (BatchedMLP), in one process.

    python benchmarks/bench_batched_seeds.py [--steps 30] [--repeats 3] [--seeds 1,4,8,32] [--points 101,1000]
                                             [--threads 0] [--dtype float32] [--device cpu]

The fp1d network (1-200-200-200-100-1 tanh, N(0, 1/sqrt(200)) initialisation), full-batch MSE and Adam 2e-4 on
``points`` points of [-pi, pi). For each S and number of points:
  separate   S models trained one after the other, each with the textbook loop (forward, MSE, zero_grad,
             backward, Adam step) - what the runner does today, member after member
  batched    one BatchedMLP of the S members, loss = sum of the members' mean losses, one Adam
Then (--run-seeds S) whole runs: freqlens.lab.run("fp1d", seeds=S) with batch_seeds off and on.
Reported: model-steps per second (S × steps / time), median of ``repeats`` interleaved repetitions, and the
ratio batched / separate (> 1: stacking pays). Timings on a shared machine are noisy; treat them as provisional.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from freqlens.lab.family import mse
from freqlens.lab.models.batched import BatchedMLP, stacked_mse
from freqlens.lab.models.mlp import mlp
from freqlens.spectrum import periodic_grid

HIDDEN = [200, 200, 200, 100]


def data(points: int, dtype: torch.dtype, device: str):
    x = torch.tensor(periodic_grid(points), dtype=dtype, device=device).unsqueeze(1)
    return x, torch.sin(x) + torch.sin(3 * x) + torch.sin(5 * x)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def separate(members: int, steps: int, points: int, dtype: torch.dtype, device: str) -> float:
    x, y = data(points, dtype, device)
    nets = [mlp(1, HIDDEN, 1, init="normal", generator=torch.Generator().manual_seed(s), dtype=dtype, device=device)
            for s in range(members)]
    opts = [torch.optim.Adam(n.parameters(), lr=2e-4) for n in nets]
    sync(device)
    t = time.perf_counter()
    for net, opt in zip(nets, opts):
        for _ in range(steps):
            loss = mse(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    sync(device)
    return time.perf_counter() - t


def batched(members: int, steps: int, points: int, dtype: torch.dtype, device: str) -> float:
    x, y = data(points, dtype, device)
    net = BatchedMLP.from_seeds(1, HIDDEN, 1, seeds=range(members), init="normal", dtype=dtype, device=device,
                                points=points)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        loss = stacked_mse(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync(device)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", default="1,4,8,32")
    ap.add_argument("--points", default="101,1000")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--run-seeds", type=int, default=8, help="end-to-end fp1d runs with this many seeds (0: skip)")
    ap.add_argument("--run-steps", type=int, default=1000)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    seeds = [int(s) for s in args.seeds.split(",")]
    points = [int(p) for p in args.points.split(",")]
    print(f"fp1d network {'-'.join(map(str, [1, *HIDDEN, 1]))}, Adam, {args.dtype}, {args.device}, "
          f"{torch.get_num_threads()} torch threads, {args.steps} steps, median of {args.repeats} "
          "(provisional: measured on a shared machine)")
    print(f"{'points':>7} {'S':>4} {'separate':>14} {'batched':>14} {'ratio':>7}")
    print(f"{'':>7} {'':>4} {'model-steps/s':>14} {'model-steps/s':>14} {'b/s':>7}")
    for n in points:
        for s in seeds:
            batched(s, 2, n, dtype, args.device)  # warm-up (allocator, kernels)
            separate(min(s, 2), 2, n, dtype, args.device)
            sep, bat = [], []
            for _ in range(args.repeats):  # interleaved, so that load changes hit both alike
                sep.append(separate(s, args.steps, n, dtype, args.device))
                bat.append(batched(s, args.steps, n, dtype, args.device))
            rate_sep = s * args.steps / statistics.median(sep)
            rate_bat = s * args.steps / statistics.median(bat)
            print(f"{n:>7} {s:>4} {rate_sep:>14.0f} {rate_bat:>14.0f} {rate_bat / rate_sep:>7.2f}", flush=True)
    if args.run_seeds:
        runs(args)


def runs(args) -> None:
    """End to end: ``freqlens.lab.run("fp1d", seeds=S, batch_seeds=off|on)`` with the monitor, the store and
    checkpoints - the training time the run records, median of ``repeats`` interleaved pairs."""
    import tempfile

    import freqlens.lab as lab

    members = int(args.run_seeds)
    kw = dict(steps=args.run_steps, seeds=members, report=False, quiet=True, device=args.device, dtype=args.dtype)
    times: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for mode in ("off", "on"):
                run = lab.run("fp1d", runs_dir=f"{tmp}/{mode}{i}", batch_seeds=mode, **kw)
                times[mode].append(run.wall_time)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"\nfreqlens run fp1d --seeds {members} --set steps={args.run_steps} (defaults otherwise; training time "
          f"as recorded, median of {args.repeats})")
    print("| batch_seeds | training time (s) | model-steps / s | ratio |")
    print("|---|---|---|---|")
    for mode, t in (("off (one member after the other)", off), ("on (stacked)", on)):
        print(f"| {mode} | {t:.2f} | {members * args.run_steps / t:.0f} | {off / t:.2f} |")


if __name__ == "__main__":
    main()
