"""Sweeps: expansion, bad files, local pool and Ray with identical results, a killed sweep completed without a
duplicate or a lost run, failed runs recorded while the sweep goes on, concurrent writers."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from freqlens.errors import ConfigError
from freqlens.lab.sweep import MAX_RUNS, plan, run_sweep
from freqlens.report.sweep import sweep_summary
from freqlens.runs.store import RunStore

from ..runs.conftest import cli, one_line

SMALL = {"steps": 300, "hidden": "16,16", "n_train": 32, "eval_every": 10, "checkpoint_every": 100}


def spec(**extra):
    return {"experiment": "fp1d", "name": "t", "set": dict(SMALL), "grid": {"activation": ["tanh", "relu"]},
            "seeds": 2, **extra}


def test_expansion_grid_times_runs_times_seeds():
    sp = plan({**spec(), "grid": {"activation": ["tanh", "relu"], "lr": [1e-3, 2e-4]},
               "runs": [{"init": "normal"}, {"init": "xavier"}], "seeds": 3})
    assert len(sp.runs) == 2 * 2 * 2 * 3
    assert [r["index"] for r in sp.runs] == list(range(24))
    first = sp.runs[0]["overrides"]
    assert first["activation"] == "tanh" and first["lr"] == 1e-3 and first["init"] == "normal"
    assert [r["seed"] for r in sp.runs[:3]] == [0, 1, 2] and all(r["overrides"]["seeds"] == 1 for r in sp.runs)
    assert plan(spec()).id == plan(spec()).id != plan(spec(seeds=3)).id  # the id is the plan's


@pytest.mark.parametrize("text, message", [
    ("experiment: [fp1d\n", "not valid YAML (line"),
    ("- just a list\n", "must hold a mapping"),
    ("experiment: nope\n", "sweep needs an experiment"),
    ("experiment: fp1d\ngrid: {}\n", "must not be empty"),
    ("experiment: fp1d\ngrid: {activation: []}\n", "must list at least one value"),
    ("experiment: fp1d\ngrid: {width: [1, 2]}\n", "unknown config key 'width'"),
    ("experiment: fp1d\nset: {lr: -1}\n", "lr must be"),
    ("experiment: fp1d\nseeds: 0\n", "seeds: must be an integer"),
    ("experiment: fp1d\ngrid: {seed: [1, 2]}\n", "seed is set by the sweep"),
    ("experiment: fp1d\nbackend: ray\n", "unknown sweep key 'backend'"),
    ("experiment: fp1d\ngrid: {lr: [0.001, 1.0e-3]}\n", "sweep plans the same run twice"),
    ("experiment: fp1d\nset: {steps: 20}\ngrid: {steps: [10]}\n", "steps is in set: and in grid:/runs:"),
    ("experiment: !!python/object/apply:os.system ['touch pwned']\n",
     "uses a YAML tag freqlens does not load (!!python/object/apply:os.system at line 1)"),
    ("experiment: fp1d\n!!python/object/apply:os.system ['touch pwned']: 1\n", "uses a YAML tag freqlens does not"),
])
def test_bad_sweep_files_are_one_line_and_start_nothing(tmp_path, text, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    line = one_line(cli("sweep", path, "--runs-dir", tmp_path / "runs"))
    assert message in line, line
    assert not (tmp_path / "runs").exists() and not (tmp_path / "pwned").exists()


def test_too_many_runs_need_yes_and_ray_addresses_are_checked(tmp_path):
    big = {**spec(), "seeds": MAX_RUNS}
    with pytest.raises(ConfigError, match=f"would launch {2 * MAX_RUNS} runs .*add --yes"):
        run_sweep(big, runs_dir=tmp_path / "runs", quiet=True)
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        run_sweep(spec(), runs_dir=tmp_path / "runs", backend="ray", address="127.0.0.1:1", quiet=True)
    assert not (tmp_path / "runs").exists()


def _table(runs_dir, sweep_id):
    store = RunStore(runs_dir, readonly=True)
    _, columns, rows, _ = sweep_summary(store, sweep_id)
    return columns, [r[:-1] for r in rows]  # without the wall time


def test_local_pool_serial_and_ray_give_identical_results(tmp_path):
    ids = {}
    for backend in ("local", "serial", "ray"):
        sp = run_sweep(spec(), runs_dir=tmp_path / backend, backend=backend, workers=2, quiet=True,
                       say=lambda s: None)
        ids[backend] = sp.id
        store = RunStore(tmp_path / backend, readonly=True)
        assert [r["status"] for r in store.sweep_runs(sp.id)] == ["finished"] * 4
    tables = {b: _table(tmp_path / b, ids[b]) for b in ids}
    assert tables["local"] == tables["serial"] == tables["ray"]
    import freqlens

    def delta_f(backend):  # every run's ΔF, by planned index: the numbers themselves, not only the summary
        rows = RunStore(tmp_path / backend, readonly=True).sweep_runs(ids[backend])
        return {r["sweep_index"]: freqlens.load_run(r["id"], runs_dir=tmp_path / backend).delta_f for r in rows}

    ref = delta_f("local")
    for backend in ("serial", "ray"):
        got = delta_f(backend)
        assert all(got[i].equals(ref[i]) for i in ref), backend


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    s = {**spec(), "grid": {"lr": [1e-3, 1e3]}, "set": {**SMALL, "optimizer": "sgd", "activation": "relu"},
         "seeds": 1}
    messages = []
    sp = run_sweep(s, runs_dir=tmp_path / "runs", backend="serial", quiet=True, say=messages.append)
    status = {r["sweep_index"]: r["status"] for r in RunStore(tmp_path / "runs", readonly=True).sweep_runs(sp.id)}
    assert status == {0: "finished", 1: "failed"}
    assert any("failed" in m and "diverged" in m for m in messages)


def test_a_killed_sweep_is_completed_by_running_it_again(tmp_path):
    """The driver and its workers are killed mid-way; the same command again resumes the unfinished runs from their
    checkpoints and starts the rest: one run per planned index, every one finished, no duplicated metric."""
    path = tmp_path / "sweep.yaml"
    path.write_text("experiment: fp1d\nname: kill\nset: {steps: 3000, hidden: '16,16', n_train: 32, "
                    "checkpoint_every: 200}\ngrid: {activation: [tanh, relu]}\nseeds: 3\n")
    runs = tmp_path / "runs"
    env = {**os.environ, "FREQLENS_RUNS_DIR": ""}
    proc = subprocess.Popen([sys.executable, "-m", "freqlens", "sweep", str(path), "--runs-dir", str(runs), "-q",
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list(runs.glob("*/member-00/checkpoint.pt")):
        time.sleep(0.05)
    assert list(runs.glob("*/member-00/checkpoint.pt")), "no run reached a checkpoint"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its pool
    proc.wait()
    store = RunStore(runs, readonly=True)
    sweep_id = store._rows("SELECT id FROM sweeps")[0]["id"]
    before = store.sweep_runs(sweep_id)
    assert any(r["status"] != "finished" for r in before) or len(before) < 6
    res = cli("sweep", path, "--runs-dir", runs, "-q", "--workers", "2", timeout=600)
    assert res.returncode == 0, res.stderr
    after = RunStore(runs, readonly=True).sweep_runs(sweep_id)
    assert sorted(r["sweep_index"] for r in after) == list(range(6))  # one run per index: none duplicated
    assert all(r["status"] == "finished" for r in after)
    resumed = {r["id"] for r in before} & {r["id"] for r in after}
    assert resumed  # the interrupted runs were resumed, not started again
    con = sqlite3.connect(runs / "freqlens.sqlite")
    dup = con.execute("SELECT count(*) FROM (SELECT run_id, member, step, name, key, count(*) c FROM metrics "
                      "GROUP BY 1, 2, 3, 4, 5 HAVING c > 1)").fetchone()[0]
    steps = con.execute("SELECT run_id, count(DISTINCT step) FROM metrics WHERE name = 'delta_f' "
                        "GROUP BY run_id").fetchall()
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    assert dup == 0 and ok == "ok" and all(n == 3000 // 10 + 1 for _, n in steps) and len(steps) == 6


def _train_two(runs_dir):
    import torch

    import freqlens.lab as lab

    torch.set_num_threads(1)
    return [lab.run("fp1d", runs_dir=runs_dir, report=False, quiet=True, **SMALL).id for _ in range(2)]


def test_concurrent_writers_never_corrupt_the_store(tmp_path):
    """Four processes training and writing metrics into one runs directory at once: every run is stored whole
    (status, every metric row, its summaries), no row is duplicated, and SQLite's integrity check passes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    runs_dir = tmp_path / "runs"
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        ids = [i for batch in pool.map(_train_two, [runs_dir] * 4) for i in batch]
    assert len(set(ids)) == 8
    con = sqlite3.connect(runs_dir / "freqlens.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = RunStore(runs_dir, readonly=True)
    assert sorted(store.list_runs()["id"]) == sorted(ids)
    counts = {rid: con.execute("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (rid,)).fetchone()[0] for rid in ids}
    assert len(set(counts.values())) == 1 and next(iter(counts.values())) > 0, counts
    dup = con.execute("SELECT COUNT(*) FROM (SELECT run_id, member, name, step, key FROM metrics "
                      "GROUP BY run_id, member, name, step, key HAVING COUNT(*) > 1)").fetchone()[0]
    assert dup == 0
    import freqlens

    runs = [freqlens.load_run(rid, runs_dir=runs_dir) for rid in ids]
    assert all(r.status == "finished" for r in runs)
    assert all(r.delta_f.equals(runs[0].delta_f) for r in runs)  # same config and seed: the same numbers


def test_ray_addresses_are_parsed_and_probed_before_ray_init(tmp_path):
    """Only a Ray head passes the probe: a plain HTTP server is refused in seconds, one line (ray.init would retry
    for ~20 s and log a line a second, or hang); a real local Ray head passes."""
    import http.server
    import threading

    from freqlens.lab.sweep import _check_reachable, parse_address

    assert parse_address("[::1]:6379") == ("::1", 6379) and parse_address("ray://h:10001") == ("h", 10001)
    for bad, msg in (("10.0.0.1:99999", "port must be between 1 and 65535"), ("nohost", "must be host:port")):
        with pytest.raises(ConfigError, match=msg):
            parse_address(bad)
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t0 = time.perf_counter()
        with pytest.raises(ConfigError, match="is not a Ray cluster"):
            _check_reachable(f"127.0.0.1:{server.server_address[1]}")
        assert time.perf_counter() - t0 < 10
    finally:
        server.shutdown()
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'freqlens[ray]')")
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, log_to_driver=False)
    try:
        _check_reachable(ray.get_runtime_context().gcs_address)  # a real head passes
    finally:
        if started:
            ray.shutdown()
    (tmp_path / "s.yaml").write_text("experiment: fp1d\nset: {steps: 20}\n")
    res = cli("sweep", tmp_path / "s.yaml", "--backend", "local", "--address", "1.2.3.4:5", "--runs-dir",
              tmp_path / "r")
    assert "needs --backend ray" in one_line(res) and not (tmp_path / "r").exists()
    res = cli("sweep", tmp_path / "s.yaml", "--workers", "0", "--runs-dir", tmp_path / "r")
    assert "workers must be between 1 and" in one_line(res)


def test_a_classification_sweep_reports_both_methods(tmp_path):
    """A sweep over the classify family: the table has the projection's tracked k and, per δ, the filtering
    method's e_low / e_high steps."""
    s = {"experiment": "fp-digits", "name": "cls", "set": {"steps": 4, "deltas": [5.0, 10.0], "subset": 300,
                                                           "test_subset": 100, "monitors": ["projection", "filtering"]},
         "grid": {"hidden": ["50", "100"]}}
    sp = run_sweep(s, runs_dir=tmp_path, backend="serial", quiet=True, say=lambda m: None)
    store = RunStore(tmp_path, readonly=True)
    _, columns, rows, _ = sweep_summary(store, sp.id)
    assert columns[-3:] == ["δ=5 e_low / e_high", "δ=10 e_low / e_high", "train s / run"]
    assert any(c.startswith("k=0.") and len(c) <= 8 for c in columns)  # k formatted, not a float's repr
    assert all(" / " in cell for row in rows for cell in row[-3:-1])
