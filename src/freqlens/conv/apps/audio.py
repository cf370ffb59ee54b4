"""Audio applications of convolution: convolution reverb and a synthetic room impulse response.

Audio arrays use soundfile's layout: ``(frames,)`` for mono, ``(frames, channels)`` for multichannel, float
samples nominally in [-1, 1]. Read and write files with :func:`freqlens.io.read_audio` /
:func:`freqlens.io.write_audio` (atomic).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import signal

from freqlens.conv.apps._common import as_real_array, check_memory, positive, probability
from freqlens.errors import FreqlensError

__all__ = ["reverb", "synthetic_rir", "peak_safe", "NORMALIZE_MODES"]

NORMALIZE_MODES = ("energy", "peak", "none")


def _as_audio(x, name: str) -> np.ndarray:
    arr = as_real_array(x, name, ndim=(1, 2))
    if not np.all(np.isfinite(arr)):
        # An FFT convolution would spread a single NaN over the whole output; refuse instead.
        raise FreqlensError(f"{name} contains NaN or inf samples")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise FreqlensError(f"{name} has no channels (shape {arr.shape})")
    return arr


def _rate(fs, name: str) -> int:
    value = positive(fs, name)
    if value != int(value):
        raise FreqlensError(f"{name} must be a whole number of samples per second, got {fs!r}")
    return int(value)


def peak_safe(x, limit: float | None = 1.0) -> tuple[np.ndarray, float]:
    """Scale ``x`` down (never up) so that ``max|x| <= limit``; return ``(scaled, gain)``.

    Parameters
    ----------
    x : array_like
        Signal.
    limit : float or None
        Largest allowed absolute sample value; ``None`` returns ``x`` with gain 1.

    Returns
    -------
    scaled : ndarray
        ``gain * x``.
    gain : float
        ``min(1, limit / max|x|)``; a single linear gain, so the waveform is never clipped.

    Notes
    -----
    ``gain = min(1, limit / max_n |x[n]|)``; 1 for an all-zero signal.

    Examples
    --------
    >>> y, g = peak_safe([0.5, -2.0, 1.0], limit=1.0)
    >>> y, g
    (array([ 0.25, -1.  ,  0.5 ]), 0.5)
    """
    arr = np.asarray(x, dtype=np.float64)
    if limit is None:
        return arr, 1.0
    lim = positive(limit, "limit")
    peak = float(np.max(np.abs(arr), initial=0.0))
    gain = 1.0 if peak <= lim or peak == 0.0 else lim / peak
    return arr * gain, gain


def synthetic_rir(
    fs: int,
    rt60: float,
    *,
    length: int | None = None,
    drr_db: float = 0.0,
    channels: int = 1,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """A synthetic room impulse response: a direct impulse followed by exponentially decaying Gaussian noise.

    Parameters
    ----------
    fs : int
        Sample rate in Hz.
    rt60 : float
        Reverberation time in seconds: the time the tail's energy takes to fall by 60 dB.
    length : int, optional
        Number of samples; default ``ceil(rt60 * fs)`` (the tail is 60 dB down at its end).
    drr_db : float
        Direct-to-reverberant energy ratio in dB (0 = as much energy in the tail as in the direct impulse;
        negative values sound farther away).
    channels : int
        Number of channels; each gets the same direct impulse and an independent noise tail (a decorrelated,
        "wide" stereo reverb for ``channels=2``).
    seed : int, numpy Generator or None
        Source of the noise; the same seed gives the same response.

    Returns
    -------
    ndarray, shape (length,) or (length, channels)

    Notes
    -----
    The model (a common first approximation of a diffuse reverberant field, e.g. Moorer 1979):

    ``h[0] = 1``, ``h[n] = g * w[n] * 10**(-3 n / (fs * rt60))`` for ``1 <= n < length``, ``w[n] ~ N(0, 1)``
    i.i.d.; the amplitude envelope falls by 60 dB (a factor 1000) in ``rt60`` seconds. The gain ``g`` is set from
    the drawn noise so that ``sum_{n>=1} h[n]**2 = 10**(-drr_db / 10)`` exactly in every channel. No early
    reflections, no frequency-dependent decay, no predelay.

    Examples
    --------
    >>> h = synthetic_rir(8000, 0.5, seed=1)
    >>> h.shape, float(h[0])
    ((4000,), 1.0)
    >>> round(float(np.sum(h[1:] ** 2)), 12)     # drr_db=0: tail energy equals the direct energy
    1.0
    >>> synthetic_rir(8000, 0.25, channels=2).shape
    (2000, 2)
    """
    rate = _rate(fs, "fs")
    t60 = positive(rt60, "rt60")
    n_ch = positive(channels, "channels", integer=True)
    if length is None:
        n = max(2, math.ceil(t60 * rate))
    else:
        n = positive(length, "length", integer=True)
        if n < 2:
            raise FreqlensError(f"length must be at least 2 samples (direct impulse + tail), got {length!r}")
    if not math.isfinite(float(drr_db)):
        raise FreqlensError(f"drr_db must be a finite number, got {drr_db!r}")
    check_memory(n * n_ch, f"a synthetic impulse response of {n} samples x {n_ch} channels", copies=2)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    k = np.arange(1, n)
    envelope = 10.0 ** (-3.0 * k / (rate * t60))
    tail = rng.standard_normal((n - 1, n_ch)) * envelope[:, None]
    tail_energy = np.sum(tail**2, axis=0)
    target = 10.0 ** (-float(drr_db) / 10.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(tail_energy > 0, np.sqrt(target / tail_energy), 0.0)
    h = np.empty((n, n_ch))
    h[0] = 1.0
    h[1:] = tail * gain
    return h[:, 0] if n_ch == 1 else h


def reverb(
    dry,
    ir,
    *,
    fs_dry: int,
    fs_ir: int | None = None,
    mix: float = 0.3,
    normalize: Literal["energy", "peak", "none"] = "energy",
    tail: bool = True,
    peak_limit: float | None = 1.0,
) -> np.ndarray:
    """Convolution reverb: convolve a dry signal with an impulse response and mix it with the dry signal.

    Parameters
    ----------
    dry : array_like, shape (n,) or (n, channels)
        Dry signal (soundfile layout).
    ir : array_like, shape (m,) or (m, channels)
        Impulse response, e.g. from :func:`synthetic_rir` or a recorded room.
    fs_dry : int
        Sample rate of ``dry`` in Hz; the output has this rate.
    fs_ir : int, optional
        Sample rate of ``ir``; default ``fs_dry``. If it differs, the IR is resampled to ``fs_dry`` with
        :func:`scipy.signal.resample_poly` (polyphase, Kaiser-windowed anti-aliasing filter) before use.
    mix : float
        Wet fraction in [0, 1]: ``out = (1 - mix) * dry + mix * wet``.
    normalize : {'energy', 'peak', 'none'}
        Scaling of the IR before convolution: unit energy (``sum h**2 = 1`` per channel on average, which keeps
        the power of a white-noise input; the default), unit peak (``max|h| = 1``) or as given.
    tail : bool
        Keep the reverberation tail: the output has ``n + m - 1`` frames (the dry part is zero-padded).
        With ``tail=False`` it is cut to the input's ``n`` frames, as pedalboard's ``Convolution`` does.
    peak_limit : float or None
        If the output's peak exceeds this, the whole output is scaled down to it (one linear gain, never
        clipping; see :func:`peak_safe`). ``None`` disables the safety.

    Returns
    -------
    ndarray
        ``(n + m - 1,)`` or ``(n + m - 1, channels)`` (``n`` frames with ``tail=False``); 1-D only if both inputs
        are 1-D.

    Raises
    ------
    FreqlensError
        Bad parameters, NaN/inf samples, or channel counts that do not combine (see Notes).

    Notes
    -----
    ``wet[t] = sum_k dry[t - k] * h[k]`` (causal linear convolution along time, computed with
    :func:`scipy.signal.oaconvolve` or :func:`scipy.signal.fftconvolve`), ``h = ir / ||ir||`` for
    ``normalize='energy'``; then ``out = (1 - mix) * dry + mix * wet``, scaled by ``min(1, peak_limit / max|out|)``.

    Channels: a mono IR (1-D or one column) is applied to every channel of the dry signal; a multichannel IR on
    a mono dry signal gives one output channel per IR channel; otherwise the channel counts must be equal
    (channel ``c`` of the dry signal with channel ``c`` of the IR). Anything else is refused.

    Unlike pedalboard's ``Convolution`` (output ``0.125 * conv(x, h / ||h||_2)``, tail cut), nothing is scaled
    by a fixed factor here and the tail is kept by default.

    Examples
    --------
    >>> import numpy as np
    >>> dry = np.array([1.0, 0.0, 0.0, 0.0])
    >>> ir = np.array([1.0, 0.0, 0.5])
    >>> np.round(reverb(dry, ir, fs_dry=8000, mix=1.0, normalize='none'), 12)   # an impulse gives the IR back
    array([1. , 0. , 0.5, 0. , 0. , 0. ])
    >>> np.round(reverb(dry, ir, fs_dry=8000, mix=0.5, normalize='none', tail=False), 12)
    array([1.  , 0.  , 0.25, 0.  ])
    >>> reverb(np.zeros((100, 2)), synthetic_rir(8000, 0.1), fs_dry=8000).shape   # mono IR on stereo
    (899, 2)
    """
    x = _as_audio(dry, "dry")
    h = _as_audio(ir, "ir")
    rate = _rate(fs_dry, "fs_dry")
    rate_ir = rate if fs_ir is None else _rate(fs_ir, "fs_ir")
    wet_frac = probability(mix, "mix")
    if normalize not in NORMALIZE_MODES:
        raise FreqlensError(f"normalize must be one of {', '.join(NORMALIZE_MODES)}; got {normalize!r}")

    one_d = x.ndim == 1 and h.ndim == 1
    x2 = x[:, None] if x.ndim == 1 else x
    h2 = h[:, None] if h.ndim == 1 else h
    cx, ch = x2.shape[1], h2.shape[1]
    if cx != ch and cx != 1 and ch != 1:
        raise FreqlensError(
            f"channel mismatch: dry has {cx} channels and ir has {ch}; use a mono IR, a mono dry signal, "
            "or the same number of channels"
        )

    if rate_ir != rate:
        g = math.gcd(rate, rate_ir)
        up, down = rate // g, rate_ir // g
        check_memory(h2.shape[0] * up / down * ch + 20 * max(up, down), "resampling the impulse response")
        h2 = signal.resample_poly(h2, up, down, axis=0)

    if normalize == "energy":
        energy = float(np.sum(h2**2)) / h2.shape[1]
        if energy == 0.0:
            raise FreqlensError("ir is all zeros; it cannot be normalised to unit energy")
        h2 = h2 / math.sqrt(energy)
    elif normalize == "peak":
        peak = float(np.max(np.abs(h2)))
        if peak == 0.0:
            raise FreqlensError("ir is all zeros; it cannot be normalised to unit peak")
        h2 = h2 / peak

    n, m = x2.shape[0], h2.shape[0]
    n_out = n + m - 1
    check_memory(n_out * max(cx, ch), f"a reverb output of {n_out} frames x {max(cx, ch)} channels")
    # Overlap-add pays off when one signal is much longer than the other; otherwise one big FFT.
    conv = signal.oaconvolve if max(n, m) > 8 * min(n, m) else signal.fftconvolve
    wet = conv(x2, h2, axes=0)
    out = _mix(x2, wet, wet_frac)
    if not tail:
        out = out[:n]
    out, _ = peak_safe(out, peak_limit)
    return out[:, 0] if one_d else out


def _mix(dry: np.ndarray, wet: np.ndarray, mix: float) -> np.ndarray:
    """``(1 - mix) * dry + mix * wet`` with ``dry`` zero-padded (along axis 0) to ``wet``'s length."""
    out = mix * wet
    out[: dry.shape[0]] += (1.0 - mix) * dry
    return out
