"""Classifier models: shapes for 8×8, 28×28 and 32×32 inputs, parameter counts computed by hand, the architecture
against a functional reference, initialisation (seeded, no global RNG, the documented distributions)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from freqlens import _memory
from freqlens.errors import ConfigError
from freqlens.lab.models.classifiers import accuracy, classifier_mlp, count_parameters, small_cnn, vgg16
from freqlens.lab.models.mlp import mlp

SIZES = [(1, 8), (1, 28), (3, 32)]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("c, size", SIZES)
def test_output_shapes(c, size):
    x = torch.randn(3, c, size, size, generator=gen(1))
    nets = [classifier_mlp(c * size * size, generator=gen()), small_cnn(c, size, generator=gen()),
            vgg16(c, size, width_scale=1 / 16, generator=gen()),
            vgg16(c, size, width_scale=1 / 16, batch_norm=True, generator=gen())]
    for net in nets:
        assert net(x).shape == (3, 10)
    assert classifier_mlp(c * size * size, (16,), 7, generator=gen())(x.flatten(1)).shape == (3, 7)


@pytest.mark.parametrize("c, size, expected", [
    # conv1 (9·C + 1)·32, conv2 (9·32 + 1)·64, fc1 (64·s² + 1)·400 with s = (size − 4) // 2, fc2 401·10
    (1, 8, 10 * 32 + 289 * 64 + (64 * 2 * 2 + 1) * 400 + 401 * 10),  # 125,626
    (1, 28, 10 * 32 + 289 * 64 + (64 * 12 * 12 + 1) * 400 + 401 * 10),  # 3,709,626
    (3, 32, 28 * 32 + 289 * 64 + (64 * 14 * 14 + 1) * 400 + 401 * 10),  # 5,041,402
])
def test_small_cnn_parameter_count(c, size, expected):
    assert count_parameters(small_cnn(c, size, generator=gen())) == expected


def test_small_cnn_matches_functional_reference():
    """conv 3×3 valid → ReLU → conv 3×3 valid → ReLU → max-pool 2 → flatten (C, H, W order) → FC → ReLU → FC."""
    net = small_cnn(3, 32, generator=gen(2), dtype=torch.float64)
    conv1, conv2, fc1, fc2 = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    x = torch.randn(4, 3, 32, 32, generator=gen(3), dtype=torch.float64)
    h = F.relu(F.conv2d(x, conv1.weight, conv1.bias))
    h = F.relu(F.conv2d(h, conv2.weight, conv2.bias))
    assert h.shape == (4, 64, 28, 28)  # 'valid': 32 → 30 → 28
    h = F.max_pool2d(h, 2).reshape(4, -1)
    ref = F.linear(F.relu(F.linear(h, fc1.weight, fc1.bias)), fc2.weight, fc2.bias)
    torch.testing.assert_close(net(x), ref, rtol=1e-12, atol=1e-12)


def test_vgg16_full_size_parameter_counts():
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 512), (512, 512),
             (512, 512), (512, 512), (512, 512), (512, 512)]
    conv_params = sum(9 * a * b + b for a, b in convs)
    assert conv_params == 14_714_688  # VGG16's convolutional part, as published
    head = (512 + 1) * 512 + (512 + 1) * 512 + (512 + 1) * 10
    plain = vgg16(3, 32, generator=gen())
    assert count_parameters(plain) == conv_params + head
    bn = vgg16(3, 32, batch_norm=True, generator=gen())
    assert count_parameters(bn) == conv_params + 2 * sum(b for _, b in convs) + head == 14_723_136 + head
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn) == 13 and sum(isinstance(m, nn.Conv2d) for m in bn) == 13


@pytest.mark.parametrize("size, pools", [(8, 3), (28, 4), (32, 5), (5, 2), (64, 5)])
def test_vgg16_pooling_adapted_to_size(size, pools):
    net = vgg16(1, size, width_scale=1 / 32, generator=gen())
    assert sum(isinstance(m, nn.MaxPool2d) for m in net) == pools
    assert sum(isinstance(m, nn.Conv2d) for m in net) == 13 and sum(isinstance(m, nn.Linear) for m in net) == 3
    final = size
    for _ in range(pools):
        final //= 2
    fc1 = next(m for m in net if isinstance(m, nn.Linear))
    assert fc1.in_features == 16 * final * final  # 512 / 32 channels
    assert net(torch.zeros(2, 1, size, size)).shape == (2, 10)


@pytest.mark.parametrize("init", ["default", "xavier"])
def test_classifier_mlp_equals_lab_mlp(init):
    ours = classifier_mlp(784, (400, 200), 10, init=init, generator=gen(7))
    ref = mlp(784, [400, 200], 10, activation="relu", init=init, generator=gen(7))
    assert same(params(ours), params(ref))
    assert count_parameters(ours) == 784 * 400 + 400 + 400 * 200 + 200 + 200 * 10 + 10
    x = torch.randn(5, 1, 28, 28, generator=gen(8))
    torch.testing.assert_close(ours(x), ref(x.flatten(1)), rtol=0, atol=0)


BUILDERS = {
    "mlp": lambda g, **kw: classifier_mlp(64, (32, 16), generator=g, **kw),
    "cnn": lambda g, **kw: small_cnn(1, 8, generator=g, **kw),
    "vgg": lambda g, **kw: vgg16(3, 32, width_scale=1 / 16, batch_norm=True, generator=g, **kw),
}


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("init", ["default", "xavier", "kaiming"])
def test_seeded_initialisation_without_global_rng(name, init):
    state = torch.random.get_rng_state()
    a = params(BUILDERS[name](gen(11), init=init))
    b = params(BUILDERS[name](gen(11), init=init))
    c = params(BUILDERS[name](gen(12), init=init))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert same(a, b) and not same(a, c)
    d = params(BUILDERS[name](gen(11), init=init, dtype=torch.float64))
    assert all(torch.equal(x, y.float()) for x, y in zip(a, d))  # one draw (float64), cast per dtype


def test_initialisation_distributions():
    f64 = torch.float64
    d = small_cnn(32, 12, channels=(64, 64), init="default", generator=gen(1), dtype=f64)[2]  # conv2: 64 → 64
    x = small_cnn(32, 12, channels=(64, 64), init="xavier", generator=gen(1), dtype=f64)[2]
    k = small_cnn(32, 12, channels=(64, 64), init="kaiming", generator=gen(1), dtype=f64)[2]
    fan_in, fan_out = 64 * 9, 64 * 9
    assert d.weight.abs().max() <= 1 / math.sqrt(fan_in) and d.bias.abs().max() <= 1 / math.sqrt(fan_in)
    assert d.weight.abs().max() > 0.99 / math.sqrt(fan_in) and d.bias.abs().max() > 0
    bound = math.sqrt(6 / (fan_in + fan_out))
    assert x.weight.abs().max() <= bound and x.weight.abs().max() > 0.99 * bound and not x.bias.any()
    n = k.weight.numel()  # 36,864 draws: the sample std is within 3 % of sqrt(2/fan_in) with overwhelming odds
    assert k.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.03) and not k.bias.any() and n > 3e4
    assert abs(k.weight.mean().item()) < 4 * math.sqrt(2 / fan_in) / math.sqrt(n)


def test_batch_norm_starts_as_identity_affine():
    net = vgg16(3, 8, width_scale=1 / 16, batch_norm=True, generator=gen())
    for m in net:
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and not m.bias.any() and not m.running_mean.any()
            assert torch.all(m.running_var == 1) and int(m.num_batches_tracked) == 0


def test_memory_refused_with_figure(monkeypatch):
    monkeypatch.setattr(_memory, "available_memory", lambda: 10 << 20)
    with pytest.raises(ConfigError, match=r"vgg16 for 3x32x32 with 15,245,130 parameters would need 174\.5 MiB of "
                                          r"memory but only 10\.0 MiB is available"):
        vgg16(3, 32, generator=gen())


@pytest.mark.parametrize("build, error, match", [
    (lambda: small_cnn(1, 5, generator=gen()), ConfigError, "image_size must be at least 6"),
    (lambda: small_cnn(1, 8, init="orthogonal", generator=gen()), ConfigError, "init must be one of default, "),
    (lambda: classifier_mlp(64, activation="swish", generator=gen()), ConfigError, "activation must be one of"),
    (lambda: classifier_mlp(64, (0,), generator=gen()), ConfigError, "hidden widths must be a positive integer"),
    (lambda: vgg16(1, 8, width_scale=0, generator=gen()), ConfigError, "width_scale must be a positive number"),
    (lambda: vgg16(1, (8,), generator=gen()), ConfigError, "image_size must be a positive int or"),
    (lambda: small_cnn(1, 8, generator=None), TypeError, "generator must be a torch.Generator"),
    (lambda: small_cnn(1, 8, generator=gen(), dtype=torch.int32), TypeError, "dtype must be a floating"),
])
def test_bad_arguments(build, error, match):
    with pytest.raises(error, match=match) as err:
        build()
    assert "\n" not in str(err.value)


def test_accuracy():
    out = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    assert accuracy(out, torch.tensor([1, 0, 0, 0])) == 0.5
    with pytest.raises(ValueError, match="outputs must be"):
        accuracy(out, torch.tensor([1, 0]))


def test_mlp_learns_digits():
    """Integration with the data: an MLP trained briefly on the digits training split classifies its test split
    far above chance (a scrambled image/label pairing would stay near 10 %)."""
    from freqlens.lab.data.datasets import load_splits

    train, test = load_splits("digits", flatten=True)
    net = classifier_mlp(train.in_dim, (64,), train.n_classes, generator=gen(0))
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    for _ in range(25):
        opt.zero_grad()
        F.cross_entropy(net(train.x), train.y).backward()
        opt.step()
    with torch.no_grad():
        assert accuracy(net(test.x), test.y) > 0.9


def test_docstring_examples():
    import doctest

    import freqlens.lab.models.classifiers as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
