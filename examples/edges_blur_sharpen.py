"""Edges, blur and sharpening of a bundled picture, with what each does to the spectrum.

Run offline (uses scikit-image's bundled "camera" picture):

    python examples/edges_blur_sharpen.py [OUT.png]

Top row: the picture; the Sobel gradient magnitude; the gradient direction (hue) weighted by magnitude
(brightness); the edge mask from Otsu's threshold. Bottom row: a Gaussian blur (sigma = 3 px); an unsharp mask
(amount 1.5, radius 2 px) on a zoomed crop beside the original crop; and the radial power spectra of the
original, blurred and sharpened images: the blur removes high frequencies, the sharpening boosts them.
"""

from __future__ import annotations

import sys

import numpy as np
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure

from freqlens.conv.apps.images import blur, edges, sharpen
from freqlens.io import sample_image


def radial_power(img: np.ndarray, n_bins: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Mean |DFT|^2 in rings of radial frequency (cycles per pixel), mean removed, Hann windowed."""
    win = np.outer(np.hanning(img.shape[0]), np.hanning(img.shape[1]))
    power = np.abs(np.fft.fftshift(np.fft.fft2((img - img.mean()) * win))) ** 2
    fy = np.fft.fftshift(np.fft.fftfreq(img.shape[0]))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(img.shape[1]))[None, :]
    radius = np.hypot(fy, fx)
    bins = np.linspace(0.005, 0.5, n_bins + 1)
    which = np.digitize(radius, bins)
    means = np.array([power[which == i].mean() for i in range(1, n_bins + 1)])
    return 0.5 * (bins[1:] + bins[:-1]), means


def main(out: str = "edges_blur_sharpen.png") -> None:
    img = sample_image("camera", as_gray=True)
    res = edges(img, operator="sobel", threshold="otsu")
    blurred = blur(img, 3.0)
    sharp = sharpen(img, amount=1.5, radius=2.0)

    fig = Figure(figsize=(16, 8.6), layout="constrained")
    axes = fig.subplots(2, 4)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])

    axes[0, 0].imshow(img, cmap="gray", vmin=0, vmax=1)
    axes[0, 0].set_title("camera (512x512)")
    scale = np.percentile(res.magnitude, 99)
    axes[0, 1].imshow(res.magnitude, cmap="gray", vmin=0, vmax=scale)
    axes[0, 1].set_title(f"Sobel magnitude (max {res.magnitude.max():.2f} / px, white = 99th pct)")
    hue = np.mod(res.direction, 2 * np.pi) / (2 * np.pi)  # 0 = red: brighter to the right
    value = np.clip(res.magnitude / scale, 0, 1)
    axes[0, 2].imshow(hsv_to_rgb(np.dstack([hue, np.ones_like(hue), value])))
    axes[0, 2].set_title("direction as hue (red: brighter to the right,\ngreen: below, cyan: left, violet: above)")
    axes[0, 3].imshow(res.mask, cmap="gray")
    axes[0, 3].set_title(f"edges: Otsu threshold ({100 * res.mask.mean():.1f} % of pixels)")

    axes[1, 0].imshow(blurred, cmap="gray", vmin=0, vmax=1)
    axes[1, 0].set_title("Gaussian blur, sigma = 3 px")
    crop = (slice(60, 260), slice(190, 340))
    pair = np.hstack([img[crop], np.ones((200, 4)), np.clip(sharp[crop], 0, 1)])
    axes[1, 1].imshow(pair, cmap="gray", vmin=0, vmax=1)
    axes[1, 1].set_title("crop: original | unsharp mask (1.5, r = 2)")
    axes[1, 2].remove()
    axes[1, 3].remove()
    ax_spec = fig.add_subplot(2, 4, (7, 8))
    for name, im, style in (("original", img, "-"), ("blurred (sigma 3)", blurred, "--"),
                            ("sharpened (1.5, r 2)", sharp, ":")):
        f, p = radial_power(im)
        ax_spec.loglog(f, p, style, lw=2, label=name)
    ax_spec.set_xlabel("radial frequency (cycles / pixel)")
    ax_spec.set_ylabel("power (Hann-windowed DFT)")
    ax_spec.set_title("radial power spectra: blur = low-pass, unsharp mask = high boost")
    ax_spec.grid(True, which="both", alpha=0.3)
    ax_spec.legend()
    fig.suptitle("freqlens.conv.apps.images: edges, blur, sharpen", fontsize=15)
    fig.savefig(out, dpi=80)
    print(f"Sobel magnitude max {res.magnitude.max():.3f}, Otsu edge pixels {100 * res.mask.mean():.1f} %")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
