"""Stacked seeds: S members of a BatchedMLP equal S separate mlp networks - initialisation bit for bit, forward,
gradients and full-batch Adam in float64 within a stated tolerance - and split back into mlp state dicts."""

import doctest

import pytest
import torch

from freqlens.errors import ConfigError
from freqlens.lab.family import mse
from freqlens.lab.models import batched
from freqlens.lab.models.batched import BatchedMLP, batched_memory_bytes, check_batched_memory, member_mse, stacked_mse
from freqlens.lab.models.mlp import mlp
from freqlens.spectrum import periodic_grid

F64 = torch.float64
# Measured: separate nn.Linear layers (addmm) and the stacked ones (baddbmm) agree bit for bit for hidden-to-hidden
# layers; the 1-input and 1-output layers use other BLAS kernels (rank-1 and gemv) and differ in the last bits.
# After 200 Adam steps the largest difference in any parameter was 5e-16; we claim 1e-12.
TOL = 1e-12


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny networks run fastest on one thread, and on a busy machine torch's OpenMP threads wait on each other
    (measured under load: 66 ms per Adam step of a 4-member stack with 2 threads, 3.7 ms with one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def grid(n=101, dtype=F64):
    x = torch.tensor(periodic_grid(n), dtype=dtype).unsqueeze(1)
    return x, torch.sin(x) + torch.sin(3 * x)


def separate(hidden, seeds, dtype=F64, init="normal"):
    return [mlp(1, hidden, 1, init=init, generator=torch.Generator().manual_seed(s), dtype=dtype) for s in seeds]


@pytest.mark.parametrize("init", ["default", "normal", "xavier"])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_initialisation_is_that_of_each_seed_alone(init, dtype):
    seeds = [7, 8, 9]
    net = BatchedMLP.from_seeds(1, [16, 12], 1, seeds=seeds, init=init, dtype=dtype)
    for sd, alone in zip(net.member_state_dicts(), separate([16, 12], seeds, dtype, init)):
        ref = alone.state_dict()
        assert sd.keys() == ref.keys()
        assert all(torch.equal(sd[k], ref[k]) and sd[k].dtype == dtype for k in ref)


def test_forward_and_gradients_per_member():
    seeds, hidden = [0, 1, 2, 3], [32, 32, 16]
    x, y = grid()
    net = BatchedMLP.from_seeds(1, hidden, 1, seeds=seeds, init="normal", dtype=F64)
    nets = separate(hidden, seeds)
    out = net(x)
    assert out.shape == (4, 101, 1)
    stacked_mse(out, y).backward()
    for s, alone in enumerate(nets):
        ref = alone(x)
        assert torch.allclose(out[s], ref, rtol=0, atol=1e-14)
        mse(ref, y).backward()
        for i, lin in enumerate(m for m in alone if isinstance(m, torch.nn.Linear)):
            assert torch.allclose(net.weights[i].grad[s], lin.weight.grad, rtol=0, atol=1e-14)
            assert torch.allclose(net.biases[i].grad[s], lin.bias.grad, rtol=0, atol=1e-14)
    assert torch.allclose(member_mse(out, y), torch.stack([mse(n(x), y) for n in nets]), rtol=1e-14, atol=0)


def test_the_loss_gives_each_member_the_gradient_of_its_own_mean_exactly():
    out = torch.randn(3, 17, 2, dtype=F64, requires_grad=True)
    y = torch.randn(17, 2, dtype=F64)
    stacked_mse(out, y).backward()
    for s in range(3):
        o = out[s].detach().clone().requires_grad_(True)
        mse(o, y).backward()
        assert torch.equal(out.grad[s], o.grad)


def test_adam_on_the_stack_equals_separate_adam_runs():
    seeds, hidden, steps = [0, 1, 2, 3], [32, 32, 16], 200
    x, y = grid()
    net = BatchedMLP.from_seeds(1, hidden, 1, seeds=seeds, init="normal", dtype=F64)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    nets = separate(hidden, seeds)
    opts = [torch.optim.Adam(n.parameters(), lr=1e-3) for n in nets]
    worst_loss = 0.0
    for _ in range(steps):
        out = net(x)
        losses = member_mse(out, y)
        opt.zero_grad()
        losses.sum().backward()
        opt.step()
        for s, (alone, o) in enumerate(zip(nets, opts)):
            loss = mse(alone(x), y)
            worst_loss = max(worst_loss, abs(float(loss.detach()) - float(losses[s].detach())))
            o.zero_grad()
            loss.backward()
            o.step()
    assert worst_loss <= TOL
    for sd, alone in zip(net.member_state_dicts(), nets):
        for k, v in alone.state_dict().items():
            assert (sd[k] - v).abs().max().item() <= TOL, k
    with torch.no_grad():  # it trained
        assert float(member_mse(net(x), y).max()) < 0.5 * float(mse(separate(hidden, [0])[0](x), y))


def test_members_split_back_into_mlp_networks():
    x, _ = grid(33)
    net = BatchedMLP.from_seeds(1, [8], 1, seeds=[4, 5], init="default", dtype=F64)
    with torch.no_grad():
        net.weights[0].mul_(2.0)  # not the initialisation any more
        for s in range(2):
            alone = net.member(s)
            assert isinstance(alone, torch.nn.Sequential)
            assert torch.allclose(alone(x), net(x)[s], rtol=0, atol=1e-14)
            fresh = mlp(1, [8], 1, dtype=F64)
            fresh.load_state_dict(net.member_state_dicts()[s])
            assert torch.equal(fresh(x), alone(x))


def test_from_models_and_per_member_inputs():
    nets = separate([6], [1, 2])
    stacked = BatchedMLP.from_models(nets, "tanh")
    xs = torch.randn(2, 5, 1, dtype=F64)
    out = stacked(xs)
    for s in range(2):
        assert torch.allclose(out[s], nets[s](xs[s]), rtol=0, atol=1e-14)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same layer sizes"):
        BatchedMLP.from_models([mlp(1, [4], 1), mlp(1, [5], 1)])
    with pytest.raises(ConfigError, match="activation must be one of"):
        BatchedMLP.from_models([mlp(1, [4], 1)], "swish")
    net = BatchedMLP.from_seeds(1, [4], 1, seeds=[0, 1])
    with pytest.raises(ValueError, match=r"x must be \(n, in\) or \(2, n, in\)"):
        net(torch.zeros(3, 4, 1))
    with pytest.raises(ValueError, match="at least one seed"):
        BatchedMLP.from_seeds(1, [4], 1, seeds=[])
    with pytest.raises(ValueError, match="layer 1 takes 3 inputs but layer 0 gives 4"):
        BatchedMLP([torch.zeros(2, 4, 1), torch.zeros(2, 1, 3)], [torch.zeros(2, 4), torch.zeros(2, 1)])


def test_memory_is_checked_before_anything_is_allocated(monkeypatch):
    dims = [1, 200, 200, 200, 100, 1]
    params = 101_001
    assert batched_memory_bytes(32, dims, 101) == 32 * (4 * params + 101 * (2 * 700 + 2)) * 4
    with pytest.raises(ConfigError, match=r"1000 stacked 1-200-200-200-100-1 networks on 1,000,000 points need about"):
        check_batched_memory(1000, dims, 10**6, available=1 << 30)

    def boom(*a, **k):
        raise AssertionError("allocated before the check")

    monkeypatch.setattr(batched, "mlp", boom)
    monkeypatch.setattr(batched, "available_memory", lambda: 1 << 20, raising=False)
    import freqlens._memory

    monkeypatch.setattr(freqlens._memory, "available_memory", lambda: 1 << 20)
    with pytest.raises(ConfigError, match="stack fewer seeds"):
        BatchedMLP.from_seeds(1, [200, 200], 1, seeds=range(64), points=1000)


def test_module_doctest():
    result = doctest.testmod(batched, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
