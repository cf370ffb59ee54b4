"""Spectra of images: the 2-D DFT with frequency axes, radial power, power-law fits, the convolution theorem.

This module extends the 1-D convention of :mod:`freqlens.spectrum.dft` to two dimensions, unchanged:

- forward kernel ``exp(-2*pi*i * (fy*y + fx*x))`` with ``y`` the row index and ``x`` the column index;
- frequencies in **cycles per pixel** (``fftfreq(n)``), so ``fy, fx`` lie in ``[-0.5, 0.5)`` and an image
  ``cos(2*pi*(3*x/W))`` puts its energy in the bins ``fx = +-3/W`` exactly;
- ``norm`` as in :mod:`scipy.fft` (``"backward"``, ``"ortho"``, ``"forward"``). The 2-D default is
  ``"ortho"`` (unlike :func:`freqlens.spectrum.dft`, whose default is ``"forward"``) because image spectra are
  mostly read as *energies*: with ``"ortho"``, ``sum |F|**2 == sum |image|**2`` (Parseval);
- centred display: ``fftshift`` puts DC in the middle, at index ``n // 2`` for even ``n``.

The radial frequency of a bin is ``rho = sqrt(fy**2 + fx**2)`` (cycles per pixel); radial spectra stop at the
Nyquist radius 0.5 (the corners of the square beyond it are not full annuli).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.fft
import scipy.signal

from freqlens.errors import FreqlensError
from freqlens.spectrum.dft import _NORMS, _to_numpy, frequencies
from freqlens._memory import available_memory

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "ConvolutionTheoremCheck",
    "PowerLawFit",
    "Spectrum2D",
    "convolution_theorem",
    "dft2",
    "energy_fraction",
    "fit_power_law",
    "log_magnitude",
    "plot_log_magnitude",
    "plot_radial_power",
    "power_law_noise",
    "radial_frequency",
    "radial_power",
]

_WINDOWS = ("hann", "hamming", "blackman", "tukey")


# --------------------------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------------------------
def _as_image(image: Any, name: str = "image") -> np.ndarray:
    """A finite-shaped 2-D numeric numpy array (float64 or complex128); raise naming ``name`` otherwise."""
    if isinstance(image, Spectrum2D):
        raise FreqlensError(f"{name} must be an image array, got a Spectrum2D")
    arr = np.asarray(_to_numpy(image))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise FreqlensError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise FreqlensError(
            f"{name} must be a 2-D (grey-level) array, got shape {arr.shape}; "
            "convert colour images first (e.g. freqlens.io.read_image(path, as_gray=True))"
        )
    if arr.size == 0:
        raise FreqlensError(f"{name} is empty (shape {arr.shape})")
    return arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64, copy=False)


def _refuse_too_large(n_elements: int, what: str) -> None:
    """Raise before allocating if ~4 complex arrays of ``n_elements`` exceed ``MemAvailable`` (Linux)."""
    need = int(n_elements) * 16 * 4
    avail = available_memory()
    if need > avail:
        raise FreqlensError(
            f"{what} would need {need / 2**30:.1f} GiB of memory but {avail / 2**30:.1f} GiB is available"
        )


def _check_norm(norm: str) -> str:
    if norm not in _NORMS:
        raise FreqlensError(f"norm must be one of {_NORMS}, got {norm!r}")
    return norm


def _apply_window(img: np.ndarray, window: str | None) -> np.ndarray:
    """Subtract the mean and multiply by a radial window, rescaled so the mean power is kept (``mean(w**2) == 1``)."""
    if window is None:
        return img
    if window not in _WINDOWS:
        raise FreqlensError(f"window must be None or one of {_WINDOWS}, got {window!r}")
    import skimage.filters

    w = skimage.filters.window(window, img.shape)
    w = w / np.sqrt(np.mean(w**2))
    return (img - img.mean()) * w


# --------------------------------------------------------------------------------------------------------------
# the 2-D DFT
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spectrum2D:
    """A 2-D DFT together with its frequency axes (cycles per pixel).

    Attributes
    ----------
    values : ndarray of complex128, shape (H, W)
        The coefficients ``F[ky, kx]``; centred (DC at ``[H // 2, W // 2]``) when ``centred`` is true.
    freq_y, freq_x : ndarray of float64, shapes (H,) and (W,)
        Frequencies of the rows and columns of ``values``, in cycles per pixel (increasing when centred).
    norm : str
        The scaling used (as in :mod:`scipy.fft`).
    centred : bool
        Whether ``values`` and the frequency axes were ``fftshift``-ed.
    """

    values: np.ndarray
    freq_y: np.ndarray
    freq_x: np.ndarray
    norm: str
    centred: bool

    @property
    def freqs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(freq_y, freq_x)``."""
        return self.freq_y, self.freq_x

    @property
    def magnitude(self) -> np.ndarray:
        """``|F|``."""
        return np.abs(self.values)

    @property
    def power(self) -> np.ndarray:
        """``|F|**2``."""
        return np.abs(self.values) ** 2

    @property
    def radius(self) -> np.ndarray:
        """Radial frequency ``sqrt(fy**2 + fx**2)`` of every bin, same shape as ``values``."""
        return np.hypot(self.freq_y[:, None], self.freq_x[None, :])

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(left, right, bottom, top)`` for ``imshow(values, extent=...)`` of a centred spectrum.

        Spectra are drawn like images (``origin='upper'``): ``fy`` increases downwards as the row index does, so
        a pattern whose wave vector points at an angle in the image shows its peaks at that angle in the plot.
        """
        dy = 1.0 / len(self.freq_y)
        dx = 1.0 / len(self.freq_x)
        return (
            float(self.freq_x.min() - dx / 2),
            float(self.freq_x.max() + dx / 2),
            float(self.freq_y.max() + dy / 2),
            float(self.freq_y.min() - dy / 2),
        )

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)


def dft2(image: Any, *, norm: str = "ortho", centred: bool = True) -> Spectrum2D:
    """The 2-D DFT of an image, with its frequency axes in cycles per pixel.

    Parameters
    ----------
    image : array_like or torch.Tensor, shape (H, W)
        Grey-level image (real or complex).
    norm : {"ortho", "backward", "forward"}
        Scaling as in :func:`scipy.fft.fft2`. The default ``"ortho"`` preserves energy (Parseval).
    centred : bool
        ``fftshift`` the result so that DC sits in the middle (at ``[H // 2, W // 2]``) and the axes increase.

    Returns
    -------
    Spectrum2D
        ``.values`` (complex), ``.freq_y``, ``.freq_x``, ``.magnitude``, ``.power``, ``.radius``.

    Notes
    -----
    .. math:: F[k_y, k_x] = c \\sum_{y=0}^{H-1} \\sum_{x=0}^{W-1} I[y, x]\\, e^{-2\\pi i (k_y y / H + k_x x / W)}

    with :math:`c = 1` (``"backward"``), :math:`1/\\sqrt{HW}` (``"ortho"``) or :math:`1/(HW)` (``"forward"``).
    Bin :math:`(k_y, k_x)` has frequency :math:`(f_y, f_x) = (k_y/H, k_x/W)` cycles per pixel, folded into
    :math:`[-1/2, 1/2)` as by :func:`scipy.fft.fftfreq`.

    Examples
    --------
    >>> y, x = np.mgrid[:8, :8]
    >>> S = dft2(np.cos(2 * np.pi * 2 * x / 8), norm="forward")
    >>> S.freq_x
    array([-0.5  , -0.375, -0.25 , -0.125,  0.   ,  0.125,  0.25 ,  0.375])
    >>> np.round(S.magnitude[4], 12)  # the row fy = 0: half the amplitude at fx = -0.25 and +0.25
    array([0. , 0. , 0.5, 0. , 0. , 0. , 0.5, 0. ])
    """
    img = _as_image(image)
    _check_norm(norm)
    values = scipy.fft.fft2(img, norm=norm)
    fy = frequencies(img.shape[0])
    fx = frequencies(img.shape[1])
    if centred:
        values = scipy.fft.fftshift(values)
        fy = scipy.fft.fftshift(fy)
        fx = scipy.fft.fftshift(fx)
    return Spectrum2D(values=values, freq_y=fy, freq_x=fx, norm=norm, centred=bool(centred))


def radial_frequency(shape: tuple[int, int], *, centred: bool = True) -> np.ndarray:
    """The radial frequency ``sqrt(fy**2 + fx**2)`` (cycles per pixel) of every bin of an ``(H, W)`` DFT.

    Examples
    --------
    >>> radial_frequency((4, 4))[2]  # the row fy = 0 of a centred grid
    array([0.5 , 0.25, 0.  , 0.25])
    """
    if len(shape) != 2 or any(int(n) != n or n < 1 for n in shape):
        raise FreqlensError(f"shape must be two positive integers, got {shape!r}")
    fy = frequencies(int(shape[0]))
    fx = frequencies(int(shape[1]))
    rho = np.hypot(fy[:, None], fx[None, :])
    return scipy.fft.fftshift(rho) if centred else rho


def log_magnitude(image: Any, *, norm: str = "ortho", window: str | None = None, eps: float = 1e-12) -> np.ndarray:
    """The centred log-magnitude spectrum in decibels, ``20 * log10(|F| + eps)``, for display.

    Parameters
    ----------
    image : array_like, shape (H, W), or Spectrum2D
        An image, or a spectrum already computed by :func:`dft2` (used as it is).
    norm : {"ortho", "backward", "forward"}
        Scaling of the DFT (ignored for a :class:`Spectrum2D`).
    window : {None, "hann", "hamming", "blackman", "tukey"}
        Subtract the mean and apply this radial window first (see :func:`radial_power`), which removes the
        bright cross that the image's edges otherwise draw through the spectrum.
    eps : float
        Added before the logarithm so that zero coefficients stay finite.

    Returns
    -------
    ndarray of float64, shape (H, W)
        Centred when computed here; as centred as the given spectrum otherwise.

    Notes
    -----
    .. math:: L[k_y, k_x] = 20 \\log_{10}(|F[k_y, k_x]| + \\varepsilon)

    Examples
    --------
    >>> float(np.round(log_magnitude(np.ones((4, 4)), norm="forward")[2, 2], 6))  # DC of a constant 1 is 1: 0 dB
    0.0
    """
    if not eps > 0:
        raise FreqlensError(f"eps must be > 0, got {eps!r}")
    if isinstance(image, Spectrum2D):
        spec = image
    else:
        spec = dft2(_apply_window(_as_image(image), window), norm=norm, centred=True)
    return 20.0 * np.log10(spec.magnitude + eps)


# --------------------------------------------------------------------------------------------------------------
# radial power and power laws
# --------------------------------------------------------------------------------------------------------------
def radial_power(
    image: Any, *, window: str | None = None, norm: str = "ortho"
) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum: mean of ``|F|**2`` over annuli of width ``1 / min(H, W)``.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey-level image.
    window : {None, "hann", "hamming", "blackman", "tukey"}
        If given, the mean is subtracted and the image multiplied by the radial window of
        :func:`skimage.filters.window` (rescaled so that ``mean(w**2) == 1``) before the DFT. This suppresses the
        leakage of the image's edges (a periodic DFT sees a jump at every border) into all frequencies.
    norm : {"ortho", "backward", "forward"}
        Scaling of the DFT.

    Returns
    -------
    freqs : ndarray of float64, shape (n // 2 + 1,)
        Centre of each annulus, ``k / n`` cycles per pixel for ``k = 0 .. n // 2`` with ``n = min(H, W)``.
    power : ndarray of float64, same shape
        Mean power of the bins in each annulus.

    Notes
    -----
    Annulus ``k`` holds the bins with ``round(n * rho) == k``, where ``rho = sqrt(fy**2 + fx**2)``:

    .. math:: P(f_k) = \\frac{1}{|A_k|} \\sum_{(k_y, k_x) \\in A_k} |F[k_y, k_x]|^2

    Bins beyond the Nyquist radius (the corners) are left out.

    Examples
    --------
    >>> y, x = np.mgrid[:16, :16]
    >>> f, p = radial_power(np.cos(2 * np.pi * 4 * x / 16))
    >>> f[4], int(np.argmax(p))
    (np.float64(0.25), 4)
    """
    img = _apply_window(_as_image(image), window)
    spec = dft2(img, norm=_check_norm(norm), centred=False)
    n = min(img.shape)
    k = np.rint(spec.radius * n).astype(np.int64).ravel()
    keep = k <= n // 2
    counts = np.bincount(k[keep], minlength=n // 2 + 1)
    sums = np.bincount(k[keep], weights=spec.power.ravel()[keep], minlength=n // 2 + 1)
    freqs = np.arange(n // 2 + 1) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        power = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return freqs, power


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
    img = _as_image(image)
    if np.iscomplexobj(img):
        raise FreqlensError("image must be real for a power-law fit")
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
    _refuse_too_large(int(shape[0]) * int(shape[1]), f"a {shape[0]}x{shape[1]} noise image")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    white = rng.standard_normal(tuple(int(n) for n in shape))
    rho = radial_frequency(white.shape, centred=False)
    gain = np.zeros_like(rho)
    gain[rho > 0] = rho[rho > 0] ** (-alpha / 2.0)
    field_ = scipy.fft.ifft2(scipy.fft.fft2(white) * gain).real
    field_ -= field_.mean()
    return field_ / field_.std()


def energy_fraction(image: Any, radius: Any, *, exclude_dc: bool = False) -> Any:
    """Fraction of the image's energy at radial frequencies ``rho <= radius`` (cycles per pixel).

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey-level image.
    radius : float or array_like of float
        Radius (or radii) in cycles per pixel, ``>= 0``; ``sqrt(0.5)`` or more covers every bin.
    exclude_dc : bool
        Leave the DC term (the mean brightness) out of both numerator and denominator. For natural images the
        DC term alone usually holds most of the energy, so this is the more informative share.

    Returns
    -------
    float or ndarray of float
        In ``[0, 1]``; a float for a scalar radius, otherwise an array of ``radius``'s shape. NaN when the image
        has no energy (e.g. all zeros, or constant with ``exclude_dc=True``).

    Notes
    -----
    .. math:: E(r) = \\frac{\\sum_{\\rho(k) \\le r} |F[k]|^2}{\\sum_k |F[k]|^2}

    which by Parseval's theorem is the share of :math:`\\sum |I|^2` carried by frequencies up to :math:`r`.

    Examples
    --------
    >>> y, x = np.mgrid[:32, :32]
    >>> tone = np.cos(2 * np.pi * 3 * x / 32)  # 3/32 = 0.094 cycles per pixel
    >>> np.round(energy_fraction(tone, [0.05, 0.1]), 12)
    array([0., 1.])
    """
    img = _as_image(image)
    r = np.asarray(radius, dtype=float)
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise FreqlensError(f"radius must be finite and >= 0 cycles per pixel, got {radius!r}")
    spec = dft2(img, norm="ortho", centred=False)
    power = spec.power.ravel()
    rho = spec.radius.ravel()
    if exclude_dc:
        power = power[rho > 0]
        rho = rho[rho > 0]
    order = np.argsort(rho, kind="stable")
    rho_sorted = rho[order]
    cum = np.concatenate([[0.0], np.cumsum(power[order])])
    total = cum[-1]
    idx = np.searchsorted(rho_sorted, r + 1e-12 * max(1.0, float(np.max(r, initial=0.0))), side="right")
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = cum[idx] / total if total > 0 else np.full(r.shape, np.nan)
    return float(frac) if np.ndim(frac) == 0 else frac


# --------------------------------------------------------------------------------------------------------------
# the convolution theorem
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvolutionTheoremCheck:
    """Spatial convolution against the inverse DFT of the product of spectra.

    Attributes
    ----------
    kind : str
        ``"circular"`` or ``"linear"``.
    spatial, spectral : ndarray
        The two results (same shape).
    max_abs_diff : float
        ``max |spatial - spectral|``.
    rel_diff : float
        ``max_abs_diff / max |spatial|`` (0 when both are 0).
    """

    kind: str
    spatial: np.ndarray = field(repr=False)
    spectral: np.ndarray = field(repr=False)
    max_abs_diff: float
    rel_diff: float

    def holds(self, rtol: float = 1e-9) -> bool:
        """Whether the two agree to ``rtol`` relative to the largest output value."""
        return self.rel_diff <= rtol

    def __str__(self) -> str:
        verdict = "holds" if self.holds() else "does NOT hold"
        return (
            f"convolution theorem ({self.kind}, output shape {self.spatial.shape}): {verdict}; "
            f"max |spatial - spectral| = {self.max_abs_diff:.3e} (relative {self.rel_diff:.3e})"
        )


def _fold(full: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Wrap a full linear convolution around onto ``shape`` (sum of periodic copies): circular convolution."""
    out = full
    for ax, n in enumerate(shape):
        length = out.shape[ax]
        reps = -(-length // n)
        pad = [(0, 0)] * out.ndim
        pad[ax] = (0, reps * n - length)
        out = np.pad(out, pad)
        out = out.reshape(out.shape[:ax] + (reps, n) + out.shape[ax + 1 :]).sum(axis=ax)
    return out


def convolution_theorem(x: Any, k: Any, kind: str = "circular") -> ConvolutionTheoremCheck:
    """Check ``x * k == IDFT(DFT(x) . DFT(k))`` numerically, for circular or linear convolution.

    Parameters
    ----------
    x : array_like, any number of dimensions
        Signal or image.
    k : array_like, same number of dimensions as ``x``
        Kernel; for ``kind="circular"`` no larger than ``x`` along any axis.
    kind : {"circular", "linear"}
        ``"circular"``: both sides have ``x``'s shape, the kernel is zero-padded to it and the spatial side wraps
        around the edges. ``"linear"``: both sides have the ``full`` shape ``x.shape + k.shape - 1``; the DFTs are
        zero-padded to it so that no wrap-around occurs.

    Returns
    -------
    ConvolutionTheoremCheck
        ``.max_abs_diff``, ``.rel_diff``, ``.holds()``, the two results, and a one-line ``str``.

    Notes
    -----
    The spatial side is computed directly (no FFT): the ``full`` linear convolution
    :math:`(x * k)[n] = \\sum_m k[m]\\, x[n - m]` with :func:`scipy.signal.convolve` (``method="direct"``), folded
    modulo ``x.shape`` for the circular case. The spectral side is

    .. math:: x \\circledast k = \\mathcal{F}^{-1}\\{\\mathcal{F}\\{x\\} \\cdot \\mathcal{F}\\{k\\}\\}

    with every DFT taken on the output's shape. Direct convolution costs ``x.size * k.size`` operations:
    keep the inputs small.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> check = convolution_theorem(rng.standard_normal((16, 16)), rng.standard_normal((3, 5)), "linear")
    >>> check.spatial.shape, check.holds()
    ((18, 20), True)
    """
    if kind not in ("circular", "linear"):
        raise FreqlensError(f"kind must be 'circular' or 'linear', got {kind!r}")
    xa = np.asarray(_to_numpy(x))
    ka = np.asarray(_to_numpy(k))
    for name, a in (("x", xa), ("k", ka)):
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise FreqlensError(f"{name} must be a numeric array, got dtype {a.dtype}")
        if a.size == 0 or a.ndim == 0:
            raise FreqlensError(f"{name} must be a non-empty array, got shape {a.shape}")
    if xa.ndim != ka.ndim:
        raise FreqlensError(f"x and k must have the same number of dimensions, got {xa.ndim} and {ka.ndim}")
    cplx = np.iscomplexobj(xa) or np.iscomplexobj(ka)
    dtype = np.complex128 if cplx else np.float64
    xa = xa.astype(dtype, copy=False)
    ka = ka.astype(dtype, copy=False)
    full = scipy.signal.convolve(xa, ka, mode="full", method="direct")
    if kind == "circular":
        if any(kn > xn for kn, xn in zip(ka.shape, xa.shape)):
            raise FreqlensError(
                f"k must be no larger than x along every axis for circular convolution, got {ka.shape} and {xa.shape}"
            )
        shape = xa.shape
        spatial = _fold(full, shape)
    else:
        shape = full.shape
        spatial = full
    spectral = scipy.fft.ifftn(scipy.fft.fftn(xa, s=shape) * scipy.fft.fftn(ka, s=shape))
    if not cplx:
        spectral = spectral.real
    diff = float(np.max(np.abs(spatial - spectral)))
    scale = float(np.max(np.abs(spatial)))
    rel = diff / scale if scale > 0 else (0.0 if diff == 0 else np.inf)
    return ConvolutionTheoremCheck(kind=kind, spatial=spatial, spectral=spectral, max_abs_diff=diff, rel_diff=rel)


# --------------------------------------------------------------------------------------------------------------
# plots (matplotlib's object API: no pyplot state, works headless)
# --------------------------------------------------------------------------------------------------------------
def _save(fig: Figure, path: str | Path | None) -> None:
    if path is None:
        return
    from freqlens.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")


def plot_log_magnitude(
    image: Any,
    *,
    window: str | None = "hann",
    ax: Any = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw the centred log-magnitude spectrum (dB) on axes in cycles per pixel; optionally save it.

    Returns the matplotlib ``Figure`` (created without pyplot unless ``ax`` is given).
    """
    from matplotlib.figure import Figure

    img = _as_image(image)
    spec = dft2(_apply_window(img, window), norm="ortho")
    db = log_magnitude(spec)
    if ax is None:
        fig = Figure(figsize=(5.2, 4.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    lo, hi = np.percentile(db, [1, 99.9])
    im = ax.imshow(db, origin="upper", extent=spec.extent, cmap="magma", vmin=lo, vmax=hi)
    ax.set_xlabel("$f_x$ (cycles / pixel)")
    ax.set_ylabel("$f_y$ (cycles / pixel, downwards like rows)")
    ax.set_title(title or "log-magnitude spectrum" + (f" ({window} window)" if window else ""))
    fig.colorbar(im, ax=ax, label="20 log10 |F|  (dB)", shrink=0.9)
    _save(fig, path)
    return fig


def plot_radial_power(
    image_or_fit: Any,
    *,
    band: tuple[float, float] | None = None,
    window: str | None = "hann",
    ax: Any = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw the radial power spectrum on log-log axes with the fitted ``1 / f**alpha`` line over its band.

    ``image_or_fit`` is an image (fitted here with ``band`` and ``window``) or a :class:`PowerLawFit`.
    Returns the matplotlib ``Figure``.
    """
    from matplotlib.figure import Figure

    fit = image_or_fit if isinstance(image_or_fit, PowerLawFit) else fit_power_law(image_or_fit, band, window=window)
    if ax is None:
        fig = Figure(figsize=(5.6, 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ok = (fit.freqs > 0) & np.isfinite(fit.power) & (fit.power > 0)
    ax.loglog(fit.freqs[ok], fit.power[ok], ".", ms=3, color="0.35", label="radial power")
    fb = np.geomspace(*fit.band, 50)
    ax.loglog(fb, fit.predict(fb), "-", color="C3", lw=2,
              label=f"fit $1/f^{{\\alpha}}$: $\\alpha$ = {fit.alpha:.2f}, $R^2$ = {fit.r2:.3f}")
    for f in fit.band:
        ax.axvline(f, color="C3", lw=0.8, ls=":")
    ax.set_xlabel("radial frequency $f$ (cycles / pixel)")
    ax.set_ylabel("mean power $|F|^2$")
    ax.set_title(title or "radial power spectrum")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="lower left")
    _save(fig, path)
    return fig
