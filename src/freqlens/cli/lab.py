"""CLI of the Frequency Principle lab and the run store: run, resume, list, show, report, experiments,
rebuild-index. Nothing heavy is imported until a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

RunsDir = typer.Option(None, "--runs-dir", help="Runs directory (default: $FREQLENS_RUNS_DIR or ./runs).")
Quiet = typer.Option(False, "--quiet", "-q", help="No progress bar (for scripts).")
RunArg = typer.Argument(..., help="Run id (or unique prefix) or run folder.")


def _summary(run) -> str:
    from freqlens.report.html import fmt_step

    if any(v["kind"] == "sweep_summary" for v in run.views):
        parts = [f"{r.variant}: low {fmt_step(r.low_step)}, high {fmt_step(r.high_step)}"
                 for r in run.sweep.itertuples()]
        return "convergence steps: " + "; ".join(parts)
    if run.family == "lfp":
        return _likeness_table(run) if not run.summaries("d_cubic").empty else "no interpolation recorded yet"
    conv = run.convergence_steps
    if not conv:
        return "convergence steps: none recorded yet"
    if run.is_sweep:
        parts = [f"{lab}: " + ", ".join(f"{_key(k)}: {fmt_step(v)}" for k, v in d.items()) for lab, d in conv.items()]
    else:
        axis = next((v.get("axis", "k") for v in run.views if v.get("summary") == "convergence_step"), "k")
        parts = [f"{axis}={_key(k)}: {fmt_step(v)}" for k, v in conv.items()]
    return "convergence steps: " + "; ".join(parts) + _predicted_line(run) + _filtering_line(run)


def _predicted_line(run) -> str:
    """The NTK's predicted convergence steps, when the run has them (theory=ntk)."""
    if not any(v.get("predicted") == "predicted_convergence_step" for v in run.views):
        return ""
    from freqlens.report.figures import summary_medians
    from freqlens.report.html import fmt_step

    pred = summary_medians(run, "predicted_convergence_step").get("", {})
    return "\npredicted by the NTK:  " + "; ".join(f"k={_key(k)}: {fmt_step(v)}" for k, v in sorted(pred.items()))


def _members(run) -> None:
    """One line per member: label, seed, status, step reached, training time; the notes of resumes (e.g. a
    warm restart of an optimizer whose state cannot be saved)."""
    df = run.members
    typer.echo(f"members:    {len(df)}")
    for r in df.itertuples():
        wall = getattr(r, "wall_time", None)
        line = (f"  {int(r.member):>3}  {(r.label or '-'):24s} seed {r.seed:<6} {r.status:11s} "
                f"{run.unit} {int(r.step):,}" + (f"  {wall:.1f} s" if wall is not None and wall == wall else ""))
        typer.echo(line)
        for note in (r.info or {}).get("resumed", []) if isinstance(r.info, dict) else []:
            typer.echo(f"       resumed at {note}")


def _files(folder) -> list[str]:
    """The run folder's main files (the figures counted), for ``show``."""
    names = []
    entries = sorted(folder.iterdir()) if folder.is_dir() else []
    members = [p for p in entries if p.is_dir() and p.name.startswith("member-")]
    for p in entries:
        if p.is_dir() and p.name == "figures":
            names.append(f"figures/ ({sum(1 for _ in p.glob('*.png'))} PNG)")
        elif p in members[:1]:
            first = p.name + "/ (" + ", ".join(sorted(q.name for q in p.iterdir())) + ")"
            names.append(first if len(members) == 1 else f"{first} … {members[-1].name}/ ({len(members)} members)")
        elif p.is_dir() and p not in members:
            names.append(p.name + "/")
        elif p.is_file() and not p.name.startswith("."):
            names.append(p.name)
    return names


def _key(k) -> str:
    return f"{k:.3g}" if isinstance(k, float) else str(k)


def _filtering_line(run) -> str:
    """The filtering method's steps (e_low, e_high below the threshold) per δ, when the run has them."""
    if not any(v["kind"] == "filtering_panels" for v in run.views):
        return ""
    from freqlens.report.figures import summary_medians
    from freqlens.report.html import fmt_step

    low = summary_medians(run, "e_low_step").get("", {})
    high = summary_medians(run, "e_high_step").get("", {})
    ill = summary_medians(run, "ill_conditioned").get("", {})
    parts = [f"δ={_key(d)}: low {fmt_step(low[d])}, high "
             + ("ill-conditioned" if ill.get(d) else fmt_step(high.get(d))) for d in sorted(low)]
    return f"\nfiltering (error below the threshold, {run.unit}): " + "; ".join(parts) if parts else ""


