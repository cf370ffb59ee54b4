"""Image applications of convolution: gradient edges, blur and unsharp-mask sharpening.

All three work on a grayscale image ``(H, W)`` or, with ``channel_axis``, on each channel of a colour image
``(H, W, C)`` separately. They are built on :mod:`scipy.ndimage` (direct, separable correlation), so a NaN or inf
pixel only affects the outputs whose window contains it. Edge extension uses scipy.ndimage's ``mode`` names
(``'reflect'`` = ``dcba|abcd``, ``'mirror'`` = ``dcb|abcd`` which is OpenCV's default ``BORDER_REFLECT_101``,
``'nearest'``, ``'wrap'``, ``'constant'``). Integer images are converted to float64 *without* rescaling.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from scipy import ndimage

from freqlens.conv.apps._common import as_real_array, positive
from freqlens.errors import FreqlensError

__all__ = ["Edges", "blur", "edges", "sharpen", "GRADIENT_OPERATORS", "BLUR_KINDS", "BOUNDARY_MODES"]

# Smoothing (perpendicular) part of each separable gradient operator; the derivative part is [-1, 0, 1].
GRADIENT_OPERATORS: dict[str, tuple[float, float, float]] = {
    "sobel": (1.0, 2.0, 1.0),
    "prewitt": (1.0, 1.0, 1.0),
    "scharr": (3.0, 10.0, 3.0),
}
BLUR_KINDS = ("gaussian", "box", "median")
BOUNDARY_MODES = ("reflect", "mirror", "nearest", "wrap", "constant")

Mode = Literal["reflect", "mirror", "nearest", "wrap", "constant"]


class Edges(NamedTuple):
    """Result of :func:`edges`: gradient magnitude, gradient direction and the thresholded mask (or None)."""

    magnitude: np.ndarray
    direction: np.ndarray
    mask: np.ndarray | None


def _prepare(image, channel_axis: int | None) -> tuple[np.ndarray, int | None]:
    """Check the image layout; return a float64 array with channels (if any) on the last axis."""
    img = as_real_array(image, "image", ndim=(2, 3))
    if channel_axis is None:
        if img.ndim != 2:
            raise FreqlensError(
                f"image has shape {img.shape}; a grayscale image must be 2-D, "
                "for a colour image pass channel_axis=-1"
            )
        return img, None
    if img.ndim != 3:
        raise FreqlensError(f"channel_axis={channel_axis} needs a 3-D image (H, W, C), got shape {img.shape}")
    if not -3 <= channel_axis <= 2:
        raise FreqlensError(f"channel_axis must be one of -3..2 for a 3-D image, got {channel_axis}")
    return np.moveaxis(img, channel_axis, -1), channel_axis


def _restore(out: np.ndarray, channel_axis: int | None) -> np.ndarray:
    return out if channel_axis is None else np.moveaxis(out, -1, channel_axis)


def _check_mode(mode: str) -> None:
    if mode not in BOUNDARY_MODES:
        raise FreqlensError(f"mode must be one of {', '.join(BOUNDARY_MODES)}; got {mode!r}")


def edges(
    image,
    *,
    operator: Literal["sobel", "prewitt", "scharr"] = "sobel",
    threshold: float | Literal["otsu"] | None = None,
    channel_axis: int | None = None,
    mode: Mode = "reflect",
) -> Edges:
    """Gradient edges: magnitude and direction of a Sobel, Prewitt or Scharr gradient, optionally thresholded.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Grayscale image, or a colour image with ``channel_axis`` set (each channel is processed separately).
    operator : {'sobel', 'prewitt', 'scharr'}
        Separable gradient operator: central difference ``[-1, 0, 1] / 2`` along one axis, smoothing
        ``[1, 2, 1] / 4`` (Sobel), ``[1, 1, 1] / 3`` (Prewitt) or ``[3, 10, 3] / 16`` (Scharr) along the other.
    threshold : float, 'otsu' or None
        If given, ``mask = magnitude > threshold``; ``'otsu'`` picks the threshold with Otsu's method on the
        finite magnitudes. Without it ``mask`` is None.
    channel_axis : int or None
        Axis of colour channels; ``None`` means a 2-D grayscale image.
    mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}
        Edge extension, scipy.ndimage names (OpenCV's default border is ``'mirror'``).

    Returns
    -------
    Edges
        Named tuple ``(magnitude, direction, mask)``, each with the image's shape; ``direction`` in radians in
        ``(-pi, pi]``; ``mask`` boolean or None.

    Notes
    -----
    With ``d = [-1, 0, 1] / 2`` and the normalised smoothing ``s`` (weights summing to 1),

    ``g_x = s ⊗ d`` (derivative along columns, x to the right), ``g_y = d ⊗ s`` (along rows, y downwards),
    ``magnitude = sqrt(g_x**2 + g_y**2)``, ``direction = arctan2(g_y, g_x)``.

    The normalisation makes the gradient exact on a linear ramp: ``I = a*x + b*y`` gives ``g_x = a``,
    ``g_y = b``. Relative to peers: ``g_x = cv2.Sobel(I, CV_64F, 1, 0) / 8 = skimage.filters.sobel(I, axis=1)
    / 2``, and for Scharr ``g_x = cv2.Scharr(I, CV_64F, 1, 0) / 32``. ``direction`` 0 means the intensity
    increases to the right, ``pi/2`` that it increases downwards. A constant image gives magnitude 0 everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((5, 6))
    >>> img[:, 3:] = 1.0                       # a vertical step edge
    >>> res = edges(img, threshold=0.25)
    >>> res.magnitude[2]
    array([0. , 0. , 0.5, 0.5, 0. , 0. ])
    >>> float(res.direction[2, 2])             # intensity increases to the right
    0.0
    >>> res.mask[2].astype(int)
    array([0, 0, 1, 1, 0, 0])
    """
    if operator not in GRADIENT_OPERATORS:
        raise FreqlensError(f"operator must be one of {', '.join(GRADIENT_OPERATORS)}; got {operator!r}")
    _check_mode(mode)
    img, channel_axis = _prepare(image, channel_axis)
    smooth = np.asarray(GRADIENT_OPERATORS[operator])
    smooth = smooth / smooth.sum()
    deriv = np.array([-0.5, 0.0, 0.5])
    # correlate1d(x, [-1/2, 0, 1/2])[i] = (x[i+1] - x[i-1]) / 2: a derivative with the usual sign.
    gx = ndimage.correlate1d(ndimage.correlate1d(img, smooth, axis=0, mode=mode), deriv, axis=1, mode=mode)
    gy = ndimage.correlate1d(ndimage.correlate1d(img, smooth, axis=1, mode=mode), deriv, axis=0, mode=mode)
    magnitude = np.hypot(gx, gy)
    direction = np.arctan2(gy, gx)
    mask = None
    if threshold is not None:
        if isinstance(threshold, str):
            if threshold != "otsu":
                raise FreqlensError(f"threshold must be a number or 'otsu', got {threshold!r}")
            from skimage.filters import threshold_otsu

            finite = magnitude[np.isfinite(magnitude)]
            if finite.size == 0 or finite.min() == finite.max():
                t = float(finite.max()) if finite.size else 0.0
            else:
                t = float(threshold_otsu(finite))
        else:
            t = positive(threshold, "threshold", allow_zero=True)
        mask = magnitude > t
        mask = _restore(mask, channel_axis)
    return Edges(_restore(magnitude, channel_axis), _restore(direction, channel_axis), mask)


def blur(
    image,
    sigma: float | None = None,
    *,
    size: int | None = None,
    kind: Literal["gaussian", "box", "median"] = "gaussian",
    channel_axis: int | None = None,
    mode: Mode = "reflect",
) -> np.ndarray:
    """Blur an image with a Gaussian (``sigma``), box (``size``) or median (``size``) filter.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Grayscale image, or a colour image with ``channel_axis`` set (channels are never mixed).
    sigma : float, optional
        Standard deviation in pixels of the Gaussian; required for ``kind='gaussian'``, refused otherwise.
    size : int, optional
        Side of the square window in pixels; required for ``kind='box'`` and ``kind='median'``.
    kind : {'gaussian', 'box', 'median'}
        Filter. Gaussian and box are linear (convolutions); median is not, and removes salt-and-pepper noise.
    channel_axis : int or None
        Axis of colour channels; ``None`` means a 2-D grayscale image.
    mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}
        Edge extension, scipy.ndimage names.

    Returns
    -------
    ndarray
        Float64 image of the input's shape.

    Notes
    -----
    Gaussian: ``out = I * G_sigma`` with ``G_sigma(x, y) = exp(-(x**2 + y**2) / (2 sigma**2)) / (2 pi sigma**2)``,
    sampled and truncated at ``4 sigma`` (as :func:`scipy.ndimage.gaussian_filter` and
    ``skimage.filters.gaussian``). Box: ``out = I * 1_{size x size} / size**2`` (for an even ``size`` the window
    extends one pixel further before the centre than after it, scipy.ndimage's convention). Median: the median of
    the ``size x size`` window. The linear filters preserve the mean of the image (weights sum to 1). A NaN pixel
    makes every output whose window contains it NaN, for all three kinds.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((5, 5))
    >>> img[2, 2] = 9.0
    >>> blur(img, size=3, kind='box')[1:4, 1:4]
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]])
    >>> round(float(blur(img, 1.0).sum()), 6)   # a Gaussian blur keeps the total intensity
    9.0
    >>> float(blur(img, size=3, kind='median').max())  # an isolated bright pixel is removed
    0.0
    """
    if kind not in BLUR_KINDS:
        raise FreqlensError(f"kind must be one of {', '.join(BLUR_KINDS)}; got {kind!r}")
    _check_mode(mode)
    img, channel_axis = _prepare(image, channel_axis)
    has_channels = channel_axis is not None
    finite = bool(np.all(np.isfinite(img)))
    if kind == "gaussian":
        if size is not None:
            raise FreqlensError("kind='gaussian' takes sigma=, not size= (size is for 'box' and 'median')")
        if sigma is None:
            raise FreqlensError("kind='gaussian' needs sigma= (the standard deviation in pixels)")
        s = positive(sigma, "sigma")
        out = ndimage.gaussian_filter(img, sigma=(s, s, 0.0) if has_channels else s, mode=mode, truncate=4.0)
        return _restore(out, channel_axis)
    if sigma is not None:
        raise FreqlensError(f"kind={kind!r} takes size= (window side in pixels), not sigma=")
    if size is None:
        raise FreqlensError(f"kind={kind!r} needs size= (window side in pixels)")
    n = positive(size, "size", integer=True)
    shape = (n, n, 1) if has_channels else (n, n)
    if kind == "box":
        if finite:
            out = ndimage.uniform_filter(img, size=shape, mode=mode)
        else:
            # uniform_filter keeps a running sum, so one NaN would poison the rest of its row; the direct
            # correlation keeps NaN local.
            w = np.full(n, 1.0 / n)
            out = ndimage.correlate1d(ndimage.correlate1d(img, w, axis=0, mode=mode), w, axis=1, mode=mode)
        return _restore(out, channel_axis)
    out = ndimage.median_filter(img, size=shape, mode=mode)
    if not finite:
        nan_near = ndimage.maximum_filter(np.isnan(img).astype(np.uint8), size=shape, mode=mode).astype(bool)
        out[nan_near] = np.nan
    return _restore(out, channel_axis)


def sharpen(
    image,
    amount: float = 1.0,
    radius: float = 1.0,
    *,
    channel_axis: int | None = None,
    mode: Mode = "reflect",
    clip: tuple[float, float] | None = None,
) -> np.ndarray:
    """Sharpen by unsharp masking: add back ``amount`` times the detail removed by a Gaussian blur.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Grayscale image, or a colour image with ``channel_axis`` set.
    amount : float
        Strength (>= 0); 0 returns the image unchanged, 1 doubles the fine detail.
    radius : float
        Standard deviation in pixels of the Gaussian that defines "detail" (> 0).
    channel_axis : int or None
        Axis of colour channels; ``None`` means a 2-D grayscale image.
    mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}
        Edge extension of the blur, scipy.ndimage names.
    clip : (low, high) or None
        Clip the result to this range (e.g. ``(0, 1)``); by default the overshoot is kept.

    Returns
    -------
    ndarray
        Float64 image of the input's shape.

    Notes
    -----
    ``out = I + amount * (I - G_radius * I)``. In the frequency domain the filter is
    ``H(f) = 1 + amount * (1 - exp(-2 pi**2 radius**2 |f|**2))``: 1 at DC (the mean is kept) rising to
    ``1 + amount`` at high frequencies. Identical to ``skimage.filters.unsharp_mask(I, radius, amount,
    preserve_range=True)`` with the default ``mode='reflect'``.

    Examples
    --------
    >>> import numpy as np
    >>> step = np.repeat([[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]], 3, axis=0)
    >>> np.round(sharpen(step, amount=1.0, radius=1.0)[1], 3)   # over- and undershoot at the edge
    array([-0.005, -0.059, -0.301,  1.301,  1.059,  1.005])
    >>> bool(np.allclose(sharpen(np.full((4, 4), 0.5), amount=3.0), 0.5))   # flat regions are unchanged
    True
    """
    a = positive(amount, "amount", allow_zero=True)
    r = positive(radius, "radius")
    _check_mode(mode)
    img, channel_axis = _prepare(image, channel_axis)
    blurred = ndimage.gaussian_filter(img, sigma=(r, r, 0.0) if channel_axis is not None else r, mode=mode)
    out = img + a * (img - blurred)
    if clip is not None:
        try:
            lo, hi = (float(c) for c in clip)
        except (TypeError, ValueError):
            raise FreqlensError(f"clip must be a (low, high) pair of numbers, got {clip!r}") from None
        if not lo < hi:
            raise FreqlensError(f"clip must have low < high, got {clip!r}")
        out = np.clip(out, lo, hi)
    return _restore(out, channel_axis)
