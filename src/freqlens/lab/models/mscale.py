"""Multi-scale networks (MscaleDNN) and their compactly supported activations.

MscaleDNN (Liu, Cai & Xu 2020; Cai & Xu 2019) turns a high-frequency target into low-frequency ones a network
learns fast, by feeding scaled copies of the input: a component ``sin(k x)`` seen through a scale ``a`` becomes
``sin((k/a) · a x)``, a frequency ``k/a`` for the neurons of that scale. Two forms are built here:

- :class:`MscaleMLP` (``coordinate_model("mscale", ...)``): the first hidden layer's neurons are split into as many
  contiguous groups as there are scales, and the pre-activations of group i are multiplied by ``a_i``:
  ``h_1 = σ(K ⊙ (W_0 v + b_0))`` with ``K = (a_1, …, a_1, a_2, …, a_N)``; the rest is a plain MLP.
- :class:`MscaleSum` (``coordinate_model("mscale-sub", ...)``): one subnetwork per scale, fed the scaled input,
  outputs summed: ``f(v) = Σ_i f_i(a_i v)``.

Activations with compact support localise each neuron in space, which is what lets the scaled neurons resolve
fine detail: ``sReLU(x) = relu(x) · relu(1 − x)`` (a bump on [0, 1], peak 1/4 at x = 1/2) and
``s2ReLU(x) = sReLU(x) · sin(2πx)`` (one period of a sine under the bump), the authors' best in their tests.

Parameters are drawn from the explicit CPU generator (float64, then cast): weights and biases ``U(±1/√fan_in)``,
PyTorch's default bounds, as :func:`freqlens.lab.models.mlp.mlp` draws them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from freqlens.errors import ConfigError
from freqlens.lab.models.mlp import ACTIVATIONS

__all__ = ["MSCALE_ACTIVATIONS", "MscaleMLP", "MscaleSum", "S2ReLU", "SReLU", "s2relu", "srelu"]


def srelu(x: torch.Tensor) -> torch.Tensor:
    """``sReLU(x) = relu(x) · relu(1 − x)``: ``x(1 − x)`` on [0, 1], zero elsewhere.

    Examples
    --------
    >>> srelu(torch.tensor([-1.0, 0.25, 0.5, 2.0]))
    tensor([0.0000, 0.1875, 0.2500, 0.0000])
    """
    return torch.relu(x) * torch.relu(1.0 - x)


def s2relu(x: torch.Tensor) -> torch.Tensor:
    """``s2ReLU(x) = sReLU(x) · sin(2πx)``: ``x(1 − x) sin(2πx)`` on [0, 1], zero elsewhere.

    Examples
    --------
    >>> s2relu(torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)).round(decimals=12)
    tensor([ 0.1875,  0.0000, -0.1875], dtype=torch.float64)
    """
    return srelu(x) * torch.sin(2.0 * math.pi * x)


class SReLU(nn.Module):
    """Module form of :func:`srelu`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return srelu(x)


