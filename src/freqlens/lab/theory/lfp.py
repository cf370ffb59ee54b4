"""The linear Frequency Principle (Luo, Zhang, Xu) for two-layer networks ``h(x) = Σ_j a_j σ(w_j·x + b_j)``.

In the kernel regime the residual ``u = h − f`` evolves as ``∂t F[u](ξ) = −γ(ξ)² F[u_ρ](ξ)``; for ReLU
``γ(ξ)² = E[|w|³/(16π⁴|ξ|^{d+3}) + a²|w|/(4π²|ξ|^{d+1})]`` over the initial parameters, and it decays
exponentially for tanh. Frequencies ``ξ`` are in cycles per unit of ``x`` (``e^{−2πiξx}``; ``sin(kx)`` on
``[−π, π)`` has ``ξ = k/(2π)``).

>>> import numpy as np
>>> w, a = np.array([2.0]), np.array([0.5])
>>> float(gamma2(1.0, a, w)) == 8 / (16 * np.pi**4) + 0.25 * 2 / (4 * np.pi**2)
True
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from freqlens._arrays import to_numpy

ACTIVATIONS = ("relu", "tanh")
#: initial ranges of the two regimes of the three-point interpolation (w, b, a ~ U[lo, hi])
REGIMES = {
    "cubic": {"w_range": (-3.0, 3.0), "b_range": (-3.0, 3.0), "a_range": (-0.01, 0.01)},
    "linear": {"w_range": (-0.1, 0.1), "b_range": (-2.0, 2.0), "a_range": (-2.0, 2.0)},
}


def two_layer_net(width: int, *, activation: str = "relu", in_dim: int = 1,
                  w_range: tuple[float, float] = (-1.0, 1.0), b_range: tuple[float, float] = (-1.0, 1.0),
                  a_range: tuple[float, float] = (-1.0, 1.0), symmetric: bool = False,
                  generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                  device: str | torch.device = "cpu") -> nn.Sequential:
    """``h(x) = Σ_j a_j σ(w_j·x + b_j)`` as ``Linear(in_dim, width) → σ → Linear(width, 1, bias=False)``, every
    parameter uniform on its range (no 1/width factor: the LFP papers' form). Drawn on the CPU from
    ``generator``.

    ``symmetric=True`` draws ``width/2`` neurons and pairs each with a twin of the same ``(w, b)`` and output
    weight ``−a``: the initial output is 0 (up to rounding) while ``γ(ξ)²`` and the kernel's distribution are unchanged
    (width must be even).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    if int(width) != width or width < 1 or int(in_dim) != in_dim or in_dim < 1:
        raise ValueError(f"width and in_dim must be positive integers, got {width!r}, {in_dim!r}")
    for name, (lo, hi) in (("w_range", w_range), ("b_range", b_range), ("a_range", a_range)):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"{name} must be a finite (low, high) with low <= high, got {(lo, hi)!r}")
    if symmetric and width % 2:
        raise ValueError(f"symmetric=True needs an even width, got {width}")
    # built on the meta device and filled below: nn.Linear's own initialisation would draw from the global RNG
    first = nn.Linear(in_dim, width, dtype=dtype, device="meta").to_empty(device="cpu")
    last = nn.Linear(width, 1, bias=False, dtype=dtype, device="meta").to_empty(device="cpu")
    m = width // 2 if symmetric else width
    with torch.no_grad():
        for p, (lo, hi) in ((first.weight, w_range), (first.bias, b_range), (last.weight, a_range)):
            drawn = torch.rand((m, *p.shape[1:]) if p is not last.weight else (1, m), generator=generator,
                               dtype=dtype) * (hi - lo) + lo
            if symmetric:
                drawn = torch.cat([drawn, -drawn if p is last.weight else drawn], dim=1 if p is last.weight else 0)
            p.copy_(drawn)
    act = nn.ReLU() if activation == "relu" else nn.Tanh()
    return nn.Sequential(first, act, last).to(device)


def two_layer_parameters(model: nn.Sequential) -> dict[str, np.ndarray]:
    """``{"a": (m,), "w": (m, d), "b": (m,)}`` of a :func:`two_layer_net` (or any Linear → σ → Linear net)."""
    if not (isinstance(model, nn.Sequential) and len(model) == 3 and isinstance(model[0], nn.Linear)
            and isinstance(model[2], nn.Linear) and model[2].out_features == 1):
        raise TypeError("model must be nn.Sequential(Linear(d, m), activation, Linear(m, 1)), "
                        "as built by two_layer_net")
    b = model[0].bias
    return {"a": to_numpy(model[2].weight).reshape(-1).astype(np.float64),
            "w": to_numpy(model[0].weight).astype(np.float64),
            "b": np.zeros(model[0].out_features) if b is None else to_numpy(b).astype(np.float64)}


