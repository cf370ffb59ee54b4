"""Views that compare the variants of a run (models, images, optimizers): a table, final fits side by side."""

from __future__ import annotations

import numpy as np

from freqlens.report.figures import plt, renderer

TABLES: dict = {}


def table(kind: str):
    """Register a table view: ``fn(run, view) -> (columns, rows)`` (rows of strings)."""
    def deco(fn):
        TABLES[kind] = fn
        return fn
    return deco


def _first_member(run, label: str) -> int:
    m = run.members
    return int(m[m["label"] == label]["member"].iloc[0])


@table("variant_table")
def variant_table(run, view) -> tuple[list[str], list[list[str]]]:
    """Per variant: a final metric (mean ± std over seeds), the median step of a per-key summary, wall time."""
    spec = view["value"]
    df = run.metrics(spec["metric"])
    df = df[df["key"] == spec["key"]]
    last = df.sort_values("step").groupby("member").tail(1)
    summ = run.summaries(view["summary"])
    axis = view.get("summary_axis", "key")
    keys = sorted({k for k in summ["key"]})
    members = run.members
    columns = ["variant", spec["label"], *[f"{axis}={k:.3g}" if isinstance(k, float) else f"{axis}={k}" for k in keys],
               "train s / member"]
    rows = []
    for label in run.labels:
        ids = members[members["label"] == label]["member"]
        vals = last[last["member"].isin(ids)]["value"].to_numpy(dtype=float)
        value = "" if not vals.size else f"{vals.mean():.2f}" + (f" ± {vals.std():.2f}" if vals.size > 1 else "")
        steps = []
        for k in keys:
            s = summ[(summ["key"] == k) & summ["member"].isin(ids)]["value"]
            arr = np.array([np.inf if v is None else float(v) for v in s])
            med = float(np.median(arr)) if arr.size else np.inf
            steps.append("never" if not np.isfinite(med) else str(int(round(med))))
        wall = members[members["label"] == label]["wall_time"].to_numpy(dtype=float)
        rows.append([label, value, *steps, f"{wall.mean():.1f}" if wall.size else ""])
    return columns, rows


def markdown(columns: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


@renderer("variant_images")
def variant_images_figure(run, view):
    """The last snapshot of every variant's first member: rows = the first part of ``image/model`` labels."""
    labels = run.labels
    parts = [lab.split("/", 1) if "/" in lab else ["", lab] for lab in labels]
    rows = list(dict.fromkeys(p[0] for p in parts))
    cols = list(dict.fromkeys(p[1] for p in parts))
    fig, axes = plt.subplots(len(rows), len(cols) + 1, figsize=(1.9 * (len(cols) + 1), 2.0 * len(rows) + 0.6),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_visible(False)
    for lab, (r, c) in zip(labels, parts):
        a = run.arrays(_first_member(run, lab), view["file"])
        i, j = rows.index(r), cols.index(c) + 1
        img = np.asarray(a["last_output"] if "last_output" in a else a["target"], dtype=float)
        for ax, pic, title in ((axes[i][j], img, c), (axes[i][0], np.asarray(a["target"], float), "target")):
            ax.set_visible(True)
            ax.imshow(np.clip(pic.squeeze(), 0, 1), cmap="gray" if pic.squeeze().ndim == 2 else None, vmin=0,
                      vmax=1, interpolation="nearest")
            ax.set_title(title if i == 0 else "", fontsize=9)
        if r:
            axes[i][0].set_ylabel(r, fontsize=9)
    fig.suptitle(f"{run.experiment}: {view['title']}", fontsize=10)
    return fig


@renderer("variant_lines")
def variant_lines_figure(run, view):
    """The final output of every variant's first member on the grid, one panel per variant, with the target."""
    labels = run.labels
    ncols = min(len(labels), 3)
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 2.8 * nrows), squeeze=False, sharey=True,
                             layout="constrained")
    for ax in axes.ravel()[len(labels):]:
        ax.set_visible(False)
    for ax, lab in zip(axes.ravel(), labels):
        a = run.arrays(_first_member(run, lab), view["file"])
        x = a[view.get("x", "x")]
        ax.plot(x, a[view["ref"]], color="0.6", lw=2.2, label="target")
        ax.plot(x, a[view["y"]][-1], color="C3", lw=1.2, label="network (end)")
        pts = view.get("points")
        if pts and pts in a:
            ax.plot(a[pts], np.interp(a[pts], x, a[view["ref"]]), "k.", ms=3, label="training points")
        ax.set_title(lab, fontsize=10)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{run.experiment}: {view['title']}", fontsize=10)
    return fig
