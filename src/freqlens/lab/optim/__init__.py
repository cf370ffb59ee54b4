"""Optimizers of the lab (see :mod:`freqlens.lab.optim.base` for the protocol).

:func:`make_optimizer` turns a config's ``optimizer`` name into an object following the protocol.
"""

from __future__ import annotations

from freqlens.errors import ConfigError
from freqlens.lab.optim.base import UNITS, OnStep, Optimizer, StepInfo
from freqlens.lab.optim.torch_optim import TORCH_OPTIMIZERS, TorchOptimizer, make_torch_optimizer

__all__ = ["OPTIMIZERS", "UNITS", "OnStep", "Optimizer", "StepInfo", "TorchOptimizer", "make_optimizer",
           "make_torch_optimizer"]

OPTIMIZERS = TORCH_OPTIMIZERS


def make_optimizer(cfg, problem, seed: int) -> Optimizer:
    """The optimizer ``cfg.optimizer`` names, over ``problem.model``'s parameters (``seed`` seeds its sampler)."""
    if cfg.optimizer in TORCH_OPTIMIZERS:
        opt = make_torch_optimizer(cfg.optimizer, problem.model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                   nesterov=cfg.nesterov)
        return TorchOptimizer(opt, batch_size=problem.batch_size, seed=(seed + 0x9E3779B97F4A7C15) % 2**64)
    raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {cfg.optimizer!r}")
