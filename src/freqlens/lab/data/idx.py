"""IDX files (the format of MNIST and Fashion-MNIST), plain or gzipped, read with every size checked first.

An IDX file is a 4-byte magic number ``0x0000TTDD`` (``TT`` the element type, ``DD`` the number of dimensions),
``DD`` big-endian uint32 dimension sizes, then the elements in C order, big-endian. MNIST's images are
``0x00000803`` (unsigned bytes, 3 dimensions: count × rows × columns), its labels ``0x00000801`` (unsigned bytes,
1 dimension). A gzipped file is recognised by its content (``1f 8b``), not by its name.

Hand-written because no maintained, dependency-free package reads IDX with these checks (``idx2numpy`` trusts the
header; torchvision's reader is the only other, and torchvision is not a dependency).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from freqlens.errors import DataError
from freqlens.lab.data._common import check_memory, format_bytes

__all__ = ["IDX_TYPES", "IMAGES_MAGIC", "LABELS_MAGIC", "IdxHeader", "read_idx", "read_idx_header"]

#: element type code → numpy dtype (big-endian as stored).
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

_GZIP_MAGIC = b"\x1f\x8b"
# deflate cannot expand data by more than about 1032:1 (zlib's technical details); a header that claims more than
# this many times the compressed size is corrupt, and is refused before any decompression.
_MAX_DEFLATE_RATIO = 1100
_CHUNK = 1 << 22  # bytes decompressed per read


def _describe(magic: int) -> str:
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    kind = IDX_TYPES[code].name if code in IDX_TYPES else f"unknown type 0x{code:02x}"
    return f"0x{magic:08x} ({kind}, {ndim} dimension{'s' if ndim != 1 else ''})"


@dataclass(frozen=True)
class IdxHeader:
    """What the header of an IDX file declares.

    Attributes
    ----------
    path : Path
    magic : int
        ``(type_code << 8) | ndim``, e.g. ``0x00000803`` for MNIST images.
    dtype : numpy.dtype
        Element type as stored (big-endian).
    shape : tuple of int
    header_bytes : int
        ``4 + 4 * ndim``: where the elements start (in the decompressed stream).
    gzipped : bool
    file_bytes : int
        Size of the file on disk.
    """

    path: Path
    magic: int
    dtype: np.dtype
    shape: tuple[int, ...]
    header_bytes: int
    gzipped: bool
    file_bytes: int

    @property
    def payload_bytes(self) -> int:
        """Bytes of the elements the header declares: ``prod(shape) * itemsize``."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize if self.shape else 0


