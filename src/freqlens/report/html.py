"""The self-contained HTML report of a run: every figure embedded as a data URI (opens offline), PNGs beside."""

from __future__ import annotations

import base64
import html
import io
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt

from freqlens.io import atomic_path
from freqlens.report.figures import FIGURES

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
img{max-width:100%;border:1px solid #eee} .meta{color:#555} .failed{color:#b00}
"""


def build_report(run, out_dir: str | Path | None = None) -> Path:
    """Write ``report.html`` and ``figures/*.png`` into the run folder (or ``out_dir``); return the HTML path."""
    from freqlens.lab.experiments import EXPERIMENTS

    folder = Path(out_dir) if out_dir is not None else Path(run.path)
    figdir = folder / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    sections = []
    for name, (make, caption) in FIGURES.items():
        fig = make(run)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        png = buf.getvalue()
        with atomic_path(figdir / f"{name}.png") as tmp:
            tmp.write_bytes(png)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        sections.append(f'<h2>{html.escape(caption)}</h2>\n<img id="fig-{name}" alt="{html.escape(caption)}" '
                        f'src="{uri}">')

    status = run.status
    desc = EXPERIMENTS[run.experiment].description if run.experiment in EXPERIMENTS else ""
    conv = run.convergence_steps
    if run.is_sweep:
        sw = run.sweep
        conv_rows = "".join(
            f"<tr><td>{html.escape(r.variant)}</td><td>{_fmt(r.low_step)}</td><td>k={r.high_k}: {_fmt(r.high_step)}"
            f"</td></tr>" for r in sw.itertuples())
        conv_table = ("<table><tr><th>variant</th><th>low component (k=1)</th><th>high component</th></tr>"
                      f"{conv_rows}</table>")
    else:
        conv_table = ("<table><tr><th>k</th><th>convergence step</th></tr>"
                      + "".join(f"<tr><td>{k}</td><td>{_fmt(v)}</td></tr>" for k, v in conv.items()) + "</table>")
    cfg_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(json.dumps(v))}</td></tr>"
                       for k, v in sorted(run.config.items()))
    wall = run.wall_time
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>freqlens report: {html.escape(run.id)}</title>
<style>{_CSS}</style></head><body>
<h1>freqlens run <code>{html.escape(run.id)}</code></h1>
<p class="meta">experiment <b>{html.escape(run.experiment)}</b> · status
<b class="{'failed' if status == 'failed' else ''}">{html.escape(status)}</b>
{f'({html.escape(run.message)})' if run.message else ''} · training time {'' if wall is None else f'{wall:.1f} s'}
· report written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>
<p>{html.escape(desc)}</p>
<h2>Convergence steps (ΔF &lt; {run.config['threshold']} for {run.config['hold']} consecutive evaluations;
median over {run.config['seeds']} seed(s))</h2>
{conv_table}
{chr(10).join(sections)}
<h2>Configuration</h2>
<table><tr><th>key</th><th>value</th></tr>{cfg_rows}</table>
</body></html>
"""
    target = folder / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def _fmt(v) -> str:
    return "never" if v is None or v != v else str(int(v))
