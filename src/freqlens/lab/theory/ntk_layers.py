"""Per-layer pieces of the empirical NTK: which layers are contracted structurally, their per-block features,
and the contraction of two blocks' features into a kernel tile.

A layer ``y = s_w·W x + s_b·b`` contributes to ``Θ(x₁, x₂)[o, p] = Σ_θ ∂f_o(x₁)/∂θ · ∂f_p(x₂)/∂θ`` the term
``(G₁ G₂ᵀ)[o, p] · (s_w² x₁·x₂ + s_b²)`` where ``G = ∂f/∂y`` (one row per output), so ``∂y/∂W`` is never formed
(the "structured derivatives" of Novak et al., 2022). Convolutions and dense layers applied at several positions
form the per-sample weight gradient ``Σ_positions G ⊗ patch`` instead (cheap: a layer's weights are few) and
contract those. Parameters of any other layer go through torch.func (``vmap(jacrev)``) per block.

Written by hand because no maintained PyTorch library offers this contraction: torch.func gives the generic
Jacobian path only, nngeometry materialises per-sample Jacobians, neural-tangents is JAX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Layer:
    """One structurally contracted module: a dense layer (``"linear"``) or a 1-D/2-D convolution (``"conv"``)."""

    name: str
    module: nn.Module
    kind: str  # "linear" | "conv"
    weight: bool  # weight trainable
    bias: bool  # bias present and trainable
    weight_scale: float = 1.0
    bias_scale: float = 1.0

    def param_names(self) -> list[str]:
        out = [f"{self.name}.weight"] if self.weight else []
        return out + ([f"{self.name}.bias"] if self.bias else [])


@dataclass
class Features:
    """What one block of samples contributes: per dense layer ``(G, X)``, and one concatenated Jacobian ``J``.

    ``dense`` holds ``(G (b, O, out), X (b, in) or None, s_w², s_b²)``; ``jac`` has shape ``(b, O, p)``.
    """

    dense: list[tuple[torch.Tensor, torch.Tensor | None, float, float]] = field(default_factory=list)
    jac: torch.Tensor | None = None


def structured_kind(module: nn.Module) -> str | None:
    """``"linear"``/``"conv"`` when the module's parameters can be contracted layer-wise, else None.

    Accepted: ``nn.Linear``, ``nn.Conv1d``/``nn.Conv2d`` with ``groups=1`` (any stride, dilation, padding; padding
    modes other than zeros with explicit padding sizes), and modules that declare ``ntk_structure = "linear"``
    with ``weight_scale``/``bias_scale`` and compute ``F.linear(x, weight_scale·W, bias_scale·b)`` (see
    :class:`freqlens.lab.theory.infinite.NTKLinear`).
    """
    if type(module) is nn.Linear or getattr(module, "ntk_structure", None) == "linear":
        return "linear"
    if type(module) in (nn.Conv1d, nn.Conv2d) and module.groups == 1:
        if module.padding_mode != "zeros" and isinstance(module.padding, str):
            return None
        return "conv"
    return None


def make_layer(name: str, module: nn.Module, kind: str) -> Layer | None:
    """The :class:`Layer` of a module, or None when none of its parameters is trainable."""
    w = module.weight is not None and module.weight.requires_grad
    b = getattr(module, "bias", None) is not None and module.bias.requires_grad
    if not (w or b):
        return None
    return Layer(name, module, kind, w, b, float(getattr(module, "weight_scale", 1.0)),
                 float(getattr(module, "bias_scale", 1.0)))


def output_grads(out: torch.Tensor, ys: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """``[∂f_o/∂y for every y]`` as ``(b, O, *y.shape[1:])``: one backward per output (batched when possible).

    Samples are independent, so the gradient of ``Σ_samples f_o`` w.r.t. a layer's output holds every sample's own
    derivative.
    """
    b, n_out = out.shape
    if n_out == 1:
        grads = torch.autograd.grad(out.sum(), ys, allow_unused=True)
        return [None if g is None else g.unsqueeze(1) for g in grads]
    eye = torch.eye(n_out, dtype=out.dtype, device=out.device).unsqueeze(1).expand(n_out, b, n_out)
    try:
        grads = torch.autograd.grad(out, ys, eye, allow_unused=True, is_grads_batched=True, retain_graph=True)
    except RuntimeError:  # an op without a batching rule: one backward per output
        per = [torch.autograd.grad(out[:, o].sum(), ys, allow_unused=True, retain_graph=True)
               for o in range(n_out)]
        grads = tuple(None if per[0][i] is None else torch.stack([p[i] for p in per])
                      for i in range(len(ys)))
    return [None if g is None else g.movedim(0, 1) for g in grads]


def layer_features(layer: Layer, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor | None,
                   dense: list, jac: list) -> None:
    """Append a layer's features for one block: ``x`` its input, ``y`` its output, ``g = ∂f/∂y`` (b, O, ...)."""
    b = x.shape[0]
    n_out = 0 if g is None else g.shape[1]
    if g is None:  # the layer does not reach the output
        return
    mod = layer.module
    if layer.kind == "linear" and x.dim() == 2:
        dense.append((g, x if layer.weight else None, layer.weight_scale ** 2 if layer.weight else 0.0,
                      layer.bias_scale ** 2 if layer.bias else 0.0))
        return
    parts = []
    if layer.kind == "linear":  # dense layer applied at several positions: (b, ..., in)
        gp = g.reshape(b, n_out, -1, y.shape[-1])  # (b, O, P, out)
        xp = x.reshape(b, -1, x.shape[-1])  # (b, P, in)
        if layer.weight:
            parts.append(layer.weight_scale * torch.einsum("bopi,bpj->boij", gp, xp).reshape(b, n_out, -1))
        if layer.bias:
            parts.append(layer.bias_scale * gp.sum(2))
    else:
        patches = conv_patches(mod, x)  # (b, C_in·k, L)
        gc = g.reshape(b, n_out * mod.out_channels, -1)  # (b, O·C_out, L)
        if layer.weight:
            parts.append((gc @ patches.transpose(1, 2)).reshape(b, n_out, -1))
        if layer.bias:
            parts.append(gc.sum(-1).reshape(b, n_out, -1))
    jac.append(torch.cat(parts, dim=2))


