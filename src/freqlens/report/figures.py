"""Figures drawn from a run's stored views (matplotlib, Agg backend). One renderer per view kind; each returns a
Figure. A view is plain JSON declared by the run's family and stored with the run, e.g.
``{"kind": "heatmap", "metric": "delta_f", "clip": [0.1, 1], "marks": "convergence_step", "title": ...}``.

Kinds: ``curves`` (a metric against the step, one line per member or per key), ``heatmap`` (key × step, with the
steps of a summary marked), ``summary`` (a per-key summary with its spread across seeds), ``sweep_summary`` (a 1-D
sweep's components against the swept value), ``line_snapshots`` / ``spectrum_snapshots`` (stored outputs on a grid
and their DFT at chosen steps). Families with their own pictures add renderers with :func:`renderer`.
"""

from __future__ import annotations

from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from freqlens.spectrum.dft import dft  # noqa: E402

RENDERERS: dict[str, Callable] = {}


def renderer(kind: str):
    """Register the function drawing views of ``kind``: ``fn(run, view) -> Figure``."""
    def deco(fn):
        RENDERERS[kind] = fn
        return fn
    return deco


def draw(run, view: dict):
    """The Figure of one view of ``run``."""
    if view["kind"] not in RENDERERS:
        raise ValueError(f"no renderer for view kind {view['kind']!r}")
    return RENDERERS[view["kind"]](run, view)


def colors(n: int) -> list:
    """``n`` distinguishable line colours: the tab10 cycle up to ten, a viridis ramp beyond."""
    if n <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(n)]
    return [plt.get_cmap("viridis")(i / max(n - 1, 1)) for i in range(n)]


def key_label(axis: str, key) -> str:
    """``axis=key`` with a float key shortened (0.46875 → 0.469)."""
    return f"{axis}={key:.3g}" if isinstance(key, float) else f"{axis}={key}"


def _threshold(run, view) -> float | None:
    t = view.get("threshold")
    return run.config.get(t) if isinstance(t, str) else t


def _seeds_note(run) -> str:
    n = run.config.get("seeds", 1)
    return f" ({n} seeds)" if n > 1 else ""


