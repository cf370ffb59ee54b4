"""The numpy engines of :func:`freqlens.conv.convolve`: OpenCV ``filter2D``, ``scipy.ndimage``, one FFT, overlap-add.

Each takes ``x`` (already in the compute dtype), the correlation kernel (not dilated, not flipped: ``convolve``
flips before calling) and the :class:`~freqlens.conv._plan.Plan`, and returns the output. Private to
:mod:`freqlens.conv`.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any

import numpy as np

from freqlens.conv._plan import NUMPY_PAD, Plan, oa_length

# freqlens boundary -> scipy.ndimage mode.
NDIMAGE_MODE = {"zero": "constant", "constant": "constant", "reflect": "mirror", "symmetric": "reflect",
                "edge": "nearest", "wrap": "wrap"}
# OpenCV border codes (cv2.BORDER_*), written as numbers so importing this module does not import cv2.
# filter2D rejects BORDER_WRAP, and its BORDER_CONSTANT is always 0: those cases are padded explicitly.
CV2_BORDER = {"zero": 0, "reflect": 4, "symmetric": 2, "edge": 1}  # CONSTANT, REFLECT_101, REFLECT, REPLICATE
CV2_MAX_CHANNELS = 128  # CV_CN_MAX: 512 in OpenCV 4, 128 in OpenCV 5


def dilate(k: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    if all(d == 1 for d in dilation):
        return k
    out = np.zeros(tuple((n - 1) * d + 1 for n, d in zip(k.shape, dilation)), dtype=k.dtype)
    out[tuple(slice(None, None, d) for d in dilation)] = k
    return out


def expand(k: Any, axes: tuple[int, ...], ndim: int) -> Any:
    """Kernel (axes in kernel order) as an ``ndim`` array: its axes at ``axes`` (sorted), size 1 elsewhere."""
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    kt = k.transpose(order) if isinstance(k, np.ndarray) else k.permute(*order)
    shape = [1] * ndim
    for i, a in enumerate(sorted(axes)):
        shape[a] = kt.shape[i]
    return kt.reshape(shape)


def crop(y: Any, plan: Plan, starts: tuple[int, ...] | None = None) -> Any:
    """Keep ``full_out`` samples from ``starts`` (default 0) with step ``stride`` on the convolved axes."""
    index: list[slice] = [slice(None)] * y.ndim
    changed = False
    for i, (a, f, s) in enumerate(zip(plan.axes, plan.full_out, plan.stride)):
        start = 0 if starts is None else starts[i]
        if start != 0 or f != y.shape[a] or s != 1:
            index[a] = slice(start, start + f, s)
            changed = True
    return y[tuple(index)] if changed else y


def np_pad(x: np.ndarray, plan: Plan, boundary: str, cval: float) -> np.ndarray:
    pads = plan.x_pads()
    if all(p == (0, 0) for p in pads):
        return x
    if boundary in ("zero", "constant"):
        return np.pad(x, pads, mode="constant", constant_values=cval if boundary == "constant" else 0)
    return np.pad(x, pads, mode=NUMPY_PAD[boundary])  # type: ignore[call-overload]


def run_cv2(x: np.ndarray, kc: np.ndarray, plan: Plan, boundary: str, cval: float) -> np.ndarray:
    """OpenCV filter2D (a correlation) over 2 axes; the other axes become channels."""
    import cv2

    kd = np.ascontiguousarray(dilate(kc, plan.dilation))
    a0, a1 = plan.axes
    xm = np.moveaxis(x, (a0, a1), (0, 1)) if (a0, a1) != (0, 1) else x
    h, w = xm.shape[:2]
    rest = xm.shape[2:]
    src = np.ascontiguousarray(xm.reshape(h, w, -1) if rest else xm)
    (b0, e0), (b1, e1) = plan.pads
    K0, K1 = plan.extent
    border = CV2_BORDER.get(boundary if not (boundary == "constant" and cval == 0) else "zero")
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
            src = np.pad(src, pads, mode=NUMPY_PAD[boundary])  # type: ignore[call-overload]
        border, anchor = 0, (0, 0)
    channels = 1 if src.ndim == 2 else src.shape[2]
    if channels <= CV2_MAX_CHANNELS:
        dst = cv2.filter2D(src, -1, kd, anchor=anchor, borderType=border)
    else:
        step = CV2_MAX_CHANNELS
        dst = np.concatenate([cv2.filter2D(np.ascontiguousarray(src[..., i:i + step]), -1, kd, anchor=anchor,
                                           borderType=border).reshape(*src.shape[:2], -1)
                              for i in range(0, channels, step)], axis=2)
    dst = dst.reshape(dst.shape[0], dst.shape[1], *rest)
    index = (slice(0, plan.full_out[0], plan.stride[0]), slice(0, plan.full_out[1], plan.stride[1]))
    if dst.shape[0] != plan.full_out[0] or dst.shape[1] != plan.full_out[1] or plan.stride != (1, 1):
        dst = dst[index]
    return np.moveaxis(dst, (0, 1), (a0, a1)) if (a0, a1) != (0, 1) else dst


def run_ndimage(x: np.ndarray, kc: np.ndarray, plan: Plan, boundary: str, cval: float) -> np.ndarray:
    """scipy.ndimage.correlate: a direct sum in any dimension, all boundaries."""
    import scipy.ndimage

    kd = expand(dilate(kc, plan.dilation), plan.axes, x.ndim)
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
        src, mode = x, NDIMAGE_MODE[boundary]
    else:
        src, mode = np_pad(x, plan, boundary, cval), "constant"
        for a, K in zip(plan.axes, plan.extent):
            origins[a] = -(K // 2)
    y = scipy.ndimage.correlate(src, kd, mode=mode, cval=cval if boundary == "constant" else 0.0,
                                origin=origins, output=x.dtype)
    if exponent:
        with np.errstate(over="ignore"):  # exact power-of-two rescaling: inf only where the sum itself overflows
            y = np.ldexp(y, exponent) if not np.iscomplexobj(y) else y * (2.0 ** exponent)
    return crop(y, plan)


def fft_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def overlap_add(a: np.ndarray, kernel: np.ndarray, mode: str, axes: list[int], *, batch_samples: int) -> np.ndarray:
    """Linear convolution of every 1-D slice of ``a`` along ``axes[0]`` with a 1-D kernel, by overlap-add.

    Written here because scipy.signal.oaconvolve picks FFT blocks of about 16 kernel lengths, which fall out of
    the cache for long kernels (2.4 M-point FFTs for a 3 s impulse response at 48 kHz); blocks of 4 to 8 kernel
    lengths, transformed a batch of about ``batch_samples`` samples at a time on every core, measured 2.6x faster on
    10 minutes of 48 kHz audio, and the batches bound the extra memory. ``mode`` is 'full' or 'valid' as in
    fftconvolve.
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
    N = oa_length(K, is_complex)
    B = N - K + 1                       # new input samples per block
    n_blocks, spill = -(-n // B), -(-N // B)
    out = np.zeros((rows, (n_blocks + spill) * B), dtype=np.result_type(am, k))
    spectrum = fwd(k, N)
    per_batch = max(1, batch_samples // N)  # blocks transformed together
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


def run_fft(x: np.ndarray, kc: np.ndarray, plan: Plan, boundary: str, cval: float, *,
            oa_batch: int | None = None) -> np.ndarray:
    """One FFT (scipy.signal.fftconvolve) of the (padded) input with the flipped correlation kernel, or with
    ``oa_batch`` (samples per batch) the overlap-add: our own along one axis, scipy.signal.oaconvolve over several."""
    import scipy.fft
    import scipy.signal

    kd = expand(dilate(kc, plan.dilation), plan.axes, x.ndim)
    kflip = np.flip(kd, axis=plan.axes)  # the engines convolve; correlation = convolution with the flip
    if oa_batch is None:
        fn = scipy.signal.fftconvolve
    elif len(plan.axes) == 1:
        fn = functools.partial(overlap_add, batch_samples=oa_batch)
    else:
        fn = scipy.signal.oaconvolve
    axes = sorted(plan.axes)
    with scipy.fft.set_workers(fft_workers()):
        if boundary == "zero" and all(b <= K - 1 and e <= K - 1 for (b, e), K in zip(plan.pads, plan.extent)):
            # The full linear correlation holds every zero-padded window; window start -b sits at index K-1-b.
            y = fn(x, kflip, mode="full", axes=axes)
            starts = tuple(K - 1 - b for (b, _), K in zip(plan.pads, plan.extent))
            y = crop(y, plan, starts)
        else:
            y = crop(fn(np_pad(x, plan, boundary, cval), kflip, mode="valid", axes=axes), plan)
    return y.astype(x.dtype, copy=False)


def finite(a: np.ndarray) -> bool:
    """Whether every value of ``a`` is finite (a full pass over ``a``: check its size first)."""
    if a.dtype.kind not in "fc":
        return True
    # np.dot is a multithreaded BLAS pass; any NaN/inf (or overflow of the squares) makes the sum non-finite.
    if a.dtype.kind == "f" and a.flags.c_contiguous:
        v = a.reshape(-1)
        return bool(np.isfinite(np.dot(v, v)))
    return bool(np.isfinite(a).all())
