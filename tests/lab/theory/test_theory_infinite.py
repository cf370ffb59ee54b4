"""The closed-form infinite-width NTK: hand-computed values, and the limit of wide finite networks."""

import numpy as np
import pytest
import torch
from scipy import integrate, special

from freqlens.lab.theory import empirical_ntk, infinite_ntk, ntk_mlp


def test_relu_depth_one_by_hand():
    # x = e1, e2 (d = 2): Σ¹ = diag(1/2); ReLU layer: E[φ²] = Σ/2, E[φ'²] = 1/2, off-diagonal θ = π/2
    x = np.eye(2)
    k, nngp = infinite_ntk(x, depth=1, activation="relu", return_nngp=True)
    np.testing.assert_allclose(k, [[0.5, 1 / (4 * np.pi)], [1 / (4 * np.pi), 0.5]], rtol=1e-14)
    np.testing.assert_allclose(nngp, [[0.25, 1 / (4 * np.pi)], [1 / (4 * np.pi), 0.25]], rtol=1e-14)


def test_erf_expectations_against_quadrature():
    """One erf layer on a single input of variance s: E[erf(u)²] and E[erf'(u)²] by numerical integration."""
    x = np.array([[0.7, -1.1]])
    sw, sb = 1.4, 0.3
    s = sw ** 2 * np.sum(x ** 2) / 2 + sb ** 2
    pdf = lambda u: np.exp(-u * u / (2 * s)) / np.sqrt(2 * np.pi * s)  # noqa: E731
    e_phi2 = integrate.quad(lambda u: special.erf(u) ** 2 * pdf(u), -np.inf, np.inf)[0]
    e_dphi2 = integrate.quad(lambda u: (2 / np.sqrt(np.pi) * np.exp(-u * u)) ** 2 * pdf(u), -np.inf, np.inf)[0]
    sigma2 = sw ** 2 * e_phi2 + sb ** 2
    theta = sigma2 + s * sw ** 2 * e_dphi2
    k = infinite_ntk(x, depth=1, activation="erf", sigma_w=sw, sigma_b=sb)
    assert k[0, 0] == pytest.approx(theta, rel=1e-10)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_empirical_ntk_approaches_the_limit_as_width_grows(activation):
    x = np.random.default_rng(0).normal(size=(6, 3))
    limit = infinite_ntk(x, depth=2, activation=activation, sigma_w=1.5, sigma_b=0.2)
    errors = []
    for width in (32, 256, 2048):
        e = []
        for seed in range(3):
            net = ntk_mlp(3, [width, width], 1, activation=activation, sigma_w=1.5, sigma_b=0.2,
                          generator=torch.Generator().manual_seed(seed))
            e.append(np.linalg.norm(empirical_ntk(net, x) - limit) / np.linalg.norm(limit))
        errors.append(np.mean(e))
    # fluctuations of order 1/sqrt(width): each 8x wider network at least halves the distance
    assert errors[1] < errors[0] / 2 and errors[2] < errors[1] / 2, errors
    assert errors[2] < 0.06, errors


def test_symmetric_psd_and_torch_in_torch_out():
    x = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for act in ("relu", "erf"):
        k = infinite_ntk(x, depth=3, activation=act, sigma_b=0.5)
        assert isinstance(k, torch.Tensor) and torch.allclose(k, k.T, atol=1e-14)
        assert torch.linalg.eigvalsh(k).min() > -1e-12
    k12 = infinite_ntk(x[:3], x[3:], activation="relu")
    np.testing.assert_allclose(k12, infinite_ntk(x, activation="relu")[:3, 3:], rtol=1e-12)


def test_bad_arguments():
    x = np.ones((2, 2))
    with pytest.raises(ValueError, match="activation must be one of relu, erf"):
        infinite_ntk(x, activation="tanh")
    with pytest.raises(ValueError, match="depth"):
        infinite_ntk(x, depth=0)
    with pytest.raises(ValueError, match="same d"):
        infinite_ntk(x, np.ones((2, 3)))
    with pytest.raises(ValueError, match="hidden"):
        ntk_mlp(2, [], 1)
