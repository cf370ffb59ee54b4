"""IIR filter design through :mod:`scipy.signal`, checked: a design that float64 cannot represent is refused.

scipy designs high orders without complaint but not without damage: a Butterworth low-pass of order 1000 at
0.1 cycles per sample comes out with NaN coefficients (after numpy's overflow warnings), order 200 at 0.001 with
a gain that underflows to 0, Bessel filters of order 100 fail in root finding. :func:`design_sos` runs the
design with numpy's warnings silenced and then checks what came out (finite coefficients, poles inside the unit
circle, unit gain in the pass band); when it fails, :func:`highest_usable_order` finds the order that works, for
the message. Private to :mod:`freqlens.conv`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.signal

SCIPY_BTYPE = {"low": "lowpass", "high": "highpass", "band": "bandpass", "stop": "bandstop"}


def _design(kind: str, n: int, wn: Any, band: str, fs: float, rp: float, rs: float) -> np.ndarray:
    btype = SCIPY_BTYPE[band]
    if kind == "butter":
        return scipy.signal.butter(n, wn, btype=btype, output="sos", fs=fs)
    if kind == "cheby1":
        return scipy.signal.cheby1(n, rp, wn, btype=btype, output="sos", fs=fs)
    if kind == "cheby2":
        return scipy.signal.cheby2(n, rs, wn, btype=btype, output="sos", fs=fs)
    if kind == "ellip":
        return scipy.signal.ellip(n, rp, rs, wn, btype=btype, output="sos", fs=fs)
    return scipy.signal.bessel(n, wn, btype=btype, output="sos", norm="mag", fs=fs)


def _passband(band: str, cut: tuple[float, ...], fs: float) -> np.ndarray:
    """Frequencies well inside the pass band, where every family's gain peaks at 1."""
    nyq = fs / 2.0
    if band == "low":
        return np.linspace(0.0, 0.5 * cut[0], 16)
    if band == "high":
        return np.linspace(cut[0] + 0.5 * (nyq - cut[0]), nyq, 16)
    if band == "band":
        return np.linspace(cut[0], cut[1], 18)[1:-1]
    return np.linspace(0.0, 0.5 * cut[0], 16)


def usable(sos: np.ndarray, band: str, cut: tuple[float, ...], fs: float) -> bool:
    """Finite coefficients, every pole inside the unit circle, and a pass-band gain peaking near 1."""
    if not np.all(np.isfinite(sos)):
        return False
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        _, poles, _ = scipy.signal.sos2zpk(sos)
        _, h = scipy.signal.freqz_sos(sos, worN=_passband(band, cut, fs), fs=fs)
    peak = float(np.max(np.abs(h)))
    return bool(np.all(np.abs(poles) < 1.0)) and 0.5 < peak < 2.0


def design_sos(kind: str, n: int, wn: Any, band: str, cut: tuple[float, ...], fs: float, rp: float,
               rs: float) -> np.ndarray | None:
    """Second-order sections of the design, or None when float64 cannot represent it (see the module doc)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # numpy's overflow warnings and scipy's BadCoefficients: checked here
        try:
            sos = _design(kind, n, wn, band, fs, rp, rs)
        except Exception:  # OverflowError, root finding ("Zeros failed to converge" is a bare Exception), ...
            return None
        return sos if usable(sos, band, cut, fs) else None


def highest_usable_order(kind: str, n: int, wn: Any, band: str, cut: tuple[float, ...], fs: float, rp: float,
                         rs: float) -> int:
    """The largest order below ``n`` whose design is usable (bisection; 0 if not even order 1 is)."""
    lo, hi = 0, n  # usable(lo) (0: by convention), not usable(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if design_sos(kind, mid, wn, band, cut, fs, rp, rs) is not None:
            lo = mid
        else:
            hi = mid
    return lo
