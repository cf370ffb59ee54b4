"""The filtering method at full MNIST scale: freqlens's one-pass exact evaluation against the naive chunked
recomputation, a dense float64 reference and the machine's arithmetic floor, in one run.

    PYTHONPATH=src python benchmarks/bench_filtering.py [--data-dir DIR] [--n 60000] [--evals 20]
                                                        [--deltas 2,5,10,20,50,100] [--quick]

What is timed (one process, same data, same synthetic training trajectory of T softmax outputs):

- **freqlens**: ``FilteringMonitor(mode="deferred")`` -- construction, T ``record`` calls (each returns a preview on
  256 sampled rows) and one ``flush`` that computes the exact e_low/e_high of all T records in one pass.
- **naive**: per evaluation, the Gaussian sums recomputed from scratch by chunked float32 GEMM (distances once per
  chunk for all deltas, then exp and the products with labels and outputs) -- timed on ``--naive-evals``
  evaluations and extrapolated to T.
- **float64 reference**: the dense float64 split (``gaussian_split_dense``: scipy ``cdist`` + ``exp`` + products)
  on the first ``--ref-n`` points, against freqlens run on the same subset; and, at full n, float64 sums for
  ``--sample-rows`` random rows against freqlens's float32 engine on the same rows (same column tiling as the
  flush), compared as the e_low/e_high restricted to those rows.

The **arithmetic floor** counts the GEMM flops an exact method cannot avoid: the Gram matrix once with its
symmetry (``n^2 d``) and the kernel applied to every column once per delta (``2 m n^2 W``, ``W = 1 + c + T c``:
row sums, labels, outputs), at the float32 GEMM rate measured here (square ``torch.matmul``, 4096). Exponentials
(``m n^2``; ``m n^2 / 2`` with symmetry) are not in the floor: they are reported separately at the measured exp
rate. Peak memory is the process's resident high-water mark (``VmHWM``, reset before each phase).

The share of a run: one evaluation per epoch (the authors' schedule), an epoch of the authors' CNN (conv32 -> conv64
-> maxpool -> FC400 -> FC10, batch 50) timed on ``--train-batches`` batches and extrapolated to 60,000 images,
plus the forward pass on the n training inputs that every evaluation needs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import time
from pathlib import Path

import numpy as np
import torch

from freqlens.lab.monitors.filtering import FilteringMonitor
from freqlens.spectrum.gaussian_split import GaussianSplit, gaussian_split_dense

GIB = 2**30


# -- data ---------------------------------------------------------------------------------------------------------
def load_mnist(data_dir: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First ``n`` MNIST training images (pixels / 255, float32, n x 784) and labels, from the IDX gz files."""
    with gzip.open(data_dir / "train-images-idx3-ubyte.gz") as fh:
        raw = fh.read()
    magic, count, rows, cols = np.frombuffer(raw[:16], ">i4")
    if magic != 2051:
        raise SystemExit(f"{data_dir}: not an IDX image file (magic {magic})")
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(count, rows * cols)[:n]
    with gzip.open(data_dir / "train-labels-idx1-ubyte.gz") as fh:
        raw = fh.read()
    labels = np.frombuffer(raw, np.uint8, offset=8)[:n]
    return (images / np.float32(255.0)).astype(np.float32), labels.astype(np.int64)


def trajectory(labels: np.ndarray, evals: int, classes: int, seed: int = 0) -> list[np.ndarray]:
    """T softmax outputs that move from a noisy guess towards the labels (a stand-in for a training run)."""
    rng = np.random.default_rng(seed)
    y = np.eye(classes, dtype=np.float32)[labels]
    outs = []
    for t in range(evals):
        a = (t + 1) / evals
        z = 6.0 * a * y + rng.normal(size=y.shape).astype(np.float32) * (1.5 - a)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        outs.append((e / e.sum(axis=1, keepdims=True)).astype(np.float32))
    return outs


# -- machine ------------------------------------------------------------------------------------------------------
def gemm_rate(size: int = 4096, reps: int = 3) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * size**3 / best


def exp_rate(reps: int = 20) -> float:
    x = -torch.rand(256, 2048) * 80.0
    out = torch.empty_like(x)
    t = time.perf_counter()
    for _ in range(reps):
        torch.mul(x, 0.5, out=out)
        out.exp_()
    return reps * x.numel() / (time.perf_counter() - t)


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def peak_rss() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


