"""Frequency responses of kernels: closed forms, the grid convention, agreement with actual filtering, plots."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from freqlens.conv import kernels as K
from freqlens.conv.kernels import KERNELS, get_kernel
from freqlens.conv.response import frequency_response, plot_response
from freqlens.errors import FreqlensError


def test_grid_is_centred_in_cycles_per_sample():
    r = frequency_response(K.box(3, ndim=1), 8)
    np.testing.assert_allclose(r.freqs, np.arange(-4, 4) / 8)
    r2 = frequency_response(K.box(3), (6, 10))
    fy, fx = r2.freqs
    assert r2.values.shape == (6, 10) and fy.size == 6 and fx.size == 10
    assert fy[3] == 0 and fx[5] == 0
    assert r2.values[3, 5] == pytest.approx(1.0)  # DC gain = sum of the kernel


def test_default_grid_is_64_or_the_kernel_size():
    assert frequency_response(K.sobel_x()).values.shape == (64, 64)
    assert frequency_response(np.ones(101)).values.shape == (101,)


@pytest.mark.parametrize("sigma", [1.5, 2.0, 3.0])
def test_gaussian_response_is_gaussian_1d(sigma):
    r = frequency_response(K.gaussian(sigma, ndim=1), 128)
    expected = np.exp(-2 * np.pi**2 * sigma**2 * r.freqs**2)
    np.testing.assert_allclose(r.values.real, expected, atol=3e-4)
    np.testing.assert_allclose(r.values.imag, 0.0, atol=1e-15)


def test_gaussian_response_is_gaussian_2d():
    sigma = 2.0
    r = frequency_response(K.gaussian(sigma), 64)
    expected = np.exp(-2 * np.pi**2 * sigma**2 * r.radius**2)
    np.testing.assert_allclose(r.magnitude, expected, atol=3e-4)
    # the response's width is 1 / (2 pi sigma): at that radius the gain is exp(-1/2)
    f = 1.0 / (2 * np.pi * sigma)
    assert np.interp(f, r.axes[1], r.magnitude[32]) == pytest.approx(np.exp(-0.5), abs=0.01)


@pytest.mark.parametrize("n", [3, 5, 7])
def test_box_response_is_the_dirichlet_kernel(n):
    r = frequency_response(K.box(n, ndim=1), 64)
    f = r.freqs
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(f == 0, 1.0, np.sin(np.pi * f * n) / (n * np.sin(np.pi * f)))
    np.testing.assert_allclose(r.values.real, expected, atol=1e-12)


def test_sobel_x_response_closed_form_including_phase():
    r = frequency_response(K.sobel_x(), 32)
    fy, fx = r.grid
    expected = -2j * np.sin(2 * np.pi * fx) * (2 + 2 * np.cos(2 * np.pi * fy))
    np.testing.assert_allclose(r.values, expected, atol=1e-12)


def test_laplacian_response_closed_form():
    r = frequency_response(K.laplacian4(), 16)
    fy, fx = r.grid
    np.testing.assert_allclose(r.values.real, -(4 - 2 * np.cos(2 * np.pi * fx) - 2 * np.cos(2 * np.pi * fy)), atol=1e-12)
    assert r.at(0.5, 0.5) == pytest.approx(-8.0)  # nearest bin: -0.5 (Nyquist)


def test_phase_of_a_shifted_impulse_is_linear():
    """Phase is relative to the centre sample: an impulse one sample right of it is a delay, e^{-2 pi i f}."""
    r = frequency_response([0.0, 0.0, 1.0], 16)
    np.testing.assert_allclose(r.values, np.exp(-2j * np.pi * r.freqs), atol=1e-12)
    np.testing.assert_allclose(r.magnitude, 1.0)
    inner = np.abs(r.freqs) < 0.5
    np.testing.assert_allclose(r.phase[inner], -2 * np.pi * r.freqs[inner], atol=1e-12)


def test_response_predicts_actual_filtering_of_a_tone():
    """A cosine through ndimage.convolve (wrap) comes out scaled by |H| and shifted by angle(H)."""
    rng = np.random.default_rng(0)
    k = rng.standard_normal((3, 5))
    n = 32
    ky, kx = 3, 5
    y, x = np.mgrid[:n, :n]
    arg = 2 * np.pi * (ky * y + kx * x) / n
    out = ndi.convolve(np.cos(arg), k, mode="wrap")
    h = frequency_response(k, n).at(ky / n, kx / n)
    np.testing.assert_allclose(out, np.abs(h) * np.cos(arg + np.angle(h)), atol=1e-12)


def _classify(name: str) -> tuple[str, bool]:
    """Read the pass-band off the response on an odd grid (so a 90-degree rotation maps the grid onto itself)."""
    r = frequency_response(get_kernel(name), 65)
    m = r.magnitude
    rho = r.radius
    top = m.max()
    dc = m[32, 32]
    oriented = bool(np.max(np.abs(m - np.rot90(m))) > 0.05 * top)
    high = rho >= 0.45
    if np.allclose(m, 1.0):
        return "all-pass", oriented
    if dc > 0.99 * top and m[high].mean() < 0.5 * dc:
        return "low-pass", oriented
    if dc < 0.05 * top and m[high].max() > 0.99 * top:
        return "high-pass", oriented
    if dc < 0.05 * top and m[high].max() < 0.6 * top:
        return "band-pass", oriented
    if abs(dc - 1.0) < 1e-9 and top > 1.5:
        return "high-boost", oriented
    return "unclassified", oriented


@pytest.mark.parametrize("name", list(KERNELS))
def test_registry_passband_agrees_with_the_response(name):
    info = KERNELS[name]
    assert _classify(name) == (info.passes, info.oriented)


@pytest.mark.parametrize("theta", [0.0, 30.0, 90.0, 135.0])
def test_gabor_response_peaks_at_its_wave_vector(theta):
    lam = 5.0
    r = frequency_response(K.gabor(theta=theta, wavelength=lam), 100)
    fy, fx = r.grid
    iy, ix = np.unravel_index(np.argmax(r.magnitude), r.values.shape)
    expected = np.array([-np.sin(np.radians(theta)), np.cos(np.radians(theta))]) / lam
    got = np.array([fy[iy, ix], fx[iy, ix]])
    assert min(np.linalg.norm(got - expected), np.linalg.norm(got + expected)) <= 1.5 / 100
    assert r.magnitude.max() == pytest.approx(0.5, abs=0.02)


def test_motion_blur_response_is_flat_across_the_motion():
    r = frequency_response(K.motion_blur(9, 0.0), 63)
    np.testing.assert_allclose(r.magnitude[:, 31], 1.0, atol=1e-12)  # fx = 0: vertical frequencies untouched
    np.testing.assert_allclose(r.magnitude[:, 31 + 7], 0.0, atol=1e-12)  # fx = 7/63 = 1/9: a 9-box's first zero
    assert r.magnitude[31, 31 + 10] > 0.1  # a side lobe


def test_complex_kernel_is_accepted():
    r = frequency_response(np.array([0.0, 1j, 0.0]), 4)
    np.testing.assert_allclose(r.values, 1j)


@pytest.mark.parametrize(
    ("kernel", "shape", "match"),
    [
        (np.ones((5, 5)), 4, r"shape must be integers >= the kernel's shape"),
        (np.ones((3, 3)), (8,), "one entry per kernel axis"),
        (np.ones((3, 3)), 8.5, "shape must be integers"),
        (np.ones(0), None, "non-empty"),
        (np.float64(3.0), None, "non-empty"),
        (np.array(["a"]), None, "numeric"),
    ],
)
def test_bad_inputs_name_the_argument(kernel, shape, match):
    with pytest.raises(FreqlensError, match=match):
        frequency_response(kernel, shape)


def test_at_checks_the_number_of_frequencies():
    with pytest.raises(ValueError, match="one frequency per axis"):
        frequency_response(K.box()).at(0.1)


@pytest.mark.parametrize("kernel", [K.sobel_x(), K.gabor(45.0), K.gaussian(1.0, ndim=1)])
def test_plot_response_writes_a_png(tmp_path, kernel):
    path = tmp_path / "resp.png"
    fig = plot_response(kernel, title="k", db=kernel.ndim == 2, path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) >= 2
    assert not list(tmp_path.glob(".resp.png.*"))  # no temporary file left behind


def test_plot_response_draws_into_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot_response(K.laplacian8(), axes=axes) is fig
    with pytest.raises(FreqlensError, match="1-D or 2-D"):
        plot_response(np.ones((3, 3, 3)))


def test_huge_grid_is_refused_before_allocating():
    with pytest.raises(FreqlensError, match="GiB of memory"):
        frequency_response(K.box(), 10**6)


def test_docstring_examples_run():
    import doctest

    import freqlens.conv.response as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
