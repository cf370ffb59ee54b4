"""The kernel catalogue: analytic properties, agreement with OpenCV / scipy.ndimage, the registry and its errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

from freqlens.conv import kernels as K
from freqlens.conv.kernels import KERNELS, PASSBANDS, get_kernel
from freqlens.errors import FreqlensError

SUM_ONE = ["identity", "box", "gaussian", "sharpen", "unsharp", "emboss", "motion_blur"]
SUM_ZERO = ["sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y", "laplacian4", "laplacian8", "log"]
ONE_D = [name for name, info in KERNELS.items() if 1 in info.ndims]


def test_every_kernel_is_in_exactly_one_sum_class():
    assert sorted(SUM_ONE + SUM_ZERO + ["gabor"]) == sorted(KERNELS)


@pytest.mark.parametrize("name", list(KERNELS))
def test_default_kernels_are_centred_float64_arrays(name):
    k = get_kernel(name)
    assert k.dtype == np.float64 and k.ndim == 2
    assert all(n % 2 == 1 for n in k.shape), k.shape
    assert np.all(np.isfinite(k))
    info = KERNELS[name]
    assert info.passes in PASSBANDS and info.description
    np.testing.assert_array_equal(info(), k)


def _with_ndims(names):
    return [(name, nd) for name in names for nd in KERNELS[name].ndims]


@pytest.mark.parametrize(("name", "ndim"), _with_ndims(SUM_ONE))
def test_smoothing_and_sharpening_kernels_sum_to_one(name, ndim):
    params = {"ndim": ndim} if ndim == 1 else {}
    assert get_kernel(name, **params).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("name", "ndim"), _with_ndims(SUM_ZERO))
def test_derivative_kernels_sum_to_zero(name, ndim):
    params = {"ndim": ndim} if ndim == 1 else {}
    assert get_kernel(name, **params).sum() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", ONE_D)
def test_one_dimensional_variants(name):
    k = get_kernel(name, ndim=1)
    assert k.ndim == 1 and k.size % 2 == 1
    if name not in ("log",):
        # the 1-D kernel is the 2-D one's profile along the middle row (or its separable factor)
        k2 = get_kernel(name)
        assert k2.shape[1] == k.size


@pytest.mark.parametrize("name", SUM_ZERO)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("shape", [(16, 16), (9, 23)])
def test_derivative_of_a_constant_image_is_zero(name, dtype, shape):
    img = np.full(shape, 7, dtype=dtype)
    k = get_kernel(name)
    for out in (
        ndi.correlate(img.astype(float), k, mode="reflect"),
        ndi.convolve(img.astype(float), k, mode="nearest"),
        cv2.filter2D(img.astype(np.float32), cv2.CV_32F, k.astype(np.float32)),
    ):
        np.testing.assert_allclose(out, 0.0, atol=1e-4)


@pytest.mark.parametrize(("name", "gain"), [("sobel_x", 8), ("prewitt_x", 6), ("scharr_x", 32)])
def test_derivative_sign_convention_on_a_ramp(name, gain):
    """Textbook kernels: correlation gives +gain * slope, convolution (which flips) gives -gain * slope."""
    y, x = np.mgrid[:12, :12].astype(float)
    ramp = 0.5 * x
    inner = (slice(2, -2), slice(2, -2))
    kx = get_kernel(name)
    ky = get_kernel(name.replace("_x", "_y"))
    np.testing.assert_allclose(ndi.correlate(ramp, kx)[inner], gain * 0.5)
    np.testing.assert_allclose(ndi.convolve(ramp, kx)[inner], -gain * 0.5)
    np.testing.assert_allclose(ndi.correlate(ramp, ky)[inner], 0.0)
    np.testing.assert_allclose(ndi.correlate(0.5 * y, ky)[inner], gain * 0.5)


def test_sobel_and_scharr_match_opencv_and_scipy():
    rng = np.random.default_rng(0)
    img = rng.random((20, 17)).astype(np.float32)
    border = cv2.BORDER_REFLECT_101
    for k, ref in (
        (K.sobel_x(), cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, borderType=border)),
        (K.sobel_y(), cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, borderType=border)),
        (K.scharr_x(), cv2.Scharr(img, cv2.CV_32F, 1, 0, borderType=border)),
        (K.scharr_y(), cv2.Scharr(img, cv2.CV_32F, 0, 1, borderType=border)),
        (K.laplacian4(), cv2.Laplacian(img, cv2.CV_32F, ksize=1, borderType=border)),
    ):
        out = cv2.filter2D(img, cv2.CV_32F, k.astype(np.float32), borderType=border)
        np.testing.assert_allclose(out, ref, atol=1e-5)
    img64 = img.astype(float)
    np.testing.assert_allclose(ndi.correlate(img64, K.sobel_x()), ndi.sobel(img64, axis=1), atol=1e-12)
    np.testing.assert_allclose(ndi.correlate(img64, K.prewitt_y()), ndi.prewitt(img64, axis=0), atol=1e-12)


@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.5])
def test_gaussian_matches_scipy_and_opencv(sigma):
    k = K.gaussian(sigma)
    impulse = np.zeros((k.shape[0],) * 2)
    impulse[k.shape[0] // 2, k.shape[0] // 2] = 1.0
    np.testing.assert_allclose(ndi.gaussian_filter(impulse, sigma, mode="constant", truncate=4.0), k, atol=1e-15)
    g1 = cv2.getGaussianKernel(k.shape[0], sigma, cv2.CV_64F).ravel()
    np.testing.assert_allclose(K.gaussian(sigma, ndim=1), g1, atol=1e-12)
    np.testing.assert_allclose(k, np.outer(g1, g1), atol=1e-12)


def test_gaussian_size_parameter_and_default():
    assert K.gaussian(1.0).shape == (9, 9)
    assert K.gaussian(2.0, 5).shape == (5, 5)
    assert K.gaussian(2.0, 5).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("psi", [0.0, 30.0])
@pytest.mark.parametrize("theta", [0.0, 30.0, 90.0])
def test_gabor_matches_opencv_up_to_scale(theta, psi):
    """OpenCV: radians towards +y (clockwise as displayed) and the array rotated by 180 degrees."""
    k = K.gabor(theta=theta, wavelength=6.0, sigma=3.0, gamma=0.7, psi=psi)
    n = k.shape[0]
    ref = cv2.getGaborKernel((n, n), 3.0, -np.radians(theta), 6.0, 0.7, np.radians(psi), cv2.CV_64F)[::-1, ::-1]
    c = n // 2
    np.testing.assert_allclose(k * (ref[c, c] / k[c, c]), ref, atol=1e-9)


def test_sharpen_and_unsharp_are_identity_plus_highpass():
    np.testing.assert_array_equal(K.sharpen(), K.identity() - K.laplacian4())
    np.testing.assert_array_equal(K.sharpen(0.0), K.identity())
    np.testing.assert_allclose(K.sharpen(ndim=1), [-1.0, 3.0, -1.0])
    g = K.gaussian(1.5)
    d = np.zeros_like(g)
    d[g.shape[0] // 2, g.shape[1] // 2] = 1.0
    np.testing.assert_allclose(K.unsharp(1.5, 2.0), d + 2.0 * (d - g))


def test_laplacians_and_log():
    np.testing.assert_array_equal(K.laplacian4(ndim=1), [1.0, -2.0, 1.0])
    assert K.laplacian8()[1, 1] == -8 and K.laplacian8().sum() == 0
    k = K.log(2.0)
    assert k.shape == (17, 17)
    np.testing.assert_allclose(k, k.T)
    assert k[8, 8] == k.min() < 0 and k[0, 8] > k[8, 8]
    # the LoG of a wide Gaussian blob is most negative at the blob's centre (blob detector)
    y, x = np.mgrid[:41, :41]
    blob = np.exp(-((x - 20.0) ** 2 + (y - 20.0) ** 2) / (2 * 2.8**2))
    out = ndi.convolve(blob, k)
    assert np.unravel_index(np.argmin(out), out.shape) == (20, 20)


@pytest.mark.parametrize("length", [1, 3, 8, 9])
def test_motion_blur_axis_aligned_is_a_box(length):
    h = K.motion_blur(length, 0.0)
    v = K.motion_blur(length, 90.0)
    c = h.shape[0] // 2
    assert h.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(v, h.T, atol=1e-12)
    np.testing.assert_allclose(np.delete(h, c, axis=0), 0.0, atol=1e-12)  # one row only
    if length % 2:
        np.testing.assert_allclose(h[c][h[c] > 0], 1.0 / length)


def test_motion_blur_direction_is_counter_clockwise_as_displayed():
    k = K.motion_blur(5, 45.0)
    c = k.shape[0] // 2
    assert k[c - 1, c + 1] > 0.1 and k[c + 1, c - 1] > 0.1  # up-right and down-left
    assert k[c - 1, c - 1] == 0 and k[c + 1, c + 1] == 0
    np.testing.assert_allclose(K.motion_blur(5, 45.0 + 180.0), k, atol=1e-12)


# ---------------------------------------------------------------------------------------------------- registry
def test_get_kernel_accepts_aliases_case_and_dashes():
    np.testing.assert_array_equal(get_kernel("MEAN", size=5), K.box(5))
    np.testing.assert_array_equal(get_kernel("Sobel-X"), K.sobel_x())
    np.testing.assert_array_equal(get_kernel("laplacian"), K.laplacian4())
    assert K.mean is K.box


def test_get_kernel_converts_command_line_strings():
    np.testing.assert_array_equal(get_kernel("gaussian", sigma="1.5", size="7"), K.gaussian(1.5, 7))
    np.testing.assert_array_equal(get_kernel("gaussian", sigma="2", size="None"), K.gaussian(2.0))
    np.testing.assert_array_equal(get_kernel("box", size="5.0"), K.box(5))
    with pytest.raises(FreqlensError, match="size must be int"):
        get_kernel("box", size="2.5")
    with pytest.raises(FreqlensError, match="sigma must be float"):
        get_kernel("gaussian", sigma="wide")


def test_get_kernel_unknown_name_lists_the_catalogue():
    with pytest.raises(FreqlensError, match=r"unknown kernel 'blurry'.*gaussian.*motion_blur"):
        get_kernel("blurry")
    with pytest.raises(ValueError, match="kernel name"):
        get_kernel(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("sobel_x", {"sigma": 1.0}, r"'sobel_x' has no parameter 'sigma'; accepted: none"),
        ("box", {"sigma": 2}, r"no parameter 'sigma'; accepted: size, ndim"),
        ("gaussian", {"sigma": -1.0}, "sigma must be > 0"),
        ("gaussian", {"sigma": float("nan")}, "sigma must be finite"),
        ("gaussian", {"size": 4}, "size must be odd"),
        ("box", {"size": 0}, "size must be an integer >= 1"),
        ("box", {"ndim": 3}, r"ndim must be one of \(1, 2\)"),
        ("sharpen", {"amount": -1}, "amount must be >= 0"),
        ("gabor", {"wavelength": 1.5}, "wavelength must be >= 2"),
        ("gabor", {"gamma": 0}, "gamma must be > 0"),
        ("motion_blur", {"length": 0}, "length must be an integer >= 1"),
        ("motion_blur", {"angle": "up"}, "angle must be float"),
        ("identity", {"size": True}, "size must be an integer"),
    ],
)
def test_bad_parameters_name_the_argument(name, params, match):
    with pytest.raises(ValueError, match=match):
        get_kernel(name, **params)


def test_registry_params_and_passband_text():
    assert KERNELS["gabor"].params == {
        "theta": 0.0, "wavelength": 4.0, "sigma": None, "gamma": 0.5, "psi": 0.0, "size": None,
    }
    assert KERNELS["sobel_x"].passband == "band-pass, oriented"
    assert KERNELS["gaussian"].passband == "low-pass"


@pytest.mark.parametrize(
    ("name", "params"),
    [("gaussian", {"sigma": 1e6}), ("box", {"size": 10**6 + 1}), ("motion_blur", {"length": 10**7}),
     ("gabor", {"wavelength": 1e6}), ("log", {"sigma": 1e6})],
)
def test_huge_kernels_are_refused_before_allocating(name, params):
    with pytest.raises(FreqlensError, match="GiB of memory"):
        get_kernel(name, **params)
    assert K.gaussian(1e4, ndim=1).size == 80001  # 1-D: 640 kB is fine


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(K, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 15 and result.failed == 0
