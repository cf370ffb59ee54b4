"""Array helpers shared by every layer (numpy in → numpy out, torch in → torch out)."""

from __future__ import annotations

import numpy as np


def is_torch(a) -> bool:
    """True for a torch tensor (without importing torch when it is not loaded)."""
    return type(a).__module__.startswith("torch") and hasattr(a, "detach")


def to_numpy(a) -> np.ndarray:
    """A numpy view/copy of ``a``: torch tensors (any device, any grad state) are detached and moved to the CPU."""
    if hasattr(a, "detach"):  # torch tensor, on any device
        return a.detach().cpu().numpy()
    return np.asarray(a)