# -- methods ------------------------------------------------------------------------------------------------------
def errors_from_split(y, outs, yl, yh, ol, oh, rows=None):
    sel = slice(None) if rows is None else rows
    e_low = np.array([[np.linalg.norm(yl[j][sel] - ol[t][j][sel]) / np.linalg.norm(yl[j][sel])
                       for j in range(yl.shape[0])] for t in range(len(outs))])
    e_high = np.array([[np.linalg.norm(yh[j][sel] - oh[t][j][sel]) / np.linalg.norm(yh[j][sel])
                        for j in range(yl.shape[0])] for t in range(len(outs))])
    return e_low, e_high


def run_freqlens(x, labels, outs, deltas):
    t0 = time.perf_counter()
    mon = FilteringMonitor(x, labels, deltas=deltas, outputs="probabilities", mode="deferred")
    t_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t, h in enumerate(outs):
        mon.record(t, h)
    t_records = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = mon.flush()
    t_flush = time.perf_counter() - t0
    e_low = np.array([m["e_low"] for _, m in done])
    e_high = np.array([m["e_high"] for _, m in done])
    return mon, (t_setup, t_records, t_flush), e_low, e_high


def naive_evaluation(x32: torch.Tensor, y: torch.Tensor, h: torch.Tensor, deltas, chunk: int = 2048):
    """One evaluation recomputed from scratch: chunked GEMM distances, exp, products, e_low/e_high."""
    n, c = y.shape
    sq = (x32 * x32).sum(1)
    cols = torch.cat([torch.ones(n, 1), y, h], dim=1)
    num = torch.zeros(len(deltas), n, cols.shape[1])
    for i in range(0, n, chunk):
        d = (sq[i:i + chunk, None] + sq[None, :]).addmm_(x32[i:i + chunk], x32.T, alpha=-2.0).clamp_(min=0)
        for j, dl in enumerate(deltas):
            num[j, i:i + chunk] = torch.exp(d * (-0.5 / dl)) @ cols
    den = num[:, :, :1]
    yl, hl = num[:, :, 1:1 + c] / den, num[:, :, 1 + c:] / den
    yh, hh = y[None] - yl, h[None] - hl
    e_low = torch.linalg.vector_norm(yl - hl, dim=(1, 2)) / torch.linalg.vector_norm(yl, dim=(1, 2))
    e_high = torch.linalg.vector_norm(yh - hh, dim=(1, 2)) / torch.linalg.vector_norm(yh, dim=(1, 2))
    return e_low.numpy(), e_high.numpy()


def sampled_rows_check(x, labels, outs, deltas, rows):
    """float64 direct sums for ``rows`` (cdist, all n columns) vs freqlens's float32 engine on the same rows."""
    from scipy.spatial.distance import cdist

    classes = outs[0].shape[1]
    y = np.eye(classes)[labels]
    cols = np.concatenate([y] + [y - h.astype(np.float64) for h in outs], axis=1)
    d = cdist(x[rows].astype(np.float64), x.astype(np.float64), "sqeuclidean")
    ref_lo, ref_hi = [], []
    for dl in deltas:
        g = np.exp(-d / (2 * dl))
        lo = g @ cols / g.sum(axis=1, keepdims=True)
        ref_lo.append(lo)
        ref_hi.append(cols[rows] - lo)
    ref_lo, ref_hi = np.stack(ref_lo), np.stack(ref_hi)
    eng = GaussianSplit(x, deltas)
    lo, hi = eng.split(cols, rows=rows)
    worst = 0.0
    for part_ref, part in ((ref_lo, lo), (ref_hi, hi)):
        ry = np.linalg.norm(part_ref[:, :, :classes], axis=(1, 2))
        py = np.linalg.norm(part[:, :, :classes], axis=(1, 2))
        for t in range(len(outs)):
            s = slice(classes * (t + 1), classes * (t + 2))
            e_ref = np.linalg.norm(part_ref[:, :, s], axis=(1, 2)) / ry
            e_32 = np.linalg.norm(part[:, :, s], axis=(1, 2)) / py
            worst = max(worst, float(np.max(np.abs(e_32 - e_ref) / e_ref)))
    return worst


def training_epoch_seconds(batches: int, n: int) -> tuple[float, float]:
    """Seconds for one epoch of the authors' CNN on 28x28 inputs (batch 50, SGD), and for a forward pass on n."""
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3),
                                torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(64 * 12 * 12, 400), torch.nn.ReLU(), torch.nn.Linear(400, 10))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    xb = torch.rand(50, 1, 28, 28, generator=gen)
    yb = torch.randint(0, 10, (50,), generator=gen)
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    t = time.perf_counter()
    for _ in range(batches):
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    per_batch = (time.perf_counter() - t) / batches
    with torch.no_grad():
        xe = torch.rand(1000, 1, 28, 28, generator=gen)
        t = time.perf_counter()
        model(xe)
        fwd = (time.perf_counter() - t) * n / 1000
    return per_batch * 60000 / 50, fwd


