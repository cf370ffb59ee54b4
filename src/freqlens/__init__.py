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

# OpenMP threads that wait by spinning make torch ~100x slower whenever another process holds a core (measured
# here: fp1d, 300 steps, 2 threads, one core busy elsewhere: 42.5 s spinning, 1.6 s passive, 0.44 s on 1 thread).
# Passive waiting is the safe default; it must be set before torch starts its thread pool, so it is set here, on
# the first import of freqlens (a user's explicit setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
