"""The lab's seam: a family of experiments, the problem it builds for one member, and the registries.

A **family** is a config dataclass (extending :class:`~freqlens.lab.config.TrainConfig`), ``build(config, seed)``
returning a :class:`Problem`, ``monitors(config, problem)``, optional ``variants(config)`` (a sweep: labelled
overrides), and the report **views** it wants. An **experiment** is a family plus settings, registered by name.
The runner (:mod:`freqlens.lab.runner`) trains every member (variant × seed) of a run the same way, whatever the
family: optimizer steps, monitors on the evaluation schedule, checkpoints, resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every element (the loss of the regression families)."""
    return torch.mean((outputs - targets) ** 2)


@dataclass
class Problem:
    """Everything one member trains on.

    Attributes
    ----------
    model : nn.Module
        On the run's device and dtype.
    x, y : Tensor
        Training inputs and targets on the device (the whole training set; minibatches are slices of it).
    loss : callable
        ``loss(outputs, targets) -> 0-d tensor`` (mean over the batch).
    batch_size : int
        0 = full batch (every step sees all of ``x``); else the minibatch size.
    evaluate : callable, optional
        ``evaluate(problem, train_outputs) -> {source: outputs}``: the outputs each monitor source needs at an
        evaluation. ``train_outputs`` are the training-set outputs when the optimizer computed them anyway (full
        batch), else ``None``. Default: ``{"train": train_outputs or predict(x)}``.
    arrays : dict
        Static arrays stored once with the member (grids, targets, images), numpy only.
    info : dict
        JSON-able facts about the member (e.g. the tracked frequencies), stored in the index.
    """

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = mse
    batch_size: int = 0
    evaluate: Callable[["Problem", Any], dict[str, Any]] | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def loss_and_outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Full-batch forward pass on the training set (with grad): ``(loss, outputs)``."""
        out = self.model(self.x)
        return self.loss(out, self.y), out

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 8192) -> torch.Tensor:
        """``model(x)`` without grad, in slices of ``batch`` rows (bounded memory on large evaluation sets)."""
        if x.shape[0] <= batch:
            return self.model(x)
        return torch.cat([self.model(x[i:i + batch]) for i in range(0, x.shape[0], batch)])

    def outputs_for(self, train_outputs: Any) -> dict[str, Any]:
        """The outputs every monitor source needs now (see :attr:`evaluate`)."""
        if self.evaluate is not None:
            return self.evaluate(self, train_outputs)
        return {"train": train_outputs if train_outputs is not None else self.predict(self.x)}
