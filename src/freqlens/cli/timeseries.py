"""CLI of the time-series applications: ``smooth`` (a table column), ``kde`` (density) and ``dose`` (intake
schedule convolved with a decay).

Tables are read by :func:`freqlens.io.read_column`; results go to stdout or, atomically, to ``-o FILE``. Bad input
raises :class:`freqlens.FreqlensError`, which ``freqlens.cli.main`` prints as one line with exit code 2. Only
typer and the standard library load with this module; the rest loads when a command runs.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Optional

import typer

from freqlens.cli._common import write_text
from freqlens.errors import FreqlensError


def register(app: typer.Typer) -> None:
    """Add ``smooth``, ``kde`` and ``dose`` to the app."""
    app.command("smooth")(smooth_cmd)
    app.command("kde")(kde_cmd)
    app.command("dose")(dose_cmd)


def smooth_cmd(
    table: Path = typer.Argument(..., help="CSV/TSV file or a plain column of numbers ('-' = stdin)."),
    method: str = typer.Option("moving", "--method", help="moving, gaussian or exponential."),
    width: Optional[float] = typer.Option(
        None, "--width", help="Window n (moving), sigma (gaussian) or span N (exponential: alpha = 2/(N+1))."
    ),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="Exponential smoothing factor in (0, 1]."),
    column: Optional[str] = typer.Option(None, "--column", help="Column name or 0-based index (default last)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output CSV (default: stdout)."),
) -> None:
    """Smooth one column of a table; prints (or writes) the table with a smoothed column appended."""
    from freqlens.conv.apps.timeseries import exponential_smooth, gaussian_smooth, moving_average
    from freqlens.io import read_column

    if method not in ("moving", "gaussian", "exponential"):
        raise FreqlensError(f"--method must be moving, gaussian or exponential, got {method!r}")
    if method == "exponential":
        if (width is None) == (alpha is None):
            raise FreqlensError("--method exponential needs exactly one of --width N (span) or --alpha A")
        a = alpha if alpha is not None else 2.0 / (width + 1.0)
        if width is not None and not width >= 1:
            raise FreqlensError(f"--width (span) must be >= 1, got {width:g}")
    else:
        if alpha is not None:
            raise FreqlensError(f"--alpha is for --method exponential, not {method}")
        if width is None:
            raise FreqlensError(f"--method {method} needs --width")
    header, rows, delim, col, values = read_column(table, column)
    if method == "moving":
        if width != int(width):
            raise FreqlensError(f"--width for a moving average must be a whole number, got {width:g}")
        smoothed = moving_average(values, int(width))
    elif method == "gaussian":
        smoothed = gaussian_smooth(values, width)
    else:
        smoothed = exponential_smooth(values, a)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="," if delim == " " else delim, lineterminator="\n")
    name = (header[col] if header else f"column{col}") + f"_{method}"
    if header is not None:
        writer.writerow([*header, name])
    for r, s in zip(rows, smoothed):
        writer.writerow([*r, "nan" if math.isnan(s) else f"{s:.10g}"])
    write_text(buf.getvalue(), output)
    if output is not None:
        typer.echo(f"smoothed {len(rows)} rows ({method}); wrote {output}")


def kde_cmd(
    table: Path = typer.Argument(..., help="CSV/TSV file or a plain column of numbers ('-' = stdin)."),
    column: Optional[str] = typer.Option(None, "--column", help="Column name or 0-based index (default last)."),
    bandwidth: str = typer.Option("scott", "--bandwidth", help="Kernel sigma in data units, scott or silverman."),
    points: int = typer.Option(512, "--points", help="Grid points of the estimate."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output CSV x,density (default: stdout)."),
) -> None:
    """Kernel density estimate of one column by convolving its histogram with a Gaussian; prints x,density."""
    import numpy as np

    from freqlens.conv.apps.timeseries import kde
    from freqlens.io import read_column

    if bandwidth in ("scott", "silverman"):
        bw: object = bandwidth
    else:
        try:
            bw = float(bandwidth)
        except ValueError:
            raise FreqlensError(f"--bandwidth must be a number, scott or silverman, got {bandwidth!r}") from None
    if points < 2:
        raise FreqlensError(f"--points must be >= 2, got {points}")
    _, _, _, _, values = read_column(table, column)
    values = values[~np.isnan(values)]
    if values.size < 2:
        raise FreqlensError("kde needs at least 2 numeric values in the column")
    grid, density = kde(values, points, bandwidth=bw)
    lines = ["x,density"] + [f"{g:.10g},{d:.10g}" for g, d in zip(grid, density)]
    write_text("\n".join(lines) + "\n", output)
    if output is not None:
        mode = grid[int(np.argmax(density))]
        typer.echo(f"density of {values.size} values on {points} points (mode at {mode:.6g}); wrote {output}")


def dose_cmd(
    doses: str = typer.Option(..., "--doses", help="Intakes as time:amount pairs, e.g. '0:100,12:100,24:100'."),
    half_life: float = typer.Option(..., "--half-life", help="Half-life of first-order elimination."),
    dt: float = typer.Option(1.0, "--dt", help="Time step of the output."),
    until: Optional[float] = typer.Option(None, "--until", help="Last time shown (default: 5 half-lives "
                                                                  "after the last intake)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output CSV time,amount (default: stdout)."),
) -> None:
    """Amount remaining over time: an intake schedule convolved with an exponential decay kernel."""
    import numpy as np

    from freqlens.conv.apps.timeseries import linear_response

    if not (dt > 0 and math.isfinite(dt)):
        raise FreqlensError(f"--dt must be > 0, got {dt:g}")
    if not (half_life > 0 and math.isfinite(half_life)):
        raise FreqlensError(f"--half-life must be > 0, got {half_life:g}")
    pairs = []
    for item in doses.replace(" ", "").split(","):
        try:
            t, amount = (float(v) for v in item.split(":"))
        except ValueError:
            raise FreqlensError(f"--doses expects time:amount pairs like 0:100,12:100; got {item!r}") from None
        if t < 0 or not math.isfinite(t) or not math.isfinite(amount):
            raise FreqlensError(f"--doses: times must be >= 0 and amounts finite, got {item!r}")
        pairs.append((t, amount))
    last = max(t for t, _ in pairs)
    end = until if until is not None else last + 5 * half_life
    if not (end >= 0 and math.isfinite(end)):
        raise FreqlensError(f"--until must be a finite time >= 0, got {end:g}")
    steps = end / dt
    if not steps < 10_000_000:  # also catches inf from a tiny --dt
        raise FreqlensError(f"{end:g} / {dt:g} is too many output steps (max 10,000,000); use a larger --dt")
    n = int(round(steps)) + 1
    if n > 10_000_000:
        raise FreqlensError(f"{n} output steps is too many; use a larger --dt")
    intake = np.zeros(n)
    for t, amount in pairs:
        k = int(round(t / dt))
        if k < n:
            intake[k] += amount
    amount = linear_response(intake, half_life=half_life, dt=dt)
    lines = ["time,amount"] + [f"{k * dt:.10g},{a:.10g}" for k, a in enumerate(amount)]
    write_text("\n".join(lines) + "\n", output)
    if output is not None:
        typer.echo(f"peak {amount.max():.6g} at t = {int(np.argmax(amount)) * dt:g}; wrote {output}")
