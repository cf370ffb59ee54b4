"""CLI of the Frequency Principle lab and the run store: run, resume, list, show, report, experiments."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from freqlens.lab.experiments import EXPERIMENTS

RunsDir = typer.Option(None, "--runs-dir", help="Runs directory (default: $FREQLENS_RUNS_DIR or ./runs).")
Quiet = typer.Option(False, "--quiet", "-q", help="No progress bar (for scripts).")


def _summary(run) -> str:
    conv = run.convergence_steps
    if run.is_sweep:
        parts = [f"{r.variant}: low {_fmt(r.low_step)}, high {_fmt(r.high_step)}" for r in run.sweep.itertuples()]
    else:
        parts = [f"k={k}: {_fmt(v)}" for k, v in conv.items()]
    return "convergence steps: " + "; ".join(parts)


def _fmt(v) -> str:
    return "never" if v is None or v != v else str(int(v))


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        experiment: str = typer.Argument(..., help=f"One of {', '.join(EXPERIMENTS)} (see `freqlens experiments`)."),
        set_: List[str] = typer.Option([], "--set", "-s", help="Override a config field: key=value (repeatable)."),
        seeds: Optional[int] = typer.Option(None, "--seeds", help="Train S independently initialised models."),
        runs_dir: Optional[Path] = RunsDir,
        quiet: bool = Quiet,
        no_report: bool = typer.Option(False, "--no-report", help="Skip writing the HTML report."),
    ) -> None:
        """Run an experiment, store it, and write its report."""
        from freqlens.api import run
        from freqlens.lab.config import parse_set

        overrides = parse_set(set_)
        if seeds is not None:
            overrides["seeds"] = seeds
        result = run(experiment, runs_dir=runs_dir, quiet=quiet, report=not no_report, **overrides)
        typer.echo(f"run {result.id} {result.status} in {result.wall_time:.1f} s of training")
        typer.echo(_summary(result))
        if not no_report:
            typer.echo(f"report: {result.path / 'report.html'}")

    @app.command("resume")
    def resume_cmd(run_id: str = typer.Argument(..., help="Run id (or unique prefix) or run folder."),
                   runs_dir: Optional[Path] = RunsDir, quiet: bool = Quiet,
                   force: bool = typer.Option(False, "--force", help="Resume even if the run's recorded process id "
                                              "is alive (a recycled id).")) -> None:
        """Complete an interrupted or killed run from its last checkpoint."""
        from freqlens.api import resume

        from freqlens.runs.run import locate_run

        rid, rdir = locate_run(run_id, runs_dir)
        result = resume(rid, runs_dir=rdir, quiet=quiet, force=force)
        typer.echo(f"run {result.id} {result.status}")
        typer.echo(_summary(result))
        typer.echo(f"report: {result.path / 'report.html'}")

    @app.command("list")
    def list_cmd(runs_dir: Optional[Path] = RunsDir) -> None:
        """List the stored runs."""
        import time

        from freqlens.runs.store import RunStore

        store = RunStore(runs_dir, create=False)
        df = store.list_runs()
        if df.empty:
            typer.echo(f"no runs in {store.root}")
            return
        typer.echo(f"{'id':40s} {'status':11s} {'created':19s} {'train s':>8s}")
        for r in df.itertuples():
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created))
            wall = "" if r.wall_time is None or r.wall_time != r.wall_time else f"{r.wall_time:.1f}"
            typer.echo(f"{r.id:40s} {r.status:11s} {created:19s} {wall:>8s}")

    @app.command("show")
    def show_cmd(run_id: str = typer.Argument(..., help="Run id (or unique prefix) or run folder."),
                 runs_dir: Optional[Path] = RunsDir) -> None:
        """Show a run's status, config, convergence steps and files."""
        from freqlens.runs.run import load_run

        run = load_run(run_id, runs_dir)
        typer.echo(f"run:        {run.id}")
        typer.echo(f"experiment: {run.experiment}")
        typer.echo(f"status:     {run.status}" + (f" ({run.message})" if run.message else ""))
        if run.wall_time is not None:
            typer.echo(f"train time: {run.wall_time:.1f} s")
        typer.echo(f"folder:     {run.path}")
        typer.echo(_summary(run))
        typer.echo("config:")
        for k, v in sorted(run.config.items()):
            typer.echo(f"  {k} = {v}")

    @app.command("report")
    def report_cmd(run_id: str = typer.Argument(..., help="Run id (or unique prefix) or run folder."),
                   runs_dir: Optional[Path] = RunsDir,
                   out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder (default: the run's).")) -> None:
        """(Re)write a run's HTML report and PNG figures."""
        from freqlens.report import build_report
        from freqlens.runs.run import load_run

        run = load_run(run_id, runs_dir)
        if out is not None and not out.is_dir():
            raise typer.BadParameter(f"output folder {out} does not exist", param_hint="--out")
        typer.echo(f"report: {build_report(run, out)}")

    @app.command("experiments")
    def experiments_cmd(name: Optional[str] = typer.Argument(None, help="Show one experiment's full config.")) -> None:
        """List the lab's experiments, or show one's resolved default config."""
        from freqlens.lab.experiments import EXPERIMENTS, resolve_config

        if name is None:
            for e in EXPERIMENTS.values():
                typer.echo(f"{e.name:16s} {e.description}")
            return
        cfg = resolve_config(name)
        typer.echo(EXPERIMENTS[name].description)
        for k, v in cfg.to_dict().items():
            typer.echo(f"  {k} = {v}")
