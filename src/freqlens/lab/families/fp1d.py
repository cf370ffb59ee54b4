"""The 1-D family: fit a function on a periodic grid and watch ΔF(k) per frequency (Xu et al. 2019).

Targets live on [-pi, pi) with the endpoint excluded, so sin(kx) sits in DFT bin k exactly. A frequency sweep
(``sweep="freq"``: sin x + high_amp·sin kx) and an amplitude sweep (``sweep="amp"``: sin x + a·sin(high_freq·x))
are variants of one run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from freqlens.errors import ConfigError
from freqlens.lab.config import TrainConfig, choice, int_range, positive_float
from freqlens.lab.family import Experiment, Family, Problem, register_experiment, register_family
from freqlens.lab.models.coords import COORDINATE_MODELS
from freqlens.lab.models.mlp import ACTIVATIONS, mlp
from freqlens.lab.monitors.frequency import FrequencyMonitor
from freqlens.runs.migrate import v1_views
from freqlens.spectrum.dft import periodic_grid

STACK_POINTS = 512  # batch_seeds=auto stacks seeds on a CPU up to this many training points

INITS = ("default", "normal", "xavier")
TARGETS = ("sines", "step")
SWEEPS = ("none", "freq", "amp", "optimizer", "model")
MAX_POINTS = 10**9
MAX_STEPS_1D = 10**9


@dataclass
class Fp1dConfig(TrainConfig):
    """All settings of a 1-D Frequency Principle run (see ``freqlens experiments`` for each experiment's values)."""

    # --- target -------------------------------------------------------------------------------------------
    target: str = "sines"  # "sines": sum_i amps[i] * sin(freqs[i] * x); "step": periodic step through `levels`
    freqs: list[int] = field(default_factory=lambda: [1, 3, 5])
    amps: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    levels: list[float] = field(default_factory=lambda: [-1.0, 0.5, 1.5])  # step target: one value per third
    n_train: int = 101  # evenly spaced training points on [-pi, pi), endpoint excluded
    n_eval: int = 0  # points of the measurement/display grid; 0 = the training grid
    # --- model --------------------------------------------------------------------------------------------
    hidden: list[int] = field(default_factory=lambda: [200, 200, 200, 100])
    activation: str = "tanh"
    init: str = "normal"  # "default" (PyTorch's), "normal" (N(0, init_std) weights and biases), "xavier"
    init_std: float = 0.0  # 0 = 1/sqrt(hidden[0]) as in the authors' notebook
    model: str = "mlp"  # or a remedy of spectral bias: ff-basic, ff-positional, ff-gaussian, siren, mscale, ...
    mapping_size: int = 64  # ff-gaussian / ff-positional: frequencies (2 × features)
    sigma: float = 4.0  # ff-gaussian: std of the frequencies, in the units of k (cycles per 2π)
    max_freq: float = 16.0  # ff-positional: highest frequency, units of k
    omega0: float = 30.0  # siren
    scales: list[float] = field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0, 16.0])  # mscale
    # two-layer (the linear F-Principle's network h = Σ a relu(w x + b), width hidden[0]): uniform initial ranges
    w_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    b_range: list[float] = field(default_factory=lambda: [-math.pi, math.pi])
    a_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    symmetric: bool = True  # two-layer: twin neurons with opposite output weights, so the initial output is 0
    # --- theory beside measurement ------------------------------------------------------------------------
    theory: str = "none"  # "ntk": the NTK prediction of ΔF(k, t) and of the convergence steps, beside the measured
    lr_from_ntk: float = 0.0  # > 0: lr = this fraction of gradient descent's stability limit (n / λ_max of the NTK)
    # --- measurement --------------------------------------------------------------------------------------
    tracked: list[int] = field(default_factory=list)  # empty = the peaks of the target's |DFT|
    max_tracked: int = 8
    threshold: float = 0.05
    hold: int = 10  # consecutive evaluations below threshold that define convergence
    # "on": the seeds of a variant train as one stacked model (full-batch mlp, adam / sgd / rmsprop, no theory);
    # numbers equal separate runs' to rounding, not bit for bit. "auto": where it pays - on CUDA, and on a CPU for
    # up to STACK_POINTS training points. "off": one member after the other
    batch_seeds: str = "auto"
    # --- sweeps -------------------------------------------------------------------------------------------
    sweep: str = "none"  # "freq": sin x + high_amp*sin(k x), k in sweep_values; "amp": sin x + a*sin(high_freq x)
    sweep_values: list[float] = field(default_factory=list)
    high_freq: int = 4
    high_amp: float = 0.2
    sweep_optimizers: list[str] = field(default_factory=list)  # sweep="optimizer": one variant per name
    gradient_steps: int = 0  # sweep="optimizer": budget of the gradient methods (0 = steps)
    sweep_models: list[str] = field(default_factory=list)  # sweep="model": one variant per model
    lr_by_model: list[str] = field(default_factory=list)  # sweep="model": "model=lr" items
    score_grid: bool = False  # also record the PSNR of the fit on the measurement grid (model comparisons do)

    # ------------------------------------------------------------------------------------------------------
    def variants(self) -> list[tuple[str, "Fp1dConfig"]]:
        """The trained configurations: one for a plain experiment, one per sweep value for a sweep."""
        if self.sweep == "none":
            return [("", self)]
        if self.sweep == "model":
            lrs = dict((k.strip(), float(v)) for k, _, v in (i.partition("=") for i in self.lr_by_model))
            # each remedy with its own activation where it has one (MscaleDNN's s2ReLU; SIREN's sine is built in)
            return [(name, dataclasses.replace(
                self, model=name, sweep="none", sweep_models=[], lr_by_model=[], lr=lrs.get(name, self.lr),
                score_grid=True, activation="s2relu" if name.startswith("mscale") else self.activation))
                for name in self.sweep_models]
        if self.sweep == "optimizer":
            from freqlens.lab.optim import SPECS

            return [(name, dataclasses.replace(
                self, optimizer=name, sweep="none", sweep_optimizers=[], gradient_steps=0,
                steps=self.gradient_steps if SPECS[name].gradient and self.gradient_steps else self.steps,
                lr=1.0 if name == "lbfgs" else self.lr)) for name in self.sweep_optimizers]
        out = []
        for v in self.sweep_values:
            if self.sweep == "freq":
                k = int(v)
                freqs, amps, label = ([1], [1.0 + self.high_amp], f"k={k}") if k == 1 else (
                    [1, k], [1.0, self.high_amp], f"k={k}")
            else:
                freqs, amps, label = [1, self.high_freq], [1.0, float(v)], f"a={v:g}"
            out.append((label, dataclasses.replace(self, freqs=freqs, amps=amps, sweep="none", sweep_values=[],
                                                   tracked=sorted(set(freqs)))))
        return out

    def check_overrides(self, given: set[str]) -> None:
        if self.sweep == "none" and given & {"high_freq", "high_amp"}:
            raise ConfigError(f"{', '.join(sorted(given & {'high_freq', 'high_amp'}))} only apply to sweeps "
                              "(fp1d-freq-sweep, fp1d-amp-sweep)")
        per_variant = {"optimizer": {"optimizer"}, "model": {"model"}}.get(
            self.sweep, {"freqs", "amps", "tracked", "target", "levels"})
        if self.sweep != "none" and given & per_variant:
            raise ConfigError(f"{', '.join(sorted(given & per_variant))} are set by the sweep for each variant; "
                              + {"optimizer": "change sweep_optimizers instead", "model": "change sweep_models "
                                 "instead"}.get(self.sweep, "change sweep_values, high_freq or high_amp instead"))

    def records(self) -> int:
        return self.steps // self.eval_every + 2

    def memory_bytes(self) -> int:
        if self.sweep != "none":  # members run one after another: the largest one counts
            return max(v.memory_bytes() for _, v in self.variants())
        s = 8 if self.dtype == "float64" else 4
        dims = [1, *self.hidden, 1]
        params = sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))
        n_eval = self.n_eval or self.n_train
        model = 4 * params * s  # weights, gradients, two Adam moments
        activations = 3 * self.n_train * sum(self.hidden) * s + 2 * n_eval * max(self.hidden) * s
        # recorded outputs (float32), their DFT when saved (complex128 then complex64), copies in checkpoints
        recorded = self.records() * (n_eval * 32 + 300)
        return model + activations + recorded

    def memory_summary(self) -> str:
        n_eval = self.n_eval or self.n_train
        return (f"a {'-'.join(map(str, [1, *self.hidden, 1]))} network on {self.n_train:,} points, "
                f"{self.records():,} recorded outputs of {n_eval:,} points")

    def stackable(self) -> bool:
        """Whether the seeds of this config can train as one stacked model (:mod:`freqlens.lab.lockstep`)."""
        from freqlens.lab.optim.torch_optim import TORCH_OPTIMIZERS

        return (self.model == "mlp" and self.optimizer in TORCH_OPTIMIZERS and self.theory == "none"
                and self.activation in ACTIVATIONS)

    def validate(self) -> "Fp1dConfig":
        super().validate()
        choice("target", self.target, TARGETS)
        choice("activation", self.activation, (*ACTIVATIONS, "srelu", "s2relu"))
        choice("model", self.model, (*COORDINATE_MODELS, "two-layer"))
        choice("theory", self.theory, ("none", "ntk"))
        choice("batch_seeds", self.batch_seeds, ("auto", "on", "off"))
        if self.batch_seeds == "on" and not self.stackable():
            raise ConfigError("batch_seeds=on stacks plain networks trained by gradient: it needs model=mlp, "
                              "optimizer adam, sgd or rmsprop, theory=none and an activation of "
                              f"{', '.join(ACTIVATIONS)}")
        if self.model == "two-layer":
            if len(self.hidden) != 1:
                raise ConfigError(f"model=two-layer has one hidden layer (its width): hidden={self.hidden}")
            if self.activation not in ("relu", "tanh"):
                raise ConfigError(f"model=two-layer takes activation relu or tanh, got {self.activation!r}")
            for name in ("w_range", "b_range", "a_range"):
                lo_hi = getattr(self, name)
                if len(lo_hi) != 2 or not all(math.isfinite(v) for v in lo_hi) or lo_hi[0] > lo_hi[1]:
                    raise ConfigError(f"{name} must be two finite numbers low,high with low <= high, got {lo_hi}")
            if self.symmetric and self.hidden[0] % 2:
                raise ConfigError(f"symmetric=true pairs neurons: the width must be even, got {self.hidden[0]}")
        if not (0 <= self.lr_from_ntk < 1):
            raise ConfigError(f"lr_from_ntk must be in [0, 1) (a fraction of the stability limit), got "
                              f"{self.lr_from_ntk}")
        if self.lr_from_ntk and self.optimizer != "sgd":
            raise ConfigError("lr_from_ntk sets gradient descent's step: it needs optimizer=sgd")
        if self.model == "mlp" and self.activation in ("srelu", "s2relu"):
            raise ConfigError(f"activation={self.activation} is MscaleDNN's: use it with model=mscale or mscale-sub")
        choice("init", self.init, INITS)
        choice("sweep", self.sweep, SWEEPS)
        int_range("n_train", self.n_train, 4, MAX_POINTS)
        if self.n_eval != 0:
            int_range("n_eval", self.n_eval, 4, MAX_POINTS)
        if not self.hidden:
            raise ConfigError("hidden must list at least one layer width, e.g. hidden=200,200")
        for w in self.hidden:
            if not 1 <= w <= MAX_POINTS:
                raise ConfigError(f"hidden widths must be >= 1, got {self.hidden}")
        if self.init_std < 0 or not math.isfinite(self.init_std):
            raise ConfigError(f"init_std must be >= 0 (0 = 1/sqrt(first width)), got {self.init_std}")
        int_range("hold", self.hold, 1, MAX_POINTS)
        int_range("max_tracked", self.max_tracked, 1, MAX_POINTS)
        if not (0.0 < self.threshold < 1.0):
            raise ConfigError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.n_eval not in (0,) and self.n_eval < self.n_train:
            raise ConfigError(f"n_eval ({self.n_eval}) must be 0 (the training grid) or >= n_train ({self.n_train})")
        grid = self.n_train  # every frequency must be resolved by the training grid (n_eval >= n_train)
        if not all(math.isfinite(a) for a in [*self.amps, *self.levels, self.high_amp, *self.sweep_values]):
            raise ConfigError("amps, levels, high_amp and sweep_values must be finite numbers")
        if len(set(self.tracked)) != len(self.tracked):
            raise ConfigError(f"tracked frequencies must be distinct, got {self.tracked}")
        if self.target == "sines":
            if not self.freqs:
                raise ConfigError("freqs must list at least one frequency")
            if len(self.amps) != len(self.freqs):
                raise ConfigError(f"amps must have one value per frequency: {len(self.freqs)} freqs, "
                                  f"{len(self.amps)} amps")
            for k in self.freqs:
                if not 1 <= k < grid / 2:
                    raise ConfigError(f"freqs must be integers in [1, {math.ceil(grid / 2) - 1}] for a "
                                      f"{grid}-point grid, got {k}")
        if self.target == "step" and len(self.levels) != 3:
            raise ConfigError(f"levels must give the step target's 3 values, got {self.levels}")
        for k in self.tracked:
            if not 1 <= k < grid / 2:
                raise ConfigError(f"tracked frequencies must be in [1, {math.ceil(grid / 2) - 1}], got {k}")
        if self.sweep == "none" and self.sweep_values:
            raise ConfigError("sweep_values needs sweep=freq or sweep=amp")
        if (self.sweep_optimizers or self.gradient_steps) and self.sweep != "optimizer":
            raise ConfigError("sweep_optimizers and gradient_steps need sweep=optimizer")
        if (self.sweep_models or self.lr_by_model) and self.sweep != "model":
            raise ConfigError("sweep_models and lr_by_model need sweep=model")
        if self.sweep == "model":
            if not self.sweep_models:
                raise ConfigError("sweep=model needs sweep_models, e.g. mlp,ff-gaussian,siren")
            for name in self.sweep_models:
                choice("sweep_models", name, COORDINATE_MODELS)
            if len(set(self.sweep_models)) != len(self.sweep_models):
                raise ConfigError(f"sweep_models must be distinct, got {self.sweep_models}")
            for item in self.lr_by_model:
                name, _, value = item.partition("=")
                choice("lr_by_model", name.strip(), COORDINATE_MODELS)
                try:
                    positive_float(f"lr_by_model {name}", float(value))
                except ValueError:
                    raise ConfigError(f"lr_by_model items are model=lr, got {item!r}") from None
        if self.sweep == "optimizer":
            from freqlens.lab.optim import OPTIMIZERS

            if not self.sweep_optimizers:
                raise ConfigError("sweep=optimizer needs sweep_optimizers, e.g. adam,powell,pso")
            for name in self.sweep_optimizers:
                choice("sweep_optimizers", name, OPTIMIZERS)
            if len(set(self.sweep_optimizers)) != len(self.sweep_optimizers):
                raise ConfigError(f"sweep_optimizers must be distinct, got {self.sweep_optimizers}")
            int_range("gradient_steps", self.gradient_steps, 0, MAX_STEPS_1D)
            for _, vcfg in self.variants():
                if vcfg.eval_every > vcfg.steps:
                    raise ConfigError(f"eval_every ({vcfg.eval_every}) must be <= the budget of "
                                      f"{vcfg.optimizer} ({vcfg.steps})")
        elif self.sweep in ("freq", "amp"):
            if not self.sweep_values:
                raise ConfigError(f"sweep={self.sweep!r} needs sweep_values")
            labels = [label for label, _ in self.variants()]
            if len(set(labels)) != len(labels):
                raise ConfigError(f"sweep_values must be distinct, got {self.sweep_values}")
            if not self.high_amp > 0:
                raise ConfigError(f"high_amp must be > 0, got {self.high_amp}")
            if self.sweep == "freq":
                for v in self.sweep_values:
                    if v != int(v) or not 1 <= v < grid / 2:
                        raise ConfigError(f"freq sweep values must be integers in [1, {math.ceil(grid / 2) - 1}],"
                                          f" got {v:g}")
            else:
                if not 2 <= self.high_freq < grid / 2:
                    raise ConfigError(f"high_freq must be in [2, {math.ceil(grid / 2) - 1}] (1 is the low "
                                      f"component), got {self.high_freq}")
                for v in self.sweep_values:
                    positive_float("amp sweep values", v)
        return self


