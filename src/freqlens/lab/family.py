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
        ``loss(outputs, targets) -> 0-d tensor`` (mean over the batch); ``loss_name`` names it in the store.
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
    eval_batch : int
        Rows per slice when the model is evaluated on a whole set (:meth:`predict`).
    data : dict
        Other tensors the family's monitors need (e.g. the test labels).
    """

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = mse
    batch_size: int = 0
    evaluate: Callable[["Problem", Any], dict[str, Any]] | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    loss_name: str = "mse"
    eval_batch: int = 8192
    data: dict[str, Any] = field(default_factory=dict)

    def loss_and_outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Full-batch forward pass on the training set (with grad): ``(loss, outputs)``."""
        out = self.model(self.x)
        return self.loss(out, self.y), out

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 8192) -> torch.Tensor:
        """``model(x)`` in evaluation mode without grad, in slices of ``batch`` rows (bounded memory on large
        evaluation sets); the model's training mode is restored."""
        was_training = self.model.training
        self.model.eval()
        try:
            if x.shape[0] <= batch:
                return self.model(x)
            return torch.cat([self.model(x[i:i + batch]) for i in range(0, x.shape[0], batch)])
        finally:
            self.model.train(was_training)

    def outputs_for(self, train_outputs: Any) -> dict[str, Any]:
        """The outputs every monitor source needs now (see :attr:`evaluate`)."""
        if self.evaluate is not None:
            return self.evaluate(self, train_outputs)
        return {"train": train_outputs if train_outputs is not None else self.predict(self.x)}


# ---------------------------------------------------------------------------------------------------------------
# Families and experiments
# ---------------------------------------------------------------------------------------------------------------
class Family:
    """A family of experiments. Subclass it, set the class attributes, override the methods, and register an
    instance with :func:`register_family`.

    Attributes
    ----------
    name : str
        Registry name (``"fp1d"``, ``"classify"``, ...).
    config : type
        Its config dataclass (a :class:`~freqlens.lab.config.TrainConfig` subclass).
    unit : str
        What one optimizer step is for this family by default (``"step"``, ``"epoch"``; the optimizer may say
        otherwise, e.g. ``"evaluation"`` for derivative-free methods).
    """

    name: str = ""
    config: type = object
    unit: str = "step"

    def build(self, cfg, seed: int, device: torch.device, dtype: torch.dtype) -> Problem:
        """The model, data and loss of one member (``seed`` initialises the model; data seeds are in ``cfg``)."""
        raise NotImplementedError

    def monitors(self, cfg, problem: Problem) -> list:
        """The monitors of one member (objects following :class:`~freqlens.lab.monitors.base.Monitor`)."""
        return []

    def views(self, cfg) -> list[dict[str, Any]]:
        """The report's views of a run of ``cfg`` (plain JSON: kind, metric/summary/file, title, options)."""
        return []

    def metric_axes(self, cfg) -> dict[str, str]:
        """``{metric: axis name}`` of every metric a member records, ``loss`` and ``count`` included."""
        return {"loss": "", "count": "counter"}

    def unit_of(self, cfg) -> str:
        """What one step of a run of ``cfg`` counts: the family's unit for torch's first-order optimizers,
        else the optimizer's (iterations for L-BFGS, objective evaluations for scipy and nevergrad)."""
        from freqlens.lab.optim import SPECS

        spec = SPECS.get(cfg.optimizer)
        if spec is None or spec.library == "torch" and spec.name != "lbfgs":
            return self.unit
        return spec.unit

    def n_params(self, cfg) -> int | None:
        """Parameters of one member's model, known from the config (for up-front size checks), or None."""
        return None

    def prepare(self, cfg):
        """Settings derived from the config before the run is stored (e.g. a learning rate computed from the
        model); returns the config to store. Default: ``cfg`` as it is."""
        return cfg

    def lockstep(self, cfg) -> bool:
        """Whether the seeds of one variant of ``cfg`` may be trained as one stacked model
        (:mod:`freqlens.lab.lockstep`). Default: no."""
        return False

    def check(self, cfg) -> None:
        """Extra up-front checks that need more than the config's own validation (e.g. building the monitors
        of each variant once so that an untrackable target fails before anything is stored)."""


@dataclass(frozen=True)
class Experiment:
    """A named experiment: a family plus settings."""

    name: str
    family: str
    description: str
    settings: dict[str, Any] = field(default_factory=dict)


FAMILIES: dict[str, Family] = {}
EXPERIMENTS: dict[str, Experiment] = {}


def register_family(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def register_experiment(experiment: Experiment) -> Experiment:
    if experiment.family not in FAMILIES:
        raise ValueError(f"experiment {experiment.name!r} names an unknown family {experiment.family!r}")
    EXPERIMENTS[experiment.name] = experiment
    return experiment
