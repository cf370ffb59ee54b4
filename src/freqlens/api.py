"""The top of the Python API: run an experiment into the store, resume it, draw its report.

This module sits above ``lab``, ``runs`` and ``report`` (it imports all three); :func:`freqlens.lab.run` and
:func:`freqlens.lab.resume` forward here.
"""

from __future__ import annotations

from freqlens.runs.executor import resume_run, start_run
from freqlens.runs.run import Run


def run(experiment: str = "fp1d", *, runs_dir=None, quiet: bool = True, report: bool = True, **overrides) -> Run:
    """Run experiment ``experiment`` with ``overrides`` (any :class:`freqlens.lab.Config` field) and store it.

    Returns the finished :class:`Run`. Raises :class:`freqlens.ConfigError` before anything is stored for a
    bad config, :class:`freqlens.DivergedError` (run kept, marked failed) for a non-finite loss.
    """
    store, run_id = start_run(experiment, runs_dir=runs_dir, quiet=quiet, **overrides)
    result = Run(store, run_id)
    if report:
        from freqlens.report import build_report

        build_report(result)
    return result


def resume(run_id: str, *, runs_dir=None, quiet: bool = True, report: bool = True, force: bool = False) -> Run:
    """Complete an interrupted or killed run from its last checkpoints (see :func:`resume_run`)."""
    store, rid = resume_run(run_id, runs_dir=runs_dir, quiet=quiet, force=force)
    result = Run(store, rid)
    if report:
        from freqlens.report import build_report

        build_report(result)
    return result
