"""The run store: an SQLite index (stdlib ``sqlite3``) plus one folder per run.

Layout of a runs directory::

    runs/
      freqlens.sqlite              index: runs, members, metrics (long form), summaries, sweeps
      <run-id>/config.json         the resolved config
      <run-id>/.lock               held (flock) by the one process training the run
      <run-id>/member-00/          member.json, metrics.npz (its durable record), the monitors' arrays,
                                   checkpoint.pt while training, final.pt
      <run-id>/report.html         + figures/*.png

The store knows names, keys, axes and views, not how numbers were computed. The index is a queryable copy of what
the member folders hold: metrics are appended as they are measured (WAL journal), and ``freqlens rebuild-index``
recreates a lost or damaged index from the folders.

Promises: a read-only open never writes the index (an older schema is migrated in memory); an open for writing
checks the file (``PRAGMA quick_check``) before anything is trained; a damaged, empty-but-needed, foreign or newer
index is refused with one line that says how to recover; run ids are validated before they name a folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

from freqlens._version import __version__
from freqlens.errors import StoreError
from freqlens.runs import migrate

INDEX_NAME = "freqlens.sqlite"
SCHEMA_NAME = "freqlens-runs"
SCHEMA_VERSION = migrate.CURRENT
ENV_VAR = "FREQLENS_RUNS_DIR"
STATUSES = ("running", "finished", "failed", "interrupted")
# <experiment>-<yyyymmdd>-<hhmmss>-<4 hex>; the experiment part is lower-case letters, digits and hyphens
RUN_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}-\d{8}-\d{6}-[0-9a-f]{4}")
_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]*")
REBUILD_HINT = "`freqlens rebuild-index` rebuilds it from the run folders"


def default_runs_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or "runs")


def check_run_id(run_id: str) -> str:
    """``run_id`` if it has the shape of a run id (so it can name a folder), else :class:`StoreError`."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise StoreError(f"{run_id!r} is not a run id (expected <experiment>-<date>-<time>-<hex>)")
    return run_id


def _damaged(path: Path, exc: BaseException | str) -> StoreError:
    return StoreError(f"run index {path} is damaged ({exc}); it was left untouched - {REBUILD_HINT}")


