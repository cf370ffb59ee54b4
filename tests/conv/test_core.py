"""freqlens.conv.convolve / correlate against numpy, scipy.signal, scipy.ndimage, torch and OpenCV."""

from __future__ import annotations

import doctest
import itertools
import time

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import freqlens.conv.core as core
from freqlens.conv import convolve, correlate

METHODS = ("auto", "direct", "fft", "overlap-add")
BOUNDARIES = ("zero", "constant", "reflect", "symmetric", "edge", "wrap")
NDIMAGE = {"zero": "constant", "constant": "constant", "reflect": "mirror", "symmetric": "reflect",
           "edge": "nearest", "wrap": "wrap"}
CV2 = {"zero": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101, "symmetric": cv2.BORDER_REFLECT,
       "edge": cv2.BORDER_REPLICATE}
NUMPY_PAD = {"zero": "constant", "constant": "constant", "reflect": "reflect", "symmetric": "symmetric",
             "edge": "edge", "wrap": "wrap"}


def naive_correlate(x, k, pads, stride, dilation, boundary, cval=0.0):
    """Independent reference: pad with numpy.pad, then loop over output positions."""
    kw = {"constant_values": cval if boundary == "constant" else 0} if boundary in ("zero", "constant") else {}
    xp = np.pad(x, pads, mode=NUMPY_PAD[boundary], **kw)
    ext = [(n - 1) * d + 1 for n, d in zip(k.shape, dilation)]
    out_shape = [(p - e) // s + 1 for p, e, s in zip(xp.shape, ext, stride)]
    out = np.zeros(out_shape, dtype=np.result_type(x, k, np.float64))
    for idx in np.ndindex(*out_shape):
        sl = tuple(slice(i * s, i * s + e, d) for i, s, e, d in zip(idx, stride, ext, dilation))
        out[idx] = np.sum(xp[sl] * k)
    return out


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-4) if np.dtype(dtype) in (np.float32, np.complex64) else dict(rtol=1e-9, atol=1e-9)


def as_np(y):
    return y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y


rng = np.random.default_rng(12345)


# ---------------------------------------------------------------------------------------------------------------
# scipy.signal / numpy: zero boundary, the three modes, 1-D to 3-D, every engine


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("xs,ks", [((17,), (4,)), ((16,), (5,)), ((9, 11), (3, 4)), ((8, 7), (5, 2)),
                                   ((6, 5, 7), (3, 2, 3)), ((5, 6, 4), (2, 3, 1))])
def test_matches_scipy_signal(xs, ks, mode, method):
    x, k = rng.standard_normal(xs), rng.standard_normal(ks)
    # scipy's 'same' puts the odd pad sample of an even kernel first: same_pad='start'.
    np.testing.assert_allclose(convolve(x, k, mode=mode, method=method, same_pad="start"),
                               ss.convolve(x, k, mode), **tol(np.float64))
    np.testing.assert_allclose(correlate(x, k, mode=mode, method=method, same_pad="start"),
                               ss.correlate(x, k, mode), **tol(np.float64))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("n,m", [(10, 3), (10, 4), (7, 7), (1, 1), (64, 13)])
def test_matches_numpy_convolve(n, m, mode):
    a, v = rng.standard_normal(n), rng.standard_normal(m)
    np.testing.assert_allclose(convolve(a, v, mode=mode, same_pad="start"), np.convolve(a, v, mode), atol=1e-12)
    np.testing.assert_allclose(correlate(a, v, mode=mode, same_pad="start"), np.correlate(a, v, mode), atol=1e-12)


def test_full_mode_is_default_and_commutative():
    a, b = rng.standard_normal(9), rng.standard_normal(4)
    np.testing.assert_allclose(convolve(a, b), convolve(b, a), atol=1e-12)
    assert convolve(a, b).shape == (12,)


