"""Coordinate networks: shapes, the mappings' frequencies, SIREN's and MscaleDNN's definitions, seeds, bad input,
and the Fourier-feature result of Tancik et al. on a small image."""

import doctest
import importlib
import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens.errors import ConfigError
from freqlens.lab.models.coords import COORDINATE_MODELS, Siren, coordinate_model
from freqlens.lab.models.fourier import BasicFourierFeatures, GaussianFourierFeatures, PositionalEncoding
from freqlens.lab.models.mlp import mlp
from freqlens.lab.models.mscale import MscaleMLP, MscaleSum, s2relu, srelu
from freqlens.spectrum import dft, periodic_grid

SMALL = [32, 32]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def one_thread():
    """Small matrices train faster on one thread, and a shared machine does not oversubscribe its cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# -- every model ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", COORDINATE_MODELS)
@pytest.mark.parametrize("in_dim,out_dim", [(1, 1), (2, 3)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_model_maps_points_to_values(name, in_dim, out_dim, dtype):
    net = coordinate_model(name, in_dim, out_dim, hidden=SMALL, mapping_size=16, scales=[1, 2, 4], output="sigmoid",
                           generator=0, dtype=dtype)
    out = net(torch.rand(7, in_dim, generator=gen(1), dtype=dtype))
    assert out.shape == (7, out_dim) and out.dtype == dtype
    assert torch.all((out > 0) & (out < 1))                       # the sigmoid output
    assert all(p.dtype == dtype for p in net.state_dict().values() if p.is_floating_point())


@pytest.mark.parametrize("name", COORDINATE_MODELS)
def test_same_seed_same_network_and_global_rng_untouched(name):
    before = torch.get_rng_state()
    a = coordinate_model(name, 2, 1, hidden=SMALL, mapping_size=8, scales=[1, 2], generator=gen(3))
    b = coordinate_model(name, 2, 1, hidden=SMALL, mapping_size=8, scales=[1, 2], generator=3)
    c = coordinate_model(name, 2, 1, hidden=SMALL, mapping_size=8, scales=[1, 2], generator=4)
    assert torch.equal(torch.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_plain_model_is_the_labs_mlp():
    """``mlp`` without output squashing is freqlens.lab.models.mlp.mlp itself, parameter for parameter."""
    net = coordinate_model("mlp", 1, 1, hidden=[20, 10], activation="tanh", init="normal", generator=5)
    ref = mlp(1, [20, 10], 1, activation="tanh", init="normal", generator=gen(5))
    assert [torch.equal(p, q) for p, q in zip(net.parameters(), ref.parameters())] == [True] * 6


# -- the mappings --------------------------------------------------------------------------------------------
def test_basic_mapping_closed_form():
    v = torch.rand(50, 2, generator=gen(0), dtype=torch.float64)
    f = BasicFourierFeatures(2, period=2.0, dtype=torch.float64)
    ref = np.concatenate([np.cos(np.pi * v.numpy()), np.sin(np.pi * v.numpy())], axis=1)   # 2π v / P, P = 2
    np.testing.assert_allclose(f(v).numpy(), ref, atol=1e-12)
    assert f.out_dim == 4


def test_positional_encoding_of_a_pure_tone_peaks_at_its_frequencies():
    """In 1-D with period 2π the features are cos(f_j x), sin(f_j x): each column's DFT peaks in bin f_j."""
    x = periodic_grid(64)                                       # [−π, π), endpoint excluded
    pe = PositionalEncoding(1, n_freqs=4, max_freq=8, period=2 * np.pi, dtype=torch.float64)
    np.testing.assert_allclose(pe.B.flatten().numpy(), [1, 2, 4, 8])
    feats = pe(torch.as_tensor(x).unsqueeze(1)).numpy()        # (64, 8): 4 cosines then 4 sines
    assert feats.shape == (64, 8)
    for j, f in enumerate([1, 2, 4, 8]):
        for col in (j, 4 + j):
            mag = np.abs(dft(feats[:, col]))[:33]
            assert int(np.argmax(mag)) == f
            np.testing.assert_allclose(mag[f], 0.5, atol=1e-12)     # unit tone: half in bin f, half in −f
            assert np.delete(mag, f).max() < 1e-12


def test_positional_encoding_2d_is_axis_aligned_and_geometric():
    pe = PositionalEncoding(2, n_freqs=5, max_freq=16.0)
    B = pe.B.numpy()
    np.testing.assert_allclose(B[:5, 0], np.geomspace(1, 16, 5), rtol=1e-6)
    np.testing.assert_allclose(B[5:, 1], np.geomspace(1, 16, 5), rtol=1e-6)
    assert np.all(B[:5, 1] == 0) and np.all(B[5:, 0] == 0)
    assert pe.out_dim == 20
    # the factory's default: as many features as the Gaussian mapping
    net = coordinate_model("ff-positional", 2, 1, hidden=[8], mapping_size=64, max_freq=32.0)
    assert net[0].B.shape == (64, 2) and float(net[0].B.max()) == pytest.approx(32.0)


