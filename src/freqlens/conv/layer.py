"""A CNN convolution layer: batched, multichannel, grouped; torch's semantics plus TensorFlow's strided SAME."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from freqlens._arrays import is_torch
from freqlens._memory import refuse_if_too_big
from freqlens.conv._args import nonneg_int, per_axis, positive_int
from freqlens.conv._plan import lift_numpy
from freqlens.conv._torch import compute_dtype
from freqlens.conv.padding import same_pads

PADDINGS = ("valid", "same-tf", "same-torch")


def _pads(padding: Any, lengths: tuple[int, ...], extents: tuple[int, ...],
          strides: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    nd = len(lengths)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same-tf":
            return tuple(same_pads(n, K, s, "end") for n, K, s in zip(lengths, extents, strides))
        if padding == "same-torch":
            if any(s != 1 for s in strides):
                raise ValueError(f"padding='same-torch' needs stride 1 (torch raises for strided 'same'), got "
                                 f"stride={strides}; use padding='same-tf' for TensorFlow's strided SAME")
            return tuple(((K - 1) // 2, K - 1 - (K - 1) // 2) for K in extents)
        raise ValueError(f"padding must be one of {', '.join(map(repr, PADDINGS))}, an int, {nd} ints, or {nd} "
                         f"(before, after) pairs, got {padding!r}")
    if isinstance(padding, (list, tuple)):
        if len(padding) != nd:
            raise ValueError(f"padding must be an int, {nd} ints or {nd} (before, after) pairs (one per spatial "
                             f"axis), got {padding!r}")
        out = []
        for p in padding:
            if isinstance(p, (list, tuple)):
                if len(p) != 2:
                    raise ValueError(f"padding pairs must be (before, after), got {p!r}")
                out.append((nonneg_int(p[0], "padding"), nonneg_int(p[1], "padding")))
            else:
                out.append((nonneg_int(p, "padding"), nonneg_int(p, "padding")))
        return tuple(out)
    p = nonneg_int(padding, "padding")
    return ((p, p),) * nd


def conv_layer(x: Any, w: Any, bias: Any = None, *, stride: int | tuple[int, ...] = 1,
               padding: str | int | tuple[Any, ...] = "valid", dilation: int | tuple[int, ...] = 1,
               groups: int = 1) -> Any:
    """Batched multichannel cross-correlation, as a CNN layer computes it (no kernel flip).

    Parameters
    ----------
    x : array_like or torch.Tensor, shape (N, C, *spatial)
        Batch of inputs with 1, 2 or 3 spatial axes.
    w : array_like or torch.Tensor, shape (O, C / groups, *k)
        Weights: ``O`` output channels, each seeing ``C / groups`` input channels.
    bias : array_like or torch.Tensor, shape (O,), optional
        Added to each output channel.
    stride, dilation : int or tuple of int
        Per spatial axis (>= 1).
    padding : {'valid', 'same-tf', 'same-torch'}, int, tuple of int or tuple of (before, after)
        ``'valid'``: none; ``'same-tf'``: TensorFlow SAME at any stride (``out = ceil(n / s)``, the odd pad
        sample at the end); ``'same-torch'``: torch ``padding='same'``, stride 1 only; ints: zero pads on both
        sides per axis (torch's ``padding=``); pairs: ``(before, after)`` per axis.
    groups : int
        ``C`` and ``O`` must both be divisible by ``groups``; ``groups == C`` is a depthwise convolution.

    Returns
    -------
    ndarray or torch.Tensor, shape (N, O, *out)
        numpy in -> numpy out (computed with torch on the CPU); a tensor stays on its device. Integer inputs give
        float64, float16 gives float32.

    Raises
    ------
    ValueError
        Naming the argument: wrong ranks, channels not matching ``groups``, bias of the wrong shape, unknown or
        strided ``'same-torch'`` padding, non-positive stride/dilation/groups, empty or non-numeric arrays, a
        kernel larger than the padded input, or more memory than available.

    Notes
    -----
    ``y[n, o, i] = bias[o] + sum_{c, j} xp[n, g(o) * C/groups + c, i * s + j * d] * w[o, c, j]`` with ``xp``
    the zero-padded input and ``g(o) = o // (O / groups)``. Identical to ``torch.nn.functional.conv1d/2d/3d``
    for every padding torch accepts; for ``'same-tf'`` the pads follow TensorFlow's formula
    ``total = max((ceil(n / s) - 1) s + (k - 1) d + 1 - n, 0)``, ``before = total // 2`` (see
    :func:`freqlens.conv.padding_for`), which torch has no name for.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> conv_layer(x, np.ones((1, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    >>> conv_layer(np.ones((1, 1, 5)), np.ones((2, 1, 3)), padding="same-tf", stride=2).shape
    (1, 2, 3)
    """
    import torch
    import torch.nn.functional as F

    as_numpy = not is_torch(x)
    xt = _to_tensor(x, "x", None)
    wt = _to_tensor(w, "w", xt.device)
    bt = None if bias is None else _to_tensor(bias, "bias", xt.device)
    if xt.ndim not in (3, 4, 5):
        raise ValueError(f"x must have shape (N, C, *spatial) with 1 to 3 spatial axes, got shape {tuple(xt.shape)}")
    nd = xt.ndim - 2
    if wt.ndim != xt.ndim:
        raise ValueError(f"w must have shape (O, C/groups, *k) with {nd} spatial axes like x, got shape "
                         f"{tuple(wt.shape)}")
    for name, t in (("x", xt), ("w", wt)):
        if t.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    groups = positive_int(groups, "groups")
    n_batch, c_in = xt.shape[:2]
    c_out = wt.shape[0]
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both the input channels ({c_in}) and the output "
                         f"channels ({c_out})")
    if wt.shape[1] * groups != c_in:
        raise ValueError(f"w has {wt.shape[1]} input channels per group but x has {c_in} channels and "
                         f"groups={groups}: w.shape[1] must be {c_in // groups}")
    if bt is not None and tuple(bt.shape) != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},) (one per output channel), got {tuple(bt.shape)}")
    strides = per_axis(stride, nd, "stride", "spatial axis")
    dilations = per_axis(dilation, nd, "dilation", "spatial axis")
    lengths = tuple(int(n) for n in xt.shape[2:])
    ksize = tuple(int(k) for k in wt.shape[2:])
    extents = tuple((k - 1) * d + 1 for k, d in zip(ksize, dilations))
    pads = _pads(padding, lengths, extents, strides)
    for i, (n, (b, e), K) in enumerate(zip(lengths, pads, extents)):
        if n + b + e < K:
            raise ValueError(f"kernel extent {K} along spatial axis {i} is larger than the padded input "
                             f"{n} + {b} + {e} = {n + b + e}: no window fits; pad more or use a smaller kernel")
    dtype = torch.promote_types(compute_dtype(xt), compute_dtype(wt))
    if bt is not None:
        dtype = torch.promote_types(dtype, compute_dtype(bt))
    # Memory, before allocating: output, padded input and the unfolded patches of one sample (torch's CPU path).
    itemsize = torch.empty((), dtype=dtype).element_size()
    outs = [(n + b + e - K) // s + 1 for n, (b, e), K, s in zip(lengths, pads, extents, strides)]
    padded = math.prod(n + b + e for n, (b, e) in zip(lengths, pads))
    refuse_if_too_big({"output": n_batch * c_out * math.prod(outs) * itemsize,
                       "padded input": n_batch * c_in * padded * itemsize,
                       "unfolded patches": c_in * math.prod(ksize) * math.prod(outs) * itemsize},
                      "conv_layer", device=xt.device, hint="use a smaller batch, image or kernel, or a larger stride")
    xt, wt = xt.to(dtype), wt.to(dtype)
    bt = bt.to(dtype) if bt is not None else None
    if all(b == e for b, e in pads):
        conv_pad: Any = tuple(b for b, _ in pads)
    else:  # asymmetric (TensorFlow SAME, even kernels): pad explicitly, as torch does internally for 'same'
        flat: list[int] = []
        for b, e in reversed(pads):
            flat += [b, e]
        xt = F.pad(xt, flat)
        conv_pad = 0
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    y = conv(xt, wt, bt, stride=strides, padding=conv_pad, dilation=dilations, groups=groups)
    return y.detach().cpu().numpy() if as_numpy else y


def _to_tensor(a: Any, name: str, device: Any) -> Any:
    import torch

    if is_torch(a):
        return a if device is None else a.to(device)
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    lift_numpy(arr.dtype, name)
    if arr.dtype.kind == "u" and arr.dtype.itemsize > 1:  # torch lacks some unsigned types: widen exactly
        arr = arr.astype(np.int64)
    t = torch.from_numpy(np.ascontiguousarray(arr))
    return t if device is None else t.to(device)
