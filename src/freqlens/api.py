"""The one entry point the CLI uses for the lab: run, resume, load, report (re-exported from the layers below)."""

from __future__ import annotations

from freqlens.lab.api import resume, run
from freqlens.report import Run, build_report, load_run, locate_run

__all__ = ["Run", "build_report", "load_run", "locate_run", "resume", "run"]
