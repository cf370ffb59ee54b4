"""Input checks shared by the application modules (private).

Every check raises :class:`freqlens.FreqlensError` (a ``ValueError``) whose message names the argument and what
would have been accepted, so the CLI can print it as one line.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from freqlens.errors import FreqlensError
from freqlens._arrays import check_magnitude
from freqlens._memory import refuse_if_too_big

__all__ = ["as_real_array", "check_memory", "positive", "probability"]


def as_real_array(x, name: str, *, ndim: tuple[int, ...] | None = None, allow_empty: bool = False) -> np.ndarray:
    """``x`` as a float64 array; refuse strings, objects, complex numbers and (unless allowed) empty arrays.

    Booleans and integers are converted to float64 *without* rescaling (a uint8 image stays in 0..255).
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise FreqlensError(f"{name} must be a numeric array ({type(exc).__name__}: {exc})") from None
    if arr.dtype.kind not in "biuf":
        raise FreqlensError(f"{name} must hold real numbers (bool, int or float), got dtype {arr.dtype}")
    if ndim is not None and arr.ndim not in ndim:
        allowed = " or ".join(str(d) for d in ndim)
        raise FreqlensError(f"{name} must have {allowed} dimension(s), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise FreqlensError(f"{name} is empty (shape {arr.shape})")
    # Every application holds at least one float64 array of its input's size: check that before any full pass.
    check_memory(arr.size, f"{name} as float64 ({arr.size:,} values)", copies=1)
    out = arr.astype(np.float64, copy=False)
    check_magnitude(out, name)
    return out


def positive(value, name: str, *, integer: bool = False, allow_zero: bool = False) -> float | int:
    """Check a scalar is a finite number > 0 (or >= 0); return it as float (or int)."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.integer, np.floating)):
        raise FreqlensError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)) or float(value) < 0 or (float(value) == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise FreqlensError(f"{name} must be a finite number {bound}, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise FreqlensError(f"{name} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def probability(value, name: str) -> float:
    """Check a scalar lies in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.integer, np.floating)):
        raise FreqlensError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise FreqlensError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def check_memory(n_values: float, what: str, *, copies: float = 4.0) -> None:
    """Refuse, before allocating, a result of ``n_values`` float64 numbers that would not fit in memory.

    ``copies`` counts the temporaries the computation holds at once (FFT buffers, padding); the check itself is
    :func:`freqlens._memory.refuse_if_too_big`.
    """
    refuse_if_too_big(float(n_values) * 8.0 * copies, what)
