"""Images as functions f(y, x): loading, coordinate grids and the train/test splits of the image-fitting lab.

Conventions
-----------
- **Values**: float64 in [0, 1]; grey images are ``(H, W)``, colour images ``(H, W, 3)`` (alpha dropped).
- **Coordinates** (:func:`coordinate_grid`): pixel ``(i, j)`` (row, column) sits at ``v = (i / L, j / L)`` with
  ``L = max(H, W)``: a regular grid in ``[0, 1)`` with the endpoint excluded and square pixels (the longer side
  spans ``[0, 1)``). For a square ``N×N`` image this is Tancik et al.'s ``linspace(0, 1, N + 1)[:-1]`` along each
  axis, in (row, column) order. A Fourier feature ``cos(2π b·v)`` then has ``b`` cycles per (longer) image side,
  ``b / L`` cycles per pixel.
- **Even/odd split** (:func:`even_odd_split`, the issue's and Tancik et al.'s): the loaded image is the "2×" image;
  the model trains on the pixels at (even row, even column), ``image[::2, ::2]``, and is tested, by default, on
  the pixels at (odd row, odd column), ``image[1::2, 1::2]`` — the training grid shifted by half a training pixel
  along both axes, never seen in training (Tancik et al.'s notebook uses this split for its σ search). Their
  reported numbers test on the whole 2× image instead (``test="all"``, a quarter of it the training pixels);
  ``test="rest"`` tests on the three quarters not trained on.
- **Full fit** (:func:`full_split`): train and test on every pixel.

Sizes are checked against the available memory (:func:`freqlens._memory.available_memory`) before any pixel is
decoded or allocated, and the message names the size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from freqlens._arrays import to_numpy
from freqlens._memory import available_memory
from freqlens.errors import ConfigError, DataError, FreqlensError
from freqlens.io import SAMPLE_IMAGES, read_image, sample_image

__all__ = ["ImageSplit", "coordinate_grid", "even_odd_split", "fit_memory_per_pixel", "full_split", "load_image"]

TESTS = ("odd", "rest", "all")
_COPIES = 4  # float64 copies alive while decoding, converting and resizing (decoded, float, grey/resized, crop)


# --------------------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------------------
def load_image(
    source: str | Path,
    *,
    size: int | Sequence[int] | None = None,
    gray: bool = False,
    max_pixels: int | None = None,
) -> np.ndarray:
    """An image in [0, 1]: one of scikit-image's bundled images by name, or a file.

    Parameters
    ----------
    source : str or Path
        A name of :data:`freqlens.io.SAMPLE_IMAGES` (``"camera"``, ``"astronaut"``, ``"coffee"``, ``"brick"``,
        ``"grass"``, ``"text"``, …; bundled with scikit-image, no download) or the path of an image file.
    size : int or (int, int), optional
        Resolution of the result. An int ``n`` crops the largest centred square and resizes it to ``n×n``; a pair
        ``(h, w)`` resizes the whole image to ``h×w`` (the aspect ratio may change). ``None`` keeps the image as it
        is. Resizing is scikit-image's bilinear :func:`skimage.transform.resize` with anti-aliasing (a Gaussian
        prefilter when shrinking). For the even/odd split this is the size of the 2× image: ``size=256`` trains on
        128² pixels.
    gray : bool
        Convert a colour image to grey (:func:`skimage.color.rgb2gray`); grey images stay grey either way.
    max_pixels : int, optional
        Refuse a result with more pixels than this (e.g. what training can hold, see
        :func:`fit_memory_per_pixel`).

    Returns
    -------
    ndarray of float64, shape (H, W) or (H, W, 3)

    Raises
    ------
    freqlens.errors.DataError
        Unknown name and no such file, a file that is not an image, an image (or requested size) too large for the
        available memory or for ``max_pixels``.
    freqlens.errors.ConfigError
        A ``size`` or ``max_pixels`` that is not a positive integer (pair).

    Examples
    --------
    >>> load_image("camera", size=64).shape
    (64, 64)
    >>> load_image("astronaut", size=(32, 48)).shape
    (32, 48, 3)
    """
    shape = _check_size(size)
    if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer))
                                   or max_pixels < 1):
        raise ConfigError(f"max_pixels must be a positive integer; got {max_pixels!r}")
    if shape is not None:
        _refuse(shape[0], shape[1], 3, f"an image of {shape[0]}×{shape[1]} pixels", max_pixels)
    name = str(source)
    try:
        if isinstance(source, str) and source in SAMPLE_IMAGES:
            img = sample_image(source, as_gray=gray)
        else:
            path = Path(source)
            if not path.exists():
                raise DataError(f"image {name!r} is neither a file nor a bundled image "
                                f"({', '.join(SAMPLE_IMAGES)})")
            header = _peek(path)
            if header is not None:
                h, w, c = header
                _refuse(h, w, c, f"image {name} ({w}×{h} pixels, {c} channel{'s' * (c > 1)})",
                        max_pixels if shape is None else None)
            img = read_image(path, as_gray=gray)
    except DataError:
        raise
    except FreqlensError as exc:  # io's one-line messages (missing, unreadable, not an image)
        raise DataError(str(exc)) from None
    if shape is None:
        _refuse(img.shape[0], img.shape[1], 1, f"image {name} ({img.shape[1]}×{img.shape[0]} pixels)", max_pixels)
        return img
    return _resize(img, shape, square=isinstance(size, (int, np.integer)))


def _check_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        pair = (int(size), int(size))
    elif isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 2 and all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in size):
        pair = (int(size[0]), int(size[1]))
    else:
        raise ConfigError(f"size must be a positive integer or a pair (height, width); got {size!r}")
    if min(pair) < 1:
        raise ConfigError(f"size must be positive; got {size!r}")
    return pair


def _peek(path: Path) -> tuple[int, int, int] | None:
    """``(H, W, channels)`` from the file's header without decoding the pixels, or None if PIL cannot tell."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked by the caller
            with Image.open(path) as im:
                w, h = im.size
                return int(h), int(w), max(1, len(im.getbands()))
    except Image.DecompressionBombError as exc:  # PIL refuses to even open it: say how large it claims to be
        raise DataError(f"image {path} is too large to load: {exc}".rstrip(".")) from None
    except Exception:  # not an image PIL knows (io's reader then says so)
        return None


