"""The Frequency Principle lab: experiments, models, the training loop and the per-frequency monitor.

``freqlens.lab.run(name, **overrides)`` runs a named experiment into the run store and returns a
:class:`freqlens.runs.run.Run`; ``freqlens.lab.resume(run_id)`` completes a killed one.
"""

from __future__ import annotations

from freqlens.lab.config import Config
from freqlens.lab.experiments import EXPERIMENTS, resolve_config
from freqlens.lab.monitors import FrequencyMonitor, convergence_step

__all__ = ["Config", "EXPERIMENTS", "FrequencyMonitor", "convergence_step", "resolve_config", "run", "resume",
           "mlp", "fit"]


def run(experiment: str = "fp1d", **kwargs):
    """Run a named experiment (see :data:`EXPERIMENTS`); keywords are config overrides plus ``runs_dir``,
    ``quiet`` and ``report``. Returns the stored :class:`~freqlens.runs.run.Run`."""
    from freqlens.api import run as _run

    return _run(experiment, **kwargs)


def resume(run_id: str, **kwargs):
    """Complete an interrupted or killed run (see :func:`freqlens.api.resume`)."""
    from freqlens.api import resume as _resume

    return _resume(run_id, **kwargs)


def __getattr__(name: str):
    if name == "mlp":
        from freqlens.lab.models import mlp

        return mlp
    if name == "fit":
        from freqlens.lab.train import fit

        return fit
    raise AttributeError(name)
