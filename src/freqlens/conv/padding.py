"""Padding arithmetic for sliding-window operations, with the reason for every number.

All schemes describe the *input* of a sliding window: the input of length ``n`` is extended by ``before`` samples
at its start and ``after`` samples at its end, then a (dilated) kernel of extent ``K = (k - 1) * dilation + 1``
slides over it with step ``stride``. The number of outputs is

    out = floor((n + before + after - K) / stride) + 1        (0 when the padded input is shorter than K).

Schemes
-------
``'same-tf'``
    TensorFlow ``padding='SAME'`` (any stride): ``out = ceil(n / s)``,
    ``total = max((out - 1) * s + K - n, 0)``, ``before = total // 2``, ``after = total - before``: an odd total
    puts the extra sample at the end (bottom/right). Depends on ``n``: ``n=224, k=7, s=2 -> (2, 3)`` but
    ``n=224, k=3, s=2 -> (0, 1)`` and ``n=225, k=3, s=2 -> (1, 1)``.
``'same-torch'``
    PyTorch ``padding='same'``: stride 1 only (torch raises for strided 'same'); ``total = K - 1``,
    ``before = total // 2``: the extra sample of an even kernel goes at the end. Equals ``'same-tf'`` at stride 1.
``'same-scipy'``
    ``scipy.signal.correlate(in1, in2, 'same')`` (and ``convolve`` with the flipped kernel), ``numpy.convolve``
    'same' for ``n >= k`` and ``scipy.ndimage.correlate``: stride 1 only; ``before = K // 2``: the extra sample
    of an even kernel goes at the *start* (equinox calls this ``'SAME_LOWER'``).
``'valid'``
    No padding: only positions where the kernel fits inside the input.
``'full'``
    ``K - 1`` on each side: every position where kernel and input overlap by at least one sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from freqlens.conv._args import positive_int

Scheme = Literal["same-tf", "same-torch", "same-scipy", "valid", "full"]
SCHEMES: tuple[str, ...] = ("same-tf", "same-torch", "same-scipy", "valid", "full")


def output_length(n: int, extent: int, stride: int, before: int, after: int) -> int:
    """Number of window positions: ``floor((n + before + after - extent) / stride) + 1``, or 0 if none fits."""
    span = n + before + after - extent
    return span // stride + 1 if span >= 0 else 0


def same_pads(n: int, extent: int, stride: int = 1, extra: Literal["end", "start"] = "end") -> tuple[int, int]:
    """``(before, after)`` of TensorFlow's SAME formula for a kernel of dilated ``extent``.

    ``extra='end'`` is TensorFlow/PyTorch (the odd sample after), ``'start'`` is scipy.signal/ndimage at stride 1
    (the odd sample before, equinox ``'SAME_LOWER'``).

    Examples
    --------
    >>> same_pads(224, 7, 2), same_pads(224, 3, 2), same_pads(225, 3, 2)
    ((2, 3), (0, 1), (1, 1))
    >>> same_pads(10, 4, 1, extra="start")
    (2, 1)
    """
    out = -(-n // stride)  # ceil(n / stride)
    total = max((out - 1) * stride + extent - n, 0)
    small, large = total // 2, total - total // 2
    return (small, large) if extra == "end" else (large, small)


@dataclass(frozen=True)
class Padding:
    """Pads of one axis and why: ``before``/``after`` samples added to an input of length ``n``.

    Attributes
    ----------
    n, k, stride, dilation : int
        Input length, kernel length, step and dilation.
    scheme : str
        One of :data:`SCHEMES`.
    before, after : int
        Samples added at the start and at the end of the input.
    """

    n: int
    k: int
    stride: int
    dilation: int
    scheme: str
    before: int
    after: int

    @property
    def extent(self) -> int:
        """Dilated kernel extent ``K = (k - 1) * dilation + 1``."""
        return (self.k - 1) * self.dilation + 1

    @property
    def total(self) -> int:
        """``before + after``."""
        return self.before + self.after

    @property
    def out(self) -> int:
        """Output length ``floor((n + before + after - K) / stride) + 1`` (0 when no window fits)."""
        return output_length(self.n, self.extent, self.stride, self.before, self.after)

    def as_tuple(self) -> tuple[int, int]:
        """``(before, after)``."""
        return (self.before, self.after)

    def explain(self) -> str:
        """A few lines saying how ``before``, ``after`` and ``out`` follow from ``n, k, stride, dilation``."""
        n, k, s, d, K = self.n, self.k, self.stride, self.dilation, self.extent
        lines = [f"scheme {self.scheme!r}: n={n}, k={k}, stride={s}, dilation={d}"]
        if d != 1:
            lines.append(f"  dilated kernel extent K = (k - 1) * d + 1 = ({k} - 1) * {d} + 1 = {K}")
        else:
            lines.append(f"  kernel extent K = k = {K}")
        if self.scheme == "same-tf":
            out = -(-n // s)
            raw = (out - 1) * s + K - n
            lines.append(f"  TensorFlow SAME: out = ceil(n / s) = ceil({n} / {s}) = {out}")
            lines.append(f"  total = max((out - 1) * s + K - n, 0) = max({out - 1} * {s} + {K} - {n}, 0) = "
                         f"{max(raw, 0)}")
            lines.append(f"  before = total // 2 = {self.before}, after = total - before = {self.after}"
                         + (" (the odd sample goes at the end)" if self.after > self.before else ""))
        elif self.scheme == "same-torch":
            lines.append(f"  PyTorch 'same' (stride 1): total = K - 1 = {K - 1}")
            lines.append(f"  before = total // 2 = {self.before}, after = total - before = {self.after}"
                         + (" (the odd sample goes at the end)" if self.after > self.before else ""))
        elif self.scheme == "same-scipy":
            lines.append(f"  scipy 'same' (stride 1): total = K - 1 = {K - 1}")
            lines.append(f"  before = K // 2 = {self.before}, after = (K - 1) // 2 = {self.after}"
                         + (" (the odd sample goes at the start)" if self.before > self.after else ""))
        elif self.scheme == "valid":
            lines.append("  valid: no padding, only windows that fit inside the input")
        else:
            lines.append(f"  full: K - 1 = {K - 1} on each side, every partial overlap counts")
        span = n + self.total - K
        if span < 0:
            lines.append(f"  out = 0: the padded input ({n + self.total}) is shorter than the kernel extent ({K})")
        else:
            lines.append(f"  out = floor((n + before + after - K) / s) + 1 = floor({span} / {s}) + 1 = {self.out}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


def padding_for(n: int, k: int, stride: int = 1, dilation: int = 1, scheme: Scheme = "same-tf") -> Padding:
    """Pads ``(before, after)`` of one axis for a padding scheme, with the arithmetic spelled out.

    Parameters
    ----------
    n : int
        Input length (>= 1).
    k : int
        Kernel length (>= 1), before dilation.
    stride, dilation : int
        Step of the window and spacing of the kernel taps (>= 1).
    scheme : {'same-tf', 'same-torch', 'same-scipy', 'valid', 'full'}
        See the module docstring. ``'same-torch'`` and ``'same-scipy'`` exist for stride 1 only, like their
        libraries; use ``'same-tf'`` for strided SAME.

    Returns
    -------
    Padding
        ``.before``, ``.after``, ``.out`` (output length) and ``.explain()`` (also ``str()``).

    Raises
    ------
    ValueError
        For non-positive sizes, an unknown scheme, or a stride-1-only scheme with ``stride > 1``.

    Notes
    -----
    With extent ``K = (k - 1) d + 1``: TensorFlow SAME ``out = ceil(n / s)``,
    ``total = max((out - 1) s + K - n, 0)``, ``before = total // 2``; PyTorch 'same' ``before = (K - 1) // 2``;
    scipy 'same' ``before = K // 2``; valid ``0``; full ``K - 1``. Always
    ``out = floor((n + before + after - K) / s) + 1``.

    Examples
    --------
    >>> p = padding_for(224, 7, stride=2)
    >>> p.before, p.after, p.out
    (2, 3, 112)
    >>> padding_for(6, 2, scheme="same-torch").as_tuple(), padding_for(6, 2, scheme="same-scipy").as_tuple()
    ((0, 1), (1, 0))
    >>> print(padding_for(225, 3, stride=2))
    scheme 'same-tf': n=225, k=3, stride=2, dilation=1
      kernel extent K = k = 3
      TensorFlow SAME: out = ceil(n / s) = ceil(225 / 2) = 113
      total = max((out - 1) * s + K - n, 0) = max(112 * 2 + 3 - 225, 0) = 2
      before = total // 2 = 1, after = total - before = 1
      out = floor((n + before + after - K) / s) + 1 = floor(224 / 2) + 1 = 113
    """
    n = positive_int(n, "n")
    k = positive_int(k, "k")
    stride = positive_int(stride, "stride")
    dilation = positive_int(dilation, "dilation")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(map(repr, SCHEMES))}, got {scheme!r}")
    extent = (k - 1) * dilation + 1
    if scheme in ("same-torch", "same-scipy") and stride != 1:
        lib = "PyTorch" if scheme == "same-torch" else "scipy"
        raise ValueError(f"scheme={scheme!r} is defined for stride 1 only ({lib} has no strided 'same'); "
                         f"use scheme='same-tf' for stride={stride}")
    if scheme == "same-tf" or scheme == "same-torch":
        before, after = same_pads(n, extent, stride, "end")
    elif scheme == "same-scipy":
        before, after = same_pads(n, extent, 1, "start")
    elif scheme == "valid":
        before, after = 0, 0
    else:
        before = after = extent - 1
    return Padding(n=n, k=k, stride=stride, dilation=dilation, scheme=scheme, before=before, after=after)
