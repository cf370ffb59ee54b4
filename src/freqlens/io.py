"""File input/output shared by the convolution applications and the CLI.

Every writer is atomic: data goes to a temporary file in the destination folder, which is then renamed over the
target, so an interrupted or failed write never leaves a half-written file and never destroys an existing one.
Readers raise :class:`freqlens.FreqlensError` with a one-line message for missing, unreadable or foreign files.

Readers: images (:func:`read_image`, :func:`sample_image`), audio (:func:`read_audio`), 1-D signals from audio,
``.npy`` or text (:func:`read_signal`), tables (:func:`read_table`, :func:`read_column`) and FASTA
(:func:`read_fasta`). Writers: :func:`write_image`, :func:`write_audio`, :func:`atomic_path`.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from freqlens._memory import available_memory, format_bytes, refuse_if_too_big
from freqlens.errors import DataError, FreqlensError

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


def read_signal(path, fs: float | None = None, *, what: str = "signal") -> tuple[np.ndarray, float]:
    """A 1-D float64 signal and its sample rate: from a mono audio file (its own rate), or from ``.npy`` / a text
    column of numbers (rate ``fs``, required). ``what`` names the signal in error messages."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".wav", ".flac", ".ogg"):
        data, rate = read_audio(path)
        if data.ndim == 2:
            if data.shape[1] != 1:
                raise FreqlensError(f"{what} must be mono; {path} has {data.shape[1]} channels")
            data = data[:, 0]
        if fs is not None and float(fs) != rate:
            raise FreqlensError(f"--fs {fs:g} contradicts the {rate} Hz sample rate of {path}")
        return data, float(rate)
    if fs is None:
        raise FreqlensError(f"{what} {path} has no sample rate; give --fs")
    if not path.is_file():
        raise FreqlensError(f"file not found: {path}")
    try:
        data = np.load(path, allow_pickle=False) if suffix == ".npy" else np.loadtxt(path, ndmin=1)
    except Exception as exc:
        raise FreqlensError(f"{what} {path} is not a readable .npy/.wav/text signal ({type(exc).__name__})")
    data = np.asarray(data)
    if data.ndim != 1 or data.dtype.kind not in "biuf":
        raise FreqlensError(f"{what} {path} must hold one column of numbers, got shape {data.shape} {data.dtype}")
    return data.astype(float), float(fs)


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
    """Read an image as float64 in [0, 1]: ``(H, W)`` or ``(H, W, C)`` (alpha dropped).

    The size the file declares is checked against the memory available before any pixel is decoded (a 10 MB
    file can declare 100,000 x 100,000 pixels): too large an image raises :class:`freqlens.DataError` naming its
    size and the memory at hand.
    """
    import skimage.io
    import skimage.util

    path = _check_readable(path)
    _check_image_fits(path, as_gray=as_gray)
    try:
        with warnings.catch_warnings():  # the size was checked above: Pillow's bomb warning has nothing to add
            warnings.simplefilter("ignore", _bomb_warning())
            img = skimage.io.imread(str(path))
    except MemoryError:
        raise DataError(f"image {path} does not fit in memory once decoded ({format_bytes(available_memory())} "
                        "available in RAM); use a smaller image") from None
    except Exception as exc:
        raise FreqlensError(f"not a readable image file: {path} ({type(exc).__name__})")
    return _image_to_float(img, as_gray=as_gray, name=str(path))


def _bomb_warning() -> type[Warning]:
    import PIL.Image

    return PIL.Image.DecompressionBombWarning


