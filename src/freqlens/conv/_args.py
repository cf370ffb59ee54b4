"""Integer arguments of the sliding-window functions (sizes, strides, dilations, pads), checked once.

Private to :mod:`freqlens.conv`; its names are public so that the modules of the package share them.
"""

from __future__ import annotations

import operator
from typing import Any


def positive_int(value: object, name: str) -> int:
    """``value`` as a Python int >= 1, or a ValueError naming ``name``.

    ``int`` and numpy integers are accepted; floats (even ``3.0``), strings and booleans are not.

    Examples
    --------
    >>> positive_int(3, "stride")
    3
    >>> positive_int(1.5, "stride")
    Traceback (most recent call last):
    ...
    ValueError: stride must be a positive integer, got 1.5
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    try:
        out = operator.index(value)  # accepts int and numpy integers, rejects floats and strings
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if out < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1), got {out}")
    return out


def nonneg_int(value: Any, name: str) -> int:
    """``value`` as a Python int >= 0 (a pad), or a ValueError naming ``name``."""
    try:
        out = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must contain non-negative integers, got {value!r}") from None
    if out < 0 or isinstance(value, bool):
        raise ValueError(f"{name} must contain non-negative integers, got {value!r}")
    return out


def per_axis(value: Any, n_axes: int, name: str, axis_word: str = "convolved axis") -> tuple[int, ...]:
    """One positive int per axis: ``value`` repeated, or a sequence of exactly ``n_axes`` of them.

    Examples
    --------
    >>> per_axis(2, 3, "stride"), per_axis((1, 2), 2, "dilation")
    ((2, 2, 2), (1, 2))
    """
    if isinstance(value, (list, tuple)):
        if len(value) != n_axes:
            raise ValueError(f"{name} must be an int or a sequence of {n_axes} ints (one per {axis_word}), "
                             f"got {value!r}")
        return tuple(positive_int(v, name) for v in value)
    return (positive_int(value, name),) * n_axes
