"""Array helpers shared by every layer (numpy in → numpy out, torch in → torch out)."""

from __future__ import annotations

import numpy as np

from freqlens.errors import FreqlensError

#: Largest magnitude accepted in data (signals, images, tables): squares and long sums of such values still fit in
#: float64 (largest 1.8e308), so an energy, a variance or a filter's state never overflows to inf or NaN.
MAX_MAGNITUDE = 1e100


def is_torch(a) -> bool:
    """True for a torch tensor (without importing torch when it is not loaded)."""
    return type(a).__module__.startswith("torch") and hasattr(a, "detach")


def to_numpy(a) -> np.ndarray:
    """A numpy view/copy of ``a``: torch tensors (any device, any grad state) are detached and moved to the CPU."""
    if hasattr(a, "detach"):  # torch tensor, on any device
        return a.detach().cpu().numpy()
    return np.asarray(a)


def check_magnitude(a: np.ndarray, name: str) -> None:
    """Refuse finite values beyond :data:`MAX_MAGNITUDE` in ``a``, naming ``name`` (NaN and inf are left to the
    caller's own rules).

    Examples
    --------
    >>> check_magnitude(np.array([1.0, -3e99, np.nan]), "x")   # passes
    >>> check_magnitude(np.array([1.0, 2e300]), "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    freqlens.errors.FreqlensError: x holds values up to 2e+300 in magnitude: ... rescale x to within 1e+100
    """
    if a.dtype.kind not in "fc" or a.size == 0:
        return  # integers and booleans are far below the limit
    peak = max(abs(float(np.max(a.real))), abs(float(np.min(a.real))))
    if a.dtype.kind == "c":
        peak = max(peak, abs(float(np.max(a.imag))), abs(float(np.min(a.imag))))
    if not np.isfinite(peak):  # NaN or inf somewhere: the largest finite magnitude, the slow way
        finite = np.isfinite(a)
        peak = float(np.max(np.abs(a), where=finite, initial=0.0))
    if peak > MAX_MAGNITUDE:
        raise FreqlensError(f"{name} holds values up to {peak:.3g} in magnitude: their squares and sums overflow "
                            "float64 (largest 1.8e308), which would give inf or NaN; "
                            f"rescale {name} to within {MAX_MAGNITUDE:g}")


def convergence_step(steps, values, threshold: float, hold: int = 10):
    """First step from which ``values`` stay below ``threshold`` for ``hold`` consecutive evaluations, else None.

    >>> convergence_step([0, 10, 20], [0.9, 0.01, 0.02], threshold=0.05, hold=3) is None
    True
    """
    run = 0
    steps = list(steps)
    for i, v in enumerate(values):
        run = run + 1 if v < threshold else 0
        if run >= hold:
            return int(steps[i - hold + 1])
    return None