# ---------------------------------------------------------------------------------------------------------------
@renderer("curves")
def curves_figure(run, view):
    """A metric against the step: ``by="member"`` one line per member, ``by="key"`` one per key (mean over
    seeds; for a sweep one per variant, skipping the keys in ``skip_in_sweep``)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if view.get("by", "key") in ("member", "member_key"):
        df = run.metrics(view["metric"])
        if view.get("key") is not None:  # one key of the metric (e.g. the test split), per member
            df = df[df["key"] == str(view["key"])]
        df["member_name"] = [f"{lab + ' ' if lab else ''}seed {s}" for lab, s in zip(df["label"], df["seed"])]
        wide = df.pivot_table(index="step", columns="member_name", values="value", sort=False)
        for col in wide.columns:
            ax.plot(wide.index, wide[col], lw=1.2, label=col)
        if 1 < wide.shape[1] <= 12:
            ax.legend(fontsize=7, ncol=2)
    else:
        df = run.wide(view["metric"])
        cols = list(df.columns)
        axis = view.get("axis", "key")
        if run.is_sweep:
            skip = set(view.get("skip_in_sweep", []))
            cols = [c for c in cols if c[1] not in skip or all(k in skip for lab, k in cols if lab == c[0])]
        palette = colors(len(cols))
        for i, col in enumerate(cols):
            label = key_label(axis, col) if not run.is_sweep else (
                f"sweep {col[0]}" if col[0].startswith(f"{axis}=") else f"{col[0]} ({axis}={col[1]})")
            values = df[col].to_numpy(dtype=float)
            ax.plot(df.index, np.maximum(values, 1e-6) if view.get("log") else values, lw=1.3,
                    color=palette[i], label=label)
        thr = _threshold(run, view)
        if thr is not None:
            ax.axhline(thr, color="k", ls=":", lw=1, label=f"threshold {thr}")
        ax.legend(fontsize=7, ncol=2)
    if view.get("log"):
        ax.set_yscale("log")
    ax.set_xlabel(run.unit)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps, epochs and evaluations are whole numbers
    ax.set_ylabel(view.get("ylabel", view["metric"]))
    ax.set_title(f"{run.experiment}: {view.get('short', view['title'])}"
                 + (" (mean over seeds)" if view.get("by") == "key" and run.config.get("seeds", 1) > 1 else ""),
                 fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@renderer("heatmap")
def heatmap_figure(run, view):
    """Key × step heat map of a metric (colour clipped to ``clip``), the steps of summary ``marks`` as ▼."""
    df = run.wide(view["metric"])
    clip = tuple(view.get("clip", (float(np.nanmin(df.to_numpy())), float(np.nanmax(df.to_numpy())))))
    axis = view.get("axis", "key")
    marks = summary_medians(run, view["marks"]) if view.get("marks") else {}
    if run.is_sweep:
        rows = list(df.columns)
        labels = [f"{view.get('sweep_name', 'sweep')} {lab} · {view.get('metric_label', view['metric'])} at {axis}={k}"
                  for lab, k in rows]
        conv_at = [marks.get(lab, {}).get(k) for lab, k in rows]
    else:
        rows = list(df.columns)
        labels = [key_label(axis, k) for k in rows]
        conv_at = [marks.get("", {}).get(k) for k in rows]
    data = np.clip(df.to_numpy().T, *clip)
    steps = df.index.to_numpy()
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(rows)))
    dstep = steps[1] - steps[0] if len(steps) > 1 else 1
    edges = np.append(steps - dstep / 2, steps[-1] + dstep / 2)
    mesh = ax.pcolormesh(edges, np.arange(len(rows) + 1), data, cmap="viridis", norm=Normalize(*clip),
                         shading="flat")
    for i, s in enumerate(conv_at):
        if s is not None:
            ax.plot([s], [i + 0.5], marker="v", color="white", mec="black", ms=8)
    ax.set_yticks(np.arange(len(rows)) + 0.5, labels)
    ax.set_xlabel(run.unit)
    ax.set_title(f"{run.experiment}: {view.get('label', view['metric'])} (colour clipped to [{clip[0]:g}, "
                 f"{clip[1]:g}]{'; ▼ = converged' if marks else ''})", fontsize=9)
    fig.colorbar(mesh, ax=ax, label=view.get("colorbar", view["metric"]))
    fig.tight_layout()
    return fig


def summary_medians(run, name: str) -> dict:
    """``{variant: {key: median over seeds or None}}`` of a per-key step summary."""
    df = run.summaries(name)
    out: dict = {}
    for (label, key), grp in df.groupby(["label", "key"], sort=False):
        vals = np.array([np.inf if v is None else float(v) for v in grp["value"]])
        med = float(np.median(vals)) if vals.size else np.inf
        out.setdefault(label, {})[key] = None if not np.isfinite(med) else int(round(med))
    return out


@renderer("summary")
def summary_figure(run, view):
    """A per-key step summary (e.g. the convergence step per frequency): every seed, the median, the spread."""
    df = run.summaries(view["summary"])
    medians = summary_medians(run, view["summary"]).get("", {})
    axis = view.get("axis", "key")
    fig, ax = plt.subplots(figsize=(7, 4))
    keys = list(dict.fromkeys(sorted(df["key"].unique())))
    never = 0
    for j, k in enumerate(keys):
        vals = np.array([np.nan if v is None else float(v) for v in df[df["key"] == k]["value"]])
        ok = vals[~np.isnan(vals)]
        never += int(np.isnan(vals).sum())
        jitter = np.linspace(-0.15, 0.15, len(ok)) if len(ok) > 1 else np.zeros(len(ok))
        ax.plot(j + jitter, ok, "o", color="C0", alpha=0.6, ms=5)
        med = medians.get(k)
        if med is not None:
            ax.hlines(med, j - 0.3, j + 0.3, color="C3", lw=2.5, label="median" if j == 0 else None)
        if len(ok) > 1:
            ax.vlines(j, ok.min(), ok.max(), color="C0", alpha=0.4)
    ax.set_xticks(range(len(keys)), [key_label(axis, k) for k in keys])
    ax.set_xlabel(view.get("xlabel", "tracked frequency" if axis == "k" else axis))
    if never:
        ax.set_title(f"{never} seed/{axis} pair(s) never converged", fontsize=8)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    cfg = run.config
    ax.set_ylabel(view.get("ylabel", f"convergence {run.unit} ({view.get('rule', _rule(cfg))})"))
    fig.suptitle(f"{run.experiment}: {view.get('short', 'convergence step per frequency')}{_seeds_note(run)}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _rule(cfg) -> str:
    if "threshold" in cfg and "hold" in cfg:
        return f"ΔF < {cfg['threshold']} for {cfg['hold']} evals"
    return "first step below threshold"


@renderer("sweep_summary")
def sweep_summary_figure(run, view):
    """A 1-D sweep: the low (k=1) and high component's convergence step against the swept value."""
    sw = run.sweep
    cfg = run.config
    fig, ax = plt.subplots(figsize=(7, 4))
    x = sw["value"].to_numpy(dtype=float)
    for comp, colour, name in (("low", "C0", "low component (k=1)"), ("high", "C3", "high component")):
        med = np.array([np.nan if v is None else v for v in sw[f"{comp}_step"]], dtype=float)
        err = np.array([0 if v is None else v for v in sw[f"{comp}_std"]], dtype=float)
        ax.errorbar(x, med, yerr=err, fmt="o-", color=colour, capsize=3, label=name)
        for xi, mi in zip(x, med):
            if np.isnan(mi):  # at the top of the axes, whatever the (log) data range
                ax.plot([xi], [0.97], marker="x", color=colour, ms=8, transform=ax.get_xaxis_transform())
                ax.annotate("never", (xi, 0.93), xycoords=("data", "axes fraction"), fontsize=7, color=colour,
                            ha="center", va="top")
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xlabel("k (frequency of the second component)" if cfg["sweep"] == "freq"
                  else f"a (amplitude of sin {cfg['high_freq']}x)")
    finite = [v for v in (*sw["low_step"], *sw["high_step"]) if v is not None and not np.isnan(v) and v > 0]
    if finite:
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no component converged within the run", transform=ax.transAxes, ha="center")
    ax.legend()
    ax.set_ylabel(f"convergence step ({_rule(cfg)})")
    fig.suptitle(f"{run.experiment}: convergence step per frequency{_seeds_note(run)}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Snapshots of stored outputs
# ---------------------------------------------------------------------------------------------------------------
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


def _member_summary(run, member: int, name: str) -> dict:
    df = run.summaries(name)
    df = df[df["member"] == member]
    return {k: (None if v is None else int(v)) for k, v in zip(df["key"], df["value"])}


def _snapshots(run, view):
    m = snapshot_member(run)
    ev = run.arrays(m, view["file"])
    steps = snapshot_steps(ev, _member_summary(run, m, view["at"]) if view.get("at") else {})
    idx = [int(np.searchsorted(ev["steps"], s)) for s in steps]
    label = run.members.loc[run.members["member"] == m, "label"].iloc[0]
    return m, ev, steps, idx, label


@renderer("line_snapshots")
def line_snapshots_figure(run, view):
    """The stored outputs against the grid at step 0, at each convergence step and at the end."""
    _, ev, steps, idx, label = _snapshots(run, view)
    x = ev[view.get("x", "x")]
    fig, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.2), sharey=True, squeeze=False)
    points = view.get("points")
    for ax, s, i in zip(axes[0], steps, idx):
        ax.plot(x, ev[view["ref"]], color="0.6", lw=2.2, label="target")
        ax.plot(x, ev[view["y"]][i], color="C3", lw=1.3, label="network")
        if points and points in ev:
            ax.plot(ev[points], np.interp(ev[points], x, ev[view["ref"]]), "k.", ms=3, label="training points")
        ax.set_title(f"{run.unit} {s}")
        ax.set_xlabel("x")
    axes[0][0].set_ylabel("y")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{run.experiment}{' ' + label if label else ''}: target and network output during training")
    fig.tight_layout()
    return fig


