"""Time ``freqlens --help`` against a bare typer app's ``--help``, in fresh interpreters, and print a table.

Each variant is a new Python process (``sys.executable``, the same environment and ``PYTHONPATH``), run in
interleaved rounds after one warm-up each (so the OS file cache is warm for everyone); the table gives the median
wall time per variant and its ratio to the bare typer app, which is the floor any typer CLI pays (interpreter,
typer, click, rich for the help screen). Target: ``freqlens --help`` at most 2x the bare app.

Rows:

- ``python -c pass`` - the interpreter alone;
- bare typer app ``--help`` - a one-command typer app written by this script (the reference);
- ``import freqlens`` - the package's own start-up (sub-packages load lazily);
- ``freqlens --help`` - the real command line (``python -m freqlens --help``);
- ``freqlens --help`` without the lab group - the same with ``freqlens.cli.lab`` replaced by an empty stub, i.e.
  what the CLI costs once the lab's commands import the lab lazily;
- ``import freqlens.lab.experiments`` - what ``cli/lab.py`` imports at module level today.

Run: ``python benchmarks/bench_startup.py [--rounds N]`` (default 9 rounds, about 30 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = '''\
import typer

app = typer.Typer(name="bare", help="A bare typer app: one command.", add_completion=False,
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("hello")
def hello(name: str = typer.Argument("world", help="Who to greet.")) -> None:
    """Print a greeting."""
    typer.echo(f"hello {name}")


@app.command("bye")
def bye() -> None:
    """Print a farewell."""
    typer.echo("bye")


if __name__ == "__main__":
    app()
'''

NO_LAB = (
    "import sys, types\n"
    "stub = types.ModuleType('freqlens.cli.lab')\n"
    "stub.register = lambda app: None\n"
    "sys.modules['freqlens.cli.lab'] = stub\n"
    "from freqlens.cli import main\n"
    "main(['--help'])\n"
)


def run_once(argv: list[str]) -> float:
    """Wall time (s) of one process; fails loudly if it does not exit 0."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed runs per variant (interleaved)")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        variants = {
            "python -c pass": [py, "-c", "pass"],
            "bare typer app --help": [py, str(bare), "--help"],
            "import freqlens": [py, "-c", "import freqlens"],
            "freqlens --help": [py, "-m", "freqlens", "--help"],
            "freqlens --help without the lab group": [py, "-c", NO_LAB],
            "import freqlens.lab.experiments": [py, "-c", "import freqlens.lab.experiments"],
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for argv in variants.values():  # warm-up: file cache, .pyc
            run_once(argv)
        for _ in range(args.rounds):
            for name, argv in variants.items():
                times[name].append(run_once(argv))
    med = {name: statistics.median(t) for name, t in times.items()}
    ref = med["bare typer app --help"]
    print(f"Start-up, median of {args.rounds} interleaved runs (fresh interpreter each), "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print()
    print("| variant | median | min | ratio to bare typer |")
    print("|---|---|---|---|")
    for name in variants:
        print(f"| {name} | {med[name] * 1000:.0f} ms | {min(times[name]) * 1000:.0f} ms | {med[name] / ref:.2f} |")
    print()
    lab_cost = med["freqlens --help"] - med["freqlens --help without the lab group"]
    print(f"cli/lab.py's module-level import of freqlens.lab.experiments adds {lab_cost * 1000:.0f} ms to "
          f"every command; target for freqlens --help: <= 2.00 x bare typer "
          f"(now {med['freqlens --help'] / ref:.2f}, {med['freqlens --help without the lab group'] / ref:.2f} "
          "without the lab group)")


if __name__ == "__main__":
    main()
