"""How runs and monitors show themselves in a notebook (Jupyter calls ``_repr_html_``)."""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import numpy as np

from freqlens.report.figures import draw
from freqlens.report.html import data_uri, fmt_step, render_png, summary_tables


def run_html(run) -> str:
    """Status, the per-key summaries and the run's first heat map, inline."""
    head = (f"<b>freqlens run</b> <code>{html.escape(run.id)}</code> · {html.escape(run.experiment)} · "
            f"<b>{html.escape(run.status)}</b>" + (f" ({html.escape(run.message)})" if run.message else ""))
    parts = [f"<p>{head}</p>", summary_tables(run)]
    heat = next((v for v in run.views if v["kind"] == "heatmap"), None)
    if heat is not None and not run.metrics(heat["metric"]).empty:
        parts.append(f'<img style="max-width:720px" alt="{html.escape(heat["title"])}" '
                     f'src="{data_uri(render_png(draw(run, heat)))}">')
    parts.append(f'<p style="color:#666">folder: <code>{html.escape(str(run.path))}</code></p>')
    return "\n".join(parts)


def frequency_monitor_html(monitor) -> str:
    """A table of the convergence steps and the ΔF heat map of what a 1-D monitor has recorded."""
    conv = monitor.convergence_steps() if monitor.steps else {}
    rows = "".join(f"<tr><td>k={k}</td><td>{fmt_step(v)}</td></tr>" for k, v in conv.items())
    text = (f"<p><b>FrequencyMonitor</b>: {len(monitor.steps)} record(s), tracked k = {monitor.freqs}, "
            f"threshold {monitor.threshold}, hold {monitor.hold}</p>")
    if not monitor.steps:
        return text
    table = f"<table><tr><th>k</th><th>convergence step</th></tr>{rows}</table>"
    df = monitor.delta_f
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.4 * len(monitor.freqs)))
    steps = df.index.to_numpy()
    dstep = steps[1] - steps[0] if len(steps) > 1 else 1
    edges = np.append(steps - dstep / 2, steps[-1] + dstep / 2)
    mesh = ax.pcolormesh(edges, np.arange(len(monitor.freqs) + 1), np.clip(df.to_numpy().T, 0.1, 1.0),
                         vmin=0.1, vmax=1.0, cmap="viridis")
    for i, k in enumerate(monitor.freqs):
        if conv.get(k) is not None:
            ax.plot([conv[k]], [i + 0.5], marker="v", color="white", mec="black", ms=7)
    ax.set_yticks(np.arange(len(monitor.freqs)) + 0.5, [f"k={k}" for k in monitor.freqs])
    ax.set_xlabel("step")
    ax.set_title("ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k| (clipped to [0.1, 1]; ▼ = converged)", fontsize=9)
    fig.colorbar(mesh, ax=ax, label="ΔF")
    fig.tight_layout()
    return text + table + f'<img style="max-width:720px" src="{data_uri(render_png(fig))}">'
