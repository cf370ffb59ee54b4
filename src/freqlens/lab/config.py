"""Experiment configuration: one flat, validated dataclass.

Resolution order: :class:`Config` defaults ← the experiment's settings ← user overrides (``--set key=value`` on
the CLI, keywords in Python). Everything is validated before a run folder is created, so a bad config never
leaves anything behind.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, get_args, get_origin, get_type_hints

from freqlens.errors import ConfigError

ACTIVATIONS = ("tanh", "relu", "sigmoid", "gelu", "elu", "sin")
INITS = ("default", "normal", "xavier")
OPTIMIZERS = ("adam", "sgd")
TARGETS = ("sines", "step")
SWEEPS = ("none", "freq", "amp")
DTYPES = ("float32", "float64")


@dataclass
class Config:
    """All settings of a 1-D Frequency Principle run (see ``freqlens experiments`` for each experiment's values)."""

    experiment: str = "fp1d"
    # --- target -------------------------------------------------------------------------------------------
    target: str = "sines"  # "sines": sum_i amps[i] * sin(freqs[i] * x); "step": periodic step through `levels`
    freqs: list[int] = field(default_factory=lambda: [1, 3, 5])
    amps: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    levels: list[float] = field(default_factory=lambda: [-1.0, 0.5, 1.5])  # step target: one value per third
    n_train: int = 101  # evenly spaced training points on [-pi, pi), endpoint excluded
    n_eval: int = 0  # points of the measurement/display grid; 0 = the training grid
    # --- model --------------------------------------------------------------------------------------------
    hidden: list[int] = field(default_factory=lambda: [200, 200, 200, 100])
    activation: str = "tanh"
    init: str = "normal"  # "default" (PyTorch's), "normal" (N(0, init_std) weights and biases), "xavier"
    init_std: float = 0.0  # 0 = 1/sqrt(hidden[0]) as in the authors' notebook
    # --- optimisation -------------------------------------------------------------------------------------
    optimizer: str = "adam"
    lr: float = 2e-4
    momentum: float = 0.9  # SGD only
    steps: int = 3000
    seed: int = 0
    seeds: int = 1  # independently initialised models (seed, seed+1, ...)
    dtype: str = "float32"
    device: str = "auto"  # "auto" = cuda if available else cpu
    threads: int = 0  # CPU threads for torch while training; 0 = torch's default (all cores)
    # --- measurement --------------------------------------------------------------------------------------
    eval_every: int = 10
    checkpoint_every: int = 500
    tracked: list[int] = field(default_factory=list)  # empty = the peaks of the target's |DFT|
    max_tracked: int = 8
    threshold: float = 0.05
    hold: int = 10  # consecutive evaluations below threshold that define convergence
    # --- sweeps -------------------------------------------------------------------------------------------
    sweep: str = "none"  # "freq": sin x + high_amp*sin(k x), k in sweep_values; "amp": sin x + a*sin(high_freq x)
    sweep_values: list[float] = field(default_factory=list)
    high_freq: int = 4
    high_amp: float = 0.2

    # ------------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        known = {f.name for f in fields(cls)}
        cfg = cls(**{k: v for k, v in data.items() if k in known})
        cfg.validate()
        return cfg

    def variants(self) -> list[tuple[str, "Config"]]:
        """The trained configurations: one for a plain experiment, one per sweep value for a sweep."""
        if self.sweep == "none":
            return [("", self)]
        out = []
        for v in self.sweep_values:
            if self.sweep == "freq":
                k = int(v)
                freqs, amps, label = ([1], [1.0 + self.high_amp], f"k={k}") if k == 1 else (
                    [1, k], [1.0, self.high_amp], f"k={k}")
            else:
                freqs, amps, label = [1, self.high_freq], [1.0, float(v)], f"a={v:g}"
            out.append((label, dataclasses.replace(self, freqs=freqs, amps=amps, sweep="none", sweep_values=[],
                                                   tracked=sorted(set(freqs)))))
        return out

    def validate(self) -> "Config":
        """Raise :class:`ConfigError` naming the first bad field and its accepted values."""
        _choice("target", self.target, TARGETS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("init", self.init, INITS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("dtype", self.dtype, DTYPES)
        _choice("sweep", self.sweep, SWEEPS)
        if not (self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")
                or self.device == "mps"):
            raise ConfigError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}")
        _positive_int("n_train", self.n_train, minimum=4)
        if self.n_eval != 0:
            _positive_int("n_eval", self.n_eval, minimum=4)
        if not self.hidden:
            raise ConfigError("hidden must list at least one layer width, e.g. hidden=200,200")
        for w in self.hidden:
            if w < 1:
                raise ConfigError(f"hidden widths must be >= 1, got {self.hidden}")
        _positive_float("lr", self.lr)
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.init_std < 0 or not math.isfinite(self.init_std):
            raise ConfigError(f"init_std must be >= 0 (0 = 1/sqrt(first width)), got {self.init_std}")
        _positive_int("steps", self.steps)
        _positive_int("seeds", self.seeds)
        if self.threads < 0:
            raise ConfigError(f"threads must be >= 0 (0 = torch's default), got {self.threads}")
        _positive_int("eval_every", self.eval_every)
        if self.eval_every > self.steps:
            raise ConfigError(f"eval_every ({self.eval_every}) must be <= steps ({self.steps})")
        _positive_int("checkpoint_every", self.checkpoint_every)
        _positive_int("hold", self.hold)
        _positive_int("max_tracked", self.max_tracked)
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        if not (0.0 < self.threshold < 1.0):
            raise ConfigError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.n_eval not in (0,) and self.n_eval < self.n_train:
            raise ConfigError(f"n_eval ({self.n_eval}) must be 0 (the training grid) or >= n_train ({self.n_train})")
        grid = self.n_train  # every frequency must be resolved by the training grid (n_eval >= n_train)
        if not all(math.isfinite(a) for a in [*self.amps, *self.levels, self.high_amp, *self.sweep_values]):
            raise ConfigError("amps, levels, high_amp and sweep_values must be finite numbers")
        if len(set(self.tracked)) != len(self.tracked):
            raise ConfigError(f"tracked frequencies must be distinct, got {self.tracked}")
        if self.target == "sines":
            if not self.freqs:
                raise ConfigError("freqs must list at least one frequency")
            if len(self.amps) != len(self.freqs):
                raise ConfigError(f"amps must have one value per frequency: {len(self.freqs)} freqs, "
                                  f"{len(self.amps)} amps")
            for k in self.freqs:
                if not 1 <= k < grid / 2:
                    raise ConfigError(f"freqs must be integers in [1, {math.ceil(grid / 2) - 1}] for a "
                                      f"{grid}-point grid, got {k}")
        if self.target == "step" and len(self.levels) != 3:
            raise ConfigError(f"levels must give the step target's 3 values, got {self.levels}")
        for k in self.tracked:
            if not 1 <= k < grid / 2:
                raise ConfigError(f"tracked frequencies must be in [1, {math.ceil(grid / 2) - 1}], got {k}")
        if self.sweep == "none" and self.sweep_values:
            raise ConfigError("sweep_values needs sweep=freq or sweep=amp")
        if self.sweep != "none":
            if not self.sweep_values:
                raise ConfigError(f"sweep={self.sweep!r} needs sweep_values")
            labels = [label for label, _ in self.variants()]
            if len(set(labels)) != len(labels):
                raise ConfigError(f"sweep_values must be distinct, got {self.sweep_values}")
            if not self.high_amp > 0:
                raise ConfigError(f"high_amp must be > 0, got {self.high_amp}")
            if self.sweep == "freq":
                for v in self.sweep_values:
                    if v != int(v) or not 1 <= v < grid / 2:
                        raise ConfigError(f"freq sweep values must be integers in [1, {math.ceil(grid / 2) - 1}],"
                                          f" got {v:g}")
            else:
                if not 2 <= self.high_freq < grid / 2:
                    raise ConfigError(f"high_freq must be in [2, {math.ceil(grid / 2) - 1}] (1 is the low "
                                      f"component), got {self.high_freq}")
                for v in self.sweep_values:
                    if not (v > 0 and math.isfinite(v)):
                        raise ConfigError(f"amp sweep values must be > 0, got {v}")
        return self


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _positive_int(name: str, value: int, minimum: int = 1) -> None:
    if value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value}")


def _positive_float(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a finite number > 0, got {value}")


# ---------------------------------------------------------------------------------------------------------------
# Overrides: typed coercion of Python values and of CLI strings
# ---------------------------------------------------------------------------------------------------------------
_HINTS = get_type_hints(Config)
KEYS = tuple(f.name for f in fields(Config))


def coerce(key: str, value: Any) -> Any:
    """Convert ``value`` (a Python value or a CLI string) to the type of field ``key``; raise ConfigError."""
    if key not in _HINTS:
        raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(k for k in KEYS if k != 'experiment')}")
    hint = _HINTS[key]
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
            return [_scalar(item, p, key) for p in parts]
        return _scalar(hint, value, key)
    except ConfigError:
        raise
    except (TypeError, ValueError):
        raise ConfigError(f"{key} expects {_type_name(hint)}, got {value!r}") from None


def _scalar(typ: type, value: Any, key: str) -> Any:
    if typ is bool:
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        return bool(value)
    if typ is int:
        if isinstance(value, bool):
            raise ValueError(value)
        f = float(value)
        if not f.is_integer():
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


def parse_set(items: list[str]) -> dict[str, Any]:
    """Parse CLI ``--set key=value`` items into typed overrides."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        if key == "experiment":
            raise ConfigError("experiment is chosen by name (freqlens run NAME), not with --set")
        out[key] = coerce(key, value)
    return out