def gamma2(xi, a, w, *, activation: str = "relu") -> np.ndarray:
    """``γ(ξ)²`` of the linear F-Principle, averaged over the neurons' initial ``(a_j, w_j)``.

    Parameters
    ----------
    xi : float or array_like
        Frequencies ``|ξ| > 0`` in cycles per unit of ``x``.
    a : array_like, shape (m,)
        Output weights.
    w : array_like, shape (m,) or (m, d)
        Input weights (``|w|`` is the Euclidean norm for ``d > 1``; tanh needs ``d = 1``).
    activation : {"relu", "tanh"}

    Returns
    -------
    ndarray with the shape of ``xi``.

    Notes
    -----
    ``γ(ξ)² = E[|w|·(|F[σ](ξ/|w|)|² + a²|F[σ'](ξ/|w|)|²)/|w|²]``: the ``a``-gradient ``σ(w·x + b)`` and the
    ``b``-gradient ``a σ'(w·x + b)`` of each neuron, Fourier transformed in ``x``, with the phase
    ``e^{2πiξb/w}`` averaged over a bias density that is flat near the data (the factor ``|w|``). ReLU:
    ``|F[ReLU](ν)|² = 1/(16π⁴ν⁴)``, ``|F[H](ν)|² = 1/(4π²ν²)`` give the formula of the module docstring. tanh:
    ``|F[tanh](ν)|² = π²/sinh²(π²ν)``, ``|F[sech²](ν)|² = 4π⁴ν²/sinh²(π²ν)``, so
    ``γ² = E[π²/(|w| sinh²(π²ξ/|w|)) + 4π⁴a²ξ²/(|w|³ sinh²(π²ξ/|w|))]``. The ``w``-gradient ``a x σ'(w·x + b)``
    is left out, as in the LFP papers (it grows with ``|x|``; on a bounded interval it adds at most the order of
    the ``b`` term).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    xi_arr = np.abs(np.asarray(xi, dtype=np.float64))
    if np.any(xi_arr == 0):
        raise ValueError("xi must be nonzero: γ(ξ)² diverges at ξ = 0")
    a = np.asarray(to_numpy(a), dtype=np.float64).reshape(-1)
    w = np.asarray(to_numpy(w), dtype=np.float64)
    d = 1 if w.ndim == 1 else w.shape[1]
    r = np.abs(w) if w.ndim == 1 else np.linalg.norm(w, axis=1)
    if r.size != a.size:
        raise ValueError(f"a and w must describe the same neurons, got {a.size} and {r.size}")
    xs = xi_arr.reshape(-1)
    if activation == "relu":  # two moments of the neurons: O(m + len(xi)) time and memory
        A = np.mean(r ** 3) / (16 * np.pi ** 4)
        B = np.mean(a * a * r) / (4 * np.pi ** 2)
        return (A / xs ** (d + 3) + B / xs ** (d + 1)).reshape(xi_arr.shape)
    if d != 1:
        raise ValueError("gamma2 for tanh is written for 1-D inputs (w of shape (m,) or (m, 1))")
    live = r > 0
    rr = np.where(live, r, 1.0)[None, :]
    a2 = (a * a)[None, :]
    out = np.empty(xs.size)
    step = max(1, (1 << 22) // max(r.size, 1))  # bound the (frequencies x neurons) temporaries to 4M values
    for s0 in range(0, xs.size, step):
        xc = xs[s0:s0 + step, None]
        z = np.pi ** 2 * xc / rr
        with np.errstate(over="ignore"):
            s2 = np.where(z < 700, np.sinh(np.minimum(z, 700)) ** 2, np.inf)
        val = np.pi ** 2 / (rr * s2) + 4 * np.pi ** 4 * a2 * xc ** 2 / (rr ** 3 * s2)
        out[s0:s0 + step] = np.where(live[None, :], val, 0.0).mean(axis=1)
    return out.reshape(xi_arr.shape)


def relu_coefficients(a, w) -> tuple[float, float]:
    """``(A, B)`` with ``γ(ξ)² = A/ξ⁴ + B/ξ²`` for a 1-D ReLU network: ``A = E|w|³/(16π⁴)``, ``B = E[a²|w|]/(4π²)``.

    The ``1/ξ⁴`` term dominates below ``ξ_c = √(A/B)`` cycles per unit, the ``1/ξ²`` term above it: with
    ``w, b ~ U[−3, 3]``, ``a ~ U[−0.01, 0.01]``, ``ξ_c ≈ 58``; with ``w ~ U[−0.1, 0.1]``, ``a ~ U[−2, 2]``,
    ``ξ_c ≈ 0.01``.
    """
    a = np.asarray(to_numpy(a), dtype=np.float64).reshape(-1)
    r = np.abs(np.asarray(to_numpy(w), dtype=np.float64).reshape(-1))
    return float(np.mean(r ** 3) / (16 * np.pi ** 4)), float(np.mean(a * a * r) / (4 * np.pi ** 2))


def lfp_time_scale(width: int, bias_density: float, lr: float, length: float) -> float:
    """``p`` of ``∂t F[u] = −p γ² F[u]`` in gradient-descent steps: ``p = 2·lr·width·bias_density/length``.

    For ``h = Σ_j a_j σ(w_j x + b_j)`` trained by full-batch GD with ``lr`` on ``mean((h − y)²)`` over points
    spread evenly on an interval of ``length``, the data density is ``ρ = 1/length`` and the kernel's Fourier
    multiplier is ``width · bias_density · γ(ξ)²`` (``bias_density`` the density of the biases near the data,
    ``1/(hi − lo)`` for ``b ~ U[lo, hi]``); one step multiplies ``F[u](ξ)`` by ``1 − 2·lr·ρ·width·bias_density·γ²``.
    """
    for name, v in (("width", width), ("bias_density", bias_density), ("lr", lr), ("length", length)):
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    return 2.0 * lr * width * bias_density / length


def lfp_convergence_time(gamma2_values, *, p: float, delta0=1.0, eps: float = 0.05) -> np.ndarray:
    """Predicted convergence time ``t(ξ) = ln(ΔF₀/ε) / (p·γ(ξ)²)`` (``0`` where ``ΔF₀ <= ε``)."""
    g = np.asarray(gamma2_values, dtype=np.float64)
    if not (p > 0 and eps > 0):
        raise ValueError(f"p and eps must be > 0, got {p!r}, {eps!r}")
    d0 = np.broadcast_to(np.asarray(delta0, dtype=np.float64), g.shape)
    with np.errstate(divide="ignore"):
        return np.where(d0 > eps, np.log(np.maximum(d0, eps) / eps) / (p * g), 0.0)
