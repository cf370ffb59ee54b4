"""Shared helpers of the run-store tests: the CLI in a subprocess, an interrupted run, a store snapshot."""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

SMALL = ["--set", "hidden=16,16", "--set", "n_train=32", "--set", "eval_every=10", "-q", "--no-report"]


def cli(*args, timeout=300, **kw):
    """``python -m freqlens ARGS`` in a subprocess (the real entry point): CompletedProcess with text output."""
    env = {**os.environ, "FREQLENS_RUNS_DIR": ""}
    return subprocess.run([sys.executable, "-m", "freqlens", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, **kw)


def _default_sigint():
    # a test suite started in the background (`pytest &` in a script) inherits SIGINT ignored, and Python then
    # leaves it ignored: give the child the default, so Ctrl-C tests see what a terminal user sees
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args):
    env = {**os.environ, "FREQLENS_RUNS_DIR": ""}
    return subprocess.Popen([sys.executable, "-m", "freqlens", *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def wait_for(pattern_dir, pattern, proc, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        found = list(pattern_dir.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"{pattern} did not appear (process ended: {proc.poll()}, {proc.stderr.read()[-500:]})")


def interrupt_run(runs_dir, *extra, sig=signal.SIGTERM, after="*/member-00/checkpoint.pt", steps=20000):
    """Start ``freqlens run fp1d`` (small), stop it with ``sig`` once ``after`` exists; return (proc, run_id).
    ``steps`` is large enough that the run cannot finish before the signal arrives on a fast idle machine."""
    proc = start_cli("run", "fp1d", "--runs-dir", runs_dir, "--set", f"steps={steps}", "--set", "checkpoint_every=100",
                     *SMALL, *extra)
    wait_for(runs_dir, after, proc)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    (run_id,) = [p.name for p in runs_dir.iterdir() if p.is_dir()]
    return proc, run_id


def one_line(res, code=2):
    """The process ended with ``code`` and said one line on stderr, no traceback; return that line."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code, (res.returncode, res.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    return lines[0]


def snapshot(folder):
    """Hash of every file under a folder; the index by its logical content (SQLite may checkpoint its
    write-ahead log into the main file without changing what it holds)."""
    h = {}
    for root, _, names in os.walk(folder):
        for f in names:
            p = os.path.join(root, f)
            if f.endswith(("-wal", "-shm")):
                continue
            if f == "freqlens.sqlite" and os.path.getsize(p) > 0:
                con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
                try:
                    h[p] = "\n".join(con.iterdump())
                except sqlite3.DatabaseError:
                    h[p] = hashlib.sha256(open(p, "rb").read()).hexdigest()
                con.close()
            else:
                h[p] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return h


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("FREQLENS_RUNS_DIR", raising=False)
