"""CLI of the convolution applications: edges, blur, sharpen, reverb, smooth, kde, dose, matched, motif, match.

Every command parses, calls :mod:`freqlens.conv.apps`, prints and writes through :mod:`freqlens.io` (atomic:
a failed command never leaves a half-written file and never replaces an existing output). Bad input raises
:class:`freqlens.FreqlensError`, which ``freqlens.cli.main`` prints as one line with exit code 2.
"""

from __future__ import annotations

import csv
import io as _io
import math
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import typer

from freqlens.errors import FreqlensError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

ImageArg = typer.Argument(None, help="Input image file (or use --sample).")
SampleOpt = typer.Option(None, "--sample", help="A bundled scikit-image picture instead of IMAGE, e.g. camera.")
ImageOut = typer.Option(..., "--output", "-o", help="Output image (.png, .jpg, .tif); written atomically.")


# --- shared helpers ----------------------------------------------------------------------------------------------

def _load_image(image: Optional[Path], sample: Optional[str], *, as_gray: bool) -> Tuple[np.ndarray, str]:
    from freqlens.io import read_image, sample_image

    if (image is None) == (sample is None):
        raise FreqlensError("give exactly one of IMAGE or --sample NAME")
    if image is not None:
        return read_image(image, as_gray=as_gray), str(image)
    return sample_image(sample, as_gray=as_gray), f"sample {sample}"


