"""``convolve`` and ``correlate``: n-D, explicit conventions, numpy or torch, the fastest engine for the case.

Both functions share one definition. With the input extended by ``pad = (before, after)`` samples per axis
(following ``boundary``) into ``xp``, a kernel ``w`` of shape ``k``, ``stride`` ``s`` and ``dilation`` ``d``::

    correlate(x, w)[i] = sum_j xp[i * s + j * d] * w[j]            (no flip, no conjugation)
    convolve(x, w)     = correlate(x, flip(w))                      (the kernel flipped along every axis)

so ``convolve`` is the convolution of signal processing (numpy, scipy.signal, scipy.ndimage) and ``correlate``
is what torch, TensorFlow, OpenCV ``filter2D`` and CNN textbooks call "convolution". Padding is always described
on the input of this sliding window; :mod:`freqlens.conv.padding` holds the arithmetic.

Engines (``method``): OpenCV ``filter2D`` for 2-D float images (it switches to a tiled DFT itself for kernels of
about 12x12 and more), ``scipy.ndimage.correlate`` for other direct sums, ``scipy.signal.fftconvolve`` for one
FFT, and an overlap-add of its own along one axis (``scipy.signal.oaconvolve`` over several). Torch tensors come
back as tensors on their device: a CPU tensor outside autograd is served by those numpy engines through a
zero-copy view; a GPU tensor, or one that requires grad, is computed with ``torch.nn.functional.conv{1,2,3}d`` or
``torch.fft`` (differentiable, never leaves its device).
"""

from __future__ import annotations

import math
import operator
import os
from dataclasses import dataclass
import functools
from functools import cached_property
from typing import Any, Literal

import numpy as np

from freqlens.conv.padding import _positive_int, same_pads
from freqlens._memory import available_memory

Mode = Literal["full", "same", "valid"]
Boundary = Literal["zero", "constant", "reflect", "symmetric", "edge", "wrap"]
Method = Literal["auto", "direct", "fft", "overlap-add"]
SamePad = Literal["end", "start"]

MODES: tuple[str, ...] = ("full", "same", "valid")
BOUNDARIES: tuple[str, ...] = ("zero", "constant", "reflect", "symmetric", "edge", "wrap")
METHODS: tuple[str, ...] = ("auto", "direct", "fft", "overlap-add")
SAME_PADS: tuple[str, ...] = ("end", "start")

# freqlens boundary -> numpy.pad mode / scipy.ndimage mode (see the table in the docstrings).
_NUMPY_PAD = {"zero": "constant", "constant": "constant", "reflect": "reflect", "symmetric": "symmetric",
              "edge": "edge", "wrap": "wrap"}
_NDIMAGE_MODE = {"zero": "constant", "constant": "constant", "reflect": "mirror", "symmetric": "reflect",
                 "edge": "nearest", "wrap": "wrap"}
# OpenCV border codes (cv2.BORDER_*), written as numbers so importing this module does not import cv2.
# filter2D rejects BORDER_WRAP, and its BORDER_CONSTANT is always 0: those cases are padded explicitly.
_CV2_BORDER = {"zero": 0, "reflect": 4, "symmetric": 2, "edge": 1}  # CONSTANT, REFLECT_101, REFLECT, REPLICATE
# filter2D switches to a tiled DFT at kernel areas of 130 (float32 with SSE3) or 50 (otherwise); a DFT spreads a
# NaN/inf over a whole tile, so 'auto' checks finiteness from that area on.
_CV2_DFT_AREA = 50
_CV2_MAX_CHANNELS = 128  # CV_CN_MAX: 512 in OpenCV 4, 128 in OpenCV 5

# Cost model for 'auto' (seconds, fitted on a 2-core x86 machine; only the ratios matter):
#   direct sum (scipy.ndimage)  ~ _COST_DIRECT * outputs * (taps + 8)                        + 20 us
#   one FFT (scipy.signal)      ~ _COST_FFT * N * log2(N), N = product of the padded full lengths  + 100 us
#   overlap-add (1 axis only)   ~ _COST_OA * blocks * L * log2(L), L = the block FFT length      + 300 us
_OA_BATCH_SAMPLES = 1 << 22  # overlap-add transforms about this many samples (32 MB of float64) at a time
_COST_DIRECT = 0.5e-9
_COST_FFT = 1.5e-9
_COST_OA = 0.8e-9
_COST_TORCH_DIRECT = 1.0e-9  # torch engines (GPU tensors, autograd): conv per multiply-add ...
_COST_TORCH_FFT = 10.0e-9    # ... and torch.fft per N*log2(N); torch's CPU FFT is slow, its conv has overhead


# ----------------------------------------------------------------------------------------------------------------
# The plan: everything that follows from shapes and options alone (validated before touching the data).


