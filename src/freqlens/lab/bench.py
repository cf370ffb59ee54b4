"""``freqlens bench spectral-bias``: every remedy of spectral bias against the plain MLP, on the same targets with
the same budget and seeds - the 1-D sparse target and three bundled images (a photograph, a texture, text).

Two runs of the store (``spectral-bias-1d``, ``spectral-bias-2d``), so the benchmark resumes like any run: invoked
again, it completes an unfinished run with the same settings instead of starting over.
"""

from __future__ import annotations

from typing import Callable

from freqlens.lab.experiments import resolve_config
from freqlens.report import Run, build_report
from freqlens.report.views_compare import TABLES, markdown
from freqlens.runs.store import RunStore

QUICK = {"spectral-bias-1d": {"steps": 800, "seeds": 1},
         "spectral-bias-2d": {"size": 64, "steps": 200, "seeds": 1}}


def spectral_bias(*, runs_dir=None, quick: bool = False, seeds: int | None = None, new: bool = False,
                  quiet: bool = True, say: Callable[[str], None] = print, **overrides_2d) -> list[Run]:
    """Run (or resume) the two comparison runs; return them finished, their tables printed through ``say``."""
    from freqlens.lab.runner import resume_run, start_run

    runs = []
    for name in ("spectral-bias-1d", "spectral-bias-2d"):
        ov = dict(QUICK[name]) if quick else {}
        if seeds is not None:
            ov["seeds"] = seeds
        if name.endswith("2d"):
            ov.update(overrides_2d)
        cfg = resolve_config(name, ov).to_dict()  # validated before anything runs
        store = RunStore(runs_dir)
        previous = None if new else _unfinished(store, name, cfg)
        if previous:
            say(f"{name}: resuming {previous}")
            store, rid = resume_run(previous, runs_dir=store.root, quiet=quiet)
        else:
            store, rid = start_run(name, runs_dir=store.root, quiet=quiet, **ov)
        run = Run(store, rid)
        build_report(run)
        runs.append(run)
        view = next(v for v in run.views if v["kind"] in TABLES)
        say(f"\n{name} ({run.id}): {view['title']}\n")
        say(markdown(*TABLES[view["kind"]](run, view)))
        say(f"\nreport: {run.path / 'report.html'}")
    return runs


def _unfinished(store: RunStore, experiment: str, config: dict) -> str | None:
    df = store.list_runs()
    for rid in reversed(list(df[(df["experiment"] == experiment) & (df["status"] != "finished")]["id"])):
        if store.get_run(rid)["config"] == config and store.get_run(rid)["status"] in ("interrupted", "running"):
            return rid
    return None
