"""NTK and linear-F-Principle predictions of per-frequency convergence steps, against training (offline, CPU).

    python examples/theory_ntk_vs_training.py [--out theory_out] [--quick]

A. The factor-of-2 check: a wide two-layer ReLU network (twin neurons so f₀ = 0) trained by full-batch gradient
   descent on amp·(sin x + sin 3x + sin 5x) over the lab's grid (101 points of [−π, π)); convergence step of each
   frequency (ΔF < 0.05 for 10 evaluations, every 10 steps) predicted from the empirical NTK on the training set,
   and measured. Networks: "uniform" (h = Σ a relu(w x + b), w ~ U[−1, 1], b ~ U[−π, π], a ~ U[−1, 1]: kinks
   spread evenly over the data) and "ntk-param" (NTK parametrisation, N(0, 1) weights and biases: kinks crowd
   near 0, so the edges of the interval are served by few neurons that must move far).
B. The linear F-Principle: h = Σ a σ(w x + b), w ~ U[−1, 1], b ~ U[−π, π], a ~ U[−1, 1] (twin neurons) on
   0.05·Σ_{k=1..6} sin kx; t(ξ) = ln(ΔF₀/ε)/(p·γ(ξ)²) with p = 2·lr·width·(1/2π)/(2π), the NTK prediction and the
   measurement on a log-log plot.
C. The lab's fp1d network (MLP 1-200-200-200-100-1 tanh, N(0, 1/√200) init): the NTK's eigenvectors (how close to
   pure tones), GD predictions at the run's lr (2e-4, and SGD with momentum 0.9), and a short Adam run: the order
   of the frequencies is the same, the time scale is not (Adam is not kernel gradient descent).
Prints tables and writes figures to --out. About an hour on a loaded 2-core CPU (--quick: a few minutes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from freqlens.lab import Config
from freqlens.lab.models import mlp
from freqlens.lab.monitors.frequency import FrequencyMonitor
from freqlens.lab.families.fp1d import grids, target_values
from freqlens.lab.theory import (gamma2, lfp_convergence_time, lfp_time_scale, linearize, ntk_mlp, two_layer_net,
                                 two_layer_parameters)
from freqlens.report.figures_theory import (convergence_steps_figure, delta_f_overlay_figure, eigen_fourier_figure,
                                         lfp_times_figure)
from freqlens.lab.theory.linearized import dominant_frequencies
from freqlens.spectrum.dft import periodic_grid


def gd_run(net, x, y, freqs, lr, max_steps, optimizer="gd"):
    """Train full batch; return the FrequencyMonitor (ΔF every 10 steps), stopping once every frequency has
    converged (with the hold) or at max_steps."""
    xt, yt = torch.as_tensor(x).unsqueeze(1).to(next(net.parameters()).dtype), None
    yt = torch.as_tensor(y).unsqueeze(1).to(xt.dtype)
    opt = torch.optim.Adam(net.parameters(), lr=lr) if optimizer == "adam" else torch.optim.SGD(net.parameters(), lr=lr)
    mon = FrequencyMonitor(y, freqs=freqs)
    for s in range(max_steps + 1):
        out = net(xt)
        if s % 10 == 0:
            mon.record(s, out.detach())
            if s % 1000 == 0 and all(v is not None for v in mon.convergence_steps().values()):
                break
        loss = torch.mean((out - yt) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mon


def twin_ntk_two_layer(width: int, seed: int):
    net = ntk_mlp(1, [width], 1, activation="relu", sigma_b=1.0, generator=torch.Generator().manual_seed(seed))
    h = width // 2
    with torch.no_grad():
        net[0].weight[h:] = net[0].weight[:h]
        net[0].bias[h:] = net[0].bias[:h]
        net[2].weight[:, h:] = -net[2].weight[:, :h]
        net[2].bias.zero_()
    return net


def uniform_two_layer(width: int, seed: int):
    """h = Σ a relu(w x + b), w ~ U[−1, 1], b ~ U[−π, π], a ~ U[−1, 1]: kinks spread evenly over [−π, π]."""
    return two_layer_net(width, w_range=(-1, 1), b_range=(-np.pi, np.pi), a_range=(-1, 1), symmetric=True,
                         generator=torch.Generator().manual_seed(seed))


def part_a(out: Path, quick: bool) -> None:
    print("\nA. wide two-layer ReLU, GD: predicted (NTK on the training set) vs measured convergence steps")
    freqs = [1, 3] if quick else [1, 3, 5]
    x = periodic_grid(101)
    settings = [("uniform", 1000, 0.05)] if quick else [("uniform", 4000, 0.05), ("uniform", 4000, 0.5),
                                                         ("ntk-param", 8192, 0.1)]
    print("| network | width | amplitude | k | predicted | measured | measured / predicted |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, width, amp in settings:
        y = amp * sum(np.sin(k * x) for k in freqs)
        net = uniform_two_layer(width, 0) if kind == "uniform" else twin_ntk_two_layer(width, 0)
        xt, yt = torch.as_tensor(x).unsqueeze(1), torch.as_tensor(y).unsqueeze(1)
        lr = 0.5 * 101 / linearize(net, xt, yt, lr=1.0).eigenvalues[0]
        dyn = linearize(net, xt, yt, lr=lr)
        pred = dyn.convergence_steps(freqs)
        t = time.time()
        mon = gd_run(net, x, y, freqs, lr, max_steps=int(2.5 * max(pred.values())) + 100)
        meas = mon.convergence_steps()
        for k in freqs:
            ratio = "—" if meas[k] is None else f"{meas[k] / pred[k]:.2f}"
            shown = meas[k] if meas[k] is not None else f"not by {mon.steps[-1]}"
            print(f"| {kind} | {width} | {amp:g} | {k} | {pred[k]} | {shown} | {ratio} |")
        tag = f"a_{kind}_w{width}_amp{amp:g}"
        steps = np.asarray(mon.steps)
        delta_f_overlay_figure(freqs, steps, mon.delta_f.values, steps, dyn.delta_f(freqs, steps),
                               threshold=0.05, title=f"{kind} width {width}, amplitude {amp:g}: measured vs NTK"
                               ).savefig(out / f"{tag}_delta_f.png", dpi=110)
        print(f"  ({time.time() - t:.0f} s, lr {lr:.3g})")


def part_b(out: Path, quick: bool) -> None:
    print("\nB. linear F-Principle: t(ξ) = ln(ΔF₀/ε)/(p γ(ξ)²) vs NTK vs measured (two-layer ReLU, GD)")
    width = 1000 if quick else 4000
    freqs = [1, 2, 3, 4] if quick else [1, 2, 3, 4, 5, 6]
    x = periodic_grid(101)
    y = 0.05 * sum(np.sin(k * x) for k in freqs)
    net = uniform_two_layer(width, 0)
    prm = two_layer_parameters(net)
    xt, yt = torch.as_tensor(x).unsqueeze(1), torch.as_tensor(y).unsqueeze(1)
    lr = 0.5 * 101 / linearize(net, xt, yt, lr=1.0).eigenvalues[0]
    ntk = linearize(net, xt, yt, lr=lr).convergence_steps(freqs)
    xi = np.asarray(freqs) / (2 * np.pi)  # sin(kx) on [−π, π): k/(2π) cycles per unit
    p = lfp_time_scale(width, 1 / (2 * np.pi), lr, 2 * np.pi)
    lfp = lfp_convergence_time(gamma2(xi, prm["a"], prm["w"]), p=p)
    t = time.time()
    meas = gd_run(net, x, y, freqs, lr, max_steps=int(1.5 * max(ntk.values())) + 100).convergence_steps()
    print("| k | ξ | LFP t(ξ) | NTK | measured | LFP / measured | NTK / measured |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, k in enumerate(freqs):
        m = meas[k]
        print(f"| {k} | {xi[i]:.3f} | {lfp[i]:.0f} | {ntk[k]} | {m} | "
              f"{'—' if m is None else f'{lfp[i] / m:.2f}'} | {'—' if m is None else f'{ntk[k] / m:.2f}'} |")
    print(f"  ({time.time() - t:.0f} s, width {width}, lr {lr:.3g})")
    lfp_times_figure(xi, lfp, [meas[k] for k in freqs], extra={"NTK (training set)": [ntk[k] for k in freqs]}
                     ).savefig(out / "b_lfp_times.png", dpi=110)


def part_c(out: Path, quick: bool) -> None:
    print("\nC. fp1d (MLP 1-200-200-200-100-1 tanh, Adam 2e-4): NTK at initialisation")
    cfg = Config()
    x, _ = grids(cfg)
    y = target_values(cfg, x)
    freqs = [1, 3, 5]
    net = mlp(1, cfg.hidden, 1, activation=cfg.activation, init=cfg.init, generator=torch.Generator().manual_seed(0))
    xt = torch.as_tensor(x, dtype=torch.float32).unsqueeze(1)
    gd = linearize(net, xt, y[:, None], lr=cfg.lr)
    mom = linearize(net, xt, y[:, None], lr=cfg.lr, momentum=0.9)
    spectra = gd.eigenvector_spectra(24)
    bins, purity = dominant_frequencies(spectra)
    print("  leading eigenvalues:", " ".join(f"{v:.3g}" for v in gd.eigenvalues[:10]))
    print("  their dominant DFT bins:", bins[:10].tolist(), "purity:", np.round(purity[:10], 2).tolist())
    eigen_fourier_figure(gd.eigenvalues, spectra, max_bin=12).savefig(out / "c_fp1d_eigen.png", dpi=110)
    pred_gd, pred_mom = gd.convergence_steps(freqs), mom.convergence_steps(freqs)
    steps = 1000 if quick else cfg.steps
    t = time.time()
    adam = gd_run(net, x, y, freqs, cfg.lr, max_steps=steps, optimizer="adam")
    meas = adam.convergence_steps()
    print("| k | GD lr 2e-4 (predicted) | SGD momentum 0.9 (predicted) | Adam (measured) |")
    print("|---:|---:|---:|---:|")
    def fmt(v):
        return "> 1e18" if v is None else f"{v:.3g}" if v >= 100_000 else str(v)

    for k in freqs:
        print(f"| {k} | {fmt(pred_gd[k])} | {fmt(pred_mom[k])} | {meas[k] if meas[k] is not None else f'not by {steps}'} |")
    print(f"  ({time.time() - t:.0f} s)")
    convergence_steps_figure(freqs, pred_gd, meas, labels=("GD at lr 2e-4 (NTK)", "Adam (measured)"),
                             title="fp1d: predicted (GD) and measured (Adam)").savefig(out / "c_fp1d_steps.png",
                                                                                       dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="theory_out")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--parts", default="abc")
    args = ap.parse_args()
    torch.set_num_threads(1)  # tiny ops: one thread is fastest
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for part in args.parts:
        {"a": part_a, "b": part_b, "c": part_c}[part](out, args.quick)
    print(f"\nfigures in {out}/")


if __name__ == "__main__":
    main()
