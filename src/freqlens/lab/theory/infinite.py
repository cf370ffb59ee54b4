"""Infinite-width NTK of ReLU and erf MLPs in closed form, and the finite networks it is the limit of.

Parametrisation: **NTK parametrisation** (Jacot et al., 2018; neural-tangents' default), layer ``l`` computing
``z^l = (σ_w/√n_{l−1}) W^l a^{l−1} + σ_b b^l`` with ``W, b ~ N(0, 1)``, ``a^0 = x``, ``a^l = φ(z^l)``, and a
linear read-out. Build the matching finite network with :func:`ntk_mlp`; its empirical NTK
(:func:`freqlens.lab.theory.empirical_ntk`) converges to :func:`infinite_ntk` as the widths grow, with
fluctuations of order ``1/√width``. (In PyTorch's standard parametrisation the NTK grows with the width instead.)

>>> import numpy as np
>>> x = np.array([[1.0, 0.0], [0.0, 1.0]])  # orthogonal inputs: Σ¹ = diag(1/2); by hand Θ = [[1/2, 1/(4π)], ...]
>>> np.round(infinite_ntk(x, depth=1, activation="relu", sigma_w=1.0, sigma_b=0.0), 6)
array([[0.5     , 0.079577],
       [0.079577, 0.5     ]])
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from freqlens._arrays import is_torch, to_numpy

ACTIVATIONS = ("relu", "erf")


class Erf(nn.Module):
    """Element-wise error function (the activation with a closed-form infinite-width kernel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.erf(x)


class NTKLinear(nn.Module):
    """Dense layer in NTK parametrisation: ``y = (σ_w/√in) W x + σ_b b`` with ``W, b ~ N(0, 1)``.

    Declares ``ntk_structure = "linear"`` with ``weight_scale = σ_w/√in`` and ``bias_scale = σ_b`` so that
    :func:`~freqlens.lab.theory.empirical_ntk` contracts it layer-wise like ``nn.Linear``.
    """

    ntk_structure = "linear"

    def __init__(self, in_features: int, out_features: int, *, sigma_w: float = 1.0, sigma_b: float = 0.0,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu"):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"in_features and out_features must be >= 1, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight_scale = float(sigma_w) / math.sqrt(in_features)
        self.bias_scale = float(sigma_b)
        w = torch.randn(out_features, in_features, generator=generator, dtype=dtype)
        b = torch.randn(out_features, generator=generator, dtype=dtype)
        self.weight = nn.Parameter(w.to(device))
        self.bias = nn.Parameter(b.to(device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_scale * self.weight, self.bias_scale * self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"weight_scale={self.weight_scale:.4g}, bias_scale={self.bias_scale:.4g}")


def ntk_mlp(in_dim: int, hidden: list[int], out_dim: int = 1, *, activation: str = "relu",
            sigma_w: float = 1.0, sigma_b: float = 0.0, generator: torch.Generator | None = None,
            dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> nn.Sequential:
    """An MLP in NTK parametrisation (:class:`NTKLinear` layers), the finite network of :func:`infinite_ntk`.

    Parameters are drawn on the CPU from ``generator`` (a seed gives the same network on every device).
    """
    _check_activation(activation)
    if not hidden or any(int(h) != h or h < 1 for h in hidden):
        raise ValueError(f"hidden must list positive layer widths, got {hidden!r}")
    dims = [in_dim, *hidden, out_dim]
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(NTKLinear(dims[i], dims[i + 1], sigma_w=sigma_w, sigma_b=sigma_b, generator=generator,
                                dtype=dtype))
        if i < len(dims) - 2:
            layers.append(nn.ReLU() if activation == "relu" else Erf())
    return nn.Sequential(*layers).to(device)


def infinite_ntk(x1, x2=None, *, depth: int = 1, activation: str = "relu", sigma_w: float = 1.0,
                 sigma_b: float = 0.0, return_nngp: bool = False):
    """Closed-form NTK (and NNGP kernel) of an infinitely wide MLP with ``depth`` hidden layers.

    Parameters
    ----------
    x1, x2 : array_like or Tensor, shape (n, d)
        Inputs (``x2`` defaults to ``x1``). numpy in gives numpy out (float64); torch in gives torch out.
    depth : int
        Number of hidden layers (``ntk_mlp(d, [width] * depth, 1)`` is the finite network).
    activation : {"relu", "erf"}
    sigma_w, sigma_b : float
        Weight and bias scales of the NTK parametrisation (module docstring).
    return_nngp : bool
        Also return the NNGP kernel (the output covariance at initialisation).

    Returns
    -------
    ndarray or Tensor, shape (n1, n2), or a tuple (ntk, nngp)

    Notes
    -----
    With ``Σ¹(x, x') = σ_w² x·x'/d + σ_b²`` and ``Θ¹ = Σ¹``, each hidden layer maps
    ``Σ ← σ_w² E[φ(u)φ(v)] + σ_b²``, ``Σ̇ = σ_w² E[φ'(u)φ'(v)]``, ``Θ ← Σ + Θ·Σ̇`` with
    ``(u, v) ~ N(0, [[Σ(x,x), Σ(x,x')], [Σ(x,x'), Σ(x',x')]])``. ReLU (arc-cosine kernels of degree 1 and 0, Cho &
    Saul 2009), with ``cos θ = Σ(x,x')/√(Σ(x,x)Σ(x',x'))``: ``E[φφ] = √(Σ(x,x)Σ(x',x'))·(sin θ + (π−θ) cos θ)/(2π)``,
    ``E[φ'φ'] = (π−θ)/(2π)``. Erf (Williams 1997): ``E[φφ] = (2/π) arcsin(2Σ(x,x') / √((1+2Σ(x,x))(1+2Σ(x',x'))))``,
    ``E[φ'φ'] = (4/π) / √((1+2Σ(x,x))(1+2Σ(x',x')) − 4Σ(x,x')²)``.
    """
    _check_activation(activation)
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
    as_torch = is_torch(x1)
    a = np.asarray(to_numpy(x1), dtype=np.float64)
    b = a if x2 is None else np.asarray(to_numpy(x2), dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"x1 and x2 must have shape (n, d) with the same d, got {a.shape} and {b.shape}")
    d = a.shape[1]
    sw2, sb2 = float(sigma_w) ** 2, float(sigma_b) ** 2
    s12 = sw2 * (a @ b.T) / d + sb2
    s11 = sw2 * np.sum(a * a, axis=1) / d + sb2
    s22 = sw2 * np.sum(b * b, axis=1) / d + sb2
    theta = s12.copy()
    for _ in range(int(depth)):
        e12, de12 = _expectations(activation, s11[:, None], s22[None, :], s12)
        e11, _ = _expectations(activation, s11, s11, s11)
        e22, _ = _expectations(activation, s22, s22, s22)
        s12, s11, s22 = sw2 * e12 + sb2, sw2 * e11 + sb2, sw2 * e22 + sb2
        theta = s12 + theta * (sw2 * de12)
    if as_torch:
        ref = x1
        theta = torch.as_tensor(theta, dtype=ref.dtype if ref.is_floating_point() else torch.float64,
                                device=ref.device)
        s12 = torch.as_tensor(s12, dtype=theta.dtype, device=ref.device)
    return (theta, s12) if return_nngp else theta


def _expectations(activation: str, s11, s22, s12):
    """``(E[φ(u)φ(v)], E[φ'(u)φ'(v)])`` for centred Gaussians with variances s11, s22 and covariance s12."""
    if activation == "relu":
        norm = np.sqrt(s11 * s22)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(norm > 0, s12 / np.where(norm > 0, norm, 1.0), 1.0)
        cos = np.clip(cos, -1.0, 1.0)
        th = np.arccos(cos)
        e = norm * (np.sin(th) + (np.pi - th) * cos) / (2 * np.pi)
        de = (np.pi - th) / (2 * np.pi)
        return e, de
    den = (1 + 2 * s11) * (1 + 2 * s22)
    e = (2 / np.pi) * np.arcsin(np.clip(2 * s12 / np.sqrt(den), -1.0, 1.0))
    de = (4 / np.pi) / np.sqrt(np.maximum(den - 4 * s12 ** 2, 1e-300))
    return e, de


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
