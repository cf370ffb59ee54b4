"""The built-in training loop: full-batch regression, read top to bottom.

Step ``s`` means "after ``s`` parameter updates". The loop evaluates at every multiple of ``eval_every`` and at
the last step, reusing the forward pass it needs anyway (measurement costs no extra model call when the
measurement grid is the training grid), and calls ``on_checkpoint(s)`` after update ``s`` when
``s % checkpoint_every == 0`` — before step ``s`` is evaluated, so a resumed run re-evaluates it.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from freqlens.errors import ConfigError, DivergedError


def make_optimizer(name: str, params, *, lr: float, momentum: float = 0.9) -> torch.optim.Optimizer:
    """``"adam"`` (torch.optim.Adam) or ``"sgd"`` (torch.optim.SGD with ``momentum``)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    raise ConfigError(f"optimizer must be one of adam, sgd; got {name!r}")


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    start_step: int = 0,
    eval_every: int = 10,
    on_eval: Callable[[int, torch.Tensor, float], None] | None = None,
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[int], None] | None = None,
) -> int:
    """Minimise the mean squared error of ``model(x)`` against ``y`` from ``start_step`` to ``steps``.

    ``on_eval(step, outputs, loss)`` receives the detached training-grid outputs. A non-finite loss at an
    evaluation raises :class:`DivergedError` (records up to the previous evaluation are kept by the caller).
    Returns the last step reached.
    """
    for step in range(start_step, steps + 1):
        out = model(x)
        loss = torch.mean((out - y) ** 2)
        if step % eval_every == 0 or step == steps:
            value = loss.item()
            if not math.isfinite(value):
                raise DivergedError(f"training diverged at step {step} (loss = {value}); lower lr")
            if on_eval is not None:
                on_eval(step, out.detach(), value)
        if step == steps:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if checkpoint_every and on_checkpoint is not None and (step + 1) % checkpoint_every == 0 \
                and step + 1 < steps:
            on_checkpoint(step + 1)
    return steps
