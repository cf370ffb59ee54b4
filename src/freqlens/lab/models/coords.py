"""Coordinate networks: f(v) for a low-dimensional coordinate v (a pixel position, a point of a 1-D grid).

One factory, :func:`coordinate_model`, builds every network of the image-fitting experiments and of the 1-D lab's
``--set model=...``:

========================  ===============================================================================
name                      network
========================  ===============================================================================
``mlp``                   plain MLP (:func:`freqlens.lab.models.mlp.mlp`) on the raw coordinates
``ff-basic``              MLP on ``[cos(2π v/P), sin(2π v/P)]`` (Tancik et al.'s "basic" mapping, B = I)
``ff-positional``         MLP on cos/sin of log-spaced frequencies along each axis (positional encoding)
``ff-gaussian``           MLP on ``[cos(2π B v/P), sin(2π B v/P)]``, ``B ~ N(0, σ²)`` (random Fourier features)
``siren``                 sine network with SIREN's initialisation (Sitzmann et al. 2020)
``mscale``                MscaleDNN: first-layer pre-activations multiplied by scales (:mod:`.mscale`)
``mscale-sub``            MscaleDNN: one subnetwork per scaled input, outputs summed (:mod:`.mscale`)
========================  ===============================================================================

Coordinates and units
---------------------
Images: coordinates in ``[0, 1)`` on a regular grid, ``v = (row, col) / max(H, W)`` (see
:func:`freqlens.lab.data.images.coordinate_grid`; for a square ``N×N`` image this is Tancik et al.'s
``linspace(0, 1, N + 1)[:-1]``). The 1-D lab's inputs are ``x ∈ [−π, π)``.

The mappings work for any input range; ``period`` P (default 1) says how long the domain is, and every frequency
parameter is counted in **cycles per period**: a feature ``cos(2π b·v / P)`` has ``b`` cycles across the
domain (:mod:`freqlens.lab.models.fourier`). So ``σ = 10`` means "frequencies with a standard deviation of 10
cycles per image side" for images (P = 1) and, for the 1-D lab with ``period=2π``, "frequencies like those of
``sin(10 x)``": there B's entries are in the units of the ``k`` of ``sin(k x)``, the bin index of
:func:`freqlens.spectrum.dft`. SIREN's ω0 = 30 was tuned for inputs spanning a length 2
(``[−1, 1]``); the SIREN here multiplies its input by ``2 / P`` first, so ω0 keeps that meaning on any domain (a
shift of the domain is a phase, absorbed by the first layer's biases). The plain MLP and MscaleDNN take the raw
coordinates (their scales are dimensionless multipliers).

Randomness
----------
Every parameter and the Gaussian matrix B are drawn from the explicit CPU ``generator`` (or seed), in float64,
then cast and moved: a seed gives the same network on every device, and the global RNG is never touched. B is a
registered buffer, so it is in ``state_dict()`` and is stored with the run's weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from freqlens._memory import available_memory
from freqlens.errors import ConfigError
from freqlens.lab.models.fourier import (
    BasicFourierFeatures,
    GaussianFourierFeatures,
    PositionalEncoding,
    cpu_generator,
    positive_float,
    positive_int,
)
from freqlens.lab.models.mlp import ACTIVATIONS, mlp
from freqlens.lab.models.mscale import MSCALE_ACTIVATIONS, MscaleMLP, MscaleSum

__all__ = [
    "COORDINATE_MODELS",
    "BasicFourierFeatures",
    "GaussianFourierFeatures",
    "PositionalEncoding",
    "Siren",
    "coordinate_model",
]

COORDINATE_MODELS = ("mlp", "ff-basic", "ff-positional", "ff-gaussian", "siren", "mscale", "mscale-sub")
OUTPUTS = (None, "sigmoid")


# --------------------------------------------------------------------------------------------------------------
# SIREN
# --------------------------------------------------------------------------------------------------------------
class Siren(nn.Module):
    """A sine network: ``h_{l+1} = sin(ω0 (W_l h_l + b_l))`` for the hidden layers, a linear last layer.

    Parameters
    ----------
    in_dim, out_dim : int
        Coordinates per point, outputs per point.
    hidden : sequence of int
        Hidden widths (SIREN's image fits use 5 × 256; the default of :func:`coordinate_model` is 4 × 256).
    omega0 : float
        Frequency factor ω0 of every sine layer (SIREN: 30).
    input_scale : float
        The input is multiplied by this first (:func:`coordinate_model` passes ``2 / period``, so that the domain
        spans a length 2 as SIREN's ``[−1, 1]``).
    output : {None, "sigmoid"}
        Optional squashing of the output.
    generator : torch.Generator
        CPU generator of every weight and bias (drawn in float64, then cast to ``dtype`` and moved to ``device``).

    Notes
    -----
    Initialisation (the authors' code; their paper's first-layer formula has a typo, siren issue #4), with n the
    fan-in of the layer:

    - first layer: ``W ~ U(−1/n, 1/n)``;
    - every later layer, the linear output layer included: ``W ~ U(−√(6/n)/ω0, √(6/n)/ω0)``;
    - biases: PyTorch's default ``U(−1/√n, 1/√n)`` (the authors leave them as PyTorch sets them).

    Examples
    --------
    >>> net = Siren(2, [16, 16], 1, generator=torch.Generator().manual_seed(0))
    >>> net(torch.zeros(3, 2)).shape
    torch.Size([3, 1])
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, *, omega0: float = 30.0,
                 input_scale: float = 2.0, output: str | None = None, generator: torch.Generator,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"):
        super().__init__()
        dims = [positive_int(in_dim, "in_dim"), *_widths(hidden), positive_int(out_dim, "out_dim")]
        self.omega0 = positive_float(omega0, "omega0")
        self.input_scale = positive_float(input_scale, "input_scale")
        self.output = _check_output(output)
        gen = cpu_generator(generator)
        self.layers = nn.ModuleList()
        for i in range(len(dims) - 1):
            n = dims[i]
            lin = nn.utils.skip_init(nn.Linear, n, dims[i + 1], dtype=torch.float64)  # no global-RNG draw
            bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / self.omega0
            with torch.no_grad():
                lin.weight.uniform_(-bound, bound, generator=gen)
                lin.bias.uniform_(-1.0 / math.sqrt(n), 1.0 / math.sqrt(n), generator=gen)
            self.layers.append(lin)
        self.to(device=device, dtype=dtype)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        h = v * self.input_scale
        for lin in self.layers[:-1]:
            h = torch.sin(self.omega0 * lin(h))
        out = self.layers[-1](h)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def extra_repr(self) -> str:
        return f"omega0={self.omega0:g}, input_scale={self.input_scale:g}, output={self.output}"


# --------------------------------------------------------------------------------------------------------------
# the factory
# --------------------------------------------------------------------------------------------------------------
def coordinate_model(
    name: str,
    in_dim: int,
    out_dim: int,
    *,
    hidden: Sequence[int] = (256, 256, 256, 256),
    activation: str | None = None,
    output: str | None = None,
    init: str = "default",
    init_std: float = 0.0,
    mapping_size: int = 256,
    sigma: float = 10.0,
    n_freqs: int | None = None,
    max_freq: float = 64.0,
    period: float = 1.0,
    omega0: float = 30.0,
    scales: Sequence[float] = (1, 2, 4, 8, 16, 32),
    generator: torch.Generator | int | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Build the coordinate network ``name`` (one of :data:`COORDINATE_MODELS`).

    Parameters
    ----------
    name : str
        ``"mlp"``, ``"ff-basic"``, ``"ff-positional"``, ``"ff-gaussian"``, ``"siren"``, ``"mscale"`` or
        ``"mscale-sub"`` (see the module docstring).
    in_dim, out_dim : int
        Coordinates per point (2 for images, 1 for the 1-D lab); values per point (1 grey, 3 RGB).
    hidden : sequence of int
        Hidden widths. For ``mscale-sub`` they are the widths of *each* subnetwork.
    activation : str, optional
        Hidden activation. Default ``"relu"`` for ``mlp`` and ``ff-*`` (any of
        :data:`freqlens.lab.models.mlp.ACTIVATIONS`), ``"s2relu"`` for ``mscale*`` (``"srelu"``, ``"s2relu"`` or
        one of the MLP's); SIREN's is the sine (``None`` or ``"sin"`` only).
    output : {None, "sigmoid"}
        Squash the output into (0, 1) (Tancik et al.'s image fits) or leave it linear.
    init, init_std : str, float
        Initialisation of the MLP part of ``mlp`` and ``ff-*`` (as :func:`~freqlens.lab.models.mlp.mlp`:
        ``"default"`` = PyTorch's U(±1/√fan_in), ``"normal"``, ``"xavier"``). SIREN and MscaleDNN use their own.
    mapping_size : int
        ``ff-gaussian``: number of random frequencies m (2m features).
    sigma : float
        ``ff-gaussian``: standard deviation of B, in cycles per period (> 0).
    n_freqs, max_freq : int, float
        ``ff-positional``: frequencies per axis (default ``mapping_size // in_dim``, i.e. as many features as the
        Gaussian mapping) and the highest one, in cycles per period.
    period : float
        Length of the input domain along each axis: 1 for image coordinates in ``[0, 1)``, ``2π`` for the 1-D
        lab's ``[−π, π)``. Sets the unit of ``sigma``/``max_freq`` and SIREN's input scaling ``2 / period``.
    omega0 : float
        ``siren``: ω0 of every sine layer.
    scales : sequence of float
        ``mscale``/``mscale-sub``: the scale factors a_i (> 0).
    generator : torch.Generator or int, optional
        CPU generator (or a seed) every parameter and B are drawn from; ``None`` means seed 0. The global RNG is
        never used.
    dtype, device :
        Of the returned module (parameters are drawn in float64 on the CPU, then cast and moved).

    Returns
    -------
    torch.nn.Module
        Maps ``(..., in_dim)`` to ``(..., out_dim)``.

    Raises
    ------
    freqlens.errors.ConfigError
        Unknown name, activation or output; a size < 1; ``sigma``, ``max_freq``, ``period``, ``omega0`` or a scale
        not > 0; a network whose parameters would not fit in the available memory.

    Examples
    --------
    >>> net = coordinate_model("ff-gaussian", 2, 3, hidden=[64, 64], sigma=10.0, output="sigmoid", generator=0)
    >>> net(torch.rand(10, 2, generator=torch.Generator().manual_seed(1))).shape
    torch.Size([10, 3])
    >>> "0.B" in net.state_dict()     # the random frequencies are stored with the weights
    True
    """
    if name not in COORDINATE_MODELS:
        raise ConfigError(f"model must be one of {', '.join(COORDINATE_MODELS)}; got {name!r}")
    in_dim = positive_int(in_dim, "in_dim")
    out_dim = positive_int(out_dim, "out_dim")
    widths = _widths(hidden)
    output = _check_output(output)
    period = positive_float(period, "period")
    gen = _as_generator(generator)
    act = _check_activation(name, activation)

    if name == "siren":
        _check_memory(_n_params([in_dim, *widths, out_dim]), dtype, name)
        net: nn.Module = Siren(in_dim, widths, out_dim, omega0=omega0, input_scale=2.0 / period, output=output,
                               generator=gen, dtype=dtype, device=device)
    elif name in ("mscale", "mscale-sub"):
        n_scales = len(tuple(scales))
        n = _n_params([in_dim, *widths, out_dim]) * (n_scales if name == "mscale-sub" else 1)
        _check_memory(n, dtype, name)
        cls = MscaleMLP if name == "mscale" else MscaleSum
        net = cls(in_dim, widths, out_dim, scales=scales, activation=act, output=output, generator=gen,
                  dtype=dtype, device=device)
    else:
        mapping: nn.Module | None = None
        if name == "ff-basic":
            mapping = BasicFourierFeatures(in_dim, period=period, dtype=torch.float64)
        elif name == "ff-positional":
            nf = max(1, positive_int(mapping_size, "mapping_size") // in_dim) if n_freqs is None else n_freqs
            _check_memory(in_dim * positive_int(nf, "n_freqs") * in_dim, dtype, name)  # B
            mapping = PositionalEncoding(in_dim, n_freqs=nf, max_freq=max_freq, period=period,
                                         dtype=torch.float64)
        elif name == "ff-gaussian":
            _check_memory(positive_int(mapping_size, "mapping_size") * in_dim, dtype, name)
            mapping = GaussianFourierFeatures(in_dim, mapping_size=mapping_size, sigma=sigma, generator=gen,
                                              period=period, dtype=torch.float64)
        feat = in_dim if mapping is None else mapping.out_dim
        _check_memory(_n_params([feat, *widths, out_dim]), dtype, name)
        # mlp (unchanged: the 1-D lab's numbers are pinned) builds nn.Linear layers, whose constructors draw from
        # the global RNG before mlp overwrites them from `gen`; fork_rng restores the global state afterwards.
        with torch.random.fork_rng(devices=[]):
            body = mlp(feat, widths, out_dim, activation=act, init=init, init_std=init_std, generator=gen,
                       dtype=dtype, device=device)
        parts: list[nn.Module] = [] if mapping is None else [mapping]
        parts.append(body)
        if output == "sigmoid":
            parts.append(nn.Sigmoid())
        net = body if len(parts) == 1 else nn.Sequential(*parts)
    return net.to(device=device, dtype=dtype)


# --------------------------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------------------------
def _widths(hidden: Sequence[int]) -> list[int]:
    if isinstance(hidden, (int, str)) or not len(hidden):
        raise ConfigError(f"hidden must be a non-empty list of positive widths; got {hidden!r}")
    return [positive_int(h, "each hidden width") for h in hidden]


def _check_output(output: str | None) -> str | None:
    if output not in OUTPUTS:
        raise ConfigError(f"output must be None (linear) or 'sigmoid'; got {output!r}")
    return output


def _check_activation(name: str, activation: str | None) -> str:
    if name == "siren":
        if activation not in (None, "sin"):
            raise ConfigError(f"siren's activation is the sine (sin(omega0 x)); got activation={activation!r}")
        return "sin"
    if name.startswith("mscale"):
        act = activation or "s2relu"
        allowed = (*MSCALE_ACTIVATIONS, *ACTIVATIONS)
    else:
        act = activation or "relu"
        allowed = tuple(ACTIVATIONS)
    if act not in allowed:
        raise ConfigError(f"activation for {name} must be one of {', '.join(dict.fromkeys(allowed))}; "
                          f"got {activation!r}")
    return act


def _n_params(dims: list[int]) -> int:
    return sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1))


def _check_memory(n_values: int, dtype: torch.dtype, name: str) -> None:
    """Refuse a network whose parameters (float64 while drawn, plus Adam's two moments) exceed the free memory."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    need = int(n_values) * (8 + 4 * itemsize)
    avail = available_memory()
    if need > avail:
        raise ConfigError(f"model {name} has {n_values:,} parameters: building and training it needs about "
                          f"{need / 2**30:.1f} GiB, {avail / 2**30:.1f} GiB is available; use smaller widths")


def _as_generator(generator: torch.Generator | int | None) -> torch.Generator:
    if generator is None:
        return torch.Generator().manual_seed(0)
    if isinstance(generator, bool):
        raise TypeError("generator must be a torch.Generator, an int seed or None; got a bool")
    if isinstance(generator, int):
        return torch.Generator().manual_seed(generator)
    return cpu_generator(generator)
