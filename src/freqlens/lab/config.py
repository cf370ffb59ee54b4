"""Configuration of a lab run: :class:`TrainConfig` (what every family shares) and one parse/coerce/validate for
any config dataclass.

Resolution order: the family's config defaults ← the experiment's settings ← user overrides (``--set key=value``
on the CLI, keywords in Python). Everything is validated - types, ranges, and the memory the run will need -
before a run folder is created, so a bad config never leaves anything behind.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, fields
from typing import Any, get_args, get_origin, get_type_hints

from freqlens.errors import ConfigError

# the names freqlens.lab.optim.make_optimizer knows (freqlens.lab.optim.OPTIMIZERS; a test keeps them equal)
OPTIMIZERS = ("adam", "sgd", "rmsprop", "lbfgs", "cg", "bfgs", "powell", "pso", "cmaes")
DTYPES = ("float32", "float64")
MAX_STEPS = 10**9  # a billion optimizer units: decades of training on any machine
MAX_SEEDS = 10_000
MAX_SEED = 2**63 - 1


def machine_threads() -> int:
    """CPU threads this process may use (its affinity where the OS says, else the core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class TrainConfig:
    """Settings every family shares: seeds, budget in the optimizer's unit, schedules, device, precision.

    Families extend it (a dataclass subclass) with their data, model and measurement settings, and override
    :meth:`validate` (calling ``super().validate()``), :meth:`variants` and :meth:`memory_bytes`.
    """

    experiment: str = ""
    # --- optimisation -------------------------------------------------------------------------------------
    optimizer: str = "adam"
    lr: float = 2e-4
    momentum: float = 0.9  # SGD only
    nesterov: bool = False  # SGD only: Nesterov momentum
    search_sigma: float = 0.1  # pso, cmaes only: scale of the search around the initial parameters
    popsize: int = 0  # pso, cmaes only: swarm / population size; 0 = the library's default
    steps: int = 3000  # in the optimizer's unit (the family says which: steps, epochs, evaluations)
    seed: int = 0
    seeds: int = 1  # independently initialised models (seed, seed+1, ...)
    dtype: str = "float32"
    device: str = "auto"  # "auto" = cuda if available else cpu
    threads: int = 0  # CPU threads for torch while training; 0 = torch's default (all cores)
    # --- schedules ----------------------------------------------------------------------------------------
    eval_every: int = 10
    checkpoint_every: int = 500

    # ------------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """The config stored with a run (keys this version does not know are ignored; missing ones default)."""
        known = {f.name for f in fields(cls)}
        try:
            cfg = cls(**{k: coerce(cls, k, v) for k, v in data.items() if k in known})
        except ConfigError as exc:
            raise ConfigError(f"stored config is not valid: {exc}") from None
        cfg.validate()
        return cfg

    def variants(self) -> list[tuple[str, "TrainConfig"]]:
        """The trained configurations: ``[(label, config)]``; one unlabelled for a plain run."""
        return [("", self)]

    def check_overrides(self, given: set[str]) -> None:
        """Refuse overrides that make no sense together for this family (called with the keys the user set)."""

    def memory_bytes(self) -> int:
        """Peak memory one member of this config needs, estimated before anything is allocated."""
        return 0

    def memory_summary(self) -> str:
        """What :meth:`memory_bytes` counts, in a few words (for the refusal message)."""
        return "model, optimizer state and recorded arrays"

    def validate(self) -> "TrainConfig":
        """Raise :class:`ConfigError` naming the first bad field and its accepted values."""
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("dtype", self.dtype, DTYPES)
        if not (self.device in ("auto", "cpu", "mps") or self.device == "cuda"
                or (self.device.startswith("cuda:") and self.device[5:].isdigit())):
            raise ConfigError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}")
        positive_float("lr", self.lr)
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        positive_float("search_sigma", self.search_sigma)
        if self.popsize == 1 or not 0 <= self.popsize <= 100_000:
            raise ConfigError(f"popsize must be 0 (the optimizer's default) or an integer in [2, 100000], "
                              f"got {self.popsize}")
        int_range("steps", self.steps, 1, MAX_STEPS)
        int_range("seeds", self.seeds, 1, MAX_SEEDS)
        int_range("seed", self.seed, 0, MAX_SEED - self.seeds + 1)
        cores = machine_threads()
        if not 0 <= self.threads <= cores:
            raise ConfigError(f"threads must be between 0 (torch's default) and {cores} (the CPU threads this "
                              f"process may use), got {self.threads}")
        int_range("eval_every", self.eval_every, 1, MAX_STEPS)
        if self.eval_every > self.steps:
            raise ConfigError(f"eval_every ({self.eval_every}) must be <= steps ({self.steps})")
        int_range("checkpoint_every", self.checkpoint_every, 1, MAX_STEPS)
        return self


