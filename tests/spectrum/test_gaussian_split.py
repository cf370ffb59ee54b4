import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from freqlens.errors import DataError
from freqlens.spectrum.gaussian_split import (
    GaussianSplit,
    check_deltas,
    gaussian_split,
    gaussian_split_dense,
)


def reference(x, v, delta):
    """The definition, written out in float64: G = exp(-|xi-xj|^2 / (2 delta)), low = G v / G 1."""
    g = np.exp(-cdist(x, x, "sqeuclidean") / (2 * delta))
    low = (g @ v.reshape(len(v), -1) / g.sum(axis=1, keepdims=True)).reshape(v.shape)
    return low, v - low


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    x = rng.random((333, 12))
    v = rng.random((333, 4))
    return x, v


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("blocks", [(256, 2048), (17, 50), (64, 333), (333, 7)])
def test_split_equals_dense_float64_definition(data, dtype, tol, blocks):
    x, v = data
    deltas = [0.05, 0.3, 2.0]
    low, high = gaussian_split(x, v, deltas, dtype=dtype, block_rows=blocks[0], block_cols=blocks[1])
    for j, delta in enumerate(deltas):
        ref_low, ref_high = reference(x, v, delta)
        np.testing.assert_allclose(low[j], ref_low, rtol=tol, atol=0)
        # the high part is small for small delta: compare relative to its own size
        err = np.linalg.norm(high[j] - ref_high) / np.linalg.norm(ref_high)
        assert err < tol, (delta, err)


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("block", [37, 128, 512])
def test_symmetric_sums_equal_the_definition(data, dtype, tol, block):
    x, v = data
    deltas = [0.05, 0.3, 2.0]
    eng = GaussianSplit(x, deltas, dtype=dtype)
    sums, prods = eng.sums(v, block=block)
    s, p = sums.double().numpy()[..., None], prods.double().numpy()
    low, high = (v + p) / (1 + s), (v * s - p) / (1 + s)
    for j, delta in enumerate(deltas):
        ref_low, ref_high = reference(x, v, delta)
        np.testing.assert_allclose(low[j], ref_low, rtol=tol)
        assert np.linalg.norm(high[j] - ref_high) / np.linalg.norm(ref_high) < tol


def test_dense_reference_matches_definition(data):
    x, v = data
    low, high = gaussian_split_dense(x, v, [0.1, 1.0])
    for j, delta in enumerate([0.1, 1.0]):
        ref_low, ref_high = reference(x, v, delta)
        np.testing.assert_allclose(low[j], ref_low, rtol=1e-13)
        np.testing.assert_allclose(high[j], ref_high, rtol=1e-10, atol=1e-15)


def test_rows_subset_in_any_order_and_torch_input(data):
    x, v = data
    rows = np.array([300, 5, 17, 0, 332, 128])
    eng = GaussianSplit(torch.as_tensor(x), [0.2, 1.0], dtype="float64", block_rows=4, block_cols=100)
    low, high = eng.split(torch.as_tensor(v), rows=rows)
    ref_low, ref_high = gaussian_split_dense(x, v, [0.2, 1.0])
    np.testing.assert_allclose(low, ref_low[:, rows], rtol=1e-12)
    np.testing.assert_allclose(high, ref_high[:, rows], rtol=1e-9, atol=1e-14)


def test_high_part_keeps_its_digits_when_the_kernel_is_nearly_the_identity():
    # d = 200, delta tiny: y_high ~ 1e-9 |y|. In float32, y - y_low would be pure rounding noise;
    # the off-diagonal form keeps the high part to float32 accuracy.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 200)) * 0.05
    y = np.eye(3)[rng.integers(0, 3, 300)]
    delta = 0.02
    ref_low, ref_high = reference(x, y, delta)
    assert np.linalg.norm(ref_high) / np.linalg.norm(y) < 1e-6
    _, high = gaussian_split(x, y, [delta], dtype="float32")
    assert np.linalg.norm(high[0] - ref_high) / np.linalg.norm(ref_high) < 1e-4