def _refuse(h: int, w: int, c: int, what: str, max_pixels: int | None) -> None:
    if max_pixels is not None and h * w > max_pixels:
        raise DataError(f"{what} has {h * w:,} pixels, more than max_pixels={max_pixels:,}; choose a smaller size")
    need = h * w * c * 8 * _COPIES
    avail = available_memory()
    if need > avail:
        raise DataError(f"{what} needs about {need / 2**30:.1f} GiB to load, {avail / 2**30:.1f} GiB is "
                        "available; choose a smaller size")


def _resize(img: np.ndarray, shape: tuple[int, int], *, square: bool) -> np.ndarray:
    import skimage.transform

    if square:  # the largest centred square
        n = min(img.shape[:2])
        top, left = (img.shape[0] - n) // 2, (img.shape[1] - n) // 2
        img = img[top:top + n, left:left + n]
    if img.shape[:2] == shape:
        return np.ascontiguousarray(img, dtype=np.float64)
    shrink = shape[0] < img.shape[0] or shape[1] < img.shape[1]
    out = skimage.transform.resize(img, shape + img.shape[2:], order=1, mode="reflect", anti_aliasing=shrink,
                                   preserve_range=True)
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------------------------------------------
# coordinates and splits
# --------------------------------------------------------------------------------------------------------------
def coordinate_grid(h: int, w: int, *, dtype=np.float64) -> np.ndarray:
    """Pixel coordinates ``(i / L, j / L)``, ``L = max(h, w)``, shape ``(h, w, 2)`` (row, column order).

    Examples
    --------
    >>> g = coordinate_grid(2, 4)
    >>> g[..., 0]           # the row coordinate
    array([[0.  , 0.  , 0.  , 0.  ],
           [0.25, 0.25, 0.25, 0.25]])
    >>> g[1, 3]             # pixel (1, 3)
    array([0.25, 0.75])
    """
    for n, label in ((h, "h"), (w, "w")):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"{label} must be a positive integer; got {n!r}")
    L = max(int(h), int(w))
    rows = np.arange(int(h), dtype=np.float64) / L
    cols = np.arange(int(w), dtype=np.float64) / L
    grid = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1)
    return grid.astype(dtype, copy=False)


@dataclass(frozen=True)
class ImageSplit:
    """An image, its coordinates, and which pixels are trained and tested on.

    Attributes
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        The whole image (the 2× image of the even/odd split), float64 in [0, 1].
    coords : ndarray, shape (H, W, 2)
        :func:`coordinate_grid` of the whole image.
    train_mask, test_mask : ndarray of bool, shape (H, W)
    mode : {"even-odd", "full"}
    test : {"odd", "rest", "all"}
        Which pixels are test pixels (see the module notes).

    Notes
    -----
    ``x_train = coords[train_mask]`` and ``y_train = image[train_mask]`` list pixels in row-major order, so model
    outputs on ``x_train`` reshaped to :attr:`train_shape` form the training image (``image[::2, ::2]`` for the
    even/odd split); likewise for the test pixels and :attr:`test_shape` when the test pixels form a grid.
    """

    image: np.ndarray
    coords: np.ndarray
    train_mask: np.ndarray
    test_mask: np.ndarray
    mode: str
    test: str

    @property
    def channels(self) -> int:
        """Values per pixel: 1 for grey, 3 for colour."""
        return 1 if self.image.ndim == 2 else int(self.image.shape[2])

    @property
    def x_train(self) -> np.ndarray:
        """Training coordinates, shape (n_train, 2)."""
        return self.coords[self.train_mask]

    @property
    def y_train(self) -> np.ndarray:
        """Training values, shape (n_train, channels)."""
        return self.image[self.train_mask].reshape(-1, self.channels)

    @property
    def x_test(self) -> np.ndarray:
        """Test coordinates, shape (n_test, 2)."""
        return self.coords[self.test_mask]

    @property
    def y_test(self) -> np.ndarray:
        """Test values, shape (n_test, channels)."""
        return self.image[self.test_mask].reshape(-1, self.channels)

    @property
    def x_all(self) -> np.ndarray:
        """Every pixel's coordinates in row-major order, shape (H·W, 2) (for reconstructions of the whole image)."""
        return self.coords.reshape(-1, 2)

    @property
    def train_shape(self) -> tuple[int, int]:
        """``(h, w)`` of the training pixels as an image."""
        return _grid_shape(self.train_mask, "train")

    @property
    def test_shape(self) -> tuple[int, int]:
        """``(h, w)`` of the test pixels as an image (``ValueError`` for ``test="rest"``, which is no grid)."""
        return _grid_shape(self.test_mask, "test")

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """``{"train": train_mask, "test": test_mask}`` (for :class:`~freqlens.lab.monitors.image_bands.ImageBandMonitor`)."""
        return {"train": self.train_mask, "test": self.test_mask}


