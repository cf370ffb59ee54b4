import numpy as np
import pytest
import scipy.fft
import torch

from freqlens.spectrum.dft import nudft
from freqlens.spectrum.nufft import (
    NudftPlan,
    choose_method,
    finufft_available,
    nudft_direct,
    principal_direction,
    uniform_step,
)

METHODS = ["direct"] + (["finufft"] if finufft_available() else [])


@pytest.mark.parametrize("method", METHODS)
def test_uniform_grid_equals_the_fft(method):
    n = 64
    v = np.arange(n) / n                       # whole period [0, 1), endpoint excluded
    y = np.random.default_rng(0).normal(size=(n, 3))
    ref = scipy.fft.fft(y, axis=0, norm="forward")[:20]
    np.testing.assert_allclose(nudft_direct(v, y, np.arange(20)), ref, atol=1e-14)
    plan = NudftPlan(v, np.arange(20), n_columns=3, method=method)
    np.testing.assert_allclose(plan(y), ref, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_pure_tone_at_scattered_points(method):
    # exp(2 pi i k0 v) at any positions: F(k0) = 1 exactly; a real cosine gives 1/2 at k0 on a uniform grid
    rng = np.random.default_rng(1)
    v = rng.uniform(-3, 5, 500)
    k0 = 1.75
    grid = np.arange(40) * 0.25                 # k0 is grid point 7
    tone = np.exp(2j * np.pi * k0 * v)
    out = NudftPlan(v, grid, method=method)(tone)
    assert abs(out[7] - 1.0) < 1e-9
    cos_out = NudftPlan(np.arange(32) / 32, np.arange(10), method=method)(np.cos(2 * np.pi * 3 * np.arange(32) / 32))
    np.testing.assert_allclose(np.abs(cos_out), [0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0], atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("grid", ["uniform", "scattered"])
def test_plan_matches_the_reference_nudft(method, grid):
    rng = np.random.default_rng(2)
    v = rng.normal(size=3000) * 2
    y = rng.random((3000, 10))
    freqs = np.arange(100) * 0.02 if grid == "uniform" else np.sort(rng.uniform(0, 2, 100))
    ref = nudft(v, y, freqs)                   # freqlens.spectrum.dft's direct sum
    plan = NudftPlan(v, freqs, n_columns=10, method=method)
    if method == "finufft":
        assert plan.kind == (1 if grid == "uniform" else 3)
    np.testing.assert_allclose(plan(y), ref, atol=1e-9 * np.abs(y).sum() / 3000)
    np.testing.assert_allclose(plan(torch.as_tensor(y[:, 0])), ref[:, 0], atol=1e-9)


def test_direct_sum_reduces_large_phases_accurately():
    # k v ~ 1e6 cycles: forming 2 pi k v before reducing would lose ~10 digits
    v = np.array([1e6 + 0.25])
    out = nudft_direct(v, np.ones(1), [1.0])
    assert abs(out[0] - np.exp(-2j * np.pi * 0.25)) < 1e-9


def test_principal_direction_matches_svd():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8)) + 5.0
    u, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    p = principal_direction(x)
    assert abs(abs(p @ vt[0]) - 1) < 1e-10
    assert p[np.argmax(np.abs(p))] > 0
    np.testing.assert_allclose(principal_direction(-x + 3), p, atol=1e-10)   # sign fixed, not data-dependent


def test_principal_direction_without_a_covariance_matrix():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 5000)) * 0.1
    x[:, 123] += rng.normal(size=60) * 5
    p = principal_direction(x)
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    assert abs(abs(p @ vt[0]) - 1) < 1e-8


def test_uniform_step_and_choice():
    assert uniform_step(np.arange(5) * 0.3) == pytest.approx(0.3)
    assert uniform_step([0.0, 1.0, 3.0]) is None
    assert uniform_step([1.0, 2.0]) is None
    assert choose_method(60000, 4096, 10) == ("finufft" if finufft_available() else "direct")


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        NudftPlan(np.zeros(3), [0.0, 1.0], method="fft")
    with pytest.raises(ValueError, match="freqs"):
        NudftPlan(np.zeros(3), [np.nan])
    with pytest.raises(ValueError, match="NaN"):
        nudft_direct(np.array([0.0, np.inf]), np.zeros(2), [1.0])
    with pytest.raises(ValueError, match="same length"):
        nudft_direct(np.zeros(3), np.zeros(4), [1.0])
    plan = NudftPlan(np.zeros(3), [0.0, 1.0], method="direct")
    with pytest.raises(ValueError, match="3 rows"):
        plan(np.zeros(5))


def test_direct_plan_without_a_kept_phase_matrix(monkeypatch):
    import freqlens.spectrum.nufft as nf

    monkeypatch.setattr(nf, "_PHASE_KEEP_BYTES", 1000)
    rng = np.random.default_rng(5)
    v, y = rng.normal(size=200), rng.random((200, 2))
    plan = NudftPlan(v, np.arange(30) * 0.1, n_columns=2, method="direct")
    assert plan._cos is None
    np.testing.assert_allclose(plan(y), nudft(v, y, np.arange(30) * 0.1), atol=1e-13)
