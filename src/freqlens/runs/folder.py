"""A run folder that describes itself: ``run.json`` (the run's record) beside each member's ``member.json`` and
``metrics.npz``. The index is then a queryable copy of the folders, and two things follow:

- :class:`FolderStore`: the run store's interface over the folders alone, writing no index. Workers that cannot
  share one SQLite file (Ray workers on other machines, reaching the runs directory through a shared file system)
  train with it; the driver then copies each run into the index with :func:`ingest`.
- :func:`ingest` (also behind ``freqlens rebuild-index``): replace a run's index rows by what its folder holds,
  in one transaction.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from freqlens.errors import StoreError
from freqlens.runs import files

RECORD = "run.json"


def write_record(folder: Path, record: dict[str, Any]) -> None:
    files.write_json(Path(folder) / RECORD, record)


def read_record(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / RECORD
    return files.read_json(path) if path.exists() else None


def update_record(folder: Path, **changes) -> None:
    """Change fields of ``run.json`` (a folder without one, e.g. written by freqlens 0.1, is left alone)."""
    rec = read_record(folder) if Path(folder).is_dir() else None
    if rec is None:
        return
    for key, value in changes.items():
        if value is not None or key == "message":
            rec[key] = value
    write_record(folder, rec)


def member_records(folder: Path, n_members: int) -> list[dict[str, Any] | None]:
    """Each member's ``member.json`` (None where the member has not written one yet)."""
    out = []
    for i in range(n_members):
        path = Path(folder) / f"member-{i:02d}" / "member.json"
        out.append(files.read_json(path) if path.exists() else None)
    return out


class FolderStore:
    """The run store's interface over run folders only: no SQLite, nothing shared but files of one run.

    Implements what the runner calls; metrics and summaries reach the folder through the members' records
    (``member.json``, ``metrics.npz``, written at every checkpoint and at the end), so their methods are no-ops.
    """

    readonly = False

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise StoreError(f"no runs directory at {self.root}")

    def run_dir(self, run_id: str) -> Path:
        from freqlens.runs.store import check_run_id

        return self.root / check_run_id(run_id)

    def resolve(self, run_id: str) -> str:
        """Only exact ids (the driver names the run)."""
        if not self.run_dir(run_id).is_dir():
            raise StoreError(f"no run folder {run_id!r} in {self.root}")
        return run_id

    def new_run_folder(self, experiment: str) -> tuple[str, Path]:
        from freqlens.runs.store import RunStore

        return RunStore.new_run_folder(self, experiment)  # the same id allocation, on the folders

    def insert_run(self, run_id: str, *, experiment: str, family: str, config: dict, members: list[dict],
                   unit: str = "step", axes: dict | None = None, views: list | None = None,
                   sweep_id: str | None = None, sweep_index: int | None = None, status: str = "running",
                   created: float | None = None, mirror: bool = True) -> None:
        from freqlens._version import __version__

        write_record(self.run_dir(run_id), {
            "id": run_id, "experiment": experiment, "family": family, "config": config, "status": status,
            "created": time.time() if created is None else created, "pid": os.getpid(), "version": __version__,
            "unit": unit, "axes": axes or {}, "views": views or [], "sweep_id": sweep_id,
            "sweep_index": sweep_index, "message": None, "wall_time": None,
            "members": [{"label": m["label"], "seed": m["seed"], "overrides": m.get("overrides", {})}
                        for m in members]})

    def get_run(self, run_id: str) -> dict[str, Any]:
        rec = read_record(self.run_dir(run_id))
        if rec is None:
            raise StoreError(f"run folder {self.run_dir(run_id)} has no {RECORD}")
        return rec

    def members(self, run_id: str) -> list[dict[str, Any]]:
        rec = self.get_run(run_id)
        out = []
        for i, (m, saved) in enumerate(zip(rec["members"], member_records(self.run_dir(run_id), len(rec["members"])))):
            saved = saved or {}
            out.append({"member": i, "label": m["label"], "seed": m["seed"], "overrides": m.get("overrides", {}),
                        "status": saved.get("status", "pending"), "step": saved.get("step", 0),
                        "wall_time": saved.get("wall_time") or 0.0, "info": saved.get("info", {}),
                        "message": None})
        return out

    def claim(self, run_id: str, *, allowed: tuple[str, ...] = ("running", "interrupted")) -> dict[str, Any]:
        row = self.get_run(run_id)
        if row["status"] in allowed:  # the caller holds the run's lock
            update_record(self.run_dir(run_id), status="running", pid=os.getpid(), message=None)
        return row

    def set_status(self, run_id: str, status: str, *, message: str | None = None, wall_time: float | None = None,
                   pid: int | None = None) -> None:
        update_record(self.run_dir(run_id), status=status, message=message, wall_time=wall_time)

    def metrics(self, run_id: str, name: str | None = None):
        raise StoreError("a run folder without its index cannot resume a freqlens 0.1 checkpoint")

    # what the members' records carry already
    def update_member(self, *args, **kwargs) -> None:
        pass

    def add_metrics(self, *args, **kwargs) -> None:
        pass

    def replace_member_records(self, *args, **kwargs) -> None:
        pass

    def set_summaries(self, *args, **kwargs) -> None:
        pass