class S2ReLU(nn.Module):
    """Module form of :func:`s2relu`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return s2relu(x)


MSCALE_ACTIVATIONS = {"srelu": SReLU, "s2relu": S2ReLU}


def _activation(name: str) -> nn.Module:
    table = {**MSCALE_ACTIVATIONS, **ACTIVATIONS}
    if name not in table:
        raise ConfigError(f"activation must be one of {', '.join(table)}; got {name!r}")
    return table[name]()


def _check_scales(scales: Sequence[float]) -> list[float]:
    try:
        values = [float(a) for a in scales]
    except (TypeError, ValueError):
        raise ConfigError(f"scales must be a list of numbers > 0; got {scales!r}") from None
    if not values:
        raise ConfigError("scales must hold at least one scale factor")
    for a in values:
        if not (math.isfinite(a) and a > 0):
            raise ConfigError(f"every scale must be a finite number > 0; got {a!r} in {list(scales)!r}")
    return values


def _linear(n_in: int, n_out: int, gen: torch.Generator) -> nn.Linear:
    # skip_init: nn.Linear's own reset_parameters would draw from the global RNG before we overwrite it
    lin = nn.utils.skip_init(nn.Linear, n_in, n_out, dtype=torch.float64)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        lin.weight.uniform_(-bound, bound, generator=gen)
        lin.bias.uniform_(-bound, bound, generator=gen)
    return lin


def _stack(dims: list[int], activation: str, gen: torch.Generator) -> nn.Sequential:
    """Linear layers ``dims[0] → … → dims[-1]`` with ``activation`` after every one but the last."""
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(_linear(dims[i], dims[i + 1], gen))
        if i < len(dims) - 2:
            layers.append(_activation(activation))
    return nn.Sequential(*layers)


class MscaleMLP(nn.Module):
    """MscaleDNN with scaled first-layer pre-activations: ``h_1 = σ(K ⊙ (W_0 v + b_0))``, then a plain MLP.

    Parameters
    ----------
    in_dim, out_dim : int
        Coordinates and values per point.
    hidden : sequence of int
        Hidden widths; ``hidden[0]`` must be at least ``len(scales)``.
    scales : sequence of float
        Scale factors ``a_1 … a_N``. Neurons ``0 … hidden[0] − 1`` of the first layer are split into N contiguous
        groups of sizes differing by at most one (the first groups get the extra neuron, as
        :func:`numpy.array_split`); group i is multiplied by ``a_i`` (the buffer ``neuron_scales``).
    activation : str
        ``"srelu"``, ``"s2relu"`` or an activation of :data:`freqlens.lab.models.mlp.ACTIVATIONS`.
    output : {None, "sigmoid"}
    generator : torch.Generator
        CPU generator of the parameters (drawn in float64, then cast to ``dtype`` and moved to ``device``).

    Examples
    --------
    >>> net = MscaleMLP(1, [6, 8], 1, scales=[1, 2, 4], activation="s2relu", generator=torch.Generator())
    >>> net.neuron_scales
    tensor([1., 1., 2., 2., 4., 4.])
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, *, scales: Sequence[float],
                 activation: str = "s2relu", output: str | None = None, generator: torch.Generator,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"):
        super().__init__()
        values = _check_scales(scales)
        if hidden[0] < len(values):
            raise ConfigError(f"the first hidden width ({hidden[0]}) must be at least the number of scales "
                              f"({len(values)})")
        groups = np.array_split(np.arange(hidden[0]), len(values))
        k = np.concatenate([np.full(len(g), a) for g, a in zip(groups, values)])
        self.register_buffer("neuron_scales", torch.as_tensor(k, dtype=torch.float64))
        self.scales = values
        self.first = _linear(in_dim, hidden[0], generator)
        self.act = _activation(activation)
        self.rest = _stack([hidden[0], *hidden[1:], out_dim], activation, generator)
        self.output = output
        self.to(device=device, dtype=dtype)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        out = self.rest(self.act(self.neuron_scales * self.first(v)))
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def extra_repr(self) -> str:
        return f"scales={self.scales}, output={self.output}"


class MscaleSum(nn.Module):
    """MscaleDNN with one subnetwork per scale: ``f(v) = Σ_i f_i(a_i v)``.

    Each subnetwork is an MLP ``in_dim → hidden → out_dim`` with its own parameters (drawn one subnetwork after
    the other from ``generator``); the output squashing (if any) is applied to the sum.

    Examples
    --------
    >>> net = MscaleSum(1, [8], 1, scales=[1, 4], activation="srelu", generator=torch.Generator())
    >>> len(net.subnets), net.scale_factors.tolist()
    (2, [1.0, 4.0])
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, *, scales: Sequence[float],
                 activation: str = "s2relu", output: str | None = None, generator: torch.Generator,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"):
        super().__init__()
        values = _check_scales(scales)
        self.register_buffer("scale_factors", torch.as_tensor(values, dtype=torch.float64))
        self.subnets = nn.ModuleList(_stack([in_dim, *hidden, out_dim], activation, generator) for _ in values)
        self.output = output
        self.to(device=device, dtype=dtype)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        out = sum(net(a * v) for net, a in zip(self.subnets, self.scale_factors))
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def extra_repr(self) -> str:
        return f"scales={self.scale_factors.tolist()}, output={self.output}"
