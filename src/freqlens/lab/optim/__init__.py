"""Optimizers of the lab (see :mod:`freqlens.lab.optim.base` for the protocol).

:func:`make_optimizer` turns a config's ``optimizer`` name into an object following the protocol:

========== ====================================== ============ ============ =====================================
name       class                                  unit         exact resume a step is
========== ====================================== ============ ============ =====================================
adam       TorchOptimizer (torch.optim.Adam)      step/epoch   yes          one update (full batch) or one epoch
sgd        TorchOptimizer (SGD, momentum,         step/epoch   yes          idem
           Nesterov)
rmsprop    TorchOptimizer (torch.optim.RMSprop)   step/epoch   yes          idem
lbfgs      TorchLBFGS (torch.optim.LBFGS)         iteration    yes          one L-BFGS iteration (line search
                                                                            included), full batch
cg         ScipyOptimizer (scipy CG)              evaluation   no (warm)    one objective evaluation (f and ∇f)
bfgs       ScipyOptimizer (scipy BFGS)            evaluation   no (warm)    idem
powell     ScipyOptimizer (scipy Powell)          evaluation   no (warm)    one objective evaluation (f only)
pso        NevergradOptimizer (RealSpacePSO)      evaluation   yes          idem
cmaes      NevergradOptimizer (ParametrizedCMA)   evaluation   yes          idem
========== ====================================== ============ ============ =====================================

With the unit "evaluation" a run's ``steps`` is its budget of objective evaluations and ``eval_every`` counts
evaluations; each step shows the best point evaluated so far (:class:`~freqlens.lab.optim.flat.EvaluationOptimizer`).
"""

from __future__ import annotations

from dataclasses import dataclass

from freqlens.errors import ConfigError
from freqlens.lab.optim.base import UNITS, OnStep, Optimizer, StepInfo
from freqlens.lab.optim.flat import MAX_PARAMS, EvaluationOptimizer, FlatObjective, check_size, count_parameters
from freqlens.lab.optim.nevergrad_optim import NevergradOptimizer
from freqlens.lab.optim.scipy_optim import ScipyOptimizer
from freqlens.lab.optim.torch_optim import TORCH_OPTIMIZERS, TorchLBFGS, TorchOptimizer, make_torch_optimizer

__all__ = ["MAX_PARAMS", "OPTIMIZERS", "SPECS", "UNITS", "EvaluationOptimizer", "FlatObjective",
           "NevergradOptimizer", "OnStep", "Optimizer", "OptimizerSpec", "ScipyOptimizer", "StepInfo", "TorchLBFGS",
           "TorchOptimizer", "check_size", "make_optimizer", "make_torch_optimizer"]


@dataclass(frozen=True)
class OptimizerSpec:
    """What a named optimizer is, known before it is made (for the run's record and up-front checks)."""

    name: str
    library: str  # "torch", "scipy" or "nevergrad"
    unit: str  # with batch_size = 0; torch's first-order methods count epochs with minibatches
    exact_resume: bool
    gradient: bool  # uses the gradient
    minibatch: bool  # accepts batch_size > 0
    resume_note: str = ""

    def unit_for(self, batch_size: int = 0) -> str:
        return "epoch" if batch_size and self.minibatch else self.unit


_SCIPY_NOTE = ScipyOptimizer.resume_note
SPECS = {s.name: s for s in [
    OptimizerSpec("adam", "torch", "step", True, True, True),
    OptimizerSpec("sgd", "torch", "step", True, True, True),
    OptimizerSpec("rmsprop", "torch", "step", True, True, True),
    OptimizerSpec("lbfgs", "torch", "iteration", True, True, False),
    OptimizerSpec("cg", "scipy", "evaluation", False, True, False, _SCIPY_NOTE),
    OptimizerSpec("bfgs", "scipy", "evaluation", False, True, False, _SCIPY_NOTE),
    OptimizerSpec("powell", "scipy", "evaluation", False, False, False, _SCIPY_NOTE),
    OptimizerSpec("pso", "nevergrad", "evaluation", True, False, False),
    OptimizerSpec("cmaes", "nevergrad", "evaluation", True, False, False),
]}
OPTIMIZERS = tuple(SPECS)


def make_optimizer(cfg, problem, seed: int) -> Optimizer:
    """The optimizer ``cfg.optimizer`` names, over ``problem.model``'s parameters (``seed`` seeds its sampler or,
    for pso and cmaes, its random state).

    Reads ``cfg.lr``, ``cfg.momentum``, ``cfg.nesterov`` (torch) and ``cfg.search_sigma``, ``cfg.popsize``
    (nevergrad; defaults 0.1 and 0 when the config has no such field). Refuses, before allocating the optimizer's
    state, a minibatch problem for a full-batch method and a network too large for the method
    (:func:`~freqlens.lab.optim.flat.check_size`).
    """
    name = cfg.optimizer
    if name in TORCH_OPTIMIZERS:
        opt = make_torch_optimizer(name, problem.model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                   nesterov=cfg.nesterov)
        return TorchOptimizer(opt, batch_size=problem.batch_size, seed=(seed + 0x9E3779B97F4A7C15) % 2**64)
    if name not in SPECS:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
    if problem.batch_size:
        raise ConfigError(f"optimizer={name} works on the full batch only; this problem has batch_size="
                          f"{problem.batch_size} (use adam, sgd or rmsprop for minibatches)")
    popsize = int(getattr(cfg, "popsize", 0))
    check_size(name, count_parameters(problem.model), popsize=popsize)
    if name == "lbfgs":
        return TorchLBFGS(problem.model, lr=cfg.lr)
    if SPECS[name].library == "scipy":
        return ScipyOptimizer(name, problem)
    return NevergradOptimizer(name, problem, seed=seed, sigma=float(getattr(cfg, "search_sigma", 0.1)),
                              popsize=popsize)
