"""Conjugate gradient, BFGS and Powell's method from :func:`scipy.optimize.minimize` on a network's flattened
float64 parameters (Ma, Xu & Zhang 2021 train with them to show the Frequency Principle without gradient descent).

scipy is called directly: nevergrad's own scipy-wrapped BFGS/Powell run scipy in a non-daemon thread that can keep
the process alive after a run.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from freqlens.lab.optim.base import OnStep
from freqlens.lab.optim.flat import EvaluationOptimizer, few_blas_threads

SCIPY_METHODS = {"cg": "CG", "bfgs": "BFGS", "powell": "Powell"}
_NEVER = 10**12  # iteration/evaluation caps handed to scipy: freqlens stops it at the budget itself


class _BudgetReached(Exception):
    """Raised inside the objective when the evaluation budget is spent (caught around ``minimize``)."""


class ScipyOptimizer(EvaluationOptimizer):
    """``cg``, ``bfgs`` or ``powell`` through :func:`scipy.optimize.minimize`; the unit is one objective evaluation.

    Parameters
    ----------
    name : {"cg", "bfgs", "powell"}
    problem : Problem
        Full batch only; the model's parameters are the variables.

    Notes
    -----
    **Objective.** ``f(x) = loss(model_x(X), Y)`` with ``x`` the flattened parameters (float64; cast to the model's
    dtype for the forward pass - use ``dtype=float64`` for line searches that trust the last digits). CG and BFGS
    get ``(f, ∇f)`` from one forward and one backward pass (``jac=True``); Powell gets ``f`` only. Every call of
    the objective is one evaluation; scipy's caps are set out of reach and tolerances to zero, so the method
    runs until the budget: the objective raises once ``stop`` evaluations are made, and ``minimize`` is left there.

    **Early ends.** When ``minimize`` returns before the budget (a line search that can no longer progress, or
    Powell's sweep without decrease) it is restarted from the best point; a restart that does not lower the loss
    means the method has converged, and the remaining steps report that point without evaluating again
    (``StepInfo.evaluations`` then stops growing).

    **Resume** (``exact_resume = False``): scipy keeps its state (search direction, inverse Hessian, direction set,
    line search) inside ``minimize`` and offers no way to save it. :meth:`state_dict` holds the best parameters
    and the counts; after :meth:`load_state_dict` the next :meth:`run` restarts the method warm from those
    parameters, so a resumed run matches an uninterrupted one up to the checkpoint and differs after it
    (:attr:`resume_note` says so in the run's record).
    """

    exact_resume = False
    resume_note = ("scipy.optimize cannot save its state: resumed warm from the best parameters of the checkpoint "
                   "(search directions and Hessian approximation rebuilt), so steps after the checkpoint differ "
                   "from an uninterrupted run")

    def __init__(self, name: str, problem: Any):
        if name not in SCIPY_METHODS:
            raise ValueError(f"name must be one of {', '.join(SCIPY_METHODS)}; got {name!r}")
        super().__init__(problem)
        self.name = name
        self.method = SCIPY_METHODS[name]
        self.restarts = 0
        self.converged = False

    def run(self, problem: Any, start: int, stop: int, on_step: OnStep) -> None:
        from scipy.optimize import minimize

        self._begin(start)
        self._emit(on_step)
        gradient = self.method != "Powell"
        pending = [False]  # an evaluation made but not reported yet

        def report() -> None:
            # step s is reported when scipy asks for evaluation s+1 (or returns): an iteration that evaluation s
            # completed has been counted by then (scipy calls back after the evaluation)
            if pending[0]:
                pending[0] = False
                self._emit(on_step)

        def fun(x: np.ndarray):
            report()
            if self.step >= stop:
                raise _BudgetReached
            if gradient:
                loss, grad, out = self.objective.loss_and_grad(x)
            else:
                loss, out = self.objective.loss(x)
            self._evaluated(x, loss, out)
            pending[0] = True
            if not math.isfinite(loss):  # scipy's line searches handle inf, not NaN
                loss = math.inf
            return (loss, np.where(np.isfinite(grad), grad, 0.0)) if gradient else loss

        def callback(xk: np.ndarray) -> None:
            self.iterations += 1

        options: dict[str, Any] = {"maxiter": _NEVER}
        if self.method == "Powell":
            options.update(maxfev=_NEVER, ftol=0.0)
        else:
            options.update(gtol=0.0)
        while self.step < stop and not self.converged:
            before = self.best_loss
            try:
                with warnings.catch_warnings(), few_blas_threads(self.objective.size):
                    warnings.filterwarnings("ignore", module=r"scipy\.optimize")  # line-search notes: see early ends
                    minimize(fun, self.best_x.copy(), jac=gradient or None, method=self.method, callback=callback,
                             options=options)
            except _BudgetReached:
                break
            report()
            self.restarts += 1
            if not self.best_loss < before:
                self.converged = True
        while self.step < stop:  # converged before the budget: the remaining steps show the final point
            self.step += 1
            self._emit(on_step)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "scipy", "name": self.name, **self._common_state(), "restarts": self.restarts,
                "converged": self.converged}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "scipy" or state.get("name") != self.name:
            raise ValueError(f"optimizer state is not that of scipy {self.name}")
        self._load_common(state)
        self.restarts = int(state["restarts"])
        self.converged = bool(state["converged"])
