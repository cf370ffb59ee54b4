"""The convolution theorem, checked numerically: spatial convolution against the inverse DFT of a product.

For circular convolution (both sides of the input's shape, wrapping around the edges) and linear convolution
(the ``full`` shape, the DFTs zero-padded so that nothing wraps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft

from freqlens._arrays import check_magnitude, to_numpy
from freqlens.errors import FreqlensError

__all__ = ["ConvolutionTheoremCheck", "convolution_theorem"]


@dataclass(frozen=True)
class ConvolutionTheoremCheck:
    """Spatial convolution against the inverse DFT of the product of spectra.

    Attributes
    ----------
    kind : str
        ``"circular"`` or ``"linear"``.
    spatial, spectral : ndarray
        The two results (same shape).
    max_abs_diff : float
        ``max |spatial - spectral|``.
    rel_diff : float
        ``max_abs_diff / max |spatial|`` (0 when both are 0).
    """

    kind: str
    spatial: np.ndarray = field(repr=False)
    spectral: np.ndarray = field(repr=False)
    max_abs_diff: float
    rel_diff: float

    def holds(self, rtol: float = 1e-9) -> bool:
        """Whether the two agree to ``rtol`` relative to the largest output value."""
        return self.rel_diff <= rtol

    def __str__(self) -> str:
        verdict = "holds" if self.holds() else "does NOT hold"
        return (
            f"convolution theorem ({self.kind}, output shape {self.spatial.shape}): {verdict}; "
            f"max |spatial - spectral| = {self.max_abs_diff:.3e} (relative {self.rel_diff:.3e})"
        )


def _fold(full: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Wrap a full linear convolution around onto ``shape`` (sum of periodic copies): circular convolution."""
    out = full
    for ax, n in enumerate(shape):
        length = out.shape[ax]
        reps = -(-length // n)
        pad = [(0, 0)] * out.ndim
        pad[ax] = (0, reps * n - length)
        out = np.pad(out, pad)
        out = out.reshape(out.shape[:ax] + (reps, n) + out.shape[ax + 1 :]).sum(axis=ax)
    return out


def convolution_theorem(x: Any, k: Any, kind: str = "circular") -> ConvolutionTheoremCheck:
    """Check ``x * k == IDFT(DFT(x) . DFT(k))`` numerically, for circular or linear convolution.

    Parameters
    ----------
    x : array_like, any number of dimensions
        Signal or image.
    k : array_like, same number of dimensions as ``x``
        Kernel; for ``kind="circular"`` no larger than ``x`` along any axis.
    kind : {"circular", "linear"}
        ``"circular"``: both sides have ``x``'s shape, the kernel is zero-padded to it and the spatial side wraps
        around the edges. ``"linear"``: both sides have the ``full`` shape ``x.shape + k.shape - 1``; the DFTs are
        zero-padded to it so that no wrap-around occurs.

    Returns
    -------
    ConvolutionTheoremCheck
        ``.max_abs_diff``, ``.rel_diff``, ``.holds()``, the two results, and a one-line ``str``.

    Notes
    -----
    The spatial side is computed directly (no FFT): the ``full`` linear convolution
    :math:`(x * k)[n] = \\sum_m k[m]\\, x[n - m]` with :func:`scipy.signal.convolve` (``method="direct"``), folded
    modulo ``x.shape`` for the circular case. The spectral side is

    .. math:: x \\circledast k = \\mathcal{F}^{-1}\\{\\mathcal{F}\\{x\\} \\cdot \\mathcal{F}\\{k\\}\\}

    with every DFT taken on the output's shape. Direct convolution costs ``x.size * k.size`` operations:
    keep the inputs small.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> check = convolution_theorem(rng.standard_normal((16, 16)), rng.standard_normal((3, 5)), "linear")
    >>> check.spatial.shape, check.holds()
    ((18, 20), True)
    """
    if kind not in ("circular", "linear"):
        raise FreqlensError(f"kind must be 'circular' or 'linear', got {kind!r}")
    xa = np.asarray(to_numpy(x))
    ka = np.asarray(to_numpy(k))
    for name, a in (("x", xa), ("k", ka)):
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise FreqlensError(f"{name} must be a numeric array, got dtype {a.dtype}")
        if a.size == 0 or a.ndim == 0:
            raise FreqlensError(f"{name} must be a non-empty array, got shape {a.shape}")
    if xa.ndim != ka.ndim:
        raise FreqlensError(f"x and k must have the same number of dimensions, got {xa.ndim} and {ka.ndim}")
    cplx = np.iscomplexobj(xa) or np.iscomplexobj(ka)
    dtype = np.complex128 if cplx else np.float64
    xa = xa.astype(dtype, copy=False)
    ka = ka.astype(dtype, copy=False)
    check_magnitude(xa, "x")
    check_magnitude(ka, "k")
    from scipy.signal import convolve  # here: importing freqlens.spectrum stays cheap

    full = convolve(xa, ka, mode="full", method="direct")
    if kind == "circular":
        if any(kn > xn for kn, xn in zip(ka.shape, xa.shape)):
            raise FreqlensError(
                f"k must be no larger than x along every axis for circular convolution, got {ka.shape} and {xa.shape}"
            )
        shape = xa.shape
        spatial = _fold(full, shape)
    else:
        shape = full.shape
        spatial = full
    spectral = scipy.fft.ifftn(scipy.fft.fftn(xa, s=shape) * scipy.fft.fftn(ka, s=shape))
    if not cplx:
        spectral = spectral.real
    diff = float(np.max(np.abs(spatial - spectral)))
    scale = float(np.max(np.abs(spatial)))
    rel = diff / scale if scale > 0 else (0.0 if diff == 0 else np.inf)
    return ConvolutionTheoremCheck(kind=kind, spatial=spatial, spectral=spectral, max_abs_diff=diff, rel_diff=rel)
