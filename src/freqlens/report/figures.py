"""Figures of a 1-D Frequency Principle run (matplotlib, Agg backend). Each function returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

from freqlens.spectrum.dft import dft  # noqa: E402

CLIP = (0.1, 1.0)  # ΔF heat-map colour range, as in Xu et al.'s code


def loss_figure(run):
    loss = run.loss
    fig, ax = plt.subplots(figsize=(7, 4))
    for col in loss.columns:
        ax.plot(loss.index, loss[col], lw=1.2, label=col)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (MSE)")
    ax.set_title(f"{run.experiment}: loss")
    if 1 < loss.shape[1] <= 12:
        ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def snapshot_member(run) -> int:
    """The member whose outputs are drawn: the first one, or for a sweep the first seed of the last variant."""
    members = run.members
    if run.is_sweep:
        last = members["label"].iloc[-1]
        return int(members[members["label"] == last]["member"].iloc[0])
    return int(members["member"].iloc[0])


def snapshot_steps(ev: dict, conv: dict, n: int = 5) -> list[int]:
    """Step 0, the convergence steps of the tracked frequencies, the last step (at most ``n``, ascending)."""
    steps = [int(s) for s in ev["steps"]]
    chosen = {steps[0], steps[-1]}
    converged = sorted({int(s) for s in conv.values() if s is not None})
    if len(converged) > n - 2:  # keep the earliest and the latest (highest frequency), evenly between
        converged = [converged[int(round(i))] for i in np.linspace(0, len(converged) - 1, n - 2)]
    chosen.update(converged)
    if len(chosen) < n:  # fill with evenly spaced steps
        for s in np.linspace(steps[0], steps[-1], n + 2)[1:-1]:
            chosen.add(min(steps, key=lambda t: abs(t - s)))
            if len(chosen) >= n:
                break
    ordered = sorted(chosen)
    if len(ordered) > n:
        ordered = [ordered[0], *ordered[1:-1][: n - 2], ordered[-1]]
    return ordered


def _member_conv(run, member: int) -> dict:
    c = run.convergence
    c = c[c["member"] == member]
    return {int(k): (None if s is None or np.isnan(s) else int(s)) for k, s in zip(c["k"], c["step"])}


def outputs_figure(run):
    m = snapshot_member(run)
    ev = run.evals(m)
    steps = snapshot_steps(ev, _member_conv(run, m))
    idx = [int(np.searchsorted(ev["steps"], s)) for s in steps]
    fig, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.2), sharey=True, squeeze=False)
    cfg = run.config
    x_train = None
    if cfg.get("n_eval") and cfg["n_eval"] != cfg["n_train"]:
        x_train = -np.pi + 2 * np.pi * np.arange(cfg["n_train"]) / cfg["n_train"]
    for ax, s, i in zip(axes[0], steps, idx):
        ax.plot(ev["x"], ev["target"], color="0.6", lw=2.2, label="target")
        ax.plot(ev["x"], ev["outputs"][i], color="C3", lw=1.3, label="network")
        if x_train is not None:
            ax.plot(x_train, np.interp(x_train, ev["x"], ev["target"]), "k.", ms=3, label="training points")
        ax.set_title(f"step {s}")
        ax.set_xlabel("x")
    axes[0][0].set_ylabel("y")
    axes[0][0].legend(fontsize=7, loc="lower left")
    label = run.members.loc[run.members["member"] == m, "label"].iloc[0]
    fig.suptitle(f"{run.experiment}{' ' + label if label else ''}: target and network output during training")
    fig.tight_layout()
    return fig


def spectra_figure(run):
    m = snapshot_member(run)
    ev = run.evals(m)
    steps = snapshot_steps(ev, _member_conv(run, m))
    idx = [int(np.searchsorted(ev["steps"], s)) for s in steps]
    freqs = [int(k) for k in ev["freqs"]]
    kmax = int(min(len(ev["target"]) // 2, max(3 * max(freqs), 12)))
    ks = np.arange(kmax + 1)
    y_hat = np.abs(dft(ev["target"]))[: kmax + 1]
    fig, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.2), sharey=True, squeeze=False)
    floor = max(y_hat.max() * 1e-5, 1e-12)
    for ax, s, i in zip(axes[0], steps, idx):
        h_hat = np.abs(dft(ev["outputs"][i]))[: kmax + 1]
        nz = y_hat > floor  # bins where the target has energy (zeros would draw a zig-zag to the floor)
        ax.semilogy(ks[nz], y_hat[nz], "o", color="0.45", ms=5, mfc="none", label="|ŷ_k| target")
        ax.semilogy(ks, np.maximum(h_hat, floor), ".-", color="C3", ms=4, lw=1, label="|ĥ_k| network")
        for k in freqs:
            ax.axvline(k, color="C0", alpha=0.15, lw=4)
        ax.set_title(f"step {s}")
        ax.set_xlabel("frequency k")
    axes[0][0].set_ylabel("|DFT|")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{run.experiment}: spectrum of the output vs the target (tracked k shaded)")
    fig.tight_layout()
    return fig


def heatmap_figure(run):
    df = run.delta_f
    conv = run.convergence_steps
    if run.is_sweep:
        rows = [(lab, k) for lab, k in df.columns]
        labels = [f"{run.config['sweep']} sweep {lab} · ΔF at k={k}" for lab, k in rows]
        conv_at = [conv.get(lab, {}).get(k) for lab, k in rows]
    else:
        rows = list(df.columns)
        labels = [f"k={k}" for k in rows]
        conv_at = [conv.get(k) for k in rows]
    data = np.clip(df.to_numpy().T, *CLIP)
    steps = df.index.to_numpy()
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(rows)))
    dstep = steps[1] - steps[0] if len(steps) > 1 else 1
    edges = np.append(steps - dstep / 2, steps[-1] + dstep / 2)
    mesh = ax.pcolormesh(edges, np.arange(len(rows) + 1), data, cmap="viridis",
                         norm=Normalize(*CLIP), shading="flat")
    for i, s in enumerate(conv_at):
        if s is not None:
            ax.plot([s], [i + 0.5], marker="v", color="white", mec="black", ms=8)
    ax.set_yticks(np.arange(len(rows)) + 0.5, labels)
    ax.set_xlabel("step")
    ax.set_title(f"{run.experiment}: ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k| (colour clipped to [{CLIP[0]}, {CLIP[1]}]; "
                 f"▼ = converged)", fontsize=9)
    fig.colorbar(mesh, ax=ax, label="ΔF")
    fig.tight_layout()
    return fig


def delta_f_curves_figure(run):
    """ΔF of every tracked frequency against the step, log scale, with the convergence threshold."""
    df = run.delta_f
    fig, ax = plt.subplots(figsize=(7, 4))
    cmap = plt.get_cmap("viridis")
    cols = list(df.columns)
    if run.is_sweep:  # one curve per variant: its high component (the slow one)
        cols = [c for c in cols if c[1] != 1 or all(k == 1 for lab, k in cols if lab == c[0])]
    for i, col in enumerate(cols):
        if not run.is_sweep:
            label = f"k={col}"
        else:  # a frequency sweep's variant names its k already
            label = f"sweep {col[0]}" if run.config["sweep"] == "freq" else f"{col[0]} (k={col[1]})"
        ax.plot(df.index, np.maximum(df[col].to_numpy(), 1e-6), lw=1.3, color=cmap(i / max(len(cols) - 1, 1)),
                label=label)
    ax.axhline(run.config["threshold"], color="k", ls=":", lw=1, label=f"threshold {run.config['threshold']}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k|")
    ax.set_title(f"{run.experiment}: ΔF per tracked frequency" + (" (mean over seeds)" if run.config["seeds"] > 1
                                                                   else ""))
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def convergence_figure(run):
    conv = run.convergence
    fig, ax = plt.subplots(figsize=(7, 4))
    if run.is_sweep:
        sw = run.sweep
        x = sw["value"].to_numpy(dtype=float)
        for comp, colour, name in (("low", "C0", "low component (k=1)"), ("high", "C3", "high component")):
            med = np.array([np.nan if v is None else v for v in sw[f"{comp}_step"]], dtype=float)
            err = np.array([0 if v is None else v for v in sw[f"{comp}_std"]], dtype=float)
            ax.errorbar(x, med, yerr=err, fmt="o-", color=colour, capsize=3, label=name)
            for xi, mi in zip(x, med):
                if np.isnan(mi):  # at the top of the axes, whatever the (log) data range
                    ax.plot([xi], [0.97], marker="x", color=colour, ms=8, transform=ax.get_xaxis_transform())
                    ax.annotate("never", (xi, 0.93), xycoords=("data", "axes fraction"), fontsize=7,
                                color=colour, ha="center", va="top")
        cfg = run.config
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.set_xlabel("k (frequency of the second component)" if cfg["sweep"] == "freq"
                      else f"a (amplitude of sin {cfg['high_freq']}x)")
        finite = [v for v in (*sw["low_step"], *sw["high_step"]) if v is not None and not np.isnan(v) and v > 0]
        if finite:
            ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no component converged within the run", transform=ax.transAxes, ha="center")
        ax.legend()
    else:
        ks = sorted(conv["k"].unique())
        never = 0
        for j, k in enumerate(ks):
            vals = conv[conv["k"] == k]["step"].to_numpy(dtype=float)
            ok = vals[~np.isnan(vals)]
            never += int(np.isnan(vals).sum())
            jitter = np.linspace(-0.15, 0.15, len(ok)) if len(ok) > 1 else np.zeros(len(ok))
            ax.plot(j + jitter, ok, "o", color="C0", alpha=0.6, ms=5)
            med = run.convergence_steps.get(int(k))
            if med is not None:
                ax.hlines(med, j - 0.3, j + 0.3, color="C3", lw=2.5, label="median" if j == 0 else None)
            if len(ok) > 1:
                ax.vlines(j, ok.min(), ok.max(), color="C0", alpha=0.4)
        ax.set_xticks(range(len(ks)), [f"k={k}" for k in ks])
        ax.set_xlabel("tracked frequency")
        if never:
            ax.set_title(f"{never} seed/frequency pair(s) never converged", fontsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    ax.set_ylabel(f"convergence step (ΔF < {run.config['threshold']} for {run.config['hold']} evals)")
    fig.suptitle(f"{run.experiment}: convergence step per frequency"
                 + (f" ({run.config['seeds']} seeds)" if run.config["seeds"] > 1 else ""))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


FIGURES = {
    "loss": (loss_figure, "Training loss"),
    "outputs": (outputs_figure, "Target and network output at the start, at each tracked frequency's convergence "
                "step, and at the end"),
    "spectra": (spectra_figure, "|DFT| of the output against the target's at the same steps (log scale)"),
    "heatmap": (heatmap_figure, "ΔF per tracked frequency over training"),
    "delta_f": (delta_f_curves_figure, "ΔF curves on a log scale, with the convergence threshold"),
    "convergence": (convergence_figure, "Convergence step per frequency (spread across seeds)"),
}
