"""Checks shared by the Gaussian low/high split, and its plain float64 reference.

:func:`gaussian_split_dense` computes the split the obvious way -- every squared distance by direct differences,
the ``n x n`` kernel in float64 -- and is what :mod:`freqlens.spectrum.gaussian_split`, its tests and
``benchmarks/bench_filtering.py`` are checked against. :func:`refuse_if_too_big` is the memory check every
allocation of the high-dimensional monitors goes through: it refuses, before allocating, with the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from freqlens._arrays import to_numpy
from freqlens._memory import available_memory
from freqlens.errors import DataError

__all__ = ["as_points", "as_values", "check_deltas", "gaussian_split_dense", "refuse_if_too_big"]


def check_deltas(deltas: Any) -> np.ndarray:
    """``deltas`` as a 1-D float64 array of finite values > 0 (raise ``ValueError`` naming the bad one).

    >>> check_deltas([2, 10.5])
    array([ 2. , 10.5])
    """
    arr = np.atleast_1d(np.asarray(deltas, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"deltas must be a non-empty 1-D sequence of numbers > 0, got shape {arr.shape}")
    bad = arr[~(np.isfinite(arr) & (arr > 0))]
    if bad.size:
        raise ValueError(f"deltas must be finite and > 0 (delta is the Gaussian's variance), got {bad[0]!r}")
    return arr


def refuse_if_too_big(parts: dict[str, float], what: str, device: Any = None,
                      limit: float | None = None) -> None:
    """Raise :class:`~freqlens.errors.DataError` before allocating when the buffers in ``parts`` (bytes) exceed
    the memory available (RAM, or the GPU's for a CUDA ``device``) or ``limit``; the message gives the figures."""
    need = float(sum(parts.values()))
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda":
        avail, where = float(torch.cuda.mem_get_info(dev)[0]), f"on {dev}"
    else:
        avail, where = float(available_memory()), "in RAM"
    if limit is not None and limit < avail:
        avail, where = float(limit), "under the memory limit"
    if need > avail:
        detail = ", ".join(f"{k} {_fmt_bytes(v)}" for k, v in parts.items() if v >= need / 100)
        raise DataError(f"{what} would need {_fmt_bytes(need)} ({detail}) but {_fmt_bytes(avail)} is "
                        f"available {where}; use fewer points, fewer deltas or fewer pending records")


def _fmt_bytes(b: float) -> str:
    """``1.50 GiB``, ``12.0 MiB``, ``3.2 KiB``: the unit that makes the figure readable."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= size or unit == "KiB":
            return f"{b / size:.2f} {unit}" if unit == "GiB" else f"{b / size:.1f} {unit}"
    return f"{b:.0f} B"


def as_points(x: Any) -> np.ndarray:
    """``x`` as an ``(n, d)`` float64 array (any trailing shape is flattened: N×C×H×W images are accepted)."""
    arr = np.asarray(to_numpy(x))
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"inputs must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim < 1 or arr.shape[0] < 2:
        raise ValueError(f"inputs need at least 2 points (first axis), got shape {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1).astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("inputs contain NaN or inf")
    return arr


def as_values(values: Any, n: int) -> np.ndarray:
    arr = np.asarray(to_numpy(values))
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"values must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[0] != n:
        raise ValueError(f"values must have shape (n,) or (n, c) with n = {n} points, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values contain NaN or inf")
    return arr.astype(np.float64, copy=False)


def gaussian_split_dense(x: Any, values: Any, deltas: Sequence[float] | float) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian low/high split computed the plain way in float64: the reference (``O(n^2)`` memory).

    Parameters
    ----------
    x : array_like, shape (n, ...)
        Points (flattened to ``(n, d)``).
    values : array_like, shape (n,) or (n, c)
        Values at the points.
    deltas : float or sequence of float
        Scales (variances) ``delta > 0``.

    Returns
    -------
    low, high : ndarray, shape (m, n) or (m, n, c)
        One split per delta.

    Notes
    -----
    Squared distances by direct differences (:func:`scipy.spatial.distance.cdist`, ``"sqeuclidean"``), then
    ``low = (G v) / (G 1)`` and ``high = v - low`` with ``G = exp(-D / (2 delta))``; refuses up front when the
    ``n x n`` float64 matrices do not fit in memory.
    """
    from scipy.spatial.distance import cdist

    pts = as_points(x)
    v = as_values(values, pts.shape[0])
    dl = check_deltas(deltas)
    n = pts.shape[0]
    refuse_if_too_big({"distances": 8.0 * n * n, "kernel": 8.0 * n * n}, f"the dense reference for n = {n}")
    dist = cdist(pts, pts, "sqeuclidean")
    lows = []
    for delta in dl:
        g = np.exp(-dist / (2.0 * delta))
        lows.append((g @ v) / g.sum(axis=1).reshape((n,) + (1,) * (v.ndim - 1)))
    low = np.stack(lows)
    return low, v[None] - low