@dataclass(frozen=True)
class _Plan:
    shape: tuple[int, ...]            # x.shape
    axes: tuple[int, ...]             # x axes, in kernel-axis order
    ksize: tuple[int, ...]            # kernel shape (kernel-axis order)
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]

    @cached_property
    def extent(self) -> tuple[int, ...]:
        return tuple((k - 1) * d + 1 for k, d in zip(self.ksize, self.dilation))

    @cached_property
    def lengths(self) -> tuple[int, ...]:
        return tuple(self.shape[a] for a in self.axes)

    @cached_property
    def full_out(self) -> tuple[int, ...]:
        """Output lengths at stride 1 (what an engine computes before subsampling)."""
        return tuple(n + b + e - K + 1 for n, (b, e), K in zip(self.lengths, self.pads, self.extent))

    @cached_property
    def out(self) -> tuple[int, ...]:
        return tuple((f - 1) // s + 1 for f, s in zip(self.full_out, self.stride))

    @cached_property
    def out_shape(self) -> tuple[int, ...]:
        shape = list(self.shape)
        for a, o in zip(self.axes, self.out):
            shape[a] = o
        return tuple(shape)

    @cached_property
    def batch(self) -> int:
        return math.prod(self.shape) // math.prod(self.lengths)

    @cached_property
    def taps(self) -> int:
        return math.prod(self.ksize)

    def x_pads(self) -> list[tuple[int, int]]:
        """Pads for every axis of x (zero on the axes not convolved)."""
        pads = [(0, 0)] * len(self.shape)
        for a, p in zip(self.axes, self.pads):
            pads[a] = p
        return pads


def _per_axis(value: Any, n_axes: int, name: str) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        if len(value) != n_axes:
            raise ValueError(f"{name} must be an int or a sequence of {n_axes} ints (one per convolved axis), "
                             f"got {value!r}")
        return tuple(_positive_int(v, name) for v in value)
    return (_positive_int(value, name),) * n_axes


def _nonneg_int(value: Any, name: str) -> int:
    try:
        out = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must contain non-negative integers, got {value!r}") from None
    if out < 0 or isinstance(value, bool):
        raise ValueError(f"{name} must contain non-negative integers, got {value!r}")
    return out


def _parse_pad(pad: Any, n_axes: int) -> tuple[tuple[int, int], ...]:
    """numpy.pad's convention: ``p`` -> all sides; ``(b, e)`` -> every axis; ``((b0, e0), (b1, e1), ...)``."""
    if isinstance(pad, (list, tuple)):
        if len(pad) > 0 and all(isinstance(p, (list, tuple)) for p in pad):
            if len(pad) != n_axes or any(len(p) != 2 for p in pad):
                raise ValueError(f"pad must be an int, a (before, after) pair, or {n_axes} (before, after) pairs "
                                 f"(one per convolved axis), got {pad!r}")
            return tuple((_nonneg_int(b, "pad"), _nonneg_int(e, "pad")) for b, e in pad)
        if len(pad) == 2:
            b, e = _nonneg_int(pad[0], "pad"), _nonneg_int(pad[1], "pad")
            return ((b, e),) * n_axes
        raise ValueError(f"pad must be an int, a (before, after) pair, or {n_axes} (before, after) pairs, "
                         f"got {pad!r}")
    p = _nonneg_int(pad, "pad")
    return ((p, p),) * n_axes


def _make_plan(x_shape: tuple[int, ...], k_shape: tuple[int, ...], *, mode: str | None, stride: Any,
               dilation: Any, pad: Any, same_pad: str, axes: Any, boundary: str, method: str) -> _Plan:
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {', '.join(map(repr, BOUNDARIES))}, got {boundary!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if same_pad not in SAME_PADS:
        raise ValueError(f"same_pad must be 'end' (TensorFlow/PyTorch) or 'start' (scipy), got {same_pad!r}")
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    ndim = len(x_shape)
    if ndim == 0:
        raise ValueError("x must have at least one dimension, got a scalar")
    if len(k_shape) == 0:
        raise ValueError("kernel must have at least one dimension, got a scalar")
    if axes is None:
        if len(k_shape) != ndim:
            raise ValueError(f"kernel has {len(k_shape)} dimension(s) but x has {ndim}: they must match, or pass "
                             f"axes= with {len(k_shape)} axes of x to convolve over")
        axes_t = tuple(range(ndim))
    else:
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
        if len(axes_t) != len(k_shape):
            raise ValueError(f"kernel has {len(k_shape)} dimension(s) but axes={axes!r} names {len(axes_t)}: "
                             "they must match")
    if 0 in x_shape:
        raise ValueError(f"x is empty (shape {tuple(x_shape)}); convolution needs at least one sample per axis")
    if 0 in k_shape:
        raise ValueError(f"kernel is empty (shape {tuple(k_shape)})")
    n_axes = len(axes_t)
    strides = _per_axis(stride, n_axes, "stride")
    dilations = _per_axis(dilation, n_axes, "dilation")
    extents = [(k - 1) * d + 1 for k, d in zip(k_shape, dilations)]
    lengths = [x_shape[a] for a in axes_t]
    if pad is not None:
        if mode not in (None, "valid"):
            raise ValueError(f"pad= gives the padding explicitly and conflicts with mode={mode!r}; "
                             "leave mode unset (or 'valid') when passing pad")
        pads = _parse_pad(pad, n_axes)
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
    return _Plan(shape=tuple(x_shape), axes=axes_t, ksize=tuple(k_shape), stride=strides, dilation=dilations,
                 pads=pads)


# ----------------------------------------------------------------------------------------------------------------
# Memory: estimate before allocating, refuse what the machine cannot hold.


def _estimate_bytes(plan: _Plan, itemsize: int, engine: str, convert: bool) -> dict[str, int]:
    """Peak bytes an engine allocates, by buffer."""
    batch = plan.batch
    parts = {"output": batch * math.prod(plan.out) * itemsize}
    if convert:
        parts["converted input"] = math.prod(plan.shape) * itemsize
    padded = [n + b + e for n, (b, e) in zip(plan.lengths, plan.pads)]
    parts["padded input"] = batch * math.prod(padded) * itemsize
    if engine in ("fft", "torch-fft"):
        fft_len = [p + K - 1 for p, K in zip(padded, plan.extent)]
        parts["FFT buffers"] = 4 * batch * math.prod(fft_len) * itemsize
    elif engine == "oa":  # the full-length result plus one batch of blocks (about 32 M samples, see _overlap_add)
        parts["overlap-add buffers"] = batch * math.prod(p + 2 * K for p, K in zip(padded, plan.extent)) * itemsize \
            + 3 * batch * _OA_BATCH_SAMPLES * itemsize
    else:  # direct engines compute every stride-1 position of the padded grid before subsampling
        parts["stride-1 result"] = batch * math.prod(max(n, p) for n, p in zip(plan.lengths, padded)) * itemsize
    return parts


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def refuse_if_too_big(parts: dict[str, int], op: str, device: Any = None) -> None:
    """Raise ValueError when the buffers in ``parts`` (bytes) exceed the memory available (RAM or the GPU's)."""
    need = sum(parts.values())
    if need < (256 << 20):  # small requests: skip the system call
        return
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        import torch

        avail, where = int(torch.cuda.mem_get_info(device)[0]), f"on {device}"
    else:
        avail, where = available_memory(), "in RAM"
    if need > avail:
        detail = ", ".join(f"{name} {_gib(v)}" for name, v in parts.items() if v >= (1 << 20))
        raise ValueError(f"{op} would need about {_gib(need)} ({detail}) but only {_gib(avail)} is available "
                         f"{where}; use a smaller input or kernel, mode='valid', or a larger stride")


# ----------------------------------------------------------------------------------------------------------------
# numpy engines. Each takes x (already in the compute dtype), the correlation kernel (not dilated) and the plan,
# and returns the output; none of them flips: convolve flips before calling them.


def _dilate(k: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    if all(d == 1 for d in dilation):
        return k
    out = np.zeros(tuple((n - 1) * d + 1 for n, d in zip(k.shape, dilation)), dtype=k.dtype)
    out[tuple(slice(None, None, d) for d in dilation)] = k
    return out


def _expand(k: Any, axes: tuple[int, ...], ndim: int) -> Any:
    """Kernel (axes in kernel order) as an ``ndim`` array: its axes at ``axes`` (sorted), size 1 elsewhere."""
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    kt = k.transpose(order) if isinstance(k, np.ndarray) else k.permute(*order)
    shape = [1] * ndim
    for i, a in enumerate(sorted(axes)):
        shape[a] = kt.shape[i]
    return kt.reshape(shape)


def _crop(y: Any, plan: _Plan, starts: tuple[int, ...] | None = None) -> Any:
    """Keep ``full_out`` samples from ``starts`` (default 0) with step ``stride`` on the convolved axes."""
    index: list[slice] = [slice(None)] * y.ndim
    changed = False
    for i, (a, f, s) in enumerate(zip(plan.axes, plan.full_out, plan.stride)):
        start = 0 if starts is None else starts[i]
        if start != 0 or f != y.shape[a] or s != 1:
            index[a] = slice(start, start + f, s)
            changed = True
    return y[tuple(index)] if changed else y


def _np_pad(x: np.ndarray, plan: _Plan, boundary: str, cval: float) -> np.ndarray:
    pads = plan.x_pads()
    if all(p == (0, 0) for p in pads):
        return x
    if boundary in ("zero", "constant"):
        return np.pad(x, pads, mode="constant", constant_values=cval if boundary == "constant" else 0)
    return np.pad(x, pads, mode=_NUMPY_PAD[boundary])  # type: ignore[call-overload]


def _run_cv2(x: np.ndarray, kc: np.ndarray, plan: _Plan, boundary: str, cval: float) -> np.ndarray:
    """OpenCV filter2D (a correlation) over 2 axes; the other axes become channels."""
    import cv2

    kd = np.ascontiguousarray(_dilate(kc, plan.dilation))
    a0, a1 = plan.axes
    xm = np.moveaxis(x, (a0, a1), (0, 1)) if (a0, a1) != (0, 1) else x
    h, w = xm.shape[:2]
    rest = xm.shape[2:]
    src = np.ascontiguousarray(xm.reshape(h, w, -1) if rest else xm)
    (b0, e0), (b1, e1) = plan.pads
    K0, K1 = plan.extent
    border = _CV2_BORDER.get(boundary if not (boundary == "constant" and cval == 0) else "zero")
    # Implicit border: filter2D extends the image by the anchor before and K-1-anchor after, so any pads with
    # b + e <= K - 1 are a crop of its same-size output. Reflecting borders also need K <= n to agree with numpy.
    implicit = (border is not None and b0 + e0 <= K0 - 1 and b1 + e1 <= K1 - 1
                and (border == 0 or (K0 <= h and K1 <= w)))
    if implicit:
        anchor = (b1, b0)
    else:
        pads = [(b0, e0), (b1, e1)] + [(0, 0)] * (src.ndim - 2)
        if boundary in ("zero", "constant"):
            src = np.pad(src, pads, mode="constant", constant_values=cval if boundary == "constant" else 0)
        else:
            src = np.pad(src, pads, mode=_NUMPY_PAD[boundary])  # type: ignore[call-overload]
        border, anchor = 0, (0, 0)
    channels = 1 if src.ndim == 2 else src.shape[2]
    if channels <= _CV2_MAX_CHANNELS:
        dst = cv2.filter2D(src, -1, kd, anchor=anchor, borderType=border)
    else:
        step = _CV2_MAX_CHANNELS
        dst = np.concatenate([cv2.filter2D(np.ascontiguousarray(src[..., i:i + step]), -1, kd, anchor=anchor,
                                           borderType=border).reshape(*src.shape[:2], -1)
                              for i in range(0, channels, step)], axis=2)
    dst = dst.reshape(dst.shape[0], dst.shape[1], *rest)
    index = (slice(0, plan.full_out[0], plan.stride[0]), slice(0, plan.full_out[1], plan.stride[1]))
    if dst.shape[0] != plan.full_out[0] or dst.shape[1] != plan.full_out[1] or plan.stride != (1, 1):
        dst = dst[index]
    return np.moveaxis(dst, (0, 1), (a0, a1)) if (a0, a1) != (0, 1) else dst


def _run_ndimage(x: np.ndarray, kc: np.ndarray, plan: _Plan, boundary: str, cval: float) -> np.ndarray:
    """scipy.ndimage.correlate: a direct sum in any dimension, all boundaries."""
    import scipy.ndimage

    kd = _expand(_dilate(kc, plan.dilation), plan.axes, x.ndim)
    if np.iscomplexobj(kd):
        kd = np.conj(kd)  # ndimage.correlate conjugates complex weights; freqlens does not
    # ndimage skips weights with |w| <= DBL_EPSILON (a kernel of 1e-20s would give zeros): scale the kernel by a
    # power of two, which is exact, and scale the result back.
    peak = float(np.max(np.abs(kd)))
    exponent = int(np.frexp(peak)[1]) if peak > 0 and math.isfinite(peak) else 0
    if exponent:
        kd = np.ldexp(kd.real, -exponent) + (1j * np.ldexp(kd.imag, -exponent) if np.iscomplexobj(kd) else 0)
    implicit = all(b + e <= K - 1 and (boundary in ("zero", "constant") or K <= n)
                   for n, (b, e), K in zip(plan.lengths, plan.pads, plan.extent))
    origins = [0] * x.ndim
    if implicit:
        # ndimage's window for output i starts at i - K // 2 - origin; we want it to start at i - before.
        for a, (b, _), K in zip(plan.axes, plan.pads, plan.extent):
            origins[a] = b - K // 2
        src, mode = x, _NDIMAGE_MODE[boundary]
    else:
        src, mode = _np_pad(x, plan, boundary, cval), "constant"
        for a, K in zip(plan.axes, plan.extent):
            origins[a] = -(K // 2)
    y = scipy.ndimage.correlate(src, kd, mode=mode, cval=cval if boundary == "constant" else 0.0,
                                origin=origins, output=x.dtype)
    if exponent:
        y = np.ldexp(y, exponent) if not np.iscomplexobj(y) else y * (2.0 ** exponent)
    return _crop(y, plan)


def _fft_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _oa_length(k: int, is_complex: bool) -> int:
    """FFT length of the 1-D overlap-add: 4 to 8 kernel lengths, at least 2^18 samples when that fits."""
    import scipy.fft

    return scipy.fft.next_fast_len(max(4 * k, min(8 * k, 1 << 18)), real=not is_complex)


def _overlap_add(a: np.ndarray, kernel: np.ndarray, mode: str, axes: list[int]) -> np.ndarray:
    """Linear convolution of every 1-D slice of ``a`` along ``axes[0]`` with a 1-D kernel, by overlap-add.

    Written here because scipy.signal.oaconvolve picks FFT blocks of about 16 kernel lengths, which fall out of
    the cache for long kernels (2.4 M-point FFTs for a 3 s impulse response at 48 kHz); blocks of 4 to 8 kernel
    lengths, transformed a batch at a time on every core, measured 2.6x faster on 10 minutes of 48 kHz audio,
    and the batches bound the extra memory. ``mode`` is 'full' or 'valid' as in fftconvolve.
    """
    import scipy.fft

    axis = axes[0]
    k = kernel.reshape(-1)
    K = k.size
    am = np.moveaxis(a, axis, -1)
    lead, n = am.shape[:-1], am.shape[-1]
    am = am.reshape(-1, n)
    rows = am.shape[0]
    is_complex = np.iscomplexobj(am) or np.iscomplexobj(k)
    fwd, inv = (scipy.fft.fft, scipy.fft.ifft) if is_complex else (scipy.fft.rfft, scipy.fft.irfft)
    N = _oa_length(K, is_complex)
    B = N - K + 1                       # new input samples per block
    n_blocks, spill = -(-n // B), -(-N // B)
    out = np.zeros((rows, (n_blocks + spill) * B), dtype=np.result_type(am, k))
    spectrum = fwd(k, N)
    per_batch = max(1, _OA_BATCH_SAMPLES // N)  # blocks transformed together
    for b0 in range(0, n_blocks, per_batch):
        nb = min(n_blocks, b0 + per_batch) - b0
        seg = am[:, b0 * B:(b0 + nb) * B]
        if seg.shape[1] < nb * B:
            seg = np.concatenate([seg, np.zeros((rows, nb * B - seg.shape[1]), dtype=seg.dtype)], axis=1)
        y = fwd(seg.reshape(rows, nb, B), N, axis=-1)
        y *= spectrum
        y = inv(y, N, axis=-1)
        for j in range(spill):  # block i's samples [jB, (j+1)B) land on output block i + j
            part = y[:, :, j * B:(j + 1) * B]
            dst = out[:, (b0 + j) * B:(b0 + j + nb) * B].reshape(rows, nb, B)
            dst[:, :, :part.shape[-1]] += part
    full = out[:, :n + K - 1]
    res = full if mode == "full" else full[:, K - 1:n]
    return np.moveaxis(res.reshape(*lead, res.shape[-1]), -1, axis)


def _run_fft(x: np.ndarray, kc: np.ndarray, plan: _Plan, boundary: str, cval: float,
             overlap_add: bool = False) -> np.ndarray:
    """FFT (scipy.signal.fftconvolve) or overlap-add of the (padded) input with the flipped correlation kernel."""
    import scipy.fft
    import scipy.signal

    kd = _expand(_dilate(kc, plan.dilation), plan.axes, x.ndim)
    kflip = np.flip(kd, axis=plan.axes)  # the engines convolve; correlation = convolution with the flip
    if overlap_add:
        fn = _overlap_add if len(plan.axes) == 1 else scipy.signal.oaconvolve
    else:
        fn = scipy.signal.fftconvolve
    axes = sorted(plan.axes)
    with scipy.fft.set_workers(_fft_workers()):
        if boundary == "zero" and all(b <= K - 1 and e <= K - 1 for (b, e), K in zip(plan.pads, plan.extent)):
            # The full linear correlation holds every zero-padded window; window start -b sits at index K-1-b.
            y = fn(x, kflip, mode="full", axes=axes)
            starts = tuple(K - 1 - b for (b, _), K in zip(plan.pads, plan.extent))
            y = _crop(y, plan, starts)
        else:
            y = _crop(fn(_np_pad(x, plan, boundary, cval), kflip, mode="valid", axes=axes), plan)
    return y.astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------------------------------------------
# torch engines.


def _is_torch(a: Any) -> bool:
    return type(a).__module__.startswith("torch") and hasattr(a, "detach")


def _torch_trailing(x: Any, plan: _Plan) -> tuple[Any, tuple[int, ...]]:
    """x with the convolved axes moved last (kernel order) and the rest flattened: shape (B, *lengths)."""
    nd = len(plan.axes)
    trailing = tuple(range(x.ndim - nd, x.ndim))
    xm = x.movedim(plan.axes, trailing)
    rest = tuple(xm.shape[: x.ndim - nd])
    return xm.reshape(-1, *plan.lengths), rest


def _torch_untrail(y: Any, rest: tuple[int, ...], plan: _Plan) -> Any:
    nd = len(plan.axes)
    y = y.reshape(*rest, *y.shape[-nd:])
    return y.movedim(tuple(range(y.ndim - nd, y.ndim)), plan.axes)


def _torch_pad(xm: Any, plan: _Plan, boundary: str, cval: float) -> Any:
    """Pad the trailing axes of ``xm`` with numpy.pad's semantics (index gathering for the mirrors and wrap)."""
    import torch
    import torch.nn.functional as F

    nd = len(plan.axes)
    if all(p == (0, 0) for p in plan.pads):
        return xm
    if boundary in ("zero", "constant"):
        flat: list[int] = []
        for b, e in reversed(plan.pads):
            flat += [b, e]
        return F.pad(xm, flat, mode="constant", value=cval if boundary == "constant" else 0.0)
    # torch's 'reflect'/'circular' refuse pads larger than the input and it has no 'symmetric': gather with the
    # indices numpy.pad would use, which is exact for every size and works on every device.
    for i, (n, (b, e)) in enumerate(zip(plan.lengths, plan.pads)):
        if b or e:
            idx = np.pad(np.arange(n), (b, e), mode=_NUMPY_PAD[boundary])  # type: ignore[call-overload]
            xm = xm.index_select(xm.ndim - nd + i, torch.as_tensor(idx, device=xm.device))
    return xm


def _run_torch_conv(x: Any, kc: Any, plan: _Plan, boundary: str, cval: float) -> Any:
    import torch.nn.functional as F

    xm, rest = _torch_trailing(x, plan)
    xp = _torch_pad(xm.unsqueeze(1), plan, boundary, cval)
    conv = (F.conv1d, F.conv2d, F.conv3d)[len(plan.axes) - 1]
    y = conv(xp, kc.reshape(1, 1, *plan.ksize), stride=plan.stride, dilation=plan.dilation)
    return _torch_untrail(y[:, 0], rest, plan)


def _run_torch_fft(x: Any, kc: Any, plan: _Plan, boundary: str, cval: float) -> Any:
    # Written here because torch has no fftconvolve; this keeps GPU tensors on their device and differentiable.
    import scipy.fft
    import torch

    xm, rest = _torch_trailing(x, plan)
    xp = _torch_pad(xm, plan, boundary, cval)
    nd = len(plan.axes)
    dims = tuple(range(xp.ndim - nd, xp.ndim))
    kd = kc
    if any(d != 1 for d in plan.dilation):
        kd = torch.zeros(plan.extent, dtype=kc.dtype, device=kc.device)
        kd[tuple(slice(None, None, d) for d in plan.dilation)] = kc
    kflip = kd.flip(tuple(range(nd)))
    # A circular convolution of length L >= padded length holds the whole valid part (the wrap-around only
    # pollutes the first K - 1 samples), so no extra zero padding is needed.
    sizes = [scipy.fft.next_fast_len(int(n), real=not xp.is_complex()) for n in xp.shape[-nd:]]
    if xp.is_complex():
        y = torch.fft.ifftn(torch.fft.fftn(xp, s=sizes, dim=dims) * torch.fft.fftn(kflip, s=sizes), s=sizes, dim=dims)
    else:
        y = torch.fft.irfftn(torch.fft.rfftn(xp, s=sizes, dim=dims) * torch.fft.rfftn(kflip, s=sizes),
                             s=sizes, dim=dims)
    index = (slice(None),) + tuple(slice(K - 1, K - 1 + f, s)
                                   for K, f, s in zip(plan.extent, plan.full_out, plan.stride))
    return _torch_untrail(y[index], rest, plan)


# ----------------------------------------------------------------------------------------------------------------
# dtypes and dispatch.


def _lift_numpy(dtype: np.dtype, name: str) -> np.dtype:
    kind = dtype.kind
    if kind in "biu":
        return np.dtype(np.float64)
    if kind == "f":
        return np.dtype(np.float32) if dtype.itemsize <= 4 else np.dtype(np.float64)
    if kind == "c":
        return np.dtype(np.complex64) if dtype.itemsize <= 8 else np.dtype(np.complex128)
    raise ValueError(f"{name} must have a numeric dtype (bool, integer, float or complex), got {dtype}")


def _as_numpy(a: Any, name: str) -> np.ndarray:
    if _is_torch(a):
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    _lift_numpy(arr.dtype, name)
    return arr


def _finite(a: np.ndarray) -> bool:
    if a.dtype.kind not in "fc":
        return True
    # np.dot is a multithreaded BLAS pass; any NaN/inf (or overflow of the squares) makes the sum non-finite.
    if a.dtype.kind == "f" and a.flags.c_contiguous:
        v = a.reshape(-1)
        return bool(np.isfinite(np.dot(v, v)))
    return bool(np.isfinite(a).all())


def _direct_cost(plan: _Plan) -> float:
    """Multiply-adds (plus a per-output overhead) of a direct sum over every stride-1 output."""
    padded = [n + b + e for n, (b, e) in zip(plan.lengths, plan.pads)]
    return plan.batch * math.prod(max(n, p) for n, p in zip(plan.lengths, padded)) * (plan.taps + 8)


def _fft_cost(plan: _Plan) -> float:
    size = plan.batch * math.prod(n + b + e + K - 1 for n, (b, e), K in zip(plan.lengths, plan.pads, plan.extent))
    return size * math.log2(max(size, 2))


def _oa_cost(plan: _Plan) -> float:
    """Like _fft_cost, for the 1-D overlap-add: one FFT of length N per block of N - K + 1 input samples."""
    (n,), ((b, e),), (K,) = plan.lengths, plan.pads, plan.extent
    N = _oa_length(K, False)
    blocks = -(-(n + b + e) // (N - K + 1))
    return plan.batch * blocks * N * math.log2(N)


@functools.lru_cache(maxsize=4)
def _cv2_dft_area(dtype: np.dtype) -> int:
    """Kernel area from which cv2.filter2D uses its DFT (OpenCV's filter.dispatch.cpp rule, checked on 5.0)."""
    if dtype == np.float32:
        import cv2

        if cv2.checkHardwareSupport(getattr(cv2, "CPU_SSE3", 4)):  # CV_CPU_SSE3 = 4 in cvdef.h
            return 130
    return _CV2_DFT_AREA


def _numpy_engine(plan: _Plan, dtype: np.dtype, method: str) -> str:
    cv2_ok = len(plan.axes) == 2 and dtype.kind == "f"
    area = math.prod(plan.extent)
    if method == "fft":
        return "fft"
    if method == "overlap-add":
        return "oa"
    if method == "direct":
        return "cv2" if cv2_ok and area < _CV2_DFT_AREA else "ndimage"
    if cv2_ok:
        return "cv2"  # measured fastest at every kernel size on 2-D float images (it picks its own DFT)
    costs = {"ndimage": _direct_cost(plan) * _COST_DIRECT + 20e-6, "fft": _fft_cost(plan) * _COST_FFT + 100e-6}
    if len(plan.axes) == 1:  # scipy's overlap-add over several axes measured slower than one FFT
        costs["oa"] = _oa_cost(plan) * _COST_OA + 300e-6
    return min(costs, key=costs.get)  # type: ignore[arg-type]


def _torch_engine(plan: _Plan, method: str) -> str:
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


def _numpy_can_serve(x: Any, kernel: Any) -> bool:
    import torch

    if x.device.type != "cpu" or x.dtype == torch.bfloat16 or torch.is_grad_enabled() and x.requires_grad:
        return False
    if _is_torch(kernel):
        return kernel.dtype != torch.bfloat16 and not (torch.is_grad_enabled() and kernel.requires_grad)
    return True


def _apply(x: Any, kernel: Any, *, flip: bool, op: str, mode: str | None, boundary: str, cval: float,
           stride: Any, dilation: Any, pad: Any, same_pad: str, axes: Any, method: str) -> Any:
    if not isinstance(cval, (int, float, complex, np.number)) or isinstance(cval, bool):
        raise ValueError(f"cval must be a number, got {cval!r}")
    if _is_torch(x):
        if _numpy_can_serve(x, kernel):
            # A CPU tensor outside autograd is a zero-copy numpy array: use the (much faster) numpy engines.
            import torch

            kn = kernel.detach().resolve_conj().resolve_neg().cpu().numpy() if _is_torch(kernel) else kernel
            xn = x.detach().resolve_conj().resolve_neg().numpy()
            y = _apply(xn, kn, flip=flip, op=op, mode=mode, boundary=boundary, cval=cval, stride=stride,
                       dilation=dilation, pad=pad, same_pad=same_pad, axes=axes, method=method)
            return torch.from_numpy(np.ascontiguousarray(y) if any(st < 0 for st in y.strides) else y)
        return _apply_torch(x, kernel, flip=flip, op=op, mode=mode, boundary=boundary, cval=cval, stride=stride,
                            dilation=dilation, pad=pad, same_pad=same_pad, axes=axes, method=method)
    xa = _as_numpy(x, "x")
    ka = _as_numpy(kernel, "kernel")
    plan = _make_plan(xa.shape, ka.shape, mode=mode, stride=stride, dilation=dilation, pad=pad, same_pad=same_pad,
                      axes=axes, boundary=boundary, method=method)
    dtype = np.result_type(_lift_numpy(xa.dtype, "x"), _lift_numpy(ka.dtype, "kernel"))
    engine = _numpy_engine(plan, dtype, method)
    uses_dft = engine in ("fft", "oa") or (engine == "cv2" and math.prod(plan.extent) >= _cv2_dft_area(dtype))
    if method == "auto" and uses_dft:
        # FFTs spread a NaN/inf over every output (OpenCV's DFT over a tile); a direct sum keeps it local.
        if not (_finite(xa) and _finite(ka)):
            engine = "ndimage"
    refuse_if_too_big(_estimate_bytes(plan, dtype.itemsize, engine, xa.dtype != dtype), op)
    xc = xa.astype(dtype, copy=False)
    kc = ka.astype(dtype, copy=False)
    if flip:
        kc = np.flip(kc)
    if engine == "cv2":
        return _run_cv2(xc, kc, plan, boundary, cval)
    if engine == "ndimage":
        return _run_ndimage(xc, kc, plan, boundary, cval)
    return _run_fft(xc, kc, plan, boundary, cval, overlap_add=engine == "oa")


def _apply_torch(x: Any, kernel: Any, *, flip: bool, op: str, mode: str | None, boundary: str, cval: float,
                 stride: Any, dilation: Any, pad: Any, same_pad: str, axes: Any, method: str) -> Any:
    import torch

    if _is_torch(kernel):
        k = kernel
    else:
        k = torch.as_tensor(_as_numpy(kernel, "kernel"))

    def lift(t: Any) -> Any:  # the compute dtype of one operand
        if t.is_complex():
            return t.dtype
        if t.is_floating_point():
            return torch.float32 if t.dtype in (torch.float16, torch.bfloat16) else t.dtype
        return torch.float64  # bool and integers

    plan = _make_plan(tuple(x.shape), tuple(k.shape), mode=mode, stride=stride, dilation=dilation, pad=pad,
                      same_pad=same_pad, axes=axes, boundary=boundary, method=method)
    dtype = torch.promote_types(lift(x), lift(k))
    engine = _torch_engine(plan, method)
    if method == "auto" and engine == "torch-fft" and len(plan.axes) <= 3:
        if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(k).all())):
            engine = "torch-conv"
    itemsize = torch.empty((), dtype=dtype).element_size()
    refuse_if_too_big(_estimate_bytes(plan, itemsize, engine, x.dtype != dtype), op, device=x.device)
    xc = x.to(dtype)
    kc = k.to(device=x.device, dtype=dtype)
    if flip:
        kc = kc.flip(tuple(range(kc.ndim)))
    if engine == "torch-conv":
        return _run_torch_conv(xc, kc, plan, boundary, cval)
    return _run_torch_fft(xc, kc, plan, boundary, cval)


# ----------------------------------------------------------------------------------------------------------------
# Public API.

_DOC = """{summary}

    Parameters
    ----------
    x : array_like or torch.Tensor
        Input, any number of dimensions. numpy in -> numpy out; a torch tensor gives a torch tensor on the same
        device (GPU tensors and tensors requiring grad are computed with torch and stay differentiable; other CPU
        tensors use the numpy engines through a zero-copy view).
    kernel : array_like or torch.Tensor
        Weights, one dimension per convolved axis (``kernel.ndim == x.ndim`` unless ``axes`` is given).
    mode : {{'full', 'same', 'valid'}}, optional
        Output size. ``'full'`` (default): every overlap, ``n + K - 1`` at stride 1; ``'same'``:
        ``ceil(n / stride)`` (``n`` at stride 1); ``'valid'``: only windows inside the input, ``n - K + 1``.
        ``K = (k - 1) * dilation + 1`` is the dilated kernel extent. Leave unset when passing ``pad``.
    boundary : {{'zero', 'constant', 'reflect', 'symmetric', 'edge', 'wrap'}}
        How the input is extended beyond its edges (see Notes for the names in other libraries).
    cval : float
        Fill value for ``boundary='constant'``.
    stride : int or tuple of int
        Step between output samples, per convolved axis (>= 1).
    dilation : int or tuple of int
        Spacing between kernel taps, per convolved axis (>= 1), as in torch/TensorFlow.
    pad : int, (before, after) or sequence of (before, after), optional
        Explicit padding, in ``numpy.pad``'s convention (one int for all sides, one pair for every axis, or one
        pair per convolved axis); the output is then the valid part of the padded input. Overrides ``mode``.
    same_pad : {{'end', 'start'}}
        Where the odd sample of an odd total 'same' padding goes (even kernels; strided 'same'). ``'end'``
        (default) is TensorFlow SAME / PyTorch ``padding='same'`` / equinox ``'SAME'``; ``'start'`` is
        ``scipy.signal.{op}(..., 'same')`` at stride 1 (equinox ``'SAME_LOWER'``). Odd kernels at stride 1
        pad ``(K - 1) / 2`` on both sides either way.
    axes : int or sequence of int, optional
        Axes of ``x`` to convolve over, in the order of the kernel's axes; the kernel is applied to every slice
        along the other axes (e.g. ``axes=(0, 1)`` filters each channel of an ``(H, W, C)`` image).
    method : {{'auto', 'direct', 'fft', 'overlap-add'}}
        Engine. ``'auto'`` picks the fastest (OpenCV ``filter2D`` for 2-D float images; otherwise a cost model
        between ``scipy.ndimage`` direct sums, ``scipy.signal.fftconvolve`` and, along one axis, a batched
        overlap-add with cache-sized blocks; torch ``conv`` or ``torch.fft`` for GPU/autograd tensors, where
        ``'overlap-add'`` means one FFT). All engines agree to rounding.

    Returns
    -------
    ndarray or torch.Tensor
        Shape of ``x`` with each convolved axis replaced by its output length. Floating inputs keep their
        precision (float16 is computed in float32); integer and bool inputs give float64; complex stays complex;
        mixed inputs follow numpy's promotion (float32 with a float64 kernel gives float64).

    Raises
    ------
    ValueError
        Naming the argument: non-positive ``stride``/``dilation``, kernel and ``x`` dimensions that do not match,
        empty or non-numeric arrays, unknown ``mode``/``boundary``/``method``, a kernel larger than the (padded)
        input in ``'valid'`` mode (an error, not an empty result: no window fits), or a request that would need
        more memory than is available (checked before allocating).

    Notes
    -----
    With ``xp`` the input extended by ``(before, after)`` per axis::

        correlate(x, w)[i] = sum_j xp[i * stride + j * dilation] * w[j]
        convolve(x, w)     = correlate(x, flip(w))      (flip along every kernel axis)

    ``correlate`` neither flips nor conjugates (torch/TensorFlow/OpenCV ``filter2D`` semantics); numpy,
    ``scipy.signal`` and ``scipy.ndimage`` ``correlate`` conjugate a complex second argument: pass
    ``kernel.conj()`` to match them. Padding is ``pad`` if given, else ``full``: ``(K - 1, K - 1)``,
    ``valid``: ``(0, 0)``, ``same``: TensorFlow's formula ``out = ceil(n / s)``,
    ``total = max((out - 1) s + K - n, 0)``, ``before = total // 2`` (``same_pad='end'``) or
    ``total - total // 2`` (``'start'``); see :func:`freqlens.conv.padding_for`.

    Correspondence: ``convolve(x, w, mode=m, same_pad='start')`` equals ``scipy.signal.convolve(x, w, m)`` and
    ``numpy.convolve`` (1-D); ``correlate(x, w, mode='same', boundary=b, same_pad='start')`` equals
    ``scipy.ndimage.correlate(x, w, mode=...)``; ``convolve(..., mode='same', same_pad='end')`` equals
    ``scipy.ndimage.convolve``; ``correlate(..., mode='same')`` equals torch ``conv*d(padding='same')`` and
    TensorFlow SAME; ``correlate(..., mode='same', boundary='reflect', same_pad='start')`` equals ``cv2.filter2D``
    (default border and anchor; ``same_pad='start'`` matters for even kernels only).

    ===========  ===============  ================  ====================  ====================  ==============
    boundary     ``1234``, pad 2  ``numpy.pad``     ``scipy.ndimage``     OpenCV ``BORDER_``    torch
    ===========  ===============  ================  ====================  ====================  ==============
    'zero'       ``00|1234|00``   constant          constant (cval=0)     CONSTANT              zeros/constant
    'constant'   ``cc|1234|cc``   constant          constant (cval)       CONSTANT (value)      constant
    'reflect'    ``32|1234|32``   reflect           mirror                REFLECT_101 (dflt)    reflect
    'symmetric'  ``21|1234|43``   symmetric         reflect (default)     REFLECT               --
    'edge'       ``11|1234|44``   edge              nearest               REPLICATE             replicate
    'wrap'       ``34|1234|12``   wrap              wrap / grid-wrap      WRAP                  circular
    ===========  ===============  ================  ====================  ====================  ==============

    Pads longer than the input repeat the pattern as ``numpy.pad`` does. ``scipy.signal.convolve2d`` calls these
    'fill', 'symm' and 'wrap'. NaN and inf propagate to every output whose window holds them (at a non-zero
    weight; whether ``NaN * 0`` counts depends on the engine): ``'auto'`` switches to a direct sum when the
    input is not finite, whereas an explicit ``method='fft'`` or ``'overlap-add'`` spreads them over all
    outputs, as every FFT does.

    Examples
    --------
{examples}
"""

_CONV_EXAMPLES = """    >>> import numpy as np
    >>> from freqlens.conv import convolve
    >>> impulse = np.array([0., 0., 0., 1., 0., 0., 0.])
    >>> convolve(impulse, [1., 2., 3.], mode="same")          # the kernel appears as is: it was flipped
    array([0., 0., 1., 2., 3., 0., 0.])
    >>> convolve([1, 2, 3], [1, 1])                            # 'full' by default; integers give float64
    array([1., 3., 5., 3.])
    >>> convolve(impulse, [1., 2.], mode="same"), convolve(impulse, [1., 2.], mode="same", same_pad="start")
    (array([0., 0., 1., 2., 0., 0., 0.]), array([0., 0., 0., 1., 2., 0., 0.]))
    >>> convolve(np.arange(1., 6.), [1., 1., 1.], mode="same", stride=2, boundary="edge")
    array([ 4.,  9., 14.])"""

_CORR_EXAMPLES = """    >>> import numpy as np
    >>> from freqlens.conv import correlate
    >>> impulse = np.array([0., 0., 0., 1., 0., 0., 0.])
    >>> correlate(impulse, [1., 2., 3.], mode="same")         # mirrored: no flip (torch, OpenCV, CNNs)
    array([0., 0., 3., 2., 1., 0., 0.])
    >>> correlate(impulse, [1., 2.], mode="same")              # torch padding='same': extra pad at the end
    array([0., 0., 2., 1., 0., 0., 0.])
    >>> correlate(impulse, [1., 2.], mode="same", same_pad="start")   # scipy.signal.correlate 'same'
    array([0., 0., 0., 2., 1., 0., 0.])
    >>> correlate(np.arange(1., 5.), [1., 0., 0., 0., 0.], mode="same", boundary="reflect")  # 32|1234|32
    array([3., 2., 1., 2.])
    >>> correlate(np.ones((4, 4)), np.ones((3, 3)), mode="valid")
    array([[9., 9.],
           [9., 9.]])"""


def convolve(x: Any, kernel: Any, *, mode: Mode | None = None, boundary: Boundary = "zero", cval: float = 0.0,
             stride: int | tuple[int, ...] = 1, dilation: int | tuple[int, ...] = 1, pad: Any = None,
             same_pad: SamePad = "end", axes: int | tuple[int, ...] | None = None,
             method: Method = "auto") -> Any:
    return _apply(x, kernel, flip=True, op="convolve", mode=mode, boundary=boundary, cval=cval, stride=stride,
                  dilation=dilation, pad=pad, same_pad=same_pad, axes=axes, method=method)


def correlate(x: Any, kernel: Any, *, mode: Mode | None = None, boundary: Boundary = "zero", cval: float = 0.0,
              stride: int | tuple[int, ...] = 1, dilation: int | tuple[int, ...] = 1, pad: Any = None,
              same_pad: SamePad = "end", axes: int | tuple[int, ...] | None = None,
              method: Method = "auto") -> Any:
    return _apply(x, kernel, flip=False, op="correlate", mode=mode, boundary=boundary, cval=cval, stride=stride,
                  dilation=dilation, pad=pad, same_pad=same_pad, axes=axes, method=method)


convolve.__doc__ = _DOC.format(
    summary="N-D convolution (the kernel is flipped), with explicit output size, edges, stride and dilation.",
    op="convolve", examples=_CONV_EXAMPLES)
correlate.__doc__ = _DOC.format(
    summary="N-D cross-correlation (the kernel is not flipped): ``convolve`` without the flip.",
    op="correlate", examples=_CORR_EXAMPLES)
