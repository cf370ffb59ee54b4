"""CIFAR-10 batches: the real (Python 2, protocol 2) format and Python 3 re-pickles read back exactly; pickles that
would run code, or hold anything but plain numeric arrays, are refused without running anything."""

import builtins
import io
import os
import pickle
import re
import subprocess
import warnings

import numpy as np
import pytest

from freqlens.errors import DataError
from freqlens.lab.data.cifar import read_cifar_batch, restricted_load


def _batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), rng.integers(0, 10, size=n).tolist()


def test_python2_format_round_trip(tmp_path, fmt):
    data, labels = _batch()
    stream = fmt.py2_cifar_pickle(data, labels)
    with warnings.catch_warnings():  # numpy 2 warns about numpy.core; the stock unpickler checks our fixture
        warnings.simplefilter("ignore")
        stock = pickle.loads(stream, encoding="bytes")
    np.testing.assert_array_equal(stock[b"data"], data)
    path = tmp_path / "data_batch_1"
    path.write_bytes(stream)
    images, got_labels = read_cifar_batch(path)
    assert images.dtype == np.uint8 and images.shape == (6, 3, 32, 32)
    np.testing.assert_array_equal(images.reshape(6, 3072), data)
    # the documented layout: 1024 red, then green, then blue values, each plane row by row
    np.testing.assert_array_equal(images[2, 1, 5, 7], data[2, 1024 + 5 * 32 + 7])
    assert got_labels.dtype == np.int64 and got_labels.tolist() == labels


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize("str_keys", [False, True])
def test_python3_pickles_round_trip(tmp_path, protocol, str_keys):
    data, labels = _batch(seed=protocol)
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": labels, b"data": data,
             b"filenames": [b"a.png"] * len(labels)}
    if str_keys:
        batch = {k.decode(): v for k, v in batch.items()}
    path = tmp_path / "test_batch"
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=protocol)
    images, got_labels = read_cifar_batch(path)
    np.testing.assert_array_equal(images.reshape(len(labels), 3072), data)
    assert got_labels.tolist() == labels


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("array", [
    np.arange(24, dtype=">i4").reshape(2, 3, 4),
    np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    np.array([True, False, True]),
    np.zeros((0, 3), dtype=np.float32),
])
def test_restricted_load_numeric_arrays(protocol, array):
    got = restricted_load(pickle.dumps({"a": [array, (1, 2.5, None)]}, protocol=protocol))
    np.testing.assert_array_equal(got["a"][0], array)
    assert got["a"][0].dtype == array.dtype and got["a"][1] == (1, 2.5, None)


def _os_system(marker):
    class P:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    return P()


def _eval(marker):
    class P:
        def __reduce__(self):
            return (builtins.eval, (f"open({str(marker)!r}, 'w').close()",))
    return P()


def _popen(marker):
    class P:
        def __reduce__(self):
            return (subprocess.Popen, (["touch", str(marker)],))
    return P()


def _exec(marker):
    class P:
        def __reduce__(self):
            return (builtins.exec, (f"open({str(marker)!r}, 'w').close()",))
    return P()


# protocols 0-2 write Python 2 names (__builtin__, commands) for Python 3's builtins and subprocess
@pytest.mark.parametrize("payload, refused", [(_os_system, r"posix\.system"),
                                              (_eval, r"(builtins|__builtin__)\.eval"),
                                              (_popen, r"(subprocess|commands)\.Popen"),
                                              (_exec, r"(builtins|__builtin__)\.exec")])
@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("nested", [False, True])
def test_malicious_pickle_refused_and_not_run(tmp_path, payload, refused, protocol, nested):
    marker = tmp_path / "pwned"
    obj = payload(marker)
    if nested:  # hidden inside an otherwise real-looking batch
        obj = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [obj]}
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    with pytest.raises(DataError) as err:
        read_cifar_batch(path)
    msg = str(err.value)
    assert str(path) in msg and "refused to unpickle" in msg and re.search(refused, msg) and "\n" not in msg
    assert not marker.exists()


def test_stock_pickle_would_have_run_the_payload(tmp_path):
    """Control for the test above: the same bytes do run code through the ordinary unpickler."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_exec(marker)))
    assert marker.exists()


def test_object_arrays_refused():
    data = pickle.dumps({b"data": np.array([1, "a"], dtype=object)}, protocol=2)
    with pytest.raises(DataError, match="not a plain numeric type"):
        restricted_load(data)


def test_structured_dtype_refused():
    data = pickle.dumps(np.zeros(2, dtype=[("a", "u1"), ("b", "f4")]), protocol=2)
    with pytest.raises(DataError, match="refused to unpickle"):
        restricted_load(data)


def test_reconstruct_of_another_class_refused():
    # _reconstruct(dtype, (0,), 'b'): the admitted callable applied to something other than ndarray
    stream = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\ndtype\nK\x00\x85U\x01b\x87R.")
    with pytest.raises(DataError, match="only build a numpy.ndarray"):
        restricted_load(stream)


def test_codecs_encode_only_latin1():
    stream = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x04\x00\x00\x00zlib\x86R."
    with pytest.raises(DataError, match="latin-1"):
        restricted_load(stream)


def test_persistent_id_refused():
    buf = io.BytesIO()

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "x" if obj == "secret" else None

    P(buf, protocol=2).dump(["secret"])
    with pytest.raises(DataError, match="persistent ids"):
        restricted_load(buf.getvalue())


@pytest.mark.parametrize("content, message", [
    (lambda d, l: {b"labels": l}, "no 'data' and 'labels'"),
    (lambda d, l: [d, l], "not a dict"),
    (lambda d, l: {b"data": d, b"labels": l[:-1]}, "6 images but 5 labels"),
    (lambda d, l: {b"data": d[:, :100], b"labels": l}, "rows of 3072 values"),
    (lambda d, l: {b"data": d.astype(np.float32), b"labels": l}, "uint8 rows"),
    (lambda d, l: {b"data": d, b"labels": [10] + l[1:]}, r"labels outside 0\.\.9"),
    (lambda d, l: {b"data": d, b"labels": [b"cat"] * 6}, "not a list of integers"),
])
def test_not_a_cifar_batch(tmp_path, content, message):
    data, labels = _batch()
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(content(data, labels), protocol=2))
    with pytest.raises(DataError, match=message) as err:
        read_cifar_batch(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("cut", [1, 100, 5000])
def test_truncated_batch(tmp_path, fmt, cut):
    data, labels = _batch()
    path = tmp_path / "data_batch_1"
    path.write_bytes(fmt.py2_cifar_pickle(data, labels)[:cut])
    with pytest.raises(DataError, match="not a valid pickle") as err:
        read_cifar_batch(path)
    assert "\n" not in str(err.value)


def test_declared_length_beyond_file_is_refused_without_allocating():
    stream = b"\x80\x04\x8e" + (1 << 40).to_bytes(8, "little") + b"abc"  # BINBYTES8 of 1 TiB, 3 bytes present
    with pytest.raises(DataError, match="not a valid pickle"):
        restricted_load(stream)
