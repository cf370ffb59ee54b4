"""Step-by-step convolution: every output as its window, the element-wise products and their sum."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from freqlens.conv._plan import NUMPY_PAD, as_numpy, lift_numpy, make_plan


@dataclass(frozen=True)
class Step:
    """One output sample.

    Attributes
    ----------
    index : tuple of int
        Position in the output.
    start : tuple of int
        Input coordinate of the window's first tap (negative inside the padding before the input).
    window : ndarray
        Input values under the kernel taps (padding included; dilation gaps skipped).
    products : ndarray
        ``window * kernel`` element-wise (the kernel as applied: flipped for a convolution).
    total : float
        Sum of ``products``: the output value.
    """

    index: tuple[int, ...]
    start: tuple[int, ...]
    window: np.ndarray
    products: np.ndarray
    total: float


@dataclass(frozen=True)
class Explanation:
    """The worked computation of a small convolution: see :func:`explain`; ``str()`` gives :meth:`to_table`."""

    x: np.ndarray
    kernel: np.ndarray
    applied: np.ndarray
    flip: bool
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    mode: str
    boundary: str
    pads: tuple[tuple[int, int], ...]
    padded: np.ndarray
    output: np.ndarray
    steps: list[Step] = field(repr=False)

    def to_table(self) -> str:
        """A text rendering that reads like a worked textbook example."""
        nd = self.x.ndim
        lines = []
        if self.flip:
            lines.append("Convolution: the kernel IS flipped (reversed along every axis) before it slides, as in "
                         "signal processing, numpy and scipy.")
        else:
            lines.append("Cross-correlation: the kernel is NOT flipped; it slides as written (what CNNs, torch, "
                         "TensorFlow and OpenCV call convolution).")
        if np.array_equal(self.kernel, np.flip(self.kernel)):
            lines.append("(This kernel is symmetric under the flip, so convolution and correlation agree.)")
        shape = _shape(self.x.shape)
        if any(b or e for b, e in self.pads):
            pads = "padding " + " x ".join(f"({b}, {e})" for b, e in self.pads) + f" ({self.boundary})"
        else:
            pads = "no padding"
        lines.append(f"input {shape}, kernel {_shape(self.kernel.shape)}, stride {_tup(self.stride)}, "
                     f"dilation {_tup(self.dilation)}, mode {self.mode!r}, {pads} "
                     f"-> output {_shape(self.output.shape)}")
        idx = ["i", "j"] if nd == 2 else ["i"]
        taps = ["u", "v"] if nd == 2 else ["u"]
        arg = ", ".join((f"{c}*{s}" if s != 1 else c) + " + " + (f"{t}*{d}" if d != 1 else t)
                        for c, t, s, d in zip(idx, taps, self.stride, self.dilation))
        xname = "x_padded" if any(b or e for b, e in self.pads) else "x"
        kname = "flip(k)" if self.flip else "k"
        at, over = ", ".join(idx), ", ".join(taps)
        lines.append(f"out[{at}] = sum over {over} of {xname}[{arg}] * {kname}[{over}]")
        lines.append("")
        blocks = [("input x", self.x)]
        if any(b or e for b, e in self.pads):
            blocks.append((f"padded x ({self.boundary})", self.padded))
        blocks.append(("kernel k", self.kernel))
        if self.flip:
            blocks.append(("flipped kernel (applied)", self.applied))
        lines += _side_by_side(blocks, gap="    ")
        if any(b or e for b, e in self.pads):
            lines.append("(window indices below 0 or past the input's end fall in the padding)")
        for step in self.steps:
            lines.append("")
            where = ", ".join(f"{s}:{s + (k - 1) * d + 1}" + (f":{d}" if d != 1 else "")
                              for s, k, d in zip(step.start, self.applied.shape, self.dilation))
            pos = ", ".join(map(str, step.index))
            lines.append(f"out[{pos}]: window x[{where}]")
            if nd == 1:
                terms = " + ".join(f"{_paren(a)}*{_paren(b)}" for a, b in zip(step.window, self.applied))
                lines.append(f"  {terms} = {_num(step.total)}")
                continue
            lines += ["  " + row for row in _side_by_side(
                [("window", step.window), ("flip(k)" if self.flip else "kernel", self.applied),
                 ("products", step.products)], gap="   ",
                ops=["*", "="])]
            terms = " + ".join(_paren(v) for v in step.products.ravel())
            lines.append(f"  sum = {terms} = {_num(step.total)}")
        lines.append("")
        lines += _side_by_side([("output", self.output)], gap="")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()


def _num(v: Any) -> str:
    v = complex(v) if np.iscomplexobj(v) else float(v)
    if isinstance(v, complex):
        return f"{v:.4g}"
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:.4g}"


def _paren(v: Any) -> str:
    text = _num(v)
    return f"({text})" if text.startswith("-") or "+" in text[1:] else text


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _tup(t: tuple[int, ...]) -> str:
    return str(t[0]) if len(set(t)) == 1 else str(t)


def _grid(a: np.ndarray) -> list[str]:
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    cells = [[_num(v) for v in row] for row in a2]
    width = max(len(c) for row in cells for c in row)
    return [" ".join(c.rjust(width) for c in row) for row in cells]


def _side_by_side(blocks: list[tuple[str, np.ndarray]], gap: str, ops: list[str] | None = None) -> list[str]:
    """Titled grids next to each other (optionally with an operator between them on the middle row)."""
    grids = [[title] + _grid(arr) for title, arr in blocks]
    widths = [max(len(s) for s in g) for g in grids]
    height = max(len(g) for g in grids)
    rows = []
    for r in range(height):
        parts = []
        for i, (g, w) in enumerate(zip(grids, widths)):
            parts.append((g[r] if r < len(g) else "").ljust(w))
            if ops and i < len(ops):
                middle = 1 + (len(grids[i]) - 1) // 2
                parts.append(f" {ops[i]} " if r == middle else "   ")
            elif i < len(grids) - 1:
                parts.append(gap)
        rows.append("".join(parts).rstrip())
    return rows


def explain(x: Any, kernel: Any, *, stride: int | tuple[int, ...] = 1, mode: str = "valid",
            dilation: int | tuple[int, ...] = 1, boundary: str = "zero", cval: float = 0.0, pad: Any = None,
            same_pad: str = "end", flip: bool = False, max_outputs: int = 400) -> Explanation:
    """Compute a small 1-D or 2-D convolution step by step.

    Parameters
    ----------
    x, kernel : array_like
        1-D or 2-D input and a kernel of the same dimension.
    stride, dilation, mode, boundary, cval, pad, same_pad
        As in :func:`freqlens.conv.correlate` (here ``mode`` defaults to ``'valid'``).
    flip : bool
        ``False`` (default): cross-correlation, the kernel slides as written (CNN textbooks, torch);
        ``True``: convolution, the kernel is flipped first (:func:`freqlens.conv.convolve`, signal processing).
    max_outputs : int
        Refuse inputs with more output samples than this (the table would be unreadable).

    Returns
    -------
    Explanation
        ``.steps`` (one :class:`Step` per output, row-major), ``.output`` (equal to
        ``correlate``/``convolve`` with the same options) and ``.to_table()``.

    Notes
    -----
    ``out[i] = sum_j xp[i * stride + j * dilation] * w[j]`` with ``xp`` the padded input and ``w`` the kernel
    (``flip(kernel)`` when ``flip=True``).

    Examples
    --------
    >>> e = explain([[1, 2, 0], [0, 1, 3], [4, 0, 1]], [[1, 0], [0, -1]])
    >>> e.output
    array([[ 0., -1.],
           [ 0.,  0.]])
    >>> e.steps[1].window, e.steps[1].products, e.steps[1].total
    (array([[2., 0.],
           [1., 3.]]), array([[ 2.,  0.],
           [ 0., -3.]]), -1.0)
    """
    xa = np.asarray(as_numpy(x, "x"))
    ka = np.asarray(as_numpy(kernel, "kernel"))
    if xa.ndim not in (1, 2):
        raise ValueError(f"explain shows 1-D or 2-D inputs, got x with {xa.ndim} dimension(s)")
    if max_outputs < 1:
        raise ValueError(f"max_outputs must be >= 1, got {max_outputs!r}")
    plan = make_plan(xa.shape, ka.shape, mode=None if pad is not None else mode, stride=stride,
                      dilation=dilation, pad=pad, same_pad=same_pad, axes=None, boundary=boundary, method="auto")
    if np.prod(plan.out) > max_outputs:
        raise ValueError(f"explain is for small examples: {int(np.prod(plan.out))} outputs exceed "
                         f"max_outputs={max_outputs}")
    dtype = np.result_type(lift_numpy(xa.dtype, "x"), lift_numpy(ka.dtype, "kernel"))
    xf = xa.astype(dtype)
    kf = ka.astype(dtype)
    applied = np.flip(kf) if flip else kf
    if boundary in ("zero", "constant"):
        padded = np.pad(xf, plan.pads, mode="constant", constant_values=cval if boundary == "constant" else 0)
    else:
        padded = np.pad(xf, plan.pads, mode=NUMPY_PAD[boundary])  # type: ignore[call-overload]
    output = np.zeros(plan.out, dtype=dtype)
    steps = []
    for index in np.ndindex(*plan.out):
        origin = tuple(i * s for i, s in zip(index, plan.stride))
        sl = tuple(slice(o, o + (k - 1) * d + 1, d) for o, k, d in zip(origin, applied.shape, plan.dilation))
        window = padded[sl]
        products = window * applied
        total = products.sum()
        output[index] = total
        start = tuple(o - b for o, (b, _) in zip(origin, plan.pads))
        steps.append(Step(index=index, start=start, window=window, products=products, total=total.item()))
    return Explanation(x=xf, kernel=kf, applied=applied, flip=bool(flip), stride=plan.stride,
                       dilation=plan.dilation, mode=mode if pad is None else "pad", boundary=boundary,
                       pads=plan.pads, padded=padded, output=output, steps=steps)
