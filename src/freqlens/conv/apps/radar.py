"""Matched filtering: find the echoes of a known pulse (a chirp) in a noisy return and report their delays.

A matched filter correlates the received signal with the transmitted pulse; for white Gaussian noise it is the
linear filter that maximises the signal-to-noise ratio at the echo's arrival time. A chirp (a tone sweeping
from ``f0`` to ``f1``) has a long duration, hence much energy, yet its autocorrelation is a narrow spike of
width about ``1 / |f1 - f0|``: "pulse compression".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from freqlens.conv.apps._common import as_real_array, check_memory, positive
from freqlens.errors import FreqlensError

__all__ = ["chirp_pulse", "simulate_echoes", "matched_filter", "MatchedFilterResult"]


def chirp_pulse(
    fs: float,
    duration: float,
    f0: float,
    f1: float,
    *,
    method: str = "linear",
    window: str | tuple | None = None,
) -> np.ndarray:
    """A chirp pulse sampled at ``fs``: a cosine whose frequency sweeps from ``f0`` to ``f1`` Hz in ``duration`` s.

    Parameters
    ----------
    fs : float
        Sample rate in Hz.
    duration : float
        Pulse length in seconds; the pulse has ``round(duration * fs)`` samples (at least 2).
    f0, f1 : float
        Start and end frequencies in Hz, in ``[0, fs / 2)``.
    method : str
        Frequency sweep of :func:`scipy.signal.chirp`: ``'linear'``, ``'quadratic'``, ``'logarithmic'``,
        ``'hyperbolic'``.
    window : str, tuple or None
        Optional amplitude taper (any :func:`scipy.signal.get_window` name, e.g. ``'hann'`` or
        ``('tukey', 0.25)``). A taper lowers the range sidelobes of the compressed pulse (about -13 dB for the
        untapered linear chirp) at the cost of a wider main lobe.

    Returns
    -------
    ndarray, shape (round(duration * fs),)

    Notes
    -----
    Linear sweep: ``p(t) = w(t) cos(2 pi (f0 t + (f1 - f0) t**2 / (2 T)))`` for ``t = n / fs``,
    ``0 <= n < round(T fs)`` (``scipy.signal.chirp`` with ``t1 = T``).

    Examples
    --------
    >>> p = chirp_pulse(8000, 0.01, 500, 3500)
    >>> p.shape, float(p[0])
    ((80,), 1.0)
    """
    rate = positive(fs, "fs")
    dur = positive(duration, "duration")
    nyquist = rate / 2
    for name, f in (("f0", f0), ("f1", f1)):
        value = positive(f, name, allow_zero=True)
        if value >= nyquist:
            raise FreqlensError(f"{name}={value:g} Hz must be below the Nyquist frequency fs/2 = {nyquist:g} Hz")
    n = int(round(dur * rate))
    if n < 2:
        raise FreqlensError(f"duration * fs = {dur * rate:g} samples; the pulse needs at least 2")
    check_memory(n, f"a pulse of {n} samples")
    t = np.arange(n) / rate
    try:
        p = signal.chirp(t, f0=float(f0), t1=dur, f1=float(f1), method=method)
    except ValueError as exc:
        raise FreqlensError(f"method={method!r}: {exc}") from None
    if window is not None:
        try:
            p = p * signal.get_window(window, n, fftbins=False)
        except (ValueError, TypeError) as exc:
            raise FreqlensError(f"window={window!r} is not a scipy.signal window ({exc})") from None
    return p


def simulate_echoes(
    pulse,
    fs: float,
    delays,
    *,
    duration: float,
    amplitudes=None,
    snr_db: float | None = None,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """A synthetic return: delayed, scaled copies of ``pulse`` plus white Gaussian noise.

    Parameters
    ----------
    pulse : array_like, shape (m,)
        Transmitted pulse.
    fs : float
        Sample rate in Hz.
    delays : array_like
        Echo delays in seconds (each rounded to the nearest sample); echoes running past the end are cut.
    duration : float
        Length of the return in seconds.
    amplitudes : array_like, optional
        Echo amplitudes (default 1 each).
    snr_db : float, optional
        Per-sample signal-to-noise ratio of a unit-amplitude echo: noise variance
        ``mean(pulse**2) / 10**(snr_db / 10)``. ``None`` adds no noise.
    seed : int, numpy Generator or None
        Source of the noise.

    Returns
    -------
    ndarray, shape (round(duration * fs),)

    Notes
    -----
    ``r[n] = sum_i a_i p[n - round(d_i fs)] + sigma e[n]``, ``e[n] ~ N(0, 1)``.

    Examples
    --------
    >>> r = simulate_echoes([1.0, -1.0], 10, [0.2, 0.5], duration=0.8)
    >>> r
    array([ 0.,  0.,  1., -1.,  0.,  1., -1.,  0.])
    """
    p = as_real_array(pulse, "pulse", ndim=(1,))
    rate = positive(fs, "fs")
    n = int(round(positive(duration, "duration") * rate))
    if n < 1:
        raise FreqlensError(f"duration * fs = {duration * rate:g}; the return needs at least 1 sample")
    check_memory(n, f"a return of {n} samples")
    d = as_real_array(delays, "delays", ndim=(0, 1), allow_empty=True).ravel()
    a = np.ones(d.size) if amplitudes is None else as_real_array(amplitudes, "amplitudes", ndim=(0, 1)).ravel()
    if a.shape != d.shape:
        raise FreqlensError(f"amplitudes must match delays: {a.size} amplitudes for {d.size} delays")
    if np.any(~np.isfinite(d)) or np.any(d < 0):
        raise FreqlensError("delays must be finite and >= 0 seconds")
    r = np.zeros(n)
    for delay, amp in zip(d, a):
        start = int(round(delay * rate))
        stop = min(n, start + p.size)
        if start < n:
            r[start:stop] += amp * p[: stop - start]
    if snr_db is not None:
        if not math.isfinite(float(snr_db)):
            raise FreqlensError(f"snr_db must be a finite number, got {snr_db!r}")
        snr = float(snr_db)
        if snr < -600:
            raise FreqlensError(f"snr_db must be >= -600 dB (noise 10^30 times the pulse's amplitude), got {snr_db!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        power_ratio = 10.0 ** (snr / 10.0) if snr < 3000 else math.inf  # beyond: noise below float64's resolution
        sigma = math.sqrt(float(np.mean(p**2)) / power_ratio)
        r += sigma * rng.standard_normal(n)
    return r


@dataclass(frozen=True)
class MatchedFilterResult:
    """Echoes found by :func:`matched_filter`.

    Attributes
    ----------
    delays : ndarray
        Echo delays in seconds (start of each echo), in increasing order.
    indices : ndarray
        The same delays in samples.
    peaks : ndarray
        Detection statistic at each echo (envelope in units of the estimated noise standard deviation).
    output : ndarray
        Detection statistic for every delay ``0 .. len(received) - 1`` samples.
    noise : float
        Estimated noise standard deviation of the raw correlation.
    fs : float
        Sample rate in Hz.
    """

    delays: np.ndarray
    indices: np.ndarray
    peaks: np.ndarray
    output: np.ndarray
    noise: float
    fs: float

    @property
    def lags(self) -> np.ndarray:
        """Delay in seconds of each entry of :attr:`output`."""
        return np.arange(self.output.size) / self.fs


def _envelope(x: np.ndarray) -> np.ndarray:
    """Magnitude of the analytic signal (Hilbert transform), zero-padded against circular wrap-around."""
    from scipy.fft import next_fast_len

    return np.abs(signal.hilbert(x, N=next_fast_len(2 * x.size)))[: x.size]


def _autocorrelation_envelope(pulse: np.ndarray) -> np.ndarray:
    """Envelope of the pulse's autocorrelation, lags ``-(m-1) .. m-1``, normalised to 1 at lag 0."""
    auto = _envelope(signal.correlate(pulse, pulse, mode="full", method="fft"))
    return auto / auto[pulse.size - 1]


