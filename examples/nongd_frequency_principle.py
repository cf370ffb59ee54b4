"""The Frequency Principle without gradient descent (Ma, Xu & Zhang 2021, arXiv:2101.00747), offline, a few minutes.

    python examples/nongd_frequency_principle.py [-o nongd_frequency_principle.png] [--budget 40000]
                        [--gradient-budget 2000] [--optimizers adam,lbfgs,cg,bfgs,powell,pso,cmaes] [--seed 0]

The same target, network and initialisation fitted by each optimizer of freqlens - gradient descent (Adam), quasi-
Newton with and without line search on the gradient (L-BFGS, BFGS, conjugate gradient), and no gradient at all
(Powell's method, particle swarm, CMA-ES) - each with a budget of objective evaluations (40,000 without gradient,
2,000 with: the gradient methods have converged by then). A plain loop over the
optimizer objects and a FrequencyMonitor per optimizer (no runner, nothing stored).

Setting (a reduced one of our choosing: the paper's exact settings were not available to us): y = sin x + sin 3x on
41 points of [-pi, pi), a 1-16-16-1 tanh network (321 parameters, weights and biases N(0, 1/16)), float64, full-batch
MSE. ΔF(k) is recorded every 10 evaluations; a frequency has converged when ΔF stays below 0.1 for 5 records
(the convergence step printed is the first of those 5 records). For the evaluation-counting optimizers each record
shows the best parameters evaluated so far.

Prints the convergence evaluation of each frequency per optimizer and draws ΔF heat maps side by side.
"""

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from freqlens.lab import FrequencyMonitor, TrainConfig  # noqa: E402
from freqlens.lab.family import Problem  # noqa: E402
from freqlens.lab.models.mlp import mlp  # noqa: E402
from freqlens.lab.optim import SPECS, make_optimizer  # noqa: E402
from freqlens.spectrum import periodic_grid  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("-o", "--output", default="nongd_frequency_principle.png")
ap.add_argument("--budget", type=int, default=40_000, help="objective evaluations without gradient")
ap.add_argument("--gradient-budget", type=int, default=2_000, help="objective evaluations with gradient")
ap.add_argument("--optimizers", default="adam,lbfgs,cg,bfgs,powell,pso,cmaes")
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
torch.set_num_threads(1)  # a 321-parameter network: one thread is fastest

FREQS, THRESHOLD, HOLD, EVERY = [1, 3], 0.1, 5, 10
x = periodic_grid(41)
y = np.sin(x) + np.sin(3 * x)
X = torch.tensor(x).unsqueeze(1)
Y = torch.tensor(y).unsqueeze(1)
SETTINGS = {"adam": {"lr": 1e-3}, "lbfgs": {"lr": 1.0}, "pso": {"search_sigma": 0.1}, "cmaes": {"search_sigma": 0.1}}



class Done(Exception):
    """The budget of evaluations is spent (L-BFGS counts iterations: it is stopped by its evaluations)."""


results = {}
for name in args.optimizers.split(","):
    model = mlp(1, [16, 16], 1, init="normal", generator=torch.Generator().manual_seed(args.seed), dtype=torch.float64)
    problem = Problem(model=model, x=X, y=Y)
    cfg = TrainConfig(optimizer=name, **SETTINGS.get(name, {})).validate()
    optimizer = make_optimizer(cfg, problem, seed=args.seed)
    monitor = FrequencyMonitor(y, freqs=FREQS, threshold=THRESHOLD, hold=HOLD, keep_outputs=False)
    budget = args.gradient_budget if SPECS[name].gradient else args.budget
    marks = {"next": 0}

    def on_step(step, info):
        # the monitor's step is the count of objective evaluations, whatever the optimizer's unit
        evals = info.evaluations
        if evals >= marks["next"]:
            monitor.record(evals, info.outputs, float(info.loss))
            marks["next"] = (evals // EVERY + 1) * EVERY
        if evals >= budget:
            raise Done

    t0 = time.perf_counter()
    try:
        optimizer.run(problem, 0, budget, on_step)
    except Done:
        pass
    results[name] = (monitor, time.perf_counter() - t0)
    conv = monitor.convergence_steps()
    print(f"{name:7s} ({SPECS[name].library}, {time.perf_counter() - t0:5.1f} s)  final loss "
          f"{monitor.losses[-1]:.2e}  converged at evaluation: "
          + ", ".join(f"k={k}: {conv[k] if conv[k] is not None else 'not within budget'}" for k in FREQS),
          flush=True)

# ΔF heat maps side by side: rows = frequency, columns = evaluations (log scale), clipped to [0.01, 1]
n = len(results)
cols = min(n, 4)
rows = (n + cols - 1) // cols
fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.3 * rows + 0.6), squeeze=False, sharey=True,
                         constrained_layout=True)
for ax, (name, (mon, _)) in zip(axes.ravel(), results.items()):
    df = mon.delta_f
    steps = np.maximum(df.index.to_numpy(), 1)
    edges = np.concatenate([[steps[0]], np.sqrt(steps[1:] * steps[:-1]), [steps[-1]]])
    img = ax.pcolormesh(edges, np.arange(len(FREQS) + 1), df.to_numpy().T,
                        norm=matplotlib.colors.LogNorm(vmin=0.01, vmax=1), cmap="viridis_r", shading="flat")
    conv = mon.convergence_steps()
    for j, k in enumerate(FREQS):
        if conv[k] is not None:
            ax.plot([conv[k]], [j + 0.5], marker="|", color="red", markersize=14, mew=2)
    ax.set_xscale("log")
    ax.set_xlim(1, max(args.budget, args.gradient_budget))
    ax.set_yticks(np.arange(len(FREQS)) + 0.5, [f"k={k}" for k in FREQS])
    grad = "gradient" if SPECS[name].gradient else "no gradient"
    ax.set_title(f"{name} ({grad})", fontsize=10)
    ax.set_xlabel("objective evaluations")
for ax in axes.ravel()[n:]:
    ax.axis("off")
fig.colorbar(img, ax=axes.ravel().tolist(), label="ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k|", shrink=0.9)
fig.suptitle("sin x + sin 3x, 1-16-16-1 tanh: low frequency first for every optimizer (| = converged, ΔF < 0.1)",
             fontsize=10)
plt.savefig(args.output, dpi=110, bbox_inches="tight")
print("figure:", args.output)
