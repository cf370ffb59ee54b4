"""The empirical NTK equals torch.func's Jacobian contraction, and refuses what it cannot do."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call, jacrev, vmap

from freqlens.errors import DataError
from freqlens.lab.theory import NTKLinear, empirical_ntk, ntk_plan

TOL = 1e-6  # relative to the kernel's largest entry, float64 models


def reference_ntk(model, x1, x2=None):
    """Θ[a, b, o, p] = Σ_θ J[a, o, θ] J[b, p, θ] with J from torch.func.vmap(jacrev), trainable parameters only."""
    x2 = x1 if x2 is None else x2
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}

    def f(p, x):
        return functional_call(model, p, (x.unsqueeze(0),)).reshape(-1)

    j1 = vmap(jacrev(f), (None, 0))(params, x1)
    j2 = vmap(jacrev(f), (None, 0))(params, x2)
    return sum(torch.einsum("aoi,bpi->abop", j1[k].flatten(2), j2[k].flatten(2)) for k in params)


def assert_close(k, ref):
    k, ref = torch.as_tensor(k), torch.as_tensor(ref)
    assert k.shape == ref.shape
    scale = ref.abs().max().item()
    assert (k - ref).abs().max().item() <= TOL * scale, (k - ref).abs().max().item() / scale


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "elu": nn.ELU}


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("bias", [True, False])
def test_mlp_matches_torch_func(act, bias):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 17, bias=bias), ACTS[act](), nn.Linear(17, 11), ACTS[act](),
                      nn.Linear(11, 4, bias=bias)).double()
    x1 = torch.randn(9, 3, dtype=torch.float64, generator=gen(1))
    x2 = torch.randn(6, 3, dtype=torch.float64, generator=gen(2))
    ref = reference_ntk(m, x1, x2)
    assert_close(empirical_ntk(m, x1, x2), ref)
    assert_close(empirical_ntk(m, x1, x2, output="trace"), ref.diagonal(dim1=2, dim2=3).sum(-1))
    assert_close(empirical_ntk(m, x1, x2, block_size=4), ref)  # blocks that do not divide n


def test_cnn_2d_matches_torch_func():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(2, 5, 3, padding="same"), nn.ReLU(),
                      nn.Conv2d(5, 4, 2, stride=2, padding=1, padding_mode="circular"), nn.Tanh(),
                      nn.Conv2d(4, 3, 3, dilation=2, bias=False), nn.Flatten(), nn.Linear(3 * 1 * 1, 3)).double()
    x = torch.randn(7, 2, 8, 8, dtype=torch.float64, generator=gen(3))
    assert_close(empirical_ntk(m, x, block_size=3), reference_ntk(m, x))
    assert ntk_plan(m, x).generic == []


def test_cnn_1d_and_generic_layers_match_torch_func():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(1, 4, 4, padding="same", dilation=2), nn.GELU(), nn.LayerNorm(12),
                      nn.Conv1d(4, 3, 3, stride=2, padding=2, padding_mode="reflect"), nn.Flatten(),
                      nn.Linear(21, 2)).double()
    x1 = torch.randn(5, 1, 12, dtype=torch.float64, generator=gen(4))
    x2 = torch.randn(3, 1, 12, dtype=torch.float64, generator=gen(5))
    plan = ntk_plan(m, x1, x2)
    assert plan.generic == ["2.weight", "2.bias"] and plan.structured == ["0", "3", "5"]
    assert_close(empirical_ntk(m, x1, x2), reference_ntk(m, x1, x2))


def test_dense_layer_over_positions_and_shared_module():
    """A Linear on (n, positions, features) and a module called twice (falls back to torch.func)."""
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Linear(3, 5)
            self.shared = nn.Linear(5, 5)
            self.out = nn.Linear(5, 2)

        def forward(self, x):  # x: (n, 4, 3)
            h = torch.tanh(self.tok(x))
            h = torch.tanh(self.shared(torch.tanh(self.shared(h))))
            return self.out(h.mean(1))

    m = Net().double()
    x = torch.randn(6, 4, 3, dtype=torch.float64, generator=gen(6))
    plan = ntk_plan(m, x)
    assert "shared" not in plan.structured and "shared.weight" in plan.generic
    assert_close(empirical_ntk(m, x), reference_ntk(m, x))


def test_ntk_parametrised_layers_contracted_with_their_scales():
    m = nn.Sequential(NTKLinear(2, 30, sigma_w=1.3, sigma_b=0.4, generator=gen(7)), nn.ReLU(),
                      NTKLinear(30, 1, sigma_w=1.3, sigma_b=0.4, generator=gen(8)))
    x = torch.randn(8, 2, dtype=torch.float64, generator=gen(9))
    assert ntk_plan(m, x).structured == ["0", "2"]
    assert_close(empirical_ntk(m, x), reference_ntk(m, x)[:, :, 0, 0])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 9), width=st.integers(1, 12), outputs=st.integers(1, 3), seed=st.integers(0, 100))
def test_symmetric_and_positive_semidefinite(n, width, outputs, seed):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, outputs)).double()
    x = torch.randn(n, 2, dtype=torch.float64, generator=gen(seed))
    k = empirical_ntk(m, x, output="full", block_size=max(1, n // 2))
    flat = k.permute(0, 2, 1, 3).reshape(n * outputs, n * outputs)
    assert torch.allclose(flat, flat.T, atol=1e-12)
    assert torch.linalg.eigvalsh(flat).min().item() >= -1e-10 * max(1.0, flat.abs().max().item())


def test_numpy_in_numpy_out_and_float32():
    m = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 1))
    x = np.linspace(-1, 1, 5, dtype=np.float32)[:, None]
    k = empirical_ntk(m, x)
    assert isinstance(k, np.ndarray) and k.shape == (5, 5) and k.dtype == np.float32
    ref = reference_ntk(m.double(), torch.as_tensor(x, dtype=torch.float64))[:, :, 0, 0].numpy()
    np.testing.assert_allclose(empirical_ntk(m, x.astype(np.float64)), ref, rtol=1e-10)


def test_outputs_beyond_one_vector_are_flattened():
    m = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 6), nn.Unflatten(1, (2, 3))).double()
    x = torch.randn(4, 2, dtype=torch.float64, generator=gen(10))
    k = empirical_ntk(m, x)
    assert k.shape == (4, 4, 6, 6)
    assert_close(k, reference_ntk(m, x))


def test_frozen_parameters_are_skipped_with_a_warning():
    m = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 1)).double()
    m[0].weight.requires_grad_(False)
    x = torch.randn(5, 2, dtype=torch.float64, generator=gen(11))
    with pytest.warns(UserWarning, match="1 parameter tensor.*0.weight"):
        k = empirical_ntk(m, x)
    assert_close(k, reference_ntk(m, x)[:, :, 0, 0])
    assert ntk_plan(m, x).frozen == ["0.weight"]


def test_bad_inputs_are_refused_in_one_line():
    m = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    x = torch.randn(3, 2)
    cases = [
        (lambda: empirical_ntk(m, x, output="diag"), ValueError, "output must be one of"),
        (lambda: empirical_ntk(m, x, torch.randn(3, 5)), ValueError, "x2 must have the sample shape"),
        (lambda: empirical_ntk(m, torch.tensor(1.0)), ValueError, "leading batch axis"),
        (lambda: empirical_ntk(m, x, block_size=0), ValueError, "block_size"),
        (lambda: empirical_ntk("net", x), TypeError, "nn.Module"),
        (lambda: empirical_ntk(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), x), ValueError, "model.eval"),
        (lambda: empirical_ntk(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)), x), ValueError, "model.eval"),
        (lambda: empirical_ntk(nn.Sequential(nn.Flatten(0)), x), ValueError, "no parameters"),
    ]
    for call, exc, msg in cases:
        with pytest.raises(exc, match=msg) as info:
            call()
        assert "\n" not in str(info.value)
    frozen = nn.Linear(2, 1).requires_grad_(False)
    with pytest.raises(ValueError, match="requires grad"):
        empirical_ntk(frozen, x)

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, x):
            return self.lin(x), x

    with pytest.raises(TypeError, match="one tensor"):
        empirical_ntk(Pair(), x)


def test_too_large_is_refused_before_allocating_with_the_figure():
    m = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 3))
    x = torch.randn(2000, 2)
    with pytest.raises(DataError, match=r"2000x2000 inputs with 3 output\(s\).*137\.3 MiB.*available") as info:
        empirical_ntk(m, x, max_memory=50 << 20)
    assert "output='trace'" in str(info.value) and "\n" not in str(info.value)
    # the trace kernel fits in the same budget
    assert empirical_ntk(m, x[:500], output="trace", max_memory=50 << 20).shape == (500, 500)
    with pytest.raises(DataError, match="block_size=512"):
        empirical_ntk(m, x, output="trace", block_size=512, max_memory=16 << 20)


def test_features_recomputed_per_tile_when_they_do_not_fit():
    m = nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 1)).double()
    x = torch.randn(40, 3, dtype=torch.float64, generator=gen(12))
    plan = ntk_plan(m, x, block_size=8, max_memory=70_000)
    assert not plan.cache and plan.block == 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(empirical_ntk(m, x, block_size=8, max_memory=70_000), reference_ntk(m, x)[:, :, 0, 0])
