import sqlite3

import numpy as np
import pytest

import freqlens
import freqlens.lab as lab
from freqlens.errors import StoreError
from freqlens.runs.store import RunStore


def test_round_trip(runs_dir):
    run = lab.run("fp1d", runs_dir=runs_dir, steps=200, eval_every=10, hidden=[32, 32], report=False)
    again = freqlens.load_run(run.id, runs_dir=runs_dir)
    by_path = freqlens.load_run(run.path)
    assert again.status == by_path.status == "finished"
    assert again.config == run.config and again.config["steps"] == 200
    assert list(again.delta_f.index) == list(range(0, 201, 10))
    assert list(again.delta_f.columns) == [1, 3, 5]
    ev = again.evals(0)
    assert ev["outputs"].shape == (21, 101)
    assert ev["output_dft"].shape == (21, 51)
    np.testing.assert_allclose(ev["output_dft"][-1], np.fft.fft(ev["outputs"][-1])[:51] / 101, atol=1e-6)
    # stored ΔF equals the ΔF recomputed from the stored outputs
    from freqlens.lab.monitors.frequency import FrequencyMonitor

    mon = FrequencyMonitor(ev["target"])
    np.testing.assert_allclose(mon.record(200, ev["outputs"][-1])["delta_f"], again.delta_f.loc[200], rtol=1e-5)
    assert (again.path / "member-00" / "final.pt").exists() and not (again.path / "member-00" / "checkpoint.pt").exists()
    # prefix lookup
    assert freqlens.load_run(run.id[:-2], runs_dir=runs_dir).id == run.id


def test_foreign_and_broken_directories(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"x")
    with pytest.raises(StoreError, match="not a freqlens runs directory"):
        RunStore(foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["cat.jpg"]  # untouched

    notdb = tmp_path / "notdb"
    notdb.mkdir()
    (notdb / "freqlens.sqlite").write_text("hello")
    with pytest.raises(StoreError, match="not an SQLite file"):
        RunStore(notdb)

    other = tmp_path / "other"
    other.mkdir()
    con = sqlite3.connect(other / "freqlens.sqlite")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = (other / "freqlens.sqlite").read_bytes()
    with pytest.raises(StoreError, match="not a usable freqlens run index|belongs to something else"):
        RunStore(other)
    assert (other / "freqlens.sqlite").read_bytes() == before  # someone else's database is left as it was

    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        RunStore(afile)
    with pytest.raises(StoreError, match="no runs directory"):
        RunStore(tmp_path / "missing", create=False)


def test_unknown_run(runs_dir):
    RunStore(runs_dir)
    with pytest.raises(StoreError, match="no run 'zzz'"):
        freqlens.load_run("zzz", runs_dir=runs_dir)


def test_env_var_sets_default(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLENS_RUNS_DIR", str(tmp_path / "envruns"))
    run = lab.run("fp1d", steps=20, eval_every=10, hidden=[8], report=False)
    assert run.path.parent == tmp_path / "envruns"


def test_bad_config_creates_nothing(runs_dir):
    with pytest.raises(freqlens.ConfigError):
        lab.run("fp1d", runs_dir=runs_dir, lr=-1)
    assert not runs_dir.exists()


def test_divergence_marks_failed_and_keeps_records(runs_dir):
    with pytest.raises(freqlens.DivergedError, match="diverged at step"):
        lab.run("fp1d", runs_dir=runs_dir, optimizer="sgd", lr=10.0, activation="relu", steps=300, report=False)
    store = RunStore(runs_dir, create=False)
    (rid,) = store.list_runs()["id"]
    run = freqlens.load_run(rid, runs_dir=runs_dir)
    assert run.status == "failed" and "diverged" in run.message
    assert len(run.delta_f) >= 1 and np.isfinite(run.delta_f.loc[0]).all()
    with pytest.raises(StoreError, match="failed"):
        lab.resume(rid, runs_dir=runs_dir)


def _open_store(path):
    store = RunStore(path)
    store.close()
    return True


def test_concurrent_first_use_of_a_runs_directory(tmp_path):
    """Several processes creating the same new runs directory at once all succeed (no half-made index)."""
    from concurrent.futures import ProcessPoolExecutor

    for i in range(3):
        target = tmp_path / f"runs{i}"
        with ProcessPoolExecutor(4) as pool:
            assert all(pool.map(_open_store, [target] * 8))
        con = sqlite3.connect(target / "freqlens.sqlite")
        from freqlens.runs.store import SCHEMA_VERSION

        assert dict(con.execute("SELECT key, value FROM meta")) == {"schema": "freqlens-runs",
                                                                     "version": str(SCHEMA_VERSION)}
        con.close()


def test_float64_on_request(runs_dir):
    import torch

    run = lab.run("fp1d", runs_dir=runs_dir, steps=30, eval_every=10, hidden=[8], dtype="float64", report=False)
    weights = torch.load(run.path / "member-00" / "final.pt")
    assert all(w.dtype == torch.float64 for w in weights.values())
    run32 = lab.run("fp1d", runs_dir=runs_dir, steps=30, eval_every=10, hidden=[8], report=False)
    w32 = torch.load(run32.path / "member-00" / "final.pt")
    assert all(w.dtype == torch.float32 for w in w32.values())
    # same seed, same initialisation: the two precisions agree closely but not bit for bit
    diff = max(float((weights[k] - w32[k].double()).abs().max()) for k in weights)
    assert 0 < diff < 1e-3


def test_resume_refuses_a_run_another_process_trains(runs_dir):
    """The run folder's lock, not a guess from a process id: held → refused; its holder gone → resumable."""
    import subprocess
    import sys
    import time

    run = lab.run("fp1d", runs_dir=runs_dir, steps=20, eval_every=10, hidden=[8], report=False)
    store = RunStore(runs_dir, create=False)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); print('held', flush=True); "
        "time.sleep(60)"), str(run.path / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        store._write([("UPDATE runs SET status = 'running' WHERE id = ?", (run.id,)),
                      ("UPDATE members SET status = 'running' WHERE run_id = ?", (run.id,))])
        with pytest.raises(StoreError, match=f"being trained by process {holder.pid}"):
            lab.resume(run.id, runs_dir=runs_dir, report=False)
        with pytest.raises(StoreError, match="being trained"):  # --force cannot break a live lock
            lab.resume(run.id, runs_dir=runs_dir, report=False, force=True)
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.05)
    resumed = lab.resume(run.id, runs_dir=runs_dir, report=False)  # status 'running', but nobody holds it
    assert resumed.status == "finished"