# ---------------------------------------------------------------------------------------------------------------
# Targets on the periodic grid
# ---------------------------------------------------------------------------------------------------------------
def target_values(cfg: Fp1dConfig, x: np.ndarray) -> np.ndarray:
    """The target function of ``cfg`` evaluated at ``x`` (float64)."""
    x = np.asarray(x, dtype=float)
    if cfg.target == "sines":
        return sum(a * np.sin(k * x) for k, a in zip(cfg.freqs, cfg.amps))
    # periodic step: one level per third of the period [-pi, pi)
    phase = np.mod(x + np.pi, 2 * np.pi) / (2 * np.pi)  # in [0, 1)
    idx = np.minimum((phase * 3).astype(int), 2)
    return np.asarray(cfg.levels, dtype=float)[idx]


def grids(cfg: Fp1dConfig) -> tuple[np.ndarray, np.ndarray]:
    """(training grid, measurement grid) as float64 arrays on [-pi, pi)."""
    x_train = periodic_grid(cfg.n_train)
    x_eval = x_train if cfg.n_eval in (0, cfg.n_train) else periodic_grid(cfg.n_eval)
    return x_train, x_eval


# ---------------------------------------------------------------------------------------------------------------
# The family
# ---------------------------------------------------------------------------------------------------------------
class Fp1dFamily(Family):
    name = "fp1d"
    config = Fp1dConfig
    unit = "step"

    def build(self, cfg: Fp1dConfig, seed: int, device: torch.device, dtype: torch.dtype) -> Problem:
        x_np, x_eval_np = grids(cfg)
        x = torch.as_tensor(x_np, dtype=dtype, device=device).unsqueeze(1)
        y = torch.as_tensor(target_values(cfg, x_np), dtype=dtype, device=device).unsqueeze(1)
        model = self.model(cfg, seed, dtype, device)
        x_eval = None if x_eval_np is x_np else torch.as_tensor(x_eval_np, dtype=dtype, device=device).unsqueeze(1)

        def evaluate(problem: Problem, train_outputs):
            # the measurement grid is the training grid unless n_eval says otherwise: reuse the training forward
            if x_eval is not None:
                return {"grid": problem.predict(x_eval)}
            return {"grid": train_outputs if train_outputs is not None else problem.predict(problem.x)}

        arrays = {"x": x_eval_np} if x_eval is None else {"x": x_eval_np, "x_train": x_np}
        return Problem(model=model, x=x, y=y, evaluate=evaluate, arrays=arrays)

    @staticmethod
    def model(cfg: Fp1dConfig, seed: int, dtype, device):
        """The MLP of the authors' notebooks, or a coordinate network (the grid [-π, π) has period 2π, so σ and
        max_freq are in the units of k)."""
        gen = torch.Generator().manual_seed(seed)
        if cfg.model == "two-layer":
            from freqlens.lab.theory import two_layer_net

            return two_layer_net(cfg.hidden[0], activation=cfg.activation, w_range=tuple(cfg.w_range),
                                 b_range=tuple(cfg.b_range), a_range=tuple(cfg.a_range), symmetric=cfg.symmetric,
                                 generator=gen, dtype=dtype, device=device)
        if cfg.model == "mlp":
            return mlp(1, cfg.hidden, 1, activation=cfg.activation, init=cfg.init, init_std=cfg.init_std,
                       generator=gen, dtype=dtype, device=device)
        from freqlens.lab.models.coords import coordinate_model

        return coordinate_model(cfg.model, 1, 1, hidden=cfg.hidden,
                                activation=None if cfg.model == "siren" else cfg.activation, init=cfg.init,
                                init_std=cfg.init_std, mapping_size=cfg.mapping_size, sigma=cfg.sigma,
                                max_freq=cfg.max_freq, period=2 * math.pi, omega0=cfg.omega0, scales=cfg.scales,
                                generator=gen, dtype=dtype, device=device)

    def lockstep(self, cfg: Fp1dConfig) -> bool:
        if cfg.seeds < 2 or cfg.batch_seeds == "off" or not cfg.stackable():
            return False
        if cfg.batch_seeds == "on":
            return True
        from freqlens.lab.runner import resolve_device

        # measured (benchmarks/bench_batched_seeds.py, 2 CPU cores, the fp1d network): stacking 2-8 seeds is
        # 1.3-2.2x faster up to 256 training points and break-even at 1,000, where the products are compute-bound
        return resolve_device(cfg.device).type == "cuda" or cfg.n_train <= STACK_POINTS

    def monitor(self, cfg: Fp1dConfig) -> FrequencyMonitor:
        _, x_eval = grids(cfg)
        mon = FrequencyMonitor(target_values(cfg, x_eval), freqs=cfg.tracked or None, threshold=cfg.threshold,
                               hold=cfg.hold, max_tracked=cfg.max_tracked)
        mon.source = "grid"
        return mon

    def monitors(self, cfg: Fp1dConfig, problem: Problem) -> list:
        mon = self.monitor(cfg)
        problem.info["freqs"] = mon.freqs
        extra: list = []
        if cfg.theory == "ntk":
            from freqlens.lab.monitors.theory import NtkPredictionMonitor

            if cfg.n_eval not in (0, cfg.n_train):
                raise ConfigError("theory=ntk predicts ΔF on the training grid: it needs n_eval=0")
            extra.append(NtkPredictionMonitor(problem, mon.freqs, lr=cfg.lr, threshold=cfg.threshold,
                                              hold=cfg.hold, eval_every=cfg.eval_every, optimizer=cfg.optimizer,
                                              momentum=cfg.momentum if cfg.optimizer == "sgd" else 0.0))
        if cfg.score_grid:  # a comparison of models also scores the fit on the measurement grid
            from freqlens.lab.monitors.psnr import PsnrMonitor

            target = mon.target
            extra.append(PsnrMonitor(target, split="grid", source="grid", data_range=float(np.ptp(target))))
        return [mon, *extra]

    def check(self, cfg: Fp1dConfig) -> None:
        for _, vcfg in cfg.variants():  # each variant's monitor once: an untrackable target fails up front
            try:
                self.monitor(vcfg)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            if vcfg.model not in ("mlp", "two-layer"):  # the coordinate network's own checks, on no memory
                self.model(vcfg, 0, torch.float32, "meta")

    def prepare(self, cfg: Fp1dConfig) -> Fp1dConfig:
        """``lr_from_ntk``: the step of gradient descent as a fraction of its stability limit ``n / λ_max`` on the
        first member's NTK at initialisation; the resolved ``lr`` is stored with the run."""
        if not cfg.lr_from_ntk:
            return cfg
        from freqlens.lab.theory import linearize

        problem = self.build(cfg, cfg.seed, torch.device("cpu"), torch.float64)
        dyn = linearize(problem.model, problem.x, problem.y, lr=1.0)
        lr = cfg.lr_from_ntk * problem.x.shape[0] / float(dyn.eigenvalues[0])
        return dataclasses.replace(cfg, lr=lr, lr_from_ntk=0.0).validate()

    def metric_axes(self, cfg: Fp1dConfig) -> dict[str, str]:
        axes = {"loss": "", "count": "counter", "delta_f": "k", "delta_f_mag": "k"}
        if cfg.theory == "ntk":
            axes["delta_f_ntk"] = "k"
        return {**axes, "psnr": "split"} if cfg.score_grid or cfg.sweep == "model" else axes

    def n_params(self, cfg: Fp1dConfig) -> int:
        feat = {"ff-gaussian": 2 * cfg.mapping_size, "ff-positional": 2 * cfg.mapping_size, "ff-basic": 2}
        dims = [feat.get(cfg.model, 1), *cfg.hidden, 1]
        return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))

    def views(self, cfg: Fp1dConfig) -> list[dict]:
        if cfg.sweep == "optimizer":
            return optimizer_sweep_views()
        if cfg.sweep == "model":
            return model_sweep_views()
        # the 1-D views are those schema v2 froze for runs of freqlens 0.1 (one declaration, not two)
        views = v1_views(cfg.sweep)
        if cfg.theory == "ntk":
            views += [
                {"kind": "theory_overlay", "name": "theory", "metric": "delta_f", "predicted": "delta_f_ntk",
                 "title": "Measured ΔF (solid) and the NTK prediction for gradient descent at the run's lr (dashed)"
                          + ("" if cfg.optimizer == "sgd" else f"; the run used {cfg.optimizer}, whose time scale "
                             "no fixed kernel describes")},
                {"kind": "theory_steps", "name": "theory_steps", "summary": "convergence_step",
                 "predicted": "predicted_convergence_step",
                 "title": "Convergence step per frequency: predicted by the NTK and measured"},
                {"kind": "ntk_eigen", "name": "ntk_eigen", "file": "theory.npz",
                 "title": "The NTK's eigenvalues and the Fourier content of its leading eigenvectors"},
            ]
        return views

    def unit_of(self, cfg: Fp1dConfig) -> str:
        if cfg.sweep == "optimizer":
            units = {super(Fp1dFamily, self).unit_of(v) for _, v in cfg.variants()}
            return units.pop() if len(units) == 1 else "step"
        return super().unit_of(cfg)


