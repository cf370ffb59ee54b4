"""The index schema, and the migration of older indexes (never broken, never rewritten by a read).

Schema history:

- v1 (freqlens 0.1, the 1-D lab): runs, members (with the tracked ``freqs``), metrics, and a ``convergence`` table
  keyed by integer frequency. Every v1 run is a 1-D frequency run (family ``fp1d``).
- v2 (the lab's seam): the run row knows its family, step unit, metric axes and report views, and its sweep;
  members keep their variant overrides and a JSON ``info``; ``summaries`` (name, key, value per member) replace
  ``convergence``; a ``sweeps`` table.

A migration is a snapshot in time: the views given to v1 runs below are what the 1-D family declared when v2 was
introduced, written out here as data (the store never imports the lab).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

CURRENT = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, experiment TEXT NOT NULL, family TEXT NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL, wall_time REAL, pid INTEGER,
    message TEXT, version TEXT, unit TEXT NOT NULL DEFAULT 'step', axes TEXT NOT NULL DEFAULT '{}',
    views TEXT NOT NULL DEFAULT '[]', sweep_id TEXT, sweep_index INTEGER
);
CREATE TABLE IF NOT EXISTS members (
    run_id TEXT NOT NULL, member INTEGER NOT NULL, label TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 0, wall_time REAL NOT NULL DEFAULT 0,
    overrides TEXT NOT NULL DEFAULT '{}', info TEXT NOT NULL DEFAULT '{}', message TEXT,
    PRIMARY KEY (run_id, member)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, member INTEGER NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL,
    key TEXT NOT NULL, value REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics (run_id, name, member, step);
CREATE TABLE IF NOT EXISTS summaries (
    run_id TEXT NOT NULL, member INTEGER NOT NULL, name TEXT NOT NULL, key TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, member, name, key)
);
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY, spec TEXT NOT NULL, created REAL NOT NULL, status TEXT NOT NULL, message TEXT
);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs (sweep_id);
"""

# What the 1-D family declared when schema v2 was introduced (see the module docstring).
V1_AXES = {"loss": "", "delta_f": "k", "delta_f_mag": "k"}


def v1_views(sweep: str) -> list[dict]:
    """The report views of a v1 run (``sweep`` is its config's ``sweep``: none, freq or amp)."""
    dfl = "ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k|"
    views = [
        {"kind": "curves", "name": "loss", "metric": "loss", "title": "Training loss", "short": "loss",
         "ylabel": "training loss (MSE)", "log": True, "by": "member"},
        {"kind": "line_snapshots", "name": "outputs", "file": "evals.npz", "x": "x", "y": "outputs", "ref": "target",
         "points": "x_train", "at": "convergence_step",
         "title": "Target and network output at the start, at each tracked frequency's convergence step, and at "
                  "the end"},
        {"kind": "spectrum_snapshots", "name": "spectra", "file": "evals.npz", "y": "outputs", "ref": "target",
         "keys": "freqs", "at": "convergence_step",
         "title": "|DFT| of the output against the target's at the same steps (log scale)"},
        {"kind": "heatmap", "name": "heatmap", "metric": "delta_f", "axis": "k", "clip": [0.1, 1.0],
         "marks": "convergence_step", "title": "ΔF per tracked frequency over training", "label": dfl,
         "colorbar": "ΔF", "sweep_name": f"{sweep} sweep", "metric_label": "ΔF"},
        {"kind": "curves", "name": "delta_f", "metric": "delta_f", "axis": "k", "log": True, "threshold": "threshold",
         "title": "ΔF curves on a log scale, with the convergence threshold", "short": "ΔF per tracked frequency",
         "ylabel": dfl, "by": "key", "skip_in_sweep": [1]},
        {"kind": "summary", "name": "convergence", "summary": "convergence_step", "axis": "k",
         "title": "Convergence step per frequency (spread across seeds)", "short": "convergence step per frequency"},
    ]
    if sweep in ("freq", "amp"):
        views[-1].update(kind="sweep_summary", sweep=sweep)
    return views


def create(conn: sqlite3.Connection, schema_name: str) -> None:
    """Create the current schema in an empty database (inside the caller's transaction)."""
    for stmt in filter(str.strip, SCHEMA.split(";")):
        conn.execute(stmt)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema", schema_name), ("version", str(CURRENT))])


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring ``conn`` from schema ``version`` to the current one, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version == 1:
            _v1_to_v2(conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(CURRENT),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def upgrade_file(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Migrate the index file in place after copying it to ``<index>.v<version>.bak`` (kept)."""
    backup = path.with_name(f"{path.name}.v{version}.bak")
    if not backup.exists():
        tmp = backup.with_name(backup.name + ".tmp")
        dst = sqlite3.connect(tmp)
        conn.backup(dst)
        dst.close()
        os.replace(tmp, backup)
    upgrade(conn, version)


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE runs RENAME TO runs_v1")
    conn.execute("ALTER TABLE members RENAME TO members_v1")
    conn.execute("DROP INDEX IF EXISTS metrics_run")
    for stmt in filter(str.strip, SCHEMA.split(";")):
        conn.execute(stmt)
    runs = conn.execute("SELECT id, experiment, config, status, created, started, finished, wall_time, pid, message, "
                        "version FROM runs_v1").fetchall()
    for row in runs:
        config = json.loads(row[2])
        conn.execute("INSERT INTO runs (id, experiment, family, config, status, created, started, finished, "
                     "wall_time, pid, message, version, unit, axes, views) VALUES (?, ?, 'fp1d', ?, ?, ?, ?, ?, ?, ?, "
                     "?, ?, 'step', ?, ?)",
                     (*row[:11], json.dumps(V1_AXES), json.dumps(v1_views(config.get("sweep", "none")))))
    for run_id, member, label, seed, status, step, wall, freqs in conn.execute(
            "SELECT run_id, member, label, seed, status, step, wall_time, freqs FROM members_v1").fetchall():
        conn.execute("INSERT INTO members (run_id, member, label, seed, status, step, wall_time, info) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (run_id, member, label, seed, status, step, wall, json.dumps({"freqs": json.loads(freqs)})))
    conn.execute("INSERT INTO summaries SELECT run_id, member, 'convergence_step', CAST(freq AS TEXT), step "
                 "FROM convergence")
    conn.execute("DROP TABLE runs_v1")
    conn.execute("DROP TABLE members_v1")
    conn.execute("DROP TABLE convergence")
