"""The three-point interpolation of the linear F-Principle: a wide two-layer ReLU network trained on a few points
against the minimum-FP-norm interpolant, the kernel limits and the cubic and linear splines.

>>> r = interpolation_experiment("cubic", width=200, train=False, infinite=False)
>>> sorted(r.curves)
['cubic', 'fp', 'linear', 'ntk_limit']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.interpolate
import torch

from freqlens._arrays import to_numpy
from freqlens.lab.theory.fpnorm import min_fp_norm_interpolant, two_layer_kernel_limit
from freqlens.lab.theory.lfp import REGIMES, gamma2, relu_coefficients, two_layer_net, two_layer_parameters
from freqlens.lab.theory.ntk import empirical_ntk


def train_full_batch_gd(model: torch.nn.Module, x, y, *, lr: float | None = None, momentum: float = 0.0,
                        max_steps: int = 200_000, tol: float = 1e-10) -> dict:
    """Train ``model`` in place by full-batch gradient descent on ``mean((model(x) − y)²)``.

    ``lr`` defaults to ``0.5·N/λ_max`` (``λ_max`` the largest eigenvalue of the empirical NTK on ``x``, ``N``
    the number of targets), half the stability limit of plain GD. ``momentum`` > 0 uses heavy-ball momentum
    (``torch.optim.SGD``): for the linearised model it converges to the same function as plain GD (both stay in
    ``θ₀ + row(J)``) in about ``√κ`` instead of ``κ`` steps, but its larger effective steps can leave the kernel
    regime (measured: the linear regime's three-point fit at momentum 0.99 is no longer linear-like).
    Stops when the loss is below ``tol · mean(y²)``.
    Returns ``{"steps", "loss", "lr"}``.
    """
    ref = next(model.parameters())
    xt = torch.as_tensor(to_numpy(x), dtype=ref.dtype, device=ref.device)
    yt = torch.as_tensor(to_numpy(y), dtype=ref.dtype, device=ref.device)
    if lr is None:
        lam = float(torch.linalg.eigvalsh(torch.as_tensor(empirical_ntk(model, xt, output="trace"))).max())
        lr = 0.5 * yt.numel() / lam
    if not (lr > 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    stop = tol * float(torch.mean(yt ** 2))
    loss = float("inf")
    step = 0
    for step in range(int(max_steps) + 1):
        out = model(xt).reshape(yt.shape)
        loss_t = torch.mean((out - yt) ** 2)
        loss = float(loss_t.detach())
        if loss <= stop or step == max_steps:
            break
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        opt.step()
    return {"steps": step, "loss": loss, "lr": float(lr)}


def kernel_limit_interpolant(model: torch.nn.Module, x_nodes, y_nodes, x_eval) -> np.ndarray:
    """Where gradient descent on the *linearised* model converges: ``f₀(x) + Θ(x, X) Θ(X, X)⁻¹ (y − f₀(X))``.

    ``Θ`` is the empirical NTK of ``model`` at its current (initial) parameters; ``x_nodes`` ``(p, d)`` or ``(p,)``
    for 1-D inputs. This is the infinite-time limit of :class:`~freqlens.lab.theory.linearized.LinearizedDynamics`
    (the residual on the nodes vanishes along every mode with a nonzero eigenvalue).
    """
    ref = next(model.parameters())

    def as2d(v):
        t = torch.as_tensor(np.asarray(to_numpy(v), dtype=np.float64), dtype=ref.dtype, device=ref.device)
        return t.unsqueeze(1) if t.dim() == 1 else t

    xn, xe = as2d(x_nodes), as2d(x_eval)
    yn = np.asarray(to_numpy(y_nodes), dtype=np.float64).reshape(-1)
    with torch.no_grad():
        f0n = model(xn).double().cpu().numpy().reshape(-1)
        f0e = model(xe).double().cpu().numpy().reshape(-1)
    if f0n.size != yn.size:
        raise ValueError(f"y_nodes must have one value per node ({f0n.size}), got {yn.size}")
    knn = np.asarray(to_numpy(empirical_ntk(model, xn, output="trace")), dtype=np.float64)
    ken = np.asarray(to_numpy(empirical_ntk(model, xe, xn, output="trace")), dtype=np.float64)
    return f0e + ken @ np.linalg.solve(knn, yn - f0n)


def spline_likeness(correction, cubic, linear) -> tuple[float, float]:
    """``(d_cubic, d_linear)``: L2 distances of ``correction`` to the two splines, relative to their distance
    to each other (``d_cubic + d_linear >= 1``). Cubic-like: ``d_cubic`` near 0 and ``d_linear`` near 1."""
    c, s3, s1 = (np.asarray(v, dtype=np.float64) for v in (correction, cubic, linear))
    gap = np.linalg.norm(s3 - s1)
    if gap == 0:
        raise ValueError("the cubic and linear splines coincide (collinear points): nothing to tell apart")
    return float(np.linalg.norm(c - s3) / gap), float(np.linalg.norm(c - s1) / gap)


@dataclass
class InterpolationResult:
    """Outcome of :func:`interpolation_experiment`, every curve on ``x_eval`` and including ``h_ini``.

    ``curves``: ``"trained"`` (the network after gradient descent, when trained), ``"ntk_limit"`` (where GD on
    the linearised network converges, :func:`kernel_limit_interpolant`), ``"infinite"`` (the same with the
    infinite-width kernel, :func:`~freqlens.lab.theory.fpnorm.two_layer_kernel_limit`), ``"fp"`` (the minimum
    FP-norm interpolant for the network's ``γ²``), ``"cubic"`` and ``"linear"`` (natural cubic and linear splines
    through the residuals). ``likeness[name] = (d_cubic, d_linear)`` over the node hull (:func:`spline_likeness`).
    """

    regime: str
    x_nodes: np.ndarray
    y_nodes: np.ndarray
    x_eval: np.ndarray
    h_ini: np.ndarray
    curves: dict[str, np.ndarray]
    likeness: dict[str, tuple[float, float]]
    A: float
    B: float
    steps: int = 0
    loss: float = float("nan")
    info: dict = field(default_factory=dict)


def interpolation_experiment(regime: str = "cubic", *, width: int = 4000, x_nodes=(-0.5, -0.1, 0.5),
                             y_nodes=(0.0, 1.0, 0.2), x_eval=None, seed: int = 0, symmetric: bool = True,
                             train: bool = True, infinite: bool = True, max_steps: int = 200_000,
                             tol: float = 1e-10, device: str | torch.device = "cpu") -> InterpolationResult:
    """Train a wide two-layer ReLU network on a few points from the initial ranges of ``regime`` and compare it
    with the minimum-FP-norm interpolant, the kernel limits and the cubic and linear splines.

    ``regime``: ``"cubic"`` (``w, b ~ U[−3, 3]``, ``a ~ U[−0.01, 0.01]``: the ``1/ξ⁴`` term dominates) or
    ``"linear"`` (``w ~ U[−0.1, 0.1]``, ``a, b ~ U[−2, 2]``: the ``1/ξ²`` term dominates), see
    :data:`~freqlens.lab.theory.lfp.REGIMES`. ``symmetric`` (default) pairs neurons with opposite output weights so
    that ``h_ini = 0`` (:func:`~freqlens.lab.theory.lfp.two_layer_net`); otherwise the random ``h_ini`` (of order
    ``√width·|a|``) dominates the residuals in the linear regime and hides the difference between the splines.
    Training is plain full-batch GD at half the stability limit (:func:`train_full_batch_gd`) until the loss is
    below ``tol·mean(y²)``; ``train=False`` skips it (the linear regime's curvature mode is ~10⁴ times slower
    than its affine modes: minutes). ``infinite`` adds the infinite-width kernel limit. ``device``: where the
    network lives and trains (float64).

    The default nodes lie in ``[−0.5, 0.5]``: the ``w``-gradient ``a·x·σ'`` that the LFP leaves out weights the
    kernel by ``1 + x x'``, which on ``[−1, 1]`` bends the linear regime's kernel fit towards a piecewise quadratic.
    """
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {', '.join(REGIMES)}; got {regime!r}")
    xn = np.asarray(x_nodes, dtype=np.float64)
    yn = np.asarray(y_nodes, dtype=np.float64)
    if xn.ndim != 1 or xn.shape != yn.shape or xn.size < 3 or np.unique(xn).size != xn.size:
        raise ValueError("x_nodes and y_nodes must be 1-D of the same length >= 3, x_nodes distinct")
    order = np.argsort(xn)
    xn, yn = xn[order], yn[order]
    xe = np.linspace(xn[0], xn[-1], 401) if x_eval is None else np.asarray(x_eval, dtype=np.float64).reshape(-1)
    ranges = REGIMES[regime]
    net = two_layer_net(width, symmetric=symmetric, generator=torch.Generator().manual_seed(seed), device=device,
                        **ranges)
    prm = two_layer_parameters(net)

    def run(v):
        with torch.no_grad():
            return net(torch.as_tensor(v[:, None], device=device)).cpu().numpy().reshape(-1)

    h_ini, h_ini_nodes = run(xe), run(xn)
    res = yn - h_ini_nodes
    corr = {"ntk_limit": kernel_limit_interpolant(net, xn, yn, xe) - h_ini,
            "fp": min_fp_norm_interpolant(xn, res, xe, lambda xi: gamma2(xi, prm["a"], prm["w"])),
            "cubic": scipy.interpolate.CubicSpline(xn, res, bc_type="natural")(xe),
            "linear": np.interp(xe, xn, res)}
    if infinite:
        k = two_layer_kernel_limit(xn, xn, **ranges)
        corr["infinite"] = two_layer_kernel_limit(xe, xn, **ranges) @ np.linalg.solve(k, res)
    info = {"steps": 0, "loss": float("nan")}
    if train:
        info = train_full_batch_gd(net, xn[:, None], yn[:, None], max_steps=max_steps, tol=tol)
        corr["trained"] = run(xe) - h_ini
    inside = (xe >= xn[0]) & (xe <= xn[-1])
    likeness = {name: spline_likeness(c[inside], corr["cubic"][inside], corr["linear"][inside])
                for name, c in corr.items()}
    A, B = relu_coefficients(prm["a"], prm["w"])
    return InterpolationResult(regime, xn, yn, xe, h_ini, {n: h_ini + c for n, c in corr.items()}, likeness, A, B,
                               int(info["steps"]), float(info["loss"]), {"lr": info.get("lr"), "width": width})
