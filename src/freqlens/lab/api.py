"""Run an experiment into the store, resume it, and draw its report: the lab's public entry points."""

from __future__ import annotations

from freqlens.report import Run, build_report
from freqlens.lab.runner import resume_run, start_run


def run(experiment: str = "fp1d", *, runs_dir=None, quiet: bool = True, report: bool = True, **overrides) -> Run:
    """Run experiment ``experiment`` with ``overrides`` (any field of its family's config) and store it.

    Returns the finished :class:`~freqlens.report.Run`. Raises :class:`freqlens.ConfigError` before anything is
    stored for a bad config, :class:`freqlens.DivergedError` (run kept, marked failed) for a non-finite loss.
    """
    store, run_id = start_run(experiment, runs_dir=runs_dir, quiet=quiet, **overrides)
    result = Run(store, run_id)
    if report:
        build_report(result)
    return result


def resume(run_id: str, *, runs_dir=None, quiet: bool = True, report: bool = True, force: bool = False) -> Run:
    """Complete an interrupted or killed run from its last checkpoints (see :func:`~freqlens.lab.runner.resume_run`)."""
    store, rid = resume_run(run_id, runs_dir=runs_dir, quiet=quiet, force=force)
    result = Run(store, rid)
    if report:
        build_report(result)
    return result
