"""Models of the lab: fully connected networks with a choice of activation and initialisation."""

from __future__ import annotations

import math

import torch
from torch import nn

from freqlens.errors import ConfigError


class Sin(nn.Module):
    """Element-wise sine activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "elu": nn.ELU, "sin": Sin}


def mlp(
    in_dim: int,
    hidden: list[int],
    out_dim: int,
    *,
    activation: str = "tanh",
    init: str = "default",
    init_std: float = 0.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> nn.Sequential:
    """A multilayer perceptron ``in_dim - hidden[0] - ... - out_dim`` with ``activation`` between layers.

    ``init``: ``"default"`` keeps PyTorch's (Kaiming-uniform) initialisation; ``"normal"`` draws every weight and
    bias from N(0, init_std²) (``init_std=0`` means ``1/sqrt(hidden[0])``, the authors' setting); ``"xavier"`` uses
    Xavier-uniform weights and zero biases. Parameters are drawn from ``generator`` on the CPU, then moved, so a
    seed gives the same network on every device.
    """
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    dims = [in_dim, *hidden, out_dim]
    layers: list[nn.Module] = []
    std = init_std or 1.0 / math.sqrt(hidden[0])
    for i in range(len(dims) - 1):
        # built on the meta device and filled below: nn.Linear would otherwise draw its default initialisation
        # from torch's global generator (consumed, then overwritten)
        lin = nn.Linear(dims[i], dims[i + 1], dtype=torch.float64, device="meta").to_empty(device="cpu")
        with torch.no_grad():
            if init == "default":
                bound_w = 1.0 / math.sqrt(dims[i])  # PyTorch's default: U(±1/sqrt(fan_in)) for both
                lin.weight.uniform_(-bound_w, bound_w, generator=generator)
                lin.bias.uniform_(-bound_w, bound_w, generator=generator)
            elif init == "normal":
                lin.weight.normal_(0.0, std, generator=generator)
                lin.bias.normal_(0.0, std, generator=generator)
            elif init == "xavier":
                bound = math.sqrt(6.0 / (dims[i] + dims[i + 1]))
                lin.weight.uniform_(-bound, bound, generator=generator)
                lin.bias.zero_()
            else:
                raise ConfigError(f"init must be one of default, normal, xavier; got {init!r}")
        layers.append(lin)
        if i < len(dims) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers).to(device=device, dtype=dtype)
