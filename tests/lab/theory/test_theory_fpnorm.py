"""The minimum-FP-norm interpolant: closed forms, the numerical solution on a fine grid, the kernel limits."""

import numpy as np
import pytest
import scipy.interpolate
import torch

from freqlens.lab.theory import (REGIMES, empirical_ntk, fp_spline, min_fp_norm_interpolant, two_layer_kernel_limit,
                                 two_layer_net)

XN = np.array([-1.0, -0.2, 0.4, 1.0])
YN = np.array([0.0, 1.0, -0.3, 0.2])
XE = np.linspace(-1.5, 1.5, 121)
INSIDE = (XE >= -1) & (XE <= 1)


def test_closed_form_limits_are_the_natural_cubic_and_the_linear_spline():
    cubic = scipy.interpolate.CubicSpline(XN, YN, bc_type="natural")(XE[INSIDE])
    np.testing.assert_allclose(fp_spline(XN, YN, XE[INSIDE], A=2.0, B=0.0), cubic, atol=1e-12)
    np.testing.assert_allclose(fp_spline(XN, YN, XE, A=0.0, B=3.0), np.interp(XE, XN, YN), atol=1e-12)
    # interpolation holds for any mixture
    np.testing.assert_allclose(fp_spline(XN, YN, XN, A=1.0, B=50.0), YN, atol=1e-12)


@pytest.mark.parametrize("A, B", [(1.0, 0.0), (0.0, 1.0), (1.0, 30.0)])
def test_numerical_solution_converges_to_the_closed_form(A, B):
    g = lambda xi: A / xi ** 4 + B / xi ** 2  # noqa: E731
    ref = fp_spline(XN, YN, XE, A=A, B=B)
    errors = [np.abs(min_fp_norm_interpolant(XN, YN, XE, g, period=P, n_freqs=8192) - ref).max() for P in (15, 60)]
    assert errors[1] < errors[0] / 2.5, errors  # error ∝ 1/period
    default = min_fp_norm_interpolant(XN, YN, XE, g)
    assert np.abs(default - ref).max() < 0.01 * np.abs(ref).max()
    np.testing.assert_allclose(min_fp_norm_interpolant(XN, YN, XN, g), YN, atol=1e-8)


def test_null_space_choice():
    g4 = lambda xi: 1 / xi ** 4  # noqa: E731
    line = 0.3 + 0.7 * XN
    np.testing.assert_allclose(min_fp_norm_interpolant(XN, line, XE, g4), 0.3 + 0.7 * XE, atol=1e-9)
    const = min_fp_norm_interpolant(XN, line, XE, g4, null_space="constant")
    assert np.abs(const - (0.3 + 0.7 * XE)).max() > 1e-3


@pytest.mark.parametrize("regime", list(REGIMES))
def test_two_layer_kernel_limit_is_the_wide_network_kernel_per_neuron(regime):
    x = np.linspace(-1, 1, 7)
    limit = two_layer_kernel_limit(x, **REGIMES[regime])
    net = two_layer_net(40000, generator=torch.Generator().manual_seed(0), **REGIMES[regime])
    emp = empirical_ntk(net, x[:, None]) / 40000
    assert np.linalg.norm(emp - limit) / np.linalg.norm(limit) < 0.02
    assert np.allclose(limit, limit.T) and np.linalg.eigvalsh(limit).min() > -1e-12
    finer = two_layer_kernel_limit(x, n_panels=256, n_nodes=48, **REGIMES[regime])
    np.testing.assert_allclose(limit, finer, rtol=1e-10)


def test_bad_arguments():
    g = lambda xi: 1 / xi ** 2  # noqa: E731
    with pytest.raises(ValueError, match="distinct"):
        min_fp_norm_interpolant([0.0, 0.0], [1.0, 2.0], XE, g)
    with pytest.raises(ValueError, match="period"):
        min_fp_norm_interpolant(XN, YN, XE, g, period=1.0)
    with pytest.raises(ValueError, match="gamma2_fn"):
        min_fp_norm_interpolant(XN, YN, XE, lambda xi: -xi)
    with pytest.raises(ValueError, match="null_space"):
        min_fp_norm_interpolant(XN, YN, XE, g, null_space="quadratic")
    with pytest.raises(ValueError, match="not both 0"):
        fp_spline(XN, YN, XE, A=0.0, B=0.0)
