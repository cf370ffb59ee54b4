"""Fourier feature mappings of coordinates: basic, positional encoding and Gaussian random features.

Each maps ``v`` of shape ``(..., d)`` to ``[cos(2π B v / P), sin(2π B v / P)]`` of shape ``(..., 2m)`` for a fixed
frequency matrix ``B`` (m, d), a registered buffer (so it is in ``state_dict()``). ``P`` is the ``period``, the
length of the input domain along each axis, and B's entries are frequencies in **cycles per period**: P = 1 for
image coordinates in ``[0, 1)``; P = 2π for the 1-D lab's ``[−π, π)``, where B's entries are the ``k`` of
``sin(k x)`` (see :mod:`freqlens.lab.models.coords`). Tancik et al. (2020), "Fourier features let networks learn
high frequency functions in low dimensional domains", section 6 and their notebooks.

The argument checks of the coordinate models live here too (:func:`positive_int`, :func:`positive_float`,
:func:`cpu_generator`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from freqlens.errors import ConfigError

__all__ = ["BasicFourierFeatures", "GaussianFourierFeatures", "PositionalEncoding", "cpu_generator",
           "positive_float", "positive_int"]


# --------------------------------------------------------------------------------------------------------------
# Fourier feature mappings
# --------------------------------------------------------------------------------------------------------------
class _FourierFeatures(nn.Module):
    """``v -> [cos(2π B v / P), sin(2π B v / P)]`` for a fixed frequency matrix ``B`` (a buffer, shape (m, d)).

    Output: ``(..., 2m)``, the m cosines first, then the m sines (Tancik et al. put the sines first; the order
    does not change what an MLP on top can represent).
    """

    def __init__(self, B: torch.Tensor, period: float):
        super().__init__()
        if B.ndim != 2 or B.shape[0] < 1:
            raise ConfigError(f"the frequency matrix B must have shape (m >= 1, in_dim), got {tuple(B.shape)}")
        self.register_buffer("B", B)
        self.period = float(period)

    @property
    def in_dim(self) -> int:
        return int(self.B.shape[1])

    @property
    def out_dim(self) -> int:
        return 2 * int(self.B.shape[0])

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        if v.shape[-1] != self.in_dim:
            raise ValueError(f"input has {v.shape[-1]} coordinates per point, the mapping expects {self.in_dim}")
        phase = (2.0 * math.pi / self.period) * (v @ self.B.T)
        return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}, period={self.period:g}"


class BasicFourierFeatures(_FourierFeatures):
    """Tancik et al.'s basic mapping ``γ(v) = [cos(2π v / P), sin(2π v / P)]`` (``B`` = identity): 2·d features.

    Examples
    --------
    >>> f = BasicFourierFeatures(2)
    >>> f(torch.tensor([[0.25, 0.0]])).round(decimals=6) + 0.0      # cos(π/2), cos 0, sin(π/2), sin 0
    tensor([[0., 1., 1., 0.]])
    """

    def __init__(self, in_dim: int, *, period: float = 1.0, dtype: torch.dtype = torch.float32):
        super().__init__(torch.eye(positive_int(in_dim, "in_dim"), dtype=dtype), positive_float(period, "period"))


class PositionalEncoding(_FourierFeatures):
    """Positional encoding: cos/sin of ``n_freqs`` log-spaced frequencies along each coordinate axis.

    Parameters
    ----------
    in_dim : int
        Coordinates per point.
    n_freqs : int
        Frequencies per axis; the mapping has ``2 · in_dim · n_freqs`` outputs.
    max_freq : float
        Highest frequency, in cycles per period.
    period : float
        Length of the domain (see the module notes).

    Notes
    -----
    Frequencies ``f_j = max_freq ** (j / (n_freqs − 1))``, ``j = 0 … n_freqs − 1`` (geometric from 1 to
    ``max_freq``; a single frequency is ``max_freq``); each is applied to one axis at a time (rows of B are
    ``f_j e_d``), axis-major: B = ``[f_0 e_0, …, f_{n−1} e_0, f_0 e_1, …]``. Tancik et al.'s image setting
    (``2**linspace(0, 6, 128) − 1`` per axis) is close to ``n_freqs=128, max_freq=64``; NeRF's octaves
    ``2**j`` for ``j < L`` are ``n_freqs=L, max_freq=2**(L−1)``.

    Examples
    --------
    >>> PositionalEncoding(1, n_freqs=4, max_freq=8).B.flatten()
    tensor([1., 2., 4., 8.])
    """

    def __init__(self, in_dim: int, *, n_freqs: int, max_freq: float, period: float = 1.0,
                 dtype: torch.dtype = torch.float32):
        d = positive_int(in_dim, "in_dim")
        n = positive_int(n_freqs, "n_freqs")
        top = positive_float(max_freq, "max_freq")
        freqs = torch.tensor([top], dtype=torch.float64) if n == 1 else \
            top ** (torch.arange(n, dtype=torch.float64) / (n - 1))
        B = torch.zeros(d * n, d, dtype=torch.float64)
        for axis in range(d):
            B[axis * n:(axis + 1) * n, axis] = freqs
        super().__init__(B.to(dtype), positive_float(period, "period"))


class GaussianFourierFeatures(_FourierFeatures):
    """Random Fourier features ``[cos(2π B v / P), sin(2π B v / P)]`` with ``B ~ N(0, σ²)``, shape (m, d).

    Parameters
    ----------
    in_dim : int
        Coordinates per point (d).
    mapping_size : int
        Number of random frequency vectors (m); the mapping has ``2m`` outputs.
    sigma : float
        Standard deviation of B's entries, in cycles per period (Tancik et al.: 10 for natural images at 512²).
    generator : torch.Generator
        CPU generator B is drawn from (float64 ``randn``, then cast).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> GaussianFourierFeatures(2, mapping_size=256, sigma=10.0, generator=g)(torch.zeros(5, 2)).shape
    torch.Size([5, 512])
    """

    def __init__(self, in_dim: int, *, mapping_size: int, sigma: float, generator: torch.Generator,
                 period: float = 1.0, dtype: torch.dtype = torch.float32):
        d = positive_int(in_dim, "in_dim")
        m = positive_int(mapping_size, "mapping_size")
        s = positive_float(sigma, "sigma")
        B = torch.randn(m, d, generator=cpu_generator(generator), dtype=torch.float64) * s
        super().__init__(B.to(dtype), positive_float(period, "period"))
        self.sigma = s


# --------------------------------------------------------------------------------------------------------------
# argument checks shared by the coordinate models
# --------------------------------------------------------------------------------------------------------------
def positive_int(value, name: str) -> int:
    """``value`` as an int >= 1 (ints and integer-like objects only); else :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) and not (hasattr(value, "__index__")):
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    if int(value) < 1:
        raise ConfigError(f"{name} must be a positive integer (>= 1); got {value!r}")
    return int(value)


def positive_float(value, name: str) -> float:
    """``value`` as a finite float > 0; else :class:`ConfigError` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number > 0; got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ConfigError(f"{name} must be a finite number > 0; got {value!r}")
    return v


def cpu_generator(generator: torch.Generator) -> torch.Generator:
    """``generator`` if it is a CPU :class:`torch.Generator`; else ``TypeError``/``ValueError``."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU generator (parameters are drawn on the CPU, then moved); "
                         f"got one on {generator.device}")
    return generator
