"""Input checks shared by the image-spectrum modules of :mod:`freqlens.spectrum` (private to the package).

Every check raises :class:`freqlens.FreqlensError` naming the argument and what is accepted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqlens._arrays import check_magnitude, to_numpy
from freqlens._memory import refuse_if_too_big
from freqlens.errors import FreqlensError

#: ``norm`` values, as in :mod:`scipy.fft`.
NORMS = ("backward", "ortho", "forward")
#: Windows applied before an image DFT (:func:`skimage.filters.window` names).
WINDOWS = ("hann", "hamming", "blackman", "tukey")


def as_image(image: Any, name: str = "image") -> np.ndarray:
    """A finite-shaped 2-D numeric numpy array (float64 or complex128); raise naming ``name`` otherwise."""
    from freqlens.spectrum.image import Spectrum2D  # here: image.py imports this module

    if isinstance(image, Spectrum2D):
        raise FreqlensError(f"{name} must be an image array, got a Spectrum2D")
    arr = np.asarray(to_numpy(image))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise FreqlensError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise FreqlensError(
            f"{name} must be a 2-D (grey-level) array, got shape {arr.shape}; "
            "convert colour images first (e.g. freqlens.io.read_image(path, as_gray=True))"
        )
    if arr.size == 0:
        raise FreqlensError(f"{name} is empty (shape {arr.shape})")
    refuse_too_large(arr.size, f"the spectrum of a {arr.shape[0]}x{arr.shape[1]} {name}")  # before converting
    out = arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64, copy=False)
    check_magnitude(out, name)
    return out


def refuse_too_large(n_elements: int, what: str) -> None:
    """Raise before allocating if the ~4 complex128 arrays of ``n_elements`` a 2-D DFT holds would not fit."""
    refuse_if_too_big(64 * int(n_elements), what, hint="use a smaller image")


def is_constant(img: np.ndarray) -> bool:
    """Whether ``img`` varies by no more than floating-point rounding (64 ulps of its largest magnitude).

    Such an image has no signal above quantisation: after the mean is removed, what is left is rounding noise,
    whose "spectrum" (power ~1e-33 of the image's) would fit any power law.
    """
    first = img.flat[0]
    spread = float(np.max(np.abs(img - first)))
    return spread <= 64 * np.finfo(np.float64).eps * float(np.max(np.abs(img)))


def check_norm(norm: str) -> str:
    """``norm`` if it is one of :data:`NORMS`."""
    if norm not in NORMS:
        raise FreqlensError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


def apply_window(img: np.ndarray, window: str | None) -> np.ndarray:
    """Subtract the mean and multiply by a radial window, rescaled so the mean power is kept (``mean(w**2) == 1``)."""
    if window is None:
        return img
    if window not in WINDOWS:
        raise FreqlensError(f"window must be None or one of {WINDOWS}, got {window!r}")
    import skimage.filters

    w = skimage.filters.window(window, img.shape)
    w = w / np.sqrt(np.mean(w**2))
    return (img - img.mean()) * w
