"""PSNR of a model's outputs against target values on one split (e.g. an image fit's test pixels), as a monitor.

>>> import numpy as np
>>> mon = PsnrMonitor(np.zeros((4, 1)), split="test")
>>> float(mon.record(0, np.full((4, 1), 0.1))["psnr"][0])
20.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqlens._arrays import to_numpy


class PsnrMonitor:
    """``psnr = 10·log10(data_range² / mean squared error)`` of outputs against target values (``data_range`` 1 for
    values in [0, 1]), keyed by the split's name (so it shares the ``psnr`` metric with an
    :class:`~freqlens.lab.monitors.image_bands.ImageBandMonitor`)."""

    def __init__(self, target: Any, *, split: str = "test", source: str | None = None, data_range: float = 1.0):
        y = np.asarray(to_numpy(target), dtype=np.float64)
        if y.size == 0 or not np.all(np.isfinite(y)):
            raise ValueError("target must hold finite values")
        self.target = y.reshape(y.shape[0], -1)
        if not (data_range > 0 and np.isfinite(data_range)):
            raise ValueError(f"data_range must be a finite number > 0, got {data_range!r}")
        self.data_range = float(data_range)
        self.split = split
        self.name = f"psnr-{split}"
        self.source = source or split
        self.arrays_file = f"psnr-{split}.npz"
        self.axes = {"psnr": ("split", [split])}
        self.steps: list[int] = []
        self.values: list[float] = []

    def record(self, step: int, outputs: Any, loss: float | None = None) -> dict[str, np.ndarray]:
        h = np.asarray(to_numpy(outputs), dtype=np.float64).reshape(self.target.shape[0], -1)
        if h.shape != self.target.shape:
            raise ValueError(f"outputs have shape {h.shape}, the {self.split} values {self.target.shape}")
        mse = float(np.mean((h - self.target) ** 2))
        value = float("inf") if mse == 0 else 10.0 * np.log10(self.data_range ** 2 / mse)
        self.steps.append(int(step))
        self.values.append(value)
        return {"psnr": np.array([value])}

    def summaries(self) -> dict[str, dict]:
        return {"psnr_final": {self.split: self.values[-1]}} if self.values else {}

    def truncate(self, last_step: int) -> None:
        keep = sum(1 for s in self.steps if s <= last_step)
        del self.steps[keep:], self.values[keep:]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"steps": np.asarray(self.steps, dtype=np.int64), "psnr": np.asarray(self.values, dtype=np.float64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.steps = [int(s) for s in state["steps"]]
        self.values = [float(v) for v in state["psnr"]]
