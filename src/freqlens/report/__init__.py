"""Reading and presenting stored runs: the :class:`Run` view, figures drawn from stored views, the HTML report."""

from freqlens.report import views_highdim as _views_highdim  # noqa: F401  (registers its renderers)
from freqlens.report import views_compare as _views_compare  # noqa: F401
from freqlens.report import views_image as _views_image  # noqa: F401
from freqlens.report import views_theory as _views_theory  # noqa: F401
from freqlens.report.html import build_report
from freqlens.report.run import Run, load_run, locate_run

__all__ = ["Run", "build_report", "load_run", "locate_run"]
