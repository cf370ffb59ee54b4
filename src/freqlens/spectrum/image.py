"""Spectra of images: the 2-D DFT with its frequency axes, radial frequency, log magnitude, radial power, energy.

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

Power-law fits are in :mod:`freqlens.spectrum.power_law`, the convolution theorem in
:mod:`freqlens.spectrum.theorem`, the plots in :mod:`freqlens.spectrum.plots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from freqlens.errors import FreqlensError
from freqlens.spectrum._common import apply_window, as_image, check_norm, is_constant
from freqlens.spectrum.dft import frequencies

__all__ = ["Spectrum2D", "dft2", "energy_fraction", "log_magnitude", "radial_frequency", "radial_power"]

# Defined in this module until the split by topic; still importable from here (loaded on first use).
_MOVED = {"PowerLawFit": "power_law", "fit_power_law": "power_law", "power_law_noise": "power_law",
          "ConvolutionTheoremCheck": "theorem", "convolution_theorem": "theorem",
          "plot_log_magnitude": "plots", "plot_radial_power": "plots"}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"freqlens.spectrum.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    img = as_image(image)
    check_norm(norm)
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
        spec = dft2(apply_window(as_image(image), window), norm=norm, centred=True)
    return 20.0 * np.log10(spec.magnitude + eps)


# --------------------------------------------------------------------------------------------------------------
# radial power and energy
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
    img = apply_window(as_image(image), window)
    spec = dft2(img, norm=check_norm(norm), centred=False)
    n = min(img.shape)
    k = np.rint(spec.radius * n).astype(np.int64).ravel()
    keep = k <= n // 2
    counts = np.bincount(k[keep], minlength=n // 2 + 1)
    sums = np.bincount(k[keep], weights=spec.power.ravel()[keep], minlength=n // 2 + 1)
    freqs = np.arange(n // 2 + 1) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        power = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return freqs, power


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
    img = as_image(image)
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
    total = 0.0 if exclude_dc and is_constant(img) else cum[-1]  # else: rounding noise
    idx = np.searchsorted(rho_sorted, r + 1e-12 * max(1.0, float(np.max(r, initial=0.0))), side="right")
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = cum[idx] / total if total > 0 else np.full(r.shape, np.nan)
    return float(frac) if np.ndim(frac) == 0 else frac
