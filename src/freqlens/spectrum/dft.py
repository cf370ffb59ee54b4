"""The Fourier convention of freqlens, written once.

Forward transform: ``F[k] = (1/N) * sum_j y[j] * exp(-2*pi*i * k * (x_j - x_0) / L)`` on a grid of ``N`` samples
that holds whole periods of length ``L`` (``endpoint=False``), so a pure tone ``sin(2*pi*k*x/L)`` falls in bin
``k`` exactly. Frequencies are in cycles per unit of ``x`` (``fftfreq(n, d)``); for a period of ``2*pi`` the
bin index equals the angular frequency ``k`` of ``sin(k*x)``.

``norm`` follows :mod:`scipy.fft`: ``"backward"`` (no scaling), ``"ortho"`` (``1/sqrt(N)``) and ``"forward"``
(``1/N``, the default here, so that a unit-amplitude tone has coefficient magnitude 1/2 and a constant
``c`` has ``F[0] = c``).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from freqlens._arrays import to_numpy
from freqlens.spectrum._common import NORMS


def periodic_grid(n: int, start: float = -np.pi, period: float = 2 * np.pi) -> np.ndarray:
    """``n`` evenly spaced points on ``[start, start + period)`` (endpoint excluded).

    Examples
    --------
    >>> periodic_grid(4, start=0.0, period=1.0)
    array([0.  , 0.25, 0.5 , 0.75])
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not period > 0:
        raise ValueError(f"period must be > 0, got {period!r}")
    return start + period * np.arange(int(n)) / int(n)


def dft(y, *, axis: int = -1, norm: str = "forward") -> np.ndarray:
    """Discrete Fourier transform of real or complex samples along ``axis`` (numpy array out).

    Parameters
    ----------
    y : array_like or torch.Tensor
        Samples on a grid of whole periods.
    axis : int
        Axis to transform.
    norm : {"forward", "backward", "ortho"}
        Scaling as in :func:`scipy.fft.fft`; default ``"forward"`` divides by ``N``.

    Examples
    --------
    >>> x = periodic_grid(8)
    >>> np.round(np.abs(dft(np.sin(3 * x)))[:5], 12)
    array([0. , 0. , 0. , 0.5, 0. ])
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    arr = to_numpy(y)
    if arr.size == 0:
        raise ValueError("cannot take the DFT of an empty array")
    return scipy.fft.fft(arr, axis=axis, norm=norm)


def frequencies(n: int, *, d: float = 1.0) -> np.ndarray:
    """Frequencies (cycles per unit) of the bins of an ``n``-point DFT with sample spacing ``d``."""
    return scipy.fft.fftfreq(int(n), d=d)


def nudft(x, y, k, *, norm: str = "forward") -> np.ndarray:
    """Non-uniform DFT: ``F(k) = (1/n) * sum_i y_i * exp(-2*pi*i * k * x_i)`` for arbitrary sample positions.

    ``x`` has shape ``(n,)``, ``y`` shape ``(n,)`` or ``(n, c)``, ``k`` any 1-D array of frequencies in cycles per
    unit of ``x``. Returns shape ``(len(k),)`` or ``(len(k), c)``. Direct summation (O(n * len(k))) is exact and
    fast enough for the projection method's few hundred frequencies; ``norm`` as in :func:`dft`.
    """
    x = np.asarray(to_numpy(x), dtype=float).ravel()
    y = np.asarray(to_numpy(y))
    k = np.atleast_1d(np.asarray(k, dtype=float))
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    if x.size == 0:
        raise ValueError("cannot take the DFT of an empty array")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    scale = {"forward": 1.0 / x.size, "backward": 1.0, "ortho": 1.0 / np.sqrt(x.size)}[norm]
    phase = np.exp(-2j * np.pi * np.outer(k, x))
    return scale * (phase @ y)


def spectrum_peaks(y, *, max_peaks: int | None = None, rel_height: float = 1e-3) -> list[int]:
    """Bins ``k >= 1`` (up to Nyquist) where ``|DFT(y)|`` has a local maximum above ``rel_height * max``.

    This is how tracked frequencies are chosen from a target: for ``sin x + sin 3x + sin 5x`` on a periodic grid
    it returns ``[1, 3, 5]``. Peaks are returned in increasing frequency; ``max_peaks`` keeps the largest ones.
    """
    mag = np.abs(dft(np.asarray(y, dtype=float)))
    half = mag[: len(mag) // 2 + 1]
    top = half[1:].max() if len(half) > 1 else 0.0
    if top <= 0:
        return []
    peaks = []
    for k in range(1, len(half)):
        left = half[k - 1] if k - 1 >= 1 else -np.inf
        right = half[k + 1] if k + 1 < len(half) else -np.inf
        if half[k] > rel_height * top and half[k] >= left and half[k] > right:
            peaks.append(k)
    if max_peaks is not None and len(peaks) > max_peaks:
        peaks = sorted(sorted(peaks, key=lambda k: -half[k])[:max_peaks])
    return peaks