# -- main ---------------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("FREQLENS_MNIST", "/work/shared/data/mnist")))
    ap.add_argument("--n", type=int, default=60000, help="training images used (first n)")
    ap.add_argument("--evals", type=int, default=20, help="T: evaluations (records) in the run")
    ap.add_argument("--deltas", default="2,5,10,20,50,100",
                    help="comma-separated deltas, or start:stop:count for a linspace (the authors': 2:100:20)")
    ap.add_argument("--naive-evals", type=int, default=1,
                    help="evaluations of the naive method actually timed (0: skip it)")
    ap.add_argument("--ref-n", type=int, default=3000,
                    help="points of the dense float64 reference run (0: skip the float64 checks and the run share)")
    ap.add_argument("--sample-rows", type=int, default=256, help="rows checked in float64 at full n")
    ap.add_argument("--train-batches", type=int, default=20, help="CNN batches timed for the share of a run")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, all cores)")
    ap.add_argument("--quick", action="store_true", help="n=5000, T=5, m=3: a one-minute smoke run")
    args = ap.parse_args()
    if args.quick:
        args.n, args.evals, args.deltas, args.ref_n, args.sample_rows = 5000, 5, "5,20,100", 2000, 64
    if args.threads:
        torch.set_num_threads(args.threads)
    if ":" in args.deltas:  # start:stop:count, the authors' np.linspace(2, 100, 20) is 2:100:20
        a, b, c = args.deltas.split(":")
        deltas = [float(v) for v in np.linspace(float(a), float(b), int(c))]
    else:
        deltas = [float(v) for v in args.deltas.split(",")]
    x, labels = load_mnist(args.data_dir, args.n)
    n, d = x.shape
    classes = 10
    outs = trajectory(labels, args.evals, classes)
    m, T = len(deltas), args.evals
    print(f"MNIST n={n} d={d} classes={classes}  m={m} deltas={deltas}  T={T}  threads={torch.get_num_threads()}"
          f"  load average {os.getloadavg()[0]:.1f} (shared machine: timings are provisional)")

    rate_before = gemm_rate()
    erate = exp_rate()
    w = 1 + classes + T * classes
    floor_flops = n * n * d + 2.0 * m * n * n * w

    # freqlens, full size
    reset_peak()
    mon, (t_setup, t_rec, t_flush), e_low, e_high = run_freqlens(x, labels, outs, deltas)
    mem = peak_rss()
    rate_after = gemm_rate()
    # the floor at the GEMM rate measured just before and just after the run (the machine may be shared)
    rate = 0.5 * (rate_before + rate_after)
    floor = floor_flops / rate
    exp_floor = m * n * n / 2 / erate
    print(f"float32 GEMM rate {rate / 1e9:.0f} GFLOP/s (before {rate_before / 1e9:.0f}, after "
          f"{rate_after / 1e9:.0f}); exp rate {erate / 1e9:.2f} G/s")
    print(f"arithmetic floor: n^2 d + 2 m n^2 W = {floor_flops:.3g} flops (W = {w}) -> {floor:.1f} s; "
          f"exps (m n^2 / 2, not in the floor) {exp_floor:.1f} s")
    total = t_setup + t_rec + t_flush
    print(f"freqlens: setup {t_setup:.1f} s, {T} records (previews) {t_rec:.1f} s, flush {t_flush:.1f} s "
          f"-> total {total:.1f} s = {total / floor:.2f} x floor (flush alone {t_flush / floor:.2f} x); "
          f"peak RSS {mem / GIB:.2f} GiB")
    print(f"   high fraction per delta: {np.round(mon.high_fraction, 4).tolist()}  "
          f"ill-conditioned: {mon.ill_conditioned.astype(int).tolist()}")

    # naive recomputation
    t_naive = mem_naive = np.nan
    if args.naive_evals > 0:
        x32 = torch.as_tensor(x - x.mean(0))
        y_t = torch.as_tensor(np.eye(classes, dtype=np.float32)[labels])
        reset_peak()
        t0 = time.perf_counter()
        naive = [naive_evaluation(x32, y_t, torch.as_tensor(outs[t]), deltas) for t in range(args.naive_evals)]
        t_naive = (time.perf_counter() - t0) / args.naive_evals * T
        mem_naive = peak_rss()
        del x32, y_t
        naive_err = max(float(np.max(np.abs(naive[t][0] - e_low[t]) / e_low[t])) for t in range(args.naive_evals))
        print(f"naive: {t_naive / T:.1f} s per evaluation -> {t_naive:.1f} s for T={T} (extrapolated from "
              f"{args.naive_evals}); peak RSS {mem_naive / GIB:.2f} GiB; e_low agrees with freqlens to "
              f"{naive_err:.1e}")
    if args.ref_n <= 0 or args.sample_rows <= 0 or args.train_batches <= 0:
        print(f"(float64 checks and the share of a run skipped)  freqlens total {total:.1f} s = "
              f"{total / floor:.2f} x floor, peak RSS {mem / GIB:.2f} GiB")
        return

    # float64 dense reference on a subset
    nr = min(args.ref_n, n)
    reset_peak()
    t0 = time.perf_counter()
    y64 = np.eye(classes)[labels[:nr]]
    # one dense split of every column at once: [labels | output 1 | ... | output T]
    lo_all, hi_all = gaussian_split_dense(x[:nr], np.concatenate([y64] + [h[:nr] for h in outs], axis=1), deltas)
    yl, yh = lo_all[:, :, :classes], hi_all[:, :, :classes]
    ol = [lo_all[:, :, classes * (t + 1):classes * (t + 2)] for t in range(T)]
    oh = [hi_all[:, :, classes * (t + 1):classes * (t + 2)] for t in range(T)]
    ref_low, ref_high = errors_from_split(y64, outs, yl, yh, ol, oh)
    t_ref = time.perf_counter() - t0
    mem_ref = peak_rss()
    sub, (s1, s2, s3), sub_low, sub_high = run_freqlens(x[:nr], labels[:nr], [h[:nr] for h in outs], deltas)
    flags = sub.ill_conditioned
    err_low = float(np.max(np.abs(sub_low - ref_low) / ref_low))
    ok = ~flags
    err_high = float(np.max(np.abs(sub_high[:, ok] - ref_high[:, ok]) / ref_high[:, ok])) if ok.any() else np.nan
    print(f"float64 dense reference, n={nr}: {t_ref:.1f} s, peak RSS {mem_ref / GIB:.2f} GiB; freqlens on the "
          f"same points {s1 + s2 + s3:.1f} s; max rel. error e_low {err_low:.1e}, e_high {err_high:.1e}"
          + (f" (ill-conditioned deltas excluded: {np.asarray(deltas)[flags].tolist()})" if flags.any() else ""))

    # float64 check of sampled rows at full n
    rows = np.sort(np.random.default_rng(7).choice(n, size=min(args.sample_rows, n), replace=False))
    t0 = time.perf_counter()
    err_rows = sampled_rows_check(x, labels, outs, deltas, rows)
    print(f"full n={n}: {rows.size} sampled rows in float64 vs float32 engine: max rel. error of the row-restricted "
          f"e_low/e_high {err_rows:.1e} ({time.perf_counter() - t0:.1f} s)")

    # share of a run
    epoch, fwd = training_epoch_seconds(args.train_batches, n)
    run = T * (epoch + fwd)
    share = total / (run + total)
    naive_share = t_naive / (run + t_naive)
    print(f"a run of T={T} epochs of the authors' CNN: training ~{T * epoch:.0f} s + forward passes ~{T * fwd:.0f} s;"
          f" filtering's share of the run: freqlens {100 * share:.1f} %, naive {100 * naive_share:.1f} %")

    print()
    print("| method | n | d | m | T | time (s) | peak RSS (GiB) | max rel. err vs float64 | floor (s) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| freqlens deferred + flush | {n} | {d} | {m} | {T} | {total:.1f} | {mem / GIB:.2f} | "
          f"{max(err_rows, err_low):.1e} | {floor:.1f} | {total / floor:.2f} |")
    print(f"| naive chunked recomputation | {n} | {d} | {m} | {T} | {t_naive:.1f} (extrap.) | {mem_naive / GIB:.2f} | "
          f"- | {floor:.1f} | {t_naive / floor:.2f} |")
    print(f"| dense float64 (scipy cdist) | {nr} | {d} | {m} | {T} | {t_ref:.1f} | {mem_ref / GIB:.2f} | 0 | - | - |")
    print(f"speed-up over naive: {t_naive / total:.1f} x")


if __name__ == "__main__":
    main()