@renderer("spectrum_snapshots")
def spectrum_snapshots_figure(run, view):
    """|DFT| of the stored outputs against the target's at the snapshot steps (log scale, tracked keys shaded)."""
    _, ev, steps, idx, _ = _snapshots(run, view)
    freqs = [int(k) for k in ev[view.get("keys", "freqs")]]
    target = ev[view["ref"]]
    kmax = int(min(len(target) // 2, max(3 * max(freqs), 12)))
    ks = np.arange(kmax + 1)
    y_hat = np.abs(dft(target))[: kmax + 1]
    fig, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.2), sharey=True, squeeze=False)
    floor = max(y_hat.max() * 1e-5, 1e-12)
    for ax, s, i in zip(axes[0], steps, idx):
        h_hat = np.abs(dft(ev[view["y"]][i]))[: kmax + 1]
        nz = y_hat > floor  # bins where the target has energy (zeros would draw a zig-zag to the floor)
        ax.semilogy(ks[nz], y_hat[nz], "o", color="0.45", ms=5, mfc="none", label="|ŷ_k| target")
        ax.semilogy(ks, np.maximum(h_hat, floor), ".-", color="C3", ms=4, lw=1, label="|ĥ_k| network")
        for k in freqs:
            ax.axvline(k, color="C0", alpha=0.15, lw=4)
        ax.set_title(f"{run.unit} {s}")
        ax.set_xlabel("frequency k")
    axes[0][0].set_ylabel("|DFT|")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{run.experiment}: spectrum of the output vs the target (tracked k shaded)")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Variants side by side