def _open(path: Path):
    """``(file, gzipped)``: the file opened in binary mode, and whether its content is gzip (sniffed)."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    gz = fh.read(2) == _GZIP_MAGIC
    fh.seek(0)
    return fh, gz


def _read_exact(stream, n: int, path: Path, what: str) -> bytes:
    try:
        data = stream.read(n)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataError(f"{path}: corrupt or truncated gzip stream while reading the {what} ({exc})") from None
    if len(data) < n:
        raise DataError(f"{path}: truncated: the file ends inside the {what} ({len(data)} of {n} bytes)")
    return data


def read_idx_header(path: str | Path, *, magic: int | None = None) -> IdxHeader:
    """Read and check the header of an IDX file without reading its elements.

    Checks: the two leading zero bytes, a known type code, 1–16 dimensions, the ``magic`` number if given (e.g.
    :data:`IMAGES_MAGIC`); for a plain file, that its size is
    exactly header + elements (a shorter file is truncated, a longer one has trailing data); for a gzipped file,
    that the declared size is possible at all (at most ~1032× the compressed size).

    Raises
    ------
    DataError
        Missing file, wrong magic number, truncated header, or sizes that cannot be right. One line naming the file.
    """
    path = Path(path)
    raw, gz = _open(path)
    stream = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
    try:
        file_bytes = raw.seek(0, 2)
        raw.seek(0)
        head = _read_exact(stream, 4, path, "magic number")
        found = int.from_bytes(head, "big")
        code, ndim = head[2], head[3]
        if head[:2] != b"\x00\x00" or code not in IDX_TYPES or not 1 <= ndim <= 16:
            raise DataError(f"{path}: not an IDX file: magic number 0x{found:08x} (IDX starts with two zero bytes, "
                            f"a type code in {', '.join(f'0x{c:02x}' for c in IDX_TYPES)} and 1-16 dimensions)")
        dims = _read_exact(stream, 4 * ndim, path, "dimension sizes")
        shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    finally:
        stream.close()
        raw.close()
    if magic is not None and found != magic:
        raise DataError(f"{path}: wrong magic number {_describe(found)}; expected {_describe(magic)}")
    header = IdxHeader(path, found, IDX_TYPES[code], shape, 4 + 4 * ndim, gz, file_bytes)
    total = header.header_bytes + header.payload_bytes
    if not gz and file_bytes != total:
        if file_bytes < total:
            raise DataError(f"{path}: truncated: the header declares {'x'.join(map(str, shape))} elements "
                            f"({total} bytes with the header) but the file has {file_bytes}")
        raise DataError(f"{path}: wrong size: the header declares {'x'.join(map(str, shape))} elements "
                        f"({total} bytes with the header) but the file has {file_bytes} (trailing data)")
    if gz and total > _MAX_DEFLATE_RATIO * file_bytes + (1 << 16):
        raise DataError(f"{path}: corrupt: the header declares {format_bytes(total)} of data, more than a "
                        f"{format_bytes(file_bytes)} gzip file can hold")
    return header


def read_idx(path: str | Path, *, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a numpy array in native byte order.

    Parameters
    ----------
    path : str or Path
    magic : int, optional
        The magic number the file must have, e.g. :data:`IMAGES_MAGIC` (``0x00000803``) or :data:`LABELS_MAGIC`.

    Returns
    -------
    numpy.ndarray
        Shape as declared by the header; ``uint8`` for MNIST's files.

    Raises
    ------
    DataError
        Missing file, wrong magic number, truncated or oversized file, corrupt gzip stream, or elements that would
        not fit in the available memory (refused before reading them, with the figure).

    Notes
    -----
    Every size is checked against the header before the elements are read: a plain file must be exactly
    ``4 + 4·ndim + prod(shape)·itemsize`` bytes; a gzipped one is decompressed into a buffer of the declared size
    and never further than one byte past it (that byte must not exist), so a gzip bomb cannot exhaust memory. The
    gzip CRC is checked at the end of the stream.

    Examples
    --------
    >>> import gzip, os, struct, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> with gzip.open(path, "wb") as fh:
    ...     _ = fh.write(struct.pack(">II", 0x801, 3) + bytes([7, 2, 1]))
    >>> read_idx(path, magic=LABELS_MAGIC)
    array([7, 2, 1], dtype=uint8)
    """
    header = read_idx_header(path, magic=magic)
    path = header.path
    check_memory(header.payload_bytes, f"{path}: reading its {'x'.join(map(str, header.shape))} elements")
    native = header.dtype.newbyteorder("=")
    if not header.gzipped:
        return np.fromfile(path, dtype=header.dtype, offset=header.header_bytes).reshape(header.shape).astype(
            native, copy=False)
    buf = np.empty(header.payload_bytes, dtype=np.uint8)
    with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as stream:
        _read_exact(stream, header.header_bytes, path, "header")
        view, pos = memoryview(buf), 0
        try:
            while pos < len(buf):
                got = stream.readinto(view[pos:pos + _CHUNK])
                if not got:
                    break
                pos += got
            extra = stream.read(1)  # also reaches the end of the stream, where gzip checks the CRC and length
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip stream ({exc})") from None
    if pos < len(buf):
        raise DataError(f"{path}: truncated: the header declares {'x'.join(map(str, header.shape))} elements "
                        f"({header.payload_bytes} bytes) but the stream holds {pos}")
    if extra:
        raise DataError(f"{path}: wrong size: data continues past the {'x'.join(map(str, header.shape))} elements "
                        "the header declares (trailing data)")
    return buf.view(header.dtype).reshape(header.shape).astype(native, copy=False)
