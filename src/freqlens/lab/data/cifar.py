"""CIFAR-10's python batches, read through a restricted unpickler that cannot run code.

The batches (``cifar-10-batches-py/data_batch_1`` … ``data_batch_5``, ``test_batch``) are Python 2 pickles
(protocol 2) of a dict ``{b"batch_label": bytes, b"labels": [int] * n, b"data": uint8 array (n, 3072),
b"filenames": [bytes] * n}``; each row of ``data`` is a 32×32 image, red plane then green then blue, each plane
in row-major order.

A pickle is a program: ``pickle.load`` calls whatever callables the stream names, so a crafted file can run any
code (``os.system``, ``builtins.eval``, ``subprocess.Popen`` …). This reader admits no callable from the outside
world. Its unpickler resolves only the names a numpy array's pickle uses, and each of them resolves to an inert
stand-in defined here that merely records its arguments:

==========================================================  ================================================
name in the stream                                          stand-in
==========================================================  ================================================
``numpy.core.multiarray._reconstruct`` (numpy 1, Python 2)   records an array to be built
``numpy._core.multiarray._reconstruct`` (numpy 2)            the same
``numpy.ndarray``                                           a marker, accepted only as _reconstruct's class
``numpy.dtype``                                             records the type string and byte order
``numpy.core.numeric._frombuffer``, ``numpy._core.numeric    records buffer, dtype, shape, order (protocol 5)
._frombuffer``
``_codecs.encode``                                          latin-1 only: how Python 3 writes bytes at
                                                            protocols 0–2
``builtins.bytes``, ``__builtin__.bytes``                    no arguments only: Python 3's empty bytes at
                                                            protocols 0–2
==========================================================  ================================================

After the stream is parsed, the recorded arrays are built here with ``numpy.frombuffer`` from a plain numeric
type string (``u1``, ``i8``, ``f4`` …; never an object or structured dtype) after checking that the data length
equals ``prod(shape) · itemsize``. numpy's own ``__setstate__`` never sees the file's bytes. Anything else
(another global, persistent ids, extension codes) makes the load fail with a :class:`~freqlens.errors.DataError`
naming the file and the refused name.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from freqlens.errors import DataError
from freqlens.lab.data._common import check_memory

__all__ = ["ALLOWED_GLOBALS", "CIFAR10_CLASSES", "read_cifar_batch", "restricted_load"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# plain numeric element types an array in the file may have (numpy type strings without byte order)
_NUMERIC = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}
_MAX_DEPTH = 8  # nesting of dicts/lists/tuples in a batch (a real one has 2)


class _Refused(pickle.UnpicklingError):
    """Raised inside the unpickler; turned into a DataError naming the file."""


def _text(value: Any, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    if isinstance(value, str):
        return value
    raise _Refused(f"{what} is a {type(value).__name__}, not a string")


class _NdarrayMarker:
    """Stands for ``numpy.ndarray`` in the stream; not callable, only accepted as _reconstruct's class."""


_NDARRAY = _NdarrayMarker()


class _DtypeStub:
    """Records ``numpy.dtype(typestr, align, copy)`` and its pickled state; resolved to a numeric dtype later."""

    def __init__(self, *args: Any) -> None:
        if not args:
            raise _Refused("numpy.dtype called without a type string")
        self.typestr = _text(args[0], "a dtype's type string")
        self.byteorder = "="

    def __setstate__(self, state: Any) -> None:
        # numpy's dtype state: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if not isinstance(state, tuple) or len(state) < 2:
            raise _Refused("a dtype's state is not numpy's")
        self.byteorder = _text(state[1], "a dtype's byte order")
        if len(state) >= 5 and (state[2] is not None or state[3] is not None or state[4] is not None):
            raise _Refused("structured or sub-array dtypes are not allowed")

    def resolve(self) -> np.dtype:
        if self.typestr not in _NUMERIC:
            raise _Refused(f"dtype {self.typestr!r} is not a plain numeric type ({', '.join(sorted(_NUMERIC))})")
        if self.byteorder not in ("|", "<", ">", "="):
            raise _Refused(f"dtype byte order {self.byteorder!r} is not one of | < > =")
        dt = np.dtype(self.typestr)
        return dt.newbyteorder(self.byteorder) if self.byteorder in "<>" else dt


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, tuple) or len(value) > 32 or not all(type(v) is int and v >= 0 for v in value):
        raise _Refused("an array's shape is not a tuple of non-negative ints")
    return value


def _build(buffer: Any, dtype: Any, shape: Any, fortran: bool) -> np.ndarray:
    if not isinstance(dtype, _DtypeStub):
        raise _Refused("an array's dtype is not a numpy dtype")
    dt, shape = dtype.resolve(), _shape(shape)
    if not isinstance(buffer, (bytes, bytearray)):
        raise _Refused("an array's data is not bytes")
    count = int(np.prod(shape, dtype=np.int64))
    if len(buffer) != count * dt.itemsize:
        raise _Refused(f"an array of shape {shape} and dtype {dt.str} needs {count * dt.itemsize} bytes of data; "
                       f"the file holds {len(buffer)}")
    return np.frombuffer(buffer, dtype=dt, count=count).reshape(shape, order="F" if fortran else "C")


