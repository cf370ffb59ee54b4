"""Optimizers of the lab (see :mod:`freqlens.lab.optim.base` for the protocol)."""

from freqlens.lab.optim.base import UNITS, Optimizer, StepInfo

__all__ = ["UNITS", "Optimizer", "StepInfo"]