def _declared_image(path: Path) -> tuple[int, int, int, int, int] | None:
    """``(frames, height, width, channels, bytes per sample)`` from the file's header, without decoding pixels;
    None when neither Pillow nor imageio can read the header (the decoder then says what is wrong)."""
    import PIL.Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
        try:
            with PIL.Image.open(path) as im:  # lazy: reads the header only
                width, height = im.size
                channels = 4 if im.mode == "P" else len(im.getbands())  # palettes decode to RGB(A)
                itemsize = 2 if im.mode.startswith("I;16") else 4 if im.mode in ("I", "F") else 1
                return int(getattr(im, "n_frames", 1)), height, width, channels, itemsize
        except PIL.Image.DecompressionBombError as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            pixels = int(found.group(1)) if found else 2 * (PIL.Image.MAX_IMAGE_PIXELS or 0) + 1
            limit = 2 * (PIL.Image.MAX_IMAGE_PIXELS or 0)
            raise DataError(f"image {path} declares {pixels:,} pixels, more than Pillow decodes ({limit:,}, its "
                            f"decompression-bomb guard); as float64 it would need at least "
                            f"{format_bytes(8 * pixels)} of memory and {format_bytes(available_memory())} is "
                            "available in RAM") from None
        except Exception:  # not a format Pillow reads (e.g. float64 TIFF): imageio reads its header too
            pass
    try:
        import imageio.v3 as iio

        props = iio.improps(path)
    except Exception:
        return None
    shape = tuple(int(n) for n in props.shape)
    if len(shape) < 2:
        return None
    height, width = shape[-2:] if len(shape) == 2 or shape[-1] > 4 else shape[-3:-1]
    return 1, height, width, max(1, math.prod(shape) // (height * width)), int(props.dtype.itemsize)


def _check_image_fits(path: Path, *, as_gray: bool) -> None:
    """Refuse, from the header alone, an image whose decoded pixels and float64 copy would not fit in memory."""
    declared = _declared_image(path)
    if declared is None:
        return
    frames, height, width, channels, itemsize = declared
    samples = frames * height * width * channels
    parts = {"decoded pixels": samples * itemsize, "float64 image": samples * 8}
    if as_gray and channels >= 3:
        parts["grey image"] = frames * height * width * 8
    what = f"image {path} ({width}x{height}" + (f", {channels} channels" if channels > 1 else "") \
        + (f", {frames} frames" if frames > 1 else "") + ")"
    refuse_if_too_big(parts, what, hint="use a smaller image", error=DataError)


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


def read_table(path) -> tuple[list[str] | None, list[list[str]], str]:
    """Rows of a CSV / TSV / semicolon / whitespace-separated text file (``'-'``: standard input).

    Returns ``(header or None, rows of strings, delimiter)``; the first row is a header when it is not all
    numbers. Blank lines and lines starting with ``#`` are skipped.
    """
    path = Path(path)
    if str(path) == "-":
        text = sys.stdin.read()
    else:
        if not path.is_file():
            raise FreqlensError(f"file not found: {path}")
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            raise FreqlensError(f"not a text table: {path}") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise FreqlensError(f"no data in {path}")
    first = lines[0]
    delim = "," if "," in first else "\t" if "\t" in first else ";" if ";" in first else None
    if delim is None:
        rows = [ln.split() for ln in lines]
    else:
        rows = [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delim)]

    def numeric(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return cell == ""

    header = None
    if not all(numeric(c) for c in rows[0]):
        header, rows = rows[0], rows[1:]
    if not rows:
        raise FreqlensError(f"no data rows in {path}")
    return header, rows, delim or " "


def _column_index(header: list[str] | None, n_cols: int, column: str | int | None) -> int:
    if column is None:
        return n_cols - 1
    if header is not None and column in header:
        return header.index(str(column))
    try:
        idx = int(column)
    except ValueError:
        names = ", ".join(header) if header else "none (no header)"
        raise FreqlensError(f"--column {column!r} is neither a column name ({names}) nor an index") from None
    if not -n_cols <= idx < n_cols:
        raise FreqlensError(f"--column {idx} is out of range for {n_cols} column(s)")
    return idx % n_cols


def read_column(path, column: str | int | None = None):
    """One numeric column of a table (:func:`read_table`): ``(header, rows, delimiter, column index, values)``.

    ``column`` is a header name or a 0-based index (default: the last column); empty cells become NaN.
    """
    header, rows, delim = read_table(path)
    n_cols = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != n_cols:
            raise FreqlensError(f"data row {i + 1} has {len(r)} columns, the first has {n_cols}")
    col = _column_index(header, n_cols, column)
    values = np.empty(len(rows))
    for i, r in enumerate(rows):
        cell = r[col]
        try:
            values[i] = float(cell) if cell != "" else np.nan
        except ValueError:
            raise FreqlensError(f"data row {i + 1}, column {col}: {cell!r} is not a number") from None
    return header, rows, delim, col, values


def read_fasta(path) -> list[tuple[str, str]]:
    """The records of a FASTA file as ``(name, sequence)`` pairs (name: the first word after ``>``)."""
    path = Path(path)
    if not path.is_file():
        raise FreqlensError(f"file not found: {path}")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise FreqlensError(f"not a FASTA text file: {path}") from None
    records: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            records.append((line[1:].split()[0] if line[1:].split() else f"record{len(records) + 1}", []))
        else:
            if not records:
                raise FreqlensError(f"{path} is not FASTA: sequence before the first '>' header")
            records[-1][1].append(line)
    if not records:
        raise FreqlensError(f"{path} has no FASTA records")
    return [(name, "".join(parts)) for name, parts in records]