def conv_patches(mod: nn.Conv1d | nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """The input patches a convolution multiplies by its weight, ``(b, C_in·prod(kernel), positions)``."""
    one_d = isinstance(mod, nn.Conv1d)
    if one_d:
        x = x.unsqueeze(2)
    k, s, d = _pair(mod.kernel_size, one_d), _pair(mod.stride, one_d), _pair(mod.dilation, one_d)
    if isinstance(mod.padding, str):
        if mod.padding == "valid":
            pads = [0, 0, 0, 0]
        else:  # "same" (stride 1): torch puts the extra pixel of an even kernel at the end
            pads = []
            for kk, dd in zip(reversed(k), reversed(d)):
                total = dd * (kk - 1)
                pads += [total // 2, total - total // 2]
        x = F.pad(x, pads)
        pad = (0, 0)
    elif mod.padding_mode != "zeros":
        p = _pair(mod.padding, one_d, 0)
        pads = [p[1], p[1], p[0], p[0]]
        if one_d:
            x = F.pad(x.squeeze(2), pads[:2], mode=mod.padding_mode).unsqueeze(2)
        else:
            x = F.pad(x, pads, mode=mod.padding_mode)
        pad = (0, 0)
    else:
        pad = _pair(mod.padding, one_d, 0)
    return F.unfold(x, k, dilation=d, padding=pad, stride=s)


def _pair(v, one_d: bool, fill: int = 1) -> tuple[int, int]:
    """A 2-D size from a module's 1-D or 2-D one (a 1-D convolution runs as 2-D over a height of 1)."""
    if isinstance(v, int):
        return (fill, v) if one_d else (v, v)
    return (fill, int(v[0])) if one_d else (int(v[0]), int(v[1]))


def contract(fa: Features, fb: Features, trace: bool) -> torch.Tensor:
    """The kernel tile of two blocks: ``(bA, bB)`` when ``trace`` else ``(bA, O, bB, O)``."""
    tile = None
    for (ga, xa, sw, sb), (gb, xb, _, _) in zip(fa.dense, fb.dense):
        ba, n_out, width = ga.shape
        bb = gb.shape[0]
        # few, large ops per tile: each is a parallel region, and on a busy machine their count dominates
        if trace:
            gg = ga.reshape(ba, n_out * width) @ gb.reshape(bb, n_out * width).T
        else:
            gg = (ga.reshape(ba * n_out, width) @ gb.reshape(bb * n_out, width).T).view(ba, n_out, bb, n_out)
        if xa is None:  # bias only
            term = gg.mul_(sb)
            tile = term if tile is None else tile.add_(term)
            continue
        xx = torch.addmm(torch.tensor(sb, dtype=xa.dtype, device=xa.device), xa, xb.T, alpha=sw)
        if not trace:
            xx = xx.view(ba, 1, bb, 1)
        tile = gg.mul_(xx) if tile is None else tile.addcmul_(gg, xx)
    if fa.jac is not None:
        ba, n_out, p = fa.jac.shape
        bb = fb.jac.shape[0]
        if trace:
            jj = fa.jac.reshape(ba, n_out * p) @ fb.jac.reshape(bb, n_out * p).T
        else:
            jj = (fa.jac.reshape(ba * n_out, p) @ fb.jac.reshape(bb * n_out, p).T).view(ba, n_out, bb, n_out)
        tile = jj if tile is None else tile.add_(jj)
    return tile


def feature_bytes_per_sample(layers: list[tuple[Layer, torch.Size, torch.Size]], n_out: int, n_generic: int,
                             activation_numel: int, itemsize: int) -> int:
    """Bytes one sample's features take while a block is computed (inputs, output gradients, Jacobians, and the
    autograd graph), from the shapes seen in the probe pass: ``(layer, input shape, output shape)`` per layer."""
    total = 0
    for layer, in_shape, out_shape in layers:
        n_in, n_y = math.prod(in_shape[1:]), math.prod(out_shape[1:])
        total += n_in + n_out * n_y
        if layer.kind == "conv":
            mod = layer.module
            k = math.prod(mod.kernel_size) * mod.in_channels
            positions = n_y // mod.out_channels
            total += k * positions + n_out * (mod.out_channels * k + mod.out_channels)
        elif len(in_shape) > 2:
            total += n_out * (in_shape[-1] + 1) * out_shape[-1]
    total += 3 * n_out * n_generic + 2 * activation_numel
    return total * itemsize