def test_far_apart_points_underflow_to_the_identity_exactly():
    # exp(-D / (2 delta)) below float32's smallest normal number: the clamped path must give low = v
    x = np.arange(5.0)[:, None] * 100.0
    v = np.arange(5.0)
    low, high = gaussian_split(x, v, [1.0, 1e6], dtype="float32")
    np.testing.assert_allclose(low[0], v, rtol=0, atol=1e-30)
    np.testing.assert_allclose(high[0], 0.0, atol=1e-30)
    np.testing.assert_allclose(low[1], reference(x, v, 1e6)[0], rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 6), delta=st.floats(1e-2, 1e2), seed=st.integers(0, 1000))
def test_low_is_a_weighted_average(n, d, delta, seed):
    rng = np.random.default_rng(seed)
    x, v = rng.normal(size=(n, d)), rng.normal(size=n)
    low, high = gaussian_split(x, v, [delta], dtype="float64", block_rows=7, block_cols=11)
    assert np.all(low[0] >= v.min() - 1e-12) and np.all(low[0] <= v.max() + 1e-12)
    np.testing.assert_allclose(low[0] + high[0], v, atol=1e-12)
    c_low, c_high = gaussian_split(x, np.full(n, 3.5), [delta], dtype="float64")
    np.testing.assert_allclose(c_low[0], 3.5, rtol=1e-14)
    np.testing.assert_allclose(c_high[0], 0.0, atol=1e-13)


def test_large_delta_tends_to_the_mean(data):
    x, v = data
    low, _ = gaussian_split(x, v, [1e9], dtype="float64")
    np.testing.assert_allclose(low[0], np.broadcast_to(v.mean(axis=0), v.shape), rtol=1e-7)


def test_translation_invariance(data):
    x, v = data
    a, _ = gaussian_split(x, v, [0.5], dtype="float32")
    b, _ = gaussian_split(x + 1e3, v, [0.5], dtype="float32")  # centring removes the offset before float32
    np.testing.assert_allclose(a, b, rtol=1e-5)


@pytest.mark.parametrize("bad", [[0.0], [-1.0], [np.nan], [np.inf], [], [[1.0, 2.0], [3.0, 4.0]]])
def test_bad_deltas(bad):
    with pytest.raises(ValueError, match="deltas"):
        check_deltas(bad)
    with pytest.raises(ValueError, match="deltas"):
        gaussian_split(np.zeros((3, 2)), np.zeros(3), bad)


def test_bad_inputs_and_values():
    with pytest.raises(ValueError, match="NaN"):
        gaussian_split(np.array([[0.0], [np.nan]]), np.zeros(2), [1.0])
    with pytest.raises(ValueError, match="at least 2"):
        gaussian_split(np.zeros((1, 3)), np.zeros(1), [1.0])
    with pytest.raises(ValueError, match="shape"):
        gaussian_split(np.zeros((4, 3)), np.zeros(5), [1.0])
    with pytest.raises(ValueError, match="NaN"):
        gaussian_split(np.zeros((4, 3)), np.array([0, 1, np.inf, 0]), [1.0])
    with pytest.raises(TypeError, match="numeric"):
        gaussian_split(np.array([["a"], ["b"]]), np.zeros(2), [1.0])
    with pytest.raises(ValueError, match="dtype"):
        GaussianSplit(np.zeros((4, 3)), [1.0], dtype="float16")


def test_memory_request_refused_up_front_with_the_figure():
    eng = GaussianSplit(np.random.default_rng(0).random((100, 5)), [1.0], memory_limit=64 * 2**10)
    with pytest.raises(DataError, match=r"KiB.*64.0 KiB is available"):
        next(eng.blocks(np.zeros((100, 400))))
    with pytest.raises(DataError, match=r"would need 390.6 KiB"):
        GaussianSplit(np.zeros((2000, 50)), [1.0], memory_limit=1000)
    big = GaussianSplit(np.zeros((10**6, 1)), [1.0] * 1000, memory_limit=2**31)
    with pytest.raises(DataError, match=r"accumulators 7.45 GiB"):
        big.sums(np.zeros((10**6, 1)))  # refused before the accumulators are allocated


@pytest.mark.parametrize("module", ["freqlens.spectrum.gaussian_split", "freqlens.spectrum.gaussian_reference",
                                    "freqlens.spectrum.nufft"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
