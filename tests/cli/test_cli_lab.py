"""The lab CLI: commands work, and every bad input is one line on stderr, exit code 2, nothing stored touched."""

import os
import subprocess
import sys

import pytest

from freqlens.cli import main

from ..runs.conftest import snapshot

SMALL = ["--set", "steps=60", "--set", "eval_every=10", "--set", "hidden=16,16", "--quiet"]


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """One stored run shared by the tests that only read it (bad input must leave it untouched)."""
    import freqlens.lab as lab

    runs_dir = tmp_path_factory.mktemp("cli") / "runs"
    run = lab.run("fp1d", runs_dir=runs_dir, steps=60, eval_every=10, hidden=[16, 16], report=False)
    return runs_dir, run.id


def test_run_list_show_report(runs_dir, capsys, tmp_path):
    code, out, _ = cli(capsys, "run", "fp1d", "--runs-dir", str(runs_dir), *SMALL)
    assert code == 0 and "finished" in out
    run_id = out.split()[1]
    assert (runs_dir / run_id / "report.html").exists()
    code, out, _ = cli(capsys, "list", "--runs-dir", str(runs_dir))
    assert code == 0 and run_id in out and "finished" in out
    code, out, _ = cli(capsys, "show", run_id, "--runs-dir", str(runs_dir))
    assert code == 0 and "steps = 60" in out and "convergence steps" in out
    code, out, _ = cli(capsys, "show", str(runs_dir / run_id))  # a run folder works too
    assert code == 0 and run_id in out
    code, out, _ = cli(capsys, "report", run_id, "--runs-dir", str(runs_dir), "-o", str(tmp_path))
    assert code == 0 and (tmp_path / "report.html").exists() and (tmp_path / "figures" / "heatmap.png").exists()


def test_experiments_listing(capsys):
    code, out, _ = cli(capsys, "experiments")
    assert code == 0
    for name in ("fp1d", "fp1d-sparse", "fp1d-step", "fp1d-freq-sweep", "fp1d-amp-sweep"):
        assert name in out
    code, out, _ = cli(capsys, "experiments", "fp1d-sparse")
    assert "n_train = 60" in out


BAD = [
    (["run", "nope"], "unknown experiment 'nope'"),
    (["run", "fp1d", "--set", "lrr=1"], "unknown config key 'lrr'"),
    (["run", "fp1d", "--set", "lr=0"], "lr must be"),
    (["run", "fp1d", "--set", "lr=fast"], "lr expects a number"),
    (["run", "fp1d", "--set", "hidden=0"], "hidden widths"),
    (["run", "fp1d", "--set", "steps=10", "--set", "eval_every=20"], "eval_every (20) must be <= steps (10)"),
    (["run", "fp1d", "--set", "threshold=1.5"], "threshold must be in (0, 1)"),
    (["run", "fp1d", "--set", "lr"], "--set expects key=value"),
    (["run", "fp1d", "--seeds", "0"], "seeds must be"),
    (["show", "nonexistent"], "no run 'nonexistent'"),
    (["resume", "nonexistent"], "no run 'nonexistent'"),
]


@pytest.mark.parametrize("args, message", BAD)
def test_bad_input_one_line_exit_2_store_untouched(populated, capsys, args, message):
    runs_dir, _ = populated
    before = snapshot(runs_dir)
    code, _, err = cli(capsys, *args, "--runs-dir", str(runs_dir))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err
    assert snapshot(runs_dir) == before


def test_foreign_and_unreadable_runs_dir(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    code, _, err = cli(capsys, "run", "fp1d", "--runs-dir", str(foreign), *SMALL)
    assert code == 2 and "not a freqlens runs directory" in err and len(err.strip().splitlines()) == 1
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]
    code, _, err = cli(capsys, "list", "--runs-dir", str(tmp_path / "missing"))
    assert code == 2 and "no runs directory" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "freqlens.sqlite").write_bytes(b"garbage" * 10)
    code, _, err = cli(capsys, "list", "--runs-dir", str(broken))
    assert code == 2 and "not an SQLite file" in err
    assert (broken / "freqlens.sqlite").read_bytes() == b"garbage" * 10
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        code, _, err = cli(capsys, "list", "--runs-dir", str(locked))
        assert code == 2 and "not readable" in err


def test_diverged_run_exit_2_and_marked_failed(runs_dir, capsys):
    code, _, err = cli(capsys, "run", "fp1d", "--runs-dir", str(runs_dir), "--set", "optimizer=sgd", "--set",
                       "lr=10", "--set", "activation=relu", "--set", "steps=200", "--quiet")
    assert code == 2 and "diverged" in err and "marked failed" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli(capsys, "list", "--runs-dir", str(runs_dir))
    assert "failed" in out


def test_entry_point_prints_no_traceback(tmp_path):
    """The real console entry point (python -m freqlens), not just main()."""
    env = {**os.environ, "FREQLENS_RUNS_DIR": str(tmp_path / "r")}
    res = subprocess.run([sys.executable, "-m", "freqlens", "run", "fp1d", "--set", "width=3"], capture_output=True,
                         text=True, env=env)
    assert res.returncode == 2
    assert res.stderr.strip() .startswith("freqlens: error: unknown config key 'width'")
    assert "Traceback" not in res.stderr and not (tmp_path / "r").exists()
    res = subprocess.run([sys.executable, "-m", "freqlens", "--help"], capture_output=True, text=True, env=env)
    assert res.returncode == 0 and "run" in res.stdout and "resume" in res.stdout
