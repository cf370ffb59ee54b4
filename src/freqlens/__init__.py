"""freqlens: convolution and neural-network learning in the frequency domain.

Sub-packages (imports only point downwards):

- :mod:`freqlens.conv` - convolution / correlation with explicit conventions, kernels, filters, applications.
- :mod:`freqlens.spectrum` - the Fourier convention, DFT helpers, spectra, non-uniform DFT.
- :mod:`freqlens.lab` - the Frequency Principle lab (experiments, models, training loop, monitors).
- :mod:`freqlens.runs` - the run store (SQLite index + per-run folders).
- :mod:`freqlens.report` - figures and the self-contained HTML report.
"""

from __future__ import annotations

import importlib
import os

# How long libgomp's threads spin before they sleep decides torch's CPU speed on small problems. Measured here
# (fp1d defaults, 1,000 steps, 2 threads; quiet machine / one core busy with another process): libgomp's default
# (long spins) 1.3 s / ~100x slower (300 steps took 42.5 s); OMP_WAIT_POLICY=PASSIVE 4.0 s / 1.8 s;
# GOMP_SPINCOUNT=1000 2.5 s / 2.7 s; 3000 1.6 s / 3.7 s; 10000 1.7 s / 5.7 s. A short spin keeps most of the
# quiet-machine speed and avoids the collapse under contention. It must be set before torch starts its thread
# pool, so it is set here, on the first import of freqlens; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "3000"

from freqlens._version import __version__
from freqlens.errors import ConfigError, DataError, DivergedError, FreqlensError, StoreError

__all__ = ["ConfigError", "DataError", "DivergedError", "FreqlensError", "StoreError", "load_run", "__version__",
           "conv", "spectrum", "lab", "runs", "report", "api"]

_SUBMODULES = ("conv", "spectrum", "lab", "runs", "report", "api", "io")


def __getattr__(name: str):
    """Sub-packages load on first use (``import freqlens; freqlens.lab.run(...)``), as scipy's do: a bare
    ``import freqlens`` stays cheap."""
    if name in _SUBMODULES:
        return importlib.import_module(f"freqlens.{name}")
    raise AttributeError(f"module 'freqlens' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_SUBMODULES})


def load_run(id_or_path, runs_dir=None):
    """Load a stored run by id (in ``runs_dir``, default ``$FREQLENS_RUNS_DIR`` or ``./runs``) or by folder path."""
    from freqlens.report.run import load_run as _load

    return _load(id_or_path, runs_dir=runs_dir)
