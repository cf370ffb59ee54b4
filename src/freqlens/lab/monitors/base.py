"""What every monitor of the lab is: the protocol, and the convergence rule they share.

A monitor takes what it needs once, at construction (a target on a grid, inputs and labels, an image), and during
training ``record(step, outputs, loss=None)``. It declares its metrics and the axis each is keyed by in
:attr:`Monitor.axes`; ``record`` returns one array per metric, aligned with that axis. The run store keeps them in
long form (name, key, step, value) and the report draws them from the views a family declares; neither knows how
the numbers were computed. The same object works in a user's own training loop.

>>> convergence_step([0, 10, 20, 30, 40], [0.9, 0.01, 0.5, 0.01, 0.02], threshold=0.05, hold=2)
30
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from freqlens._arrays import convergence_step  # the rule, shared with the report layer

__all__ = ["Monitor", "convergence_step"]


@runtime_checkable
class Monitor(Protocol):
    """The protocol of a monitor (structural: no base class to inherit).

    Attributes
    ----------
    name : str
        Short identifier, unique within a run (``"frequency"``, ``"projection"``, ``"filtering"``...). Its arrays
        are stored as ``member-NN/<arrays_file>``.
    source : str
        Which outputs it consumes: ``"train"`` (the model on the training inputs) or another name the family's
        :class:`~freqlens.lab.family.Problem` produces in ``evaluate`` (e.g. ``"grid"``, ``"test"``, ``"image"``).
    axes : dict
        ``{metric name: (axis name, list of axis values)}``, e.g. ``{"delta_f": ("k", [1, 3, 5])}`` or
        ``{"e_low": ("delta", [2.0, 10.0])}``. Known after construction.
    arrays_file : str
        File name of the arrays kept for the report (``state_dict()`` written with ``numpy.savez``).
    """

    name: str
    source: str
    axes: dict[str, tuple[str, list]]
    arrays_file: str

    def record(self, step: int, outputs: Any, loss: float | None = None) -> dict[str, np.ndarray]:
        """Measure ``outputs`` (numpy or torch, any device) at ``step``; return ``{metric: values along its axis}``."""

    def summaries(self) -> dict[str, dict[Any, float | int | None]]:
        """Per-key summaries of what was recorded so far, e.g. ``{"convergence_step": {1: 40, 3: None}}``."""

    def truncate(self, last_step: int) -> None:
        """Forget records after ``last_step`` (a resumed run re-measures from its checkpoint)."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything recorded, as numpy arrays (no objects: it is stored with ``allow_pickle=False``)."""

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict`; raise ``ValueError`` when it was recorded for another setting."""
