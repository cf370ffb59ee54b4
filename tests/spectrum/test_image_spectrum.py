"""Image spectra: the 2-D DFT convention, radial power, power-law fits, energy fractions, convolution theorem."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens.errors import FreqlensError
from freqlens.spectrum import (
    convolution_theorem,
    dft,
    dft2,
    energy_fraction,
    fit_power_law,
    log_magnitude,
    power_law_noise,
    radial_frequency,
    radial_power,
)


def _tone(shape, ky, kx, phase=0.0):
    y, x = np.mgrid[: shape[0], : shape[1]]
    return np.cos(2 * np.pi * (ky * y / shape[0] + kx * x / shape[1]) + phase)


# ---------------------------------------------------------------------------------------------------- dft2
@pytest.mark.parametrize("shape", [(8, 8), (6, 10), (7, 5)])
def test_dft2_tone_lands_in_its_bin_with_half_amplitude(shape):
    ky, kx = 1, 2
    spec = dft2(_tone(shape, ky, kx), norm="forward")
    mag = spec.magnitude
    iy = np.argmin(np.abs(spec.freq_y - ky / shape[0]))
    ix = np.argmin(np.abs(spec.freq_x - kx / shape[1]))
    assert mag[iy, ix] == pytest.approx(0.5)
    jy = np.argmin(np.abs(spec.freq_y + ky / shape[0]))
    jx = np.argmin(np.abs(spec.freq_x + kx / shape[1]))
    assert mag[jy, jx] == pytest.approx(0.5)
    assert mag.sum() == pytest.approx(1.0)


def test_dft2_centres_dc_and_axes_increase():
    spec = dft2(np.ones((6, 5)), norm="forward")
    assert np.all(np.diff(spec.freq_y) > 0) and np.all(np.diff(spec.freq_x) > 0)
    assert spec.freq_y[6 // 2] == 0 and spec.freq_x[5 // 2] == 0
    assert spec.values[3, 2] == pytest.approx(1.0)
    assert spec.freq_y.min() == -0.5  # even n: -1/2 is present, +1/2 is not
    assert spec.radius[3, 2] == 0


def test_dft2_matches_1d_convention_along_rows():
    """dft2 is the 1-D dft of freqlens.spectrum.dft applied along both axes (same sign, same norm)."""
    rng = np.random.default_rng(0)
    img = rng.standard_normal((6, 8))
    spec = dft2(img, norm="forward", centred=False)
    ref = dft(dft(img, axis=1, norm="forward"), axis=0, norm="forward")
    np.testing.assert_allclose(spec.values, ref, atol=1e-12)


@pytest.mark.parametrize("norm", ["ortho", "backward", "forward"])
def test_dft2_norm_as_scipy_and_ortho_is_parseval(norm):
    rng = np.random.default_rng(1)
    img = rng.standard_normal((9, 12))
    spec = dft2(img, norm=norm, centred=False)
    np.testing.assert_allclose(spec.values, scipy.fft.fft2(img, norm=norm), atol=1e-12)
    if norm == "ortho":
        assert spec.power.sum() == pytest.approx(np.sum(img**2))
    assert np.asarray(spec).shape == img.shape


def test_log_magnitude_is_db_of_the_centred_spectrum():
    img = _tone((16, 16), 0, 4)
    db = log_magnitude(img, norm="forward")
    assert db[8, 8 + 4] == pytest.approx(20 * np.log10(0.5), abs=1e-9)
    assert db[0, 0] < -200  # an empty bin: 20 log10(eps)


def test_radial_frequency_grid():
    rho = radial_frequency((8, 8))
    assert rho[4, 4] == 0
    assert rho[0, 0] == pytest.approx(np.sqrt(0.5))
    assert rho[4, 6] == pytest.approx(2 / 8)


# ---------------------------------------------------------------------------------------------------- radial power
def test_radial_power_peaks_at_the_tone_frequency():
    f, p = radial_power(_tone((32, 32), 3, 4))  # |f| = 5 / 32
    assert f[5] == pytest.approx(5 / 32)
    assert np.argmax(p) == 5
    assert np.count_nonzero(p > 1e-20) == 1


def test_radial_power_of_white_noise_is_flat():
    rng = np.random.default_rng(2)
    f, p = radial_power(rng.standard_normal((128, 128)))
    # ortho norm: expected power per bin = variance = 1
    assert np.mean(p[5:]) == pytest.approx(1.0, rel=0.05)
    assert f[-1] == 0.5 and len(f) == 65


def test_hann_window_keeps_mean_power():
    rng = np.random.default_rng(3)
    img = rng.standard_normal((96, 96))
    _, p_raw = radial_power(img)
    _, p_win = radial_power(img, window="hann")
    assert np.mean(p_win[5:]) == pytest.approx(np.mean(p_raw[5:]), rel=0.1)


# ---------------------------------------------------------------------------------------------------- power law
@pytest.mark.parametrize("alpha", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_fit_power_law_recovers_alpha_of_synthetic_noise(alpha, seed):
    img = power_law_noise((256, 256), alpha, seed=seed)
    fit = fit_power_law(img)
    assert fit.alpha == pytest.approx(alpha, abs=0.2)
    assert fit.r2 > 0.9
    assert fit.n_bins > 50


def test_fit_power_law_window_removes_edge_leakage():
    """A steep spectrum (alpha=4) on a non-periodic crop: the raw DFT sees the border jump (~1/f**2)."""
    big = power_law_noise((512, 512), 4.0, seed=4)
    crop = big[:128, :128]  # not periodic any more
    assert fit_power_law(crop, window="hann").alpha == pytest.approx(4.0, abs=0.5)
    assert fit_power_law(crop, window=None).alpha < 3.0


def test_fit_power_law_predict_is_the_fitted_line():
    fit = fit_power_law(power_law_noise((64, 64), 2.0, seed=5))
    assert fit.predict(1.0) == pytest.approx(10**fit.log10_amplitude)
    assert fit.predict(0.1) / fit.predict(0.2) == pytest.approx(2**fit.alpha)


def test_power_law_noise_is_reproducible_and_uses_its_generator_only():
    a = power_law_noise((16, 16), 2.0, seed=7)
    np.random.seed(0)
    b = power_law_noise((16, 16), 2.0, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, power_law_noise((16, 16), 2.0, seed=8))


@pytest.mark.parametrize(
    ("band", "match"),
    [((0.3, 0.1), "fmin < fmax"), ((0.0, 0.2), "band"), ((0.1, 0.7), "0.5"), ("x", "band"), ((0.49, 0.5), "annuli")],
)
def test_fit_power_law_rejects_bad_bands(band, match):
    with pytest.raises(FreqlensError, match=match):
        fit_power_law(np.random.default_rng(0).standard_normal((32, 32)), band)


def test_fit_power_law_rejects_constant_image():
    with pytest.raises(ValueError, match="no power"):
        fit_power_law(np.ones((32, 32)))


# ---------------------------------------------------------------------------------------------------- energy fraction
def test_energy_fraction_of_a_pure_low_tone():
    tone = _tone((64, 64), 0, 4)  # 4/64 = 0.0625 cycles per pixel
    assert energy_fraction(tone, 0.06) == pytest.approx(0.0, abs=1e-12)
    assert energy_fraction(tone, 0.0625) == pytest.approx(1.0)
    assert energy_fraction(tone, 0.1) == pytest.approx(1.0)


def test_energy_fraction_dc_and_mixture():
    img = 3.0 + _tone((32, 32), 0, 8)  # DC energy 9*N, tone energy N/2
    assert energy_fraction(img, 0.0) == pytest.approx(9 / 9.5)
    assert energy_fraction(img, 0.1, exclude_dc=True) == pytest.approx(0.0, abs=1e-12)
    out = energy_fraction(img, np.array([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(out, [9 / 9.5, 1.0, 1.0])
    assert np.isnan(energy_fraction(np.zeros((4, 4)), 0.1))


def test_energy_fraction_is_monotone():
    img = power_law_noise((32, 32), 1.0, seed=0)
    radii = np.linspace(0, 0.75, 20)
    frac = energy_fraction(img, radii)
    assert np.all(np.diff(frac) >= 0) and frac[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("radius", [-0.1, np.nan])
def test_energy_fraction_rejects_bad_radius(radius):
    with pytest.raises(FreqlensError, match="radius"):
        energy_fraction(np.ones((4, 4)), radius)


# ---------------------------------------------------------------------------------------------------- convolution theorem
@pytest.mark.parametrize("kind", ["circular", "linear"])
@pytest.mark.parametrize(("xshape", "kshape"), [((40,), (7,)), ((16, 12), (3, 5)), ((8, 8), (8, 8)), ((6, 7, 5), (2, 3, 2))])
def test_convolution_theorem_holds(kind, xshape, kshape):
    rng = np.random.default_rng(4)
    check = convolution_theorem(rng.standard_normal(xshape), rng.standard_normal(kshape), kind)
    expected = xshape if kind == "circular" else tuple(n + k - 1 for n, k in zip(xshape, kshape))
    assert check.spatial.shape == expected == check.spectral.shape
    assert check.holds() and check.max_abs_diff < 1e-10
    assert "holds" in str(check)


@settings(max_examples=40, deadline=None)
@given(
    dims=st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9)), min_size=1, max_size=2),
    kind=st.sampled_from(["circular", "linear"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_convolution_theorem_holds_for_any_shapes(dims, kind, seed):
    xshape = tuple(max(a, b) for a, b in dims)  # the kernel never exceeds x (needed for circular)
    kshape = tuple(min(a, b) for a, b in dims)
    rng = np.random.default_rng(seed)
    check = convolution_theorem(rng.standard_normal(xshape), rng.standard_normal(kshape), kind)
    assert check.max_abs_diff < 1e-9


def test_circular_convolution_wraps_around():
    x = np.zeros(8)
    x[7] = 1.0  # impulse at the last sample
    check = convolution_theorem(x, np.array([1.0, 2.0, 3.0]), "circular")
    np.testing.assert_allclose(check.spatial, [2, 3, 0, 0, 0, 0, 0, 1], atol=1e-12)
    lin = convolution_theorem(x, np.array([1.0, 2.0, 3.0]), "linear")
    np.testing.assert_allclose(lin.spatial[7:], [1, 2, 3], atol=1e-12)


def test_convolution_theorem_complex_and_int_inputs():
    x = np.arange(12).reshape(3, 4)
    k = np.array([[1j, 2], [0, 1]])
    assert convolution_theorem(x, k, "linear").holds()
    assert convolution_theorem(x, k, "circular").holds()


def test_linear_and_circular_differ_when_the_kernel_wraps():
    rng = np.random.default_rng(5)
    x, k = rng.standard_normal(10), rng.standard_normal(4)
    circ = convolution_theorem(x, k, "circular").spatial
    lin = convolution_theorem(x, k, "linear").spatial
    assert not np.allclose(circ, lin[:10])
    np.testing.assert_allclose(circ[3:], lin[3:10])  # no wrap-around beyond the kernel's reach


@pytest.mark.parametrize(
    ("x", "k", "kind", "match"),
    [
        (np.ones(4), np.ones(3), "cyclic", "kind"),
        (np.ones(4), np.ones(5), "circular", "no larger"),
        (np.ones((4, 4)), np.ones(3), "linear", "same number of dimensions"),
        (np.ones(0), np.ones(3), "linear", "x must be a non-empty"),
        (np.array(["a", "b"]), np.ones(1), "linear", "numeric"),
    ],
)
def test_convolution_theorem_bad_inputs(x, k, kind, match):
    with pytest.raises(ValueError, match=match):
        convolution_theorem(x, k, kind)


# ---------------------------------------------------------------------------------------------------- bad images
@pytest.mark.parametrize(
    ("image", "match"),
    [(np.ones((4, 4, 3)), "2-D"), (np.ones((0, 3)), "empty"), (np.array([["a"]]), "numeric"), (np.ones(5), "2-D")],
)
@pytest.mark.parametrize("func", [dft2, log_magnitude, radial_power, fit_power_law])
def test_image_functions_name_the_bad_argument(func, image, match):
    with pytest.raises(FreqlensError, match=f"image.*{match}|{match}.*image"):
        func(image)


def test_bad_norm_and_window():
    with pytest.raises(ValueError, match="norm"):
        dft2(np.ones((4, 4)), norm="unitary")
    with pytest.raises(ValueError, match="window"):
        radial_power(np.ones((4, 4)), window="kaiser-ish")


def test_nan_propagates_without_crashing():
    img = np.ones((8, 8))
    img[2, 3] = np.nan
    assert np.isnan(dft2(img).values).all()
    assert np.isnan(radial_power(img)[1]).all()


def test_torch_input_is_accepted():
    torch = pytest.importorskip("torch")
    img = torch.ones(4, 4, dtype=torch.float64)
    assert dft2(img, norm="forward").values[2, 2] == pytest.approx(1.0)


def test_huge_noise_image_is_refused_before_allocating():
    with pytest.raises(FreqlensError, match="GiB of memory"):
        power_law_noise((10**6, 10**6), 2.0, seed=0)


def test_docstring_examples_run():
    import doctest

    import freqlens.spectrum.image as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0
