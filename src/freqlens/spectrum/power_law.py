"""Power laws of image spectra: fit ``P(f) ~ 1 / f**alpha`` to a radial power spectrum, and make such images.

Natural images have radially averaged power spectra close to ``1 / f**alpha`` with ``alpha`` about 2 (Field 1987;
van der Schaaf & van Hateren 1996). Frequencies in cycles per pixel, the convention of
:mod:`freqlens.spectrum.image`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft

from freqlens.errors import FreqlensError
from freqlens.spectrum._common import as_image, is_constant, refuse_too_large
from freqlens.spectrum.image import radial_frequency, radial_power

__all__ = ["PowerLawFit", "fit_power_law", "power_law_noise"]


@dataclass(frozen=True)
class PowerLawFit:
    """The least-squares fit of ``log10 P = log10_amplitude - alpha * log10 f`` over a band.

    Attributes
    ----------
    alpha : float
        Spectral exponent: ``P(f) ~ 1 / f**alpha`` (natural images: about 2).
    r2 : float
        Coefficient of determination of the straight line in log-log coordinates.
    log10_amplitude : float
        Intercept: ``log10 P`` at ``f = 1`` cycle per pixel.
    band : tuple of float
        ``(fmin, fmax)`` used, cycles per pixel.
    freqs, power : ndarray
        The whole radial spectrum (from :func:`radial_power`) the fit was made on.
    n_bins : int
        Number of annuli inside the band that entered the fit.
    """

    alpha: float
    r2: float
    log10_amplitude: float
    band: tuple[float, float]
    freqs: np.ndarray = field(repr=False)
    power: np.ndarray = field(repr=False)
    n_bins: int = 0

    def predict(self, f: Any) -> np.ndarray:
        """The fitted power ``10**log10_amplitude * f**(-alpha)`` at frequencies ``f`` (cycles per pixel)."""
        f = np.asarray(f, dtype=float)
        return 10.0**self.log10_amplitude * f ** (-self.alpha)


def _default_band(shape: tuple[int, ...]) -> tuple[float, float]:
    n = min(shape)
    return (max(4.0 / n, 0.01), 0.4)


def fit_power_law(
    image: Any, band: tuple[float, float] | None = None, *, window: str | None = "hann"
) -> PowerLawFit:
    """Fit ``P(f) ~ 1 / f**alpha`` to the radial power spectrum of an image over a frequency band.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey-level image.
    band : (fmin, fmax), optional
        Frequencies (cycles per pixel, ``0 < fmin < fmax <= 0.5``) whose annuli enter the fit. Default
        ``(max(4 / n, 0.01), 0.4)`` with ``n = min(H, W)``: the lowest few annuli are blurred by the window's
        main lobe and the very highest are often shaped by the camera's anti-aliasing or compression.
    window : {"hann", None, "hamming", "blackman", "tukey"}
        Window applied before the DFT (see :func:`radial_power`). Without one, the jump at the image's borders
        adds a ``1 / f**2`` leakage that biases ``alpha`` towards 2.

    Returns
    -------
    PowerLawFit
        ``.alpha``, ``.r2``, ``.log10_amplitude``, ``.band``, ``.freqs``, ``.power``, ``.n_bins``.

    Raises
    ------
    FreqlensError
        (a ``ValueError``) for a band outside ``(0, 0.5]``, ``fmin >= fmax``, fewer than 3 annuli in the band, or
        an image with no power in the band (e.g. constant).

    Notes
    -----
    Ordinary least squares on :math:`(\\log_{10} f_k, \\log_{10} P(f_k))` for the annuli with
    :math:`f_{min} \\le f_k \\le f_{max}`:

    .. math:: \\log_{10} P(f) = a - \\alpha \\log_{10} f, \\qquad
              R^2 = 1 - \\frac{\\sum_k (\\log_{10} P_k - \\hat y_k)^2}{\\sum_k (\\log_{10} P_k - \\overline{\\log_{10} P})^2}

    Examples
    --------
    >>> noise = power_law_noise((128, 128), alpha=2.0, seed=0)
    >>> fit = fit_power_law(noise, band=(0.03, 0.4))
    >>> bool(abs(fit.alpha - 2.0) < 0.15), bool(fit.r2 > 0.95)
    (True, True)
    """
    img = as_image(image)
    if np.iscomplexobj(img):
        raise FreqlensError("image must be real for a power-law fit")
    if is_constant(img):
        raise FreqlensError(f"image is constant (every pixel {img.flat[0]:.6g}): it has no signal above quantisation, "
                            "so its spectrum is rounding noise and no power law can be fitted")
    if band is None:
        if min(img.shape) < 16:
            raise FreqlensError(f"image of shape {img.shape} is too small for a power-law fit (needs at least "
                                "16 pixels along each side)")
        band = _default_band(img.shape)
    try:
        fmin, fmax = (float(b) for b in band)
    except (TypeError, ValueError):
        raise FreqlensError(f"band must be a pair (fmin, fmax) in cycles per pixel, got {band!r}") from None
    if not (0 < fmin < fmax <= 0.5):
        raise FreqlensError(f"band must satisfy 0 < fmin < fmax <= 0.5 cycles per pixel, got ({fmin}, {fmax})")
    freqs, power = radial_power(img, window=window)
    sel = (freqs >= fmin) & (freqs <= fmax) & np.isfinite(power) & (power > 0)
    if np.count_nonzero(sel) < 3:
        total = np.count_nonzero((freqs >= fmin) & (freqs <= fmax))
        reason = "no power" if total >= 3 else f"{total} annuli"
        raise FreqlensError(
            f"band ({fmin}, {fmax}) leaves {reason} to fit for an image of shape {img.shape}; "
            "widen the band or use a larger image"
        )
    lx = np.log10(freqs[sel])
    ly = np.log10(power[sel])
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (intercept + slope * lx)
    ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return PowerLawFit(
        alpha=float(-slope),
        r2=r2,
        log10_amplitude=float(intercept),
        band=(fmin, fmax),
        freqs=freqs,
        power=power,
        n_bins=int(np.count_nonzero(sel)),
    )


def power_law_noise(
    shape: tuple[int, int], alpha: float, *, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """Random image whose power spectrum falls as ``1 / f**alpha`` (zero mean, unit standard deviation).

    Parameters
    ----------
    shape : (H, W)
        Image size.
    alpha : float
        Spectral exponent (0 gives white noise, 2 resembles natural images).
    seed : int, numpy.random.Generator or None
        Source of randomness (``numpy.random.default_rng(seed)``); the global state is never touched.

    Notes
    -----
    White Gaussian noise is shaped in the frequency domain by the real, radially symmetric gain
    :math:`\\rho^{-\\alpha/2}` (and 0 at DC), so the expected power is :math:`E|F|^2 \\propto \\rho^{-\\alpha}`.
    The field is periodic, hence free of edge leakage.

    Examples
    --------
    >>> img = power_law_noise((32, 32), alpha=1.0, seed=1)
    >>> img.shape, round(float(img.std()), 6), bool(abs(img.mean()) < 1e-12)
    ((32, 32), 1.0, True)
    """
    if len(shape) != 2 or any(int(n) != n or n < 2 for n in shape):
        raise FreqlensError(f"shape must be two integers >= 2, got {shape!r}")
    if not np.isfinite(alpha):
        raise FreqlensError(f"alpha must be finite, got {alpha!r}")
    refuse_too_large(int(shape[0]) * int(shape[1]), f"a {shape[0]}x{shape[1]} noise image")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    white = rng.standard_normal(tuple(int(n) for n in shape))
    rho = radial_frequency(white.shape, centred=False)
    gain = np.zeros_like(rho)
    pos = rho > 0
    with np.errstate(over="ignore", under="ignore"):
        gain[pos] = rho[pos] ** (-alpha / 2.0)
    if not (np.all(np.isfinite(gain)) and gain.max() > 0):
        # |alpha| in the hundreds: rho**(-alpha/2) leaves float64. The field is normalised below, so the gain only
        # matters up to a factor: take it in logarithms, relative to its largest value.
        log_gain = (-alpha / 2.0) * np.log(rho[pos])
        gain[pos] = np.exp(log_gain - log_gain.max())
    field_ = scipy.fft.ifft2(scipy.fft.fft2(white) * gain).real
    field_ -= field_.mean()
    return field_ / field_.std()
