"""freqlens.conv.explain: the worked example, and agreement with correlate/convolve."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens.conv import convolve, correlate, explain

# the package exports the function under the module's name, so fetch the module itself
explain_mod = importlib.import_module("freqlens.conv.explain")

TEXTBOOK_X = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]])
TEXTBOOK_K = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])


def test_textbook_example():
    e = explain(TEXTBOOK_X, TEXTBOOK_K)
    np.testing.assert_array_equal(e.output, [[4, 3, 4], [2, 4, 3], [2, 3, 4]])
    assert len(e.steps) == 9
    first = e.steps[0]
    assert first.index == (0, 0) and first.start == (0, 0)
    np.testing.assert_array_equal(first.window, TEXTBOOK_X[:3, :3])
    np.testing.assert_array_equal(first.products, TEXTBOOK_X[:3, :3] * TEXTBOOK_K)
    assert first.total == 4
    for step in e.steps:
        assert step.total == step.products.sum() == e.output[step.index]
    table = e.to_table()
    assert "kernel is NOT flipped" in table
    assert "symmetric under the flip" in table
    assert "input 5x5, kernel 3x3, stride 1, dilation 1, mode 'valid'" in table
    assert "-> output 3x3" in table
    assert "out[0, 0]: window x[0:3, 0:3]" in table
    assert "out[2, 2]: window x[2:5, 2:5]" in table
    assert "sum = 1 + 0 + 1 + 0 + 1 + 0 + 0 + 0 + 1 = 4" in table
    assert "  1 1 1    1 0 1    1 0 1" in table  # window | kernel | products, row by row
    assert "  0 1 1  * 0 1 0  = 0 1 0" in table
    assert table.rstrip().endswith("output\n4 3 4\n2 4 3\n2 3 4")
    assert str(e) == table


def test_flip_is_stated_and_applied():
    k = np.array([[1, 2], [3, 4]])
    e = explain(TEXTBOOK_X, k, flip=True)
    np.testing.assert_array_equal(e.applied, [[4, 3], [2, 1]])
    np.testing.assert_allclose(e.output, convolve(TEXTBOOK_X, k, mode="valid"))
    table = e.to_table()
    assert "kernel IS flipped" in table and "flipped kernel (applied)" in table and "symmetric" not in table


def test_one_dimensional_rendering():
    e = explain([1, 2, 3, 4], [1, 0, -1], mode="same", boundary="reflect")
    np.testing.assert_allclose(e.output, correlate(np.array([1.0, 2, 3, 4]), [1, 0, -1], mode="same",
                                                   boundary="reflect"))
    table = e.to_table()
    assert "padded x (reflect)" in table and "2 1 2 3 4 3" in table
    assert "out[0]: window x[-1:2]" in table
    assert "2*1 + 1*0 + 2*(-1) = 0" in table


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 2), st.integers(1, 7), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
       st.sampled_from(["full", "same", "valid"]), st.sampled_from(["zero", "reflect", "symmetric", "edge", "wrap"]),
       st.booleans(), st.integers(0, 1000))
def test_property_matches_correlate(nd, n, k, s, d, mode, boundary, flip, seed):
    r = np.random.default_rng(seed)
    x, w = r.integers(-5, 6, (n,) * nd), r.integers(-3, 4, (k,) * nd)
    op = convolve if flip else correlate
    try:
        want = op(x, w, mode=mode, stride=s, dilation=d, boundary=boundary)
    except ValueError:
        with pytest.raises(ValueError):
            explain(x, w, mode=mode, stride=s, dilation=d, boundary=boundary, flip=flip)
        return
    e = explain(x, w, mode=mode, stride=s, dilation=d, boundary=boundary, flip=flip)
    np.testing.assert_allclose(e.output, want, atol=1e-9)
    assert e.output.dtype == np.float64
    assert len(e.steps) == want.size
    e.to_table()  # renders


def test_bad_input():
    with pytest.raises(ValueError, match="explain shows 1-D or 2-D inputs"):
        explain(np.ones((2, 2, 2)), np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match="explain is for small examples: 10000 outputs"):
        explain(np.ones((100, 100)), np.ones((1, 1)))
    with pytest.raises(ValueError, match="no window fits"):
        explain(np.ones((2, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        explain(np.ones((4, 4)), np.ones((3, 3)), stride=0)
    with pytest.raises(ValueError, match="x must have a numeric dtype"):
        explain(np.array(["a", "b"]), np.ones(1))


def test_doctests():
    result = doctest.testmod(explain_mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted >= 2
