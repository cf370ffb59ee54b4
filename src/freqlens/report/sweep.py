"""The report of a sweep: one table and figures across its runs, grouped by configuration (the spread is across
seeds). Written to ``<runs dir>/.sweeps/<sweep id>/report.html`` with its PNGs, atomically like a run's report."""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np

from freqlens.io import atomic_path
from freqlens.report.figures import colors, plt
from freqlens.report.html import CSS, data_uri, fmt_step, render_png
from freqlens.report.run import Run


def _groups(store, rec) -> dict[str, list[Run]]:
    runs = {r["sweep_index"]: r for r in store.sweep_runs(rec["id"])}
    groups: dict[str, list[Run]] = {}
    for entry in rec["spec"]["runs"]:
        r = runs.get(entry["index"])
        groups.setdefault(entry["label"], [])
        if r is not None and r["status"] == "finished":
            groups[entry["label"]].append(Run(store, r["id"]))
    return groups


def sweep_summary(store, sweep_id: str):
    """``(sweep record, columns, rows, (groups, steps, keys))``: per configuration the finished seeds, the convergence step of each key
    (median, with min-max over seeds) and the mean training time."""
    rec = store.get_sweep(sweep_id)
    groups = _groups(store, rec)
    keys: list = []
    steps: dict[str, dict] = {}
    for label, runs in groups.items():
        per_key: dict = {}
        for run in runs:
            for k, v in run.convergence_steps.items() if not run.is_sweep else []:
                per_key.setdefault(k, []).append(np.inf if v is None else v)
        steps[label] = per_key
        keys += [k for k in per_key if k not in keys]
    keys = sorted(keys)
    columns = ["configuration", "runs finished", *[f"k={k:.3g}" if isinstance(k, float) else f"k={k}" for k in keys],
               "train s / run"]
    rows = []
    for label, runs in groups.items():
        cells = []
        for k in keys:
            vals = np.asarray(steps[label].get(k, []), dtype=float)
            if not vals.size:
                cells.append("")
                continue
            med = float(np.median(vals))
            spread = "" if vals.size < 2 or vals.min() == vals.max() else \
                f" [{fmt_step(vals.min() if np.isfinite(vals.min()) else None)}–" \
                f"{fmt_step(vals.max() if np.isfinite(vals.max()) else None)}]"
            cells.append(f"{fmt_step(med if np.isfinite(med) else None)}{spread}")
        walls = [r.wall_time for r in runs if r.wall_time is not None]
        rows.append([label, f"{len(runs)}", *cells, f"{np.mean(walls):.1f}" if walls else ""])
    _add_filtering(groups, columns, rows)
    return rec, columns, rows, (groups, steps, keys)


def _add_filtering(groups: dict, columns: list, rows: list) -> None:
    """For runs with the filtering method: per δ, the median step at which e_low and e_high fell below the
    threshold, as ``low / high`` (before the training-time column)."""
    per: dict[str, dict] = {}
    deltas: list = []
    for label, runs in groups.items():
        acc: dict = {}
        for run in runs:
            if not any(v["kind"] == "filtering_panels" for v in run.views):
                continue
            for name in ("e_low_step", "e_high_step"):
                df = run.summaries(name)
                for key, value in zip(df["key"], df["value"]):
                    acc.setdefault(key, {}).setdefault(name, []).append(np.inf if value is None else value)
        per[label] = acc
        deltas += [d for d in acc if d not in deltas]
    if not deltas:
        return
    deltas = sorted(deltas)
    at = len(columns) - 1
    columns[at:at] = [f"δ={d:.3g} e_low / e_high" for d in deltas]

    def med(vals) -> str:
        m = float(np.median(vals)) if vals else np.inf
        return fmt_step(m if np.isfinite(m) else None) if vals else ""

    for row, label in zip(rows, groups):
        acc = per.get(label, {})
        row[at:at] = [f"{med(acc.get(d, {}).get('e_low_step', []))} / {med(acc.get(d, {}).get('e_high_step', []))}"
                      if d in acc else "" for d in deltas]


def convergence_by_config_figure(rec, steps: dict, keys: list, unit: str = "step"):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    palette = colors(len(steps))
    finite_top = max([v for d in steps.values() for vals in d.values() for v in vals if np.isfinite(v)] or [1])
    for i, ((label, per_key), c) in enumerate(zip(steps.items(), palette)):
        xs, med, lo, hi, never = [], [], [], [], []
        for k in keys:
            vals = np.asarray(per_key.get(k, []), dtype=float)
            if not vals.size:
                continue
            m = float(np.median(vals))
            if not np.isfinite(m):
                never.append(k)
                continue
            fin = vals[np.isfinite(vals)]
            xs.append(k)
            med.append(m)
            lo.append(m - fin.min())
            hi.append((fin.max() if fin.size == vals.size else 3 * finite_top) - m)
        ax.errorbar(xs, med, yerr=[lo, hi], fmt="o-", capsize=3, color=c, label=label, lw=1.2, ms=4)
        if never:  # "never", drawn above the finite steps; each configuration on its own row so none hides another
            ax.plot(never, [3 * finite_top * 1.25 ** i] * len(never), "x", color=c, ms=8)
    ax.set_yscale("log")
    ax.set_xlabel("frequency k (tracked)")
    ax.set_ylabel(f"convergence {unit} (median over seeds)")
    ax.set_title(f"sweep {rec['id']}: convergence {unit} against frequency per configuration\n"
                 "bars: min–max over seeds; ×: never (drawn above the rest)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def build_sweep_report(store, sweep_id: str) -> Path:
    rec, columns, rows, (groups, steps, keys) = sweep_summary(store, sweep_id)
    folder = store.root / ".sweeps" / rec["id"]
    folder.mkdir(parents=True, exist_ok=True)
    unit = next((run.unit for runs in groups.values() for run in runs), "step")
    png = render_png(convergence_by_config_figure(rec, steps, keys, unit)) if keys else None
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>freqlens sweep: {html.escape(rec['id'])}</title>
<style>{CSS}</style></head><body>
<h1>freqlens sweep <code>{html.escape(rec['id'])}</code></h1>
<p class="meta">experiment <b>{html.escape(rec['spec']['experiment'])}</b> · {len(rec['spec']['runs'])} planned runs ·
status <b>{html.escape(rec['status'])}</b> {html.escape(rec.get('message') or '')} · report written
{time.strftime('%Y-%m-%d %H:%M:%S')}</p>
<h2>Convergence steps per configuration (median [min–max] over seeds)</h2>
<table id="table-sweep"><tr>{head}</tr>{body}</table>
{'' if png is None else f'<h2>Convergence step against frequency</h2><img id="fig-convergence" alt="convergence" src="{data_uri(png)}">'}
</body></html>
"""
    if png is not None:
        with atomic_path(folder / "convergence.png") as tmp:
            tmp.write_bytes(png)
    with atomic_path(folder / "report.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return folder / "report.html"
