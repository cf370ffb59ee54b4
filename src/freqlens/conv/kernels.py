"""A catalogue of convolution kernels, each with what it does to frequencies.

Every kernel is a small float64 numpy array, odd-sized and centred (its origin is the middle sample, index
``size // 2`` along each axis), returned by a plain function. :data:`KERNELS` maps each name to its function, a
one-line description and its pass-band; :func:`get_kernel` builds one by name with checked parameters (this is
what the CLI uses).

Conventions
-----------
- **Axes.** ``x`` is the column index (increasing to the right), ``y`` the row index (increasing *downwards*),
  as when an array is displayed as an image.
- **Angles** (``gabor``'s ``theta``, ``motion_blur``'s ``angle``) are in **degrees**, counter-clockwise from the
  +x axis *as displayed* (0 = to the right, 90 = up). OpenCV's ``getGaborKernel`` and scikit-image's
  ``gabor_kernel`` take radians measured towards +y (clockwise as displayed): their ``theta`` equals
  ``-radians(theta)`` here.
- **Derivative kernels are written as printed in textbooks**, which is how cross-correlation
  (``cv2.filter2D``, ``scipy.ndimage.correlate``, torch ``conv2d``) applies them: correlating an image that
  brightens to the right with ``sobel_x`` gives a *positive* response (``8 *`` the slope). A true convolution
  (``scipy.signal.convolve``, ``scipy.ndimage.convolve``, ``freqlens.conv.convolve``) flips the kernel and so
  flips the sign of odd kernels; symmetric kernels are unaffected.
- **Sums.** Smoothing kernels sum to 1 (they keep the mean), derivative and Laplacian kernels sum to 0 (a constant
  image gives 0), sharpening kernels sum to 1.

This module stays over 400 lines on purpose: it is one catalogue, seventeen kernel functions of a few lines each
under numpydoc docstrings (formula, response, doctest) that make up most of its length, and the registry that
lists them. Split by family, the registry would import from several modules for no gain in reading, and the
catalogue's doctests would no longer run as one module.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from freqlens.errors import FreqlensError
from freqlens._memory import refuse_if_too_big

__all__ = [
    "KERNELS",
    "PASSBANDS",
    "KernelInfo",
    "kernel_info",
    "box",
    "emboss",
    "gabor",
    "gaussian",
    "get_kernel",
    "identity",
    "laplacian4",
    "laplacian8",
    "log",
    "mean",
    "motion_blur",
    "prewitt_x",
    "prewitt_y",
    "scharr_x",
    "scharr_y",
    "sharpen",
    "sobel_x",
    "sobel_y",
    "unsharp",
]

#: What a kernel does to frequencies (the magnitude of its response): keeps all of them, keeps the low ones,
#: removes DC and keeps the high ones, keeps a band away from both DC and Nyquist, or keeps DC and amplifies the
#: high ones.
PASSBANDS = ("all-pass", "low-pass", "high-pass", "band-pass", "high-boost")

_HINT = "use a smaller size"  # kernels are checked for two float64 copies (16 bytes per weight) before allocating


# --------------------------------------------------------------------------------------------------------------
# parameter checks (the messages name the argument and the accepted values)
# --------------------------------------------------------------------------------------------------------------
def _int(name: str, value: Any, minimum: int = 1, odd: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)) or value != int(value):
        raise FreqlensError(f"{name} must be an integer >= {minimum}, got {value!r}")
    out = int(value)
    if out < minimum:
        raise FreqlensError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if odd and out % 2 == 0:
        raise FreqlensError(f"{name} must be odd (so the kernel has a centre sample), got {out}")
    return out


def _float(name: str, value: Any, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise FreqlensError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise FreqlensError(f"{name} must be finite, got {value!r}")
    if positive and out <= 0:
        raise FreqlensError(f"{name} must be > 0, got {value!r}")
    if nonneg and out < 0:
        raise FreqlensError(f"{name} must be >= 0, got {value!r}")
    return out


def _ndim(ndim: Any, allowed: tuple[int, ...] = (1, 2)) -> int:
    if isinstance(ndim, bool) or ndim not in allowed:
        raise FreqlensError(f"ndim must be one of {allowed}, got {ndim!r}")
    return int(ndim)




def _gauss_size(sigma: float, size: Any, ndim: int = 2) -> int:
    """Default size ``2 * round(4 * sigma) + 1`` (scipy.ndimage's ``truncate=4``), else the given odd size."""
    n = 2 * int(4.0 * sigma + 0.5) + 1 if size is None else _int("size", size, 1, odd=True)
    refuse_if_too_big(16 * n**ndim, f"a kernel of size {n} (sigma={sigma:g})", hint=_HINT)
    return n


def _delta(size: int, ndim: int) -> np.ndarray:
    refuse_if_too_big(16 * size**ndim, f"a kernel of size {size}", hint=_HINT)
    out = np.zeros((size,) * ndim)
    out[(size // 2,) * ndim] = 1.0
    return out


def _coords(size: int) -> np.ndarray:
    r = size // 2
    return np.arange(-r, r + 1, dtype=float)


def _gaussian(r2: np.ndarray, two_var: float) -> np.ndarray:
    """``exp(-r2 / two_var)``, and its exact limit (the unit impulse) when ``two_var`` underflows to 0."""
    if not two_var > 0:
        return (r2 == 0).astype(float)
    with np.errstate(over="ignore"):  # r2 / two_var overflows to inf for tiny sigmas: exp(-inf) = 0 exactly
        return np.exp(-r2 / two_var)


def _gauss1d(sigma: float, size: int) -> np.ndarray:
    t = _coords(size)
    g = _gaussian(t**2, 2.0 * sigma**2)
    return g / g.sum()


# --------------------------------------------------------------------------------------------------------------
# smoothing
# --------------------------------------------------------------------------------------------------------------
def identity(size: int = 3, *, ndim: int = 2) -> np.ndarray:
    """The unit impulse: convolving with it changes nothing.

    Parameters
    ----------
    size : int
        Odd side length.
    ndim : {2, 1}
        Number of dimensions.

    Notes
    -----
    :math:`\\delta[n] = 1` at the centre, 0 elsewhere; its response is :math:`H(f) = 1` at every frequency.

    Examples
    --------
    >>> identity(3, ndim=1)
    array([0., 1., 0.])
    """
    return _delta(_int("size", size, 1, odd=True), _ndim(ndim))


def box(size: int = 3, *, ndim: int = 2) -> np.ndarray:
    """The mean (box) filter: equal weights ``1 / size**ndim``.

    Parameters
    ----------
    size : int
        Odd side length.
    ndim : {2, 1}
        Number of dimensions.

    Notes
    -----
    Response along each axis: the Dirichlet kernel
    :math:`H(f) = \\frac{\\sin(\\pi f n)}{n \\sin(\\pi f)}`, zero at :math:`f = k / n`, with side lobes
    (a box is a poor low-pass filter: it lets through some high frequencies with flipped sign).

    Examples
    --------
    >>> box(3, ndim=1)
    array([0.33333333, 0.33333333, 0.33333333])
    """
    n = _int("size", size, 1, odd=True)
    nd = _ndim(ndim)
    refuse_if_too_big(16 * n**nd, f"a kernel of size {n}", hint=_HINT)
    return np.full((n,) * nd, 1.0 / n**nd)


mean = box


def gaussian(sigma: float = 1.0, size: int | None = None, *, ndim: int = 2) -> np.ndarray:
    """A sampled Gaussian, normalised to sum 1.

    Parameters
    ----------
    sigma : float
        Standard deviation in samples (> 0).
    size : int, optional
        Odd side length; default ``2 * round(4 * sigma) + 1`` (as ``scipy.ndimage.gaussian_filter``'s
        ``truncate=4``), which keeps all but ~6e-5 of the mass.
    ndim : {2, 1}
        Number of dimensions (the 2-D kernel is the outer product of two 1-D ones).

    Notes
    -----
    .. math:: g[n] \\propto e^{-n^2 / (2\\sigma^2)}, \\qquad H(f) \\approx e^{-2\\pi^2\\sigma^2 f^2}

    The response is itself a Gaussian, of standard deviation :math:`1 / (2\\pi\\sigma)` cycles per sample: the
    wider the kernel, the narrower the band it passes, and no side lobes.

    Examples
    --------
    >>> k = gaussian(1.0)
    >>> k.shape, round(float(k.sum()), 12), bool(k[4, 4] == k.max())
    ((9, 9), 1.0, True)
    """
    s = _float("sigma", sigma, positive=True)
    nd = _ndim(ndim)
    n = _gauss_size(s, size, nd)
    g = _gauss1d(s, n)
    return g if nd == 1 else np.outer(g, g)


# --------------------------------------------------------------------------------------------------------------
# sharpening
# --------------------------------------------------------------------------------------------------------------
def sharpen(amount: float = 1.0, *, ndim: int = 2) -> np.ndarray:
    """Identity minus ``amount`` times the 4-neighbour Laplacian (the classic 3x3 sharpen for ``amount=1``).

    Parameters
    ----------
    amount : float
        Strength (>= 0); 0 gives the identity.
    ndim : {2, 1}
        Number of dimensions.

    Notes
    -----
    :math:`k = \\delta - a\\,\\nabla^2`, so :math:`H(f) = 1 + a\\,(4 - 2\\cos 2\\pi f_x - 2\\cos 2\\pi f_y)`:
    1 at DC, rising to :math:`1 + 8a` at the corner of the spectrum (a high-boost filter). Sums to 1.

    Examples
    --------
    >>> sharpen()
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    """
    a = _float("amount", amount, nonneg=True)
    nd = _ndim(ndim)
    return _delta(3, nd) - a * laplacian4(ndim=nd)


def unsharp(sigma: float = 1.0, amount: float = 1.0, size: int | None = None, *, ndim: int = 2) -> np.ndarray:
    """Unsharp masking as one kernel: the image plus ``amount`` times (image minus its Gaussian blur).

    Parameters
    ----------
    sigma : float
        Standard deviation of the blur (> 0).
    amount : float
        Strength (>= 0).
    size : int, optional
        Odd side length (default as in :func:`gaussian`).
    ndim : {2, 1}
        Number of dimensions.

    Notes
    -----
    :math:`k = \\delta + a(\\delta - g_\\sigma)`, so :math:`H(f) = 1 + a(1 - e^{-2\\pi^2\\sigma^2|f|^2})`:
    1 at DC, :math:`1 + a` at high frequencies. Sums to 1.

    Examples
    --------
    >>> k = unsharp(1.0, 0.5, ndim=1)
    >>> round(float(k.sum()), 12), bool(k[4] > 1)
    (1.0, True)
    """
    a = _float("amount", amount, nonneg=True)
    g = gaussian(sigma, size, ndim=ndim)
    d = _delta(g.shape[0], g.ndim)
    return d + a * (d - g)


# --------------------------------------------------------------------------------------------------------------
# first derivatives (written as printed: correlation kernels, see the module notes)
# --------------------------------------------------------------------------------------------------------------
def _derivative(smooth: list[float], axis: str) -> np.ndarray:
    k = np.outer(np.asarray(smooth, dtype=float), [-1.0, 0.0, 1.0])
    return k if axis == "x" else k.T.copy()


def sobel_x() -> np.ndarray:
    """Sobel derivative along x (columns): central difference ``[-1, 0, 1]`` smoothed by ``[1, 2, 1]`` along y.

    Notes
    -----
    :math:`k = [1, 2, 1]^T [-1, 0, 1]`. Response magnitude
    :math:`|H| = 2|\\sin 2\\pi f_x| \\cdot (2 + 2\\cos 2\\pi f_y)`: zero at DC *and* at Nyquist along x (a band-pass,
    oriented filter). Sums to 0. Correlating a ramp ``I = c * x`` with it gives ``8 * c``.

    Examples
    --------
    >>> sobel_x()
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    """
    return _derivative([1.0, 2.0, 1.0], "x")


def sobel_y() -> np.ndarray:
    """Sobel derivative along y (rows, downwards): the transpose of :func:`sobel_x`.

    Notes
    -----
    :math:`k = [-1, 0, 1]^T [1, 2, 1]`; positive (under correlation) where the image brightens downwards.

    Examples
    --------
    >>> sobel_y()[0]
    array([-1., -2., -1.])
    """
    return _derivative([1.0, 2.0, 1.0], "y")


def prewitt_x() -> np.ndarray:
    """Prewitt derivative along x: ``[-1, 0, 1]`` averaged by ``[1, 1, 1]`` along y.

    Notes
    -----
    :math:`k = [1, 1, 1]^T [-1, 0, 1]`; sums to 0; a ramp ``c * x`` gives ``6 * c`` under correlation.

    Examples
    --------
    >>> prewitt_x()[0]
    array([-1.,  0.,  1.])
    """
    return _derivative([1.0, 1.0, 1.0], "x")


def prewitt_y() -> np.ndarray:
    """Prewitt derivative along y: the transpose of :func:`prewitt_x`.

    Notes
    -----
    :math:`k = [-1, 0, 1]^T [1, 1, 1]`; sums to 0.

    Examples
    --------
    >>> prewitt_y()[:, 0]
    array([-1.,  0.,  1.])
    """
    return _derivative([1.0, 1.0, 1.0], "y")


def scharr_x() -> np.ndarray:
    """Scharr derivative along x: ``[-1, 0, 1]`` smoothed by ``[3, 10, 3]`` (better rotational symmetry).

    Notes
    -----
    :math:`k = [3, 10, 3]^T [-1, 0, 1]` (OpenCV's ``Scharr`` weights); sums to 0; a ramp ``c * x`` gives
    ``32 * c`` under correlation.

    Examples
    --------
    >>> scharr_x()[1]
    array([-10.,   0.,  10.])
    """
    return _derivative([3.0, 10.0, 3.0], "x")


def scharr_y() -> np.ndarray:
    """Scharr derivative along y: the transpose of :func:`scharr_x`.

    Notes
    -----
    :math:`k = [-1, 0, 1]^T [3, 10, 3]`; sums to 0.

    Examples
    --------
    >>> scharr_y()[2]
    array([ 3., 10.,  3.])
    """
    return _derivative([3.0, 10.0, 3.0], "y")


# --------------------------------------------------------------------------------------------------------------
# second derivatives
# --------------------------------------------------------------------------------------------------------------
def laplacian4(*, ndim: int = 2) -> np.ndarray:
    """The discrete Laplacian from the 4 nearest neighbours (``[1, -2, 1]`` in 1-D).

    Notes
    -----
    :math:`\\nabla^2 I \\approx I_{y-1,x} + I_{y+1,x} + I_{y,x-1} + I_{y,x+1} - 4 I_{y,x}`;
    :math:`H(f) = -(4 - 2\\cos 2\\pi f_x - 2\\cos 2\\pi f_y)`: 0 at DC, :math:`-8` at the corner. Sums to 0.

    Examples
    --------
    >>> laplacian4()
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    nd = _ndim(ndim)
    if nd == 1:
        return np.array([1.0, -2.0, 1.0])
    return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian8() -> np.ndarray:
    """The discrete Laplacian from all 8 neighbours (more isotropic, diagonals included).

    Notes
    -----
    :math:`k = \\mathbf{1}_{3\\times3} - 9\\,\\delta`; :math:`H(f) = (1 + 2\\cos 2\\pi f_x)(1 + 2\\cos 2\\pi f_y) - 9`.
    Sums to 0.

    Examples
    --------
    >>> laplacian8()[1]
    array([ 1., -8.,  1.])
    """
    return np.ones((3, 3)) - 9.0 * _delta(3, 2)


def log(sigma: float = 1.4, size: int | None = None, *, ndim: int = 2) -> np.ndarray:
    """Laplacian of Gaussian (the "Mexican hat", negative centre), made to sum exactly to 0.

    Parameters
    ----------
    sigma : float
        Standard deviation of the Gaussian (> 0).
    size : int, optional
        Odd side length; default ``2 * round(4 * sigma) + 1``.
    ndim : {2, 1}
        Number of dimensions (1-D: the second derivative of a Gaussian).

    Notes
    -----
    Sampled :math:`\\nabla^2 G_\\sigma(r) = \\frac{r^2 - d\\,\\sigma^2}{\\sigma^4} G_\\sigma(r)` (:math:`d` the number
    of dimensions, :math:`G_\\sigma` normalised to sum 1 on the grid), minus its mean so that a constant image
    gives exactly 0. Response :math:`H(f) \\approx -4\\pi^2 |f|^2 e^{-2\\pi^2\\sigma^2|f|^2}`: a band-pass with peak
    magnitude at :math:`|f| = 1 / (\\sqrt{2}\\pi\\sigma)`.

    Examples
    --------
    >>> k = log(1.0)
    >>> k.shape, abs(float(k.sum())) < 1e-15, bool(k[4, 4] == k.min())
    ((9, 9), True, True)
    """
    s = _float("sigma", sigma, positive=True)
    nd = _ndim(ndim)
    n = _gauss_size(s, size, nd)
    t = _coords(n)
    grids = np.meshgrid(*([t] * nd), indexing="ij")
    r2 = sum(g**2 for g in grids)
    g = _gaussian(r2, 2.0 * s**2)
    g /= g.sum()
    if np.count_nonzero(g) < 2 or not s**4 > 0:
        raise FreqlensError(f"sigma={s:g} is too small for a sampled Laplacian of Gaussian: the Gaussian has no "
                            "weight off its centre sample (sigma below about 0.03); use sigma >= 0.5")
    k = (r2 - nd * s**2) / s**4 * g
    return k - k.mean()


# --------------------------------------------------------------------------------------------------------------
# oriented
# --------------------------------------------------------------------------------------------------------------
def emboss() -> np.ndarray:
    """Emboss: a diagonal derivative plus the identity, so flat areas keep their value and edges get relief.

    Notes
    -----
    :math:`k = \\delta + d`, with :math:`d` antisymmetric (``d[-n] = -d[n]``) along the main diagonal, so
    :math:`H(f) = 1 + i\\,D(f)` with :math:`D` real: :math:`|H| \\ge 1`, equal to 1 at DC and along the
    anti-diagonal, amplified across the diagonal (an oriented high-boost). Sums to 1.

    Examples
    --------
    >>> emboss()
    array([[-2., -1.,  0.],
           [-1.,  1.,  1.],
           [ 0.,  1.,  2.]])
    """
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def gabor(
    theta: float = 0.0,
    wavelength: float = 4.0,
    sigma: float | None = None,
    gamma: float = 0.5,
    psi: float = 0.0,
    size: int | None = None,
) -> np.ndarray:
    """Real Gabor kernel: a cosine wave of the given wavelength and direction under a Gaussian envelope.

    Parameters
    ----------
    theta : float
        Direction of the wave vector in degrees, counter-clockwise from +x as displayed (0: vertical stripes,
        90: horizontal stripes).
    wavelength : float
        Period of the cosine in samples (>= 2, the Nyquist limit).
    sigma : float, optional
        Envelope standard deviation along the wave direction; default ``0.56 * wavelength`` (a one-octave
        bandwidth).
    gamma : float
        Spatial aspect ratio (> 0): the envelope's standard deviation across the stripes is ``sigma / gamma``.
    psi : float
        Phase offset in degrees (0: even/cosine, 90: odd/sine).
    size : int, optional
        Odd side length; default ``2 * round(4 * max(sigma, sigma / gamma)) + 1``.

    Notes
    -----
    With :math:`u = x\\cos\\theta - y\\sin\\theta` (along the wave; ``y`` is the row index, downwards) and
    :math:`v = x\\sin\\theta + y\\cos\\theta`:

    .. math:: k(x, y) = \\frac{1}{Z} \\exp\\left(-\\frac{u^2 + \\gamma^2 v^2}{2\\sigma^2}\\right)
              \\cos\\left(\\frac{2\\pi u}{\\lambda} + \\psi\\right)

    where :math:`Z` is the sum of the envelope, so the response peaks near 0.5 at the frequencies
    :math:`\\pm(f_y, f_x) = \\pm(-\\sin\\theta, \\cos\\theta) / \\lambda` (cycles per sample): an oriented band-pass.
    Unlike a zero-mean Gabor it keeps a small DC response, :math:`\\approx e^{-2\\pi^2\\sigma^2/\\lambda^2}\\cos\\psi`.

    Examples
    --------
    >>> k = gabor(theta=0, wavelength=4)
    >>> k.shape, bool(np.allclose(k, k[::-1]))  # theta = 0: vertical stripes, symmetric top-bottom
    ((37, 37), True)
    """
    th = math.radians(_float("theta", theta))
    lam = _float("wavelength", wavelength, positive=True)
    if lam < 2:
        raise FreqlensError(f"wavelength must be >= 2 samples (the Nyquist limit), got {wavelength!r}")
    s = 0.56 * lam if sigma is None else _float("sigma", sigma, positive=True)
    gam = _float("gamma", gamma, positive=True)
    ph = math.radians(_float("psi", psi))
    n = _gauss_size(max(s, s / gam), size)
    t = _coords(n)
    y, x = np.meshgrid(t, t, indexing="ij")
    u = x * math.cos(th) - y * math.sin(th)
    v = x * math.sin(th) + y * math.cos(th)
    env = _gaussian(u**2 + gam**2 * v**2, 2.0 * s**2)
    return env * np.cos(2.0 * math.pi * u / lam + ph) / env.sum()


def motion_blur(length: int = 9, angle: float = 0.0) -> np.ndarray:
    """Linear motion blur: the average along a line segment of ``length`` samples through the centre.

    Parameters
    ----------
    length : int
        Number of samples along the segment (>= 1); 1 gives the identity.
    angle : float
        Direction in degrees, counter-clockwise from +x as displayed (0: horizontal, 90: vertical).

    Notes
    -----
    ``length`` unit-spaced points :math:`c + t(\\cos\\theta, -\\sin\\theta)` (column, row), with
    :math:`t = -(L-1)/2, \\dots, (L-1)/2`, are splatted bilinearly on the grid and the kernel normalised to sum 1.
    At 0 and 90 degrees this is exactly a 1 x L (or L x 1) box. Along the motion the response is the Dirichlet
    kernel of :func:`box`; across it the response is 1: an oriented low-pass.

    Examples
    --------
    >>> motion_blur(3, 0)
    array([[0.        , 0.        , 0.        ],
           [0.33333333, 0.33333333, 0.33333333],
           [0.        , 0.        , 0.        ]])
    """
    n_pts = _int("length", length, 1)
    th = math.radians(_float("angle", angle))
    r = (n_pts - 1) / 2.0
    half = math.ceil(r) + 1
    size = 2 * half + 1
    refuse_if_too_big(16 * size * size, f"a motion blur of length {n_pts}", hint=_HINT)
    t = np.arange(n_pts) - r
    cols = half + t * math.cos(th)
    rows = half - t * math.sin(th)
    k = np.zeros((size, size))
    r0 = np.floor(rows).astype(int)
    c0 = np.floor(cols).astype(int)
    fr = rows - r0
    fc = cols - c0
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (1, 0, fr * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 1, fr * fc)):
        np.add.at(k, (np.minimum(r0 + dr, size - 1), np.minimum(c0 + dc, size - 1)), w)
    while size > 1 and not (k[0].any() or k[-1].any() or k[:, 0].any() or k[:, -1].any()):
        k = k[1:-1, 1:-1]
        size -= 2
    return k / k.sum()


# --------------------------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelInfo:
    """One entry of :data:`KERNELS`.

    Attributes
    ----------
    name : str
        Registry name.
    func : callable
        The function that builds the kernel.
    description : str
        One line.
    passes : str
        One of :data:`PASSBANDS`: which frequencies the kernel lets through (its magnitude response).
    oriented : bool
        Whether the response depends on direction (it favours one orientation).
    ndims : tuple of int
        Supported numbers of dimensions (those with 1 take an ``ndim`` parameter).
    """

    name: str
    func: Callable[..., np.ndarray]
    description: str
    passes: str
    oriented: bool = False
    ndims: tuple[int, ...] = (2,)

    @property
    def passband(self) -> str:
        """``passes``, with ``", oriented"`` appended for oriented kernels."""
        return self.passes + (", oriented" if self.oriented else "")

    @property
    def params(self) -> dict[str, Any]:
        """Parameter names and their defaults."""
        return {p.name: p.default for p in inspect.signature(self.func).parameters.values()}

    def __call__(self, **params: Any) -> np.ndarray:
        return get_kernel(self.name, **params)


KERNELS: dict[str, KernelInfo] = {
    k.name: k
    for k in (
        KernelInfo("identity", identity, "unit impulse; leaves the signal unchanged", "all-pass", ndims=(1, 2)),
        KernelInfo("box", box, "mean of a size x size window (alias: mean)", "low-pass", ndims=(1, 2)),
        KernelInfo("gaussian", gaussian, "Gaussian blur; its response is a Gaussian, no side lobes", "low-pass",
                   ndims=(1, 2)),
        KernelInfo("sharpen", sharpen, "identity minus amount x 4-neighbour Laplacian", "high-boost", ndims=(1, 2)),
        KernelInfo("unsharp", unsharp, "unsharp mask: image + amount x (image - Gaussian blur)", "high-boost",
                   ndims=(1, 2)),
        KernelInfo("sobel_x", sobel_x, "Sobel derivative along x (columns), smoothed along y", "band-pass", True),
        KernelInfo("sobel_y", sobel_y, "Sobel derivative along y (rows), smoothed along x", "band-pass", True),
        KernelInfo("prewitt_x", prewitt_x, "Prewitt derivative along x, averaged along y", "band-pass", True),
        KernelInfo("prewitt_y", prewitt_y, "Prewitt derivative along y, averaged along x", "band-pass", True),
        KernelInfo("scharr_x", scharr_x, "Scharr derivative along x (rotationally more even)", "band-pass", True),
        KernelInfo("scharr_y", scharr_y, "Scharr derivative along y (rotationally more even)", "band-pass", True),
        KernelInfo("laplacian4", laplacian4, "Laplacian from the 4 nearest neighbours (alias: laplacian)",
                   "high-pass", ndims=(1, 2)),
        KernelInfo("laplacian8", laplacian8, "Laplacian from all 8 neighbours", "high-pass"),
        KernelInfo("log", log, "Laplacian of Gaussian (Mexican hat): blob / edge detector", "band-pass",
                   ndims=(1, 2)),
        KernelInfo("emboss", emboss, "diagonal derivative plus identity: relief effect", "high-boost", True),
        KernelInfo("gabor", gabor, "cosine wave under a Gaussian envelope: one frequency, one direction",
                   "band-pass", True),
        KernelInfo("motion_blur", motion_blur, "average along a line segment (camera shake)", "low-pass", True),
    )
}

_ALIASES = {"mean": "box", "laplacian": "laplacian4", "laplacian_of_gaussian": "log", "motion": "motion_blur"}


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


def _coerce(kernel: str, pname: str, value: Any, hint: Any) -> Any:
    """Turn a string (from the command line) into the parameter's type; leave other values alone."""
    if not isinstance(value, str):
        return value
    types_ = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    for t in types_:
        if t is type(None):
            if value.strip().lower() in ("none", ""):
                return None
            continue
        try:
            if t is int:
                f = float(value)
                if f != int(f):
                    continue
                return int(f)
            if t is float:
                return float(value)
        except ValueError:
            continue
    accepted = " or ".join(getattr(t, "__name__", str(t)) for t in types_)
    raise FreqlensError(f"kernel {kernel!r}: parameter {pname} must be {accepted}, got {value!r}")


def kernel_info(name: str) -> KernelInfo:
    """The :data:`KERNELS` entry of ``name``: case-insensitive, ``-`` or ``_``, aliases accepted.

    Examples
    --------
    >>> kernel_info("Sobel-X").name, kernel_info("mean").name
    ('sobel_x', 'box')
    """
    if not isinstance(name, str):
        raise FreqlensError(f"kernel name must be a string, got {name!r}")
    key = _canonical(name)
    if key not in KERNELS:
        raise FreqlensError(f"unknown kernel {name!r}; known: {', '.join(KERNELS)} (aliases: {', '.join(_ALIASES)})")
    return KERNELS[key]


def get_kernel(name: str, **params: Any) -> np.ndarray:
    """Build the kernel ``name`` of :data:`KERNELS` with keyword parameters.

    Parameters
    ----------
    name : str
        Registry name, case-insensitive, ``-`` or ``_`` (aliases: ``mean``, ``laplacian``,
        ``laplacian_of_gaussian``, ``motion``).
    **params
        The kernel function's parameters. Strings (from a command line) are converted to the parameter's type.

    Returns
    -------
    ndarray of float64
        The kernel.

    Raises
    ------
    FreqlensError
        (a ``ValueError``) for an unknown kernel, an unknown parameter, or a bad value; the message names the
        kernel or parameter and lists the accepted ones.

    Examples
    --------
    >>> get_kernel("gaussian", sigma="0.5", size=3).shape
    (3, 3)
    >>> get_kernel("box", sigma=2)
    Traceback (most recent call last):
    ...
    freqlens.errors.FreqlensError: kernel 'box' has no parameter 'sigma'; accepted: size, ndim
    """
    info = kernel_info(name)
    key = info.name
    sig = inspect.signature(info.func)
    hints = typing.get_type_hints(info.func)
    unknown = [p for p in params if p not in sig.parameters]
    if unknown:
        accepted = ", ".join(sig.parameters) or "none"
        raise FreqlensError(f"kernel {key!r} has no parameter {unknown[0]!r}; accepted: {accepted}")
    kwargs = {p: _coerce(key, p, v, hints.get(p, Any)) for p, v in params.items()}
    return info.func(**kwargs)