def model_sweep_views() -> list[dict]:
    return [
        {"kind": "variant_table", "name": "table", "title": "PSNR of the fit on the dense grid (mean ± std over "
         "seeds), the step at which each frequency converges (median), training time per member",
         "value": {"metric": "psnr", "key": "grid", "label": "PSNR on the grid (dB)"},
         "summary": "convergence_step", "summary_axis": "k"},
        {"kind": "variant_lines", "name": "fits", "file": "evals.npz", "x": "x", "y": "outputs", "ref": "target",
         "points": "x_train", "title": "The final fit of each model against the target (dots: training points)"},
        {"kind": "variant_heatmaps", "name": "heatmaps", "metric": "delta_f", "axis": "k", "clip": [0.1, 1.0],
         "marks": "convergence_step", "label": "ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k|",
         "title": "ΔF per tracked frequency over training, one panel per model"},
        {"kind": "variant_summary", "name": "convergence", "summary": "convergence_step", "axis": "k",
         "title": "Convergence step of each frequency, per model (log scale)"},
    ]


def optimizer_sweep_views() -> list[dict]:
    dfl = "ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k|"
    return [
        {"kind": "curves", "name": "loss", "metric": "loss", "title": "Training loss of each optimizer",
         "short": "loss", "ylabel": "training loss (MSE)", "log": True, "by": "member"},
        {"kind": "variant_heatmaps", "name": "heatmaps", "metric": "delta_f", "axis": "k", "clip": [0.1, 1.0],
         "marks": "convergence_step", "label": dfl,
         "title": "ΔF per tracked frequency over training, one panel per optimizer (x: its own budget unit)"},
        {"kind": "variant_summary", "name": "convergence", "summary": "convergence_step", "axis": "k",
         "title": "Convergence step of each frequency, per optimizer (log scale)"},
    ]


