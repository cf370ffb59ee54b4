"""A run killed with SIGKILL keeps what it checkpointed; `freqlens resume` completes it exactly."""

import os
import signal
import subprocess
import sys
import time

import torch

import freqlens
from freqlens.runs.store import RunStore

ARGS = ["--set", "steps=2400", "--set", "checkpoint_every=200", "--set", "hidden=48,48", "--set", "eval_every=10",
        "--quiet", "--no-report"]


def _cli(*args, **kw):
    env = {**os.environ, "FREQLENS_RUNS_DIR": ""}
    return subprocess.run([sys.executable, "-m", "freqlens", *args], capture_output=True, text=True, env=env, **kw)


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "killed"
    assert _cli("run", "fp1d", "--runs-dir", str(ref_dir), *ARGS).returncode == 0

    env = {**os.environ, "FREQLENS_RUNS_DIR": ""}
    proc = subprocess.Popen([sys.executable, "-m", "freqlens", "run", "fp1d", "--runs-dir", str(kill_dir), *ARGS],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    ckpt = None
    while time.time() < deadline and proc.poll() is None:
        found = list(kill_dir.glob("*/member-00/checkpoint.pt"))
        if found:
            ckpt = found[0]
            time.sleep(0.05)
            break
        time.sleep(0.01)
    assert ckpt is not None, "no checkpoint appeared"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    store = RunStore(kill_dir, create=False)
    (rid,) = store.list_runs()["id"]
    assert store.get_run(rid)["status"] == "running"  # killed mid-run: nobody could mark it
    saved = torch.load(ckpt, weights_only=False)["step"]
    recorded = store.metrics(rid, "delta_f")["step"]
    assert recorded.max() >= saved - 10  # everything up to the checkpoint is kept
    assert saved < 2400

    res = _cli("resume", rid, "--runs-dir", str(kill_dir), "--quiet")
    assert res.returncode == 0, res.stderr
    resumed = freqlens.load_run(rid, runs_dir=kill_dir)
    (ref_id,) = RunStore(ref_dir, create=False).list_runs()["id"]
    ref = freqlens.load_run(ref_id, runs_dir=ref_dir)
    assert resumed.status == "finished"

    w_ref = torch.load(ref.path / "member-00" / "final.pt")
    w_res = torch.load(resumed.path / "member-00" / "final.pt")
    assert all(torch.equal(w_ref[k], w_res[k]) for k in w_ref)
    assert resumed.delta_f.equals(ref.delta_f)
    assert resumed.loss.equals(ref.loss)
    assert resumed.convergence_steps == ref.convergence_steps
    assert len(resumed.delta_f) == 241  # no duplicated or missing evaluations

    again = _cli("resume", rid, "--runs-dir", str(kill_dir))
    assert again.returncode == 2 and "already finished" in again.stderr
