"""Time-series applications of convolution: smoothing, kernel density estimation and linear response.

Smoothers work along ``axis`` (default the last) of an n-D array. ``mode='same'`` keeps the length and, at the
ends, averages only the samples that exist (normalised convolution: the ends are not pulled towards zero);
``mode='valid'`` returns only the positions whose whole window lies inside the data. Sums are computed directly
(:func:`scipy.ndimage.correlate1d`) or recursively (:func:`scipy.signal.lfilter`), so a NaN only spoils the
outputs whose window (or, for the recursive filters, whose past) contains it.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import ndimage, signal

from freqlens.conv.apps._common import as_real_array, check_memory, positive
from freqlens.errors import FreqlensError

__all__ = [
    "moving_average", "gaussian_smooth", "exponential_smooth", "kde", "linear_response", "decay_kernel",
    "SMOOTH_MODES",
]

SMOOTH_MODES = ("same", "valid")


def _check_axis(x: np.ndarray, axis: int) -> int:
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise FreqlensError(f"axis must be an integer in [{-x.ndim}, {x.ndim - 1}] for x of shape {x.shape}")
    return int(axis) % x.ndim


def _window_mean(x: np.ndarray, weights: np.ndarray, mode: str, axis: int, name: str) -> np.ndarray:
    """Weighted window mean along ``axis``; 'same' renormalises by the weight that falls inside the data."""
    if mode not in SMOOTH_MODES:
        raise FreqlensError(f"mode must be one of {', '.join(SMOOTH_MODES)}; got {mode!r}")
    n, w = x.shape[axis], weights.size
    sums = ndimage.correlate1d(x, weights, axis=axis, mode="constant", cval=0.0)
    if mode == "same":
        inside = ndimage.correlate1d(np.ones(n), weights, mode="constant", cval=0.0)
        shape = [1] * x.ndim
        shape[axis] = n
        return sums / inside.reshape(shape)
    if w > n:
        raise FreqlensError(
            f"{name} spans {w} samples, more than the {n} samples of x; mode='valid' would be empty "
            "(use mode='same' or a shorter window)"
        )
    # correlate1d centres a window of w samples at index w // 2 (the extra sample of an even window goes before).
    start = w // 2
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, start + n - w + 1)
    return sums[tuple(index)] / weights.sum()


def moving_average(
    x, n: int, *, mode: Literal["same", "valid"] = "same", axis: int = -1
) -> np.ndarray:
    """Moving (boxcar) average over ``n`` samples.

    Parameters
    ----------
    x : array_like
        Data; smoothed along ``axis``.
    n : int
        Window length in samples (>= 1).
    mode : {'same', 'valid'}
        ``'same'``: centred window, output as long as ``x``; at the ends the mean is over the samples inside the
        data. For an even ``n`` the window holds one more sample before the centre than after it.
        ``'valid'``: ``out[i] = mean(x[i:i + n])``, ``len(x) - n + 1`` values (an error if ``n > len(x)``).
    axis : int
        Axis along which to smooth.

    Returns
    -------
    ndarray
        Float64 array.

    Notes
    -----
    ``out[i] = (1 / |W_i|) * sum_{j in W_i} x[j]`` with ``W_i`` the window around ``i`` clipped to the data:
    a convolution with the box kernel ``1/n`` divided by the convolution of the all-ones signal with it. Its
    frequency response is the Dirichlet kernel ``sin(pi f n) / (n sin(pi f))``, with zeros at multiples of
    ``1/n`` cycles per sample. ``mode='valid'`` equals pandas' ``Series.rolling(n).mean()`` without the leading
    NaNs.

    Examples
    --------
    >>> moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 3, mode='valid')
    array([2., 3., 4.])
    >>> moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 3)        # the ends average the two samples they have
    array([1.5, 2. , 3. , 4. , 4.5])
    """
    arr = as_real_array(x, "x")
    ax = _check_axis(arr, axis)
    width = positive(n, "n", integer=True)
    return _window_mean(arr, np.ones(width), mode, ax, f"n={width}")


def _gaussian_kernel1d(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Sampled Gaussian ``exp(-k**2 / (2 sigma**2))`` for ``|k| <= int(truncate * sigma + 0.5)``, summing to 1."""
    radius = int(truncate * sigma + 0.5)
    k = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (k / sigma) ** 2)
    return g / g.sum()