def ingest(store, folder: Path) -> str:
    """Replace the index rows of the run in ``folder`` by what the folder holds (``run.json`` and its members'
    records), in one transaction; return the run id. Refuses a folder without ``run.json``."""
    folder = Path(folder)
    rec = read_record(folder)
    if rec is None:
        raise StoreError(f"{folder} has no {RECORD}; `freqlens rebuild-index` reads older run folders")
    run_id = rec["id"]
    if run_id != folder.name:
        raise StoreError(f"{folder / RECORD} names another run ({run_id!r})")
    members = FolderStore.members(_Reader(folder, rec), run_id)
    stmts = store.delete_run_rows(run_id)
    stmts.append(("INSERT INTO runs (id, experiment, family, config, status, created, started, finished, wall_time, "
                  "pid, message, version, unit, axes, views, sweep_id, sweep_index) VALUES "
                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (run_id, rec["experiment"], rec["family"], _json(rec["config"]), rec["status"], rec["created"],
                   rec["created"], None if rec["status"] == "running" else time.time(), rec.get("wall_time"),
                   rec.get("pid"), rec.get("message"), rec.get("version"), rec["unit"], _json(rec["axes"]),
                   _json(rec["views"]), rec.get("sweep_id"), rec.get("sweep_index"))))
    metric_rows, summary_rows = [], []
    for m in members:
        stmts.append(("INSERT INTO members (run_id, member, label, seed, status, step, wall_time, overrides, info) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (run_id, m["member"], m["label"], m["seed"], m["status"], m["step"], m["wall_time"],
                       _json(m["overrides"]), _json(m["info"]))))
        mdir = folder / f"member-{m['member']:02d}"
        if (mdir / "metrics.npz").exists():
            metric_rows += [(run_id, m["member"], s, n, k, v)
                            for s, n, k, v in files.arrays_to_metrics(files.load_arrays(mdir / "metrics.npz"))]
        saved = files.read_json(mdir / "member.json") if (mdir / "member.json").exists() else {}
        summary_rows += [(run_id, m["member"], name, str(k), None if v is None else float(v))
                         for name, kv in saved.get("summaries", {}).items() for k, v in kv.items()]
    store._write(stmts + [("INSERT INTO summaries VALUES (?, ?, ?, ?, ?)", r) for r in summary_rows],
                 many=("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", metric_rows))
    return run_id


class _Reader:
    """The least of a FolderStore that :meth:`FolderStore.members` needs, over one folder's record."""

    def __init__(self, folder: Path, rec: dict):
        self.folder, self.rec = folder, rec

    def get_run(self, run_id: str) -> dict:
        return self.rec

    def run_dir(self, run_id: str) -> Path:
        return self.folder


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