def _grid_shape(mask: np.ndarray, what: str) -> tuple[int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if mask.sum() != rows.size * cols.size or not mask[np.ix_(rows, cols)].all():
        raise ValueError(f"the {what} pixels do not form a regular grid")
    return int(rows.size), int(cols.size)


def _as_image(image) -> np.ndarray:
    img = np.asarray(to_numpy(image), dtype=np.float64)
    if img.ndim not in (2, 3) or img.size == 0:
        raise DataError(f"image must have shape (H, W) or (H, W, C); got {img.shape}")
    if not np.all(np.isfinite(img)):
        raise DataError("image contains NaN or inf")
    return img


def even_odd_split(image, *, test: str = "odd") -> ImageSplit:
    """Train on the pixels at (even row, even column) of ``image``; test on ``test``.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C), H, W >= 2
        The 2× image.
    test : {"odd", "rest", "all"}
        ``"odd"``: pixels at (odd row, odd column), ``image[1::2, 1::2]`` (the issue's split); ``"rest"``: every
        pixel not trained on (3/4 of them); ``"all"``: the whole image (Tancik et al.'s reported test PSNR).

    Examples
    --------
    >>> s = even_odd_split(np.arange(16.0).reshape(4, 4) / 15)
    >>> s.train_mask.astype(int)
    array([[1, 0, 1, 0],
           [0, 0, 0, 0],
           [1, 0, 1, 0],
           [0, 0, 0, 0]])
    >>> s.test_mask.astype(int)
    array([[0, 0, 0, 0],
           [0, 1, 0, 1],
           [0, 0, 0, 0],
           [0, 1, 0, 1]])
    >>> s.x_test            # the odd pixels: (1, 1), (1, 3), (3, 1), (3, 3) over L = 4
    array([[0.25, 0.25],
           [0.25, 0.75],
           [0.75, 0.25],
           [0.75, 0.75]])
    """
    img = _as_image(image)
    if test not in TESTS:
        raise ConfigError(f"test must be one of {', '.join(TESTS)}; got {test!r}")
    H, W = img.shape[:2]
    if H < 2 or W < 2:
        raise DataError(f"the even/odd split needs an image of at least 2×2 pixels; got {H}×{W}")
    train = np.zeros((H, W), dtype=bool)
    train[::2, ::2] = True
    if test == "odd":
        test_mask = np.zeros((H, W), dtype=bool)
        test_mask[1::2, 1::2] = True
    elif test == "rest":
        test_mask = ~train
    else:
        test_mask = np.ones((H, W), dtype=bool)
    return ImageSplit(img, coordinate_grid(H, W), train, test_mask, "even-odd", test)


def full_split(image) -> ImageSplit:
    """Train and test on every pixel of ``image`` (the full-fit mode).

    Examples
    --------
    >>> s = full_split(np.zeros((2, 3)))
    >>> bool(s.train_mask.all() and s.test_mask.all()), s.x_train.shape
    (True, (6, 2))
    """
    img = _as_image(image)
    every = np.ones(img.shape[:2], dtype=bool)
    return ImageSplit(img, coordinate_grid(*img.shape[:2]), every, every.copy(), "full", "all")


def fit_memory_per_pixel(widths: Sequence[int], in_features: int, out_dim: int, *, itemsize: int = 4) -> int:
    """Approximate bytes per training pixel of one full-batch forward and backward pass of an MLP.

    Parameters
    ----------
    widths : sequence of int
        Hidden widths.
    in_features : int
        Width of the network's input (2 for raw coordinates, 2m for a Fourier mapping of size m).
    out_dim : int
        Values per pixel.
    itemsize : int
        Bytes per value (4 for float32).

    Notes
    -----
    ``itemsize · (2 · in_features + 3 · Σ widths + 3 · out_dim)``: autograd keeps each layer's input and
    pre-activation, and the backward pass holds one gradient of each at a time. Divide the free memory by it to
    get ``max_pixels`` for :func:`load_image`.

    Examples
    --------
    >>> fit_memory_per_pixel([256] * 4, 512, 3)
    16420
    """
    return int(itemsize) * (2 * int(in_features) + 3 * sum(int(w) for w in widths) + 3 * int(out_dim))