def register(app: typer.Typer) -> None:
    register_bench(app)
    register_theory(app)
    register_sweep(app)

    @app.command("run")
    def run_cmd(
        experiment: str = typer.Argument(..., help="An experiment name (see `freqlens experiments`)."),
        set_: List[str] = typer.Option([], "--set", "-s", help="Override a config field: key=value (repeatable)."),
        seeds: Optional[int] = typer.Option(None, "--seeds", help="Train S independently initialised models."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder with the dataset's files "
                                                "(classification experiments; default $FREQLENS_DATA_DIR)."),
        runs_dir: Optional[Path] = RunsDir,
        quiet: bool = Quiet,
        no_report: bool = typer.Option(False, "--no-report", help="Skip writing the HTML report."),
    ) -> None:
        """Run an experiment, store it, and write its report."""
        from freqlens.api import run
        from freqlens.lab.config import split_set

        overrides: dict = dict(split_set(set_))
        if seeds is not None:
            overrides["seeds"] = seeds
        if data_dir is not None:
            from dataclasses import fields

            from freqlens.errors import ConfigError
            from freqlens.lab.experiments import family_of

            if "data_dir" not in {f.name for f in fields(family_of(experiment).config)}:
                raise ConfigError(f"--data-dir applies to the classification experiments (fp-mnist, fp-fashion, "
                                  f"fp-cifar10), not to {experiment}")
            overrides["data_dir"] = str(data_dir)
        result = run(experiment, runs_dir=runs_dir, quiet=quiet, report=not no_report, **overrides)
        typer.echo(f"run {result.id} {result.status} in {result.wall_time:.1f} s of training")
        typer.echo(_summary(result))
        if not no_report:
            typer.echo(f"report: {result.path / 'report.html'}")

    @app.command("resume")
    def resume_cmd(run_id: str = RunArg, runs_dir: Optional[Path] = RunsDir, quiet: bool = Quiet,
                   force: bool = typer.Option(False, "--force", hidden=True,
                                              help="Accepted for freqlens 0.1 scripts; the run's lock file now "
                                                   "tells whether another process is training it.")) -> None:
        """Complete an interrupted or killed run from its last checkpoint."""
        from freqlens.api import locate_run, resume

        rid, rdir = locate_run(run_id, runs_dir)
        result = resume(rid, runs_dir=rdir, quiet=quiet, force=force)
        typer.echo(f"run {result.id} {result.status}")
        typer.echo(_summary(result))
        typer.echo(f"report: {result.path / 'report.html'}")

    @app.command("list")
    def list_cmd(runs_dir: Optional[Path] = RunsDir) -> None:
        """List the stored runs (read-only)."""
        import time

        from freqlens.runs.lock import is_locked
        from freqlens.runs.store import RunStore

        store = RunStore(runs_dir, create=False, readonly=True)
        df = store.list_runs()
        if df.empty:
            typer.echo(f"no runs in {store.root}")
            return
        typer.echo(f"{'id':44s} {'status':12s} {'created':19s} {'train s':>8s}")
        stale = False
        for r in df.itertuples():
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created))
            wall = "" if r.wall_time is None or r.wall_time != r.wall_time else f"{r.wall_time:.1f}"
            status = r.status
            if status == "running" and not is_locked(store.root / r.id):
                status, stale = "running*", True
            typer.echo(f"{r.id:44s} {status:12s} {created:19s} {wall:>8s}")
        if stale:
            typer.echo("* no process is training it (killed?): `freqlens resume ID` completes it")

    @app.command("show")
    def show_cmd(run_id: str = RunArg, runs_dir: Optional[Path] = RunsDir) -> None:
        """Show a run's status, config, convergence steps and files (read-only)."""
        from freqlens.api import load_run

        run = load_run(run_id, runs_dir)
        typer.echo(f"run:        {run.id}")
        typer.echo(f"experiment: {run.experiment} (family {run.family})")
        typer.echo(f"status:     {run.status}" + (f" ({run.message})" if run.message else ""))
        if run.wall_time is not None:
            typer.echo(f"train time: {run.wall_time:.1f} s")
        typer.echo(f"folder:     {run.path}")
        typer.echo(_summary(run))
        _members(run)
        typer.echo("files:      " + ", ".join(_files(run.path)))
        typer.echo("config:")
        for k, v in sorted(run.config.items()):
            typer.echo(f"  {k} = {v}")

    @app.command("report")
    def report_cmd(run_id: str = RunArg, runs_dir: Optional[Path] = RunsDir,
                   out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder (default: the run's).")) -> None:
        """(Re)write a run's HTML report and PNG figures."""
        from freqlens.api import build_report, load_run

        if out is not None and not out.is_dir():
            what = "is not a folder" if out.exists() else "does not exist"
            raise typer.BadParameter(f"output folder {out} {what}", param_hint="--out")
        run = load_run(run_id, runs_dir)
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

    @app.command("rebuild-index")
    def rebuild_cmd(runs_dir: Optional[Path] = RunsDir,
                    force: bool = typer.Option(False, "--force", help="Rebuild even a healthy index.")) -> None:
        """Recreate a lost, emptied or damaged run index from the run folders (the old one is kept aside)."""
        from freqlens.lab.rebuild import rebuild_index

        rep = rebuild_index(runs_dir, force=force)
        for p in rep.moved_aside:
            typer.echo(f"kept the old index file as {p}")
        typer.echo(f"rebuilt the index with {len(rep.runs)} run(s)")
        for name, why in rep.skipped:
            typer.echo(f"skipped {name}: {why}")


def register_bench(app: typer.Typer) -> None:
    bench = typer.Typer(help="Benchmarks of the lab that run into the store (resumable like any run).",
                        no_args_is_help=True)
    app.add_typer(bench, name="bench")

    @bench.command("spectral-bias")
    def spectral_bias_cmd(runs_dir: Optional[Path] = RunsDir, quiet: bool = Quiet,
                          quick: bool = typer.Option(False, "--quick", help="Small budgets (minutes, not an hour)."),
                          seeds: Optional[int] = typer.Option(None, "--seeds", help="Seeds per model and target."),
                          size: Optional[int] = typer.Option(None, "--size", help="Side of the images (2× grid)."),
                          steps: Optional[int] = typer.Option(None, "--steps", help="Steps of the image fits."),
                          new: bool = typer.Option(False, "--new", help="Start afresh instead of resuming.")) -> None:
        """Every remedy of spectral bias (Fourier features, SIREN, MscaleDNN) against the plain MLP on the 1-D
        sparse target and three bundled images: a table of PSNR, band convergence steps and time, and figures."""
        from freqlens.lab.bench import spectral_bias

        extra = {k: v for k, v in (("size", size), ("steps", steps)) if v is not None}
        spectral_bias(runs_dir=runs_dir, quick=quick, seeds=seeds, new=new, quiet=quiet, say=typer.echo, **extra)


def register_theory(app: typer.Typer) -> None:
    theory = typer.Typer(help="Theory beside measurement: the NTK's prediction and the linear F-Principle, as runs "
                              "of the store with their reports.", no_args_is_help=True)
    app.add_typer(theory, name="theory")

    @theory.command("ntk")
    def ntk_cmd(width: int = typer.Option(4000, "--width", help="Neurons of the two-layer network."),
                activation: str = typer.Option("relu", "--activation", help="relu or tanh."),
                points: int = typer.Option(101, "--points", help="Training points on [-π, π)."),
                w_range: str = typer.Option("-1,1", "--w-range", help="Input weights ~ U[low, high]."),
                b_range: str = typer.Option("-3.141592653589793,3.141592653589793", "--b-range",
                                            help="Biases ~ U[low, high]."),
                a_range: str = typer.Option("-1,1", "--a-range", help="Output weights ~ U[low, high]."),
                amp: float = typer.Option(0.05, "--amp", help="Amplitude of each of sin x, sin 3x, sin 5x."),
                steps: int = typer.Option(25000, "--steps", help="Gradient-descent steps."),
                seeds: int = typer.Option(1, "--seeds"), runs_dir: Optional[Path] = RunsDir,
                quiet: bool = Quiet) -> None:
        """A wide two-layer network trained by gradient descent: the NTK's predicted convergence step of each
        frequency beside the measured one (experiment theory-ntk)."""
        from freqlens.api import run

        result = run("theory-ntk", runs_dir=runs_dir, quiet=quiet, hidden=[width], activation=activation,
                     n_train=points, w_range=w_range, b_range=b_range, a_range=a_range, amps=[amp] * 3, steps=steps,
                     seeds=seeds)
        _theory_summary(result)

    @theory.command("lfp")
    def lfp_cmd(regime: str = typer.Option("cubic", "--regime", help="cubic (1/ξ⁴ dominates) or linear (1/ξ²)."),
                width: int = typer.Option(1000, "--width", help="Neurons of the two-layer network."),
                x_nodes: str = typer.Option("-0.5,-0.1,0.5", "--x", help="The points' x values."),
                y_nodes: str = typer.Option("0,1,0.2", "--y", help="The points' y values."),
                steps: Optional[int] = typer.Option(None, "--steps", help="Gradient-descent steps (default 5,000; "
                                                    "100,000 for the linear regime)."),
                runs_dir: Optional[Path] = RunsDir, quiet: bool = Quiet) -> None:
        """The linear F-Principle's three-point interpolation: the trained network against the minimum-FP-norm
        interpolant, the kernel limits and the cubic and linear splines (experiment theory-lfp)."""
        from freqlens.api import run

        n_steps = steps if steps is not None else (100000 if regime == "linear" else 5000)
        result = run("theory-lfp", runs_dir=runs_dir, quiet=quiet, regime=regime, width=width, x_nodes=x_nodes,
                     y_nodes=y_nodes, steps=n_steps, eval_every=max(1, n_steps // 100),
                     checkpoint_every=max(1, n_steps // 5))
        typer.echo(f"run {result.id} {result.status} in {result.wall_time:.1f} s of training (lr "
                   f"{result.config['lr']:.3g})")
        typer.echo(_likeness_table(result))
        typer.echo(f"report: {result.path / 'report.html'}")


def _likeness_table(run) -> str:
    """The three-point interpolation's distances to the cubic and linear splines, one line per curve."""
    dc, dl = run.summaries("d_cubic"), run.summaries("d_linear")
    lines = ["curve        d_cubic  d_linear   (distance to the cubic / linear spline; 0 = that spline)"]
    for (name, c), l in zip(zip(dc["key"], dc["value"]), dl["value"]):
        lines.append(f"{name:12s} {c:7.3f}  {l:8.3f}")
    return "\n".join(lines)


def _theory_summary(result) -> None:
    from freqlens.report.html import fmt_step

    typer.echo(f"run {result.id} {result.status} in {result.wall_time:.1f} s of training (lr "
               f"{result.config['lr']:.3g})")
    measured = result.convergence_steps
    pred = result.summaries("predicted_convergence_step")
    predicted = {k: v for k, v in zip(pred["key"], pred["value"])}
    typer.echo("k    predicted (NTK)   measured")
    for k in sorted(set(measured) | set(predicted)):
        typer.echo(f"{k:<4} {fmt_step(predicted.get(k)):>15s}   {fmt_step(measured.get(k)):>8s}")
    typer.echo(f"report: {result.path / 'report.html'}")


def register_sweep(app: typer.Typer) -> None:
    @app.command("sweep")
    def sweep_cmd(target: str = typer.Argument(..., help="SWEEP.yaml to run (or complete), or 'status' / 'report'."),
                  sweep_id: Optional[str] = typer.Argument(None, help="With status or report: the sweep id."),
                  backend: str = typer.Option("local", "--backend", help="local (process pool), serial, or ray."),
                  address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: "
                                                        "a local Ray instance)."),
                  workers: Optional[int] = typer.Option(None, "--workers", help="Processes of the local pool "
                                                        "(default: the cores)."),
                  yes: bool = typer.Option(False, "--yes", help="Allow more than 200 runs."),
                  runs_dir: Optional[Path] = RunsDir, quiet: bool = Quiet) -> None:
        """Run a sweep (freqlens sweep SWEEP.yaml), show its progress (freqlens sweep status ID) or write its
        report (freqlens sweep report ID). Running the same file again completes an interrupted sweep."""
        if target in ("status", "report"):
            from freqlens.runs.store import RunStore

            if not sweep_id:
                raise typer.BadParameter(f"freqlens sweep {target} needs a sweep id", param_hint="SWEEP_ID")
            store = RunStore(runs_dir, create=False, readonly=target == "status")
            if target == "status":
                from freqlens.lab.sweep import sweep_table

                rec, df = sweep_table(store, sweep_id)
                counts = df["status"].value_counts().to_dict()
                typer.echo(f"sweep {rec['id']} ({rec['spec']['experiment']}): {len(df)} runs - "
                           + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
                for r in df.itertuples():
                    wall = "" if r.wall_time is None or r.wall_time != r.wall_time else f"{r.wall_time:.1f} s"
                    typer.echo(f"{r.index:4d}  {r.status:12s} {r.run:44s} {wall:>8s}  {r.config} seed={r.seed}")
                return
            from freqlens.report.sweep import build_sweep_report, sweep_summary
            from freqlens.report.views_compare import markdown

            path = build_sweep_report(store, sweep_id)
            rec, columns, rows, _ = sweep_summary(store, sweep_id)
            typer.echo(markdown(columns, rows))
            typer.echo(f"report: {path}")
            return
        if sweep_id is not None:
            raise typer.BadParameter("a sweep file takes no second argument", param_hint="SWEEP_ID")
        from freqlens.lab.sweep import run_sweep

        sp = run_sweep(target, runs_dir=runs_dir, backend=backend, workers=workers, address=address, yes=yes,
                       quiet=quiet, say=typer.echo)
        typer.echo(f"`freqlens sweep status {sp.id}` shows its runs, `freqlens sweep report {sp.id}` draws it")