def test_gaussian_mapping_draws_b_from_n0_sigma2_and_stores_it():
    f = GaussianFourierFeatures(2, mapping_size=512, sigma=10.0, generator=gen(0), dtype=torch.float64)
    b = f.B.numpy().ravel()
    assert f.B.shape == (512, 2)
    # 1,024 draws: a KS test against N(0, 10²) at the 0.1 % level
    assert scipy.stats.kstest(b, scipy.stats.norm(scale=10.0).cdf).pvalue > 1e-3
    v = torch.rand(9, 2, generator=gen(1), dtype=torch.float64)
    phase = 2 * np.pi * v.numpy() @ b.reshape(512, 2).T
    np.testing.assert_allclose(f(v).numpy(), np.concatenate([np.cos(phase), np.sin(phase)], 1), atol=1e-9)


def test_gaussian_b_is_in_the_state_dict_and_restores_the_function():
    a = coordinate_model("ff-gaussian", 2, 1, hidden=SMALL, mapping_size=16, generator=1)
    b = coordinate_model("ff-gaussian", 2, 1, hidden=SMALL, mapping_size=16, generator=2)
    assert "0.B" in a.state_dict() and not torch.equal(a[0].B, b[0].B)
    b.load_state_dict(a.state_dict())
    v = torch.rand(5, 2, generator=gen(0))
    assert torch.equal(a(v), b(v))


def test_period_sets_the_unit_of_sigma():
    """The same B in cycles per period: a domain twice as long gives the same features at twice the coordinate."""
    a = coordinate_model("ff-gaussian", 1, 1, hidden=[4], mapping_size=8, sigma=3.0, period=1.0, generator=0,
                         dtype=torch.float64)
    b = coordinate_model("ff-gaussian", 1, 1, hidden=[4], mapping_size=8, sigma=3.0, period=2 * np.pi,
                         generator=0, dtype=torch.float64)
    v = torch.rand(6, 1, generator=gen(1), dtype=torch.float64)
    torch.testing.assert_close(a[0](v), b[0](2 * np.pi * v))


def test_one_dimensional_lab_inputs_with_period_two_pi():
    """On the 1-D lab's grid x ∈ [−π, π), ``period=2π`` makes the basic mapping cos x, sin x (DFT bin 1) and
    scales SIREN's input to [−1, 1)."""
    grid = periodic_grid(64)
    x = torch.as_tensor(grid).unsqueeze(1)
    basic = coordinate_model("ff-basic", 1, 1, hidden=[8], period=2 * np.pi, dtype=torch.float64)
    feats = basic[0](x).numpy()
    np.testing.assert_allclose(feats, np.stack([np.cos(grid), np.sin(grid)], 1), atol=1e-12)
    assert int(np.argmax(np.abs(dft(feats[:, 0]))[:33])) == 1
    siren = coordinate_model("siren", 1, 1, hidden=[8], period=2 * np.pi)
    assert siren.input_scale == pytest.approx(1 / np.pi)
    assert float((x * siren.input_scale).min()) == pytest.approx(-1.0)


