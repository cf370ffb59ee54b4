"""Kernels and what they do to frequencies: each row shows a kernel, its frequency response and its effect.

Run offline (uses scikit-image's bundled ``camera`` picture):

    python examples/kernels_gallery.py [OUT.png]

Columns: the kernel's weights (red positive, blue negative); the magnitude of its frequency response on the
centred grid in cycles per pixel (drawn like an image, f_y downwards, so orientations match); the camera picture
convolved with it. Low-pass kernels keep the centre of the spectrum, high-pass ones its rim, band-pass ones a
ring, and oriented ones a direction - which you can see again in the filtered picture.
"""

from __future__ import annotations

import sys

import numpy as np
import scipy.ndimage as ndi
from matplotlib.figure import Figure

from freqlens.conv.kernels import KERNELS, get_kernel
from freqlens.conv.response import plot_response
from freqlens.io import sample_image

ROWS = [
    ("gaussian", {"sigma": 2.0}),
    ("box", {"size": 7}),
    ("unsharp", {"sigma": 2.0, "amount": 1.5}),
    ("sobel_x", {}),
    ("laplacian8", {}),
    ("log", {"sigma": 2.0}),
    ("gabor", {"theta": 30.0, "wavelength": 6.0}),
    ("motion_blur", {"length": 15, "angle": 45.0}),
]


def main(out: str = "kernels_gallery.png") -> None:
    camera = sample_image("camera", as_gray=True)[100:356, 140:396]  # 256 x 256 crop: the photographer
    fig = Figure(figsize=(9.0, 2.6 * len(ROWS)), layout="constrained")
    axes = fig.subplots(len(ROWS), 3, width_ratios=[1, 1.25, 1])
    for (name, params), (ax_k, ax_r, ax_img) in zip(ROWS, axes):
        k = get_kernel(name, **params)
        label = name + "".join(f", {p}={v:g}" for p, v in params.items())
        plot_response(k, 64, axes=(ax_k, ax_r), title=label)
        ax_r.set_title(f"|H|: {KERNELS[name].passband}", fontsize=9)
        out_img = ndi.convolve(camera, k, mode="reflect")
        if KERNELS[name].passes in ("band-pass", "high-pass"):  # signed output: show it around grey
            lim = np.percentile(np.abs(out_img), 99.5)
            ax_img.imshow(out_img, cmap="gray", vmin=-lim, vmax=lim)
        else:
            ax_img.imshow(np.clip(out_img, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        ax_img.set_title("camera convolved", fontsize=9)
    fig.suptitle("freqlens kernels: weights, frequency response, effect", fontsize=13)
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
