"""Plots of image spectra (matplotlib's object API: no pyplot state, works headless).

The centred log-magnitude spectrum and the radial power spectrum with its power-law fit; each returns the
``Figure`` and saves it atomically when given a ``path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from freqlens.spectrum._common import apply_window, as_image
from freqlens.spectrum.image import dft2, log_magnitude
from freqlens.spectrum.power_law import PowerLawFit, fit_power_law

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_log_magnitude", "plot_radial_power"]


def _save(fig: Figure, path: str | Path | None) -> None:
    if path is None:
        return
    from freqlens.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")


def plot_log_magnitude(
    image: Any,
    *,
    window: str | None = "hann",
    ax: Any = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw the centred log-magnitude spectrum (dB) on axes in cycles per pixel; optionally save it.

    Returns the matplotlib ``Figure`` (created without pyplot unless ``ax`` is given).
    """
    from matplotlib.figure import Figure

    img = as_image(image)
    spec = dft2(apply_window(img, window), norm="ortho")
    db = log_magnitude(spec)
    if ax is None:
        fig = Figure(figsize=(5.2, 4.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    lo, hi = np.percentile(db, [1, 99.9])
    im = ax.imshow(db, origin="upper", extent=spec.extent, cmap="magma", vmin=lo, vmax=hi)
    ax.set_xlabel("$f_x$ (cycles / pixel)")
    ax.set_ylabel("$f_y$ (cycles / pixel, downwards like rows)")
    ax.set_title(title or "log-magnitude spectrum" + (f" ({window} window)" if window else ""))
    fig.colorbar(im, ax=ax, label="20 log10 |F|  (dB)", shrink=0.9)
    _save(fig, path)
    return fig


def plot_radial_power(
    image_or_fit: Any,
    *,
    band: tuple[float, float] | None = None,
    window: str | None = "hann",
    ax: Any = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw the radial power spectrum on log-log axes with the fitted ``1 / f**alpha`` line over its band.

    ``image_or_fit`` is an image (fitted here with ``band`` and ``window``) or a :class:`PowerLawFit`.
    Returns the matplotlib ``Figure``.
    """
    from matplotlib.figure import Figure

    fit = image_or_fit if isinstance(image_or_fit, PowerLawFit) else fit_power_law(image_or_fit, band, window=window)
    if ax is None:
        fig = Figure(figsize=(5.6, 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ok = (fit.freqs > 0) & np.isfinite(fit.power) & (fit.power > 0)
    ax.loglog(fit.freqs[ok], fit.power[ok], ".", ms=3, color="0.35", label="radial power")
    fb = np.geomspace(*fit.band, 50)
    ax.loglog(fb, fit.predict(fb), "-", color="C3", lw=2,
              label=f"fit $1/f^{{\\alpha}}$: $\\alpha$ = {fit.alpha:.2f}, $R^2$ = {fit.r2:.3f}")
    for f in fit.band:
        ax.axvline(f, color="C3", lw=0.8, ls=":")
    ax.set_xlabel("radial frequency $f$ (cycles / pixel)")
    ax.set_ylabel("mean power $|F|^2$")
    ax.set_title(title or "radial power spectrum")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="lower left")
    _save(fig, path)
    return fig