def _compressed_width(pulse: np.ndarray) -> int:
    """Full width at half maximum, in samples, of the envelope of the pulse's autocorrelation (>= 1)."""
    auto = _autocorrelation_envelope(pulse)
    centre = pulse.size - 1
    above = auto >= 0.5 * auto[centre]
    right = centre
    while right + 1 < auto.size and above[right + 1]:
        right += 1
    left = centre
    while left - 1 >= 0 and above[left - 1]:
        left -= 1
    return max(1, right - left + 1)


def matched_filter(
    received,
    pulse,
    fs: float,
    *,
    threshold: float = 6.0,
    min_separation: float | None = None,
    max_echoes: int | None = None,
    sidelobe_margin: float | None = 2.0,
) -> MatchedFilterResult:
    """Find echoes of ``pulse`` in ``received`` by matched filtering and report their delays.

    Parameters
    ----------
    received : array_like, shape (n,)
        The noisy return, sampled at ``fs``; must be finite.
    pulse : array_like, shape (m,)
        The transmitted pulse (e.g. :func:`chirp_pulse`), ``m <= n``.
    fs : float
        Sample rate in Hz.
    threshold : float
        Detection threshold on the statistic (the envelope divided by the noise standard deviation). For noise
        alone the statistic is Rayleigh distributed: ``P(stat > t) = exp(-t**2 / 2)``, about ``1.5e-8`` per
        sample for the default 6.
    min_separation : float, optional
        Minimum distance between two reported echoes, in seconds; of two closer peaks the weaker is dropped.
        Default: twice the compressed pulse's width at half maximum (which is the range resolution, about
        ``1 / bandwidth``); this also keeps the first range sidelobes of a strong echo from being reported.
    max_echoes : int, optional
        Report at most this many echoes (the strongest).
    sidelobe_margin : float or None
        Sidelobe blanking: a peak is dropped unless it exceeds ``sidelobe_margin`` times the range sidelobe that
        the stronger echoes already accepted put at its position (see Notes). ``None`` keeps every peak above
        ``threshold``.

    Returns
    -------
    MatchedFilterResult
        ``.delays`` (seconds), ``.indices`` (samples), ``.peaks``, ``.output``, ``.noise``.

    Notes
    -----
    ``c[k] = sum_j r[k + j] p[j]`` (cross-correlation, no flip, = convolution with the time-reversed pulse,
    computed by FFT) for delays ``k = 0 .. n - 1``; an echo starting at sample ``k`` gives a peak at ``c[k]``.
    The envelope ``|c + i H{c}|`` (Hilbert transform) removes the carrier oscillation. The noise standard
    deviation ``sigma`` of ``c`` is estimated robustly from the median of the envelope, which for noise alone is
    Rayleigh: ``median = sigma sqrt(2 ln 2)``; it is floored at ``1e-6`` times the largest envelope value (a
    120 dB dynamic range), so that a noise-free return does not turn round-off into detections. Echoes are the
    local maxima of ``envelope / sigma`` above ``threshold`` (:func:`scipy.signal.find_peaks`), delays quantised
    to whole samples.

    A strong echo also raises the output around it by its range sidelobes, ``A a(lag)``, where ``a`` is the
    normalised envelope of the pulse's autocorrelation (about -13 dB for an untapered linear chirp, -30 dB with
    a Hann taper). Peaks are therefore accepted from the strongest down, and a peak at ``k`` is kept only if
    ``stat[k] > sidelobe_margin * sum_q stat[q] a(k - q)`` over the accepted echoes ``q``. This removes the
    sidelobe "echoes" of clean or strong returns, at the price of missing a real echo hidden within
    ``sidelobe_margin`` of another's sidelobe.

    Examples
    --------
    >>> fs = 8000
    >>> p = chirp_pulse(fs, 0.05, 300, 3000, window='hann')
    >>> r = simulate_echoes(p, fs, [0.1, 0.3], duration=0.5, snr_db=-10, seed=0)
    >>> res = matched_filter(r, p, fs)
    >>> np.round(res.delays, 3)              # within one sample (1/8000 s) of the truth
    array([0.1, 0.3])
    """
    r = as_real_array(received, "received", ndim=(1,))
    p = as_real_array(pulse, "pulse", ndim=(1,))
    rate = positive(fs, "fs")
    check_memory(r.size + p.size, f"a correlation of {r.size} samples", copies=8)  # before the NaN scan
    for name, arr in (("received", r), ("pulse", p)):
        if not np.all(np.isfinite(arr)):
            raise FreqlensError(f"{name} contains NaN or inf (the FFT correlation would spread it everywhere)")
    if p.size > r.size:
        raise FreqlensError(f"pulse ({p.size} samples) is longer than received ({r.size} samples)")
    if not np.any(p):
        raise FreqlensError("pulse is all zeros")
    t = positive(threshold, "threshold")

    c = signal.correlate(r, p, mode="full", method="fft")[p.size - 1 :]
    env = _envelope(c)
    noise = float(np.median(env)) / math.sqrt(2 * math.log(2))
    top = float(env.max())
    if top == 0.0:
        output = np.zeros_like(env)
    else:
        noise = max(noise, 1e-6 * top)  # a (nearly) noise-free return: round-off must not become echoes
        output = env / noise

    if min_separation is None:
        distance = 2 * _compressed_width(p)
    else:
        distance = max(1, int(round(positive(min_separation, "min_separation") * rate)))
    idx, props = signal.find_peaks(output, height=t, distance=distance)
    heights = props["peak_heights"]
    if sidelobe_margin is not None and idx.size > 1:
        margin = positive(sidelobe_margin, "sidelobe_margin")
        auto = _autocorrelation_envelope(p)
        centre = p.size - 1
        accepted: list[int] = []
        for i in np.argsort(heights, kind="stable")[::-1]:
            lag = idx[i] - idx[accepted] if accepted else np.zeros(0, dtype=int)
            near = np.abs(lag) <= centre
            expected = float(np.sum(heights[accepted][near] * auto[centre + lag[near]]))
            if heights[i] > margin * expected:
                accepted.append(int(i))
        keep = np.sort(np.asarray(accepted, dtype=int))
        idx, heights = idx[keep], heights[keep]
    if max_echoes is not None:
        k = positive(max_echoes, "max_echoes", integer=True)
        keep = np.sort(np.argsort(heights)[::-1][:k])
        idx, heights = idx[keep], heights[keep]
    return MatchedFilterResult(
        delays=idx / rate, indices=idx, peaks=heights, output=output, noise=noise, fs=rate
    )
