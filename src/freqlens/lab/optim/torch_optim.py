"""torch.optim optimizers on a :class:`~freqlens.lab.family.Problem`: full batch (one update per step) or
minibatches (one epoch per step, batches drawn by a seeded sampler the optimizer owns).
"""

from __future__ import annotations

from typing import Any

import torch

from freqlens.errors import ConfigError
from freqlens.lab.optim.base import OnStep, StepInfo

TORCH_OPTIMIZERS = ("adam", "sgd")


def make_torch_optimizer(name: str, params, *, lr: float, momentum: float = 0.9,
                         nesterov: bool = False) -> torch.optim.Optimizer:
    """``"adam"`` (torch.optim.Adam) or ``"sgd"`` (torch.optim.SGD with ``momentum``, optionally Nesterov)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        if nesterov and momentum <= 0:
            raise ConfigError("nesterov needs momentum > 0")
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov)
    raise ConfigError(f"optimizer must be one of {', '.join(TORCH_OPTIMIZERS)}; got {name!r}")


class TorchOptimizer:
    """A torch optimizer driven step by step.

    Full batch (``problem.batch_size == 0``): step ``s`` is the state after ``s`` updates; each boundary's forward
    pass is the one the next update differentiates, so its outputs reach ``on_step`` for free. Minibatch: step
    ``s`` is the state after ``s`` epochs; each epoch visits a permutation of the training set drawn from the
    optimizer's own generator (seeded, saved in :meth:`state_dict`), in slices of the data tensors.
    """

    name = "torch"
    exact_resume = True

    def __init__(self, optimizer: torch.optim.Optimizer, *, batch_size: int = 0, seed: int = 0):
        self.optimizer = optimizer
        self.batch_size = int(batch_size)
        self.unit = "epoch" if self.batch_size else "step"
        self.generator = torch.Generator().manual_seed(int(seed))
        self.epoch_loss: float | None = None
        self.updates = 0

    def run(self, problem: Any, start: int, stop: int, on_step: OnStep) -> None:
        if self.batch_size:
            self._run_minibatch(problem, start, stop, on_step)
            return
        opt = self.optimizer
        for step in range(start, stop + 1):
            loss, out = problem.loss_and_outputs()
            on_step(step, StepInfo(loss=loss.detach(), outputs=out.detach(), evaluations=step + 1, iterations=step))
            if step == stop:
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def _run_minibatch(self, problem: Any, start: int, stop: int, on_step: OnStep) -> None:
        opt, model, x, y = self.optimizer, problem.model, problem.x, problem.y
        n, bs = x.shape[0], self.batch_size
        for epoch in range(start, stop + 1):
            on_step(epoch, StepInfo(loss=self.epoch_loss, evaluations=self.updates, iterations=self.updates))
            if epoch == stop:
                break
            model.train()
            order = torch.randperm(n, generator=self.generator).to(x.device)
            total = torch.zeros((), dtype=torch.float64, device=x.device)
            for i in range(0, n, bs):
                idx = order[i:i + bs]
                loss = problem.loss(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * idx.numel()
            self.updates += (n + bs - 1) // bs
            self.epoch_loss = float(total) / n

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                "epoch_loss": self.epoch_loss, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if "generator" in state:
            self.generator.set_state(state["generator"])
            self.epoch_loss = state.get("epoch_loss")
            self.updates = int(state.get("updates", 0))
