"""Accuracy and loss of a classifier on one split (train or test), as a monitor.

>>> import numpy as np
>>> mon = AccuracyMonitor([0, 1, 1], split="test")
>>> out = mon.record(0, np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]))
>>> round(float(out["accuracy"][0]), 4), mon.axes["accuracy"]
(0.6667, ('split', ['test']))
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from freqlens._arrays import to_numpy


class AccuracyMonitor:
    """Top-1 accuracy and mean cross-entropy of logits against integer labels.

    ``record(step, logits)`` returns ``{"accuracy": [a], "ce_loss": [l]}`` keyed by the split's name, so the train
    and test monitors of a run share the metric names and differ by key.
    """

    arrays_file = "accuracy.npz"

    def __init__(self, labels: Any, *, split: str = "test"):
        self.labels = torch.as_tensor(np.asarray(to_numpy(labels)), dtype=torch.int64).reshape(-1)
        if self.labels.numel() == 0:
            raise ValueError("labels must not be empty")
        self.split = split
        self.name = f"accuracy-{split}"
        self.source = split
        self.axes = {"accuracy": ("split", [split]), "ce_loss": ("split", [split])}
        self.arrays_file = f"accuracy-{split}.npz"
        self.steps: list[int] = []
        self.values: list[tuple[float, float]] = []

    def record(self, step: int, outputs: Any, loss: float | None = None) -> dict[str, np.ndarray]:
        logits = torch.as_tensor(outputs).detach().to("cpu", torch.float64)
        if logits.ndim != 2 or logits.shape[0] != self.labels.numel():
            raise ValueError(f"outputs must be ({self.labels.numel()}, classes) logits, got {tuple(logits.shape)}")
        if not torch.isfinite(logits).all():
            raise ValueError(f"the model's {self.split} outputs hold NaN or inf at step {step}")
        acc = float((logits.argmax(1) == self.labels).double().mean())
        ce = float(torch.nn.functional.cross_entropy(logits, self.labels))
        self.steps.append(int(step))
        self.values.append((acc, ce))
        return {"accuracy": np.array([acc]), "ce_loss": np.array([ce])}

    def summaries(self) -> dict[str, dict]:
        if not self.values:
            return {}
        return {"final_accuracy": {self.split: self.values[-1][0]},
                "best_accuracy": {self.split: max(v[0] for v in self.values)}}

    def truncate(self, last_step: int) -> None:
        keep = sum(1 for s in self.steps if s <= last_step)
        del self.steps[keep:], self.values[keep:]

    def state_dict(self) -> dict[str, np.ndarray]:
        vals = np.asarray(self.values, dtype=np.float64).reshape(len(self.values), 2)
        return {"steps": np.asarray(self.steps, dtype=np.int64), "accuracy": vals[:, 0], "ce_loss": vals[:, 1]}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.steps = [int(s) for s in state["steps"]]
        self.values = [(float(a), float(c)) for a, c in zip(state["accuracy"], state["ce_loss"])]