FP1D = register_family(Fp1dFamily())

for _e in [
    Experiment(
        "fp1d", "fp1d",
        "sin x + sin 3x + sin 5x on 101 points of [-pi, pi); MLP 1-200-200-200-100-1 tanh, Adam 2e-4, full "
        "batch, MSE. ΔF is tracked at k = 1, 3, 5 (the target's spectral peaks): they converge in that order.",
    ),
    Experiment(
        "fp1d-sparse", "fp1d",
        "sin x + sin 5x learned from 60 samples, measured and drawn on a dense 1,000-point grid: the output "
        "follows the outline (k = 1) first and the oscillation (k = 5) much later.",
        {"freqs": [1, 5], "amps": [1.0, 1.0], "n_train": 60, "n_eval": 1000, "steps": 2500},
    ),
    Experiment(
        "fp1d-step", "fp1d",
        "a periodic step through three values (-1, 0.5, 1.5 on the thirds of the period), 1,000 samples: the "
        "output's |DFT| approaches the target's from low to high frequency (first 6 spectral peaks tracked).",
        {"target": "step", "n_train": 1000, "steps": 3000, "max_tracked": 6, "eval_every": 20, "threshold": 0.1},
    ),
    Experiment(
        "fp1d-freq-sweep", "fp1d",
        "sin x + 0.2 sin kx for k = 1..5 (tanh 3x64, Adam 1e-3, 64 points, 6,000 steps): the convergence step "
        "of the k-component grows steeply with k while the sin x component converges within ~100 steps.",
        {"sweep": "freq", "sweep_values": [1, 2, 3, 4, 5], "high_amp": 0.2, "n_train": 64,
         "hidden": [64, 64, 64], "lr": 1e-3, "steps": 6000, "eval_every": 10, "threshold": 0.05},
    ),
    Experiment(
        "fp1d-nongd", "fp1d",
        "Ma, Xu and Zhang (2021): sin x + sin 3x on 41 points fitted by a 1-16-16-1 tanh network (321 parameters, "
        "float64) by each optimizer - Adam, L-BFGS, CG, BFGS with gradients (2,000 steps, iterations or "
        "evaluations), Powell, particle swarm and CMA-ES without (40,000 objective evaluations): low frequency "
        "first with and without gradient descent. Each panel's x axis is its optimizer's unit.",
        {"sweep": "optimizer", "sweep_optimizers": ["adam", "lbfgs", "cg", "bfgs", "powell", "pso", "cmaes"],
         "freqs": [1, 3], "amps": [1.0, 1.0], "n_train": 41, "hidden": [16, 16], "dtype": "float64",
         "lr": 1e-3, "steps": 40000, "gradient_steps": 2000, "eval_every": 10, "checkpoint_every": 1000,
         "threshold": 0.1, "hold": 5, "threads": 1},
    ),
    Experiment(
        "spectral-bias-1d", "fp1d",
        "every remedy of spectral bias and the plain MLP on the 1-D sparse target (sin x + sin 5x from 60 samples, "
        "scored on 1,000 points): 3×128 ReLU networks, Adam 1e-3 (1e-4 for SIREN), 2,500 steps, 2 seeds. Part of "
        "`freqlens bench spectral-bias`.",
        {"sweep": "model", "sweep_models": ["mlp", "ff-basic", "ff-positional", "ff-gaussian", "siren", "mscale"],
         "lr_by_model": ["siren=1e-4"], "freqs": [1, 5], "amps": [1.0, 1.0], "n_train": 60, "n_eval": 1000,
         "hidden": [128, 128, 128], "activation": "relu", "init": "default", "lr": 1e-3, "steps": 2500, "seeds": 2,
         "eval_every": 10},
    ),
    Experiment(
        "theory-ntk", "fp1d",
        "the NTK's prediction against training: a wide two-layer ReLU network h = Σ a relu(w x + b) (width 4,000, "
        "w ~ U[−1, 1], b ~ U[−π, π], a ~ U[−1, 1], twin neurons so h₀ = 0) fitted to 0.05·(sin x + sin 3x + sin 5x) "
        "on 101 points by full-batch gradient descent at half the stability limit: the predicted convergence step "
        "of each frequency beside the measured one.",
        {"model": "two-layer", "hidden": [4000], "activation": "relu", "amps": [0.05, 0.05, 0.05],
         "optimizer": "sgd", "momentum": 0.0, "lr": 1.0, "lr_from_ntk": 0.5, "theory": "ntk", "dtype": "float64",
         "steps": 25000, "eval_every": 10, "checkpoint_every": 5000},
    ),
    Experiment(
        "fp1d-amp-sweep", "fp1d",
        "sin x + a sin 4x for a = 1, 1.5, ..., 3 (tanh 4x256, Adam 5e-5, 256 points, threshold 0.1): a larger "
        "amplitude speeds the high component up, but the low one still converges first.",
        {"sweep": "amp", "sweep_values": [1.0, 1.5, 2.0, 2.5, 3.0], "high_freq": 4, "n_train": 256,
         "hidden": [256, 256, 256, 256], "lr": 5e-5, "steps": 4000, "eval_every": 10, "threshold": 0.1},
    ),
]:
    register_experiment(_e)
