"""Convolution kernels in the frequency domain: power on a zero-padded grid, energy shares by radial band, centroid.

The measures of :class:`~freqlens.lab.monitors.kernels.KernelMonitor`, usable on their own on any stack of 2-D
kernels ``(n_kernels, channels, kh, kw)`` (a ``Conv2d`` weight). Each kernel's response comes from
:func:`freqlens.conv.frequency_response` (one input channel at a time), frequencies in cycles per pixel as in
:mod:`freqlens.spectrum`.

>>> import numpy as np
>>> laplacian = np.array([[0., 1., 0.], [1., -4., 1.], [0., 1., 0.]])
>>> box = np.ones((3, 3)) / 9
>>> power = kernel_power(np.stack([box, laplacian])[:, None], grid=32)
>>> power.shape
(2, 32, 32)
>>> np.round(band_shares(power, n_bands=4), 3)          # the box keeps low frequencies, the Laplacian high ones
array([[0.33 , 0.475, 0.083, 0.085, 0.027],
       [0.   , 0.014, 0.111, 0.383, 0.492]])
>>> np.round(radial_centroid(power), 3)
array([0.183, 0.49 ])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from freqlens import _memory
from freqlens._arrays import to_numpy
from freqlens.conv import frequency_response
from freqlens.spectrum import radial_frequency

__all__ = ["CORNER_CENTRE", "LOW_CUTOFF", "as_kernels", "band_index", "band_shares", "kernel_power", "low_share",
           "radial_bands", "radial_centroid"]

#: Centre of the "corner" band: radial frequencies beyond the Nyquist radius 0.5, up to the corner sqrt(0.5).
CORNER_CENTRE = (0.5 + math.sqrt(0.5)) / 2
#: Radial frequency (cycles per pixel) below which energy counts as "low" in :func:`low_share`: half of Nyquist.
LOW_CUTOFF = 0.25
_EDGE_TOL = 1e-9  # a bin on a band edge (up to rounding of its radius) belongs to the band above the edge


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def as_kernels(kernels: Any, name: str = "kernels") -> np.ndarray:
    """``kernels`` (numpy or torch, any device) as float64 ``(n, C, kh, kw)``; a 2-D kernel becomes ``(1, 1, kh, kw)``
    and a 3-D stack ``(n, kh, kw)`` becomes ``(n, 1, kh, kw)``."""
    k = np.asarray(to_numpy(kernels))
    if k.dtype == object or not (np.issubdtype(k.dtype, np.number) or k.dtype == bool) or np.iscomplexobj(k):
        raise TypeError(f"{name} must be a real numeric array or tensor; got dtype {k.dtype}")
    if k.ndim == 2:
        k = k[None, None]
    elif k.ndim == 3:
        k = k[:, None]
    if k.ndim != 4 or k.size == 0:
        raise ValueError(f"{name} must have shape (kernels, channels, height, width) (a Conv2d weight), (kernels, "
                         f"height, width) or (height, width), non-empty; got shape {tuple(np.shape(kernels))}")
    k = k.astype(np.float64)
    if not np.all(np.isfinite(k)):
        raise ValueError(f"{name} contain NaN or inf")
    return k


def radial_bands(n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges and centres of the radial bands (cycles per pixel).

    Returns
    -------
    edges : ndarray, shape (n_bands + 1,)
        ``0.5 * b / n_bands`` for ``b = 0 .. n_bands``: equal widths from 0 to the Nyquist radius 0.5.
    centres : ndarray, shape (n_bands + 1,)
        The middle of each band, then :data:`CORNER_CENTRE` for the extra band of the grid's corners
        (``0.5 < rho <= sqrt(0.5)``).

    Examples
    --------
    >>> edges, centres = radial_bands(4)
    >>> edges.tolist(), np.round(centres, 4).tolist()
    ([0.0, 0.125, 0.25, 0.375, 0.5], [0.0625, 0.1875, 0.3125, 0.4375, 0.6036])
    """
    n_bands = _positive_int(n_bands, "n_bands")
    edges = np.linspace(0.0, 0.5, n_bands + 1)
    return edges, np.append((edges[:-1] + edges[1:]) / 2, CORNER_CENTRE)


