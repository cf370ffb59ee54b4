"""Image classifiers of the lab (torch.nn, no torchvision): an MLP, the small CNN of the filtering experiment and a
VGG16-style network adapted to small images.

Every builder returns an ``nn.Sequential`` that maps ``(n, C, H, W)`` images (or ``(n, C·H·W)`` rows, for the MLP)
to ``(n, n_classes)`` **logits** — the softmax belongs to the loss (``torch.nn.functional.cross_entropy``) or to a
monitor that wants probabilities.

Construction never draws from a global random generator: the network is laid out on the ``meta`` device (no
memory, no random numbers), its size is checked against the available memory, then its parameters are allocated
in float64 on the CPU and drawn from ``generator`` module by module (weight, then bias, in the order of
``model.modules()``), and finally moved to ``device`` and cast to ``dtype``. So a seed gives the same network on
every device and in every dtype (up to the final rounding).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from freqlens import _memory
from freqlens.errors import ConfigError
from freqlens.lab.models.mlp import ACTIVATIONS

__all__ = ["INITS", "VGG16_LAYERS", "accuracy", "classifier_mlp", "count_parameters", "small_cnn", "vgg16"]

INITS = ("default", "xavier", "kaiming")
#: VGG16's 13 convolutions (output channels) and its 5 max-pools ("M"), as in Simonyan & Zisserman, config D.
VGG16_LAYERS: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                                       512, 512, 512, "M")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def accuracy(outputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose largest output is at the label: ``mean(argmax(outputs, 1) == labels)``.

    Examples
    --------
    >>> accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), torch.tensor([0, 1, 1]))
    0.6666666666666666
    """
    if outputs.ndim != 2 or labels.shape != outputs.shape[:1]:
        raise ValueError(f"outputs must be (n, classes) and labels (n,); got {tuple(outputs.shape)} and "
                         f"{tuple(labels.shape)}")
    return float((outputs.argmax(dim=1) == labels).double().mean())


def _fans(module: nn.Module) -> tuple[int, int]:
    w = module.weight
    receptive = w[0, 0].numel() if w.ndim > 2 else 1
    return w.shape[1] * receptive, w.shape[0] * receptive


@torch.no_grad()
def _initialise(model: nn.Module, init: str, generator: torch.Generator) -> None:
    """Draw every parameter of ``model`` (float64, CPU) from ``generator``; see :func:`small_cnn` for the schemes."""
    done: set[int] = set()
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            fan_in, fan_out = _fans(module)
            if init == "default":  # PyTorch's own: kaiming_uniform_(a=sqrt(5)) is U(±1/sqrt(fan_in)); bias alike
                bound = 1.0 / math.sqrt(fan_in)
                module.weight.uniform_(-bound, bound, generator=generator)
                if module.bias is not None:
                    module.bias.uniform_(-bound, bound, generator=generator)
            elif init == "xavier":  # Glorot & Bengio, Keras' glorot_uniform; zero bias as Keras
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                module.weight.uniform_(-bound, bound, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
            else:  # "kaiming": He et al. 2015, N(0, 2/fan_in); zero bias
                module.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_parameters()  # weight 1, bias 0, running mean 0 and var 1: nothing random
        else:
            continue
        done.update(id(p) for p in module.parameters(recurse=False))
    missed = [name for name, p in model.named_parameters() if id(p) not in done]
    if missed:  # pragma: no cover - a layer type added without its initialisation
        raise RuntimeError(f"parameters left uninitialised: {', '.join(missed)}")


def _build(make: Callable[[], nn.Sequential], *, what: str, init: str, generator: torch.Generator,
           dtype: torch.dtype, device: str | torch.device) -> nn.Sequential:
    if init not in INITS:
        raise ConfigError(f"init must be one of {', '.join(INITS)}; got {init!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(seed)); "
                        f"got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU generator (parameters are drawn on the CPU, then moved); "
                         f"got one on {generator.device}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype; got {dtype!r}")
    device = torch.device(device)
    with torch.device("meta"):
        model = make()
    n = count_parameters(model)
    itemsize = torch.empty((), dtype=dtype).element_size()
    need, avail = n * (8 + itemsize), _memory.available_memory()  # float64 draw + the cast copy
    if need > avail:
        raise ConfigError(f"{what} with {n:,} parameters would need {need / 2**20:,.1f} MiB of memory but only "
                          f"{avail / 2**20:,.1f} MiB is available; use smaller widths")
    model = model.to_empty(device="cpu")
    _initialise(model, init, generator)
    return model.to(device=device, dtype=dtype)


def _size(image_size: int | Sequence[int]) -> tuple[int, int]:
    hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(hw) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in hw):
        raise ConfigError(f"image_size must be a positive int or (height, width); got {image_size!r}")
    return hw  # type: ignore[return-value]


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return value


