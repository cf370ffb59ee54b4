"""Reading and presenting stored runs: the :class:`Run` view, figures drawn from stored views, the HTML report."""

from freqlens.report.html import build_report
from freqlens.report.run import Run, load_run, locate_run

__all__ = ["Run", "build_report", "load_run", "locate_run"]
