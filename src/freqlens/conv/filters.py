"""Frequency-selective filters: 1-D signal filters built on :mod:`scipy.signal`, and image filters applied by FFT.

Signals
-------
:func:`lowpass`, :func:`highpass`, :func:`bandpass`, :func:`bandstop` filter along one axis (``axis=-1``; audio
read by :func:`freqlens.io.read_audio` is ``(samples, channels)``: pass ``axis=0``). Each is
``design_filter(...).apply(x, ...)``: the design (a :class:`FilterDesign`, second-order sections for IIR filters,
taps from :func:`scipy.signal.firwin` for FIR) can be built once, inspected (:meth:`FilterDesign.response`) and
reused. ``zero_phase=True`` (default) runs the filter forwards and backwards (:func:`scipy.signal.sosfiltfilt`
or :func:`scipy.signal.filtfilt`): no delay, no phase distortion, and the magnitude response *squared* (the
attenuation in dB doubles, a Butterworth filter is -6 dB at its cutoff instead of -3 dB).
``zero_phase=False`` is the causal single pass (:func:`scipy.signal.sosfilt` / :func:`scipy.signal.lfilter`).

The image filters (a radial transfer function applied through the FFT) are in :mod:`freqlens.conv.masks`;
:func:`frequency_filter`, :func:`frequency_mask` and :data:`MASK_KINDS` stay importable from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal

from freqlens.conv._filter_args import BANDS, as_signal, band_name, cutoffs, order_arg, positive_finite
from freqlens.conv._iir import SCIPY_BTYPE, design_sos, highest_usable_order
from freqlens.conv.masks import MASK_KINDS, frequency_filter, frequency_mask
from freqlens.errors import FreqlensError

__all__ = [
    "BANDS",
    "FILTER_KINDS",
    "MASK_KINDS",
    "FilterDesign",
    "FilterResponse",
    "bandpass",
    "bandstop",
    "design_filter",
    "filter_response",
    "frequency_filter",
    "frequency_mask",
    "highpass",
    "lowpass",
]

#: Filter families for signals: IIR ones from :func:`scipy.signal.iirfilter`'s families, and windowed-sinc FIR.
FILTER_KINDS = ("butter", "cheby1", "cheby2", "ellip", "bessel", "fir")

_DEFAULT_IIR_ORDER = 4
_MAX_FIR_TAPS = 8191


@dataclass(frozen=True)
class FilterResponse:
    """A filter's frequency response from 0 to ``fs / 2``.

    Attributes
    ----------
    freqs : ndarray
        Frequencies in the units of ``fs`` (Hz for audio).
    values : ndarray of complex128
        ``H(f)``; for a zero-phase (forward-backward) filter, the real ``|H(f)|**2``.
    """

    freqs: np.ndarray
    values: np.ndarray

    @property
    def magnitude(self) -> np.ndarray:
        """``|H(f)|``."""
        return np.abs(self.values)

    @property
    def phase(self) -> np.ndarray:
        """Unwrapped phase in radians."""
        return np.unwrap(np.angle(self.values))

    @property
    def magnitude_db(self) -> np.ndarray:
        """``20 * log10(|H(f)|)``."""
        with np.errstate(divide="ignore"):
            return 20.0 * np.log10(self.magnitude)

    def gain_db(self, f: Any) -> Any:
        """The gain in dB at frequencies ``f``, linearly interpolated on the grid."""
        return np.interp(f, self.freqs, self.magnitude_db)


@dataclass(frozen=True)
class FilterDesign:
    """A designed filter: second-order sections (IIR) or taps (FIR), with what it was designed for.

    Attributes
    ----------
    band : str
        ``"low"``, ``"high"``, ``"band"`` or ``"stop"``.
    cutoff : tuple of float
        Cutoff frequency or ``(low, high)`` pair, in units of ``fs``.
    fs : float
        Sampling rate.
    order : int
        Prototype order (IIR; band filters have twice as many poles) or ``numtaps - 1`` (FIR).
    kind : str
        One of :data:`FILTER_KINDS`.
    sos : ndarray or None
        Second-order sections, shape ``(n_sections, 6)`` (IIR).
    taps : ndarray or None
        FIR coefficients (``kind="fir"``).
    """

    band: str
    cutoff: tuple[float, ...]
    fs: float
    order: int
    kind: str
    sos: np.ndarray | None = None
    taps: np.ndarray | None = None

    def apply(self, x: Any, *, zero_phase: bool = True, axis: int = -1) -> Any:
        """Filter ``x`` along ``axis``; numpy in, numpy out (float32 kept), torch in, torch out.

        ``zero_phase=True``: forward-backward (no delay, magnitude squared). Raises :class:`FreqlensError` if
        ``x`` is too short along ``axis`` for the forward-backward edge padding. NaN or inf in ``x`` propagate.
        """
        arr, restore = as_signal(x)
        if not -arr.ndim <= axis < arr.ndim:
            raise FreqlensError(f"axis {axis} is out of range for x with {arr.ndim} dimension(s)")
        n = arr.shape[axis]
        try:
            if self.sos is not None:
                y = scipy.signal.sosfiltfilt(self.sos, arr, axis=axis) if zero_phase \
                    else scipy.signal.sosfilt(self.sos, arr, axis=axis)
            else:
                y = scipy.signal.filtfilt(self.taps, [1.0], arr, axis=axis) if zero_phase \
                    else scipy.signal.lfilter(self.taps, [1.0], arr, axis=axis)
        except ValueError as exc:
            if "padlen" in str(exc):
                raise FreqlensError(
                    f"x has {n} samples along axis {axis}: too few for a zero-phase {self.kind} filter of order "
                    f"{self.order} ({exc}); lower the order or use zero_phase=False"
                ) from None
            raise
        return restore(y)

    def response(self, n: int = 1024, *, zero_phase: bool = False) -> FilterResponse:
        """Frequency response at ``n`` frequencies from 0 to ``fs / 2`` (:func:`scipy.signal.freqz_sos` / ``freqz``).

        With ``zero_phase=True`` it is the response of :meth:`apply`'s forward-backward filter, ``|H|**2``.
        """
        n = order_arg(n)
        if self.sos is not None:
            f, h = scipy.signal.freqz_sos(self.sos, worN=n, fs=self.fs)
        else:
            f, h = scipy.signal.freqz(self.taps, [1.0], worN=n, fs=self.fs)
        if zero_phase:
            h = (np.abs(h) ** 2).astype(np.complex128)
        return FilterResponse(freqs=np.asarray(f, dtype=float), values=np.asarray(h, dtype=np.complex128))


def _default_fir_order(cut: tuple[float, ...], fs: float) -> int:
    """Even order for a Hamming-window transition of half the gap from a cutoff to its nearest neighbour."""
    points = sorted({0.0, fs / 2.0, *cut})
    gap = min(b - a for a, b in zip(points, points[1:]))
    numtaps = math.ceil(3.3 * fs / (gap / 2.0))
    return min(2 * math.ceil((numtaps - 1) / 2), _MAX_FIR_TAPS - 1)


def design_filter(
    band: str,
    cutoff: Any,
    fs: float = 1.0,
    *,
    order: int | None = None,
    kind: str = "butter",
    rp: float = 1.0,
    rs: float = 60.0,
    window: str = "hamming",
) -> FilterDesign:
    """Design a low-, high-, band-pass or band-stop filter with :mod:`scipy.signal`.

    Parameters
    ----------
    band : {"low", "high", "band", "stop"}
        Also accepted: ``"lowpass"``, ``"highpass"``, ``"bandpass"``, ``"bandstop"``.
    cutoff : float or (float, float)
        Cutoff in units of ``fs`` (Hz for audio), strictly inside ``(0, fs / 2)``; a pair ``(low, high)`` with
        ``low < high`` for ``"band"`` and ``"stop"``.
    fs : float
        Sampling rate (> 0); the default 1 means cutoffs in cycles per sample.
    order : int, optional
        IIR: prototype order (default 4; band filters get ``2 * order`` poles). FIR: ``numtaps - 1``, and must be
        even (an odd number of taps) for ``"high"`` and ``"stop"``; default: enough taps for a transition band of
        half the distance from the cutoff to its nearest neighbour among 0, ``fs / 2`` and the other cutoff
        (about ``3.3 * fs / width`` taps, at most 8191).
    kind : {"butter", "cheby1", "cheby2", "ellip", "bessel", "fir"}
        Family. ``butter``: maximally flat, -3 dB at the cutoff. ``bessel``: ``norm="mag"``, -3 dB at the cutoff,
        nearly constant group delay. ``cheby1`` / ``ellip``: ``rp`` dB pass-band ripple, cutoff = pass-band edge.
        ``cheby2``: cutoff = stop-band edge (``rs`` dB). ``fir``: :func:`scipy.signal.firwin` windowed sinc,
        -6 dB at the cutoff, linear phase.
    rp, rs : float
        Pass-band ripple and stop-band attenuation in dB (Chebyshev / elliptic).
    window : str
        FIR window (:func:`scipy.signal.get_window` names).

    Returns
    -------
    FilterDesign
        ``.sos`` (IIR) or ``.taps`` (FIR); ``.apply(x)``, ``.response()``.

    Notes
    -----
    Butterworth magnitude: :math:`|H(f)|^2 = 1 / (1 + (f / f_c)^{2N})` in the analog prototype, mapped to the
    digital domain by the bilinear transform (which pre-warps so the cutoff stays exact).

    Examples
    --------
    >>> d = design_filter("low", 1000, fs=8000, order=4)
    >>> d.sos.shape
    (2, 6)
    >>> round(float(d.response(4001).gain_db(1000)), 2)  # -3 dB at the cutoff
    -3.01
    """
    b = band_name(band)
    fs = positive_finite("fs", fs)
    if kind not in FILTER_KINDS:
        raise FreqlensError(f"kind must be one of {FILTER_KINDS}, got {kind!r}")
    cut = cutoffs(b, cutoff, fs / 2.0, "Hz" if fs != 1.0 else "cycles per sample")
    rp = positive_finite("rp", rp)
    rs = positive_finite("rs", rs)
    wn: Any = cut if len(cut) == 2 else cut[0]
    if kind == "fir":
        n = _default_fir_order(cut, fs) if order is None else order_arg(order)
        if b in ("high", "stop") and n % 2:
            raise FreqlensError(
                f"order must be even for a FIR {b}-pass filter (an odd number of taps, so the response at fs/2 "
                f"is free), got {n}"
            )
        taps = scipy.signal.firwin(n + 1, wn, window=window, pass_zero=SCIPY_BTYPE[b], fs=fs)
        return FilterDesign(band=b, cutoff=cut, fs=fs, order=n, kind=kind, taps=taps)
    n = _DEFAULT_IIR_ORDER if order is None else order_arg(order)
    sos = design_sos(kind, n, wn, b, cut, fs, rp, rs)
    if sos is None:
        best = highest_usable_order(kind, n, wn, b, cut, fs, rp, rs)
        unit = "Hz" if fs != 1.0 else "cycles per sample"
        edges = " to ".join(f"{c:g}" for c in cut)
        raise FreqlensError(
            f"order {n} is too high for a {kind} {b}-pass filter at {edges} {unit}: scipy's design loses float64 "
            "precision (non-finite, unstable or vanishing coefficients); "
            + (f"orders up to {best} work here" if best else "no order works for these cutoffs")
        )
    return FilterDesign(band=b, cutoff=cut, fs=fs, order=n, kind=kind, sos=sos)


def _filter(band: str, x: Any, cutoff: Any, fs: float, order: int | None, kind: str, zero_phase: bool,
            axis: int) -> Any:
    return design_filter(band, cutoff, fs, order=order, kind=kind).apply(x, zero_phase=zero_phase, axis=axis)


def lowpass(
    x: Any,
    cutoff: float,
    fs: float = 1.0,
    *,
    order: int | None = None,
    kind: str = "butter",
    zero_phase: bool = True,
    axis: int = -1,
) -> Any:
    """Keep the frequencies below ``cutoff`` (units of ``fs``) along ``axis``.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Real signal(s); numpy in, numpy out (float32 stays float32), torch in, torch out.
    cutoff : float
        In ``(0, fs / 2)``.
    fs : float
        Sampling rate; default 1 (cutoff in cycles per sample).
    order, kind
        See :func:`design_filter` (default: Butterworth of order 4).
    zero_phase : bool
        Forward-backward filtering (no delay; attenuation in dB doubled). ``False``: causal single pass.
    axis : int
        Time axis (``0`` for ``(samples, channels)`` audio).

    Notes
    -----
    ``design_filter("low", cutoff, fs, order=order, kind=kind).apply(x, zero_phase=zero_phase, axis=axis)``.
    With zero phase the effective response is :math:`|H(f)|^2`.

    Examples
    --------
    >>> t = np.arange(1000) / 1000.0
    >>> x = np.sin(2 * np.pi * 5 * t) + np.sin(2 * np.pi * 200 * t)
    >>> y = lowpass(x, 50, fs=1000)
    >>> bool(np.max(np.abs(y[100:-100] - np.sin(2 * np.pi * 5 * t[100:-100]))) < 1e-3)
    True
    """
    return _filter("low", x, cutoff, fs, order, kind, zero_phase, axis)


def highpass(
    x: Any,
    cutoff: float,
    fs: float = 1.0,
    *,
    order: int | None = None,
    kind: str = "butter",
    zero_phase: bool = True,
    axis: int = -1,
) -> Any:
    """Keep the frequencies above ``cutoff`` (units of ``fs``) along ``axis``; parameters as :func:`lowpass`.

    Notes
    -----
    ``design_filter("high", cutoff, fs, order=order, kind=kind).apply(x, zero_phase=zero_phase, axis=axis)``.

    Examples
    --------
    >>> x = 3.0 + np.sin(2 * np.pi * 0.25 * np.arange(400))
    >>> bool(abs(highpass(x, 0.05)[100:-100].mean()) < 1e-3)  # the offset (DC) is removed
    True
    """
    return _filter("high", x, cutoff, fs, order, kind, zero_phase, axis)


def bandpass(
    x: Any,
    cutoff: tuple[float, float],
    fs: float = 1.0,
    *,
    order: int | None = None,
    kind: str = "butter",
    zero_phase: bool = True,
    axis: int = -1,
) -> Any:
    """Keep the frequencies between ``cutoff = (low, high)`` (units of ``fs``); parameters as :func:`lowpass`.

    Notes
    -----
    ``design_filter("band", (low, high), fs, ...)``; an IIR band-pass of order ``N`` has ``2N`` poles.

    Examples
    --------
    >>> t = np.arange(8000) / 8000.0
    >>> x = np.sin(2 * np.pi * 50 * t) + np.sin(2 * np.pi * 1000 * t)
    >>> y = bandpass(x, (300, 3400), fs=8000)
    >>> round(float(np.std(y[800:-800]) * np.sqrt(2)), 2)  # only the 1 kHz tone is left
    1.0
    """
    return _filter("band", x, cutoff, fs, order, kind, zero_phase, axis)


def bandstop(
    x: Any,
    cutoff: tuple[float, float],
    fs: float = 1.0,
    *,
    order: int | None = None,
    kind: str = "butter",
    zero_phase: bool = True,
    axis: int = -1,
) -> Any:
    """Remove the frequencies between ``cutoff = (low, high)`` (units of ``fs``); parameters as :func:`lowpass`.

    Notes
    -----
    ``design_filter("stop", (low, high), fs, ...)``.

    Examples
    --------
    >>> t = np.arange(8000) / 8000.0
    >>> hum = np.sin(2 * np.pi * 50 * t)
    >>> y = bandstop(hum + np.sin(2 * np.pi * 440 * t), (45, 55), fs=8000, order=2)
    >>> bool(np.std(y[2000:-2000] - np.sin(2 * np.pi * 440 * t[2000:-2000])) < 0.02)
    True
    """
    return _filter("stop", x, cutoff, fs, order, kind, zero_phase, axis)


def filter_response(
    band: str,
    cutoff: Any,
    fs: float = 1.0,
    *,
    order: int | None = None,
    kind: str = "butter",
    zero_phase: bool = True,
    n: int = 1024,
) -> FilterResponse:
    """The frequency response of the filter that :func:`lowpass` & co. would apply with these arguments.

    Notes
    -----
    ``design_filter(band, cutoff, fs, order=order, kind=kind).response(n, zero_phase=zero_phase)``: computed by
    :func:`scipy.signal.freqz_sos` (IIR) or :func:`scipy.signal.freqz` (FIR); ``|H|**2`` when ``zero_phase``.

    Examples
    --------
    >>> r = filter_response("high", 100, fs=1000, order=2, n=501)
    >>> round(float(r.gain_db(100)), 2)  # forward-backward: -6 dB at the cutoff
    -6.02
    """
    return design_filter(band, cutoff, fs, order=order, kind=kind).response(n, zero_phase=zero_phase)