def band_index(grid: int, n_bands: int) -> np.ndarray:
    """The band of every bin of a centred ``grid × grid`` DFT: ``0 .. n_bands - 1`` inside the Nyquist disc
    (``rho <= 0.5``), ``n_bands`` for the corners.

    Band ``b < n_bands - 1`` holds ``edges[b] <= rho < edges[b + 1]``, the last one ``edges[-2] <= rho <= 0.5``
    (the Nyquist ring ``rho = 0.5`` is inside the disc). Refuses a grid too coarse to put a bin in every band
    (``n_bands > grid // 2``).

    Examples
    --------
    >>> band_index(4, 2)   # rho: 0 at the centre [2, 2], 0.25 beside it, 0.5 at the edges, sqrt(0.5) at corners
    array([[2, 2, 1, 2],
           [2, 1, 1, 1],
           [1, 1, 0, 1],
           [2, 1, 1, 1]])
    """
    grid, n_bands = _positive_int(grid, "grid"), _positive_int(n_bands, "n_bands")
    if n_bands > grid // 2:
        raise ValueError(f"n_bands must be at most grid // 2 = {grid // 2} (each band needs a bin of the "
                         f"{grid}x{grid} grid); got {n_bands}")
    rho = radial_frequency((grid, grid), centred=True)
    band = np.minimum(np.floor(rho * 2 * n_bands + _EDGE_TOL), n_bands - 1).astype(np.int64)
    band[rho > 0.5 + _EDGE_TOL] = n_bands
    return band


def kernel_power(kernels: Any, grid: int = 32) -> np.ndarray:
    """The power ``sum_c |K̂_c(f)|²`` of every kernel on a centred ``grid × grid`` frequency grid.

    Parameters
    ----------
    kernels : array_like or Tensor, shape (n, C, kh, kw)
        E.g. a ``Conv2d`` weight (``(n, kh, kw)`` and ``(kh, kw)`` are read as one channel).
    grid : int
        DFT size per axis (the kernel is zero-padded to it), at least ``max(kh, kw)``. Bins sit at
        ``fftshift(fftfreq(grid))`` cycles per pixel, DC at index ``grid // 2``.

    Returns
    -------
    ndarray of float64, shape (n, grid, grid)

    Notes
    -----
    ``K̂_c = frequency_response(kernel[c], (grid, grid)).values`` (:func:`freqlens.conv.frequency_response`):

    .. math:: \\hat K_c(f) = \\sum_{y, x} w_c[y, x]\\, e^{-2\\pi i (f_y (y - c_y) + f_x (x - c_x))}, \\qquad
              P(f) = \\sum_c |\\hat K_c(f)|^2

    the DTFT of the kernel sampled at ``grid²`` frequencies (zero padding interpolates it, adds nothing). The
    origin ``(c_y, c_x)`` (the centre tap) only changes the phase. Parseval: ``sum_f P(f) = grid² · sum w²``.
    A multi-channel kernel answers ``sum_c K̂_c(f) X̂_c(f)`` to an image ``X``: ``P`` is its total gain over the
    channels. The response of torch's ``conv2d`` (a correlation) is the conjugate: same power.

    Examples
    --------
    >>> p = kernel_power(np.ones((1, 1, 1, 1)), grid=4)   # a one-tap kernel passes every frequency
    >>> p[0].tolist() == np.ones((4, 4)).tolist()
    True
    """
    k = as_kernels(kernels)
    grid = _positive_int(grid, "grid")
    if grid < max(k.shape[2:]):
        raise ValueError(f"grid must be at least the kernel size {max(k.shape[2:])}; got {grid}")
    need, avail = k.shape[0] * grid * grid * 8 * (1 + 3 * k.shape[1]), _memory.available_memory()
    if need > avail:
        raise ValueError(f"the power of {k.shape[0]} kernels on a {grid}x{grid} grid would need "
                         f"{need / 2**20:,.1f} MiB but {avail / 2**20:,.1f} MiB is available; use a smaller grid")
    power = np.zeros((k.shape[0], grid, grid))
    for i in range(k.shape[0]):
        for c in range(k.shape[1]):
            power[i] += np.abs(frequency_response(k[i, c], (grid, grid)).values) ** 2
    return power


