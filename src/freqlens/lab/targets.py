"""1-D targets on the periodic grid [-pi, pi) (endpoint excluded, so sin(kx) sits in DFT bin k)."""

from __future__ import annotations

import numpy as np

from freqlens.lab.config import Config
from freqlens.spectrum.dft import periodic_grid


def target_values(cfg: Config, x: np.ndarray) -> np.ndarray:
    """The target function of ``cfg`` evaluated at ``x`` (float64)."""
    x = np.asarray(x, dtype=float)
    if cfg.target == "sines":
        return sum(a * np.sin(k * x) for k, a in zip(cfg.freqs, cfg.amps))
    # periodic step: one level per third of the period [-pi, pi)
    phase = np.mod(x + np.pi, 2 * np.pi) / (2 * np.pi)  # in [0, 1)
    idx = np.minimum((phase * 3).astype(int), 2)
    return np.asarray(cfg.levels, dtype=float)[idx]


def grids(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """(training grid, measurement grid) as float64 arrays on [-pi, pi)."""
    x_train = periodic_grid(cfg.n_train)
    x_eval = x_train if cfg.n_eval in (0, cfg.n_train) else periodic_grid(cfg.n_eval)
    return x_train, x_eval
