"""The Frequency Principle of a classifier in high dimension, measured in your own PyTorch loop (offline, ~30 s).

    python examples/classifier_monitors.py [-o classifier_monitors] [--steps 300] [--deferred]

Trains a small MLP on scikit-learn's handwritten digits (1,797 images of 8 x 8 pixels, 64 dimensions) with a plain
loop, and measures its outputs two ways:

- ``ProjectionMonitor``: labels and softmax outputs Fourier-transformed along the first principal component of the
  images; ΔF at the tracked frequencies over training (a heat map) and the spectra themselves;
- ``FilteringMonitor``: labels and outputs split into a low and a high part by a Gaussian average over the data
  at several scales delta; e_low and e_high over training, one panel per delta.

Both take (inputs, labels) once and (step, outputs) during training. ``--deferred`` shows the mode used for large
data sets (MNIST): ``record`` returns a cheap preview and ``flush()`` computes the exact numbers in one pass.
Writes ``<output>_projection.png``, ``<output>_spectrum.png`` and ``<output>_filtering.png``.
"""

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits

from freqlens.report.figures_highdim import plot_filtering, plot_projection_heatmap, plot_projection_spectrum
from freqlens.lab.monitors.filtering import FilteringMonitor
from freqlens.lab.monitors.projection import ProjectionMonitor

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("-o", "--output", default="classifier_monitors")
ap.add_argument("--steps", type=int, default=300)
ap.add_argument("--deferred", action="store_true", help="filtering previews during training, exact at the end")
args = ap.parse_args()

digits = load_digits()
images = (digits.images / 16.0).astype(np.float32)     # (1797, 8, 8), pixels in [0, 1]
labels = digits.target
x = torch.as_tensor(images.reshape(len(images), -1))
y = torch.as_tensor(labels)

gen = torch.Generator().manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(64, 200), torch.nn.ReLU(), torch.nn.Linear(200, 200), torch.nn.ReLU(),
                            torch.nn.Linear(200, 10))
with torch.no_grad():                                  # seeded init, no global RNG
    for p in model.parameters():
        p.copy_(torch.randn(p.shape, generator=gen) * (0.05 if p.ndim == 1 else p.shape[1] ** -0.5))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)

projection = ProjectionMonitor(images, labels, threshold=0.1, hold=3)   # takes logits, applies the softmax
filtering = FilteringMonitor(images, labels, deltas=[0.25, 0.5, 1.0, 2.0, 4.0],
                             mode="deferred" if args.deferred else "auto")
print(f"projection: tracking k = {np.round(projection.tracked, 3).tolist()} ({projection.selection}); "
      f"filtering: mode {filtering.mode}, deltas {filtering.deltas}")

for step in range(args.steps + 1):
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out, y)
    if step % 5 == 0:
        projection.record(step, out, loss=loss.item())
        metrics = filtering.record(step, out, loss=loss.item())
        if step % 50 == 0:
            low = metrics.get("e_low", metrics.get("e_low_preview"))
            print(f"step {step:4d}  loss {loss.item():.4f}  e_low {np.round(low, 3).tolist()}")
    opt.zero_grad()
    loss.backward()
    opt.step()

filtering.flush()                                      # exact numbers of any pending (deferred) record
print("projection convergence steps:", {round(k, 3): s for k, s in projection.convergence_steps().items()})
print("filtering summaries:", filtering.summaries())

plot_projection_heatmap(projection.steps, projection.tracked, projection.delta_f,
                        convergence=projection.convergence_steps(), threshold=projection.threshold
                        ).savefig(f"{args.output}_projection.png", dpi=110)
picks = [0, len(projection.steps) // 10, len(projection.steps) - 1]
plot_projection_spectrum(projection.freqs, projection.target_spectrum, projection.output_spectra[picks],
                         labels=[f"step {projection.steps[i]}" for i in picks], tracked=projection.tracked,
                         noise_floor=projection.noise_floor).savefig(f"{args.output}_spectrum.png", dpi=110)
plot_filtering(filtering.steps, filtering.deltas, filtering.e_low, filtering.e_high,
               ill_conditioned=filtering.ill_conditioned, high_fraction=filtering.high_fraction,
               threshold=filtering.threshold, ncols=3).savefig(f"{args.output}_filtering.png", dpi=110)
print(f"figures: {args.output}_projection.png, {args.output}_spectrum.png, {args.output}_filtering.png")
