"""freqlens.conv.padding_for: TensorFlow SAME, PyTorch 'same', scipy 'same', valid, full."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.signal as ss
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import freqlens.conv.padding as padding_mod
from freqlens.conv import correlate, padding_for

# (n, k, s, d) -> (before, after), TensorFlow's SAME (CONVENTIONS.md and hand-computed from its formula)
TF_SAME = [
    (224, 7, 2, 1, (2, 3)),
    (224, 3, 2, 1, (0, 1)),
    (225, 3, 2, 1, (1, 1)),
    (224, 1, 2, 1, (0, 0)),
    (5, 3, 1, 1, (1, 1)),
    (6, 4, 1, 1, (1, 2)),
    (10, 3, 3, 1, (1, 1)),   # out 4: total = 3*3 + 3 - 10 = 2
    (11, 3, 3, 1, (0, 1)),   # out 4: total = 9 + 3 - 11 = 1
    (7, 3, 1, 2, (2, 2)),    # K = 5
    (8, 3, 2, 2, (1, 2)),    # K = 5, out 4: total = 6 + 5 - 8 = 3
    (3, 7, 2, 1, (3, 3)),    # kernel larger than the input: out 2, total = 2 + 7 - 3 = 6
    (1, 5, 1, 1, (2, 2)),
]


@pytest.mark.parametrize("n,k,s,d,pads", TF_SAME)
def test_tf_same_table(n, k, s, d, pads):
    p = padding_for(n, k, stride=s, dilation=d, scheme="same-tf")
    assert (p.before, p.after) == pads
    assert p.out == -(-n // s)


def test_conventions_examples():
    assert padding_for(224, 7, 2).as_tuple() == (2, 3)
    assert padding_for(224, 3, 2).as_tuple() == (0, 1)
    assert padding_for(225, 3, 2).as_tuple() == (1, 1)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_same_torch_matches_torch(k, d):
    x = torch.randn(1, 1, 11, dtype=torch.float64)
    w = torch.randn(1, 1, k, dtype=torch.float64)
    p = padding_for(11, k, dilation=d, scheme="same-torch")
    torch.testing.assert_close(F.conv1d(x, w, padding="same", dilation=d),
                               F.conv1d(F.pad(x, (p.before, p.after)), w, dilation=d))
    assert p.out == 11


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7, 8])
def test_same_scipy_matches_scipy(k):
    x, w = np.random.default_rng(k).standard_normal(13), np.random.default_rng(k + 1).standard_normal(k)
    p = padding_for(13, k, scheme="same-scipy")
    np.testing.assert_allclose(ss.correlate(x, w, "same"), correlate(x, w, pad=(p.before, p.after)), atol=1e-12)
    assert p.out == 13


def test_valid_and_full():
    assert padding_for(10, 3, scheme="valid").as_tuple() == (0, 0)
    assert padding_for(10, 3, scheme="valid").out == 8
    assert padding_for(10, 3, stride=3, scheme="valid").out == 3
    assert padding_for(10, 3, dilation=2, scheme="full").as_tuple() == (4, 4)
    assert padding_for(10, 3, dilation=2, scheme="full").out == 14
    assert padding_for(2, 5, scheme="valid").out == 0  # no window fits


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), st.integers(1, 12), st.integers(1, 5), st.integers(1, 4))
def test_property_same_tf(n, k, s, d):
    p = padding_for(n, k, stride=s, dilation=d)
    assert p.out == -(-n // s)
    assert 0 <= p.after - p.before <= 1
    assert p.total <= (k - 1) * d
    # the last window ends inside the padded input, and no output would be gained by one more stride
    assert (p.out - 1) * s + p.extent <= n + p.total
    if s == 1:
        assert p.as_tuple() == padding_for(n, k, dilation=d, scheme="same-torch").as_tuple()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(1, 9), st.integers(1, 4), st.integers(1, 3))
def test_property_same_tf_matches_torch_shape_with_explicit_pad(n, k, s, d):
    p = padding_for(n, k, stride=s, dilation=d)
    x = torch.zeros(1, 1, n)
    y = F.conv1d(F.pad(x, (p.before, p.after)), torch.zeros(1, 1, k), stride=s, dilation=d)
    assert y.shape[-1] == p.out


def test_explain_text():
    text = padding_for(224, 7, 2).explain()
    assert "out = ceil(n / s) = ceil(224 / 2) = 112" in text
    assert "max(111 * 2 + 7 - 224, 0) = 5" in text
    assert "before = total // 2 = 2, after = total - before = 3 (the odd sample goes at the end)" in text
    assert str(padding_for(224, 7, 2)) == text
    assert "dilated kernel extent K = (k - 1) * d + 1 = (3 - 1) * 2 + 1 = 5" in padding_for(9, 3, dilation=2).explain()
    assert "odd sample goes at the start" in padding_for(9, 4, scheme="same-scipy").explain()
    assert "out = 0" in padding_for(2, 5, scheme="valid").explain()
    assert "K - 1 = 2 on each side" in padding_for(9, 3, scheme="full").explain()


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=0, k=3), "n must be a positive integer"),
    (dict(n=5, k=0), "k must be a positive integer"),
    (dict(n=5, k=3, stride=0), "stride must be a positive integer"),
    (dict(n=5, k=3, dilation=-1), "dilation must be a positive integer"),
    (dict(n=5.5, k=3), "n must be a positive integer"),
    (dict(n=5, k=3, scheme="SAME"), "scheme must be one of"),
    (dict(n=5, k=3, stride=2, scheme="same-torch"), "same-torch.*stride 1 only.*use scheme='same-tf'"),
    (dict(n=5, k=3, stride=2, scheme="same-scipy"), "same-scipy.*stride 1 only"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        padding_for(**kwargs)


def test_doctests():
    result = doctest.testmod(padding_mod)
    assert result.failed == 0 and result.attempted >= 5
