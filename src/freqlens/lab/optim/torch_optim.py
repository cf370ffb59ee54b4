"""torch.optim optimizers on a :class:`~freqlens.lab.family.Problem`: full batch (one update per step) or
minibatches (one epoch per step, batches drawn by a seeded sampler the optimizer owns); L-BFGS (full batch, one
iteration per step).
"""

from __future__ import annotations

from typing import Any

import torch

from freqlens.errors import ConfigError
from freqlens.lab.optim.base import OnStep, StepInfo

TORCH_OPTIMIZERS = ("adam", "sgd", "rmsprop")
LBFGS_LINE_SEARCH_EVALS = 25  # torch's default cap on the strong-Wolfe line search of one L-BFGS iteration


def make_torch_optimizer(name: str, params, *, lr: float, momentum: float = 0.9,
                         nesterov: bool = False) -> torch.optim.Optimizer:
    """``"adam"`` (torch.optim.Adam), ``"sgd"`` (torch.optim.SGD with ``momentum``, optionally Nesterov) or
    ``"rmsprop"`` (torch.optim.RMSprop with torch's defaults: α = 0.99, no momentum), each with learning rate
    ``lr``."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        if nesterov and momentum <= 0:
            raise ConfigError("nesterov needs momentum > 0")
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
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
    resume_note = ""

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


class TorchLBFGS:
    """torch.optim.LBFGS, full batch, one L-BFGS iteration per step (unit ``"iteration"``).

    Parameters
    ----------
    model : nn.Module
        Its parameters are optimised.
    lr : float
        L-BFGS's initial step length (torch's default is 1; the strong-Wolfe line search then adapts it).
    history_size : int
        Correction pairs kept (torch's default 100).

    Notes
    -----
    Step ``s`` is the state after ``s`` iterations. An iteration is one ``LBFGS.step(closure)`` call with
    ``max_iter=1``: a quasi-Newton direction from the stored pairs, then a strong-Wolfe line search of at most
    ``LBFGS_LINE_SEARCH_EVALS`` evaluations. The forward pass made at each step boundary is the one the next
    iteration starts from (the closure returns it on its first call), so its outputs reach ``on_step`` for free and
    are those of the iterate, never of a line-search trial. ``StepInfo.evaluations`` counts every closure call
    (forward + backward) made so far, this boundary's included; ``StepInfo.iterations`` equals the step.
    L-BFGS keeps all its state in ``LBFGS.state_dict()`` (tensors, lists and numbers), so resume is exact. When
    torch's tolerances are met (gradient or change below 1e-7 / 1e-9) an iteration returns without moving; the
    step count goes on.
    """

    name = "lbfgs"
    unit = "iteration"
    exact_resume = True
    resume_note = ""

    def __init__(self, model: torch.nn.Module, *, lr: float = 1.0, history_size: int = 100):
        self.optimizer = torch.optim.LBFGS(model.parameters(), lr=lr, max_iter=1,
                                           max_eval=1 + LBFGS_LINE_SEARCH_EVALS, history_size=history_size,
                                           line_search_fn="strong_wolfe")
        self.evaluations = 0
        self._boundary = 0  # 1 once a boundary's evaluation is counted (a resumed run makes it again)

    def run(self, problem: Any, start: int, stop: int, on_step: OnStep) -> None:
        opt = self.optimizer
        for step in range(start, stop + 1):
            loss, out = problem.loss_and_outputs()
            self.evaluations += 1
            self._boundary = 1
            on_step(step, StepInfo(loss=loss.detach(), outputs=out.detach(), evaluations=self.evaluations,
                                   iterations=step))
            if step == stop:
                break
            first = [loss]

            def closure() -> torch.Tensor:
                opt.zero_grad(set_to_none=True)
                if first:  # the boundary's evaluation: already counted, differentiate it now
                    value = first.pop()
                else:
                    value, _ = problem.loss_and_outputs()
                    self.evaluations += 1
                value.backward()
                return value

            opt.step(closure)

    def state_dict(self) -> dict[str, Any]:
        # the evaluations before this step's boundary: a resumed run evaluates the boundary again
        return {"optimizer": self.optimizer.state_dict(), "evaluations": self.evaluations - self._boundary}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.evaluations = int(state.get("evaluations", 0))
        self._boundary = 0
