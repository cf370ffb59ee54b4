"""Minibatch training speed: freqlens's loop against a plain PyTorch loop over the same model and data, in one
process, and the cost of the classification monitors at the default schedule (once per epoch).

    python benchmarks/bench_train.py [--data-dir ../shared/data/mnist] [--epochs 2] [--repeats 3] [--quick]

Rows:
  mlp-mnist   MLP 784-400-200-10 ReLU, Adam 1e-3, batches of 128, on MNIST's 60,000 training images (the IDX files
              in --data-dir; without it, 60,000 random images of the same shape)
  cnn-cifar   the small CNN (conv32-conv64-pool-FC400-FC10), SGD Nesterov 0.9, batches of 50, on 10,000 random
              3x32x32 images (CIFAR-sized; the data's content does not change the arithmetic)
For each: samples/s of the plain loop (randperm from a seeded generator, slices of the data tensors, forward,
cross-entropy, zero_grad, backward, step) and of freqlens.lab.optim.TorchOptimizer over a Problem; the ratio
(target >= 0.95). Then the time of one record of each monitor on the whole training set against one epoch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from freqlens.lab.family import Problem
from freqlens.lab.models.classifiers import classifier_mlp, small_cnn
from freqlens.lab.optim.torch_optim import TorchOptimizer


def data(kind: str, data_dir: str | None, n: int | None):
    if kind == "mlp-mnist" and data_dir:
        from freqlens.lab.data.datasets import load_dataset

        ds = load_dataset("mnist", data_dir=data_dir, flatten=True, subset=n)
        return ds.x, ds.y, "MNIST"
    g = torch.Generator().manual_seed(0)
    if kind == "mlp-mnist":
        n = n or 60000
        return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g), "random 784-d"
    n = n or 10000
    return torch.rand(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g), "random 3x32x32"


def make(kind: str):
    g = torch.Generator().manual_seed(0)
    if kind == "mlp-mnist":
        model = classifier_mlp(784, (400, 200), 10, generator=g)
        return model, torch.optim.Adam(model.parameters(), lr=1e-3), 128
    model = small_cnn(3, 32, 10, generator=g)
    return model, torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True), 50


def plain(kind, x, y, epochs):
    model, opt, bs = make(kind)
    gen = torch.Generator().manual_seed(1)
    t = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], bs):
            idx = order[i:i + bs]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - t


def freqlens_loop(kind, x, y, epochs):
    model, opt, bs = make(kind)
    problem = Problem(model=model, x=x, y=y, loss=torch.nn.functional.cross_entropy, batch_size=bs)
    runner = TorchOptimizer(opt, batch_size=bs, seed=1)
    t = time.perf_counter()
    runner.run(problem, 0, epochs, lambda step, info: None)
    return time.perf_counter() - t


def monitor_costs(kind, x, y, epoch_seconds):
    from freqlens.lab.monitors.accuracy import AccuracyMonitor
    from freqlens.lab.monitors.projection import ProjectionMonitor

    model, _, _ = make(kind)
    with torch.no_grad():
        t = time.perf_counter()
        out = torch.cat([model(x[i:i + 4096]) for i in range(0, x.shape[0], 4096)])
        forward = time.perf_counter() - t
    flat = x.reshape(x.shape[0], -1)
    rows = [("forward pass over the training set", forward)]
    for name, mon in (("accuracy", AccuracyMonitor(y, split="train")),
                      ("projection", ProjectionMonitor(flat, y, n_classes=10))):
        mon.record(0, out)
        t = time.perf_counter()
        for i in range(3):
            mon.record(i + 1, out)
        rows.append((f"{name} monitor record", (time.perf_counter() - t) / 3))
    for what, sec in rows:
        print(f"  {what:38s} {1000 * sec:9.1f} ms = {100 * sec / epoch_seconds:5.1f} % of an epoch")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10,000 MNIST images, 1 epoch, 2 repeats")
    args = ap.parse_args()
    n = 10000 if args.quick else None
    epochs = 1 if args.quick else args.epochs
    repeats = 2 if args.quick else args.repeats
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {epochs} epoch(s), median of {repeats} "
          "interleaved repeats")
    print(f"| case | data | plain samples/s | freqlens samples/s | freqlens / plain |")
    print("|---|---|---|---|---|")
    per_epoch = {}
    for kind in ("mlp-mnist", "cnn-cifar"):
        x, y, what = data(kind, args.data_dir, n)
        plain(kind, x[:512], y[:512], 1)  # warm-up
        freqlens_loop(kind, x[:512], y[:512], 1)
        tp, tf = [], []
        for _ in range(repeats):
            tp.append(plain(kind, x, y, epochs))
            tf.append(freqlens_loop(kind, x, y, epochs))
        mp, mf = statistics.median(tp), statistics.median(tf)
        samples = x.shape[0] * epochs
        print(f"| {kind} | {what}, {x.shape[0]:,} | {samples / mp:,.0f} | {samples / mf:,.0f} | **{mp / mf:.3f}** |")
        per_epoch[kind] = (x, y, mf / epochs)
    for kind, (x, y, sec) in per_epoch.items():
        print(f"{kind}: monitors at the default schedule (one record per epoch of {sec:.2f} s)")
        monitor_costs(kind, x, y, sec)


if __name__ == "__main__":
    main()
