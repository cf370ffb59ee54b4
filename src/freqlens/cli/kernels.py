"""CLI: ``freqlens kernels`` (the catalogue, its frequency responses) and ``freqlens filter`` (audio band filters)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import typer

from freqlens.cli.conv import parse_params
from freqlens.errors import FreqlensError


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "-"


def _band_label(band: str, cutoff: tuple) -> str:
    names = {"low": "low-pass", "high": "high-pass", "band": "band-pass", "stop": "band-stop"}
    edges = f"{cutoff[0]:g} Hz" if len(cutoff) == 1 else f"{cutoff[0]:g}-{cutoff[1]:g} Hz"
    return f"{names[band]} {edges}"


def register(app: typer.Typer) -> None:
    """Add ``kernels`` and ``filter`` to the app."""

    @app.command("kernels")
    def kernels_cmd(
        name: Optional[str] = typer.Argument(None, help="Show one kernel's weights (default: list them all)."),
        param: List[str] = typer.Option([], "--param", "-p", help="Kernel parameter name=value (repeatable)."),
        plot: bool = typer.Option(False, "--plot", help="Draw each kernel beside its frequency response (PNG)."),
        out: Path = typer.Option(Path("kernel_plots"), "--out", "-o", help="Folder for --plot's PNG files."),
        db: bool = typer.Option(False, "--db", help="Plot the response magnitude in dB."),
        size: int = typer.Option(64, "--size", help="Frequency grid size per axis for --plot."),
    ) -> None:
        """List the kernel catalogue with what each kernel passes; --plot draws kernels with their responses."""
        import numpy as np

        from freqlens.conv.kernels import KERNELS, get_kernel, kernel_info

        params = parse_params(param)
        names = list(KERNELS)
        if name is not None:
            kernel = get_kernel(name, **params)  # raises for unknown names / parameters
            info = kernel_info(name)
            names = [info.name]
            typer.echo(f"{info.name}: {info.description}")
            typer.echo(f"passes: {info.passband}; shape {kernel.shape}; sum {kernel.sum():.6g}")
            typer.echo(f"parameters (defaults): {_params_text(info.params)}")
            shown = kernel
            if max(kernel.shape) > 9:
                centre = tuple(slice(max(n // 2 - 4, 0), n // 2 + 5) for n in kernel.shape)
                shown = kernel[centre]
                typer.echo(f"(central {'x'.join(str(n) for n in shown.shape)} of {kernel.shape} shown)")
            with np.printoptions(precision=4, suppress=True, linewidth=120):
                typer.echo(str(shown))
        elif params:
            raise FreqlensError("--param needs a kernel NAME")
        else:
            width = max(len(n) for n in KERNELS)
            typer.echo(f"{'name':{width}s}  {'passes':21s}  description")
            for info in KERNELS.values():
                typer.echo(f"{info.name:{width}s}  {info.passband:21s}  {info.description}")
                extra = "  (also 1-D: ndim=1)" if 1 in info.ndims else ""
                typer.echo(f"{'':{width}s}  {'':21s}  parameters: {_params_text(info.params)}{extra}")
        if not plot:
            return
        from freqlens.conv.response import plot_response

        if size < 3:
            raise FreqlensError(f"--size must be >= 3, got {size}")
        out.mkdir(parents=True, exist_ok=True)
        for n in names:
            info = KERNELS[n]
            k = get_kernel(n, **(params if name is not None else {}))
            grid = tuple(max(size, s) for s in k.shape)
            path = out / f"kernel_{n}.png"
            plot_response(k, grid, db=db, title=f"{n}: {info.passband}", path=path)
            typer.echo(f"wrote {path}")
        typer.echo(f"{len(names)} figure(s) in {out}")

    @app.command("filter")
    def filter_cmd(
        input: Path = typer.Argument(..., help="Input audio file (WAV, FLAC, OGG)."),
        output: Path = typer.Argument(..., help="Output audio file; format from the extension (.wav, .flac)."),
        lowpass: Optional[float] = typer.Option(None, "--lowpass", help="Keep frequencies below F Hz."),
        highpass: Optional[float] = typer.Option(None, "--highpass", help="Keep frequencies above F Hz."),
        bandpass: Optional[Tuple[float, float]] = typer.Option(None, "--bandpass", help="Keep LO..HI Hz."),
        bandstop: Optional[Tuple[float, float]] = typer.Option(None, "--bandstop", help="Remove LO..HI Hz."),
        order: Optional[int] = typer.Option(None, "--order", help="Filter order (default 4; FIR: from cutoffs)."),
        kind: str = typer.Option("butter", "--kind", help="butter, cheby1, cheby2, ellip, bessel or fir."),
        causal: bool = typer.Option(False, "--causal", help="One causal pass instead of zero-phase."),
    ) -> None:
        """Band-filter an audio file (zero-phase Butterworth by default), e.g. --bandpass 300 3400."""
        from freqlens.conv.filters import design_filter
        from freqlens.io import read_audio, write_audio

        given = [(b, c) for b, c in (("low", lowpass), ("high", highpass), ("band", bandpass), ("stop", bandstop))
                 if c is not None]
        if len(given) != 1:
            raise FreqlensError("give exactly one of --lowpass F, --highpass F, --bandpass LO HI, --bandstop LO HI")
        band, cutoff = given[0]
        data, fs = read_audio(input)
        design = design_filter(band, cutoff, fs, order=order, kind=kind)
        y = design.apply(data, zero_phase=not causal, axis=0)
        write_audio(output, y, fs)
        channels = 1 if data.ndim == 1 else data.shape[1]
        phase = "causal" if causal else "zero-phase"
        typer.echo(
            f"wrote {output}: {_band_label(band, design.cutoff)} ({kind}, order {design.order}, {phase}); "
            f"{channels} channel(s), {data.shape[0] / fs:.2f} s at {fs} Hz"
        )
