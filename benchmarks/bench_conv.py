"""Time freqlens.conv.convolve (method='auto') against its peers, in one process, and print markdown tables.

2-D: a 2048x2048 float32 image, 'same' output, zero boundary, kernel sizes 3..101, true convolution everywhere
(OpenCV gets the flipped kernel and the moved anchor, so every output is the same array). 1-D: a 10-minute
48 kHz signal (float64) with a 3 s impulse response, 'full' output (a reverb).

Each case runs in interleaved, shuffled rounds and reports each candidate's best round, the fairest figure on a
shared machine; "paired median ratio" is the median over rounds of freqlens' time over the fastest peer's time in
the same round, which is robust when other jobs load the machine. Peers that would take minutes (scipy.ndimage
and torch with large kernels, numpy.convolve and torch on the 1-D case: direct sums of 10^10 to 10^12
multiply-adds) are timed on a crop and scaled by the work ratio; those figures are marked ``~`` and never count as
the fastest peer.

Run: ``python benchmarks/bench_conv.py`` (about 3 minutes; ``--quick`` for fewer rounds).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable

import cv2
import numpy as np
import scipy
import scipy.fft
import scipy.ndimage
import scipy.signal
import torch
import torch.nn.functional as F

from freqlens.conv import convolve


def best_of(funcs: dict[str, Callable[[], object]], rounds: int, budget: float = 0.0) -> dict[str, float]:
    """Best wall time (s) of each function over interleaved, shuffled rounds, after one warm-up call each.

    Every function runs at least ``rounds`` times; with ``budget`` (s), a fast function runs up to 400 times or
    until about ``budget`` seconds are spent on it, which finds the quiet moments of a shared machine. The
    functions still present in a round run in a random order.
    """
    warm = {}
    for name, f in funcs.items():
        t0 = time.perf_counter()
        f()
        warm[name] = time.perf_counter() - t0
    runs = {name: max(rounds, min(400, int(budget / max(t, 1e-6)))) if budget > 0 else rounds
            for name, t in warm.items()}
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    shuffle = random.Random(0).shuffle
    for r in range(max(runs.values())):
        order = [name for name in funcs if runs[name] > r]
        shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            funcs[name]()
            samples[name].append(time.perf_counter() - t0)
    LAST_SAMPLES.clear()
    LAST_SAMPLES.update(samples)
    return {name: min(ts) for name, ts in samples.items()}


LAST_SAMPLES: dict[str, list[float]] = {}  # the per-round times of the last best_of call


def paired_ratio(a: str, b: str) -> float:
    """Median over rounds of time(a) / time(b), both measured in the same round (robust to load swings)."""
    pairs = [ta / tb for ta, tb in zip(LAST_SAMPLES[a], LAST_SAMPLES[b])]
    return float(np.median(pairs))


def fmt(seconds: float, estimated: bool = False) -> str:
    text = f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    return ("~" + text) if estimated else text


def bench_2d(sizes: list[int], rounds: int, n: int = 2048) -> list[str]:
    rng = np.random.default_rng(0)
    img = rng.random((n, n), dtype=np.float32)
    timg = torch.from_numpy(img)[None, None]
    crop = 512  # for the slow direct peers at large kernels
    rows = []
    header = ("| k | freqlens (auto) | cv2.filter2D | scipy.signal.convolve | scipy.ndimage.convolve | torch conv2d "
              "| fastest peer | freqlens / fastest | paired median ratio | max abs diff vs scipy |")
    rows += [header, "|---" * (header.count("|") - 1) + "|"]
    print(rows[0], rows[1], sep="\n", flush=True)
    for k in sizes:
        ker = rng.standard_normal((k, k)).astype(np.float32) / k
        flipped = np.ascontiguousarray(ker[::-1, ::-1])
        anchor = (k - 1 - k // 2, k - 1 - k // 2)

        def cv2_conv(src: np.ndarray = img) -> np.ndarray:
            return cv2.filter2D(src, -1, flipped, anchor=anchor, borderType=cv2.BORDER_CONSTANT)

        def tconv(src: torch.Tensor = timg) -> torch.Tensor:
            with torch.no_grad():
                return F.conv2d(src, torch.from_numpy(flipped)[None, None], padding="same")

        funcs: dict[str, Callable[[], object]] = {
            "freqlens": lambda: convolve(img, ker, mode="same"),
            "cv2": cv2_conv,
            "signal": lambda: scipy.signal.convolve(img, ker, mode="same"),
        }
        estimated: dict[str, float] = {}
        if k <= 11:
            funcs["ndimage"] = lambda: scipy.ndimage.convolve(img, ker, mode="constant")
        else:
            sub = np.ascontiguousarray(img[:crop, :crop])
            t = best_of({"x": lambda: scipy.ndimage.convolve(sub, ker, mode="constant")}, 1)["x"]
            estimated["ndimage"] = t * (n / crop) ** 2
        if k <= 21:
            funcs["torch"] = tconv
        else:  # torch's CPU conv2d collapses for large kernels (93 s at k=101): time a crop
            sub_t = timg[..., :crop, :crop].contiguous()
            t = best_of({"x": lambda: tconv(sub_t)}, 1)["x"]
            estimated["torch"] = t * (n / crop) ** 2
        times = best_of(funcs, rounds if k <= 21 else max(2, rounds // 2), budget=1.5 * rounds / 7)
        peers = {name: t for name, t in times.items() if name != "freqlens"}
        fastest = min(peers, key=peers.get)
        paired = paired_ratio("freqlens", fastest)
        ours = convolve(img, ker, mode="same")
        ref = scipy.signal.convolve(img.astype(np.float64), ker.astype(np.float64), mode="same")
        assert np.allclose(cv2_conv(), ref, atol=1e-3), "peers disagree: check the benchmark"
        diff = float(np.abs(ours - ref).max())
        names = {"cv2": "cv2.filter2D", "signal": "scipy.signal", "ndimage": "scipy.ndimage", "torch": "torch"}

        def cell(name: str) -> str:
            return fmt(times[name]) if name in times else fmt(estimated[name], estimated=True)

        rows.append(f"| {k} | {fmt(times['freqlens'])} | {cell('cv2')} | {cell('signal')} | {cell('ndimage')} | "
                    f"{cell('torch')} | {names[fastest]} | **{times['freqlens'] / peers[fastest]:.2f}** | "
                    f"{paired:.2f} | {diff:.1e} |")
        print(rows[-1], flush=True)
    return rows


def bench_1d(rounds: int, seconds: float = 600.0, ir_seconds: float = 3.0, fs: int = 48_000) -> list[str]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(int(seconds * fs))
    h = rng.standard_normal(int(ir_seconds * fs)) * np.exp(-np.linspace(0, 8, int(ir_seconds * fs)))
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def with_workers(f: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with scipy.fft.set_workers(workers):
                return f()
        return run

    funcs = {
        "freqlens": lambda: convolve(x, h),
        f"scipy.signal.oaconvolve (workers={workers})": with_workers(lambda: scipy.signal.oaconvolve(x, h)),
        f"scipy.signal.fftconvolve (workers={workers})": with_workers(lambda: scipy.signal.fftconvolve(x, h)),
        "scipy.signal.convolve (auto)": lambda: scipy.signal.convolve(x, h),
    }
    times = best_of(funcs, rounds)
    peers = {name: t for name, t in times.items() if name != "freqlens"}
    fastest = min(peers, key=peers.get)
    paired = paired_ratio("freqlens", fastest)
    # Direct peers: 28.8M x 144k = 4e12 multiply-adds; time a 4800-sample crop and scale by the work ratio.
    part = 4800
    xs = x[:part]
    t_np = best_of({"x": lambda: np.convolve(xs, h)}, 1)["x"] * x.size / part  # work = len(x) * len(h)
    th = torch.from_numpy(h[::-1].copy())[None, None]
    tx = torch.from_numpy(xs)[None, None]
    try:
        with torch.no_grad():
            t_torch: float | str = best_of({"x": lambda: F.conv1d(tx, th, padding=h.size - 1)}, 1)["x"] * (
                x.size / part)
    except RuntimeError as exc:  # its CPU path unfolds every window: 171 GB even for a 0.1 s crop
        asked = str(exc).split("you tried to allocate ")[-1].split(" bytes")[0]
        t_torch = f"fails: asks for {int(asked) / 1e9:.0f} GB" if asked.isdigit() else "fails"
    ours = convolve(x, h)
    with scipy.fft.set_workers(workers):
        ref = scipy.signal.oaconvolve(x, h)
    diff = float(np.abs(ours - ref).max() / np.abs(ref).max())
    rows = ["| engine | time | ratio to freqlens |", "|---|---|---|"]
    rows.append(f"| freqlens convolve (auto) | {fmt(times['freqlens'])} | 1.00 |")
    for name, t in peers.items():
        rows.append(f"| {name} | {fmt(t)} | {t / times['freqlens']:.2f} |")
    rows.append(f"| numpy.convolve (direct) | {fmt(t_np, True)} | {t_np / times['freqlens']:.0f} |")
    if isinstance(t_torch, str):
        rows.append(f"| torch conv1d (direct) | {t_torch} | - |")
    else:
        rows.append(f"| torch conv1d (direct) | {fmt(t_torch, True)} | {t_torch / times['freqlens']:.0f} |")
    rows.append("")
    rows.append(f"freqlens / fastest peer ({fastest}): **{times['freqlens'] / peers[fastest]:.2f}** (best times), "
                f"{paired:.2f} (median of same-round pairs); max relative difference {diff:.1e}")
    for row in rows:
        print(row, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--sizes", default="3,5,11,21,51,101", help="2-D kernel sizes")
    parser.add_argument("--skip-1d", action="store_true")
    parser.add_argument("--skip-2d", action="store_true")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}, OpenCV {cv2.__version__}, torch {torch.__version__}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}, cv2 threads {cv2.getNumThreads()}, "
          f"torch threads {torch.get_num_threads()}")
    if not args.skip_2d:
        print("\n2-D: 2048x2048 float32, mode='same', zero boundary, random k x k kernel (best of rounds)\n")
        bench_2d([int(s) for s in args.sizes.split(",")], rounds)
    if not args.skip_1d:
        print("\n1-D: 10 min at 48 kHz (28.8M samples, float64) * 3 s impulse response (144k taps), "
              "mode='full'\n")
        bench_1d(max(3, rounds // 2))


if __name__ == "__main__":
    main()
