"""Digits (sklearn, 1,797 x 8 x 8, offline) and two tiny classifiers trained in a plain loop, for the science tests
of the high-dimensional monitors. The real CNN/VGG models of the lab are not used here (kept independent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


@pytest.fixture(scope="session")
def trainer():
    """The training loop below, as a fixture (test modules do not import conftest)."""
    return train


def make_model(kind: str, seed: int = 0) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    if kind == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                              nn.Linear(128, 10))
    elif kind == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))
    else:
        raise ValueError(kind)
    with torch.no_grad():  # explicit generator: nothing drawn from torch's global RNG
        for p in model.parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.ndim > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen) * (0.05 if p.ndim == 1 else 1.0 / np.sqrt(fan_in)))
    return model


def train(kind: str, images: np.ndarray, labels: np.ndarray, monitors, *, steps: int, every: int,
          lr: float = 1e-3, seed: int = 0) -> nn.Module:
    """Full-batch Adam on cross-entropy; every ``every`` steps each monitor records the logits on all inputs.

    Runs on one thread (restored after): these tensors are small, and on a shared 2-core machine two threads made
    a step 4-7x slower (measured)."""
    model = make_model(kind, seed)
    x = torch.as_tensor(images)[:, None] if kind == "cnn" else torch.as_tensor(images)
    y = torch.as_tensor(labels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for step in range(steps + 1):
            out = model(x)
            loss = nn.functional.cross_entropy(out, y)
            if step % every == 0:
                for mon in monitors:
                    mon.record(step, out.detach(), loss=loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return model
