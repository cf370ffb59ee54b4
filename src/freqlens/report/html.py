"""The self-contained HTML report of a run: every figure embedded as a data URI (opens offline), PNGs beside.

Drawn from the run's stored views only. Every figure is rendered in memory before anything is written, so a
report that fails leaves the previous one as it was; files are replaced atomically; a run folder that was deleted
is never recreated.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt

from freqlens.errors import StoreError
from freqlens.io import atomic_path
from freqlens.report.figures import RENDERERS, draw
from freqlens.report.views_compare import TABLES

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
img{max-width:100%;border:1px solid #eee} .meta{color:#555} .failed{color:#b00}
"""


def render_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def data_uri(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64," + base64.b64encode(data).decode("ascii")


def render(run, view) -> tuple[bytes, str, str]:
    """A view as ``(bytes, media type, file extension)``: a Figure becomes a PNG; a renderer may return an
    animation as such a triple itself."""
    out = draw(run, view)
    if isinstance(out, tuple):
        return out
    return render_png(out), "image/png", "png"


def fmt_step(v) -> str:
    """A step for people: an integer, or ``never`` for a missing one (None or NaN)."""
    return "never" if v is None or v != v else str(int(v))


def table_html(run, view) -> str:
    columns, rows = TABLES[view["kind"]](run, view)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<h2>{html.escape(view["title"])}</h2>\n<table id="table-{html.escape(view["name"])}"><tr>{head}</tr>{body}</table>'


def summary_tables(run) -> str:
    """HTML tables of the run's per-key summaries (median over seeds), one per summary the views mention."""
    views = run.views
    if any(v["kind"] == "sweep_summary" for v in views):
        rows = "".join(f"<tr><td>{html.escape(r.variant)}</td><td>{fmt_step(r.low_step)}</td><td>k={r.high_k}: "
                       f"{fmt_step(r.high_step)}</td></tr>" for r in run.sweep.itertuples())
        return ("<table><tr><th>variant</th><th>low component (k=1)</th><th>high component</th></tr>"
                f"{rows}</table>")
    names = list(dict.fromkeys(v.get("summary") or v.get("marks") for v in views
                               if v.get("summary") or v.get("marks")))
    out = []
    for name in names:
        df = run.summaries(name)
        if df.empty:
            continue
        axis = next((v.get("axis", "key") for v in views if name in (v.get("summary"), v.get("marks"))), "key")
        cells = []
        for (label, key), grp in df.groupby(["label", "key"], sort=False):
            vals = sorted(float("inf") if v is None else float(v) for v in grp["value"])
            med = vals[len(vals) // 2] if vals else float("inf")
            cells.append(f"<tr><td>{html.escape(str(label)) + ' ' if label else ''}{html.escape(axis)}={key}</td>"
                         f"<td>{fmt_step(None if med == float('inf') else med)}</td></tr>")
        out.append(f"<table><tr><th>{html.escape(axis)}</th><th>{html.escape(name.replace('_', ' '))}</th></tr>"
                   f"{''.join(cells)}</table>")
    return "\n".join(out)


def build_report(run, out_dir: str | Path | None = None) -> Path:
    """Write ``report.html`` and ``figures/*.png`` into the run folder (or ``out_dir``); return the HTML path."""
    folder = Path(out_dir) if out_dir is not None else Path(run.path)
    if not folder.is_dir():
        raise StoreError(f"report folder {folder} does not exist" + ("" if out_dir is not None else
                                                                    f" (run {run.id} has no folder)"))
    images = []  # every figure in memory first: a failure writes nothing
    for view in run.views:
        if view["kind"] in RENDERERS:
            images.append((view, *render(run, view)))
    sections = [table_html(run, v) for v in run.views if v["kind"] in TABLES]
    sections += [f'<h2>{html.escape(v["title"])}</h2>\n<img id="fig-{html.escape(v["name"])}" '
                 f'alt="{html.escape(v["title"])}" src="{data_uri(data, media)}">' for v, data, media, _ in images]
    status = run.status
    about = " ".join(v.get("text", "") for v in run.views if v["kind"] == "about")
    cfg = run.config
    rule = (f" (ΔF &lt; {cfg['threshold']} for {cfg['hold']} consecutive evaluations; median over "
            f"{cfg.get('seeds', 1)} seed(s))") if "threshold" in cfg and "hold" in cfg else \
        f" (median over {cfg.get('seeds', 1)} seed(s))"
    tables = summary_tables(run)
    cfg_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(json.dumps(v))}</td></tr>"
                       for k, v in sorted(cfg.items()))
    wall = run.wall_time
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>freqlens report: {html.escape(run.id)}</title>
<style>{CSS}</style></head><body>
<h1>freqlens run <code>{html.escape(run.id)}</code></h1>
<p class="meta">experiment <b>{html.escape(run.experiment)}</b> · status
<b class="{'failed' if status == 'failed' else ''}">{html.escape(status)}</b>
{f'({html.escape(run.message)})' if run.message else ''} · training time {'' if wall is None else f'{wall:.1f} s'}
· report written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>
<p>{html.escape(about)}</p>
{f'<h2>Convergence steps{rule}</h2>' if tables else ''}
{tables}
{chr(10).join(sections)}
<h2>Configuration</h2>
<table><tr><th>key</th><th>value</th></tr>{cfg_rows}</table>
</body></html>
"""
    figdir = folder / "figures"
    figdir.mkdir(exist_ok=True)
    for view, data, _, ext in images:
        with atomic_path(figdir / f"{Path(view['name']).name}.{ext}") as tmp:
            tmp.write_bytes(data)
    target = folder / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
