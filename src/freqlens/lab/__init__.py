"""The Frequency Principle lab: families of experiments, models, optimizers, monitors and the training loop.

``freqlens.lab.run(name, **overrides)`` runs a named experiment into the run store and returns a
:class:`freqlens.report.Run`; ``freqlens.lab.resume(run_id)`` completes a killed one.
"""

from __future__ import annotations

from freqlens.lab.config import TrainConfig
from freqlens.lab.experiments import EXPERIMENTS, FAMILIES, resolve_config
from freqlens.lab.families.fp1d import Fp1dConfig
from freqlens.lab.monitors import FrequencyMonitor, Monitor, convergence_step

Config = Fp1dConfig  # the 1-D lab's config under its freqlens 0.1 name

__all__ = ["Config", "EXPERIMENTS", "FAMILIES", "FrequencyMonitor", "Fp1dConfig", "Monitor", "TrainConfig",
           "convergence_step", "fit", "mlp", "resolve_config", "resume", "run"]


def run(experiment: str = "fp1d", **kwargs):
    """Run a named experiment (see :data:`EXPERIMENTS`); keywords are config overrides plus ``runs_dir``,
    ``quiet`` and ``report``. Returns the stored :class:`~freqlens.report.Run`."""
    from freqlens.lab.api import run as _run

    return _run(experiment, **kwargs)


def resume(run_id: str, **kwargs):
    """Complete an interrupted or killed run (see :func:`freqlens.lab.api.resume`)."""
    from freqlens.lab.api import resume as _resume

    return _resume(run_id, **kwargs)


def __getattr__(name: str):
    if name == "mlp":
        from freqlens.lab.models import mlp

        return mlp
    if name == "fit":
        from freqlens.lab.train import fit

        return fit
    raise AttributeError(name)
