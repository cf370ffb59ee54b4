"""``freqlens rebuild-index``: recreate a lost, emptied or damaged run index from the run folders.

A run folder describes itself (``run.json``, and each member's ``member.json`` and ``metrics.npz``, written at every
checkpoint and at the end) and is copied back as it is (:func:`freqlens.runs.folder.ingest`); folders written by
freqlens 0.1 hold ``evals.npz`` instead, from which the 1-D metrics and convergence steps are recomputed. A damaged index is never deleted: it is moved aside first.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from freqlens.errors import StoreError
from freqlens.lab.experiments import family_of, run_views
from freqlens.lab.monitors.base import convergence_step
from freqlens.lab.runner import members_of
from freqlens.runs import files
from freqlens.runs.folder import RECORD, ingest
from freqlens.runs.store import INDEX_NAME, RUN_ID, RunStore


@dataclass
class RebuildReport:
    runs: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    moved_aside: list[Path] = field(default_factory=list)


def rebuild_index(runs_dir=None, *, force: bool = False) -> RebuildReport:
    """Rebuild the index of ``runs_dir`` from its run folders. A healthy index is refused unless ``force``."""
    root = Path(runs_dir) if runs_dir is not None else Path(os.environ.get("FREQLENS_RUNS_DIR") or "runs")
    if not root.is_dir():
        raise StoreError(f"no runs directory at {root}")
    index = root / INDEX_NAME
    report = RebuildReport()
    if index.exists() and index.stat().st_size > 0 and not force:
        try:
            RunStore(root, create=False).close()
        except StoreError as exc:
            if "damaged" not in str(exc) and "not an SQLite" not in str(exc):
                raise
        else:
            raise StoreError(f"run index {index} is healthy; nothing to rebuild (--force rebuilds it anyway)")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ("", "-wal", "-shm", "-journal"):
        old = root / (INDEX_NAME + suffix)
        if old.exists():
            aside = root / f".{INDEX_NAME}{suffix}.replaced-{stamp}"
            os.replace(old, aside)
            report.moved_aside.append(aside)
    store = RunStore(root, create=True, rebuilding=True)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and RUN_ID.fullmatch(p.name)):
        try:
            if (folder / RECORD).exists():  # a folder that describes itself
                ingest(store, folder)
            else:  # freqlens 0.1's folders: rebuilt with the family's knowledge
                _rebuild_run(store, folder)
            report.runs.append(folder.name)
        except (StoreError, ValueError, KeyError) as exc:
            report.skipped.append((folder.name, str(exc)))
    store.close()
    return report


def _rebuild_run(store: RunStore, folder: Path) -> None:
    config = files.read_json(folder / "config.json")
    family = family_of(config)
    cfg = family.config.from_dict(config)
    members = members_of(cfg)
    rows, records, summaries = [], [], []
    for m in members:
        mdir = folder / f"member-{m.index:02d}"
        if (mdir / "member.json").exists():
            rec = files.read_json(mdir / "member.json")
            history = files.arrays_to_metrics(files.load_arrays(mdir / "metrics.npz"))
            status = rec["status"] if rec["status"] in ("finished", "failed") else "interrupted"
            row = {"label": m.label, "seed": m.seed, "status": status, "step": rec["step"],
                   "wall_time": rec.get("wall_time") or 0.0, "overrides": m.overrides, "info": rec.get("info", {})}
            summ = rec.get("summaries", {})
        elif (mdir / "evals.npz").exists():  # freqlens 0.1: the 1-D monitor's arrays
            history, row, summ = _from_v1_arrays(cfg, m, mdir)
        else:
            history, summ = [], {}
            row = {"label": m.label, "seed": m.seed, "status": "pending", "overrides": m.overrides}
        rows.append(row)
        records.append(history)
        summaries.append(summ)
    statuses = {r["status"] for r in rows}
    status = "finished" if statuses == {"finished"} else "failed" if "failed" in statuses else "interrupted"
    created = time.mktime(time.strptime(folder.name[-20:-5], "%Y%m%d-%H%M%S"))
    store.insert_run(folder.name, experiment=cfg.experiment, family=family.name, config=cfg.to_dict(),
                     members=rows, unit=family.unit, axes=family.metric_axes(cfg), views=run_views(cfg),
                     status=status, created=created)
    for i, (history, summ) in enumerate(zip(records, summaries)):
        by_step: dict[int, dict[str, dict[str, float]]] = {}
        for step, name, key, v in history:
            by_step.setdefault(step, {}).setdefault(name, {})[key] = v
        store.add_metrics(folder.name, i, sorted(by_step.items()))
        if summ:
            store.set_summaries(folder.name, i, summ)
    wall = sum(float(r.get("wall_time") or 0.0) for r in rows)
    message = None if status == "finished" else "rebuilt from the run folder; `freqlens resume` completes it" \
        if status == "interrupted" else "rebuilt from the run folder"
    store.set_status(folder.name, status, message=message, wall_time=wall)


def _from_v1_arrays(cfg, m, mdir: Path):
    ev = files.load_arrays(mdir / "evals.npz")
    freqs = [int(k) for k in ev["freqs"]]
    history = []
    for i, step in enumerate(ev["steps"]):
        history.append((int(step), "loss", "mse", float(ev["loss"][i])))
        history += [(int(step), "delta_f", str(k), float(v)) for k, v in zip(freqs, ev["delta_f"][i])]
        history += [(int(step), "delta_f_mag", str(k), float(v)) for k, v in zip(freqs, ev["delta_f_mag"][i])]
    finished = (mdir / "final.pt").exists()
    steps = [int(s) for s in ev["steps"]]
    summ = {"convergence_step": {k: convergence_step(steps, np.asarray(ev["delta_f"])[:, j], cfg.threshold,
                                                     cfg.hold) for j, k in enumerate(freqs)}} if finished else {}
    row = {"label": m.label, "seed": m.seed, "status": "finished" if finished else "interrupted",
           "step": cfg.steps if finished else 0, "wall_time": 0.0, "overrides": m.overrides,
           "info": {"freqs": freqs}}
    return history, row, summ