def test_flip_relation():
    x, k = rng.standard_normal((7, 8)), rng.standard_normal((3, 2))
    for mode in ("full", "same", "valid"):
        np.testing.assert_allclose(convolve(x, k, mode=mode), correlate(x, k[::-1, ::-1], mode=mode), atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# scipy.ndimage: every boundary; correlate = same_pad 'start', convolve = same_pad 'end'


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("xs,ks", [((13,), (4,)), ((9, 10), (3, 3)), ((8, 9), (4, 2)), ((5, 6, 7), (3, 2, 3))])
def test_matches_ndimage(xs, ks, boundary, method):
    x, k = rng.standard_normal(xs), rng.standard_normal(ks)
    cval = 0.75 if boundary == "constant" else 0.0
    np.testing.assert_allclose(
        correlate(x, k, mode="same", boundary=boundary, cval=cval, same_pad="start", method=method),
        ndi.correlate(x, k, mode=NDIMAGE[boundary], cval=cval), **tol(np.float64))
    np.testing.assert_allclose(
        convolve(x, k, mode="same", boundary=boundary, cval=cval, same_pad="end", method=method),
        ndi.convolve(x, k, mode=NDIMAGE[boundary], cval=cval), **tol(np.float64))


@pytest.mark.parametrize("boundary,scipy_name", [("zero", "fill"), ("symmetric", "symm"), ("wrap", "wrap")])
def test_matches_convolve2d_boundaries(boundary, scipy_name):
    x, k = rng.standard_normal((12, 10)), rng.standard_normal((3, 4))
    for mode in ("same", "full"):
        np.testing.assert_allclose(convolve(x, k, mode=mode, boundary=boundary, same_pad="start"),
                                   ss.convolve2d(x, k, mode=mode, boundary=scipy_name), atol=1e-12)


def test_boundary_illustrations():
    x = np.arange(1.0, 5.0)
    pick = np.array([1.0, 0, 0, 0, 0])  # correlating with this reads xp[i]: the first four padded samples
    expected = {"zero": [0, 0, 1, 2], "constant": [9, 9, 1, 2], "reflect": [3, 2, 1, 2],
                "symmetric": [2, 1, 1, 2], "edge": [1, 1, 1, 2], "wrap": [3, 4, 1, 2]}
    for boundary, want in expected.items():
        got = correlate(x, pick, mode="same", boundary=boundary, cval=9)
        np.testing.assert_array_equal(got, want, err_msg=boundary)


# ---------------------------------------------------------------------------------------------------------------
# OpenCV filter2D (a correlation; its default border is REFLECT_101 = freqlens 'reflect')


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("boundary", ["zero", "reflect", "symmetric", "edge"])
@pytest.mark.parametrize("k", [3, 5, 9, 15])
def test_matches_opencv(k, boundary, dtype):
    x = rng.random((40, 37)).astype(dtype)
    w = rng.standard_normal((k, k)).astype(dtype)
    ref = cv2.filter2D(x, -1, w, borderType=CV2[boundary])
    got = correlate(x, w, mode="same", boundary=boundary)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 if dtype == np.float32 else 1e-9)
    # True convolution in OpenCV: flip the kernel and move the anchor (CONVENTIONS.md).
    flipped = np.ascontiguousarray(w[::-1, ::-1])
    anchor = (k - 1 - k // 2, k - 1 - k // 2)
    ref_conv = cv2.filter2D(x, -1, flipped, anchor=anchor, borderType=CV2[boundary])
    np.testing.assert_allclose(convolve(x, w, mode="same", boundary=boundary), ref_conv, rtol=1e-4,
                               atol=1e-4 if dtype == np.float32 else 1e-9)


def test_auto_uses_opencv_for_2d_float_images(monkeypatch):
    calls = []
    real = cv2.filter2D
    monkeypatch.setattr(cv2, "filter2D", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    convolve(rng.random((64, 64)).astype(np.float32), np.ones((5, 5), np.float32), mode="same")
    assert calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("n,k", [(5000, 1), (5000, 7), (5000, 300), (777, 700), (40, 60)])
def test_overlap_add_in_batches(monkeypatch, n, k, dtype):
    """The 1-D overlap-add engine: many blocks, several batches, any axis, real and complex, full and valid."""
    monkeypatch.setattr(core, "_OA_BATCH_SAMPLES", 4096)
    r = np.random.default_rng(n + k)
    x = r.standard_normal((3, n)).astype(dtype)
    w = r.standard_normal(k).astype(dtype)
    if np.iscomplexobj(x):
        x = x + 1j * r.standard_normal((3, n))
    for axis in (1, 0):
        xa = x if axis == 1 else np.ascontiguousarray(x.T)
        for mode in ("full", "valid", "same"):
            if mode == "valid" and k > n:
                continue
            ref = ss.fftconvolve(xa, np.expand_dims(w, 1 - axis), mode=mode, axes=axis)
            got = convolve(xa, w, mode=mode, axes=axis, method="overlap-add", same_pad="start")
            assert got.dtype == dtype
            np.testing.assert_allclose(got, ref, **{k_: 50 * v for k_, v in tol(dtype).items()})


def test_engine_choice():
    def plan(xs, ks, mode="same"):
        return core._make_plan(xs, ks, mode=mode, stride=1, dilation=1, pad=None, same_pad="end", axes=None,
                               boundary="zero", method="auto")

    assert core._numpy_engine(plan((2048, 2048), (101, 101)), np.dtype(np.float32), "auto") == "cv2"
    assert core._numpy_engine(plan((2048, 2048), (3, 3)), np.dtype(np.float64), "auto") == "cv2"
    assert core._numpy_engine(plan((100_000,), (5,)), np.dtype(np.float64), "auto") == "ndimage"
    assert core._numpy_engine(plan((1_000_000,), (20_000,), "full"), np.dtype(np.float64), "auto") == "oa"
    assert core._numpy_engine(plan((3000,), (2500,), "full"), np.dtype(np.float64), "auto") in ("fft", "oa")
    assert core._numpy_engine(plan((64, 64, 64), (3, 3, 3)), np.dtype(np.float64), "auto") == "ndimage"
    assert core._numpy_engine(plan((64, 64, 64), (7, 7, 7)), np.dtype(np.float64), "auto") == "fft"
    assert core._numpy_engine(plan((28_800_000,), (144_000,), "full"), np.dtype(np.float64), "auto") == "oa"
    assert core._numpy_engine(plan((64, 64), (3, 3)), np.dtype(np.complex128), "auto") == "ndimage"
    assert core._numpy_engine(plan((64, 64), (9, 9)), np.dtype(np.float64), "direct") == "ndimage"  # area >= 50


# ---------------------------------------------------------------------------------------------------------------
# torch conv (a correlation; padding='same' puts the extra pad at the end = same_pad 'end')


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("dilation", [1, 2])
def test_matches_torch_same(nd, k, dilation):
    x = torch.randn((1, 1) + (9,) * nd, dtype=torch.float64)
    w = torch.randn((1, 1) + (k,) * nd, dtype=torch.float64)
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    ref = conv(x, w, padding="same", dilation=dilation)[0, 0]
    for xin in (x[0, 0], x[0, 0].clone().requires_grad_(True)):  # numpy engines, torch engines
        got = correlate(xin, w[0, 0], mode="same", dilation=dilation)
        torch.testing.assert_close(got.detach(), ref)


@pytest.mark.parametrize("stride,dilation,pad", [(2, 1, 1), (3, 2, 2), ((2, 1), (1, 3), 0), (1, 1, 3)])
def test_matches_torch_strided(stride, dilation, pad):
    x = torch.randn(1, 1, 15, 13, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 4, dtype=torch.float64)
    ref = F.conv2d(x, w, stride=stride, dilation=dilation, padding=pad)[0, 0]
    for xin in (x[0, 0], x[0, 0].clone().requires_grad_(True)):
        for method in METHODS:
            got = correlate(xin, w[0, 0], pad=pad, stride=stride, dilation=dilation, method=method)
            torch.testing.assert_close(got.detach(), ref)


@pytest.mark.parametrize("boundary,torch_mode", [("reflect", "reflect"), ("edge", "replicate"), ("wrap", "circular")])
def test_matches_torch_padding_modes(boundary, torch_mode):
    x = torch.randn(1, 1, 10, 9, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    layer = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode=torch_mode, bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(w)
        ref = layer(x)
    torch.testing.assert_close(correlate(x[0, 0], w[0, 0], mode="same", boundary=boundary), ref[0, 0])


# ---------------------------------------------------------------------------------------------------------------
# property tests: random shapes, strides, dilations, boundaries, pads, dtypes; every engine agrees with the naive
# reference, numpy and torch (both torch routes) alike


@st.composite
def cases(draw):
    nd = draw(st.integers(1, 3))
    xs = tuple(draw(st.integers(1, 9 if nd < 3 else 5)) for _ in range(nd))
    ks = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    boundary = draw(st.sampled_from(BOUNDARIES))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32]))
    how = draw(st.sampled_from(["full", "same", "valid", "pad"]))
    pads = tuple((draw(st.integers(0, 6)), draw(st.integers(0, 6))) for _ in range(nd)) if how == "pad" else None
    same_pad = draw(st.sampled_from(["end", "start"]))
    flip = draw(st.booleans())
    seed = draw(st.integers(0, 2**31))
    return nd, xs, ks, stride, dilation, boundary, dtype, how, pads, same_pad, flip, seed


