"""The run store: an SQLite index (stdlib ``sqlite3``) plus one folder per run.

Layout of a runs directory::

    runs/
      freqlens.sqlite          index: runs, members, metrics (long format), convergence
      <run-id>/config.json     the resolved config
      <run-id>/member-00/      checkpoint.pt, evals.npz (arrays recorded so far)
      <run-id>/report.html     + figures/*.png

The store knows names and shapes, not how numbers were computed. Metrics are appended as they are measured
in small batches (WAL journal); a killed process leaves everything committed intact.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from freqlens._version import __version__
from freqlens.errors import StoreError

INDEX_NAME = "freqlens.sqlite"
SCHEMA_NAME = "freqlens-runs"
SCHEMA_VERSION = 1
ENV_VAR = "FREQLENS_RUNS_DIR"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, experiment TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL,
    created REAL NOT NULL, started REAL, finished REAL, wall_time REAL, pid INTEGER, message TEXT,
    version TEXT
);
CREATE TABLE IF NOT EXISTS members (
    run_id TEXT NOT NULL, member INTEGER NOT NULL, label TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 0, wall_time REAL NOT NULL DEFAULT 0,
    freqs TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (run_id, member)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, member INTEGER NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL,
    key TEXT NOT NULL, value REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics (run_id, name, member, step);
CREATE TABLE IF NOT EXISTS convergence (
    run_id TEXT NOT NULL, member INTEGER NOT NULL, freq INTEGER NOT NULL, step INTEGER,
    PRIMARY KEY (run_id, member, freq)
);
"""

STATUSES = ("running", "finished", "failed", "interrupted")


def default_runs_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or "runs")