class _ArrayStub:
    """Records ``_reconstruct(ndarray, (0,), b'b')`` followed by ``ndarray.__setstate__(state)``."""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_array(self) -> np.ndarray:
        state = self.state
        if isinstance(state, tuple) and len(state) == 5:  # (version, shape, dtype, is_fortran, data)
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise _Refused("an array's state is not numpy's (shape, dtype, is_fortran, data)")
        shape, dtype, fortran, data = state
        return _build(data, dtype, shape, bool(fortran))


class _BufferStub:
    """Records ``_frombuffer(buffer, dtype, shape, order)`` (numpy's protocol-5 form)."""

    def __init__(self, buffer: Any, dtype: Any, shape: Any, order: Any = "C") -> None:
        self.args = (buffer, dtype, shape, _text(order, "an array's order"))

    def to_array(self) -> np.ndarray:
        buffer, dtype, shape, order = self.args
        return _build(buffer, dtype, shape, order == "F")


def _reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> _ArrayStub:
    if cls is not _NDARRAY:
        raise _Refused("_reconstruct may only build a numpy.ndarray")
    return _ArrayStub()


def _latin1_encode(text: Any, encoding: Any = "latin1") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode is only allowed as Python 3's latin-1 encoding of bytes")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    if args:
        raise _Refused("bytes() is only allowed without arguments (Python 3's empty bytes at protocols 0-2)")
    return b""


#: (module, name) in the stream → the inert stand-in it resolves to. Nothing else is admitted.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeStub,
    ("numpy.core.numeric", "_frombuffer"): _BufferStub,
    ("numpy._core.numeric", "_frombuffer"): _BufferStub,
    ("_codecs", "encode"): _latin1_encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"it references {module}.{name}, which a numpy-array pickle never needs") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("it uses persistent ids")


def _materialise(obj: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise _Refused(f"it nests containers deeper than {_MAX_DEPTH} levels")
    if isinstance(obj, (_ArrayStub, _BufferStub)):
        return obj.to_array()
    if isinstance(obj, (_DtypeStub, _NdarrayMarker)):
        raise _Refused("it holds a bare dtype or class")
    if isinstance(obj, dict):
        return {_materialise(k, depth + 1): _materialise(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_materialise(v, depth + 1) for v in obj] if any(not _plain(v) for v in obj) else obj
    if isinstance(obj, tuple):
        return tuple(_materialise(v, depth + 1) for v in obj)
    return obj


def _plain(v: Any) -> bool:
    return isinstance(v, (int, float, bytes, str, type(None)))


def restricted_load(data: bytes, *, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` admitting only numpy arrays of plain numeric types, dicts, lists, tuples, bytes, str,
    numbers, booleans and None (see the module docstring for the names admitted and what they resolve to).

    Strings written by Python 2 come back as ``bytes`` (``encoding="bytes"``, as CIFAR's own loader uses).

    Raises
    ------
    DataError
        The stream references anything else, is corrupt or truncated; the message names ``source``.

    Examples
    --------
    >>> import pickle
    >>> import numpy as np
    >>> restricted_load(pickle.dumps({b"data": np.arange(3, dtype=np.uint8)}, protocol=2))
    {b'data': array([0, 1, 2], dtype=uint8)}
    >>> import os
    >>> class Evil:
    ...     def __reduce__(self):
    ...         return (os.system, ("echo pwned",))
    >>> restricted_load(pickle.dumps(Evil()), source="evil.pkl")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    freqlens.errors.DataError: evil.pkl: refused to unpickle: it references posix.system, ...
    """
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
        return _materialise(obj)
    except _Refused as exc:
        raise DataError(f"{source}: refused to unpickle: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, MemoryError, UnicodeDecodeError) as exc:
        raise DataError(f"{source}: not a valid pickle ({type(exc).__name__}: {exc})") from None


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch.

    Returns
    -------
    images : numpy.ndarray
        ``uint8``, shape ``(n, 3, 32, 32)`` (channels R, G, B).
    labels : numpy.ndarray
        ``int64``, shape ``(n,)``, values in 0..9.

    Raises
    ------
    DataError
        Missing file, a file larger than the available memory, a pickle that references anything but numpy array
        reconstruction, or content that is not a CIFAR-10 batch (keys, dtype, 3072 values per row, label count
        and range). One line naming the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        check_memory(2 * size, f"{path}: reading it")
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    batch = restricted_load(data, source=str(path))
    del data
    if not isinstance(batch, dict):
        raise DataError(f"{path}: not a CIFAR-10 batch: the pickle holds a {type(batch).__name__}, not a dict")
    batch = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"{path}: not a CIFAR-10 batch: no 'data' and 'labels' entries (keys: "
                        f"{', '.join(map(str, batch))})")
    images = batch["data"]
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072:
        desc = (f"{images.dtype} array of shape {images.shape}" if isinstance(images, np.ndarray)
                else type(images).__name__)
        raise DataError(f"{path}: not a CIFAR-10 batch: 'data' is a {desc}; expected uint8 rows of 3072 values")
    labels = np.asarray(batch["labels"])
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise DataError(f"{path}: not a CIFAR-10 batch: 'labels' is not a list of integers")
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{path}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels outside 0..9 (found {labels.min()}..{labels.max()})")
    return images.reshape(-1, 3, 32, 32), labels.astype(np.int64)
