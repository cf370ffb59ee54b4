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

This module is the public API and the dispatch; :mod:`~freqlens.conv._plan` holds the geometry, the memory
estimate and the engine choice, :mod:`~freqlens.conv._engines` the numpy engines, :mod:`~freqlens.conv._torch`
the torch path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqlens._arrays import is_torch
# available_memory and refuse_if_too_big were defined here before the split; they stay importable from here.
from freqlens._memory import available_memory, refuse_if_too_big  # noqa: F401
from freqlens.conv._engines import finite, run_cv2, run_fft, run_ndimage
from freqlens.conv._plan import (
    BOUNDARIES,
    METHODS,
    MODES,
    SAME_PADS,
    Boundary,
    Method,
    Mode,
    SamePad,
    as_numpy,
    estimate_bytes,
    lift_numpy,
    uses_dft,
)
# bound to private names: they are this module's helpers, not its API
from freqlens.conv._plan import make_plan as _make_plan
from freqlens.conv._plan import numpy_engine as _numpy_engine
from freqlens.conv._torch import MEMORY_HINT, apply_torch, numpy_can_serve

__all__ = ["BOUNDARIES", "METHODS", "MODES", "SAME_PADS", "convolve", "correlate"]

# Samples the 1-D overlap-add transforms at once (32 MB of float64): bounds its extra memory, and the estimate.
_OA_BATCH_SAMPLES = 1 << 22


def convolve(x: Any, kernel: Any, *, mode: Mode | None = None, boundary: Boundary = "zero", cval: float = 0.0,
             stride: int | tuple[int, ...] = 1, dilation: int | tuple[int, ...] = 1, pad: Any = None,
             same_pad: SamePad = "end", axes: int | tuple[int, ...] | None = None,
             method: Method = "auto") -> Any:
    """N-D convolution (the kernel is flipped), with explicit output size, edges, stride and dilation.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Input, any number of dimensions. numpy in -> numpy out; a torch tensor gives a torch tensor on the same
        device (GPU tensors and tensors requiring grad are computed with torch and stay differentiable; other CPU
        tensors use the numpy engines through a zero-copy view).
    kernel : array_like or torch.Tensor
        Weights, one dimension per convolved axis (``kernel.ndim == x.ndim`` unless ``axes`` is given).
    mode : {'full', 'same', 'valid'}, optional
        Output size. ``'full'`` (default): every overlap, ``n + K - 1`` at stride 1; ``'same'``:
        ``ceil(n / stride)`` (``n`` at stride 1); ``'valid'``: only windows inside the input, ``n - K + 1``.
        ``K = (k - 1) * dilation + 1`` is the dilated kernel extent. Leave unset when passing ``pad``.
    boundary : {'zero', 'constant', 'reflect', 'symmetric', 'edge', 'wrap'}
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
    same_pad : {'end', 'start'}
        Where the odd sample of an odd total 'same' padding goes (even kernels; strided 'same'). ``'end'``
        (default) is TensorFlow SAME / PyTorch ``padding='same'`` / equinox ``'SAME'``; ``'start'`` is
        ``scipy.signal.convolve(..., 'same')`` at stride 1 (equinox ``'SAME_LOWER'``). Odd kernels at stride 1
        pad ``(K - 1) / 2`` on both sides either way.
    axes : int or sequence of int, optional
        Axes of ``x`` to convolve over, in the order of the kernel's axes; the kernel is applied to every slice
        along the other axes (e.g. ``axes=(0, 1)`` filters each channel of an ``(H, W, C)`` image).
    method : {'auto', 'direct', 'fft', 'overlap-add'}
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
    >>> import numpy as np
    >>> from freqlens.conv import convolve
    >>> impulse = np.array([0., 0., 0., 1., 0., 0., 0.])
    >>> convolve(impulse, [1., 2., 3.], mode="same")          # the kernel appears as is: it was flipped
    array([0., 0., 1., 2., 3., 0., 0.])
    >>> convolve([1, 2, 3], [1, 1])                            # 'full' by default; integers give float64
    array([1., 3., 5., 3.])
    >>> convolve(impulse, [1., 2.], mode="same"), convolve(impulse, [1., 2.], mode="same", same_pad="start")
    (array([0., 0., 1., 2., 0., 0., 0.]), array([0., 0., 0., 1., 2., 0., 0.]))
    >>> convolve(np.arange(1., 6.), [1., 1., 1.], mode="same", stride=2, boundary="edge")
    array([ 4.,  9., 14.])
"""
    return _apply(x, kernel, flip=True, op="convolve", mode=mode, boundary=boundary, cval=cval, stride=stride,
                  dilation=dilation, pad=pad, same_pad=same_pad, axes=axes, method=method)