def gaussian_smooth(
    x, sigma: float, *, mode: Literal["same", "valid"] = "same", truncate: float = 4.0, axis: int = -1
) -> np.ndarray:
    """Gaussian smoothing with standard deviation ``sigma`` samples.

    Parameters
    ----------
    x : array_like
        Data; smoothed along ``axis``.
    sigma : float
        Standard deviation of the kernel in samples (> 0).
    mode : {'same', 'valid'}
        As in :func:`moving_average`: ``'same'`` renormalises the truncated kernel at the ends, ``'valid'``
        drops the ``radius = int(truncate * sigma + 0.5)`` samples at each end.
    truncate : float
        Kernel half-width in standard deviations (scipy.ndimage's default, 4).
    axis : int
        Axis along which to smooth.

    Returns
    -------
    ndarray
        Float64 array.

    Notes
    -----
    ``out[i] = sum_k g[k] x[i + k] / sum_{k: i + k inside} g[k]`` with ``g[k] = exp(-k**2 / (2 sigma**2))``,
    ``|k| <= radius``. Away from the ends this is exactly :func:`scipy.ndimage.gaussian_filter1d`; its frequency
    response is close to ``exp(-2 pi**2 sigma**2 f**2)`` (f in cycles per sample).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(41)
    >>> x[20] = 1.0                                           # an impulse spreads into the Gaussian itself
    >>> y = gaussian_smooth(x, 2.0)
    >>> round(float(y.sum()), 10), int(np.argmax(y)), round(float(y[20] / y[22]), 4)   # e**(1/2)
    (1.0, 20, 1.6487)
    >>> gaussian_smooth(np.arange(10.0), 1.0, mode='valid')   # a straight line is left alone
    array([4., 5.])
    """
    arr = as_real_array(x, "x")
    ax = _check_axis(arr, axis)
    s = positive(sigma, "sigma")
    t = positive(truncate, "truncate")
    g = _gaussian_kernel1d(s, t)
    return _window_mean(arr, g, mode, ax, f"the Gaussian kernel (sigma={s:g}, truncate={t:g})")


def exponential_smooth(x, alpha: float, *, axis: int = -1) -> np.ndarray:
    """Exponential smoothing (an exponentially weighted moving average), causal.

    Parameters
    ----------
    x : array_like
        Data; smoothed along ``axis``.
    alpha : float
        Smoothing factor in (0, 1]: weight of the newest sample (1 returns ``x``). For a "span" of ``N``
        samples, ``alpha = 2 / (N + 1)``.
    axis : int
        Axis along which to smooth.

    Returns
    -------
    ndarray
        Float64 array of ``x``'s shape.

    Notes
    -----
    ``y[0] = x[0]``, ``y[t] = alpha * x[t] + (1 - alpha) * y[t - 1]``: the IIR filter
    ``H(z) = alpha / (1 - (1 - alpha) z^-1)``, i.e. a convolution with the infinite kernel
    ``alpha (1 - alpha)**k``, run by :func:`scipy.signal.lfilter` with the initial state chosen so that
    ``y[0] = x[0]``. Equal to pandas' ``Series.ewm(alpha=alpha, adjust=False).mean()`` on finite data; a NaN
    propagates to every later output (pandas skips it instead).

    Examples
    --------
    >>> exponential_smooth([0.0, 1.0, 1.0, 1.0], 0.5)
    array([0.   , 0.5  , 0.75 , 0.875])
    """
    arr = as_real_array(x, "x")
    ax = _check_axis(arr, axis)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or not (
        0.0 < float(alpha) <= 1.0
    ):
        raise FreqlensError(f"alpha must be a number in (0, 1], got {alpha!r}")
    a = float(alpha)
    first = np.take(arr, [0], axis=ax)
    y, _ = signal.lfilter([a], [1.0, a - 1.0], arr, axis=ax, zi=(1.0 - a) * first)
    return y


def _bandwidth(samples: np.ndarray, weights: np.ndarray | None, bandwidth) -> float:
    if isinstance(bandwidth, str):
        if bandwidth not in ("scott", "silverman"):
            raise FreqlensError(f"bandwidth must be a positive number, 'scott' or 'silverman'; got {bandwidth!r}")
        if weights is None:
            n_eff = samples.size
            std = float(np.std(samples, ddof=1)) if samples.size > 1 else 0.0
        else:
            n_eff = weights.sum() ** 2 / np.sum(weights**2)
            std = float(np.sqrt(np.cov(samples, aweights=weights))) if samples.size > 1 else 0.0
        if not std > 0:
            raise FreqlensError(
                f"bandwidth={bandwidth!r} needs samples with a spread; these have standard deviation 0 "
                "(give bandwidth as a number)"
            )
        factor = n_eff ** (-1 / 5) if bandwidth == "scott" else (n_eff * 3 / 4) ** (-1 / 5)
        return factor * std
    return positive(bandwidth, "bandwidth")


