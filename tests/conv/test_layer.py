"""freqlens.conv.conv_layer: identical to torch conv1d/2d/3d; TensorFlow SAME where torch has no name for it."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import freqlens.conv.layer as layer_mod
from freqlens.conv import conv_layer, correlate, padding_for

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@st.composite
def layer_cases(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 3]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    n = tuple(draw(st.integers(4, 9 if nd < 3 else 6)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = draw(st.one_of(st.just("valid"), st.integers(0, 2), st.tuples(*[st.integers(0, 2)] * nd)))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    return nd, groups, c_in, c_out, n, k, stride, dilation, padding, bias, seed


@settings(max_examples=80, deadline=None)
@given(layer_cases())
def test_property_identical_to_torch(case):
    nd, groups, c_in, c_out, n, k, stride, dilation, padding, bias, seed = case
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, c_in, *n, generator=g, dtype=torch.float64)
    w = torch.randn(c_out, c_in // groups, *k, generator=g, dtype=torch.float64)
    b = torch.randn(c_out, generator=g, dtype=torch.float64) if bias else None
    try:
        ref = CONV[nd](x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    except RuntimeError:  # kernel larger than the padded input: we must refuse too
        with pytest.raises(ValueError, match="no window fits"):
            conv_layer(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        return
    got = conv_layer(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert isinstance(got, torch.Tensor)
    torch.testing.assert_close(got, ref, rtol=0, atol=0)
    got_np = conv_layer(x.numpy(), w.numpy(), None if b is None else b.numpy(), stride=stride, padding=padding,
                        dilation=dilation, groups=groups)
    assert isinstance(got_np, np.ndarray) and got_np.dtype == np.float64
    np.testing.assert_allclose(got_np, ref.numpy(), rtol=0, atol=0)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_torch_identical_to_torch_same(nd, k, dilation):
    x = torch.randn(2, 3, *(7,) * nd, dtype=torch.float64)
    w = torch.randn(4, 3, *(k,) * nd, dtype=torch.float64)
    torch.testing.assert_close(conv_layer(x, w, padding="same-torch", dilation=dilation),
                               CONV[nd](x, w, padding="same", dilation=dilation), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n,k,s,d", [(224, 7, 2, 1), (224, 3, 2, 1), (225, 3, 2, 1), (9, 4, 3, 1), (10, 3, 2, 2)])
def test_same_tf_strided(n, k, s, d):
    x = torch.randn(1, 2, n, 12, dtype=torch.float64)
    w = torch.randn(3, 2, k, 3, dtype=torch.float64)
    y = conv_layer(x, w, padding="same-tf", stride=(s, 1), dilation=(d, 1))
    p0 = padding_for(n, k, stride=s, dilation=d)
    p1 = padding_for(12, 3)
    assert y.shape == (1, 3, -(-n // s), 12)
    ref = F.conv2d(F.pad(x, (p1.before, p1.after, p0.before, p0.after)), w, stride=(s, 1), dilation=(d, 1))
    torch.testing.assert_close(y, ref)
    # independently: per output channel, the sum over input channels of freqlens.correlate (TensorFlow SAME)
    for o in range(3):
        want = sum(correlate(x[0, c].numpy(), w[o, c].numpy(), mode="same", stride=(s, 1), dilation=(d, 1))
                   for c in range(2))
        np.testing.assert_allclose(y[0, o].numpy(), want, atol=1e-10)


def test_depthwise_and_bias():
    x = np.random.default_rng(0).standard_normal((1, 3, 6, 6))
    w = np.random.default_rng(1).standard_normal((3, 1, 3, 3))
    y = conv_layer(x, w, np.array([1.0, 2.0, 3.0]), groups=3, padding=1)
    for c in range(3):
        np.testing.assert_allclose(y[0, c], correlate(x[0, c], w[c, 0], mode="same") + c + 1, atol=1e-12)


def test_dtypes():
    x = np.ones((1, 1, 4), dtype=np.int32)
    assert conv_layer(x, np.ones((1, 1, 2), dtype=np.int64)).dtype == np.float64
    assert conv_layer(x.astype(np.float32), np.ones((1, 1, 2), np.float32)).dtype == np.float32
    assert conv_layer(x.astype(np.float16), np.ones((1, 1, 2), np.float16)).dtype == np.float32
    np.testing.assert_array_equal(conv_layer(np.full((1, 1, 3), 200, np.uint8), np.full((1, 1, 2), 200, np.uint8)),
                                  [[[80000.0, 80000.0]]])


@pytest.mark.parametrize("kwargs,match", [
    (dict(x=np.ones((1, 4, 5, 5)), w=np.ones((2, 3, 3, 3))), "w has 3 input channels per group but x has 4"),
    (dict(x=np.ones((1, 4, 5, 5)), w=np.ones((3, 2, 3, 3)), groups=2), "groups=2 must divide both"),
    (dict(x=np.ones((1, 4, 5, 5)), w=np.ones((2, 4, 3, 3)), bias=np.ones(3)), "bias must have shape \\(2,\\)"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3, 3)), padding="same-torch", stride=2), "same-torch.*stride 1"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3, 3)), padding="same"), "padding must be one of"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3, 3)), padding=-1), "non-negative"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3, 3)), padding=(1, 1, 1)), "padding must be an int, 2 ints"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3, 3)), stride=0), "stride must be a positive integer"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3, 3)), dilation=(1, 0)), "dilation must be a positive"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3, 3)), groups=0), "groups must be a positive"),
    (dict(x=np.ones((1, 1, 2, 5)), w=np.ones((1, 1, 3, 3))), "kernel extent 3 along spatial axis 0.*no window fits"),
    (dict(x=np.ones((5, 5)), w=np.ones((1, 1, 3))), "x must have shape \\(N, C, \\*spatial\\)"),
    (dict(x=np.ones((1, 1, 5, 5)), w=np.ones((1, 1, 3))), "w must have shape \\(O, C/groups, \\*k\\)"),
    (dict(x=np.ones((0, 1, 5)), w=np.ones((1, 1, 3))), "x is empty"),
    (dict(x=np.array([[["a"]]]), w=np.ones((1, 1, 1))), "x must have a numeric dtype"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_layer(**kwargs)


def test_refuses_huge_requests():
    x = torch.zeros(1, 1, 1).expand(100_000, 64, 1)
    with pytest.raises(ValueError, match="conv_layer would need about"):
        conv_layer(x, torch.zeros(1024, 64, 1), padding=100_000)


def test_doctests():
    result = doctest.testmod(layer_mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted >= 2
