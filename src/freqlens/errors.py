"""User-facing errors. The CLI prints any of them as one line and exits with code 2."""

from __future__ import annotations


class FreqlensError(ValueError):
    """Base class of errors caused by the user's input (bad argument, config, file or store)."""


class ConfigError(FreqlensError):
    """An experiment configuration that cannot be run (unknown key, wrong type, out of range)."""


class StoreError(FreqlensError):
    """A runs directory or run that cannot be used (unreadable, foreign, unknown id, wrong state)."""


class DataError(FreqlensError):
    """A dataset or data file that cannot be used (missing, corrupt, wrong sizes, too large for memory)."""


class DivergedError(FreqlensError):
    """Training produced a non-finite loss; the run was stopped and marked failed."""
