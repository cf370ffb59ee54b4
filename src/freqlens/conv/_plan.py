"""The plan of a convolution: everything that follows from shapes, dtypes and options, before touching the data.

A :class:`Plan` holds the geometry (convolved axes, kernel shape, stride, dilation, pads, output lengths);
:func:`make_plan` validates the options into one; :func:`estimate_bytes` says what an engine will allocate (for
the memory guard, checked before anything is allocated or scanned); :func:`numpy_engine` and
:func:`torch_engine` pick the engine from a cost model. Private to :mod:`freqlens.conv`.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from freqlens._arrays import is_torch
from freqlens.conv._args import nonneg_int, per_axis
from freqlens.conv.padding import same_pads

Mode = Literal["full", "same", "valid"]
Boundary = Literal["zero", "constant", "reflect", "symmetric", "edge", "wrap"]
Method = Literal["auto", "direct", "fft", "overlap-add"]
SamePad = Literal["end", "start"]

MODES: tuple[str, ...] = ("full", "same", "valid")
BOUNDARIES: tuple[str, ...] = ("zero", "constant", "reflect", "symmetric", "edge", "wrap")
METHODS: tuple[str, ...] = ("auto", "direct", "fft", "overlap-add")
SAME_PADS: tuple[str, ...] = ("end", "start")

#: freqlens boundary -> numpy.pad mode (the table in the docstring of :func:`freqlens.conv.convolve`).
NUMPY_PAD = {"zero": "constant", "constant": "constant", "reflect": "reflect", "symmetric": "symmetric",
             "edge": "edge", "wrap": "wrap"}

# filter2D switches to a tiled DFT at kernel areas of 130 (float32 with SSE3) or 50 (otherwise); a DFT spreads a
# NaN/inf over a whole tile, so 'auto' checks finiteness from that area on.
CV2_DFT_AREA = 50

# Cost model for 'auto' (seconds, fitted on a 2-core x86 machine; only the ratios matter):
#   direct sum (scipy.ndimage)  ~ _COST_DIRECT * outputs * (taps + 8)                              + 20 us
#   one FFT (scipy.signal)      ~ _COST_FFT * N * log2(N), N = product of the padded full lengths  + 100 us
#   overlap-add (1 axis only)   ~ _COST_OA * blocks * L * log2(L), L = the block FFT length       + 300 us
_COST_DIRECT = 0.5e-9
_COST_FFT = 1.5e-9
_COST_OA = 0.8e-9
_COST_TORCH_DIRECT = 1.0e-9  # torch engines (GPU tensors, autograd): conv per multiply-add ...
_COST_TORCH_FFT = 10.0e-9    # ... and torch.fft per N*log2(N); torch's CPU FFT is slow, its conv has overhead


@dataclass(frozen=True)
class Plan:
    """The geometry of one call, validated: see :func:`make_plan`."""

    shape: tuple[int, ...]            # x.shape
    axes: tuple[int, ...]             # x axes, in kernel-axis order
    ksize: tuple[int, ...]            # kernel shape (kernel-axis order)
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]

    @cached_property
    def extent(self) -> tuple[int, ...]:
        """Dilated kernel extents ``(k - 1) * d + 1``."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.ksize, self.dilation))

    @cached_property
    def lengths(self) -> tuple[int, ...]:
        """Input lengths along the convolved axes."""
        return tuple(self.shape[a] for a in self.axes)

    @cached_property
    def full_out(self) -> tuple[int, ...]:
        """Output lengths at stride 1 (what an engine computes before subsampling)."""
        return tuple(n + b + e - K + 1 for n, (b, e), K in zip(self.lengths, self.pads, self.extent))

    @cached_property
    def out(self) -> tuple[int, ...]:
        """Output lengths along the convolved axes."""
        return tuple((f - 1) // s + 1 for f, s in zip(self.full_out, self.stride))

    @cached_property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of the result."""
        shape = list(self.shape)
        for a, o in zip(self.axes, self.out):
            shape[a] = o
        return tuple(shape)

    @cached_property
    def batch(self) -> int:
        """Number of independent slices (product of the axes not convolved)."""
        return math.prod(self.shape) // math.prod(self.lengths)

    @cached_property
    def taps(self) -> int:
        """Number of kernel weights."""
        return math.prod(self.ksize)

    def x_pads(self) -> list[tuple[int, int]]:
        """Pads for every axis of x (zero on the axes not convolved)."""
        pads = [(0, 0)] * len(self.shape)
        for a, p in zip(self.axes, self.pads):
            pads[a] = p
        return pads


def parse_pad(pad: Any, n_axes: int) -> tuple[tuple[int, int], ...]:
    """numpy.pad's convention: ``p`` -> all sides; ``(b, e)`` -> every axis; ``((b0, e0), (b1, e1), ...)``."""
    if isinstance(pad, (list, tuple)):
        if len(pad) > 0 and all(isinstance(p, (list, tuple)) for p in pad):
            if len(pad) != n_axes or any(len(p) != 2 for p in pad):
                raise ValueError(f"pad must be an int, a (before, after) pair, or {n_axes} (before, after) pairs "
                                 f"(one per convolved axis), got {pad!r}")
            return tuple((nonneg_int(b, "pad"), nonneg_int(e, "pad")) for b, e in pad)
        if len(pad) == 2:
            b, e = nonneg_int(pad[0], "pad"), nonneg_int(pad[1], "pad")
            return ((b, e),) * n_axes
        raise ValueError(f"pad must be an int, a (before, after) pair, or {n_axes} (before, after) pairs, "
                         f"got {pad!r}")
    p = nonneg_int(pad, "pad")
    return ((p, p),) * n_axes


def _check_names(mode: str | None, boundary: str, method: str, same_pad: str) -> None:
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {', '.join(map(repr, BOUNDARIES))}, got {boundary!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if same_pad not in SAME_PADS:
        raise ValueError(f"same_pad must be 'end' (TensorFlow/PyTorch) or 'start' (scipy), got {same_pad!r}")
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")


def _check_axes(axes: Any, ndim: int, k_ndim: int) -> tuple[int, ...]:
    if axes is None:
        if k_ndim != ndim:
            raise ValueError(f"kernel has {k_ndim} dimension(s) but x has {ndim}: they must match, or pass "
                             f"axes= with {k_ndim} axes of x to convolve over")
        return tuple(range(ndim))
    axes_l = [axes] if not isinstance(axes, (list, tuple)) else list(axes)
    try:
        axes_t = tuple(operator.index(a) for a in axes_l)
    except TypeError:
        raise ValueError(f"axes must be an int or a sequence of ints, got {axes!r}") from None
    if any(not -ndim <= a < ndim for a in axes_t):
        raise ValueError(f"axes {axes!r} out of range for x with {ndim} dimension(s)")
    axes_t = tuple(a % ndim for a in axes_t)
    if len(set(axes_t)) != len(axes_t):
        raise ValueError(f"axes must not repeat an axis, got {axes!r}")
    if len(axes_t) != k_ndim:
        raise ValueError(f"kernel has {k_ndim} dimension(s) but axes={axes!r} names {len(axes_t)}: "
                         "they must match")
    return axes_t


def make_plan(x_shape: tuple[int, ...], k_shape: tuple[int, ...], *, mode: str | None, stride: Any,
              dilation: Any, pad: Any, same_pad: str, axes: Any, boundary: str, method: str) -> Plan:
    """Validate the options of :func:`freqlens.conv.convolve` against the shapes; raise ValueError naming them."""
    _check_names(mode, boundary, method, same_pad)
    ndim = len(x_shape)
    if ndim == 0:
        raise ValueError("x must have at least one dimension, got a scalar")
    if len(k_shape) == 0:
        raise ValueError("kernel must have at least one dimension, got a scalar")
    axes_t = _check_axes(axes, ndim, len(k_shape))
    if 0 in x_shape:
        raise ValueError(f"x is empty (shape {tuple(x_shape)}); convolution needs at least one sample per axis")
    if 0 in k_shape:
        raise ValueError(f"kernel is empty (shape {tuple(k_shape)})")
    n_axes = len(axes_t)
    strides = per_axis(stride, n_axes, "stride")
    dilations = per_axis(dilation, n_axes, "dilation")
    extents = [(k - 1) * d + 1 for k, d in zip(k_shape, dilations)]
    lengths = [x_shape[a] for a in axes_t]
    if pad is not None:
        if mode not in (None, "valid"):
            raise ValueError(f"pad= gives the padding explicitly and conflicts with mode={mode!r}; "
                             "leave mode unset (or 'valid') when passing pad")
        pads = parse_pad(pad, n_axes)
    elif mode in (None, "full"):
        pads = tuple((K - 1, K - 1) for K in extents)
    elif mode == "valid":
        pads = ((0, 0),) * n_axes
    else:
        extra: Any = same_pad
        pads = tuple(same_pads(n, K, s, extra) for n, K, s in zip(lengths, extents, strides))
    for ax, n, K, (b, e) in zip(axes_t, lengths, extents, pads):
        if n + b + e < K:
            what = f"the input length {n}" if b + e == 0 else f"the padded input length {n} + {b} + {e} = {n + b + e}"
            raise ValueError(f"kernel extent {K} along axis {ax} is larger than {what}: no window fits "
                             f"(mode={mode or 'valid'!r}); use mode='same' or 'full', or pad the input")
    return Plan(shape=tuple(x_shape), axes=axes_t, ksize=tuple(k_shape), stride=strides, dilation=dilations,
                pads=pads)


# ----------------------------------------------------------------------------------------------------------------
# dtypes


def lift_numpy(dtype: np.dtype, name: str) -> np.dtype:
    """The compute dtype of one operand: integers and bool -> float64, float16 -> float32, complex kept."""
    kind = dtype.kind
    if kind in "biu":
        return np.dtype(np.float64)
    if kind == "f":
        return np.dtype(np.float32) if dtype.itemsize <= 4 else np.dtype(np.float64)
    if kind == "c":
        return np.dtype(np.complex64) if dtype.itemsize <= 8 else np.dtype(np.complex128)
    raise ValueError(f"{name} must have a numeric dtype (bool, integer, float or complex), got {dtype}")


def as_numpy(a: Any, name: str) -> np.ndarray:
    """``a`` as a numeric numpy array (torch tensors detached and moved to the CPU); ValueError otherwise."""
    if is_torch(a):
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    lift_numpy(arr.dtype, name)
    return arr


# ----------------------------------------------------------------------------------------------------------------
# memory


def estimate_bytes(plan: Plan, itemsize: int, engine: str, convert: bool, oa_batch: int) -> dict[str, int]:
    """Peak bytes an engine allocates, by buffer (``oa_batch``: samples the overlap-add transforms at once)."""
    batch = plan.batch
    parts = {"output": batch * math.prod(plan.out) * itemsize}
    if convert:
        parts["converted input"] = math.prod(plan.shape) * itemsize
    padded = [n + b + e for n, (b, e) in zip(plan.lengths, plan.pads)]
    parts["padded input"] = batch * math.prod(padded) * itemsize
    if engine in ("fft", "torch-fft"):
        fft_len = [p + K - 1 for p, K in zip(padded, plan.extent)]
        parts["FFT buffers"] = 4 * batch * math.prod(fft_len) * itemsize
    elif engine == "oa":  # the full-length result plus one batch of blocks
        parts["overlap-add buffers"] = batch * math.prod(p + 2 * K for p, K in zip(padded, plan.extent)) * itemsize \
            + 3 * batch * oa_batch * itemsize
    else:  # direct engines compute every stride-1 position of the padded grid before subsampling
        parts["stride-1 result"] = batch * math.prod(max(n, p) for n, p in zip(plan.lengths, padded)) * itemsize
    return parts


# ----------------------------------------------------------------------------------------------------------------
# engine choice


def oa_length(k: int, is_complex: bool) -> int:
    """FFT length of the 1-D overlap-add: 4 to 8 kernel lengths, at least 2^18 samples when that fits."""
    import scipy.fft

    return scipy.fft.next_fast_len(max(4 * k, min(8 * k, 1 << 18)), real=not is_complex)


def _direct_cost(plan: Plan) -> float:
    """Multiply-adds (plus a per-output overhead) of a direct sum over every stride-1 output."""
    padded = [n + b + e for n, (b, e) in zip(plan.lengths, plan.pads)]
    return plan.batch * math.prod(max(n, p) for n, p in zip(plan.lengths, padded)) * (plan.taps + 8)


def _fft_cost(plan: Plan) -> float:
    size = plan.batch * math.prod(n + b + e + K - 1 for n, (b, e), K in zip(plan.lengths, plan.pads, plan.extent))
    return size * math.log2(max(size, 2))


def _oa_cost(plan: Plan) -> float:
    """Like _fft_cost, for the 1-D overlap-add: one FFT of length N per block of N - K + 1 input samples."""
    (n,), ((b, e),), (K,) = plan.lengths, plan.pads, plan.extent
    N = oa_length(K, False)
    blocks = -(-(n + b + e) // (N - K + 1))
    return plan.batch * blocks * N * math.log2(N)


@functools.lru_cache(maxsize=4)
def cv2_dft_area(dtype: np.dtype) -> int:
    """Kernel area from which cv2.filter2D uses its DFT (OpenCV's filter.dispatch.cpp rule, checked on 5.0)."""
    if dtype == np.float32:
        import cv2

        if cv2.checkHardwareSupport(getattr(cv2, "CPU_SSE3", 4)):  # CV_CPU_SSE3 = 4 in cvdef.h
            return 130
    return CV2_DFT_AREA


def numpy_engine(plan: Plan, dtype: np.dtype, method: str) -> str:
    """``'cv2'``, ``'ndimage'``, ``'fft'`` or ``'oa'`` (overlap-add) for numpy data of ``dtype``."""
    cv2_ok = len(plan.axes) == 2 and dtype.kind == "f"
    area = math.prod(plan.extent)
    if method == "fft":
        return "fft"
    if method == "overlap-add":
        return "oa"
    if method == "direct":
        return "cv2" if cv2_ok and area < CV2_DFT_AREA else "ndimage"
    if cv2_ok:
        return "cv2"  # measured fastest at every kernel size on 2-D float images (it picks its own DFT)
    costs = {"ndimage": _direct_cost(plan) * _COST_DIRECT + 20e-6, "fft": _fft_cost(plan) * _COST_FFT + 100e-6}
    if len(plan.axes) == 1:  # scipy's overlap-add over several axes measured slower than one FFT
        costs["oa"] = _oa_cost(plan) * _COST_OA + 300e-6
    return min(costs, key=costs.get)  # type: ignore[arg-type]


def uses_dft(plan: Plan, dtype: np.dtype, engine: str) -> bool:
    """Whether ``engine`` goes through a DFT, which spreads a NaN/inf over many outputs."""
    return engine in ("fft", "oa") or (engine == "cv2" and math.prod(plan.extent) >= cv2_dft_area(dtype))


def torch_engine(plan: Plan, method: str) -> str:
    """``'torch-conv'`` or ``'torch-fft'`` for tensors that stay in torch (GPU, autograd)."""
    if method in ("fft", "overlap-add"):
        return "torch-fft"
    if len(plan.axes) > 3:
        if method == "direct":
            raise ValueError(f"method='direct' on torch tensors supports 1 to 3 convolved axes (torch conv1d/2d/3d), "
                             f"got {len(plan.axes)}; use method='fft' or 'auto'")
        return "torch-fft"
    if method == "direct":
        return "torch-conv"
    return ("torch-conv" if _direct_cost(plan) * _COST_TORCH_DIRECT <= _fft_cost(plan) * _COST_TORCH_FFT
            else "torch-fft")