# ---------------------------------------------------------------------------------------------------------------
@renderer("variant_heatmaps")
def variant_heatmaps_figure(run, view):
    """One heat map per variant (e.g. per optimizer), each on its own step axis, the same colour scale."""
    df = run.wide(view["metric"])
    labels = run.labels
    clip = tuple(view.get("clip", (0.1, 1.0)))
    marks = summary_medians(run, view["marks"]) if view.get("marks") else {}
    axis = view.get("axis", "key")
    ncols = min(len(labels), 4)
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols + 1.2, 1.4 + 2.2 * nrows), squeeze=False,
                             layout="constrained")
    mesh = None
    for i, ax in enumerate(axes.ravel()):
        if i >= len(labels):
            ax.set_visible(False)
            continue
        lab = labels[i]
        sub = df[lab].dropna(how="all")
        keys = list(sub.columns)
        steps = sub.index.to_numpy(dtype=float)
        dstep = steps[1] - steps[0] if len(steps) > 1 else 1.0
        edges = np.append(steps - dstep / 2, steps[-1] + dstep / 2)
        mesh = ax.pcolormesh(edges, np.arange(len(keys) + 1), np.clip(sub.to_numpy().T, *clip), cmap="viridis",
                             norm=Normalize(*clip), shading="flat")
        for j, k in enumerate(keys):
            s = marks.get(lab, {}).get(k)
            if s is not None:
                ax.plot([s], [j + 0.5], marker="v", color="white", mec="black", ms=7)
        ax.set_yticks(np.arange(len(keys)) + 0.5, [f"{axis}={k}" for k in keys], fontsize=8)
        ax.set_title(lab, fontsize=10)
        ax.set_xlabel(_variant_unit(run, lab), fontsize=8)
        ax.tick_params(labelsize=7)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes.ravel().tolist(), label=view.get("colorbar", view.get("label", view["metric"])),
                     shrink=0.9)
    fig.suptitle(f"{run.experiment}: {view['title']}\n(colour clipped to [{clip[0]:g}, {clip[1]:g}]; ▼ = converged)",
                 fontsize=9)
    return fig


def _variant_unit(run, label: str) -> str:
    """The step unit of one variant (its members record it), else the run's."""
    info = run.members[run.members["label"] == label]["info"]
    return next((i["unit"] for i in info if i.get("unit")), run.unit)


@renderer("variant_summary")
def variant_summary_figure(run, view):
    """A per-key step summary for every variant: one group of bars per variant, one bar per key (log scale);
    a missing bar is a key that never converged."""
    med = summary_medians(run, view["summary"])
    labels = run.labels
    keys = sorted({k for d in med.values() for k in d})
    axis = view.get("axis", "key")
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels) + 2), 4))
    width = 0.8 / max(len(keys), 1)
    palette = colors(len(keys))
    for j, k in enumerate(keys):
        xs = np.arange(len(labels)) + (j - (len(keys) - 1) / 2) * width
        vals = [med.get(lab, {}).get(k) for lab in labels]
        ax.bar([x for x, v in zip(xs, vals) if v is not None], [v for v in vals if v is not None], width,
               color=palette[j], label=f"{axis}={k}")
        for x, v in zip(xs, vals):
            if v is None:  # at the bottom of the axes, whatever the (log) data range
                ax.text(x, 0.02, "never", rotation=90, ha="center", va="bottom", fontsize=7,
                        transform=ax.get_xaxis_transform())
    ax.set_xticks(range(len(labels)), [f"{lab}\n({_variant_unit(run, lab)}s)" for lab in labels], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("convergence step (in each optimizer's unit)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(f"{run.experiment}: {view['title']}", fontsize=10)
    fig.tight_layout()
    return fig