def _activation(activation: str) -> type[nn.Module]:
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    return ACTIVATIONS[activation]


def classifier_mlp(in_dim: int, hidden: Sequence[int] = (400, 200), n_classes: int = 10, *,
                   activation: str = "relu", init: str = "default", generator: torch.Generator,
                   dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> nn.Sequential:
    """A fully connected classifier ``in_dim - hidden[0] - ... - n_classes`` (e.g. 784-400-200-10).

    Starts with ``nn.Flatten()``, so it takes images ``(n, C, H, W)`` as well as rows ``(n, in_dim)``;
    ``activation`` (one of :data:`~freqlens.lab.models.mlp.ACTIVATIONS`) between the linear layers, none after
    the last. ``init`` as in :func:`small_cnn`; with ``"default"`` or ``"xavier"`` the parameters equal those of
    :func:`freqlens.lab.models.mlp.mlp` for the same generator state.

    Examples
    --------
    >>> net = classifier_mlp(64, (32,), 10, generator=torch.Generator().manual_seed(0))
    >>> tuple(net(torch.zeros(5, 1, 8, 8)).shape), count_parameters(net)
    ((5, 10), 2410)
    """
    in_dim, n_classes = _positive("in_dim", in_dim), _positive("n_classes", n_classes)
    hidden = [_positive("hidden widths", h) for h in hidden]
    act = _activation(activation)
    dims = [in_dim, *hidden, n_classes]

    def make() -> nn.Sequential:
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(len(dims) - 1):
            layers.append(nn.Linear(dims[i], dims[i + 1], dtype=torch.float64))
            if i < len(dims) - 2:
                layers.append(act())
        return nn.Sequential(*layers)

    return _build(make, what=f"MLP {'-'.join(map(str, dims))}", init=init, generator=generator, dtype=dtype,
                  device=device)


def small_cnn(in_channels: int, image_size: int | Sequence[int], n_classes: int = 10, *,
              channels: Sequence[int] = (32, 64), hidden: int = 400, activation: str = "relu", init: str = "xavier",
              generator: torch.Generator, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> nn.Sequential:
    """The small CNN of the filtering experiment (the authors' TF2 script ``filter_gd.py``).

    ``conv(channels[0], 3×3) → act → conv(channels[1], 3×3) → act → max-pool 2×2 → flatten → linear(hidden) → act →
    linear(n_classes)``, convolutions with stride 1 and **no padding** (Keras' default ``'valid'``, as in the
    script), pooling floor-sized (stride 2). The script's final softmax is left to the loss: outputs are logits.

    Parameters
    ----------
    in_channels : int
        1 for digits/MNIST, 3 for CIFAR-10.
    image_size : int or (int, int)
        Height (and width) of the input; at least 6 (two valid 3×3 convolutions and a 2×2 pool).
    n_classes, channels, hidden, activation
        Output width; the two convolutions' channels; the hidden linear width; the activation.
    init : {"xavier", "default", "kaiming"}
        ``"xavier"`` (default here, Keras' ``glorot_uniform`` as the script): weights ~ U(±sqrt(6/(fan_in +
        fan_out))), biases 0. ``"default"``: PyTorch's own, weights and biases ~ U(±1/sqrt(fan_in)).
        ``"kaiming"``: weights ~ N(0, 2/fan_in), biases 0. For a convolution fan_in = C_in·3·3,
        fan_out = C_out·3·3.
    generator : torch.Generator
        A CPU generator; the only source of randomness.
    dtype, device
        Of the parameters.

    Notes
    -----
    With ``s = ⌊(H − 4) / 2⌋·⌊(W − 4) / 2⌋`` the parameters number
    ``(9·C_in + 1)·c0 + (9·c0 + 1)·c1 + (c1·s + 1)·hidden + (hidden + 1)·n_classes``: 5,041,402 for CIFAR-10
    (3×32×32), 3,709,626 for MNIST (1×28×28), 125,626 for digits (1×8×8).

    Examples
    --------
    >>> net = small_cnn(1, 28, generator=torch.Generator().manual_seed(0))
    >>> tuple(net(torch.zeros(2, 1, 28, 28)).shape), count_parameters(net)
    ((2, 10), 3709626)
    """
    in_channels, n_classes, hidden = (_positive("in_channels", in_channels), _positive("n_classes", n_classes),
                                      _positive("hidden", hidden))
    c0, c1 = (_positive("channels", c) for c in channels)
    height, width = _size(image_size)
    if min(height, width) < 6:
        raise ConfigError(f"image_size must be at least 6 for small_cnn (two 3x3 valid convolutions and a 2x2 "
                          f"pool); got {height}x{width}")
    act = _activation(activation)
    flat = c1 * ((height - 4) // 2) * ((width - 4) // 2)

    def make() -> nn.Sequential:
        f64 = torch.float64
        return nn.Sequential(
            nn.Conv2d(in_channels, c0, 3, dtype=f64), act(),
            nn.Conv2d(c0, c1, 3, dtype=f64), act(),
            nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(flat, hidden, dtype=f64), act(),
            nn.Linear(hidden, n_classes, dtype=f64),
        )

    return _build(make, what=f"small_cnn for {in_channels}x{height}x{width}", init=init, generator=generator,
                  dtype=dtype, device=device)


def vgg16(in_channels: int, image_size: int | Sequence[int], n_classes: int = 10, *, batch_norm: bool = False,
          width_scale: float = 1.0, hidden: int = 512, init: str = "kaiming", generator: torch.Generator,
          dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> nn.Sequential:
    """A VGG16-style network for small images: 13 convolutions and 3 linear layers.

    The convolutions are VGG16's (:data:`VGG16_LAYERS`: 64, 64, 128, 128, 256×3, 512×3, 512×3 channels, 3×3,
    padding 1, each followed by ``BatchNorm2d`` if ``batch_norm`` and ReLU), in five stages. Adapted to small
    inputs:

    - a stage's 2×2 max-pool (stride 2, floor) is kept only while the feature map is at least 2 pixels in both
      directions; later pools are dropped. 32×32 keeps all 5 pools (→ 1×1), 28×28 keeps 4 (28→14→7→3→1), 8×8
      keeps 3 (8→4→2→1); the convolutions are always all there.
    - the classifier is ``linear(hidden) → ReLU → linear(hidden) → ReLU → linear(n_classes)`` on the flattened
      final map (``hidden=512`` instead of ImageNet's 4096, as the CIFAR adaptations do), without dropout (which
      would need random numbers during training).
    - ``width_scale`` multiplies every convolution's channels and ``hidden`` (rounded, at least 1), for quick runs.

    ``init`` as in :func:`small_cnn`; ``"kaiming"`` (default here) keeps the signal's scale through the 13 ReLU
    layers, which PyTorch's default does not. Outputs are logits.

    Notes
    -----
    The 13 convolutions of the full-width network on 3 channels hold 14,714,688 parameters (14,723,136 with batch
    norm) — the figures of the original VGG16 — and the classifier ``(512·s + 1)·512 + 513·512 + 513·n_classes``
    for a final map of ``s`` pixels.

    Examples
    --------
    >>> net = vgg16(3, 32, width_scale=1 / 16, generator=torch.Generator().manual_seed(0))
    >>> tuple(net(torch.zeros(2, 3, 32, 32)).shape), sum(isinstance(m, nn.MaxPool2d) for m in net)
    ((2, 10), 5)
    """
    in_channels, n_classes = _positive("in_channels", in_channels), _positive("n_classes", n_classes)
    height, width = _size(image_size)
    if not (isinstance(width_scale, (int, float)) and math.isfinite(width_scale) and width_scale > 0):
        raise ConfigError(f"width_scale must be a positive number; got {width_scale!r}")
    width_of = lambda c: max(1, round(c * width_scale))  # noqa: E731
    hidden = width_of(_positive("hidden", hidden))

    def make() -> nn.Sequential:
        f64 = torch.float64
        layers: list[nn.Module] = []
        c_in, h, w = in_channels, height, width
        for spec in VGG16_LAYERS:
            if spec == "M":
                if min(h, w) >= 2:
                    layers.append(nn.MaxPool2d(2))
                    h, w = h // 2, w // 2
                continue
            c_out = width_of(spec)
            layers.append(nn.Conv2d(c_in, c_out, 3, padding=1, dtype=f64))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out, dtype=f64))
            layers.append(nn.ReLU())
            c_in = c_out
        layers += [nn.Flatten(),
                   nn.Linear(c_in * h * w, hidden, dtype=f64), nn.ReLU(),
                   nn.Linear(hidden, hidden, dtype=f64), nn.ReLU(),
                   nn.Linear(hidden, n_classes, dtype=f64)]
        return nn.Sequential(*layers)

    return _build(make, what=f"vgg16 for {in_channels}x{height}x{width}", init=init, generator=generator,
                  dtype=dtype, device=device)
