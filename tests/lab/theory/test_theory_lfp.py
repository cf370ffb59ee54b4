"""γ(ξ)² of the linear F-Principle, the two-layer networks it describes, and predicted convergence times."""

import numpy as np
import pytest
import torch
from scipy import integrate

from freqlens.lab.theory import (gamma2, lfp_convergence_time, lfp_time_scale, relu_coefficients, two_layer_net,
                                 two_layer_parameters)

RNG = np.random.default_rng(0)


def test_relu_gamma2_is_the_mean_over_neurons_of_the_formula():
    a, w = RNG.uniform(-1, 1, 50), RNG.uniform(-3, 3, 50)
    xi = np.array([0.3, 1.0, 7.5])
    direct = np.array([np.mean(np.abs(w) ** 3 / (16 * np.pi ** 4 * s ** 4)
                               + a ** 2 * np.abs(w) / (4 * np.pi ** 2 * s ** 2)) for s in xi])
    np.testing.assert_allclose(gamma2(xi, a, w), direct, rtol=1e-13)
    A, B = relu_coefficients(a, w)
    np.testing.assert_allclose(gamma2(xi, a, w), A / xi ** 4 + B / xi ** 2, rtol=1e-13)
    # d-dimensional inputs: |w| is the norm and the powers are d + 3, d + 1
    w2 = RNG.normal(size=(50, 2))
    r = np.linalg.norm(w2, axis=1)
    expect = np.mean(r ** 3 / (16 * np.pi ** 4 * 2.0 ** 5) + a ** 2 * r / (4 * np.pi ** 2 * 2.0 ** 3))
    assert gamma2(2.0, a, w2) == pytest.approx(expect, rel=1e-13)


def test_tanh_building_block_is_the_fourier_transform_of_sech2():
    """|F[tanh'](ν)|² = (2π²ν / sinh(π²ν))², checked by quadrature of ∫ sech²(x) cos(2πνx) dx."""
    for nu in (0.05, 0.2, 0.5):
        f = integrate.quad(lambda x: np.cos(2 * np.pi * nu * x) / np.cosh(x) ** 2, -40, 40, limit=400)[0]
        assert f == pytest.approx(2 * np.pi ** 2 * nu / np.sinh(np.pi ** 2 * nu), rel=1e-8)
    # so tanh's γ² (a = w-scale terms) is the formula, neuron by neuron, and decays exponentially
    a, w = np.array([0.7]), np.array([1.3])
    xi = 0.4
    z = np.pi ** 2 * xi / 1.3
    expect = np.pi ** 2 / (1.3 * np.sinh(z) ** 2) + 4 * np.pi ** 4 * 0.49 * xi ** 2 / (1.3 ** 3 * np.sinh(z) ** 2)
    assert gamma2(xi, a, w, activation="tanh") == pytest.approx(expect, rel=1e-13)
    g = gamma2(np.array([1.0, 2.0, 3.0]), RNG.uniform(-1, 1, 20), RNG.uniform(-1, 1, 20), activation="tanh")
    assert g[2] / g[1] < g[1] / g[0] * 1.01  # log-concave tail: faster than any power law
    assert g[2] < 1e-6 * g[0]


def test_convergence_time_formula_and_ordering():
    a, w = RNG.uniform(-1, 1, 100), RNG.uniform(-1, 1, 100)
    xi = np.array([0.5, 1.0, 2.0])
    g = gamma2(xi, a, w)
    p = lfp_time_scale(100, 0.5, 1e-3, 2 * np.pi)
    assert p == pytest.approx(2 * 1e-3 * 100 * 0.5 / (2 * np.pi))
    t = lfp_convergence_time(g, p=p, delta0=1.0, eps=0.05)
    np.testing.assert_allclose(t, np.log(20) / (p * g))
    assert t[0] < t[1] < t[2]
    assert lfp_convergence_time(g, p=p, delta0=[1.0, 0.01, 1.0])[1] == 0.0


def test_two_layer_net_ranges_and_symmetric_init():
    net = two_layer_net(400, w_range=(-3, 3), b_range=(-3, 3), a_range=(-0.01, 0.01),
                        generator=torch.Generator().manual_seed(0))
    p = two_layer_parameters(net)
    assert p["w"].shape == (400, 1) and p["a"].shape == (400,) and p["b"].shape == (400,)
    assert np.abs(p["w"]).max() <= 3 and np.abs(p["a"]).max() <= 0.01 and np.abs(p["a"]).max() > 0.009
    sym = two_layer_net(400, symmetric=True, generator=torch.Generator().manual_seed(0))
    x = torch.linspace(-2, 2, 9, dtype=torch.float64).unsqueeze(1)
    assert sym(x).abs().max().item() < 1e-12  # twin neurons cancel (up to rounding)
    q = two_layer_parameters(sym)
    np.testing.assert_array_equal(q["a"][:200], -q["a"][200:])


def test_bad_arguments():
    with pytest.raises(ValueError, match="nonzero"):
        gamma2(0.0, [1.0], [1.0])
    with pytest.raises(ValueError, match="activation"):
        gamma2(1.0, [1.0], [1.0], activation="sin")
    with pytest.raises(ValueError, match="same neurons"):
        gamma2(1.0, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="even width"):
        two_layer_net(5, symmetric=True)
    with pytest.raises(ValueError, match="w_range"):
        two_layer_net(4, w_range=(1.0, -1.0))
    with pytest.raises(ValueError, match="lr"):
        lfp_time_scale(10, 0.5, -1.0, 1.0)
    with pytest.raises(TypeError, match="two_layer_net"):
        two_layer_parameters(torch.nn.Linear(1, 1))