def kde(
    samples,
    grid=512,
    *,
    bandwidth: float | Literal["scott", "silverman"] = "scott",
    weights=None,
    cut: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian kernel density estimate on a regular grid, by convolving a binned histogram with the kernel.

    Parameters
    ----------
    samples : array_like, shape (n,)
        Finite 1-D data.
    grid : int or array_like
        Number of grid points spanning ``[min - cut * bw, max + cut * bw]``, or the grid itself (ascending,
        evenly spaced, at least 2 points).
    bandwidth : float, 'scott' or 'silverman'
        Kernel standard deviation in data units, or a rule of thumb as in :class:`scipy.stats.gaussian_kde`:
        Scott ``n_eff**(-1/5) * std``, Silverman ``(3 n_eff / 4)**(-1/5) * std`` (``std`` with ``ddof=1``,
        ``n_eff = (sum w)**2 / sum w**2``).
    weights : array_like, shape (n,), optional
        Non-negative sample weights (not all zero).
    cut : float
        Margin of the automatic grid in bandwidths.

    Returns
    -------
    grid : ndarray, shape (m,)
    density : ndarray, shape (m,)
        Estimated probability density at the grid points (integrates to ~1 when the grid covers the data).

    Notes
    -----
    ``f(x) = (1 / sum w) sum_i w_i N(x; x_i, bw**2)``. Each sample's weight is split linearly between its two
    neighbouring grid points (linear binning: counts ``c_j``), then ``f(x_j) ~= sum_k c_k K(x_j - x_k)`` is one
    convolution of the counts with the sampled kernel ``K(k dx) = exp(-(k dx)**2 / (2 bw**2)) /
    (sqrt(2 pi) bw)``, ``|k dx| <= 8 bw`` (FFT). The cost is ``O(n + m log m)`` instead of ``O(n m)``; the error
    against the exact sum is ``O((dx / bw)**2)``. Samples outside a user grid are dropped (they still count in
    ``sum w``, so the density then integrates to the fraction inside).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, f = kde(rng.normal(size=2000), 401)
    >>> round(float(np.sum(f) * (x[1] - x[0])), 3)          # integrates to 1
    1.0
    >>> bool(abs(x[np.argmax(f)]) < 0.2)                     # mode near 0
    True
    """
    s = as_real_array(samples, "samples", ndim=(1,))
    check_memory(s.size, f"a KDE of {s.size:,} samples", copies=6)  # binning temporaries; before the NaN scan
    if not np.all(np.isfinite(s)):
        raise FreqlensError("samples contain NaN or inf")
    lo, hi = float(s.min()), float(s.max())  # within +-1e100 (as_real_array): their spread fits in float64
    w = None
    if weights is not None:
        w = as_real_array(weights, "weights", ndim=(1,))
        if w.shape != s.shape:
            raise FreqlensError(f"weights must have the shape of samples {s.shape}, got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise FreqlensError("weights must be finite, non-negative and not all zero")
    bw = _bandwidth(s, w, bandwidth)
    c = positive(cut, "cut", allow_zero=True)

    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        m = positive(grid, "grid", integer=True)
        if m < 2:
            raise FreqlensError(f"grid must have at least 2 points, got {grid!r}")
        check_memory(m, f"a KDE grid of {m} points")
        first, last = lo - c * bw, hi + c * bw
        if not math.isfinite(last - first):
            raise FreqlensError(f"the grid from min - cut * bandwidth to max + cut * bandwidth ({first:g} to "
                                f"{last:g}, bandwidth {bw:g}) leaves float64's range; use a smaller bandwidth or cut, "
                                "or rescale the samples")
        x = np.linspace(first, last, m)
    else:
        x = as_real_array(grid, "grid", ndim=(1,))
        if x.size < 2 or not np.all(np.isfinite(x)):
            raise FreqlensError("grid must hold at least 2 finite points")
        steps = np.diff(x)
        if not np.all(steps > 0) or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise FreqlensError("grid must be ascending and evenly spaced (e.g. numpy.linspace)")
    m = x.size
    dx = (x[-1] - x[0]) / (m - 1)
    if bw < 0.5 * dx:  # the sampled kernel would miss the grid points: not a density any more
        raise FreqlensError(f"bandwidth {bw:.3g} is below half the grid spacing {dx:.3g}; use a finer grid "
                            "(more points) or a larger bandwidth")

    # Linear binning.
    u = (s - x[0]) / dx
    inside = (u >= 0) & (u <= m - 1)
    u, wi = u[inside], (np.ones(s.size) if w is None else w)[inside]
    left = np.minimum(np.floor(u).astype(np.int64), m - 2)
    frac = u - left
    counts = np.bincount(left, wi * (1 - frac), minlength=m) + np.bincount(left + 1, wi * frac, minlength=m)

    radius = min(m - 1, int(math.ceil(8.0 * bw / dx)))
    k = np.arange(-radius, radius + 1) * dx
    kernel = np.exp(-0.5 * (k / bw) ** 2) / (math.sqrt(2 * math.pi) * bw)
    total = float(s.size if w is None else w.sum())
    density = signal.fftconvolve(counts, kernel, mode="same") / total
    return x, np.maximum(density, 0.0)  # FFT round-off can leave -1e-18 where the density is 0


def decay_kernel(half_life: float, dt: float, length: int) -> np.ndarray:
    """Fraction remaining ``k`` steps after an intake: ``2**(-k dt / half_life)``, ``k = 0..length-1``.

    Notes
    -----
    First-order elimination, ``h[k] = exp(-ln 2 * k dt / half_life)``: the kernel that :func:`linear_response`
    applies recursively when given ``half_life``.

    Examples
    --------
    >>> decay_kernel(2.0, 1.0, 5)
    array([1.        , 0.70710678, 0.5       , 0.35355339, 0.25      ])
    """
    t_half = positive(half_life, "half_life")
    step = positive(dt, "dt")
    n = positive(length, "length", integer=True)
    return 2.0 ** (-np.arange(n) * step / t_half)


def linear_response(
    intake,
    *,
    half_life: float | None = None,
    kernel=None,
    dt: float = 1.0,
    length: int | None = None,
) -> np.ndarray:
    """Amount remaining over time when an intake schedule passes through a linear system (e.g. a drug dose).

    Parameters
    ----------
    intake : array_like, shape (n,)
        Amount taken in at each time step (``intake[k]`` at time ``k * dt``; zeros between doses).
    half_life : float, optional
        Half-life of a first-order (exponential) elimination, in the units of ``dt``.
    kernel : array_like, optional
        General impulse response instead: ``kernel[j]`` is the fraction of an intake still present ``j`` steps
        later (``kernel[0]`` at the step of the intake itself). Give exactly one of ``half_life`` and ``kernel``.
    dt : float
        Time step.
    length : int, optional
        Number of output steps; default ``len(intake)``. Longer values show the washout after the last intake.

    Returns
    -------
    ndarray, shape (length,)
        Amount present at each step, just after that step's intake.

    Notes
    -----
    A linear, time-invariant system responds to the intake schedule ``u`` with the convolution
    ``A[t] = sum_{k <= t} u[k] h[t - k]`` (superposition of the individual doses). For first-order elimination
    ``h[j] = r**j`` with ``r = 2**(-dt / half_life) = exp(-ln 2 dt / half_life)``, and the convolution is
    computed exactly by the recursion ``A[t] = r A[t - 1] + u[t]`` (:func:`scipy.signal.lfilter`). A dose ``D``
    every ``tau`` steps accumulates to ``D (1 - r**(tau N)) / (1 - r**tau)`` just after the ``N``-th dose, and
    to the steady-state peak ``D / (1 - r**tau)``.

    Examples
    --------
    >>> linear_response([8.0, 0, 0, 0], half_life=1.0)                 # one dose halves every step
    array([8., 4., 2., 1.])
    >>> linear_response([4.0, 0, 4.0, 0], half_life=2.0, length=6).round(4)   # two doses superpose
    array([4.    , 2.8284, 6.    , 4.2426, 3.    , 2.1213])
    """
    u = as_real_array(intake, "intake", ndim=(1,))
    if (half_life is None) == (kernel is None):
        raise FreqlensError("give exactly one of half_life= (exponential decay) and kernel= (impulse response)")
    step = positive(dt, "dt")
    n_out = u.size if length is None else positive(length, "length", integer=True)
    check_memory(max(n_out, u.size), f"a response of {n_out} steps")
    if n_out > u.size:
        u = np.concatenate([u, np.zeros(n_out - u.size)])
    else:
        u = u[:n_out]
    if half_life is not None:
        r = 2.0 ** (-step / positive(half_life, "half_life"))
        return signal.lfilter([1.0], [1.0, -r], u)
    h = as_real_array(kernel, "kernel", ndim=(1,))
    # Direct summation keeps a NaN intake from spreading to earlier times (an FFT would spread it everywhere).
    method = "auto" if np.all(np.isfinite(u)) and np.all(np.isfinite(h)) else "direct"
    return signal.convolve(u, h, mode="full", method=method)[:n_out]
