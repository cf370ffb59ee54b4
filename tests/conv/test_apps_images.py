"""Image applications: edges, blur, sharpen against OpenCV, scikit-image and closed forms."""

from __future__ import annotations

import doctest

import cv2
import numpy as np
import pytest
import skimage.filters

from freqlens import FreqlensError
from freqlens.conv.apps import images
from freqlens.conv.apps.images import blur, edges, sharpen

RNG = np.random.default_rng(1234)
GRAY = RNG.random((37, 52))
RGB = RNG.random((29, 33, 3))


def test_doctests():
    assert doctest.testmod(images).failed == 0


# --- edges -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("operator,cv_fn,scale", [("sobel", cv2.Sobel, 8.0), ("scharr", cv2.Scharr, 32.0)])
def test_edges_match_opencv_gradients(operator, cv_fn, scale):
    # OpenCV's default border is REFLECT_101 = scipy.ndimage 'mirror'.
    res = edges(GRAY, operator=operator, mode="mirror")
    if cv_fn is cv2.Sobel:
        gx, gy = cv_fn(GRAY, cv2.CV_64F, 1, 0, ksize=3), cv_fn(GRAY, cv2.CV_64F, 0, 1, ksize=3)
    else:
        gx, gy = cv_fn(GRAY, cv2.CV_64F, 1, 0), cv_fn(GRAY, cv2.CV_64F, 0, 1)
    np.testing.assert_allclose(res.magnitude, np.hypot(gx, gy) / scale, atol=1e-12)
    np.testing.assert_allclose(res.direction, np.arctan2(gy, gx), atol=1e-9)


@pytest.mark.parametrize("operator", ["sobel", "prewitt", "scharr"])
def test_edges_match_skimage_per_axis_filters(operator):
    fn = getattr(skimage.filters, operator)
    res = edges(GRAY, operator=operator)  # both default to mode='reflect'
    gy, gx = fn(GRAY, axis=0) / 2, fn(GRAY, axis=1) / 2  # skimage's derivative is x[i+1] - x[i-1]
    np.testing.assert_allclose(res.magnitude, np.hypot(gx, gy), atol=1e-12)


@pytest.mark.parametrize("operator", ["sobel", "prewitt", "scharr"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.float64, bool])
def test_edges_of_constant_image_are_zero(operator, dtype):
    img = np.full((9, 11), 1, dtype=dtype)
    res = edges(img, operator=operator, threshold=0.0)
    assert res.magnitude.dtype == np.float64
    assert np.all(res.magnitude == 0.0)
    assert not res.mask.any()


