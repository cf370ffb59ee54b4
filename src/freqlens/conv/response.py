"""The frequency response of a kernel on a centred frequency grid, and a picture of it.

The response is the DFT of the kernel zero-padded to ``shape``, with the kernel's centre sample (index
``size // 2`` along each axis) as the origin, so that a symmetric kernel has a real response (zero or pi phase)
and the phase describes the kernel's asymmetry, not its placement in the array. Frequencies are in cycles per
sample (the convention of :mod:`freqlens.spectrum`), centred: ``fftshift(fftfreq(n))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.fft

from freqlens._arrays import to_numpy
from freqlens._memory import refuse_if_too_big
from freqlens.errors import FreqlensError
from freqlens.spectrum.dft import frequencies

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["FrequencyResponse", "frequency_response", "plot_response"]

_DEFAULT_N = 64


@dataclass(frozen=True)
class FrequencyResponse:
    """A kernel's response on a centred grid.

    Attributes
    ----------
    values : ndarray of complex128
        ``H(f)`` on the grid, DC in the middle (index ``n // 2`` along each axis).
    freqs : ndarray or tuple of ndarray
        Frequencies of the grid in cycles per sample: one increasing array for a 1-D kernel, a tuple
        ``(f_axis0, f_axis1, ...)`` (for images ``(fy, fx)``) otherwise.
    """

    values: np.ndarray
    freqs: Any

    @property
    def ndim(self) -> int:
        """Number of dimensions of the kernel."""
        return self.values.ndim

    @property
    def magnitude(self) -> np.ndarray:
        """``|H(f)|``."""
        return np.abs(self.values)

    @property
    def phase(self) -> np.ndarray:
        """``angle(H(f))`` in radians, set to 0 where the magnitude is below ``1e-12 * max``."""
        mag = self.magnitude
        ph = np.angle(self.values)
        ph[mag <= 1e-12 * max(float(mag.max()), 1e-300)] = 0.0
        return ph

    @property
    def magnitude_db(self) -> np.ndarray:
        """``20 * log10(|H|)`` (``-inf`` where ``H == 0``)."""
        with np.errstate(divide="ignore"):
            return 20.0 * np.log10(self.magnitude)

    @property
    def axes(self) -> tuple[np.ndarray, ...]:
        """The frequency axes as a tuple, whatever the number of dimensions."""
        return (self.freqs,) if self.values.ndim == 1 else tuple(self.freqs)

    @property
    def grid(self) -> tuple[np.ndarray, ...]:
        """Full frequency grids (``np.meshgrid(..., indexing='ij')``), one per axis."""
        return tuple(np.meshgrid(*self.axes, indexing="ij"))

    @property
    def radius(self) -> np.ndarray:
        """``|f|`` on the grid."""
        return np.sqrt(sum(g**2 for g in self.grid))

    def at(self, *f: float) -> complex:
        """``H`` at the grid bin nearest to the frequency ``f`` (one number per axis, cycles per sample).

        Frequencies are periodic (period 1): ``f = 0.5`` is the bin ``-0.5``.
        """
        if len(f) != self.ndim:
            raise FreqlensError(f"give one frequency per axis ({self.ndim}), got {len(f)}")
        idx = tuple(int(np.argmin(np.abs((ax - fi + 0.5) % 1.0 - 0.5))) for ax, fi in zip(self.axes, f))
        return complex(self.values[idx])


def _as_kernel(kernel: Any) -> np.ndarray:
    k = np.asarray(to_numpy(kernel))
    if k.dtype == object or not (np.issubdtype(k.dtype, np.number) or k.dtype == bool):
        raise FreqlensError(f"kernel must be a numeric array, got dtype {k.dtype}")
    if k.ndim == 0 or k.size == 0:
        raise FreqlensError(f"kernel must be a non-empty array with at least 1 dimension, got shape {k.shape}")
    return k.astype(np.complex128 if np.iscomplexobj(k) else np.float64)


def _grid_shape(k: np.ndarray, shape: Any) -> tuple[int, ...]:
    if shape is None:
        return tuple(max(_DEFAULT_N, n) for n in k.shape)
    if np.isscalar(shape):
        shape = (shape,) * k.ndim
    try:
        shape = tuple(shape)
    except TypeError:
        raise FreqlensError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if len(shape) != k.ndim:
        raise FreqlensError(f"shape must have one entry per kernel axis ({k.ndim}), got {shape!r}")
    out = []
    for s, n in zip(shape, k.shape):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < n:
            raise FreqlensError(f"shape must be integers >= the kernel's shape {k.shape}, got {shape!r}")
        out.append(int(s))
    return tuple(out)


def frequency_response(kernel: Any, shape: Any = None) -> FrequencyResponse:
    """The frequency response of a convolution kernel on a centred grid (1-D, 2-D or n-D).

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        The kernel, its origin at the centre sample (index ``size // 2`` along each axis).
    shape : int or tuple of int, optional
        Grid size per axis (the DFT length), at least the kernel's size. Default ``max(64, size)`` per axis. Even
        sizes include the Nyquist frequency -0.5.

    Returns
    -------
    FrequencyResponse
        ``.freqs`` (cycles per sample, centred), ``.magnitude``, ``.phase``, ``.values``, ``.magnitude_db``.

    Notes
    -----
    With :math:`c` the centre index,

    .. math:: H(f) = \\sum_n k[n]\\, e^{-2\\pi i\\, f \\cdot (n - c)}, \\qquad f_j = \\frac{m_j}{N_j} \\in [-1/2, 1/2)

    This is the transfer function of *convolution* with :math:`k` (``scipy.signal.convolve``): a tone
    :math:`e^{2\\pi i f \\cdot n}` comes out multiplied by :math:`H(f)`. Cross-correlation (``cv2.filter2D``,
    torch ``conv2d``) has the response :math:`\\overline{H(f)}` for real kernels: the same magnitude, the
    opposite phase.

    Examples
    --------
    >>> r = frequency_response([0.25, 0.5, 0.25], 8)
    >>> r.freqs
    array([-0.5  , -0.375, -0.25 , -0.125,  0.   ,  0.125,  0.25 ,  0.375])
    >>> np.round(r.magnitude, 3)  # cos^2(pi f): 1 at DC, 0 at Nyquist
    array([0.   , 0.146, 0.5  , 0.854, 1.   , 0.854, 0.5  , 0.146])
    >>> float(np.abs(r.phase).max())  # symmetric kernel: real response
    0.0
    """
    k = _as_kernel(kernel)
    grid = _grid_shape(k, shape)
    refuse_if_too_big(48 * math.prod(grid), f"a frequency grid of shape {grid}", hint="use a smaller shape")
    padded = np.zeros(grid, dtype=k.dtype)
    padded[tuple(slice(0, n) for n in k.shape)] = k
    padded = np.roll(padded, shift=tuple(-(n // 2) for n in k.shape), axis=tuple(range(k.ndim)))
    values = scipy.fft.fftshift(scipy.fft.fftn(padded))
    if np.isrealobj(k):
        # a real symmetric kernel has a real response; drop the rounding noise in the imaginary part
        sym = all(np.allclose(k, np.flip(k, axis=a)) for a in range(k.ndim)) and all(n % 2 for n in k.shape)
        if sym:
            values = values.real.astype(np.complex128)
    axes = tuple(scipy.fft.fftshift(frequencies(n)) for n in grid)
    return FrequencyResponse(values=values, freqs=axes[0] if k.ndim == 1 else axes)


def _draw_kernel(ax: Any, k: np.ndarray) -> None:
    if k.ndim == 1:
        t = np.arange(k.size) - k.size // 2
        ax.axhline(0, color="0.6", lw=0.8)
        ax.stem(t, k.real, basefmt=" ")
        ax.set_xlabel("n (samples from centre)")
        ax.set_ylabel("weight")
        return
    lim = float(np.max(np.abs(k.real))) or 1.0
    ax.imshow(k.real, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    if k.shape[0] <= 5 and k.shape[1] <= 5:
        for (i, j), v in np.ndenumerate(k.real):
            txt = f"{v:.0f}" if float(v).is_integer() else f"{v:.2g}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=9,
                    color="white" if abs(v) > 0.6 * lim else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"kernel {k.shape[0]}x{k.shape[1]}", fontsize=9)


def _draw_response(ax: Any, r: FrequencyResponse, db: bool) -> Any:
    data = r.magnitude_db if db else r.magnitude
    label = "|H| (dB)" if db else "|H|"
    if r.ndim == 1:
        ax.plot(r.freqs, np.clip(data, -120, None) if db else data, color="C0")
        ax.set_xlabel("f (cycles / sample)")
        ax.set_ylabel(label)
        ax.set_xlim(-0.5, 0.5)
        ax.grid(True, alpha=0.3)
        return None
    fy, fx = r.axes[0], r.axes[1]
    dy, dx = 1.0 / fy.size, 1.0 / fx.size
    extent = (fx[0] - dx / 2, fx[-1] + dx / 2, fy[-1] + dy / 2, fy[0] - dy / 2)
    vmin = max(float(np.nanmin(data[np.isfinite(data)])), float(np.nanmax(data)) - 60) if db else 0.0
    im = ax.imshow(np.clip(data, vmin, None), origin="upper", extent=extent, cmap="viridis", vmin=vmin)
    ax.set_xlabel("$f_x$ (cycles / sample)", fontsize=8)
    ax.set_ylabel("$f_y$ (downwards)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(label, fontsize=9)
    return im


def plot_response(
    kernel: Any,
    shape: Any = None,
    *,
    db: bool = False,
    title: str | None = None,
    axes: Any = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw a kernel beside the magnitude of its frequency response.

    Parameters
    ----------
    kernel : array_like
        1-D (stem plot, response curve) or 2-D (kernel image, response image on the centred grid, drawn like an
        image: ``fy`` increases downwards, so orientations match the kernel's).
    shape : int or tuple of int, optional
        Grid of :func:`frequency_response`.
    db : bool
        Magnitude in decibels (clipped 60 dB below the peak for 2-D).
    title : str, optional
        Figure title.
    axes : pair of matplotlib Axes, optional
        Draw into these (kernel, response) instead of a new figure, e.g. one row of a gallery.
    path : str or Path, optional
        Save the figure there (PNG/SVG/PDF by extension), atomically.

    Returns
    -------
    matplotlib.figure.Figure
        Made with matplotlib's object API (no pyplot state, no display needed).

    Examples
    --------
    >>> from freqlens.conv.kernels import sobel_x
    >>> fig = plot_response(sobel_x())
    >>> len(fig.axes)  # kernel, response, colour bar
    3
    """
    from matplotlib.figure import Figure

    k = _as_kernel(kernel)
    if k.ndim > 2:
        raise FreqlensError(f"plot_response draws 1-D or 2-D kernels, got shape {k.shape}")
    r = frequency_response(k, shape)
    if axes is None:
        fig = Figure(figsize=(7.0, 3.2), layout="constrained")
        ax_k, ax_r = fig.subplots(1, 2, width_ratios=[1, 1.25] if k.ndim == 2 else [1, 1.4])
    else:
        ax_k, ax_r = axes
        fig = ax_k.figure
    _draw_kernel(ax_k, k)
    im = _draw_response(ax_r, r, db)
    if im is not None:
        fig.colorbar(im, ax=ax_r, shrink=0.85)
    if title:
        if axes is None:
            fig.suptitle(title)
        else:
            ax_k.set_title(title, fontsize=9)
    if path is not None:
        from freqlens.io import atomic_path

        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")
    return fig