class RunStore:
    """Open the runs directory ``root`` (default ``$FREQLENS_RUNS_DIR`` or ``./runs``).

    ``create=True`` creates the directory and index when missing. ``readonly=True`` never writes: the index is
    opened read-only (a schema-v1 index is migrated in a private in-memory copy), nothing is created.
    """

    def __init__(self, root: str | os.PathLike | None = None, *, create: bool = True, readonly: bool = False,
                 rebuilding: bool = False):
        self.root = Path(root) if root is not None else default_runs_dir()
        self.index = self.root / INDEX_NAME
        self.readonly = readonly
        create = create and not readonly
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
        run_folders = [p.name for p in self._entries() if RUN_ID.fullmatch(p.name) and p.is_dir()]
        if not self.index.exists() or self.index.stat().st_size == 0:
            if run_folders and not rebuilding:  # the runs are there but their index is gone
                state = "is empty (0 bytes)" if self.index.exists() else "is missing"
                raise StoreError(f"run index {self.index} {state} but {self.root} holds {len(run_folders)} run "
                                 f"folder(s); {REBUILD_HINT}")
            if not self.index.exists():
                ours = {INDEX_NAME + sfx for sfx in ("", "-wal", "-shm", "-journal")}  # another process creating it
                foreign = [p.name for p in self._entries() if not p.name.startswith(".") and p.name not in ours]
                if foreign and not rebuilding:
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
                self._conn = self._connect_readonly() if readonly else self._connect()
                break
            except sqlite3.OperationalError:  # "database is locked" while another process converts it
                if attempt == 49:
                    raise StoreError(f"run index {self.index} stays locked by another process") from None
                time.sleep(0.1)

    def _entries(self):
        try:
            return list(self.root.iterdir())
        except OSError as exc:
            raise StoreError(f"runs directory {self.root} is not readable ({exc.strerror})") from None

    # -- connection ----------------------------------------------------------------------------------------
    def _check_header(self) -> None:
        with open(self.index, "rb") as fh:
            header = fh.read(16)
        if header != b"SQLite format 3\x00"[: len(header)]:
            raise StoreError(f"{self.index} is not a freqlens run index (not an SQLite file)")

    def _check_meta(self, conn: sqlite3.Connection) -> int:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            raise StoreError(f"{self.index} belongs to something else (no freqlens schema)")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema") != SCHEMA_NAME:
            raise StoreError(f"{self.index} belongs to something else (schema {meta.get('schema')!r})")
        version = int(meta.get("version", 0))
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.index} was written by a newer freqlens (schema v{version}); upgrade freqlens")
        return version

    def _connect_readonly(self) -> sqlite3.Connection:
        self._check_header()
        try:
            conn = sqlite3.connect(f"{self.index.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0,
                                   isolation_level=None)
            version = self._check_meta(conn)
            if version < SCHEMA_VERSION:  # migrate a private copy; the file stays as it is
                mem = sqlite3.connect(":memory:", isolation_level=None)
                conn.backup(mem)
                conn.close()
                migrate.upgrade(mem, version)
                conn = mem
            conn.execute("SELECT count(*) FROM runs").fetchone()
        except StoreError:
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise
            raise StoreError(f"{self.index} is not a usable freqlens run index ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.index, exc) from None
        return conn

    def _connect(self) -> sqlite3.Connection:
        if self.index.exists():
            self._check_header()
        try:
            conn = sqlite3.connect(self.index, timeout=30.0, isolation_level=None)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                # a new index, perhaps being created by another process at this moment: the write lock
                # serialises the creators, and whoever comes second finds the tables and adds nothing
                conn.execute("BEGIN IMMEDIATE")
                if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                    migrate.create(conn, SCHEMA_NAME)
                conn.execute("COMMIT")
            version = self._check_meta(conn)
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                conn.close()
                raise _damaged(self.index, ok)
            if version < SCHEMA_VERSION:
                migrate.upgrade_file(conn, self.index, version)
        except StoreError:
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise
            raise StoreError(f"{self.index} is not a usable freqlens run index ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.index, exc) from None
        # only now that the file is known to be ours and sound: write-ahead logging (a no-op when it is)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def close(self) -> None:
        self._conn.close()

    def _exec(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, tuple(args))
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise StoreError(f"run index {self.index} is not writable ({exc})") from None
            if "locked" in str(exc):
                raise StoreError(f"run index {self.index} stays locked by another process") from None
            raise _damaged(self.index, exc) from None
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.index, exc) from None

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cur = self._exec(sql, args)
        try:
            names = [c[0] for c in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.index, exc) from None

    def _write(self, statements: list[tuple[str, Iterable[Any]]] | None = None, *,
               many: tuple[str, list] | None = None) -> None:
        """Run ``statements`` (and one ``executemany``) in one transaction."""
        if self.readonly:
            raise StoreError(f"run store {self.root} was opened read-only")
        self._exec("BEGIN IMMEDIATE")
        try:
            for sql, args in statements or []:
                self._conn.execute(sql, tuple(args))
            if many is not None and many[1]:
                self._conn.executemany(many[0], many[1])
            self._exec("COMMIT")
        except BaseException as exc:
            self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise _damaged(self.index, exc) from None
            raise

    # -- runs ----------------------------------------------------------------------------------------------
    def new_run_folder(self, experiment: str) -> tuple[str, Path]:
        """Allocate a fresh run id and create its (empty) folder."""
        if not _PREFIX.fullmatch(experiment):
            raise StoreError(f"experiment name {experiment!r} cannot name a run")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for _ in range(100):
            run_id = f"{experiment}-{stamp}-{secrets.token_hex(2)}"
            folder = self.root / run_id
            try:
                folder.mkdir()
                return run_id, folder
            except FileExistsError:
                continue
        raise StoreError("could not allocate a run id")  # pragma: no cover - 65536 ids in one second

    def insert_run(self, run_id: str, *, experiment: str, family: str, config: dict[str, Any],
                   members: list[dict[str, Any]], unit: str = "step", axes: dict | None = None,
                   views: list | None = None, sweep_id: str | None = None, sweep_index: int | None = None,
                   status: str = "running", created: float | None = None, mirror: bool = True) -> None:
        """Index rows of a run whose folder exists (status ``running`` by this process, unless told); the run's
        folder gets the same record (``run.json``, see :mod:`freqlens.runs.folder`) unless ``mirror`` is False."""
        check_run_id(run_id)
        now = time.time() if created is None else created
        stmts = [("INSERT INTO runs (id, experiment, family, config, status, created, started, pid, version, unit, "
                  "axes, views, sweep_id, sweep_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (run_id, experiment, family, json.dumps(config, sort_keys=True), status, now, now, os.getpid(),
                   __version__, unit, json.dumps(axes or {}), json.dumps(views or []), sweep_id, sweep_index))]
        for i, m in enumerate(members):
            stmts.append(("INSERT INTO members (run_id, member, label, seed, status, step, wall_time, overrides, "
                          "info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (run_id, i, m["label"], m["seed"], m.get("status", "pending"), m.get("step", 0),
                           m.get("wall_time", 0.0), json.dumps(m.get("overrides", {}), sort_keys=True),
                           json.dumps(m.get("info", {}), sort_keys=True))))
        self._write(stmts)
        if mirror:
            from freqlens.runs import folder

            folder.write_record(self.run_dir(run_id), {
                "id": run_id, "experiment": experiment, "family": family, "config": config, "status": status,
                "created": now, "pid": os.getpid(), "version": __version__, "unit": unit, "axes": axes or {},
                "views": views or [], "sweep_id": sweep_id, "sweep_index": sweep_index, "message": None,
                "wall_time": None, "members": [{"label": m["label"], "seed": m["seed"],
                                                "overrides": m.get("overrides", {})} for m in members]})

    def resolve(self, id_or_prefix: str) -> str:
        """The run id that equals ``id_or_prefix`` or is the only one starting with it (matched literally)."""
        text = str(id_or_prefix)
        if not text or not _PREFIX.fullmatch(text):
            raise StoreError(f"no run {text!r} in {self.root} (give a run id or a prefix of one)")
        rows = [r["id"] for r in self._rows("SELECT id FROM runs WHERE id = ?", (text,))]
        if not rows:
            rows = [r["id"] for r in self._rows("SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY created",
                                                 (len(text), text))]
        if not rows:
            raise StoreError(f"no run {text!r} in {self.root}")
        if len(rows) > 1:
            raise StoreError(f"run id {text!r} is ambiguous in {self.root}: {', '.join(rows[:5])}")
        return check_run_id(rows[0])

    def run_dir(self, run_id: str) -> Path:
        return self.root / check_run_id(run_id)

    def get_run(self, run_id: str) -> dict[str, Any]:
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.root}")
        out = rows[0]
        try:
            for key in ("config", "axes", "views"):
                out[key] = json.loads(out[key])
        except (TypeError, ValueError):
            raise _damaged(self.index, f"run {run_id} has an unreadable {key}") from None
        return out

    def run_ids(self) -> list[str]:
        return [r["id"] for r in self._rows("SELECT id FROM runs ORDER BY created")]

    def sweep_runs(self, sweep_id: str) -> list[dict[str, Any]]:
        """``[{id, sweep_index, status}]`` of the runs a sweep started, by index."""
        return self._rows("SELECT id, sweep_index, status FROM runs WHERE sweep_id = ? ORDER BY sweep_index, created",
                          (sweep_id,))

    def get_sweep(self, id_or_prefix: str) -> dict[str, Any]:
        """A sweep's row (``spec`` decoded), by id or unique prefix (matched literally)."""
        text = str(id_or_prefix)
        if not text or not _PREFIX.fullmatch(text):
            raise StoreError(f"no sweep {text!r} in {self.root}")
        rows = self._rows("SELECT * FROM sweeps WHERE id = ?", (text,)) or \
            self._rows("SELECT * FROM sweeps WHERE substr(id, 1, ?) = ?", (len(text), text))
        if not rows:
            raise StoreError(f"no sweep {text!r} in {self.root}")
        if len(rows) > 1:
            raise StoreError(f"sweep id {text!r} is ambiguous: {', '.join(r['id'] for r in rows[:5])}")
        rec = rows[0]
        try:
            rec["spec"] = json.loads(rec["spec"])
        except ValueError:
            raise _damaged(self.index, f"sweep {rec['id']} has an unreadable spec") from None
        return rec

    def delete_run_rows(self, run_id: str) -> list[tuple[str, tuple]]:
        """The statements that drop a run's rows (for :func:`freqlens.runs.folder.ingest`, in its transaction)."""
        return [(f"DELETE FROM {t} WHERE {c} = ?", (run_id,)) for t, c in
                (("metrics", "run_id"), ("summaries", "run_id"), ("members", "run_id"), ("runs", "id"))]

    def list_runs(self):
        """DataFrame of the runs: id, experiment, family, status, created, wall_time, message, sweep_id."""
        import pandas as pd

        rows = self._rows("SELECT id, experiment, family, status, created, wall_time, message, sweep_id FROM runs "
                          "ORDER BY created")
        return pd.DataFrame(rows, columns=["id", "experiment", "family", "status", "created", "wall_time",
                                           "message", "sweep_id"])

    def set_status(self, run_id: str, status: str, *, message: str | None = None, wall_time: float | None = None,
                   pid: int | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        finished = time.time() if status != "running" else None
        self._write([("UPDATE runs SET status = ?, message = ?, finished = ?, wall_time = COALESCE(?, wall_time), "
                      "pid = COALESCE(?, pid) WHERE id = ?", (status, message, finished, wall_time, pid, run_id))])
        from freqlens.runs import folder

        folder.update_record(self.run_dir(run_id), status=status, message=message, wall_time=wall_time)

    def claim(self, run_id: str, *, allowed: tuple[str, ...] = ("running", "interrupted")) -> dict[str, Any]:
        """Atomically mark a run ``running`` by this process if its status is in ``allowed``; return the row as
        it was. (The caller holds the run's lock file, which is what keeps a second process out.)"""
        if self.readonly:
            raise StoreError(f"run store {self.root} was opened read-only")
        self._exec("BEGIN IMMEDIATE")
        try:
            row = self.get_run(run_id)
            if row["status"] not in allowed:
                self._exec("ROLLBACK")
                return row
            self._conn.execute("UPDATE runs SET status = 'running', pid = ?, message = NULL WHERE id = ?",
                               (os.getpid(), run_id))
            self._exec("COMMIT")
            from freqlens.runs import folder

            folder.update_record(self.run_dir(run_id), status="running", pid=os.getpid(), message=None)
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return row

    # -- members -------------------------------------------------------------------------------------------
    def members(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT member, label, seed, status, step, wall_time, overrides, info, message "
                          "FROM members WHERE run_id = ? ORDER BY member", (run_id,))
        for r in rows:
            r["overrides"], r["info"] = json.loads(r["overrides"]), json.loads(r["info"])
        return rows

    def update_member(self, run_id: str, member: int, *, status: str | None = None, step: int | None = None,
                      wall_time: float | None = None, info: dict | None = None, message: str | None = None) -> None:
        self._write([("UPDATE members SET status = COALESCE(?, status), step = COALESCE(?, step), "
                      "wall_time = COALESCE(?, wall_time), info = COALESCE(?, info), message = COALESCE(?, message) "
                      "WHERE run_id = ? AND member = ?",
                      (status, step, wall_time, None if info is None else json.dumps(info, sort_keys=True), message,
                       run_id, member))])

    # -- metrics and summaries -----------------------------------------------------------------------------
    def add_metrics(self, run_id: str, member: int, records: list[tuple[int, dict[str, dict[Any, float]]]]) -> None:
        """Append ``[(step, {name: {key: value}}), ...]`` measured for ``member`` (one transaction)."""
        rows = [(run_id, member, int(step), name, str(key), None if v is None else float(v))
                for step, values in records for name, kv in values.items() for key, v in kv.items()]
        if rows:
            self._write(many=("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows))

    def replace_member_records(self, run_id: str, member: int, after_step: int,
                               summaries: dict[str, dict[Any, Any]] | None = None) -> None:
        """Drop ``member``'s metrics after ``after_step`` (and its summaries) - what a resume re-measures."""
        self._write([("DELETE FROM metrics WHERE run_id = ? AND member = ? AND step > ?", (run_id, member, after_step)),
                     ("DELETE FROM summaries WHERE run_id = ? AND member = ?", (run_id, member))])
        if summaries:
            self.set_summaries(run_id, member, summaries)

    def metrics(self, run_id: str, name: str | None = None):
        """Long DataFrame with columns member, step, name, key, value."""
        return self._long("metrics", ["member", "step", "name", "key", "value"], run_id, name, "member, step, rowid")

    def set_summaries(self, run_id: str, member: int, summaries: dict[str, dict[Any, Any]]) -> None:
        rows = [(run_id, member, name, str(key), None if v is None else float(v))
                for name, kv in summaries.items() for key, v in kv.items()]
        self._write(many=("INSERT OR REPLACE INTO summaries VALUES (?, ?, ?, ?, ?)", rows))

    def summaries(self, run_id: str, name: str | None = None):
        """Long DataFrame with columns member, name, key, value (None where a summary has no value)."""
        return self._long("summaries", ["member", "name", "key", "value"], run_id, name, "member, rowid")

    def _long(self, table: str, columns: list[str], run_id: str, name: str | None, order: str):
        """The run's rows of ``table`` (all, or one ``name``) as a DataFrame of ``columns``."""
        import pandas as pd

        sql = f"SELECT {', '.join(columns)} FROM {table} WHERE run_id = ?"
        args: tuple[Any, ...] = (run_id,)
        if name is not None:
            sql += " AND name = ?"
            args += (name,)
        return pd.DataFrame(self._rows(f"{sql} ORDER BY {order}", args), columns=columns)
