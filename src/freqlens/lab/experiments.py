"""The named experiments of the 1-D Frequency Principle lab and how a config is resolved."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from freqlens.errors import ConfigError
from freqlens.lab.config import Config, coerce


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    settings: dict[str, Any]


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in [
        Experiment(
            "fp1d",
            "sin x + sin 3x + sin 5x on 101 points of [-pi, pi); MLP 1-200-200-200-100-1 tanh, Adam 2e-4, full "
            "batch, MSE. ΔF is tracked at k = 1, 3, 5 (the target's spectral peaks): they converge in that order.",
            {},
        ),
        Experiment(
            "fp1d-sparse",
            "sin x + sin 5x learned from 60 samples, measured and drawn on a dense 1,000-point grid: the output "
            "follows the outline (k = 1) first and the oscillation (k = 5) much later.",
            {"freqs": [1, 5], "amps": [1.0, 1.0], "n_train": 60, "n_eval": 1000, "steps": 2500},
        ),
        Experiment(
            "fp1d-step",
            "a periodic step through three values (-1, 0.5, 1.5 on the thirds of the period), 1,000 samples: the "
            "output's |DFT| approaches the target's from low to high frequency (first 6 spectral peaks tracked).",
            {"target": "step", "n_train": 1000, "steps": 3000, "max_tracked": 6, "eval_every": 20,
             "threshold": 0.1},
        ),
        Experiment(
            "fp1d-freq-sweep",
            "sin x + 0.2 sin kx for k = 1..5 (tanh 3x64, Adam 1e-3, 64 points, 6,000 steps): the convergence step "
            "of the k-component grows steeply with k while the sin x component converges within ~100 steps.",
            {"sweep": "freq", "sweep_values": [1, 2, 3, 4, 5], "high_amp": 0.2, "n_train": 64,
             "hidden": [64, 64, 64], "lr": 1e-3, "steps": 6000, "eval_every": 10, "threshold": 0.05},
        ),
        Experiment(
            "fp1d-amp-sweep",
            "sin x + a sin 4x for a = 1, 1.5, ..., 3 (tanh 4x256, Adam 5e-5, 256 points, threshold 0.1): a larger "
            "amplitude speeds the high component up, but the low one still converges first.",
            {"sweep": "amp", "sweep_values": [1.0, 1.5, 2.0, 2.5, 3.0], "high_freq": 4, "n_train": 256,
             "hidden": [256, 256, 256, 256], "lr": 5e-5, "steps": 4000, "eval_every": 10, "threshold": 0.1},
        ),
    ]
}


def resolve_config(name: str, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults ← experiment ``name`` ← ``overrides`` (typed or strings), validated. Raises ConfigError."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; available: {', '.join(EXPERIMENTS)}")
    values = dict(EXPERIMENTS[name].settings)
    for key, value in (overrides or {}).items():
        if key == "experiment":
            raise ConfigError("experiment is chosen by name, not by an override")
        values[key] = coerce(key, value)
    cfg = dataclasses.replace(Config(), experiment=name, **values)
    given = set(overrides or {})
    if cfg.sweep == "none" and given & {"high_freq", "high_amp"}:
        raise ConfigError(f"{', '.join(sorted(given & {'high_freq', 'high_amp'}))} only apply to sweeps "
                          "(fp1d-freq-sweep, fp1d-amp-sweep)")
    if cfg.sweep != "none" and given & {"freqs", "amps", "tracked", "target", "levels"}:
        raise ConfigError(f"{', '.join(sorted(given & {'freqs', 'amps', 'tracked', 'target', 'levels'}))} are set "
                          "by the sweep for each variant; change sweep_values, high_freq or high_amp instead")
    return cfg.validate()
