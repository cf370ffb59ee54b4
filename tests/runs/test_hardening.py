"""The run store and the lab keep their promise against faults and hostile files: one line, exit 2, nothing stored
touched; a killed run resumes to the same result. (Issue: harden the run store and the lab.)"""

import os
import pickle
import shutil
import signal
import sqlite3
import sys
import time

import numpy as np
import pytest
import torch

import freqlens
import freqlens.lab as lab
from freqlens.errors import StoreError
from freqlens.runs.store import RunStore

from .conftest import SMALL, cli, interrupt_run, one_line, snapshot, start_cli, wait_for


class Evil:
    """Unpickling this runs a shell command (what a crafted checkpoint does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# -- 6. SIGTERM -------------------------------------------------------------------------------------------------
def test_sigterm_marks_the_run_interrupted_and_exits_143(tmp_path):
    runs = tmp_path / "runs"
    proc, rid = interrupt_run(runs, sig=signal.SIGTERM)
    err = proc.stderr.read()
    assert proc.returncode == 143, err
    assert f"freqlens resume {rid}" in err and "Traceback" not in err
    row = RunStore(runs, readonly=True).get_run(rid)
    assert row["status"] == "interrupted" and "SIGTERM" in row["message"]
    res = cli("resume", rid, "--runs-dir", runs, "-q")
    assert res.returncode == 0, res.stderr
    assert freqlens.load_run(rid, runs_dir=runs).status == "finished"


# -- 1. untrusted files never execute code ----------------------------------------------------------------------
@pytest.fixture
def interrupted(tmp_path):
    runs = tmp_path / "runs"
    _, rid = interrupt_run(runs, sig=signal.SIGINT)
    return runs, rid


def test_a_crafted_checkpoint_is_refused_and_runs_nothing(interrupted, tmp_path):
    runs, rid = interrupted
    ckpt = runs / rid / "member-00" / "checkpoint.pt"
    marker = tmp_path / "pwned"
    for payload in (pickle.dumps(Evil(marker)),  # a bare pickle
                    None,  # torch.save's zip format around the same object
                    b"\x00garbage" * 100):  # not a checkpoint at all
        if payload is None:
            torch.save({"step": 100, "model": Evil(marker)}, ckpt)
        else:
            ckpt.write_bytes(payload)
        line = one_line(cli("resume", rid, "--runs-dir", runs))
        assert str(ckpt) in line and "not a valid freqlens checkpoint" in line, line
        assert not marker.exists()
    with pytest.raises(StoreError, match="not a valid freqlens checkpoint"):
        lab.resume(rid, runs_dir=runs, report=False)
    assert not marker.exists()


def test_crafted_arrays_are_refused_without_pickle_advice(tmp_path):
    runs = tmp_path / "runs"
    run = lab.run("fp1d", runs_dir=runs, steps=40, hidden=[8], report=False)
    evals = run.path / "member-00" / "evals.npz"
    np.savez(evals, outputs=np.array([Evil(tmp_path / "x")], dtype=object))  # an object array: pickled
    line = one_line(cli("report", run.id, "--runs-dir", runs))
    assert str(evals) in line and "Python objects" in line and "allow_pickle" not in line
    with pytest.raises(StoreError, match="holds Python objects"):
        freqlens.load_run(run.id, runs_dir=runs).evals(0)
    evals.write_bytes(b"PK\x03\x04 not really a zip")
    line = one_line(cli("report", run.id, "--runs-dir", runs))
    assert str(evals) in line and "not a valid arrays file" in line
    assert not (tmp_path / "x").exists()


# -- 2. resume never reports wrong numbers ----------------------------------------------------------------------
def test_resume_is_exact_without_evals_or_with_stale_ones(tmp_path):
    args = ["--set", "steps=1200", "--set", "checkpoint_every=200", *SMALL]
    ref_dir = tmp_path / "ref"
    assert cli("run", "fp1d", "--runs-dir", ref_dir, *args).returncode == 0
    ref = freqlens.load_run(RunStore(ref_dir, readonly=True).run_ids()[0], runs_dir=ref_dir)

    for case in ("missing", "stale"):
        runs = tmp_path / case
        proc = start_cli("run", "fp1d", "--runs-dir", runs, *args)
        ckpt = wait_for(runs, "*/member-00/checkpoint.pt", proc)
        member = ckpt.parent
        stale = (member / "evals.npz").read_bytes()  # the arrays as of the first checkpoint
        first = torch.load(ckpt, weights_only=True)["step"]
        while proc.poll() is None and torch.load(ckpt, weights_only=True)["step"] == first:
            time.sleep(0.01)  # until a later checkpoint
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if case == "missing":
            (member / "evals.npz").unlink()
            (member / "metrics.npz").unlink()
        else:
            (member / "evals.npz").write_bytes(stale)
        rid = member.parent.name
        store = RunStore(runs)  # and the index loses the member's rows too
        store._write([("DELETE FROM metrics WHERE run_id = ?", (rid,))])
        store.close()
        res = cli("resume", rid, "--runs-dir", runs, "-q")
        assert res.returncode == 0, res.stderr
        got = freqlens.load_run(rid, runs_dir=runs)
        assert got.delta_f.equals(ref.delta_f) and got.loss.equals(ref.loss), case
        assert got.convergence_steps == ref.convergence_steps
        np.testing.assert_array_equal(got.evals(0)["delta_f"], ref.evals(0)["delta_f"])


def test_a_v1_checkpoint_whose_arrays_are_missing_is_refused(tmp_path):
    from pathlib import Path

    runs = tmp_path / "runs"
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "store_v1", runs)
    (rid,) = [r for r in RunStore(runs, readonly=True).run_ids()
              if RunStore(runs, readonly=True).get_run(r)["status"] == "interrupted"]
    (runs / rid / "member-00" / "evals.npz").unlink()
    line = one_line(cli("resume", rid, "--runs-dir", runs))
    assert "evals.npz is missing or behind its checkpoint" in line and "cannot be resumed exactly" in line
    assert RunStore(runs, readonly=True).get_run(rid)["status"] == "interrupted"  # not marked finished


# -- 3. size guards, up front -----------------------------------------------------------------------------------
@pytest.mark.parametrize("setting, message", [
    ("n_train=100000000", "of memory"),
    ("hidden=100000,100000", "of memory"),
    ("n_eval=1e12", "n_eval must be an integer <= 1000000000"),
    ("n_eval=100000000", "of memory"),
    ("threads=1e6", "threads must be between 0"),
    ("seed=1e30", "seed must be an integer <="),
    ("steps=1e30", "steps must be an integer <= 1000000000"),
    ("steps=1e9", "of memory"),
    ("steps=2.5", "steps expects an integer"),
    ("seeds=1e5", "seeds must be an integer <= 10000"),
])
def test_oversized_or_non_integral_configs_are_refused_before_anything_exists(tmp_path, setting, message):
    runs = tmp_path / "runs"
    line = one_line(cli("run", "fp1d", "--runs-dir", runs, "--set", setting, "-q"))
    assert message in line, line
    assert not runs.exists()


def test_memory_refusal_names_the_figures(tmp_path):
    line = one_line(cli("run", "fp1d", "--runs-dir", tmp_path / "r", "--set", "hidden=100000,100000"))
    assert "GiB of memory" in line and "1-100000-100000-1 network" in line and "are available" in line


# -- 4. the index is never silently rebuilt or half-written -----------------------------------------------------
@pytest.fixture
def two_runs(tmp_path):
    runs = tmp_path / "runs"
    a = lab.run("fp1d", runs_dir=runs, steps=200, hidden=[16], report=False)
    b = lab.run("fp1d-freq-sweep", runs_dir=runs, steps=100, hidden=[8], n_train=32, sweep_values=[1, 2],
                report=False)
    return runs, [a, b]


def test_a_zero_byte_index_is_refused_by_every_command_and_rebuilt_on_request(two_runs):
    runs, (a, b) = two_runs
    index = runs / "freqlens.sqlite"
    for f in runs.glob("freqlens.sqlite*"):
        f.unlink()
    index.write_bytes(b"")
    before = snapshot(runs)
    for args in (["list"], ["show", a.id], ["report", a.id], ["run", "fp1d", "-q"], ["resume", a.id]):
        line = one_line(cli(*args, "--runs-dir", runs))
        assert "is empty (0 bytes)" in line and "rebuild-index" in line, (args, line)
    assert index.stat().st_size == 0 and snapshot(runs) == before  # nothing created, nothing touched
    res = cli("rebuild-index", "--runs-dir", runs)
    assert res.returncode == 0 and "rebuilt the index with 2 run(s)" in res.stdout, res.stderr
    for old in (a, b):
        new = freqlens.load_run(old.id, runs_dir=runs)
        assert new.status == "finished" and new.config == old.config
        assert new.delta_f.equals(old.delta_f) and new.convergence_steps == old.convergence_steps
        assert new.views == old.views
    line = one_line(cli("rebuild-index", "--runs-dir", runs))
    assert "healthy" in line


def test_a_damaged_index_is_refused_untouched_and_rebuilt(two_runs):
    runs, (a, b) = two_runs
    store = RunStore(runs)
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    index = runs / "freqlens.sqlite"
    data = bytearray(index.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page:4 * page] = os.urandom(2 * page)  # damage two pages of tables
    index.write_bytes(bytes(data))
    before = index.read_bytes()
    t = time.time()
    line = one_line(cli("run", "fp1d", "--runs-dir", runs, "--set", "steps=100000", "-q"))
    assert "damaged" in line and "rebuild-index" in line and time.time() - t < 60
    assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == sorted([a.id, b.id])  # no new run folder
    for args in (["list"], ["show", a.id]):
        res = cli(*args, "--runs-dir", runs)
        if res.returncode != 0:  # a reader that meets the damage says so in one line
            assert "damaged" in one_line(res)
    assert index.read_bytes() == before
    res = cli("rebuild-index", "--runs-dir", runs)
    assert res.returncode == 0, res.stderr
    assert "kept the old index file" in res.stdout
    assert any(p.name.startswith(".freqlens.sqlite.replaced-") for p in runs.iterdir())
    assert freqlens.load_run(a.id, runs_dir=runs).delta_f.equals(a.delta_f)


def test_read_only_commands_never_write_the_index(two_runs):
    runs, (a, _) = two_runs
    before = (runs / "freqlens.sqlite").read_bytes()
    for args in (["list"], ["show", a.id], ["report", a.id]):
        assert cli(*args, "--runs-dir", runs).returncode == 0
    assert (runs / "freqlens.sqlite").read_bytes() == before


# -- 5. one process per run -------------------------------------------------------------------------------------
def test_two_resumes_started_together_train_the_run_once(tmp_path):
    runs = tmp_path / "runs"
    _, rid = interrupt_run(runs, sig=signal.SIGKILL, steps=20000)
    procs = [start_cli("resume", rid, "--runs-dir", runs, "-q") for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "being trained by process" in loser or "already finished" in loser, loser
    con = sqlite3.connect(runs / "freqlens.sqlite")
    dup = con.execute("SELECT count(*) FROM (SELECT member, step, name, key, count(*) c FROM metrics "
                      "WHERE run_id = ? GROUP BY 1, 2, 3, 4 HAVING c > 1)", (rid,)).fetchone()[0]
    n = con.execute("SELECT count(DISTINCT step) FROM metrics WHERE run_id = ?", (rid,)).fetchone()[0]
    con.close()
    assert dup == 0 and n == 20000 // 10 + 1


# -- 7. run ids are exact ---------------------------------------------------------------------------------------
def test_run_ids_and_prefixes_are_matched_literally_and_validated(two_runs):
    runs, (a, b) = two_runs
    for bad in ("", ".", "_", "%", "FP1D", a.id.upper(), "fp1d_", "../x"):
        line = one_line(cli("show", bad, "--runs-dir", runs))
        assert "no run" in line, (bad, line)
    assert "ambiguous" in one_line(cli("show", "fp1d", "--runs-dir", runs))
    assert cli("show", a.id[:-1], "--runs-dir", runs).returncode == 0
    # an index row whose id is a path is never used as one
    con = sqlite3.connect(runs / "freqlens.sqlite")
    con.execute("UPDATE runs SET id = 'fp1d-../../../tmp/evil' WHERE id = ?", (b.id,))
    con.commit()
    con.close()
    line = one_line(cli("show", "fp1d-.", "--runs-dir", runs))
    assert "no run" in line
    with pytest.raises(StoreError, match="is not a run id"):
        RunStore(runs, readonly=True).run_dir("fp1d-../../../tmp/evil")


# -- 8. no partial output ---------------------------------------------------------------------------------------
def test_a_failing_report_leaves_the_previous_one_and_never_recreates_a_folder(tmp_path, monkeypatch):
    from freqlens.report import build_report
    from freqlens.report import figures

    run = lab.run("fp1d", runs_dir=tmp_path / "runs", steps=60, hidden=[8])
    before = snapshot(run.path)

    def broken(run, view):
        raise RuntimeError("renderer failed half-way")

    monkeypatch.setitem(figures.RENDERERS, "heatmap", broken)
    with pytest.raises(RuntimeError, match="half-way"):
        build_report(freqlens.load_run(run.id, runs_dir=tmp_path / "runs"))
    assert snapshot(run.path) == before
    monkeypatch.undo()
    shutil.rmtree(run.path)
    line = one_line(cli("report", run.id, "--runs-dir", tmp_path / "runs"))
    assert "has no folder" in line and not run.path.exists()


# -- 14. notebooks ----------------------------------------------------------------------------------------------
def test_runs_and_monitors_show_themselves_in_a_notebook(tmp_path):
    import re

    from freqlens.lab import FrequencyMonitor
    from freqlens.spectrum import periodic_grid

    run = lab.run("fp1d", runs_dir=tmp_path / "runs", steps=200, hidden=[16], report=False)
    page = freqlens.load_run(run.id, runs_dir=tmp_path / "runs")._repr_html_()
    assert run.id in page and "finished" in page and "k=1" in page
    assert re.search(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)
    x = periodic_grid(64)
    mon = FrequencyMonitor(np.sin(x) + np.sin(3 * x), hold=1)
    assert "0 record(s)" in mon._repr_html_()
    for step in range(3):
        mon.record(step, np.sin(x) + step / 2 * np.sin(3 * x))
    page = mon._repr_html_()
    assert "<td>k=1</td><td>0</td>" in page and "<td>k=3</td><td>2</td>" in page and "data:image/png" in page

