"""Smoothing, kernel density estimation and linear response against pandas, scipy and closed forms."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, stats

from freqlens import FreqlensError
from freqlens.conv.apps import timeseries
from freqlens.conv.apps.timeseries import (
    decay_kernel,
    exponential_smooth,
    gaussian_smooth,
    kde,
    linear_response,
    moving_average,
)

RNG = np.random.default_rng(42)
X = np.cumsum(RNG.standard_normal(300))


def test_doctests():
    assert doctest.testmod(timeseries).failed == 0


# --- moving average ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_moving_average_valid_matches_numpy_and_pandas(n):
    out = moving_average(X, n, mode="valid")
    np.testing.assert_allclose(out, np.convolve(X, np.ones(n) / n, mode="valid"), atol=1e-12)
    np.testing.assert_allclose(out, pd.Series(X).rolling(n).mean().to_numpy()[n - 1:], atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    x=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40),
    n=st.integers(1, 12),
)
def test_moving_average_same_is_the_mean_of_the_samples_in_the_window(x, n):
    x = np.asarray(x)
    out = moving_average(x, n)
    before, after = n // 2, n - 1 - n // 2  # an even window has its extra sample before the centre
    brute = [x[max(0, i - before): i + after + 1].mean() for i in range(x.size)]
    np.testing.assert_allclose(out, brute, rtol=1e-9, atol=1e-9)


def test_moving_average_along_an_axis_of_a_2d_array():
    x2 = np.stack([X, 2 * X, -X])
    out = moving_average(x2, 4, axis=1)
    np.testing.assert_allclose(out[1], 2 * moving_average(X, 4), atol=1e-12)
    np.testing.assert_allclose(moving_average(x2.T, 4, axis=0), out.T, atol=1e-12)


def test_moving_average_nan_only_spoils_its_windows():
    x = X.copy()
    x[100] = np.nan
    out = moving_average(x, 5)
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(out)), np.arange(98, 103))


# --- Gaussian ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sigma", [0.8, 3.0])
def test_gaussian_smooth_equals_scipy_away_from_the_ends(sigma):
    r = int(4 * sigma + 0.5)
    out = gaussian_smooth(X, sigma)
    ref = ndimage.gaussian_filter1d(X, sigma)
    np.testing.assert_allclose(out[r:-r], ref[r:-r], atol=1e-12)
    np.testing.assert_allclose(gaussian_smooth(X, sigma, mode="valid"), ref[r:-r], atol=1e-12)


def test_gaussian_smooth_keeps_constants_up_to_the_ends():
    np.testing.assert_allclose(gaussian_smooth(np.full(20, 3.5), 4.0), 3.5, rtol=1e-12)


def test_gaussian_smooth_frequency_response_is_gaussian():
    n, f, sigma = 512, 16 / 512, 2.5
    x = np.cos(2 * np.pi * f * np.arange(n))
    y = gaussian_smooth(x, sigma, mode="valid")
    r = (n - y.size) // 2
    gain = y @ x[r:n - r] / (x[r:n - r] @ x[r:n - r])
    assert gain == pytest.approx(np.exp(-2 * np.pi**2 * sigma**2 * f**2), rel=2e-3)


# --- exponential -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0.05, 0.3, 1.0])
def test_exponential_smooth_matches_pandas_ewm(alpha):
    ref = pd.Series(X).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(exponential_smooth(X, alpha), ref, atol=1e-12)


def test_exponential_smooth_step_response_closed_form():
    alpha = 0.2
    step = np.r_[0.0, np.ones(30)]
    t = np.arange(31)
    np.testing.assert_allclose(exponential_smooth(step, alpha), 1 - (1 - alpha) ** t, atol=1e-12)


def test_exponential_smooth_axis_and_nan_propagates_forward_only():
    x2 = np.stack([X, X + 1])
    out = exponential_smooth(x2, 0.3, axis=1)
    np.testing.assert_allclose(out[1] - out[0], 1.0, atol=1e-9)
    np.testing.assert_allclose(exponential_smooth(x2.T, 0.3, axis=0), out.T, atol=1e-12)
    x = X.copy()
    x[50] = np.nan
    y = exponential_smooth(x, 0.3)
    assert np.all(np.isfinite(y[:50])) and np.all(np.isnan(y[50:]))


# --- KDE ---------------------------------------------------------------------------------------------------------

SAMPLES = np.concatenate([RNG.normal(-2, 0.5, 700), RNG.normal(1.5, 1.0, 300)])


@pytest.mark.parametrize("bandwidth", ["scott", "silverman"])
def test_kde_matches_scipy_gaussian_kde(bandwidth):
    grid, dens = kde(SAMPLES, 1024, bandwidth=bandwidth)
    ref = stats.gaussian_kde(SAMPLES, bw_method=bandwidth)(grid)
    assert np.max(np.abs(dens - ref)) < 1e-3 * ref.max()
    # The automatic grid stops 3 bandwidths past the extreme samples: a few 1e-6 of the mass lies outside.
    assert np.sum(dens) * (grid[1] - grid[0]) == pytest.approx(1.0, abs=1e-4)


def test_kde_binning_error_is_second_order_in_the_grid_step():
    errors = []
    for m in (256, 512, 1024):
        grid, dens = kde(SAMPLES, m)
        errors.append(np.max(np.abs(dens - stats.gaussian_kde(SAMPLES)(grid))))
    assert 3.0 < errors[0] / errors[1] < 5.0 and 3.0 < errors[1] / errors[2] < 5.0


def test_kde_with_weights_and_a_user_grid_matches_scipy():
    w = RNG.random(SAMPLES.size)
    grid = np.linspace(-6, 6, 801)
    x, dens = kde(SAMPLES, grid, weights=w)
    np.testing.assert_array_equal(x, grid)
    ref = stats.gaussian_kde(SAMPLES, weights=w)(grid)
    assert np.max(np.abs(dens - ref)) < 1e-3 * ref.max()


def test_kde_fixed_bandwidth_of_a_point_mass_is_the_kernel():
    grid = np.linspace(-1, 3, 401)  # the point 1.0 falls on a grid node
    _, dens = kde(np.full(5, 1.0), grid, bandwidth=0.2)
    np.testing.assert_allclose(dens, stats.norm.pdf(grid, 1.0, 0.2), atol=1e-12)


def test_kde_drops_samples_outside_a_user_grid():
    _, dens = kde(np.array([0.0, 0.0, 10.0, 10.0]), np.linspace(-3, 3, 601), bandwidth=0.3)
    assert np.sum(dens) * 0.01 == pytest.approx(0.5, abs=1e-6)


# --- linear response ---------------------------------------------------------------------------------------------

def test_single_dose_decays_exponentially():
    dose, t_half, dt = 100.0, 6.0, 0.5
    intake = np.zeros(200)
    intake[10] = dose
    a = linear_response(intake, half_life=t_half, dt=dt)
    t = (np.arange(200) - 10) * dt
    np.testing.assert_allclose(a[10:], dose * np.exp(-np.log(2) * t[10:] / t_half), rtol=1e-12)
    assert np.all(a[:10] == 0)


def test_repeated_doses_follow_the_geometric_superposition():
    dose, tau, t_half = 50.0, 8, 12.0
    intake = np.zeros(8 * 30)
    intake[::tau] = dose
    a = linear_response(intake, half_life=t_half)
    r = 2 ** (-tau / t_half)
    k = np.arange(1, 31)
    np.testing.assert_allclose(a[::tau], dose * (1 - r**k) / (1 - r), rtol=1e-12)  # just after each dose
    assert a.max() < dose / (1 - r)  # approaches the steady-state peak from below


def test_kernel_and_half_life_forms_are_equivalent():
    intake = RNG.random(120) * (RNG.random(120) < 0.2)
    kernel = decay_kernel(7.0, 0.5, 300)
    np.testing.assert_allclose(
        linear_response(intake, kernel=kernel, dt=0.5, length=250),
        linear_response(intake, half_life=7.0, dt=0.5, length=250),
        rtol=1e-10, atol=1e-12,
    )


def test_general_kernel_equals_numpy_convolve_and_nan_is_causal():
    intake = RNG.random(60)
    kernel = np.array([0.2, 0.5, 0.2, 0.1])  # e.g. absorption then elimination
    np.testing.assert_allclose(linear_response(intake, kernel=kernel), np.convolve(intake, kernel)[:60], atol=1e-12)
    intake[30] = np.nan
    for kw in ({"kernel": kernel}, {"half_life": 3.0}):
        out = linear_response(intake, **kw)
        assert np.all(np.isfinite(out[:30])) and np.isnan(out[30])


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: moving_average(X, 0), "n"),
        (lambda: moving_average(X, 2.5), "n"),
        (lambda: moving_average(X[:5], 6, mode="valid"), "valid"),
        (lambda: moving_average(X, 3, mode="full"), "mode"),
        (lambda: moving_average(X, 3, axis=1), "axis"),
        (lambda: moving_average([], 3), "x is empty"),
        (lambda: moving_average(["a", "b"], 1), "x"),
        (lambda: gaussian_smooth(X, 0), "sigma"),
        (lambda: gaussian_smooth(X[:5], 2.0, mode="valid"), "valid"),
        (lambda: exponential_smooth(X, 0.0), "alpha"),
        (lambda: exponential_smooth(X, 1.5), "alpha"),
        (lambda: kde([1.0, np.nan]), "samples"),
        (lambda: kde(np.ones(5)), "bandwidth"),
        (lambda: kde(SAMPLES, bandwidth="wide"), "bandwidth"),
        (lambda: kde(SAMPLES, bandwidth=-1.0), "bandwidth"),
        (lambda: kde(SAMPLES, [0.0, 1.0, 3.0]), "evenly spaced"),
        (lambda: kde(SAMPLES, 1), "grid"),
        (lambda: kde(SAMPLES, weights=np.ones(3)), "weights"),
        (lambda: kde(SAMPLES, weights=-np.ones(SAMPLES.size)), "weights"),
        (lambda: kde(SAMPLES, 10**12), "memory"),
        (lambda: linear_response([1.0]), "half_life"),
        (lambda: linear_response([1.0], half_life=1.0, kernel=[1.0]), "exactly one"),
        (lambda: linear_response([1.0], half_life=-1.0), "half_life"),
        (lambda: linear_response([1.0], half_life=1.0, dt=0), "dt"),
        (lambda: linear_response(np.ones((2, 2)), half_life=1.0), "intake"),
    ],
)
def test_bad_input_raises_freqlens_error(call, match):
    with pytest.raises(FreqlensError, match=match):
        call()
