"""A network's training loss as a function of one flat float64 vector, for optimizers that are not torch's
(scipy.optimize, nevergrad), and the size limits of those optimizers.

:class:`FlatObjective` writes a vector into the model's parameters and evaluates the full-batch loss (and, for
gradient methods, its gradient by autograd). :class:`EvaluationOptimizer` is what the scipy and nevergrad
optimizers share: the step axis counts objective evaluations, and at every step the model holds the **best
parameters evaluated so far** (see the class's Notes for why).
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any

import numpy as np
import torch

from freqlens.errors import ConfigError
from freqlens.lab.optim.base import OnStep, StepInfo

# Largest parameter count each optimizer accepts (refused above, before anything is allocated). Derivative-free
# methods need evaluations that grow with the dimension: Powell's first sweep alone makes ~10-20 evaluations per
# parameter, a particle swarm or CMA-ES needs many generations per dimension, and CMA-ES keeps (and decomposes) an
# n×n covariance. BFGS keeps an n×n inverse Hessian: it is bounded by memory, not by a count.
MAX_PARAMS = {"powell": 5_000, "pso": 10_000, "cmaes": 2_000}
SMALL_BLAS = 2_000  # up to this many parameters, numpy's BLAS runs single-threaded inside these optimizers


def count_parameters(model: torch.nn.Module) -> int:
    """Trainable scalars of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def memory_bytes(name: str, n_params: int, *, popsize: int = 0, history: int = 100) -> int:
    """Memory the state of optimizer ``name`` takes for ``n_params`` parameters (bytes, float64 vectors).

    Notes
    -----
    bfgs: the n×n inverse Hessian and the two n×n products of its update (3n² doubles); powell: the direction set
    and its copy (2n²); cmaes: covariance, eigenvectors and two work matrices (4n²) plus the population;
    pso: positions, speeds and personal bests of the swarm plus nevergrad's archive (at most 120 points);
    lbfgs: ``history`` pairs of vectors; others: a few vectors.
    """
    n = int(n_params)
    if name == "bfgs":
        return 3 * n * n * 8
    if name == "powell":
        return 2 * n * n * 8
    if name == "cmaes":
        pop = popsize or default_popsize(name, n)
        return (4 * n * n + 4 * pop * n) * 8
    if name == "pso":
        pop = popsize or default_popsize(name, n)
        return (6 * pop + 2 * 120) * n * 8
    if name == "lbfgs":
        return (2 * history + 6) * n * 8
    return 8 * n * 8


def default_popsize(name: str, n_params: int) -> int:
    """Population of ``pso`` (40, nevergrad's default) and ``cmaes`` (4 + ⌊3 ln n⌋, pycma's default)."""
    if name == "pso":
        return 40
    if name == "cmaes":
        return 4 + int(3 * math.log(max(int(n_params), 1)))
    raise ValueError(f"{name!r} has no population")


def check_size(name: str, n_params: int, *, popsize: int = 0, available: int | None = None) -> None:
    """Refuse, with the figures, an optimizer that cannot work on ``n_params`` parameters: above
    :data:`MAX_PARAMS` or beyond the memory available.

    Raises
    ------
    ConfigError
        Naming the optimizer, the parameter count and the limit.
    """
    limit = MAX_PARAMS.get(name)
    if limit is not None and n_params > limit:
        raise ConfigError(f"optimizer={name} on a network of {n_params:,} parameters: derivative-free methods need "
                          f"evaluations that grow with the parameter count, and freqlens refuses {name} above "
                          f"{limit:,}; use a smaller network (e.g. hidden=16,16)")
    if available is None:
        from freqlens._memory import available_memory

        available = available_memory()
    need = memory_bytes(name, n_params, popsize=popsize)
    if need > available:
        raise ConfigError(f"optimizer={name} on {n_params:,} parameters needs about {need / 2**30:.1f} GiB for its "
                          f"state but {available / 2**30:.1f} GiB are available; use cg or lbfgs, or a smaller "
                          "network")


@functools.lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    return ThreadpoolController()


def few_blas_threads(n_params: int):
    """A context in which numpy's BLAS (not torch's threads) runs on one thread when ``n_params <= SMALL_BLAS``.

    scipy's BFGS updates an n×n matrix and pycma decomposes one at every generation; for small n, BLAS threads
    only contend, badly so when other processes share the cores (measured on a loaded 2-core machine: a 97×97
    ``eigh`` took 120 ms with OpenBLAS's 2 threads and 2.6 ms with one; a BFGS iteration on 321 parameters 80 ms).
    """
    controller = _blas_controller()
    if controller is None or n_params > SMALL_BLAS:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