class RunStore:
    """Open (``create=True``: create if missing) the runs directory ``root``; validate it is ours."""

    def __init__(self, root: str | os.PathLike | None = None, *, create: bool = True):
        self.root = Path(root) if root is not None else default_runs_dir()
        self.index = self.root / INDEX_NAME
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"runs directory {self.root} is not a directory")
        if not self.root.exists():
            if not create:
                raise StoreError(f"no runs directory at {self.root} (set --runs-dir or {ENV_VAR})")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create runs directory {self.root}: {exc.strerror}") from None
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise StoreError(f"runs directory {self.root} is not readable")
        if not self.index.exists():
            ours = {INDEX_NAME + sfx for sfx in ("", "-wal", "-shm", "-journal")}  # another process creating it
            foreign = [p.name for p in self.root.iterdir() if not p.name.startswith(".") and p.name not in ours]
            if foreign:
                raise StoreError(f"{self.root} is not a freqlens runs directory (no {INDEX_NAME}, but it holds "
                                 f"{len(foreign)} other entries, e.g. {foreign[0]!r}); choose another --runs-dir")
            if not create:
                raise StoreError(f"no runs in {self.root} yet")
            if not os.access(self.root, os.W_OK):
                raise StoreError(f"runs directory {self.root} is not writable")
        elif not os.access(self.index, os.R_OK):
            raise StoreError(f"run index {self.index} is not readable")
        for attempt in range(50):
            try:
                self._conn = self._connect()
                break
            except sqlite3.OperationalError:  # "database is locked" while another process converts it to WAL
                if attempt == 49:
                    raise StoreError(f"run index {self.index} stays locked by another process") from None
                time.sleep(0.1)

    # -- connection ----------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        header = b""
        if self.index.exists():
            with open(self.index, "rb") as fh:
                header = fh.read(16)
        magic = b"SQLite format 3\x00"
        if header != magic[: len(header)]:
            raise StoreError(f"{self.index} is not a freqlens run index (not an SQLite file)")
        try:
            conn = sqlite3.connect(self.index, timeout=30.0, isolation_level=None)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables and not tables:
                # a new index, perhaps being created by another process at this moment: the write lock
                # serialises the creators, and whoever comes second finds the tables and adds nothing
                conn.execute("BEGIN IMMEDIATE")
                if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                    for stmt in filter(str.strip, _SCHEMA.split(";")):
                        conn.execute(stmt)
                    conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                     [("schema", SCHEMA_NAME), ("version", str(SCHEMA_VERSION))])
                conn.execute("COMMIT")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise
            raise StoreError(f"{self.index} is not a usable freqlens run index ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.index} is not a usable freqlens run index ({exc})") from None
        if meta.get("schema") != SCHEMA_NAME:
            raise StoreError(f"{self.index} belongs to something else (schema {meta.get('schema')!r})")
        if int(meta.get("version", 0)) > SCHEMA_VERSION:
            raise StoreError(f"{self.index} was written by a newer freqlens (schema v{meta['version']})")
        # only now that the file is known to be ours: switch it to write-ahead logging (a no-op when it is)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def close(self) -> None:
        self._conn.close()

    def _exec(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(args))

    # -- runs ----------------------------------------------------------------------------------------------
    def create_run(self, experiment: str, config: dict[str, Any], members: list[dict[str, Any]]) -> str:
        """Create the folder and the index rows of a new run (status ``running``); return its id."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for _ in range(100):
            run_id = f"{experiment}-{stamp}-{secrets.token_hex(2)}"
            folder = self.root / run_id
            try:
                folder.mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 65536 ids in one second
            raise StoreError("could not allocate a run id")
        (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
        now = time.time()
        with self._conn:
            self._exec("BEGIN")
            self._exec("INSERT INTO runs (id, experiment, config, status, created, started, pid, version) "
                       "VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                       (run_id, experiment, json.dumps(config, sort_keys=True), now, now, os.getpid(), __version__))
            for i, m in enumerate(members):
                self._exec("INSERT INTO members (run_id, member, label, seed, status) VALUES (?, ?, ?, ?, 'pending')",
                           (run_id, i, m["label"], m["seed"]))
            self._exec("COMMIT")
        return run_id

    def resolve(self, id_or_prefix: str) -> str:
        rows = [r[0] for r in self._exec("SELECT id FROM runs WHERE id = ?", (id_or_prefix,))]
        if not rows:
            rows = [r[0] for r in self._exec("SELECT id FROM runs WHERE id LIKE ? ORDER BY created",
                                             (id_or_prefix.replace("%", "") + "%",))]
        if not rows:
            raise StoreError(f"no run {id_or_prefix!r} in {self.root}")
        if len(rows) > 1:
            raise StoreError(f"run id {id_or_prefix!r} is ambiguous in {self.root}: {', '.join(rows[:5])}")
        return rows[0]

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def get_run(self, run_id: str) -> dict[str, Any]:
        cur = self._exec("SELECT * FROM runs WHERE id = ?", (run_id,))
        row = cur.fetchone()
        if row is None:
            raise StoreError(f"no run {run_id!r} in {self.root}")
        out = dict(zip([c[0] for c in cur.description], row))
        out["config"] = json.loads(out["config"])
        return out

    def list_runs(self) -> pd.DataFrame:
        return pd.read_sql_query(
            "SELECT id, experiment, status, created, wall_time, message FROM runs ORDER BY created", self._conn)

    def set_status(self, run_id: str, status: str, *, message: str | None = None, wall_time: float | None = None,
                   pid: int | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        finished = time.time() if status != "running" else None
        self._exec("UPDATE runs SET status = ?, message = ?, finished = ?, wall_time = COALESCE(?, wall_time), "
                   "pid = COALESCE(?, pid) WHERE id = ?", (status, message, finished, wall_time, pid, run_id))

    # -- members -------------------------------------------------------------------------------------------
    def members(self, run_id: str) -> pd.DataFrame:
        return pd.read_sql_query("SELECT member, label, seed, status, step, wall_time, freqs FROM members "
                                 "WHERE run_id = ? ORDER BY member", self._conn, params=(run_id,))

    def update_member(self, run_id: str, member: int, *, status: str | None = None, step: int | None = None,
                      wall_time: float | None = None, freqs: list[int] | None = None) -> None:
        self._exec("UPDATE members SET status = COALESCE(?, status), step = COALESCE(?, step), "
                   "wall_time = COALESCE(?, wall_time), freqs = COALESCE(?, freqs) WHERE run_id = ? AND member = ?",
                   (status, step, wall_time, None if freqs is None else json.dumps(freqs), run_id, member))

    # -- metrics -------------------------------------------------------------------------------------------
    def add_metrics(self, run_id: str, member: int, records: list[tuple[int, dict[str, dict[str, float]]]]) -> None:
        """Append ``[(step, {name: {key: value}}), ...]`` measured for ``member`` (one transaction)."""
        rows = [(run_id, member, step, name, str(key), float(v))
                for step, values in records for name, kv in values.items() for key, v in kv.items()]
        if not rows:
            return
        with self._conn:
            self._exec("BEGIN")
            self._conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._exec("COMMIT")

    def truncate_metrics(self, run_id: str, member: int, after_step: int) -> None:
        self._exec("DELETE FROM metrics WHERE run_id = ? AND member = ? AND step > ?", (run_id, member, after_step))

    def metrics(self, run_id: str, name: str | None = None) -> pd.DataFrame:
        """Long table with columns member, step, name, key, value."""
        sql = "SELECT member, step, name, key, value FROM metrics WHERE run_id = ?"
        args: tuple[Any, ...] = (run_id,)
        if name is not None:
            sql += " AND name = ?"
            args += (name,)
        return pd.read_sql_query(sql + " ORDER BY member, step", self._conn, params=args)

    def set_convergence(self, run_id: str, member: int, steps: dict[int, int | None]) -> None:
        with self._conn:
            self._exec("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO convergence VALUES (?, ?, ?, ?)",
                                   [(run_id, member, int(k), v) for k, v in steps.items()])
            self._exec("COMMIT")

    def convergence(self, run_id: str) -> pd.DataFrame:
        return pd.read_sql_query("SELECT member, freq, step FROM convergence WHERE run_id = ? ORDER BY member, freq",
                                 self._conn, params=(run_id,))
