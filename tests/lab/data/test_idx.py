"""IDX reading: round trips of files written byte by byte, and every kind of bad file refused in one line."""

import gzip
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from freqlens import _memory
from freqlens.errors import DataError
from freqlens.lab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, read_idx_header


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype, shape", [("u1", (7, 28, 28)), ("u1", (9,)), ("i1", (3, 4)), ("i2", (2, 3, 4)),
                                          ("i4", (5,)), ("f4", (2, 2)), ("f8", (3, 1, 2))])
def test_round_trip(tmp_path, fmt, gz, dtype, shape):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal(shape) * 100).astype(dtype) if dtype[0] == "f" else rng.integers(
        np.iinfo(dtype).min, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    path = fmt.write_idx(tmp_path / ("f.gz" if gz else "f"), a, gz=gz)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.shape == shape
    np.testing.assert_array_equal(b, a)
    header = read_idx_header(path)
    assert header.gzipped is gz and header.shape == shape and header.header_bytes == 4 + 4 * len(shape)


def test_gzip_recognised_by_content_not_name(tmp_path, fmt):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    p = tmp_path / "train-labels-idx1-ubyte"  # no .gz, but gzipped
    p.write_bytes(gzip.compress(fmt.idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(p), a)


def test_magic_numbers(tmp_path, fmt):
    images = fmt.write_idx(tmp_path / "i", np.zeros((2, 28, 28), np.uint8))
    labels = fmt.write_idx(tmp_path / "l", np.zeros(2, np.uint8))
    assert read_idx_header(images).magic == IMAGES_MAGIC == 0x803
    assert read_idx_header(labels).magic == LABELS_MAGIC == 0x801
    with pytest.raises(DataError, match=r"wrong magic number 0x00000801 .*expected 0x00000803") as err:
        read_idx(labels, magic=IMAGES_MAGIC)
    assert str(labels) in str(err.value)


@pytest.mark.parametrize("head", [b"\x12\x34\x08\x03", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"PK\x03\x04"])
def test_not_idx(tmp_path, head):
    p = tmp_path / "x"
    p.write_bytes(head + b"\x00" * 64)
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(p)


def _one_line(err):
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated(tmp_path, fmt, gz):
    data = fmt.idx_bytes(np.ones((4, 5, 5), np.uint8))[:-7]
    p = tmp_path / "t"
    p.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match="truncated") as err:
        read_idx(p)
    _one_line(err)


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_data(tmp_path, fmt, gz):
    data = fmt.idx_bytes(np.ones((4, 5, 5), np.uint8)) + b"\x00"
    p = tmp_path / "t"
    p.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match="trailing data"):
        read_idx(p)


@pytest.mark.parametrize("cut", [6, 30, -9])
def test_truncated_header_or_corrupt_gzip(tmp_path, fmt, cut):
    comp = gzip.compress(fmt.idx_bytes(np.arange(100, dtype=np.uint8).reshape(4, 25)))
    p = tmp_path / "c.gz"
    p.write_bytes(comp[:cut])
    with pytest.raises(DataError) as err:
        read_idx(p)
    assert str(p) in str(err.value) and ("truncated" in str(err.value) or "corrupt" in str(err.value))
    _one_line(err)


def test_gzip_crc_error(tmp_path, fmt):
    comp = bytearray(gzip.compress(fmt.idx_bytes(np.arange(100, dtype=np.uint8))))
    comp[-8] ^= 0xFF  # the CRC32 in the trailer
    p = tmp_path / "c.gz"
    p.write_bytes(bytes(comp))
    with pytest.raises(DataError, match="corrupt"):
        read_idx(p)


def test_header_size_impossible_for_gzip_refused_before_decompressing(tmp_path):
    header = struct.pack(">IIII", 0x803, 2_000_000_000, 28, 28)  # 1.5 TB declared in a tiny file
    p = tmp_path / "bomb.gz"
    p.write_bytes(gzip.compress(header + b"\x00" * 100))
    with pytest.raises(DataError, match="more than a .* gzip file can hold"):
        read_idx_header(p)


def test_gzip_bomb_decompression_is_bounded(tmp_path):
    """A valid header for 10 bytes followed by 64 MiB of zeros (64 KiB compressed): refused as trailing data
    after decompressing at most a few MiB."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip wrapper
    blob = comp.compress(struct.pack(">II", 0x801, 10) + bytes(10))
    zeros = bytes(1 << 20)
    for _ in range(64):
        blob += comp.compress(zeros)
    blob += comp.flush()
    p = tmp_path / "bomb.gz"
    p.write_bytes(blob)
    assert len(blob) < 1 << 18
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="trailing data"):
            read_idx(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_memory_refused_before_reading(tmp_path, fmt, monkeypatch):
    p = fmt.write_idx(tmp_path / "i.gz", np.zeros((10, 28, 28), np.uint8), gz=True)
    monkeypatch.setattr(_memory, "available_memory", lambda: 1000)
    with pytest.raises(DataError, match=r"would need 7\.7 KiB of memory but only 1000 bytes is available") as err:
        read_idx(p)
    _one_line(err)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "nope")