def correlate(x: Any, kernel: Any, *, mode: Mode | None = None, boundary: Boundary = "zero", cval: float = 0.0,
              stride: int | tuple[int, ...] = 1, dilation: int | tuple[int, ...] = 1, pad: Any = None,
              same_pad: SamePad = "end", axes: int | tuple[int, ...] | None = None,
              method: Method = "auto") -> Any:
    """N-D cross-correlation (the kernel is not flipped): ``convolve`` without the flip.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Input, any number of dimensions. numpy in -> numpy out; a torch tensor gives a torch tensor on the same
        device (GPU tensors and tensors requiring grad are computed with torch and stay differentiable; other CPU
        tensors use the numpy engines through a zero-copy view).
    kernel : array_like or torch.Tensor
        Weights, one dimension per convolved axis (``kernel.ndim == x.ndim`` unless ``axes`` is given).
    mode : {'full', 'same', 'valid'}, optional
        Output size. ``'full'`` (default): every overlap, ``n + K - 1`` at stride 1; ``'same'``:
        ``ceil(n / stride)`` (``n`` at stride 1); ``'valid'``: only windows inside the input, ``n - K + 1``.
        ``K = (k - 1) * dilation + 1`` is the dilated kernel extent. Leave unset when passing ``pad``.
    boundary : {'zero', 'constant', 'reflect', 'symmetric', 'edge', 'wrap'}
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
    same_pad : {'end', 'start'}
        Where the odd sample of an odd total 'same' padding goes (even kernels; strided 'same'). ``'end'``
        (default) is TensorFlow SAME / PyTorch ``padding='same'`` / equinox ``'SAME'``; ``'start'`` is
        ``scipy.signal.correlate(..., 'same')`` at stride 1 (equinox ``'SAME_LOWER'``). Odd kernels at stride 1
        pad ``(K - 1) / 2`` on both sides either way.
    axes : int or sequence of int, optional
        Axes of ``x`` to convolve over, in the order of the kernel's axes; the kernel is applied to every slice
        along the other axes (e.g. ``axes=(0, 1)`` filters each channel of an ``(H, W, C)`` image).
    method : {'auto', 'direct', 'fft', 'overlap-add'}
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
    >>> import numpy as np
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
           [9., 9.]])
"""
    return _apply(x, kernel, flip=False, op="correlate", mode=mode, boundary=boundary, cval=cval, stride=stride,
                  dilation=dilation, pad=pad, same_pad=same_pad, axes=axes, method=method)


def _apply(x: Any, kernel: Any, *, flip: bool, op: str, mode: str | None, boundary: str, cval: float,
           stride: Any, dilation: Any, pad: Any, same_pad: str, axes: Any, method: str) -> Any:
    """The dispatch: validate, plan, pick the engine, check memory, then compute."""
    if not isinstance(cval, (int, float, complex, np.number)) or isinstance(cval, bool):
        raise ValueError(f"cval must be a number, got {cval!r}")
    options = dict(flip=flip, op=op, mode=mode, boundary=boundary, cval=cval, stride=stride, dilation=dilation,
                   pad=pad, same_pad=same_pad, axes=axes, method=method)
    if is_torch(x):
        if not numpy_can_serve(x, kernel):
            return apply_torch(x, kernel, **options)
        # A CPU tensor outside autograd is a zero-copy numpy array: use the (much faster) numpy engines.
        import torch

        kn = kernel.detach().resolve_conj().resolve_neg().cpu().numpy() if is_torch(kernel) else kernel
        y = _apply(x.detach().resolve_conj().resolve_neg().numpy(), kn, **options)
        return torch.from_numpy(np.ascontiguousarray(y) if any(st < 0 for st in y.strides) else y)
    xa = as_numpy(x, "x")
    ka = as_numpy(kernel, "kernel")
    plan = _make_plan(xa.shape, ka.shape, mode=mode, stride=stride, dilation=dilation, pad=pad, same_pad=same_pad,
                      axes=axes, boundary=boundary, method=method)
    dtype = np.result_type(lift_numpy(xa.dtype, "x"), lift_numpy(ka.dtype, "kernel"))
    engine = _numpy_engine(plan, dtype, method)
    # Sizes first: the finiteness check below is a full pass over x (13 s for 10^10 samples).
    refuse_if_too_big(estimate_bytes(plan, dtype.itemsize, engine, xa.dtype != dtype, _OA_BATCH_SAMPLES), op,
                      hint=MEMORY_HINT)
    if method == "auto" and uses_dft(plan, dtype, engine) and not (finite(xa) and finite(ka)):
        # FFTs spread a NaN/inf over every output (OpenCV's DFT over a tile); a direct sum keeps it local.
        engine = "ndimage"
        refuse_if_too_big(estimate_bytes(plan, dtype.itemsize, engine, xa.dtype != dtype, _OA_BATCH_SAMPLES), op,
                          hint=MEMORY_HINT)
    xc = xa.astype(dtype, copy=False)
    kc = ka.astype(dtype, copy=False)
    if flip:
        kc = np.flip(kc)
    if engine == "cv2":
        return run_cv2(xc, kc, plan, boundary, cval)
    if engine == "ndimage":
        return run_ndimage(xc, kc, plan, boundary, cval)
    return run_fft(xc, kc, plan, boundary, cval, oa_batch=_OA_BATCH_SAMPLES if engine == "oa" else None)
