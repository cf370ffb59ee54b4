"""Particle swarm optimisation and CMA-ES from nevergrad on a network's flattened parameters, with exact resume
through a signed pickle.

nevergrad is an optional dependency (``pip install freqlens[nongd]``); it is imported when one of these optimizers
is made.
"""

from __future__ import annotations

import io
import math
import pickle
import warnings
from typing import Any

import numpy as np
import torch

from freqlens.errors import ConfigError, StoreError
from freqlens.lab.optim.base import OnStep
from freqlens.lab.optim.flat import EvaluationOptimizer, default_popsize, few_blas_threads
from freqlens.runs import signing

NEVERGRAD_METHODS = ("pso", "cmaes")
ARCHIVE_POINTS = (20, 60)  # nevergrad's archive of evaluated points, pruned to 20 when it reaches 60 (see below)


def import_nevergrad():
    """``nevergrad``, or a one-line :class:`ConfigError` saying how to install it."""
    try:
        import nevergrad
    except ImportError:
        raise ConfigError("optimizers pso and cmaes need nevergrad: pip install 'freqlens[nongd]'") from None
    return nevergrad


class NevergradOptimizer(EvaluationOptimizer):
    """``pso`` or ``cmaes`` through nevergrad's ask/tell interface; the unit is one objective evaluation.

    Parameters
    ----------
    name : {"pso", "cmaes"}
    problem : Problem
        Full batch only; the model's parameters are the variables.
    seed : int
        Seeds the optimizer's own ``numpy.random.RandomState`` (nevergrad draws every random number from the
        parametrisation's random state; the global RNG is never used).
    sigma : float
        Scale of the search around the initial parameters ``x0``: nevergrad searches ``x = x0 + sigma·z`` in the
        standardised variable ``z`` (``ng.p.Array(init=x0).set_mutation(sigma=sigma)``).
    popsize : int
        Swarm or population size; 0 = the default (:func:`~freqlens.lab.optim.flat.default_popsize`).

    Notes
    -----
    ``pso`` is ``ng.optimizers.ConfPSO(transform="identity", popsize=P)`` - nevergrad's ``RealSpacePSO``: SPSO-2011
    velocities in the standardised space (ω = 1/(2 ln 2), φ_p = φ_g = 1/2 + ln 2), the swarm drawn as
    ``x0 + sigma·N(0, I)``. (nevergrad's ``PSO`` maps the space through arctan, and its random initial speeds in
    the box throw particles to |x| ~ 10^15: wasted evaluations for network weights.) ``cmaes`` is
    ``ng.optimizers.ParametrizedCMA(popsize=P)``: pycma's CMA-ES with full covariance, mean ``x0`` and initial
    step ``sigma``. Every candidate the optimizer asks for is evaluated once (no gradient) and told its loss;
    ``StepInfo.iterations`` counts completed generations (``evaluations // popsize``).

    What each step shows is the best point so far (:class:`~freqlens.lab.optim.flat.EvaluationOptimizer`): with
    one evaluation per candidate and no noise that is nevergrad's own recommendation, the best candidate told (for
    CMA-ES up to the round-off of its standardised space, ~1e-16; once a candidate has beaten the initial point).

    **Exact resume.** nevergrad optimizers pickle (their random state included). :meth:`state_dict` stores the
    pickle as a uint8 tensor with an HMAC-SHA256 tag made with this user's key (:mod:`freqlens.runs.signing`);
    :meth:`load_state_dict` checks the tag before unpickling and refuses state it did not sign, then unpickles
    through an allow-list (nevergrad's and pycma's classes, the numpy types of arrays and random states,
    ``getattr`` of a ``RandomState`` method only). nevergrad's archive of evaluated points, which only serves its
    bookkeeping of best points here, is pruned to the 20 best when it reaches 60, so a checkpoint stays small.
    """

    exact_resume = True
    resume_note = ""

    def __init__(self, name: str, problem: Any, *, seed: int = 0, sigma: float = 0.1, popsize: int = 0):
        if name not in NEVERGRAD_METHODS:
            raise ValueError(f"name must be one of {', '.join(NEVERGRAD_METHODS)}; got {name!r}")
        if not (sigma > 0 and math.isfinite(sigma)):
            raise ValueError(f"sigma must be a finite number > 0, got {sigma}")
        if popsize < 0 or popsize == 1:
            raise ValueError(f"popsize must be 0 (the default) or >= 2, got {popsize}")
        ng = import_nevergrad()
        super().__init__(problem)
        self.name = name
        self.popsize = int(popsize) or default_popsize(name, self.objective.size)
        par = ng.p.Array(init=self.objective.vector()).set_mutation(sigma=float(sigma))
        par.random_state = np.random.RandomState(np.random.MT19937(np.random.SeedSequence(int(seed))))
        if name == "pso":
            conf = ng.optimizers.ConfPSO(transform="identity", popsize=self.popsize)
        else:
            conf = ng.optimizers.ParametrizedCMA(popsize=self.popsize)
        self.optimizer = conf(par, budget=None, num_workers=1)
        self.optimizer.pruning = ng.optimizers.utils.Pruning(*ARCHIVE_POINTS)

    def run(self, problem: Any, start: int, stop: int, on_step: OnStep) -> None:
        self._begin(start)
        self._emit(on_step)
        opt = self.optimizer
        while self.step < stop:
            with warnings.catch_warnings():  # nevergrad's notes on large or infinite losses
                warnings.filterwarnings("ignore", module=r"nevergrad\b")
                with few_blas_threads(self.objective.size):
                    candidate = opt.ask()
                x = np.asarray(candidate.value, dtype=np.float64)
                loss, out = self.objective.loss(x)
                with few_blas_threads(self.objective.size):
                    opt.tell(candidate, loss if math.isfinite(loss) else math.inf)
            self._evaluated(x, loss, out)
            self.iterations = self.evaluations // self.popsize
            self._emit(on_step)

    # -- state ---------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        blob = pickle.dumps(self.optimizer, protocol=pickle.HIGHEST_PROTOCOL)
        return {"kind": "nevergrad", "name": self.name, **self._common_state(), "popsize": self.popsize,
                "pickle": torch.frombuffer(bytearray(blob), dtype=torch.uint8),
                "tag": torch.frombuffer(bytearray(signing.sign(blob)), dtype=torch.uint8)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "nevergrad" or state.get("name") != self.name:
            raise ValueError(f"optimizer state is not that of nevergrad {self.name}")
        blob, tag = state.get("pickle"), state.get("tag")
        if not (isinstance(blob, torch.Tensor) and blob.dtype == torch.uint8 and isinstance(tag, torch.Tensor)
                and tag.dtype == torch.uint8):
            raise StoreError(f"checkpoint holds no nevergrad state for {self.name}; it cannot be resumed")
        data = blob.contiguous().numpy().tobytes()
        if not signing.verify(data, tag.contiguous().numpy().tobytes()):
            raise StoreError(f"the {self.name} state in this checkpoint is not signed with this user's freqlens key "
                             f"({signing.secret_path()}); it was not loaded - resume only runs this user made")
        optimizer = load_signed_pickle(data)
        if type(optimizer).__module__.split(".")[0] != "nevergrad":
            raise StoreError(f"the {self.name} state in this checkpoint is not a nevergrad optimizer")
        self._load_common(state)
        self.popsize = int(state["popsize"])
        self.optimizer = optimizer


# -----------------------------------------------------------------------------------------------------------------
# Unpickling what freqlens signed: an allow-list as a second fence behind the signature
# -----------------------------------------------------------------------------------------------------------------
_NUMPY = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy._core.multiarray", "_reconstruct"),
          ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"),
          ("numpy.core.multiarray", "scalar"), ("numpy._core.numeric", "_frombuffer"),
          ("numpy.core.numeric", "_frombuffer"), ("numpy.linalg", "eigh"), ("numpy.random._mt19937", "MT19937"),
          ("numpy.random._pickle", "__bit_generator_ctor"), ("numpy.random._pickle", "__randomstate_ctor"),
          ("numpy.random.bit_generator", "SeedSequence"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
          ("collections", "OrderedDict"), ("collections", "deque")}


def _randomstate_method(obj: Any, name: str) -> Any:
    """The one ``getattr`` nevergrad's pickles use: a method of a ``RandomState`` (pycma's ``randn``)."""
    if not isinstance(obj, np.random.RandomState) or name.startswith("_"):
        raise pickle.UnpicklingError(f"getattr({type(obj).__name__}, {name!r}) is not allowed")
    return getattr(obj, name)


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("builtins", "getattr"):
            return _randomstate_method
        if (module, name) in _NUMPY:
            return super().find_class(module, name)
        if module.split(".")[0] in ("nevergrad", "cma") and "." not in name:
            obj = super().find_class(module, name)
            if isinstance(obj, type) or getattr(obj, "__module__", "").split(".")[0] in ("nevergrad", "cma"):
                return obj
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a nevergrad optimizer's state")


def load_signed_pickle(data: bytes) -> Any:
    """Unpickle ``data`` (already verified by the caller) through the allow-list; refuse anything else."""
    try:
        return _AllowListUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError, ValueError) as exc:
        raise StoreError(f"optimizer state could not be restored ({str(exc).splitlines()[0][:120]})") from None