# -- SIREN ---------------------------------------------------------------------------------------------------
def test_siren_initialisation_distribution():
    """First layer U(−1/n, 1/n); later layers U(±√(6/n)/ω0); biases U(±1/√n): KS tests at the 0.1 % level and
    every draw inside its bounds."""
    omega0 = 30.0
    net = Siren(2, [256, 256, 256], 1, omega0=omega0, generator=gen(0), dtype=torch.float64)
    fan_in = [2, 256, 256, 256]
    for i, (lin, n) in enumerate(zip(net.layers, fan_in)):
        bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / omega0
        w = lin.weight.detach().numpy().ravel()
        assert np.abs(w).max() <= bound
        if w.size >= 256:
            assert scipy.stats.kstest(w, scipy.stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue > 1e-3
        bb = 1.0 / math.sqrt(n)
        b = lin.bias.detach().numpy()
        assert np.abs(b).max() <= bb
        if b.size >= 256:
            assert scipy.stats.kstest(b, scipy.stats.uniform(loc=-bb, scale=2 * bb).cdf).pvalue > 1e-3


def test_siren_forward_closed_form():
    net = coordinate_model("siren", 2, 1, hidden=[16, 16], omega0=30.0, period=1.0, generator=0,
                           dtype=torch.float64)
    v = torch.rand(4, 2, generator=gen(1), dtype=torch.float64)
    W = [lin.weight.detach() for lin in net.layers]
    b = [lin.bias.detach() for lin in net.layers]
    h = torch.sin(30.0 * (2.0 * v @ W[0].T + b[0]))              # input scaled by 2 / period
    h = torch.sin(30.0 * (h @ W[1].T + b[1]))
    torch.testing.assert_close(net(v), h @ W[2].T + b[2])


# -- MscaleDNN -----------------------------------------------------------------------------------------------
@given(st.floats(-3, 3, allow_nan=False))
@settings(max_examples=60, deadline=None)
def test_srelu_and_s2relu_closed_forms(x):
    t = torch.tensor([x], dtype=torch.float64)
    bump = x * (1 - x) if 0 <= x <= 1 else 0.0
    assert float(srelu(t)) == pytest.approx(bump, abs=1e-12)
    assert float(s2relu(t)) == pytest.approx(bump * math.sin(2 * math.pi * x), abs=1e-12)


def test_mscale_scales_the_first_layers_preactivations():
    net = coordinate_model("mscale", 1, 1, hidden=[7, 5], scales=[1, 2, 4], activation="srelu", generator=0,
                           dtype=torch.float64)
    assert isinstance(net, MscaleMLP)
    np.testing.assert_array_equal(net.neuron_scales.numpy(), [1, 1, 1, 2, 2, 4, 4])   # numpy.array_split groups
    v = torch.linspace(-1, 1, 11, dtype=torch.float64).unsqueeze(1)
    W0, b0 = net.first.weight.detach(), net.first.bias.detach()
    h = srelu(torch.tensor([1, 1, 1, 2, 2, 4, 4.0], dtype=torch.float64) * (v @ W0.T + b0))
    torch.testing.assert_close(net(v), net.rest(h))


def test_mscale_sub_sums_one_subnetwork_per_scaled_input():
    net = coordinate_model("mscale-sub", 2, 1, hidden=[8, 8], scales=[1, 3], generator=0, dtype=torch.float64)
    assert isinstance(net, MscaleSum) and len(net.subnets) == 2
    v = torch.rand(5, 2, generator=gen(1), dtype=torch.float64)
    torch.testing.assert_close(net(v), net.subnets[0](v) + net.subnets[1](3 * v))
    assert net.subnets[0][1].__class__.__name__ == "S2ReLU"           # the default activation


# -- bad input -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"name": "ff-gaussian", "sigma": 0.0}, "sigma"),
    ({"name": "ff-gaussian", "sigma": -1.0}, "sigma"),
    ({"name": "ff-gaussian", "sigma": float("nan")}, "sigma"),
    ({"name": "ff-gaussian", "mapping_size": 0}, "mapping_size"),
    ({"name": "ff-positional", "mapping_size": 0}, "mapping_size"),
    ({"name": "ff-positional", "n_freqs": 0}, "n_freqs"),
    ({"name": "ff-positional", "max_freq": 0.0}, "max_freq"),
    ({"name": "fourier"}, "model must be one of mlp, ff-basic"),
    ({"name": "mlp", "activation": "swish"}, "activation"),
    ({"name": "siren", "activation": "relu"}, "sine"),
    ({"name": "siren", "omega0": 0.0}, "omega0"),
    ({"name": "mlp", "output": "tanh"}, "output"),
    ({"name": "mlp", "hidden": []}, "hidden"),
    ({"name": "mlp", "hidden": [32, 0]}, "hidden width"),
    ({"name": "mscale", "scales": [1, 0]}, "scale"),
    ({"name": "mscale", "scales": []}, "scale"),
    ({"name": "mscale", "hidden": [2, 8], "scales": [1, 2, 4]}, "number of scales"),
    ({"name": "mlp", "period": 0.0}, "period"),
    ({"name": "mlp", "hidden": [10**6, 10**6]}, "GiB"),
])
def test_bad_input_one_line_config_error(kwargs, match):
    kwargs = {"hidden": SMALL, **kwargs}
    name = kwargs.pop("name")
    with pytest.raises(ConfigError, match=match) as info:
        coordinate_model(name, 2, 1, **kwargs)
    assert "\n" not in str(info.value)


def test_generator_must_be_a_cpu_generator_or_seed():
    with pytest.raises(TypeError, match="generator"):
        coordinate_model("mlp", 2, 1, hidden=SMALL, generator="seed")
    with pytest.raises(TypeError, match="generator"):
        coordinate_model("mlp", 2, 1, hidden=SMALL, generator=True)


# -- science: Tancik et al.'s result on a small image ----------------------------------------------------------
def test_gaussian_fourier_features_generalise_better_than_the_plain_mlp(one_thread):
    """Camera at 64², trained on its even pixels (32²), tested on its odd ones: Gaussian Fourier features beat
    the plain ReLU MLP at its better learning rate by more than 2 dB after 200 Adam steps (measured: ~+5 dB over
    4 seeds; σ = 2 cycles per side suits a 32-sample training grid, whose Nyquist is 16)."""
    from freqlens.lab.data.images import even_odd_split, load_image

    split = even_odd_split(load_image("camera", size=64))
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    x, y, xt, yt = t(split.x_train), t(split.y_train), t(split.x_test), t(split.y_test)

    def test_psnr(name, lr):
        net = coordinate_model(name, 2, 1, hidden=[64] * 3, output="sigmoid", mapping_size=64, sigma=2.0,
                               generator=0)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(200):
            loss = torch.mean((net(x) - y) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return float(-10 * torch.log10(torch.mean((net(xt) - yt) ** 2)))

    plain = test_psnr("mlp", 1e-2)          # the better plain learning rate here (1e-3 is ~1.5 dB worse)
    ff = test_psnr("ff-gaussian", 1e-3)
    assert ff > plain + 2.0, (ff, plain)


@pytest.mark.parametrize("module", ['freqlens.lab.models.coords', 'freqlens.lab.models.fourier', 'freqlens.lab.models.mscale'])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
