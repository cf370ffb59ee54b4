"""Writers of small dataset files in the real formats (IDX, CIFAR-10 python batches), written here byte by byte
so the readers are tested against the formats, not against themselves."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B, np.dtype("i4"): 0x0C,
             np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(array: np.ndarray, *, magic: int | None = None) -> bytes:
    """The IDX encoding of ``array``: magic 0x0000TTDD, big-endian uint32 dims, big-endian elements."""
    array = np.asarray(array)
    code = IDX_CODES[array.dtype.newbyteorder("=")]
    if magic is None:
        magic = (code << 8) | array.ndim
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False, magic: int | None = None) -> Path:
    data = idx_bytes(array, magic=magic)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_mnist(folder: Path, *, n_train: int = 40, n_test: int = 20, gz: bool = True, seed: int = 0,
                size: int = 28) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four standard MNIST files with random pixels and labels 0..9 (every class present)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz=gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz=gz)
        out[split] = (images, labels)
    return out


# --- CIFAR-10: a Python 2 cPickle protocol-2 stream, as the real batches were written -----------------------------
def _short_binstring(b: bytes) -> bytes:  # 'U': Python 2 str up to 255 bytes
    assert len(b) < 256
    return b"U" + bytes([len(b)]) + b


def _binstring(b: bytes) -> bytes:  # 'T': Python 2 str, 4-byte little-endian length
    return b"T" + struct.pack("<i", len(b)) + b


def _int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])  # BININT1
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)  # BININT2
    return b"J" + struct.pack("<i", v)  # BININT


def py2_cifar_pickle(data: np.ndarray, labels: list[int], *, batch_label: bytes = b"training batch 1 of 5",
                     numpy_module: bytes = b"numpy.core.multiarray") -> bytes:
    """The bytes ``cPickle.dump(batch, f, 2)`` wrote under Python 2 / numpy 1 for a CIFAR-10 batch dict."""
    assert data.dtype == np.uint8 and data.ndim == 2
    array = (b"c" + numpy_module + b"\n_reconstruct\n" + b"cnumpy\nndarray\n" + _int(0) + b"\x85"
             + _short_binstring(b"b") + b"\x87R"  # _reconstruct(ndarray, (0,), 'b')
             + b"(" + _int(1) + _int(data.shape[0]) + _int(data.shape[1]) + b"\x86"  # version 1, shape
             + b"cnumpy\ndtype\n" + _short_binstring(b"u1") + _int(0) + _int(1) + b"\x87R"  # dtype('u1', 0, 1)
             + b"(" + _int(3) + _short_binstring(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + _int(0) + b"tb"
             + b"\x89" + _binstring(data.tobytes()) + b"tb")  # is_fortran False, raw data; BUILD
    items = (_short_binstring(b"batch_label") + _short_binstring(batch_label)
             + _short_binstring(b"labels") + b"](" + b"".join(_int(v) for v in labels) + b"e"
             + _short_binstring(b"data") + array
             + _short_binstring(b"filenames") + b"](" + b"".join(_short_binstring(b"img_%d.png" % i)
                                                                 for i in range(len(labels))) + b"e")
    return b"\x80\x02}(" + items + b"u."


def write_cifar(folder: Path, *, n_per_batch: int = 4, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """data_batch_1..5 and test_batch (Python 2 protocol-2 format) with random pixels; returns the arrays as
    (images (n, 3072) uint8, labels (n,)) per split."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"train": [], "test": []}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n_per_batch).tolist()
        (folder / name).write_bytes(py2_cifar_pickle(data, labels))
        out["test" if name == "test_batch" else "train"].append((data, np.array(labels)))
    return {k: (np.concatenate([d for d, _ in v]), np.concatenate([lab for _, lab in v])) for k, v in out.items()}


@pytest.fixture
def no_data_env(monkeypatch):
    """FREQLENS_DATA_DIR unset, so only explicit data_dir arguments count."""
    monkeypatch.delenv("FREQLENS_DATA_DIR", raising=False)


@pytest.fixture
def fmt():
    """The writers above, for the tests of this folder."""
    return SimpleNamespace(idx_bytes=idx_bytes, write_idx=write_idx, write_mnist=write_mnist,
                           py2_cifar_pickle=py2_cifar_pickle, write_cifar=write_cifar)