def _check_image_output(path: Path) -> None:
    """Fail before any computation if the output cannot be an image file in an existing folder."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise FreqlensError(f"output {path} must end in one of {', '.join(IMAGE_SUFFIXES)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FreqlensError(f"output folder does not exist: {folder}")


def _shape_text(img: np.ndarray) -> str:
    kind = "grey" if img.ndim == 2 else f"{img.shape[2]} channels"
    return f"{img.shape[0]}x{img.shape[1]}, {kind}"


def _write_text(text: str, output: Optional[Path]) -> None:
    """Print ``text`` or write it atomically to ``output``."""
    if output is None:
        sys.stdout.write(text)
        return
    from freqlens.io import atomic_path

    with atomic_path(output) as tmp:
        tmp.write_text(text)


def _read_audio_mono(path: Path, what: str) -> Tuple[np.ndarray, int]:
    from freqlens.io import read_audio

    data, fs = read_audio(path)
    if data.ndim == 2:
        if data.shape[1] != 1:
            raise FreqlensError(f"{what} must be mono; {path} has {data.shape[1]} channels")
        data = data[:, 0]
    return data, fs


def _read_signal(path: Path, fs: Optional[float], what: str) -> Tuple[np.ndarray, float]:
    """A 1-D signal from an audio file (its own rate) or a .npy / text file (rate from --fs)."""
    suffix = path.suffix.lower()
    if suffix in (".wav", ".flac", ".ogg"):
        data, rate = _read_audio_mono(path, what)
        if fs is not None and float(fs) != rate:
            raise FreqlensError(f"--fs {fs:g} contradicts the {rate} Hz sample rate of {path}")
        return data, float(rate)
    if fs is None:
        raise FreqlensError(f"{what} {path} has no sample rate; give --fs")
    if not path.is_file():
        raise FreqlensError(f"file not found: {path}")
    try:
        data = np.load(path, allow_pickle=False) if suffix == ".npy" else np.loadtxt(path, ndmin=1)
    except Exception as exc:
        raise FreqlensError(f"{what} {path} is not a readable .npy/.wav/text signal ({type(exc).__name__})")
    data = np.asarray(data)
    if data.ndim != 1 or data.dtype.kind not in "biuf":
        raise FreqlensError(f"{what} {path} must hold one column of numbers, got shape {data.shape} {data.dtype}")
    return data.astype(float), float(fs)


# --- CSV for `smooth` --------------------------------------------------------------------------------------------

def _read_table(path: Path) -> Tuple[Optional[List[str]], List[List[str]], str]:
    """Rows of a CSV / TSV / whitespace-separated file: (header or None, rows of strings, delimiter)."""
    if str(path) == "-":
        text = sys.stdin.read()
    else:
        if not path.is_file():
            raise FreqlensError(f"file not found: {path}")
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            raise FreqlensError(f"not a text table: {path}") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise FreqlensError(f"no data in {path}")
    first = lines[0]
    delim = "," if "," in first else "\t" if "\t" in first else ";" if ";" in first else None
    if delim is None:
        rows = [ln.split() for ln in lines]
    else:
        rows = [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delim)]

    def numeric(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return cell == ""

    header = None
    if not all(numeric(c) for c in rows[0]):
        header, rows = rows[0], rows[1:]
    if not rows:
        raise FreqlensError(f"no data rows in {path}")
    return header, rows, delim or " "


def _column_index(header: Optional[List[str]], n_cols: int, column: Optional[str]) -> int:
    if column is None:
        return n_cols - 1
    if header is not None and column in header:
        return header.index(column)
    try:
        idx = int(column)
    except ValueError:
        names = ", ".join(header) if header else "none (no header)"
        raise FreqlensError(f"--column {column!r} is neither a column name ({names}) nor an index") from None
    if not -n_cols <= idx < n_cols:
        raise FreqlensError(f"--column {idx} is out of range for {n_cols} column(s)")
    return idx % n_cols


# --- motif helpers -----------------------------------------------------------------------------------------------

def _read_column(path: Path, column: Optional[str]):
    """``(header, rows, delimiter, column index, float values)`` of one numeric column of a table."""
    header, rows, delim = _read_table(path)
    n_cols = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != n_cols:
            raise FreqlensError(f"data row {i + 1} has {len(r)} columns, the first has {n_cols}")
    col = _column_index(header, n_cols, column)
    values = np.empty(len(rows))
    for i, r in enumerate(rows):
        cell = r[col]
        try:
            values[i] = float(cell) if cell != "" else np.nan
        except ValueError:
            raise FreqlensError(f"data row {i + 1}, column {col}: {cell!r} is not a number") from None
    return header, rows, delim, col, values


def _read_fasta(path: Path) -> List[Tuple[str, str]]:
    if not path.is_file():
        raise FreqlensError(f"file not found: {path}")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise FreqlensError(f"not a FASTA text file: {path}") from None
    records: List[Tuple[str, List[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            records.append((line[1:].split()[0] if line[1:].split() else f"record{len(records) + 1}", []))
        else:
            if not records:
                raise FreqlensError(f"{path} is not FASTA: sequence before the first '>' header")
            records[-1][1].append(line)
    if not records:
        raise FreqlensError(f"{path} has no FASTA records")
    return [(name, "".join(parts)) for name, parts in records]


def _read_pwm(path: Path) -> np.ndarray:
    """A (width, 4) matrix from .npy, a plain numeric table (w x 4 or 4 x w) or JASPAR-style labelled rows."""
    if not path.is_file():
        raise FreqlensError(f"file not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            m = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise FreqlensError(f"not a readable .npy matrix: {path} ({type(exc).__name__})") from None
    else:
        labelled: dict = {}
        rows = []
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith(("#", ">")):
                continue
            tokens = line.replace("[", " ").replace("]", " ").replace(",", " ").split()
            if tokens and tokens[0].upper() in ("A", "C", "G", "T") and len(tokens) > 1:
                labelled[tokens[0].upper()] = tokens[1:]
            elif all(t.upper() in ("A", "C", "G", "T") for t in tokens):
                continue  # a header line "A C G T"
            else:
                rows.append(tokens)
        try:
            if labelled:
                if set(labelled) != set("ACGT"):
                    raise FreqlensError(f"{path}: labelled rows must be A, C, G and T")
                m = np.array([[float(v) for v in labelled[b]] for b in "ACGT"])
            else:
                m = np.array([[float(v) for v in r] for r in rows])
        except ValueError:
            raise FreqlensError(f"{path} is not a numeric weight matrix (rows of 4 numbers A C G T)") from None
    m = np.asarray(m, dtype=float) if np.asarray(m).dtype.kind in "biuf" else None
    if m is None or m.ndim != 2 or 4 not in m.shape:
        raise FreqlensError(f"{path}: a weight matrix needs 4 columns (A, C, G, T) or 4 rows")
    return m if m.shape[1] == 4 else m.T


# --- commands ----------------------------------------------------------------------------------------------------

def register(app: typer.Typer) -> None:
    """Add edges, blur, sharpen, reverb, smooth, matched, motif and match to the app."""

    @app.command("edges")
    def edges_cmd(
        image: Optional[Path] = ImageArg,
        sample: Optional[str] = SampleOpt,
        output: Path = ImageOut,
        operator: str = typer.Option("sobel", "--operator", help="sobel, prewitt or scharr."),
        threshold: Optional[str] = typer.Option(
            None, "--threshold", help="Write the edge mask magnitude > T (a number or 'otsu') instead of magnitude."
        ),
    ) -> None:
        """Gradient edges of a grey-level image: the magnitude (scaled to its maximum) or a thresholded mask."""
        from freqlens.conv.apps.images import edges
        from freqlens.io import write_image

        _check_image_output(output)
        thr: Optional[object] = None
        if threshold is not None:
            if threshold.strip().lower() == "otsu":
                thr = "otsu"
            else:
                try:
                    thr = float(threshold)
                except ValueError:
                    raise FreqlensError(f"--threshold must be a number or 'otsu', got {threshold!r}") from None
        img, label = _load_image(image, sample, as_gray=True)
        res = edges(img, operator=operator, threshold=thr)
        finite = res.magnitude[np.isfinite(res.magnitude)]
        top = float(finite.max()) if finite.size else 0.0
        typer.echo(f"image: {label} ({_shape_text(img)})")
        mean = float(finite.mean()) if finite.size else 0.0
        typer.echo(f"{operator} gradient magnitude: max {top:.4g}, mean {mean:.4g} (grey levels per pixel)")
        if res.mask is not None:
            what = "the Otsu threshold" if thr == "otsu" else f"{thr:g}"
            typer.echo(f"edge pixels (magnitude > {what}): {100 * res.mask.mean():.1f} %")
            write_image(output, res.mask.astype(float))
        else:
            # Most edges are far weaker than the strongest one: scale so the 99th percentile is white.
            scale = float(np.percentile(finite, 99)) if finite.size else 0.0
            scale = scale if scale > 0 else (top if top > 0 else 1.0)
            typer.echo(f"image shows magnitude / {scale:.4g} (its 99th percentile), clipped to [0, 1]")
            write_image(output, res.magnitude / scale)
        typer.echo(f"wrote {output}")

    @app.command("blur")
    def blur_cmd(
        image: Optional[Path] = ImageArg,
        sample: Optional[str] = SampleOpt,
        output: Path = ImageOut,
        sigma: Optional[float] = typer.Option(None, "--sigma", help="Gaussian standard deviation in pixels."),
        size: Optional[int] = typer.Option(None, "--size", help="Window side in pixels (box, median)."),
        kind: str = typer.Option("gaussian", "--kind", help="gaussian (needs --sigma), box or median (--size)."),
        gray: bool = typer.Option(False, "--gray", help="Convert a colour image to grey levels first."),
    ) -> None:
        """Blur an image (colour channels separately): Gaussian, box or median."""
        from freqlens.conv.apps.images import blur
        from freqlens.io import write_image

        _check_image_output(output)
        img, label = _load_image(image, sample, as_gray=gray)
        out = blur(img, sigma, size=size, kind=kind, channel_axis=-1 if img.ndim == 3 else None)
        param = f"sigma={sigma:g}" if sigma is not None else f"size={size}"
        typer.echo(f"image: {label} ({_shape_text(img)}); {kind} blur, {param}")
        write_image(output, out)
        typer.echo(f"wrote {output}")

    @app.command("sharpen")
    def sharpen_cmd(
        image: Optional[Path] = ImageArg,
        sample: Optional[str] = SampleOpt,
        output: Path = ImageOut,
        amount: float = typer.Option(1.0, "--amount", help="Strength: 0 = unchanged, 1 = detail doubled."),
        radius: float = typer.Option(2.0, "--radius", help="Gaussian standard deviation (pixels) defining detail."),
        gray: bool = typer.Option(False, "--gray", help="Convert a colour image to grey levels first."),
    ) -> None:
        """Sharpen an image by unsharp masking: I + amount * (I - gaussian(I, radius)), clipped to [0, 1]."""
        from freqlens.conv.apps.images import sharpen
        from freqlens.io import write_image

        _check_image_output(output)
        img, label = _load_image(image, sample, as_gray=gray)
        out = sharpen(img, amount, radius, channel_axis=-1 if img.ndim == 3 else None)
        clipped = float(np.mean((out < 0) | (out > 1)))
        typer.echo(f"image: {label} ({_shape_text(img)}); unsharp mask amount={amount:g}, radius={radius:g}")
        typer.echo(f"values clipped to [0, 1]: {100 * clipped:.2f} %")
        write_image(output, out)
        typer.echo(f"wrote {output}")

    @app.command("reverb")
    def reverb_cmd(
        dry: Path = typer.Argument(..., help="Dry audio file (WAV, FLAC, OGG; mono or multichannel)."),
        ir: Optional[Path] = typer.Argument(None, help="Impulse response audio file (or use --synthetic-ir)."),
        output: Path = typer.Option(..., "--output", "-o", help="Output audio file (.wav, .flac); atomic."),
        mix: float = typer.Option(0.3, "--mix", help="Wet fraction in [0, 1]."),
        synthetic_ir: Optional[float] = typer.Option(
            None, "--synthetic-ir", metavar="RT60", help="Use a synthetic room response with this RT60 (seconds)."
        ),
        drr: float = typer.Option(0.0, "--drr", help="Direct-to-reverberant ratio (dB) of --synthetic-ir."),
        seed: int = typer.Option(0, "--seed", help="Noise seed of --synthetic-ir."),
        normalize: str = typer.Option("energy", "--normalize", help="IR scaling: energy, peak or none."),
        no_tail: bool = typer.Option(False, "--no-tail", help="Cut the output to the dry length."),
    ) -> None:
        """Convolution reverb: DRY convolved with IR (or a synthetic room), mixed with DRY, peak-safe."""
        import soundfile as sf

        from freqlens.conv.apps.audio import peak_safe, reverb, synthetic_rir
        from freqlens.io import read_audio, write_audio

        if (ir is None) == (synthetic_ir is None):
            raise FreqlensError("give exactly one of IR (an impulse-response file) or --synthetic-ir RT60")
        if output.suffix.lstrip(".").upper() not in sf.available_formats():
            raise FreqlensError(f"unsupported audio format {output.suffix!r} for {output} (use .wav or .flac)")
        x, fs = read_audio(dry)
        channels = 1 if x.ndim == 1 else x.shape[1]
        if ir is not None:
            h, fs_ir = read_audio(ir)
            source = str(ir)
        else:
            h = synthetic_rir(fs, synthetic_ir, drr_db=drr, channels=channels, seed=seed)
            fs_ir = fs
            source = f"synthetic RT60 {synthetic_ir:g} s, DRR {drr:g} dB, seed {seed}"
        wet = reverb(x, h, fs_dry=fs, fs_ir=fs_ir, mix=mix, normalize=normalize, tail=not no_tail,
                     peak_limit=None)
        wet, gain = peak_safe(wet, 1.0)
        ir_channels = 1 if h.ndim == 1 else h.shape[1]
        typer.echo(f"dry: {dry} ({channels} ch, {fs} Hz, {x.shape[0] / fs:.2f} s)")
        typer.echo(f"ir: {source} ({ir_channels} ch, {fs_ir} Hz, {h.shape[0] / fs_ir:.2f} s)"
                   + (f"; resampled to {fs} Hz" if fs_ir != fs else ""))
        out_ch = 1 if wet.ndim == 1 else wet.shape[1]
        tail_text = "tail cut" if no_tail else f"tail kept, +{(wet.shape[0] - x.shape[0]) / fs:.2f} s"
        typer.echo(f"wet: mix {mix:g}, {out_ch} ch, {wet.shape[0] / fs:.2f} s ({tail_text}); "
                   + ("peak within [-1, 1], no gain applied" if gain == 1.0
                      else f"scaled by {20 * math.log10(gain):.1f} dB to keep the peak at 1"))
        write_audio(output, wet, fs)
        typer.echo(f"wrote {output}")

    @app.command("smooth")
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
        header, rows, delim, col, values = _read_column(table, column)
        if method == "moving":
            if width != int(width):
                raise FreqlensError(f"--width for a moving average must be a whole number, got {width:g}")
            smoothed = moving_average(values, int(width))
        elif method == "gaussian":
            smoothed = gaussian_smooth(values, width)
        else:
            smoothed = exponential_smooth(values, a)
        buf = _io.StringIO()
        writer = csv.writer(buf, delimiter="," if delim == " " else delim, lineterminator="\n")
        name = (header[col] if header else f"column{col}") + f"_{method}"
        if header is not None:
            writer.writerow([*header, name])
        for r, s in zip(rows, smoothed):
            writer.writerow([*r, "nan" if math.isnan(s) else f"{s:.10g}"])
        _write_text(buf.getvalue(), output)
        if output is not None:
            typer.echo(f"smoothed {len(rows)} rows ({method}); wrote {output}")

    @app.command("kde")
    def kde_cmd(
        table: Path = typer.Argument(..., help="CSV/TSV file or a plain column of numbers ('-' = stdin)."),
        column: Optional[str] = typer.Option(None, "--column", help="Column name or 0-based index (default last)."),
        bandwidth: str = typer.Option("scott", "--bandwidth", help="Kernel sigma in data units, scott or silverman."),
        points: int = typer.Option(512, "--points", help="Grid points of the estimate."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output CSV x,density (default: stdout)."),
    ) -> None:
        """Kernel density estimate of one column by convolving its histogram with a Gaussian; prints x,density."""
        from freqlens.conv.apps.timeseries import kde

        if bandwidth in ("scott", "silverman"):
            bw: object = bandwidth
        else:
            try:
                bw = float(bandwidth)
            except ValueError:
                raise FreqlensError(f"--bandwidth must be a number, scott or silverman, got {bandwidth!r}") from None
        if points < 2:
            raise FreqlensError(f"--points must be >= 2, got {points}")
        _, _, _, _, values = _read_column(table, column)
        values = values[~np.isnan(values)]
        if values.size < 2:
            raise FreqlensError("kde needs at least 2 numeric values in the column")
        grid, density = kde(values, points, bandwidth=bw)
        lines = ["x,density"] + [f"{g:.10g},{d:.10g}" for g, d in zip(grid, density)]
        _write_text("\n".join(lines) + "\n", output)
        if output is not None:
            mode = grid[int(np.argmax(density))]
            typer.echo(f"density of {values.size} values on {points} points (mode at {mode:.6g}); wrote {output}")

    @app.command("dose")
    def dose_cmd(
        doses: str = typer.Option(..., "--doses", help="Intakes as time:amount pairs, e.g. '0:100,12:100,24:100'."),
        half_life: float = typer.Option(..., "--half-life", help="Half-life of first-order elimination."),
        dt: float = typer.Option(1.0, "--dt", help="Time step of the output."),
        until: Optional[float] = typer.Option(None, "--until", help="Last time shown (default: 5 half-lives "
                                                                      "after the last intake)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output CSV time,amount (default: stdout)."),
    ) -> None:
        """Amount remaining over time: an intake schedule convolved with an exponential decay kernel."""
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
        _write_text("\n".join(lines) + "\n", output)
        if output is not None:
            typer.echo(f"peak {amount.max():.6g} at t = {int(np.argmax(amount)) * dt:g}; wrote {output}")

    @app.command("matched")
    def matched_cmd(
        received: Optional[Path] = typer.Argument(None, help="Received signal (.wav/.flac, or .npy/text with --fs)."),
        demo: bool = typer.Option(False, "--demo", help="Simulate a chirp return with three echoes and find them."),
        pulse: Optional[Path] = typer.Option(None, "--pulse", help="Transmitted pulse file (same formats)."),
        chirp: Optional[Tuple[float, float, float]] = typer.Option(
            None, "--chirp", metavar="F0 F1 DURATION", help="Transmitted linear chirp instead of --pulse."
        ),
        window: str = typer.Option("hann", "--window", help="Taper of --chirp (a scipy window name, or none)."),
        fs: Optional[float] = typer.Option(None, "--fs", help="Sample rate for .npy/text input (Hz)."),
        threshold: float = typer.Option(6.0, "--threshold", help="Detection threshold in noise standard deviations."),
        min_separation: Optional[float] = typer.Option(
            None, "--min-separation", help="Minimum seconds between echoes (default: 2x compressed pulse width)."
        ),
        snr: float = typer.Option(-10.0, "--snr", help="--demo: per-sample SNR of the echoes (dB)."),
        seed: int = typer.Option(0, "--seed", help="--demo: noise seed."),
    ) -> None:
        """Matched filter: find the echoes of a pulse in a noisy return and print their delays."""
        from freqlens.conv.apps.radar import chirp_pulse, matched_filter, simulate_echoes

        win = None if window.lower() == "none" else window
        truth = None
        if demo:
            if received is not None or pulse is not None:
                raise FreqlensError("--demo makes its own signal; do not give RECEIVED or --pulse")
            rate = 16000.0 if fs is None else fs
            f0, f1, dur = chirp if chirp is not None else (1000.0, 6000.0, 0.1)
            p = chirp_pulse(rate, dur, f0, f1, window=win)
            truth = np.array([0.05, 0.1234, 0.31])
            r = simulate_echoes(p, rate, truth, amplitudes=[1.0, 0.9, 0.8], duration=0.5, snr_db=snr, seed=seed)
            typer.echo(f"demo: {dur * 1000:g} ms chirp {f0:g}->{f1:g} Hz ({win or 'no'} window) at {rate:g} Hz; "
                       f"3 echoes (amplitudes 1, 0.9, 0.8) in 0.5 s of noise, SNR {snr:g} dB, seed {seed}")
        else:
            if received is None:
                raise FreqlensError("give a RECEIVED signal file, or --demo")
            r, rate = _read_signal(received, fs, "received")
            if (pulse is None) == (chirp is None):
                raise FreqlensError("give exactly one of --pulse FILE or --chirp F0 F1 DURATION")
            if pulse is not None:
                own_rate = pulse.suffix.lower() in (".wav", ".flac", ".ogg")  # audio files carry their rate
                p, prate = _read_signal(pulse, None if own_rate else rate, "pulse")
                if prate != rate:
                    raise FreqlensError(f"pulse sample rate {prate:g} Hz differs from received {rate:g} Hz")
            else:
                p = chirp_pulse(rate, chirp[2], chirp[0], chirp[1], window=win)
            typer.echo(f"received: {received} ({r.size} samples at {rate:g} Hz); pulse {p.size} samples")
        res = matched_filter(r, p, rate, threshold=threshold, min_separation=min_separation)
        typer.echo(f"{res.delays.size} echo(es) above {threshold:g} noise standard deviations")
        typer.echo(f"{'delay_s':>10s} {'sample':>8s} {'stat':>7s}" + (f" {'true_s':>8s} {'error':>6s}" if demo else ""))
        true_idx = None if truth is None else np.round(truth * rate).astype(int)
        for d, i, s in zip(res.delays, res.indices, res.peaks):
            line = f"{d:10.6f} {i:8d} {s:7.1f}"
            if true_idx is not None:
                j = int(np.argmin(np.abs(true_idx - i)))
                line += f" {truth[j]:8.4f} {int(i - true_idx[j]):+5d}"
            typer.echo(line)

    @app.command("motif")
    def motif_cmd(
        sequence: Optional[str] = typer.Argument(None, help="DNA sequence (A, C, G, T, N), or use --fasta."),
        fasta: Optional[Path] = typer.Option(None, "--fasta", help="FASTA file; every record is scanned."),
        motif: Optional[str] = typer.Option(None, "--motif", help="Consensus motif, e.g. TGANTCA (N = any base)."),
        pwm: Optional[Path] = typer.Option(
            None, "--pwm", help="Weight matrix file: rows A C G T per position (.npy, text, JASPAR-style)."
        ),
        log_odds: bool = typer.Option(False, "--log-odds", help="--pwm holds counts: convert to log2-odds."),
        threshold: Optional[float] = typer.Option(
            None, "--threshold", help="Minimum score (default: the motif's maximum, i.e. exact matches)."
        ),
        single_strand: bool = typer.Option(False, "--single-strand", help="Scan the forward strand only."),
    ) -> None:
        """Scan DNA for a motif or PWM on both strands; print the hits (0-based start on the + strand)."""
        from freqlens.conv.apps.dna import pwm_log_odds, reverse_complement, scan_motif

        if (sequence is None) == (fasta is None):
            raise FreqlensError("give exactly one of SEQUENCE or --fasta FILE")
        if (motif is None) == (pwm is None):
            raise FreqlensError("give exactly one of --motif ACGT... or --pwm FILE")
        if log_odds and pwm is None:
            raise FreqlensError("--log-odds applies to --pwm")
        if pwm is not None:
            matrix = _read_pwm(pwm)
            query = pwm_log_odds(matrix) if log_odds else matrix
            label = f"PWM {pwm} (width {matrix.shape[0]}{', log2-odds' if log_odds else ''})"
        else:
            query, label = motif, f"motif {motif}"
        if sequence is not None and Path(sequence).exists() and not set(sequence.upper()) <= set("ACGTN"):
            raise FreqlensError(f"{sequence!r} looks like a file; use --fasta {sequence}")
        records = [("sequence", sequence)] if sequence is not None else _read_fasta(fasta)
        width = matrix.shape[0] if pwm is not None else len(motif)
        total = 0
        rows = []
        for name, seq in records:
            try:
                hits = scan_motif(seq, query, threshold=threshold, both_strands=not single_strand)
            except FreqlensError as exc:
                if fasta is None:
                    raise
                raise FreqlensError(f"record {name}: {exc}") from None
            total += len(hits)
            for h in hits:
                site = seq[h.position:h.position + width]
                rows.append((name, h.position, h.strand, h.score,
                             site if h.strand == "+" else reverse_complement(site)))
        bases = sum(len(s) for _, s in records)
        typer.echo(f"{label}: {total} hit(s) in {len(records)} record(s), {bases} bases")
        if rows:
            w_name = max(6, max(len(r[0]) for r in rows))
            typer.echo(f"{'record':{w_name}s} {'start':>7s} strand {'score':>8s}  site (5'->3' on its strand)")
            for name, pos, strand, score, site in rows:
                typer.echo(f"{name:{w_name}s} {pos:7d} {strand:^6s} {score:8.3f}  {site}")

    @app.command("match")
    def match_cmd(
        image: Optional[Path] = typer.Argument(None, help="Image to search (grey levels)."),
        template: Optional[Path] = typer.Argument(None, help="Template image (or use --crop)."),
        sample: Optional[str] = SampleOpt,
        crop: Optional[Tuple[int, int, int, int]] = typer.Option(
            None, "--crop", metavar="ROW COL HEIGHT WIDTH", help="Cut the template out of the image itself."
        ),
        k: int = typer.Option(5, "-k", "--top", help="Number of matches to print."),
        min_distance: Optional[int] = typer.Option(
            None, "--min-distance", help="Minimum pixels between matches (default: half the template size)."
        ),
        threshold: Optional[float] = typer.Option(None, "--threshold", help="Only matches scoring at least this."),
        uncentered: bool = typer.Option(False, "--uncentered", help="Plain cosine similarity (no mean removal)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the score map as an image."),
    ) -> None:
        """Template matching by normalised cross-correlation; print the best matches (top-left row, col)."""
        from freqlens.conv.apps.matching import best_matches, match_template
        from freqlens.io import read_image, write_image

        if output is not None:
            _check_image_output(output)
        if sample is not None and image is not None and template is None:
            image, template = None, image  # `--sample NAME TEMPLATE`
        img, label = _load_image(image, sample, as_gray=True)
        if (template is None) == (crop is None):
            raise FreqlensError("give exactly one of TEMPLATE or --crop ROW COL HEIGHT WIDTH")
        if crop is not None:
            r0, c0, h, w = crop
            if h < 1 or w < 1 or r0 < 0 or c0 < 0 or r0 + h > img.shape[0] or c0 + w > img.shape[1]:
                raise FreqlensError(f"--crop {r0} {c0} {h} {w} does not fit in the {img.shape[0]}x{img.shape[1]} image")
            tmpl = img[r0:r0 + h, c0:c0 + w].copy()
            tlabel = f"crop rows {r0}:{r0 + h}, cols {c0}:{c0 + w}"
        else:
            tmpl = read_image(template, as_gray=True)
            tlabel = str(template)
        ncc = match_template(img, tmpl, centered=not uncentered)
        md = min_distance if min_distance is not None else max(1, min(tmpl.shape) // 2)
        hits = best_matches(ncc, k, min_distance=md, threshold=threshold)
        typer.echo(f"image: {label} ({_shape_text(img)}); template: {tlabel} ({tmpl.shape[0]}x{tmpl.shape[1]})")
        typer.echo(f"{'rank':>4s} {'row':>5s} {'col':>5s} {'score':>7s}")
        for rank, m in enumerate(hits, 1):
            typer.echo(f"{rank:4d} {m.row:5d} {m.col:5d} {m.score:7.4f}")
        if output is not None:
            write_image(output, (np.nan_to_num(ncc, nan=-1.0) + 1.0) / 2.0)
            typer.echo(f"wrote {output} (score map, -1 black .. 1 white)")
