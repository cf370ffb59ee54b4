"""File input/output shared by the convolution applications and the CLI.

Every writer is atomic: data goes to a temporary file in the destination folder, which is then renamed over the
target, so an interrupted or failed write never leaves a half-written file and never destroys an existing one.
Readers raise :class:`freqlens.FreqlensError` with a one-line message for missing, unreadable or foreign files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from freqlens.errors import FreqlensError

# Images shipped inside scikit-image's wheel (skimage.data functions that need no download).
SAMPLE_IMAGES = (
    "astronaut", "brick", "camera", "cat", "cell", "checkerboard", "clock", "coffee", "coins", "colorwheel",
    "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo", "moon", "page", "retina",
    "rocket", "text",
)


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path next to ``path``; on success rename it onto ``path``, on error delete it."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FreqlensError(f"output folder does not exist: {folder}")
    if path.is_dir():
        raise FreqlensError(f"output {path} is a directory; give a file name")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=folder)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a written file gets the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_readable(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise FreqlensError(f"file not found: {path}")
    if not path.is_file():
        raise FreqlensError(f"not a file: {path}")
    if not os.access(path, os.R_OK):
        raise FreqlensError(f"file not readable: {path}")
    return path


def read_audio(path) -> tuple[np.ndarray, int]:
    """Read a WAV/FLAC/OGG file with soundfile: ``(data, fs)``, data float64 ``(n,)`` mono or ``(n, channels)``."""
    import soundfile as sf

    path = _check_readable(path)
    try:
        data, fs = sf.read(str(path), dtype="float64", always_2d=False)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError for foreign files
        raise FreqlensError(f"not a readable audio file: {path} ({str(exc).splitlines()[0] if str(exc) else exc})")
    if data.size == 0:
        raise FreqlensError(f"audio file has no samples: {path}")
    return data, int(fs)


def write_audio(path, data, fs: int, *, subtype: str | None = None) -> Path:
    """Write audio atomically; the format follows the extension (``.wav``, ``.flac``, ``.ogg``)."""
    import soundfile as sf

    path = Path(path)
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise FreqlensError(f"unsupported audio format {path.suffix!r} for {path} (use .wav or .flac)")
    data = np.asarray(data)
    if not np.all(np.isfinite(data)):
        raise FreqlensError("audio to write contains NaN or inf")
    peak = float(np.max(np.abs(data), initial=0.0))
    if subtype is None and fmt == "WAV":
        subtype = "FLOAT" if peak > 1.0 else "PCM_16"
    if peak > 1.0 and (subtype or sf.default_subtype(fmt)) not in ("FLOAT", "DOUBLE"):
        raise FreqlensError(f"audio peak {peak:.3f} exceeds full scale and {fmt} would clip it; write a .wav "
                            "(stored as float) or lower the level")
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data, int(fs), subtype=subtype, format=fmt)
    return path


def read_image(path, *, as_gray: bool = False) -> np.ndarray:
    """Read an image as float64 in [0, 1]: ``(H, W)`` or ``(H, W, C)`` (alpha dropped)."""
    import skimage.io
    import skimage.util

    path = _check_readable(path)
    try:
        img = skimage.io.imread(str(path))
    except Exception as exc:
        raise FreqlensError(f"not a readable image file: {path} ({type(exc).__name__})")
    return _image_to_float(img, as_gray=as_gray, name=str(path))


def sample_image(name: str, *, as_gray: bool = False) -> np.ndarray:
    """One of scikit-image's bundled images (no download) as float64 in [0, 1]; see :data:`SAMPLE_IMAGES`."""
    import skimage.data

    if name not in SAMPLE_IMAGES:
        raise FreqlensError(f"unknown sample image {name!r}; bundled ones: {', '.join(SAMPLE_IMAGES)}")
    return _image_to_float(getattr(skimage.data, name)(), as_gray=as_gray, name=name)


def _image_to_float(img, *, as_gray: bool, name: str) -> np.ndarray:
    import skimage.color
    import skimage.util

    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 4:  # RGBA: drop alpha
        img = img[..., :3]
    elif img.ndim == 3 and img.shape[-1] == 2:  # grey + alpha: drop alpha
        img = img[..., 0]
    if img.ndim not in (2, 3) or img.size == 0:
        raise FreqlensError(f"not a 2-D image: {name} has shape {img.shape}")
    img = skimage.util.img_as_float64(img)
    if as_gray and img.ndim == 3:
        img = skimage.color.rgb2gray(img)
    return img


def write_image(path, image, *, clip: bool = True) -> Path:
    """Write a float image (values in [0, 1], clipped) as 8-bit PNG/JPEG/TIFF, atomically."""
    import skimage.io
    import skimage.util

    image = np.asarray(image, dtype=float)
    if image.ndim not in (2, 3):
        raise FreqlensError(f"image to write must be 2-D or 3-D, got shape {image.shape}")
    image = np.nan_to_num(image, nan=0.0, posinf=1.0, neginf=0.0)
    if clip:
        image = np.clip(image, 0.0, 1.0)
    with atomic_path(path) as tmp:
        skimage.io.imsave(str(tmp), skimage.util.img_as_ubyte(image), check_contrast=False)
    return Path(path)
