"""Arguments shared by the signal filters (:mod:`freqlens.conv.filters`) and the image masks
(:mod:`freqlens.conv.masks`): bands, cutoffs, orders and the real signal or image they filter.

Private to :mod:`freqlens.conv`. Every check raises :class:`freqlens.FreqlensError` naming the argument.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from freqlens._arrays import check_magnitude, is_torch, to_numpy
from freqlens._memory import refuse_if_too_big
from freqlens.errors import FreqlensError

#: Which frequencies are kept.
BANDS = ("low", "high", "band", "stop")

_BAND_ALIASES = {"lowpass": "low", "highpass": "high", "bandpass": "band", "bandstop": "stop", "notch": "stop"}


def band_name(band: Any) -> str:
    """``"low"``, ``"high"``, ``"band"`` or ``"stop"`` (aliases ``lowpass``, ``highpass``, ... accepted)."""
    b = _BAND_ALIASES.get(band, band) if isinstance(band, str) else band
    if b not in BANDS:
        raise FreqlensError(f"band must be one of {BANDS} (or lowpass/highpass/bandpass/bandstop), got {band!r}")
    return b


def positive_finite(name: str, value: Any) -> float:
    """``value`` as a finite float > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FreqlensError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise FreqlensError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def cutoffs(band: str, cutoff: Any, upper: float, unit: str, what: str = "fs/2") -> tuple[float, ...]:
    """Check cutoff(s) against ``(0, upper)``: one number for low/high, an increasing pair for band/stop."""
    pair = band in ("band", "stop")
    vals = np.atleast_1d(np.asarray(cutoff, dtype=object)).ravel().tolist() if cutoff is not None else []
    if pair and len(vals) != 2:
        raise FreqlensError(f"cutoff must be a pair (low, high) in {unit} for band={band!r}, got {cutoff!r}")
    if not pair and len(vals) != 1:
        raise FreqlensError(f"cutoff must be one number in {unit} for band={band!r}, got {cutoff!r}")
    out = []
    for v in vals:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise FreqlensError(f"cutoff must be numeric ({unit}), got {cutoff!r}") from None
        if not math.isfinite(f):
            raise FreqlensError(f"cutoff must be finite, got {cutoff!r}")
        out.append(f)
    for f in out:
        if not 0 < f < upper:
            raise FreqlensError(f"cutoff must lie strictly inside (0, {what}) = (0, {upper:g}) {unit}, got {f:g}")
    if pair and not out[0] < out[1]:
        raise FreqlensError(f"cutoff (low, high) needs low < high, got ({out[0]:g}, {out[1]:g}) {unit}")
    return tuple(out)


def order_arg(order: Any) -> int:
    """An integer >= 1 (``4`` and ``4.0`` accepted)."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer, float)) or order != int(order) or order < 1:
        raise FreqlensError(f"order must be an integer >= 1, got {order!r}")
    return int(order)


def as_signal(x: Any, name: str = "x") -> tuple[np.ndarray, Any]:
    """numpy float array of ``x`` and a function that converts a result back to ``x``'s type and dtype."""
    torch_in = is_torch(x)
    arr = np.asarray(to_numpy(x))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise FreqlensError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise FreqlensError(f"{name} must be real, got dtype {arr.dtype}")
    if arr.size == 0 or arr.ndim == 0:
        raise FreqlensError(f"{name} must be a non-empty array, got shape {arr.shape}")
    # float64 input, output and the filters' padded working copies, before converting (a full pass)
    refuse_if_too_big(32 * arr.size, f"filtering {name} of shape {arr.shape}", hint="filter it in parts")
    out_dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64

    def restore(y: np.ndarray) -> Any:
        y = np.ascontiguousarray(y, dtype=out_dtype)
        if torch_in:
            import torch

            return torch.from_numpy(y).to(device=x.device)
        return y

    out = arr.astype(np.float64, copy=False)
    check_magnitude(out, name)
    return out, restore
