"""Labels and outputs of a classifier as the high-dimensional monitors use them: one-hot rows and probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from freqlens._arrays import to_numpy

__all__ = ["OUTPUT_KINDS", "class_probabilities", "one_hot"]

OUTPUT_KINDS = ("logits", "probabilities")


def one_hot(labels: Any, n: int, n_classes: int | None = None) -> np.ndarray:
    """Labels as an ``(n, c)`` float64 array: integer class indices are one-hot encoded, 2-D arrays are kept.

    >>> one_hot([0, 2], 2)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    lab = np.asarray(to_numpy(labels))
    if lab.shape[0] != n:
        raise ValueError(f"labels must have one row per input ({n}), got shape {lab.shape}")
    if lab.ndim == 1 or (lab.ndim == 2 and lab.shape[1] == 1 and lab.dtype.kind in "biu"):
        if lab.dtype.kind not in "biu" and not np.all(lab == np.round(lab)):
            raise ValueError("labels must be integer class indices (n,) or one-hot rows (n, c)")
        idx = lab.reshape(-1).astype(np.int64)
        if idx.min() < 0:
            raise ValueError(f"class indices must be >= 0, got {idx.min()}")
        c = int(idx.max()) + 1 if n_classes is None else int(n_classes)
        if idx.max() >= c:
            raise ValueError(f"class index {idx.max()} is out of range for n_classes = {c}")
        out = np.zeros((n, c))
        out[np.arange(n), idx] = 1.0
        return out
    if lab.ndim != 2 or lab.dtype.kind not in "biuf":
        raise ValueError(f"labels must be integer class indices (n,) or one-hot rows (n, c), got {lab.shape}")
    if n_classes is not None and lab.shape[1] != n_classes:
        raise ValueError(f"labels have {lab.shape[1]} columns but n_classes = {n_classes}")
    out = lab.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError("labels contain NaN or inf")
    return out


def class_probabilities(outputs: Any, n: int, n_classes: int, kind: str) -> np.ndarray:
    """The model's outputs as ``(n, c)`` float64 probabilities: softmax of logits, or probabilities as given.

    Raises ``ValueError`` on a wrong shape or a non-finite value (a diverged model)."""
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"outputs must be one of {OUTPUT_KINDS}, got {kind!r}")
    t = outputs.detach() if isinstance(outputs, torch.Tensor) else torch.as_tensor(np.asarray(outputs))
    t = t.to(device="cpu", dtype=torch.float64)
    if t.ndim == 1 and n_classes == 1:
        t = t[:, None]
    if tuple(t.shape) != (n, n_classes):
        raise ValueError(f"outputs must have shape ({n}, {n_classes}) (one row per input, one column per class), "
                         f"got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError("outputs contain NaN or inf (has training diverged?)")
    if kind == "logits":
        t = torch.softmax(t, dim=1)
    return t.numpy()
