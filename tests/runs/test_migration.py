"""A runs directory written by freqlens 0.1 (index schema v1; tests/fixtures/store_v1, written by commit 862800b)
is read by every command without being written, migrated in place by the first writer (a backup kept), and its
interrupted run resumes to the uninterrupted result."""

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch

import freqlens
import freqlens.lab as lab
from freqlens.lab.monitors.base import convergence_step
from freqlens.report import build_report
from freqlens.runs.migrate import v1_views
from freqlens.runs.store import INDEX_NAME, SCHEMA_VERSION, RunStore

from .conftest import cli

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v1"


@pytest.fixture
def v1(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(FIXTURE, runs)
    return runs


def schema_version(path) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])
    finally:
        con.close()


def test_readers_see_every_v1_run_and_never_write(v1, tmp_path):
    index = v1 / INDEX_NAME
    before = index.read_bytes()
    assert schema_version(index) == 1
    store = RunStore(v1, readonly=True)
    ids = store.run_ids()
    assert len(ids) == 5
    statuses = sorted(store.get_run(r)["status"] for r in ids)
    assert statuses == ["finished"] * 4 + ["interrupted"]
    for rid in ids:
        run = freqlens.load_run(rid, runs_dir=v1)
        assert run.family == "fp1d" and run.unit == "step"
        assert run.views == v1_views(run.config.get("sweep", "none"))
        for m in run.members.itertuples():
            ev = run.evals(m.member)
            per_seed = run.delta_f_seeds()
            cols = [c for c in per_seed.columns if c[0] == m.label and c[1] == m.seed]
            stored = per_seed[cols].dropna().to_numpy()
            n = min(len(stored), len(ev["delta_f"]))  # an interrupted run's index may run ahead of its arrays
            assert n >= 10
            np.testing.assert_array_equal(stored[:n], ev["delta_f"][:n])  # index and arrays agree
            if m.status == "finished":
                conv = run.convergence
                conv = conv[conv["member"] == m.member]
                cfg = run.config
                for k, step in zip(conv["k"], conv["step"]):
                    j = list(ev["freqs"]).index(k)
                    want = convergence_step(ev["steps"], ev["delta_f"][:, j], cfg["threshold"], cfg["hold"])
                    assert (None if np.isnan(step) else int(step)) == want
        if run.status == "finished":
            out = tmp_path / "reports" / rid
            out.mkdir(parents=True)
            assert build_report(run, out).exists()
    for args in (["list"], ["show", ids[0]], ["report", ids[0], "-o", tmp_path]):
        res = cli(*args, "--runs-dir", v1)
        assert res.returncode == 0, res.stderr
    assert index.read_bytes() == before and schema_version(index) == 1


def test_a_writer_migrates_in_place_and_keeps_a_backup(v1):
    readers_view = {rid: freqlens.load_run(rid, runs_dir=v1) for rid in RunStore(v1, readonly=True).run_ids()}
    frames = {rid: (r.delta_f, r.convergence_steps, r.loss) for rid, r in readers_view.items()}
    lab.run("fp1d", runs_dir=v1, steps=20, hidden=[8], report=False)
    assert schema_version(v1 / INDEX_NAME) == SCHEMA_VERSION
    backup = v1 / f"{INDEX_NAME}.v1.bak"
    assert backup.exists() and schema_version(backup) == 1
    con = sqlite3.connect(v1 / INDEX_NAME)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert "convergence" not in tables and {"summaries", "sweeps"} <= tables
    for rid, (df, conv, loss) in frames.items():
        run = freqlens.load_run(rid, runs_dir=v1)
        assert run.delta_f.equals(df) and run.convergence_steps == conv and run.loss.equals(loss)


def test_the_interrupted_v1_run_resumes_to_the_uninterrupted_result(v1, tmp_path):
    store = RunStore(v1, readonly=True)
    (rid,) = [r for r in store.run_ids() if store.get_run(r)["status"] == "interrupted"]
    cfg = store.get_run(rid)["config"]
    resumed = lab.resume(rid, runs_dir=v1, report=False)
    assert resumed.status == "finished"
    overrides = {k: cfg[k] for k in ("steps", "checkpoint_every", "hidden", "n_train", "eval_every")}
    ref = lab.run("fp1d", runs_dir=tmp_path / "ref", report=False, **overrides)
    assert resumed.delta_f.equals(ref.delta_f) and resumed.loss.equals(ref.loss)
    assert resumed.convergence_steps == ref.convergence_steps
    w_ref = torch.load(ref.path / "member-00" / "final.pt", weights_only=True)
    w_res = torch.load(resumed.path / "member-00" / "final.pt", weights_only=True)
    assert all(torch.equal(w_ref[k], w_res[k]) for k in w_ref)