# ---------------------------------------------------------------------------------------------------------------
# Checks shared by every config
# ---------------------------------------------------------------------------------------------------------------
def choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def int_range(name: str, value: int, minimum: int = 1, maximum: int | None = None) -> None:
    if value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be an integer <= {maximum}, got {value}")


def positive_float(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a finite number > 0, got {value}")


def check_memory(cfg: TrainConfig, what: str = "this run", *, stacked: int = 1) -> None:
    """Refuse, with the figures, a config whose estimated memory exceeds what the machine has available.
    ``stacked``: members held at once (seeds trained as one stacked model: each needs its own memory, and its
    own network is kept beside the stack)."""
    from freqlens._memory import available_memory

    need = cfg.memory_bytes() * max(int(stacked), 1)
    have = available_memory()
    if need > have:
        extra = f", {stacked} seeds stacked (batch_seeds)" if stacked > 1 else ""
        raise ConfigError(f"{what} needs about {_gib(need)} of memory ({cfg.memory_summary()}{extra}) but "
                          f"{_gib(have)} are available; reduce it"
                          + (" or set batch_seeds=off" if stacked > 1 else ""))


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


# ---------------------------------------------------------------------------------------------------------------
# Overrides: typed coercion of Python values and of CLI strings, for any config dataclass
# ---------------------------------------------------------------------------------------------------------------
def keys(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name != "experiment")


def coerce(cls: type, key: str, value: Any) -> Any:
    """Convert ``value`` (a Python value or a CLI string) to the type of field ``key`` of ``cls``."""
    hints = get_type_hints(cls)
    if key not in hints:
        raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(keys(cls))}")
    hint = hints[key]
    try:
        if get_origin(hint) is list:
            (item,) = get_args(hint)
            if isinstance(value, str):
                text = value.strip().strip("[]()")
                parts = [p for p in text.replace(" ", ",").split(",") if p]
            elif isinstance(value, (list, tuple)):
                parts = list(value)
            else:
                parts = [value]
            return [_scalar(item, p) for p in parts]
        return _scalar(hint, value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{key} expects {_type_name(hint)}, got {value!r}") from None


def _scalar(typ: type, value: Any) -> Any:
    if typ is bool:
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(value, (bool, int)) and value in (0, 1):
            return bool(value)
        raise ValueError(value)
    if typ is int:
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        f = float(value)
        if not f.is_integer():  # 2.5, nan and inf are not integers
            raise ValueError(value)
        return int(f)
    if typ is float:
        if isinstance(value, bool):
            raise ValueError(value)
        f = float(value)
        if math.isnan(f):
            raise ValueError(value)
        return f
    if typ is str:
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    raise TypeError(typ)


def _type_name(hint: Any) -> str:
    if get_origin(hint) is list:
        return f"a comma-separated list of {get_args(hint)[0].__name__}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(hint, str(hint))


def split_set(items: list[str]) -> dict[str, str]:
    """CLI ``--set key=value`` items as ``{key: text}`` (typed later, by the experiment's config class)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        if key == "experiment":
            raise ConfigError("experiment is chosen by name (freqlens run NAME), not with --set")
        if key in out:
            raise ConfigError(f"--set {key} is given twice")
        out[key] = value
    return out


def parse_set(items: list[str], cls: type | None = None) -> dict[str, Any]:
    """Parse CLI ``--set key=value`` items into overrides typed for config class ``cls`` (default: 1-D)."""
    if cls is None:
        from freqlens.lab.families.fp1d import Fp1dConfig as cls
    return {k: coerce(cls, k, v) for k, v in split_set(items).items()}