def _expected_pads(xs, ks, stride, dilation, how, pads, same_pad):
    ext = [(k - 1) * d + 1 for k, d in zip(ks, dilation)]
    if how == "pad":
        return pads
    if how == "full":
        return tuple((e - 1, e - 1) for e in ext)
    if how == "valid":
        return ((0, 0),) * len(xs)
    out = []
    for n, e, s in zip(xs, ext, stride):  # TensorFlow's SAME formula, written out independently
        o = -(-n // s)
        total = max((o - 1) * s + e - n, 0)
        out.append((total // 2, total - total // 2) if same_pad == "end" else (total - total // 2, total // 2))
    return tuple(out)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_property_all_engines_match_naive(case):
    nd, xs, ks, stride, dilation, boundary, dtype, how, pads, same_pad, flip, seed = case
    r = np.random.default_rng(seed)
    x = (r.standard_normal(xs) * 4).astype(dtype)
    k = (r.standard_normal(ks) * 4).astype(dtype)
    exp_pads = _expected_pads(xs, ks, stride, dilation, how, pads, same_pad)
    ext = [(kk - 1) * d + 1 for kk, d in zip(ks, dilation)]
    kw = dict(stride=stride, dilation=dilation, boundary=boundary, cval=0.5, same_pad=same_pad)
    kw.update(pad=pads) if how == "pad" else kw.update(mode=how)
    op = convolve if flip else correlate
    if any(n + b + e < K for n, (b, e), K in zip(xs, exp_pads, ext)):
        with pytest.raises(ValueError, match="no window fits"):
            op(x, k, **kw)
        return
    kk = np.flip(k) if flip else k
    ref = naive_correlate(x.astype(np.float64), kk.astype(np.float64), exp_pads, stride, dilation, boundary, 0.5)
    want_dtype = np.float64 if dtype == np.int32 else dtype
    for method in METHODS:
        for xin in (x, torch.from_numpy(x), torch.from_numpy(x.astype(want_dtype)).requires_grad_(True)):
            got = op(xin, torch.from_numpy(k) if isinstance(xin, torch.Tensor) else k, method=method, **kw)
            assert type(got) is type(xin)
            got = as_np(got)
            assert got.dtype == want_dtype, (method, got.dtype)
            np.testing.assert_allclose(got, ref, rtol=tol(want_dtype)["rtol"],
                                       atol=tol(want_dtype)["atol"] * max(1.0, np.abs(ref).max()) * 10)


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 30), st.integers(1, 6), st.integers(1, 4), st.sampled_from(["full", "valid"]))
def test_property_stride_is_subsampling(n, k, s, mode):
    """For 'full' and 'valid' (pads independent of the stride) striding keeps every s-th output."""
    r = np.random.default_rng(n * 100 + k)
    x, w = r.standard_normal(n), r.standard_normal(k)
    if mode == "valid" and k > n:
        return
    np.testing.assert_allclose(convolve(x, w, mode=mode, stride=s), convolve(x, w, mode=mode)[::s], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_property_dilation_is_zero_insertion(k0, k1, d):
    r = np.random.default_rng(k0 * 10 + k1)
    x, w = r.standard_normal((12, 11)), r.standard_normal((k0, k1))
    wd = np.zeros(((k0 - 1) * d + 1, (k1 - 1) * d + 1))
    wd[::d, ::d] = w
    for mode in ("full", "same", "valid"):
        if mode == "valid" and (wd.shape[0] > 12 or wd.shape[1] > 11):
            continue
        np.testing.assert_allclose(correlate(x, w, mode=mode, dilation=d), correlate(x, wd, mode=mode), atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# analytic cases


def test_impulse_response_is_the_kernel():
    k = rng.standard_normal((3, 5))
    x = np.zeros((9, 11))
    x[4, 5] = 1
    np.testing.assert_allclose(convolve(x, k, mode="same")[3:6, 3:8], k, atol=1e-15)
    np.testing.assert_allclose(correlate(x, k, mode="same")[3:6, 3:8], k[::-1, ::-1], atol=1e-15)


@pytest.mark.parametrize("boundary", ["reflect", "symmetric", "edge", "wrap"])
def test_sobel_of_constant_is_zero(boundary):
    sobel = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    img = np.full((20, 30), 0.7)
    np.testing.assert_allclose(convolve(img, sobel, mode="same", boundary=boundary), 0, atol=1e-12)
    ramp = np.tile(np.arange(30.0), (20, 1))  # brightens to the right: slope 1 per column
    np.testing.assert_allclose(correlate(ramp, sobel, mode="valid"), -8.0, atol=1e-12)
    np.testing.assert_allclose(convolve(ramp, sobel, mode="valid"), 8.0, atol=1e-12)


def test_box_blur_keeps_a_constant_and_the_mean():
    img = np.full((16, 16), 3.0)
    box = np.full((5, 5), 1 / 25)
    np.testing.assert_allclose(convolve(img, box, mode="same", boundary="edge"), 3.0, atol=1e-12)
    noisy = rng.random((32, 32))
    np.testing.assert_allclose(convolve(noisy, box, mode="same", boundary="wrap").mean(), noisy.mean(), rtol=1e-12)


def test_gaussian_is_separable_and_spreads_variances():
    g = np.exp(-0.5 * (np.arange(-6, 7) / 1.5) ** 2)
    g /= g.sum()
    x = rng.standard_normal((40, 40))
    two_d = convolve(x, np.outer(g, g), mode="same", boundary="reflect")
    rows_then_cols = convolve(convolve(x, g[:, None], mode="same", boundary="reflect"), g[None, :], mode="same",
                              boundary="reflect")
    np.testing.assert_allclose(two_d, rows_then_cols, atol=1e-12)
    # Gaussian * Gaussian = Gaussian with the variances added (sampled, so up to discretisation).
    gg = convolve(g, g)
    t = np.arange(gg.size) - gg.size // 2
    assert abs(np.sum(gg * t**2) - 2 * 1.5**2) < 1e-3


def test_convolution_theorem_circular_and_linear():
    x, k = rng.standard_normal(32), rng.standard_normal(32)
    circular = np.real(np.fft.ifft(np.fft.fft(x) * np.fft.fft(k)))
    # wrap boundary with pads (K - 1, 0) = circular convolution
    np.testing.assert_allclose(convolve(x, k, pad=(31, 0), boundary="wrap"), circular, atol=1e-10)
    n = 32 + 32 - 1
    linear = np.real(np.fft.ifft(np.fft.fft(x, n) * np.fft.fft(k, n)))
    for method in METHODS:
        np.testing.assert_allclose(convolve(x, k, method=method), linear, atol=1e-10)


def test_linearity_associativity_shift():
    x, a, b = rng.standard_normal(30), rng.standard_normal(4), rng.standard_normal(6)
    np.testing.assert_allclose(convolve(convolve(x, a), b), convolve(x, convolve(a, b)), atol=1e-10)
    np.testing.assert_allclose(convolve(2 * x + 1, a), 2 * convolve(x, a) + convolve(np.ones(30), a), atol=1e-10)
    shifted = np.roll(x, 3)
    np.testing.assert_allclose(convolve(shifted, a, mode="same", boundary="wrap"),
                               np.roll(convolve(x, a, mode="same", boundary="wrap"), 3), atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# dtypes, types, devices, axes


@pytest.mark.parametrize("dtype,want", [(np.int8, np.float64), (np.uint8, np.float64), (np.int64, np.float64),
                                        (np.bool_, np.float64), (np.float16, np.float32), (np.float32, np.float32),
                                        (np.float64, np.float64), (np.complex64, np.complex64),
                                        (np.complex128, np.complex128)])
def test_output_dtypes(dtype, want):
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    k = np.ones((2, 2), dtype=np.float32)
    got = convolve(x, k)
    assert got.dtype == want
    np.testing.assert_allclose(got, ss.convolve(x.astype(np.complex128 if np.iscomplexobj(x) else float), k),
                               rtol=1e-3)
    t = convolve(torch.from_numpy(x), torch.from_numpy(k))
    assert t.dtype == torch.from_numpy(np.zeros(1, want)).dtype


def test_integers_do_not_overflow():
    x = np.full(5, 200, dtype=np.uint8)
    np.testing.assert_array_equal(convolve(x, np.full(3, 200, dtype=np.uint8), mode="valid"), [120000.0] * 3)


def test_mixed_precision_promotes_like_numpy():
    assert convolve(np.ones(5, np.float32), np.ones(2, np.float64)).dtype == np.float64


def test_complex_correlate_does_not_conjugate():
    x = rng.standard_normal(12) + 1j * rng.standard_normal(12)
    k = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    for method in METHODS:
        np.testing.assert_allclose(correlate(x, k, mode="valid", method=method),
                                   ss.correlate(x, np.conj(k), mode="valid"), atol=1e-12)
        np.testing.assert_allclose(convolve(x, k, method=method), ss.convolve(x, k), atol=1e-12)


def test_tiny_kernels_are_not_dropped():
    """scipy.ndimage ignores weights below DBL_EPSILON; freqlens rescales so a 1e-20 kernel still works."""
    x = rng.standard_normal((6, 7))
    k = rng.standard_normal((3, 3))
    np.testing.assert_allclose(correlate(x, k * 1e-20, mode="same", method="direct") * 1e20,
                               correlate(x, k, mode="same", method="direct"), rtol=1e-12)
    np.testing.assert_allclose(correlate(x[0], k[0] * 1e-20, mode="same", method="direct") * 1e20,
                               correlate(x[0], k[0], mode="same"), rtol=1e-12)


def test_torch_in_torch_out_same_device_and_grad():
    x = torch.randn(10, 12, dtype=torch.float64, requires_grad=True)
    k = torch.randn(3, 3, dtype=torch.float64)
    y = convolve(x, k, mode="same", boundary="reflect")
    assert isinstance(y, torch.Tensor) and y.device == x.device and y.requires_grad
    y.sum().backward()
    # d/dx sum(correlate(x, w)) at interior pixels = sum of the weights
    torch.testing.assert_close(x.grad[3:-3, 3:-3], torch.full((4, 6), float(k.sum()), dtype=torch.float64))
    assert torch.autograd.gradcheck(lambda t: correlate(t, k[:2], mode="same", boundary="symmetric", stride=2),
                                    (torch.randn(6, 7, dtype=torch.float64, requires_grad=True),))
    assert torch.autograd.gradcheck(lambda t: convolve(t, k, method="fft", boundary="wrap", mode="same"),
                                    (torch.randn(5, 6, dtype=torch.float64, requires_grad=True),))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_stay_on_the_gpu():
    x = torch.randn(32, 32, device="cuda")
    k = torch.randn(5, 5, device="cuda")
    for method in METHODS:
        y = convolve(x, k, mode="same", boundary="reflect", method=method)
        assert y.device == x.device
        np.testing.assert_allclose(y.cpu().numpy(), convolve(x.cpu().numpy(), k.cpu().numpy(), mode="same",
                                                             boundary="reflect"), rtol=1e-4, atol=1e-4)


def test_axes_channels_and_order():
    img = rng.random((20, 18, 3)).astype(np.float32)
    k = rng.standard_normal((3, 5)).astype(np.float32)
    got = convolve(img, k, mode="same", boundary="reflect", axes=(0, 1))
    for c in range(3):
        np.testing.assert_allclose(got[..., c], convolve(img[..., c], k, mode="same", boundary="reflect"),
                                   atol=1e-5)
    np.testing.assert_allclose(convolve(img, k.T, mode="same", boundary="reflect", axes=(1, 0)), got, atol=1e-5)
    np.testing.assert_allclose(convolve(img, k, mode="same", boundary="reflect", axes=(-3, -2)), got, atol=1e-5)
    chw = np.moveaxis(img, 2, 0)
    np.testing.assert_allclose(convolve(chw, k, mode="valid", axes=(1, 2), stride=2),
                               np.moveaxis(convolve(img, k, mode="valid", axes=(0, 1), stride=2), 2, 0), atol=1e-5)
    x1 = rng.standard_normal((4, 50))
    np.testing.assert_allclose(convolve(x1, [1.0, 2.0, 1.0], axes=1, mode="same", method="fft"),
                               ss.convolve(x1, [[1.0, 2.0, 1.0]], mode="same"), atol=1e-12)


def test_many_channels_through_opencv():
    stack = rng.random((6, 7, 300))  # OpenCV 5 holds at most 128 channels per image
    k = rng.standard_normal((3, 3))
    got = correlate(stack, k, mode="same", boundary="edge", axes=(0, 1))
    np.testing.assert_allclose(got[..., 299], correlate(stack[..., 299], k, mode="same", boundary="edge"), atol=1e-12)


def test_kernel_larger_than_input():
    x, k = rng.standard_normal((4, 5)), rng.standard_normal((7, 3))
    for method in METHODS:  # same and full still work, with every boundary
        for boundary in BOUNDARIES:
            np.testing.assert_allclose(
                correlate(x, k, mode="same", boundary=boundary, method=method),
                naive_correlate(x, k, ((3, 3), (1, 1)), (1, 1), (1, 1), boundary), atol=1e-10)
    with pytest.raises(ValueError, match=r"kernel extent 7 along axis 0 is larger than the input length 4"):
        correlate(x, k, mode="valid")


# ---------------------------------------------------------------------------------------------------------------
# NaN and inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k", [((64, 64), 3), ((64, 64), 7), ((64, 64), 8), ((64, 64), 11), ((64, 64), 12),
                                     ((64, 64), 21), ((3000,), 400), ((20, 20, 20), 5)])
def test_nan_stays_local_with_auto(shape, k, dtype):
    """Around OpenCV's switch to its DFT (kernel area 50 for float64, 130 for float32) and for the FFT engines."""
    x = rng.random(shape).astype(dtype)
    centre = tuple(n // 2 for n in shape)
    x[centre] = np.nan
    w = rng.random((k,) * len(shape)).astype(dtype) + 0.1  # all weights non-zero
    y = convolve(x, w, mode="same")
    expected = np.zeros(shape, bool)
    # convolve, same_pad 'end': output i reads x[i - K//2 .. i + (K-1)//2] (the flipped kernel padded (K-1)//2 first)
    expected[tuple(slice(c - k // 2, c + (k - 1) // 2 + 1) for c in centre)] = True
    np.testing.assert_array_equal(np.isnan(y), expected)
    ty = convolve(torch.from_numpy(x).requires_grad_(True), torch.from_numpy(w), mode="same")
    np.testing.assert_array_equal(np.isnan(ty.detach().numpy()), expected)


def test_inf_propagates_and_explicit_fft_spreads_nan():
    x = np.ones(20)
    x[5] = np.inf
    y = convolve(x, [1.0, 1.0, 1.0], mode="same")
    assert np.isinf(y[4:7]).all() and np.isfinite(np.delete(y, [4, 5, 6])).all()
    x[5] = np.nan
    assert np.isnan(convolve(x, np.ones(3), mode="same", method="fft")).all()  # documented: FFTs spread NaN


# ---------------------------------------------------------------------------------------------------------------
# bad input: one clear ValueError naming the argument


@pytest.mark.parametrize("kwargs,match", [
    (dict(stride=0), "stride must be a positive integer"),
    (dict(stride=-2), "stride must be a positive integer"),
    (dict(stride=1.5), "stride must be a positive integer"),
    (dict(stride=True), "stride must be a positive integer"),
    (dict(stride=(1, 2, 3)), "stride must be an int or a sequence of 2 ints"),
    (dict(dilation=0), "dilation must be a positive integer"),
    (dict(dilation=(1, -1)), "dilation must be a positive integer"),
    (dict(mode="sam"), "mode must be one of 'full', 'same', 'valid'"),
    (dict(boundary="mirror"), "boundary must be one of"),
    (dict(method="winograd"), "method must be one of"),
    (dict(same_pad="middle"), "same_pad must be 'end'"),
    (dict(pad=-1), "pad must contain non-negative integers"),
    (dict(pad=((1, 1), (1, 1), (1, 1))), "pad must be an int, a \\(before, after\\) pair"),
    (dict(pad=2, mode="same"), "pad= gives the padding explicitly and conflicts with mode='same'"),
    (dict(axes=(0, 0)), "axes must not repeat"),
    (dict(axes=(0, 5)), "axes \\(0, 5\\) out of range"),
    (dict(axes=(0,)), "kernel has 2 dimension\\(s\\) but axes=\\(0,\\) names 1"),
    (dict(cval="x"), "cval must be a number"),
])
def test_bad_arguments(kwargs, match):
    x, k = np.ones((5, 5)), np.ones((2, 2))
    with pytest.raises(ValueError, match=match):
        convolve(x, k, **kwargs)
    with pytest.raises(ValueError, match=match):
        correlate(torch.ones(5, 5, requires_grad=True), torch.ones(2, 2), **kwargs)


@pytest.mark.parametrize("x,k,match", [
    (np.ones((4, 4)), np.ones(3), "kernel has 1 dimension\\(s\\) but x has 2"),
    (np.ones((0, 4)), np.ones((2, 2)), "x is empty"),
    (np.ones((4, 4)), np.ones((0, 2)), "kernel is empty"),
    (np.array(["a", "b"]), np.ones(2), "x must have a numeric dtype"),
    (np.ones(3), np.array([object(), object()]), "kernel must have a numeric dtype"),
    (np.array(3.0), np.ones(1), "x must have at least one dimension"),
    (np.ones(3), np.array(2.0), "kernel must have at least one dimension"),
    (np.ones(3), [[1, 2], [3]], "kernel must be an array of numbers"),
    (np.ones(3, dtype="datetime64[s]"), np.ones(1), "x must have a numeric dtype"),
])
def test_bad_arrays(x, k, match):
    with pytest.raises(ValueError, match=match):
        convolve(x, k)


def test_refuses_requests_larger_than_memory_before_allocating():
    huge = np.broadcast_to(np.float32(0), (300_000, 300_000))  # a view: 360 GB if materialised
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"convolve would need about .* GiB .* but only .* is available"):
        convolve(huge, np.ones((3, 3), np.float32), mode="same")
    with pytest.raises(ValueError, match=r"correlate would need about"):
        correlate(np.ones(10), np.ones(3), pad=(10**12, 0))
    with pytest.raises(ValueError, match=r"would need about"):
        correlate(torch.ones(10, requires_grad=True), torch.ones(3), pad=(10**12, 0))
    assert time.perf_counter() - t0 < 2.0


def test_available_memory_is_plausible():
    assert 1 << 20 < core.available_memory() < 1 << 50


def test_doctests():
    for module in (core,):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 5


def test_every_method_boundary_combination_runs_3d():
    x, k = rng.standard_normal((5, 6, 4)), rng.standard_normal((2, 3, 2))
    ref = naive_correlate(x, k, ((0, 1), (1, 1), (0, 1)), (1, 1, 1), (1, 1, 1), "symmetric")
    for method, boundary in itertools.product(METHODS, ["symmetric"]):
        np.testing.assert_allclose(correlate(x, k, mode="same", boundary=boundary, method=method), ref, atol=1e-10)
