"""The torch path of :func:`freqlens.conv.convolve`: tensors that stay in torch (on a GPU, or requiring grad).

``torch.nn.functional.conv{1,2,3}d`` for direct sums and ``torch.fft`` for long kernels; both keep the tensor on
its device and differentiable. CPU tensors outside autograd never come here: :func:`numpy_can_serve` sends them
to the (faster) numpy engines through a zero-copy view. Private to :mod:`freqlens.conv`; torch is imported
inside the functions, so importing this module does not import torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqlens._arrays import is_torch
from freqlens._memory import refuse_if_too_big
from freqlens.conv._plan import NUMPY_PAD, Plan, as_numpy, estimate_bytes, make_plan, torch_engine

MEMORY_HINT = "use a smaller input or kernel, mode='valid', or a larger stride"


def compute_dtype(t: Any) -> Any:
    """The torch dtype one operand is computed in: float16/bfloat16 -> float32, integers and bool -> float64."""
    import torch

    if t.is_complex():
        return t.dtype
    if t.is_floating_point():
        return torch.float32 if t.dtype in (torch.float16, torch.bfloat16) else t.dtype
    return torch.float64


def numpy_can_serve(x: Any, kernel: Any) -> bool:
    """Whether a torch ``x`` can use the numpy engines: a CPU tensor outside autograd (and not bfloat16)."""
    import torch

    if x.device.type != "cpu" or x.dtype == torch.bfloat16 or torch.is_grad_enabled() and x.requires_grad:
        return False
    if is_torch(kernel):
        return kernel.dtype != torch.bfloat16 and not (torch.is_grad_enabled() and kernel.requires_grad)
    return True


def apply_torch(x: Any, kernel: Any, *, flip: bool, op: str, mode: str | None, boundary: str, cval: float,
                stride: Any, dilation: Any, pad: Any, same_pad: str, axes: Any, method: str) -> Any:
    """Convolve/correlate a torch tensor with torch's engines; arguments as :func:`freqlens.conv.correlate`."""
    import torch

    if is_torch(kernel):
        k = kernel
    else:
        k = torch.as_tensor(as_numpy(kernel, "kernel"))

    plan = make_plan(tuple(x.shape), tuple(k.shape), mode=mode, stride=stride, dilation=dilation, pad=pad,
                     same_pad=same_pad, axes=axes, boundary=boundary, method=method)
    dtype = torch.promote_types(compute_dtype(x), compute_dtype(k))
    engine = torch_engine(plan, method)
    itemsize = torch.empty((), dtype=dtype).element_size()
    # Sizes first: the finiteness check below is a full pass over x.
    refuse_if_too_big(estimate_bytes(plan, itemsize, engine, x.dtype != dtype, 0), op, device=x.device,
                      hint=MEMORY_HINT)
    if method == "auto" and engine == "torch-fft" and len(plan.axes) <= 3:
        if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(k).all())):
            engine = "torch-conv"
            refuse_if_too_big(estimate_bytes(plan, itemsize, engine, x.dtype != dtype, 0), op, device=x.device,
                              hint=MEMORY_HINT)
    xc = x.to(dtype)
    kc = k.to(device=x.device, dtype=dtype)
    if flip:
        kc = kc.flip(tuple(range(kc.ndim)))
    if engine == "torch-conv":
        return run_conv(xc, kc, plan, boundary, cval)
    return run_fft(xc, kc, plan, boundary, cval)


def trailing(x: Any, plan: Plan) -> tuple[Any, tuple[int, ...]]:
    """x with the convolved axes moved last (kernel order) and the rest flattened: shape (B, *lengths)."""
    nd = len(plan.axes)
    xm = x.movedim(plan.axes, tuple(range(x.ndim - nd, x.ndim)))
    rest = tuple(xm.shape[: x.ndim - nd])
    return xm.reshape(-1, *plan.lengths), rest


def untrail(y: Any, rest: tuple[int, ...], plan: Plan) -> Any:
    """Undo :func:`trailing` on a result."""
    nd = len(plan.axes)
    y = y.reshape(*rest, *y.shape[-nd:])
    return y.movedim(tuple(range(y.ndim - nd, y.ndim)), plan.axes)


def pad_trailing(xm: Any, plan: Plan, boundary: str, cval: float) -> Any:
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
            idx = np.pad(np.arange(n), (b, e), mode=NUMPY_PAD[boundary])  # type: ignore[call-overload]
            xm = xm.index_select(xm.ndim - nd + i, torch.as_tensor(idx, device=xm.device))
    return xm


def run_conv(x: Any, kc: Any, plan: Plan, boundary: str, cval: float) -> Any:
    """torch.nn.functional.conv1d/2d/3d (a correlation) over the trailing axes, one channel."""
    import torch.nn.functional as F

    xm, rest = trailing(x, plan)
    xp = pad_trailing(xm.unsqueeze(1), plan, boundary, cval)
    conv = (F.conv1d, F.conv2d, F.conv3d)[len(plan.axes) - 1]
    y = conv(xp, kc.reshape(1, 1, *plan.ksize), stride=plan.stride, dilation=plan.dilation)
    return untrail(y[:, 0], rest, plan)


def run_fft(x: Any, kc: Any, plan: Plan, boundary: str, cval: float) -> Any:
    """Correlation by torch.fft (circular convolution of a long enough length), on the tensor's device."""
    # Written here because torch has no fftconvolve; this keeps GPU tensors on their device and differentiable.
    import scipy.fft
    import torch

    xm, rest = trailing(x, plan)
    xp = pad_trailing(xm, plan, boundary, cval)
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
    return untrail(y[index], rest, plan)