def _as_power(power: Any) -> np.ndarray:
    p = np.asarray(to_numpy(power), dtype=np.float64)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1] != p.shape[2] or p.shape[1] < 2:
        raise ValueError(f"power must be (n, grid, grid) from kernel_power (square, grid >= 2); got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("power must be finite and non-negative")
    return p


def _weights(p: np.ndarray, exclude_dc: bool) -> np.ndarray:
    if exclude_dc:
        p = p.copy()
        p[:, p.shape[1] // 2, p.shape[2] // 2] = 0.0
    return p


def band_shares(power: Any, n_bands: int = 4, *, exclude_dc: bool = False) -> np.ndarray:
    """Share of each kernel's energy in each radial band (and in the corners beyond the Nyquist radius).

    Parameters
    ----------
    power : array_like, shape (n, grid, grid)
        From :func:`kernel_power` (centred).
    n_bands : int
        Equal-width bands from 0 to 0.5 cycles per pixel (see :func:`radial_bands`, :func:`band_index`).
    exclude_dc : bool
        Leave the DC bin (``f = 0``, the kernel's sum) out of numerator and denominator. Default: included
        (in band 0).

    Returns
    -------
    ndarray, shape (n, n_bands + 1)
        Rows sum to 1; column ``n_bands`` is the corners (``rho > 0.5``). NaN for a kernel without energy
        (all zeros, or a constant kernel on a grid of its own size with ``exclude_dc``).

    Notes
    -----
    .. math:: s_b = \\frac{\\sum_{f \\in B_b} P(f)}{\\sum_f P(f)}

    over the bins ``f`` of the grid, ``B_b`` the bins of band ``b``.
    """
    p = _weights(_as_power(power), exclude_dc)
    band = band_index(p.shape[1], n_bands)
    sums = np.stack([p[:, band == b].sum(axis=1) for b in range(n_bands + 1)], axis=1)
    total = p.sum(axis=(1, 2))[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, sums / np.where(total > 0, total, 1.0), np.nan)


def radial_centroid(power: Any, *, exclude_dc: bool = False) -> np.ndarray:
    """Energy-weighted mean radial frequency of each kernel, ``sum rho P / sum P`` (cycles per pixel).

    Over every bin of the grid (corners included, so the largest possible value is ``sqrt(0.5)``); NaN for a
    kernel without energy. A white kernel (a single tap) gives the mean radius of the grid's bins, ≈ 0.383 for a
    fine grid (``(sqrt(2) + asinh(1)) / 6`` for the continuous square).

    Examples
    --------
    >>> round(float(radial_centroid(kernel_power(np.ones((1, 1)), grid=64))[0]), 3)
    0.383
    """
    p = _weights(_as_power(power), exclude_dc)
    rho = radial_frequency(p.shape[1:], centred=True)
    total = p.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (p * rho).sum(axis=(1, 2)) / np.where(total > 0, total, 1.0), np.nan)


def low_share(power: Any, *, cutoff: float = LOW_CUTOFF, exclude_dc: bool = False) -> np.ndarray:
    """Share of each kernel's energy at radial frequencies ``rho < cutoff`` (default half of Nyquist, 0.25).

    Examples
    --------
    >>> float(low_share(kernel_power(np.ones((1, 1)), grid=4))[0])  # only DC (1 of 16 bins) has rho < 0.25
    0.0625
    """
    if not 0 < cutoff <= 0.5:
        raise ValueError(f"cutoff must be in (0, 0.5] cycles per pixel; got {cutoff!r}")
    p = _weights(_as_power(power), exclude_dc)
    rho = radial_frequency(p.shape[1:], centred=True)
    total = p.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        low = p[:, rho < cutoff - _EDGE_TOL].sum(axis=1)
        return np.where(total > 0, low / np.where(total > 0, total, 1.0), np.nan)
