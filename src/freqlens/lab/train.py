"""Training one member, read top to bottom.

The optimizer owns the loop (:mod:`freqlens.lab.optim`); it calls :meth:`Trainer.on_step` at every step boundary
with the model holding that step's parameters. There the trainer, in this order: saves a checkpoint when one is
due (so a resumed run re-evaluates the step it restarts from), evaluates when one is due (the loss, then every
monitor on the outputs it needs), and writes what it measured to the store at least every second.

:func:`fit` is the same loop for a bare model and a torch optimizer (full-batch MSE), for scripts and benchmarks.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import torch
from torch import nn

from freqlens.errors import DivergedError
from freqlens.lab.family import Problem
from freqlens.lab.optim.base import Optimizer, StepInfo
from freqlens.lab.optim.torch_optim import TorchOptimizer, make_torch_optimizer

FLUSH_SECONDS = 1.0  # metrics reach the index at least this often (and at every checkpoint)
PRETTY = {"delta_f": "ΔF", "e_low": "e_low", "e_high": "e_high"}


class Trainer:
    """The evaluation and checkpoint schedule of one member around its optimizer.

    ``sink(records)`` receives ``[(step, {name: {key: value}})]`` to store; ``checkpoint(step)`` saves the
    member's state; ``progress(step, text)`` moves the progress bar.
    """

    def __init__(self, problem: Problem, optimizer: Optimizer, monitors: list, *, stop: int, start: int,
                 eval_every: int, checkpoint_every: int, sink: Callable, checkpoint: Callable, progress: Callable,
                 loss_name: str = "mse"):
        self.problem, self.optimizer, self.monitors = problem, optimizer, monitors
        self.start, self.stop = start, stop
        self.eval_every, self.checkpoint_every = eval_every, checkpoint_every
        self.sink, self.checkpoint, self.progress = sink, checkpoint, progress
        self.loss_name = loss_name
        self.pending: list[tuple[int, dict[str, dict[Any, float]]]] = []
        self.flushed = time.perf_counter()
        self.last_step = start

    def run(self) -> None:
        self.optimizer.run(self.problem, self.start, self.stop, self.on_step)
        self.flush(complete=True, final=True)

    def on_step(self, step: int, info: StepInfo) -> None:
        if self.start < step < self.stop and step % self.checkpoint_every == 0:
            self.flush(complete=True)
            self.checkpoint(step)
        if step % self.eval_every == 0 or step == self.stop:
            self.evaluate(step, info)

    def evaluate(self, step: int, info: StepInfo) -> None:
        loss = self._loss_value(info)
        if not math.isfinite(loss):
            raise DivergedError(f"training diverged at step {step} (loss = {loss}); lower lr")
        outputs = self.problem.outputs_for(info.outputs)
        record: dict[str, dict[Any, float]] = {"loss": {self.loss_name: loss},
                                               "count": {"evaluations": float(info.evaluations),
                                                         "iterations": float(info.iterations)}}
        for mon in self.monitors:
            values = mon.record(step, outputs[mon.source], loss)
            for name, arr in values.items():  # monitors may share a metric and differ by key (train/test)
                record.setdefault(name, {}).update(zip(mon.axes[name][1], [float(v) for v in arr]))
        self.pending.append((step, record))
        if time.perf_counter() - self.flushed > FLUSH_SECONDS:
            self.flush()
        self.progress(step, _postfix(record))
        self.last_step = step

    def flush(self, complete: bool = False, final: bool = False) -> None:
        """Send what was measured to the store; with ``complete``, first let monitors that defer exact work
        (``flush()``, e.g. the filtering method) finish their pending records - except, before the ``final``
        flush, those that ask to finish everything in one pass at the end (``defer_to_end``: their checkpointed
        state holds the pending records, so nothing is lost, and one pass over all records costs far less than
        one per checkpoint)."""
        if complete:
            for mon in self.monitors:
                if hasattr(mon, "flush") and (final or not getattr(mon, "defer_to_end", False)):
                    for step, values in mon.flush():
                        self.pending.append((step, {name: dict(zip(mon.axes[name][1], [float(v) for v in arr]))
                                                    for name, arr in values.items()}))
        self.sink(self.pending)
        self.pending = []
        self.flushed = time.perf_counter()

    def _loss_value(self, info: StepInfo) -> float:
        if info.loss is None:  # before the first epoch: the loss of the initial model on the training set
            with torch.no_grad():
                return float(self.problem.loss(self.problem.predict(self.problem.x), self.problem.y))
        return float(info.loss.item() if hasattr(info.loss, "item") else info.loss)


def _postfix(record: dict[str, dict[Any, float]]) -> str:
    parts = [f"loss={next(iter(record['loss'].values())):.2e}"]
    for name, kv in record.items():
        if name in ("loss", "count") or name.startswith(("e_low", "e_high")) or not kv:
            continue
        keys = list(kv)
        shown = [keys[0]] if len(keys) == 1 else [keys[0], keys[-1]]
        label = PRETTY.get(name, name)
        parts += [f"{label}={kv[k]:.3f}" if len(shown) == 1 and not isinstance(k, float) else
                  f"{label}({k:.3g})={kv[k]:.3f}" if isinstance(k, float) else f"{label}({k})={kv[k]:.3f}"
                  for k in shown]
        break  # the first metric of the first monitor is enough for a progress line...
    for low, high in (("e_low", "e_high"), ("e_low_preview", "e_high_preview")):
        if record.get(low) and record.get(high):  # ...plus the filtering method's pair at its middle δ
            keys = list(record[low])
            k = keys[len(keys) // 2]
            tag = "~" if low.endswith("preview") else ""
            parts.append(f"δ={k:.3g}: e_low{tag}={record[low][k]:.3f} e_high{tag}={record[high].get(k, float('nan')):.3f}")
            break
    return " ".join(parts)


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
    """Minimise the mean squared error of ``model(x)`` against ``y`` from ``start_step`` to ``steps`` (full batch).

    ``on_eval(step, outputs, loss)`` receives the detached training outputs every ``eval_every`` steps and at the
    last; ``on_checkpoint(step)`` is called after update ``step`` when ``step % checkpoint_every == 0`` (before
    that step is evaluated). A non-finite loss at an evaluation raises :class:`DivergedError`. Returns ``steps``.
    """
    problem = Problem(model=model, x=x, y=y)

    def on_step(step: int, info: StepInfo) -> None:
        if checkpoint_every and on_checkpoint is not None and start_step < step < steps \
                and step % checkpoint_every == 0:
            on_checkpoint(step)
        if step % eval_every == 0 or step == steps:
            value = info.loss.item()
            if not math.isfinite(value):
                raise DivergedError(f"training diverged at step {step} (loss = {value}); lower lr")
            if on_eval is not None:
                on_eval(step, info.outputs, value)

    TorchOptimizer(optimizer).run(problem, start_step, steps, on_step)
    return steps


def make_optimizer(name: str, params, *, lr: float, momentum: float = 0.9) -> torch.optim.Optimizer:
    """``"adam"`` or ``"sgd"`` (with ``momentum``) over ``params`` (see :func:`make_torch_optimizer`)."""
    return make_torch_optimizer(name, params, lr=lr, momentum=momentum)
