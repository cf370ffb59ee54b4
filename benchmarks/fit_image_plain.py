"""Fourier features against a plain MLP on an image, measured with a plain PyTorch loop (no freqlens runner).

    python benchmarks/fit_image_plain.py [--image camera] [--size 256] [--steps 1000] [--threads 2]
                                         [--models mlp@1e-2,mlp@1e-3,ff-gaussian@1e-3] [--hidden-layers 3]
                                         [--monitor-cost] [--eval-every 25]

The setting of issue 8's "done when": the camera image resized to 256² (grey), trained on its even pixels
(``image[::2, ::2]``, 128²) and tested on its odd ones (``image[1::2, 1::2]``, 128², never seen), 1,000 full-batch
Adam steps, "4×256" ReLU MLP with a sigmoid output, MSE loss. Models (``name@lr``):
  mlp@1e-2, mlp@1e-3      the plain MLP on raw coordinates in [0, 1)
  ff-gaussian@1e-3        Gaussian Fourier features, 256 frequencies (512 features), sigma = 10 cycles per side
Models and Fourier matrices come from freqlens.lab.models.coords.coordinate_model, the data from
freqlens.lab.data.images; the loop is the textbook one. PSNR = -10 log10(MSE) on unclipped outputs.

"4×256" is Tancik et al.'s network_depth=4, which counts the output layer: 3 hidden layers of 256 and a linear
output layer (``--hidden-layers 3``, the default, as their notebook's ``make_network``); ``--hidden-layers 4``
gives 4 hidden layers (the default widths of ``coordinate_model``).

Measured on a loaded 2-core machine (seed 0, 2 threads; times inflated 3–5x by the load):
  3 hidden layers: mlp@1e-2 21.68 dB, mlp@1e-3 20.00 dB, ff-gaussian@1e-3 27.10 dB (+5.42 dB)
  4 hidden layers: mlp@1e-2 23.07 dB, mlp@1e-3 21.06 dB, ff-gaussian@1e-3 27.01 dB (+3.94 dB)

``--monitor-cost`` also times what the image-band monitor adds per evaluation: the model on every pixel of the
256² image (the reconstruction) and ``ImageBandMonitor.record`` (a real 2-D FFT of the error, band sums, PSNR per
split, a float16 snapshot), against the time of ``--eval-every`` training steps.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from freqlens.lab.data.images import even_odd_split, load_image
from freqlens.lab.models.coords import coordinate_model
from freqlens.lab.monitors.image_bands import ImageBandMonitor


def psnr(out: torch.Tensor, y: torch.Tensor) -> float:
    return float(-10.0 * torch.log10(torch.mean((out - y) ** 2)))


def train(name: str, lr: float, data: dict, args) -> dict:
    net = coordinate_model(name, 2, data["channels"], hidden=[256] * args.hidden_layers, output="sigmoid",
                           mapping_size=256, sigma=args.sigma, generator=args.seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x, y = data["x_train"], data["y_train"]
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = torch.mean((net(x) - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        train_psnr = psnr(net(x), y)
        test_psnr = psnr(net(data["x_test"]), data["y_test"])
    return {"model": name, "lr": lr, "train": train_psnr, "test": test_psnr, "seconds": seconds, "net": net}


def monitor_cost(net: torch.nn.Module, data: dict, split, args, step_seconds: float) -> None:
    mon = ImageBandMonitor(split.image, masks=split.masks)
    x_all = data["x_all"]
    forward, record, record_cpu = [], [], []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        with torch.no_grad():
            out = net(x_all)
        t1, c1 = time.perf_counter(), time.process_time()
        mon.record(i, out)
        t2, c2 = time.perf_counter(), time.process_time()
        forward.append(t1 - t0)
        record.append(t2 - t1)
        record_cpu.append(c2 - c1)
    f, r, rc = statistics.median(forward), statistics.median(record), statistics.median(record_cpu)
    window = args.eval_every * step_seconds
    print(f"\nmonitor cost per evaluation ({split.image.shape[0]}x{split.image.shape[1]} image, medians of "
          f"{args.repeats}; training step {step_seconds * 1e3:.1f} ms wall):")
    print(f"  ImageBandMonitor.record      {r * 1e3:8.2f} ms   {100 * r / window:6.2f} % of {args.eval_every} steps"
          f"   (CPU time {rc * 1e3:.2f} ms: numpy/scipy run it on one thread)")
    print(f"  forward on every pixel       {f * 1e3:8.2f} ms   {100 * f / window:6.2f} % of {args.eval_every} steps")
    print(f"  together                     {(f + r) * 1e3:8.2f} ms   {100 * (f + r) / window:6.2f} %")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default="camera")
    p.add_argument("--size", type=int, default=256, help="side of the (2x) image; trains on its even pixels")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--hidden-layers", type=int, default=3,
                   help="hidden layers of 256 (3 = Tancik et al.'s network_depth 4, which counts the output layer)")
    p.add_argument("--sigma", type=float, default=10.0)
    p.add_argument("--models", default="mlp@1e-2,mlp@1e-3,ff-gaussian@1e-3")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--monitor-cost", action="store_true")
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    img = load_image(args.image, size=args.size, gray=True)
    split = even_odd_split(img, test="odd")
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    data = {"x_train": t(split.x_train), "y_train": t(split.y_train), "x_test": t(split.x_test),
            "y_test": t(split.y_test), "x_all": t(split.x_all), "channels": split.channels}
    print(f"{args.image} {img.shape[0]}x{img.shape[1]}: train {split.train_shape} even pixels, test "
          f"{split.test_shape} odd pixels; {args.steps} Adam steps, {args.hidden_layers} hidden layers of 256 ReLU + "
          f"sigmoid output; "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")

    results = []
    for spec in args.models.split(","):
        name, lr = spec.split("@")
        r = train(name, float(lr), data, args)
        results.append(r)
        print(f"  done {name}@{lr}: test {r['test']:.2f} dB in {r['seconds']:.0f} s", flush=True)

    plain = [r for r in results if r["model"] == "mlp"]
    best_plain = max((r["test"] for r in plain), default=float("nan"))
    print(f"\n{'model':<14}{'lr':>8}{'train dB':>10}{'test dB':>9}{'vs best mlp':>13}{'time s':>9}{'ms/step':>9}")
    for r in results:
        print(f"{r['model']:<14}{r['lr']:>8g}{r['train']:>10.2f}{r['test']:>9.2f}{r['test'] - best_plain:>+13.2f}"
              f"{r['seconds']:>9.1f}{1e3 * r['seconds'] / args.steps:>9.1f}")

    if args.monitor_cost:
        r = results[0]
        monitor_cost(r["net"], data, split, args, r["seconds"] / args.steps)


if __name__ == "__main__":
    main()