@pytest.mark.parametrize("operator", ["sobel", "prewitt", "scharr"])
@pytest.mark.parametrize("a,b", [(0.3, 0.0), (0.0, -2.0), (1.5, 0.7)])
def test_edges_exact_on_linear_ramp(operator, a, b):
    yy, xx = np.mgrid[0:12, 0:15]
    res = edges(a * xx + b * yy, operator=operator)
    inner = (slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(res.magnitude[inner], np.hypot(a, b), rtol=1e-12)
    np.testing.assert_allclose(res.direction[inner], np.arctan2(b, a), atol=1e-12)


def test_edges_direction_convention_downward_increase_is_plus_half_pi():
    img = np.zeros((8, 8))
    img[4:] = 1.0  # brighter below: the gradient points down (+y, rows)
    res = edges(img)
    assert res.direction[3, 4] == pytest.approx(np.pi / 2)


def test_edges_rgb_equals_each_channel_and_channel_axis_moves():
    res = edges(RGB, channel_axis=-1, threshold=0.2)
    for c in range(3):
        single = edges(RGB[..., c], threshold=0.2)
        np.testing.assert_array_equal(res.magnitude[..., c], single.magnitude)
        np.testing.assert_array_equal(res.mask[..., c], single.mask)
    first = edges(np.moveaxis(RGB, -1, 0), channel_axis=0)
    np.testing.assert_array_equal(first.magnitude, np.moveaxis(res.magnitude, -1, 0))


def test_edges_threshold_and_otsu():
    res = edges(GRAY, threshold=0.3)
    np.testing.assert_array_equal(res.mask, res.magnitude > 0.3)
    assert edges(GRAY).mask is None
    otsu = edges(GRAY, threshold="otsu")
    t = skimage.filters.threshold_otsu(otsu.magnitude)
    np.testing.assert_array_equal(otsu.mask, otsu.magnitude > t)
    assert 0 < otsu.mask.mean() < 1


def test_edges_nan_stays_local():
    img = GRAY.copy()
    img[10, 20] = np.nan
    mag = edges(img).magnitude
    nan_rows, nan_cols = np.nonzero(np.isnan(mag))
    assert set(nan_rows) <= {9, 10, 11} and set(nan_cols) <= {19, 20, 21}
    clean = edges(GRAY).magnitude
    far = np.ones_like(mag, bool)
    far[8:13, 18:23] = False
    np.testing.assert_array_equal(mag[far], clean[far])


# --- blur --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sigma", [0.7, 2.0])
def test_gaussian_blur_matches_skimage(sigma):
    np.testing.assert_allclose(
        blur(GRAY, sigma), skimage.filters.gaussian(GRAY, sigma=sigma, mode="reflect", preserve_range=True),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        blur(RGB, sigma, channel_axis=-1),
        skimage.filters.gaussian(RGB, sigma=sigma, mode="reflect", preserve_range=True, channel_axis=-1),
        atol=1e-12,
    )


@pytest.mark.parametrize("size", [3, 5, 7])
def test_box_blur_matches_opencv(size):
    # cv2.BORDER_REFLECT (dcba|abcd) is scipy.ndimage 'reflect'.
    ref = cv2.blur(GRAY, (size, size), borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(blur(GRAY, size=size, kind="box"), ref, atol=1e-12)
    ref_rgb = cv2.blur(RGB, (size, size), borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(blur(RGB, size=size, kind="box", channel_axis=-1), ref_rgb, atol=1e-12)


@pytest.mark.parametrize("size", [3, 5])
def test_median_blur_matches_opencv(size):
    img = GRAY.astype(np.float32)
    ref = cv2.medianBlur(img, size)  # float32 median replicates the border ('nearest')
    np.testing.assert_allclose(blur(img, size=size, kind="median", mode="nearest"), ref, atol=1e-7)


def test_median_removes_salt_and_pepper_but_keeps_edges():
    img = np.zeros((20, 20))
    img[:, 10:] = 1.0
    noisy = img.copy()
    noisy[5, 3], noisy[14, 15] = 1.0, 0.0
    np.testing.assert_array_equal(blur(noisy, size=3, kind="median"), img)


@pytest.mark.parametrize("kind,kw", [("gaussian", {"sigma": 1.5}), ("box", {"size": 5})])
def test_linear_blurs_preserve_the_mean_with_wrap(kind, kw):
    out = blur(GRAY, kind=kind, mode="wrap", **kw)
    assert out.mean() == pytest.approx(GRAY.mean(), rel=1e-12)


@pytest.mark.parametrize("kind,kw", [("gaussian", {"sigma": 1.0}), ("box", {"size": 3}), ("median", {"size": 3})])
def test_blur_nan_stays_in_its_window(kind, kw):
    img = GRAY.copy()
    img[15, 25] = np.nan
    out = blur(img, kind=kind, **kw)
    assert np.isnan(out[15, 25])
    radius = 4 if kind == "gaussian" else 1
    far = np.ones_like(out, bool)
    far[15 - radius:16 + radius, 25 - radius:26 + radius] = False
    assert np.all(np.isfinite(out[far]))
    if kind == "box":  # the NaN-safe path equals the fast path away from the NaN
        np.testing.assert_allclose(out[far], blur(GRAY, kind=kind, **kw)[far], atol=1e-12)


# --- sharpen -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount,radius", [(0.5, 1.0), (2.0, 3.0)])
def test_sharpen_matches_skimage_unsharp_mask(amount, radius):
    ref = skimage.filters.unsharp_mask(GRAY, radius=radius, amount=amount, preserve_range=True)
    np.testing.assert_allclose(sharpen(GRAY, amount, radius), ref, atol=1e-12)
    # channel_axis=2, not -1: skimage's unsharp_mask returns uninitialised memory for a negative channel_axis
    # (scikit-image#7264, still open in 0.26). freqlens accepts both.
    ref_rgb = skimage.filters.unsharp_mask(RGB, radius=radius, amount=amount, preserve_range=True, channel_axis=2)
    np.testing.assert_allclose(sharpen(RGB, amount, radius, channel_axis=-1), ref_rgb, atol=1e-12)
    np.testing.assert_allclose(sharpen(RGB, amount, radius, channel_axis=2), ref_rgb, atol=1e-12)


def test_sharpen_frequency_response_of_a_cosine():
    # With periodic edges a cosine is an eigenfunction: gain 1 + a (1 - exp(-2 pi^2 r^2 f^2)).
    n, f, a, r = 64, 8 / 64, 1.5, 1.2
    x = np.cos(2 * np.pi * f * np.arange(n))
    img = np.tile(x, (16, 1))
    out = sharpen(img, a, r, mode="wrap")
    gain = out[5] @ x / (x @ x)
    assert gain == pytest.approx(1 + a * (1 - np.exp(-2 * np.pi**2 * r**2 * f**2)), rel=1e-3)


def test_sharpen_amount_zero_is_identity_and_clip():
    np.testing.assert_array_equal(sharpen(GRAY, 0.0), GRAY)
    out = sharpen(GRAY, 3.0, 1.0, clip=(0.0, 1.0))
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert sharpen(GRAY, 3.0, 1.0).max() > 1.0


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: edges(RGB), "channel_axis"),
        (lambda: edges(GRAY, channel_axis=-1), "channel_axis"),
        (lambda: edges(np.zeros((4, 4, 4, 4))), "image"),
        (lambda: edges(np.array([["a", "b"]])), "image"),
        (lambda: edges(np.zeros((0, 5))), "image"),
        (lambda: edges(GRAY, operator="canny"), "operator"),
        (lambda: edges(GRAY, threshold="mean"), "threshold"),
        (lambda: edges(GRAY, threshold=-1.0), "threshold"),
        (lambda: edges(GRAY, mode="symmetric"), "mode"),
        (lambda: blur(GRAY), "sigma"),
        (lambda: blur(GRAY, -1.0), "sigma"),
        (lambda: blur(GRAY, float("nan")), "sigma"),
        (lambda: blur(GRAY, 1.0, size=3), "size"),
        (lambda: blur(GRAY, kind="box"), "size"),
        (lambda: blur(GRAY, 2.0, kind="median"), "size"),
        (lambda: blur(GRAY, size=2.5, kind="box"), "size"),
        (lambda: blur(GRAY, size=0, kind="box"), "size"),
        (lambda: blur(GRAY, 1.0, kind="bilateral"), "kind"),
        (lambda: sharpen(GRAY, -1.0), "amount"),
        (lambda: sharpen(GRAY, 1.0, 0.0), "radius"),
        (lambda: sharpen(GRAY, 1.0, clip=(1.0, 0.0)), "clip"),
        (lambda: sharpen(np.ones((3, 3), complex)), "image"),
    ],
)
def test_bad_input_raises_freqlens_error_naming_the_argument(call, match):
    with pytest.raises(FreqlensError, match=match):
        call()
