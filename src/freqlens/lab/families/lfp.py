"""The linear F-Principle's variational problem in a run: a wide two-layer ReLU network interpolating a few points.

Luo, Zhang and Xu: in the kernel regime a two-layer network ``h = Σ a relu(w x + b)`` trained on a few points
converges to the interpolant that minimises ``∫ γ(ξ)^{-2} |F[h] − F[h_ini]|² dξ``, with
``γ(ξ)² = E[|w|³/(16π⁴ξ⁴) + a²|w|/(4π²ξ²)]``. When ``w, b ~ U[−3, 3]``, ``a ~ U[−0.01, 0.01]`` the 1/ξ⁴ term
dominates and the fit is cubic-spline-like; when ``w ~ U[−0.1, 0.1]``, ``a, b ~ U[−2, 2]`` the 1/ξ² term dominates
and it is linear-spline-like. The run trains the network by full-batch gradient descent (half the stability limit)
and records, beside its fit, the minimum-FP-norm interpolant, the kernel limits and both splines
(:class:`InterpolationMonitor`); ``(d_cubic, d_linear)`` measure which spline a curve is like.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from freqlens.errors import ConfigError
from freqlens.lab.config import TrainConfig, choice, int_range
from freqlens.lab.family import Experiment, Family, Problem, register_experiment, register_family

REGIMES = ("cubic", "linear")


@dataclass
class LfpConfig(TrainConfig):
    regime: str = "cubic"  # "cubic" (1/ξ⁴ dominates) or "linear" (1/ξ² dominates): the initial ranges
    width: int = 1000
    x_nodes: list[float] = field(default_factory=lambda: [-0.5, -0.1, 0.5])
    y_nodes: list[float] = field(default_factory=lambda: [0.0, 1.0, 0.2])
    symmetric: bool = True  # twin neurons with opposite output weights: h_ini = 0
    n_eval: int = 401  # points on which the curves are compared (over the nodes' span)
    lr_fraction: float = 0.5  # gradient descent at this fraction of its stability limit

    def memory_bytes(self) -> int:
        return 8 * self.width * (self.n_eval + 64) + 8 * self.n_eval * 64

    def validate(self) -> "LfpConfig":
        super().validate()
        choice("regime", self.regime, REGIMES)
        int_range("width", self.width, 2, 10**7)
        if self.symmetric and self.width % 2:
            raise ConfigError(f"symmetric=true pairs neurons: the width must be even, got {self.width}")
        xs, ys = self.x_nodes, self.y_nodes
        if len(xs) < 3 or len(xs) != len(ys):
            raise ConfigError(f"x_nodes and y_nodes must list the same number (>= 3) of values, got {xs}, {ys}")
        if len(set(xs)) != len(xs) or not all(np.isfinite([*xs, *ys])):
            raise ConfigError(f"x_nodes must be distinct finite numbers, y_nodes finite, got {xs}, {ys}")
        int_range("n_eval", self.n_eval, 16, 10**6)
        if not 0 < self.lr_fraction < 1:
            raise ConfigError(f"lr_fraction must be in (0, 1), got {self.lr_fraction}")
        if self.optimizer != "sgd" or self.momentum != 0:
            raise ConfigError("the variational problem describes plain gradient descent: optimizer=sgd, momentum=0")
        return self


class InterpolationMonitor:
    """The fit of a two-layer network on a few points, against the curves the theory predicts.

    At its first record (the network at initialisation) it computes ``h_ini``, the minimum-FP-norm interpolant
    for the network's own ``γ²`` (:func:`~freqlens.lab.theory.min_fp_norm_interpolant`), the kernel limits of the
    network and of infinite width, and the natural cubic and linear splines through the residuals; each record adds
    ``(d_cubic, d_linear)`` of the trained curve (metric ``likeness``).
    """

    name = "interpolation"
    source = "grid"
    arrays_file = "interpolation.npz"

    def __init__(self, model, x_nodes, y_nodes, x_eval, *, regime: str):
        self.model, self.regime = model, regime
        self.xn, self.yn, self.xe = (np.asarray(v, dtype=np.float64) for v in (x_nodes, y_nodes, x_eval))
        self.axes = {"likeness": ("spline", ["d_cubic", "d_linear"])}
        self.curves: dict[str, np.ndarray] = {}
        self.h_ini = None
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.last = None
        self.extra: dict[str, Any] = {}

    def _theory(self, outputs) -> None:
        import scipy.interpolate

        from freqlens.lab.theory import (REGIMES as RANGES, gamma2, kernel_limit_interpolant,
                                         min_fp_norm_interpolant, relu_coefficients, two_layer_kernel_limit,
                                         two_layer_parameters)

        self.h_ini = np.asarray(outputs, dtype=np.float64).reshape(-1)
        with torch.no_grad():
            node_out = self.model(torch.as_tensor(self.xn[:, None], dtype=next(self.model.parameters()).dtype,
                                                  device=next(self.model.parameters()).device))
        res = self.yn - node_out.cpu().numpy().reshape(-1)
        prm = two_layer_parameters(self.model)
        ranges = RANGES[self.regime]
        k = two_layer_kernel_limit(self.xn, self.xn, **ranges)
        corr = {"fp": min_fp_norm_interpolant(self.xn, res, self.xe, lambda xi: gamma2(xi, prm["a"], prm["w"])),
                "cubic": scipy.interpolate.CubicSpline(self.xn, res, bc_type="natural")(self.xe),
                "linear": np.interp(self.xe, self.xn, res),
                "ntk_limit": kernel_limit_interpolant(self.model, self.xn, self.yn, self.xe) - self.h_ini,
                "infinite": two_layer_kernel_limit(self.xe, self.xn, **ranges) @ np.linalg.solve(k, res)}
        self.curves = {name: self.h_ini + c for name, c in corr.items()}
        A, B = relu_coefficients(prm["a"], prm["w"])
        xi = np.geomspace(0.05, 20.0, 200)
        self.extra = {"A": A, "B": B, "xi": xi, "gamma2": gamma2(xi, prm["a"], prm["w"]),
                      "gamma2_quartic": A / xi ** 4, "gamma2_quadratic": B / xi ** 2}

    def likeness(self, curve: np.ndarray) -> tuple[float, float]:
        from freqlens.lab.theory import spline_likeness

        c = np.asarray(curve) - self.h_ini
        return spline_likeness(c, self.curves["cubic"] - self.h_ini, self.curves["linear"] - self.h_ini)

    def record(self, step: int, outputs, loss: float | None = None) -> dict[str, np.ndarray]:
        out = np.asarray(outputs.detach().cpu() if hasattr(outputs, "detach") else outputs,
                         dtype=np.float64).reshape(-1)
        if self.h_ini is None:
            self._theory(out)
        self.last = out
        self.steps.append(int(step))
        self.losses.append(float("nan") if loss is None else float(loss))
        return {"likeness": np.asarray(self.likeness(out))}

    def summaries(self) -> dict[str, dict]:
        if self.last is None:
            return {}
        curves = {**self.curves, "trained": self.last}
        pairs = {name: self.likeness(c) for name, c in curves.items() if name not in ("cubic", "linear")}
        return {"d_cubic": {n: p[0] for n, p in pairs.items()}, "d_linear": {n: p[1] for n, p in pairs.items()}}

    def truncate(self, last_step: int) -> None:
        keep = sum(1 for s in self.steps if s <= last_step)
        del self.steps[keep:], self.losses[keep:]

    def state_dict(self) -> dict[str, np.ndarray]:
        curves = {**self.curves, **({"trained": self.last} if self.last is not None else {})}
        out = {"regime": np.asarray(self.regime), "x_nodes": self.xn, "y_nodes": self.yn, "x_eval": self.xe,
               "h_ini": np.zeros(0) if self.h_ini is None else self.h_ini, "curve_names": np.asarray(list(curves)),
               "steps": np.asarray(self.steps, dtype=np.int64), "loss": np.asarray(self.losses),
               "last_loss": np.float64(self.losses[-1] if self.losses else np.nan)}
        out.update({f"curve_{n}": c for n, c in curves.items()})
        if self.h_ini is not None:
            out.update({f"likeness_{n}": np.asarray(self.likeness(c)) for n, c in curves.items()})
        out.update({k: np.asarray(v) for k, v in self.extra.items()})
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if str(state["regime"]) != self.regime or not np.array_equal(state["x_nodes"], self.xn):
            raise ValueError("the saved interpolation was recorded for other nodes or another regime")
        self.steps = [int(s) for s in state["steps"]]
        self.losses = [float(v) for v in state["loss"]]
        self.h_ini = np.asarray(state["h_ini"]) if np.asarray(state["h_ini"]).size else None
        names = [str(n) for n in state["curve_names"]]
        self.curves = {n: np.asarray(state[f"curve_{n}"]) for n in names if n != "trained"}
        self.last = np.asarray(state["curve_trained"]) if "trained" in names else None
        self.extra = {k: (float(state[k]) if k in ("A", "B") else np.asarray(state[k]))
                      for k in ("A", "B", "xi", "gamma2", "gamma2_quartic", "gamma2_quadratic") if k in state}


class LfpFamily(Family):
    name = "lfp"
    config = LfpConfig
    unit = "step"

    def build(self, cfg: LfpConfig, seed: int, device: torch.device, dtype: torch.dtype) -> Problem:
        from freqlens.lab.theory import REGIMES as RANGES, two_layer_net

        model = two_layer_net(cfg.width, symmetric=cfg.symmetric, generator=torch.Generator().manual_seed(seed),
                              dtype=dtype, device=device, **RANGES[cfg.regime])
        order = np.argsort(cfg.x_nodes)
        xn = np.asarray(cfg.x_nodes, dtype=np.float64)[order]
        yn = np.asarray(cfg.y_nodes, dtype=np.float64)[order]
        xe = np.linspace(xn[0], xn[-1], cfg.n_eval)
        x = torch.as_tensor(xn[:, None], dtype=dtype, device=device)
        y = torch.as_tensor(yn[:, None], dtype=dtype, device=device)
        x_eval = torch.as_tensor(xe[:, None], dtype=dtype, device=device)

        def evaluate(problem: Problem, train_outputs):
            return {"grid": problem.predict(x_eval)}

        return Problem(model=model, x=x, y=y, evaluate=evaluate, data={"x_eval": xe, "x_nodes": xn, "y_nodes": yn})

    def monitors(self, cfg: LfpConfig, problem: Problem) -> list:
        return [InterpolationMonitor(problem.model, problem.data["x_nodes"], problem.data["y_nodes"],
                                     problem.data["x_eval"], regime=cfg.regime)]

    def prepare(self, cfg: LfpConfig) -> LfpConfig:
        """The step: ``lr_fraction`` of gradient descent's stability limit ``n / λ_max`` of the NTK at
        initialisation (stored with the run as its ``lr``)."""
        from freqlens.lab.theory import linearize

        problem = self.build(cfg, cfg.seed, torch.device("cpu"), torch.float64)
        dyn = linearize(problem.model, problem.x, problem.y, lr=1.0)
        return dataclasses.replace(cfg, lr=cfg.lr_fraction * problem.x.shape[0] / float(dyn.eigenvalues[0]))

    def metric_axes(self, cfg: LfpConfig) -> dict[str, str]:
        return {"loss": "", "count": "counter", "likeness": "spline"}

    def views(self, cfg: LfpConfig) -> list[dict]:
        return [
            {"kind": "interpolation", "name": "interpolation", "file": "interpolation.npz",
             "title": "The trained network, the minimum-FP-norm interpolant, the kernel limits and the splines"},
            {"kind": "curves", "name": "likeness", "metric": "likeness", "axis": "spline", "by": "key",
             "title": "Distance of the trained fit to the cubic and the linear spline over training "
                      "(relative to their distance)", "short": "spline likeness", "ylabel": "relative L2 distance"},
            {"kind": "gamma2", "name": "gamma2", "file": "interpolation.npz",
             "title": "γ(ξ)² of the network at initialisation and its two terms"},
            {"kind": "curves", "name": "loss", "metric": "loss", "title": "Training loss", "short": "loss",
             "ylabel": "training loss (MSE)", "log": True, "by": "member"},
        ]


LFP = register_family(LfpFamily())
register_experiment(Experiment(
    "theory-lfp", "lfp",
    "the linear F-Principle's three-point interpolation: a two-layer ReLU network (width 1,000, twin neurons) "
    "trained by gradient descent on (−0.5, 0), (−0.1, 1), (0.5, 0.2); regime=cubic (w, b ~ U[−3, 3], "
    "a ~ U[−0.01, 0.01]) gives a cubic-spline-like fit, regime=linear (w ~ U[−0.1, 0.1], a, b ~ U[−2, 2]) a "
    "linear-spline-like one (set steps=100000 for it: its curvature mode is slow).",
    {"optimizer": "sgd", "momentum": 0.0, "lr": 1.0, "dtype": "float64", "steps": 5000, "eval_every": 50,
     "checkpoint_every": 5000},
))