class FlatObjective:
    """The full-batch training loss of ``problem`` as a function of a flat float64 vector.

    The vector lists the trainable parameters in ``model.parameters()`` order, each flattened (the layout of
    :func:`torch.nn.utils.parameters_to_vector`). :meth:`set` writes a vector into the model (cast to the model's
    dtype and device); :meth:`loss` evaluates without gradient, :meth:`loss_and_grad` with the gradient by
    autograd (float64 numpy, for scipy).
    """

    def __init__(self, problem: Any):
        self.problem = problem
        self.params = [p for p in problem.model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        self.size = sum(p.numel() for p in self.params)

    def vector(self) -> np.ndarray:
        """The model's current parameters as a float64 vector (a copy)."""
        with torch.no_grad():
            flat = torch.nn.utils.parameters_to_vector(self.params)
        return flat.detach().to(device="cpu", dtype=torch.float64).numpy().copy()

    def set(self, x: np.ndarray) -> None:
        """Write ``x`` into the model's parameters (in place: optimizers holding them see the change)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if x.size != self.size:
            raise ValueError(f"x has {x.size} values, the model has {self.size} parameters")
        p0 = self.params[0]
        flat = torch.from_numpy(x).to(device=p0.device, dtype=p0.dtype)
        with torch.no_grad():
            i = 0
            for p in self.params:
                p.copy_(flat[i:i + p.numel()].view_as(p))
                i += p.numel()

    def loss(self, x: np.ndarray | None = None) -> tuple[float, torch.Tensor]:
        """``(loss, outputs)`` at ``x`` (the model's current parameters when ``None``), without gradient."""
        if x is not None:
            self.set(x)
        with torch.no_grad():
            out = self.problem.model(self.problem.x)
            loss = self.problem.loss(out, self.problem.y)
        return float(loss), out.detach()

    def loss_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray, torch.Tensor]:
        """``(loss, gradient as float64 numpy, outputs)`` at ``x``."""
        self.set(x)
        out = self.problem.model(self.problem.x)
        loss = self.problem.loss(out, self.problem.y)
        grads = torch.autograd.grad(loss, self.params)
        g = torch.cat([gi.reshape(-1) for gi in grads]).detach().to(device="cpu", dtype=torch.float64).numpy()
        return float(loss.detach()), g, out.detach()


class EvaluationOptimizer:
    """Base of the optimizers whose unit is one objective evaluation (scipy.optimize, nevergrad).

    Step ``s`` is the state after ``s`` objective evaluations (step 0: the initial parameters, measured by a forward
    pass that is not counted). ``run(problem, start, stop, on_step)`` evaluates the objective exactly
    ``stop - start`` times, calling ``on_step`` after each evaluation.

    Notes
    -----
    **What a step shows: the best point so far.** At step ``s`` the model holds the parameters with the lowest loss
    among the initial ones and the ``s`` evaluated points, and ``StepInfo`` carries that loss and those outputs.
    The points an optimizer evaluates are mostly probes - line-search trials (CG, BFGS, Powell), particles of a
    swarm, samples of a CMA-ES generation - and a probe can be far worse than where the method stands; the best
    point is what the run would return if stopped at ``s``, it never gets worse, and for CG, BFGS and Powell it is
    (up to line-search trials that improve before the line search ends) the method's own current iterate. Probes
    are evaluated and counted, not measured.

    ``StepInfo.evaluations`` counts the objective evaluations made, ``StepInfo.iterations`` the method's
    iterations (scipy: its callback; nevergrad: completed generations of ``popsize`` evaluations).
    """

    unit = "evaluation"
    name = ""
    exact_resume = False

    def __init__(self, problem: Any):
        self.objective = FlatObjective(problem)
        self.step = 0
        self.evaluations = 0
        self.iterations = 0
        self.best_loss = math.inf
        self.best_x: np.ndarray | None = None
        self.best_outputs: torch.Tensor | None = None
        self._model_at_best = False

    # -- bookkeeping shared by the subclasses ----------------------------------------------------------------
    def _begin(self, start: int) -> None:
        """Measure the starting point (the initial parameters, or the best of a restored state)."""
        if self.best_x is None:
            self.best_x = self.objective.vector()
        if start != self.step:
            raise ValueError(f"{self.name}: asked to start at step {start} but its state is at step {self.step}")
        loss, out = self.objective.loss(self.best_x)
        self.best_loss = loss if self.step == 0 or not math.isfinite(self.best_loss) else self.best_loss
        self.best_outputs = out
        self._model_at_best = True

    def _evaluated(self, x: np.ndarray, loss: float, outputs: torch.Tensor) -> None:
        """Count one evaluation of ``x`` (the model holds ``x``) and keep it if it is the best so far."""
        self.step += 1
        self.evaluations += 1
        if loss < self.best_loss:  # NaN never is
            self.best_loss, self.best_x, self.best_outputs = loss, np.array(x, dtype=np.float64), outputs
            self._model_at_best = True
        else:
            self._model_at_best = False

    def _emit(self, on_step: OnStep) -> None:
        """``on_step`` for the current step, with the model holding the best parameters."""
        if not self._model_at_best:
            self.objective.set(self.best_x)
            self._model_at_best = True
        on_step(self.step, StepInfo(loss=self.best_loss, outputs=self.best_outputs, evaluations=self.evaluations,
                                    iterations=self.iterations))

    def _common_state(self) -> dict[str, Any]:
        best = torch.from_numpy(self.best_x.copy()) if self.best_x is not None else torch.zeros(0, dtype=torch.float64)
        return {"step": self.step, "evaluations": self.evaluations, "iterations": self.iterations,
                "best_loss": float(self.best_loss), "best_x": best}

    def _load_common(self, state: dict[str, Any]) -> None:
        best = state["best_x"]
        if not isinstance(best, torch.Tensor) or best.dim() != 1:
            raise ValueError("optimizer state: best_x must be a 1-D tensor")
        if best.numel() not in (0, self.objective.size):
            raise ValueError(f"optimizer state holds {best.numel()} parameters, the model has {self.objective.size}")
        self.step = int(state["step"])
        self.evaluations = int(state["evaluations"])
        self.iterations = int(state["iterations"])
        self.best_loss = float(state["best_loss"])
        self.best_x = best.to(torch.float64).numpy().copy() if best.numel() else None
