"""What every optimizer of the lab is: it advances a :class:`~freqlens.lab.family.Problem` from one step to another
and calls back at every step boundary.

The runner never loops itself: it hands the optimizer an ``on_step(step, info)`` callback and the range to cover.
That one shape serves optimizers that own their loop (torch: one update per step, or one epoch of minibatches per
step) and optimizers that are called back (scipy.optimize: the count of objective evaluations or iterations;
nevergrad: ask/tell). Each declares its unit, so a run's step axis says what it counts, and owns a ``state_dict``
so resume is exact where the library allows it (:attr:`Optimizer.exact_resume`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

UNITS = ("step", "epoch", "iteration", "evaluation")


@dataclass
class StepInfo:
    """What an optimizer knows at a step boundary.

    ``loss``: the training loss at the current parameters (a 0-d tensor or float; for minibatch epochs the mean
    over the epoch just finished, ``None`` before the first). ``outputs``: the model's outputs on the training
    inputs at the current parameters when the optimizer computed them anyway (full-batch gradient methods), so a
    monitor of the training outputs costs no extra forward pass; else ``None``. ``evaluations`` and
    ``iterations``: objective evaluations and optimizer iterations so far (both recorded, whatever the unit).
    """

    loss: Any = None
    outputs: Any = None
    evaluations: int = 0
    iterations: int = 0


OnStep = Callable[[int, StepInfo], None]


@runtime_checkable
class Optimizer(Protocol):
    """The protocol of an optimizer (structural).

    ``run(problem, start, stop, on_step)`` calls ``on_step(s, info)`` for every step ``s`` from ``start`` to
    ``stop`` inclusive, with ``problem.model`` holding the parameters reached after ``s`` units (step 0 is the
    initialisation), and returns after the call for ``stop``. ``on_step`` may raise to end the run early (the
    exception propagates). ``state_dict()`` holds tensors and plain containers only (it is saved with
    ``torch.save`` and loaded with ``weights_only=True``). An optimizer whose ``exact_resume`` is False says in
    its ``resume_note`` attribute (one line, for the run's record) what a resumed run does instead.
    """

    name: str
    unit: str
    exact_resume: bool

    def run(self, problem: Any, start: int, stop: int, on_step: OnStep) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
