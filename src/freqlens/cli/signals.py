"""CLI of the signal applications: ``reverb`` (convolution reverb) and ``matched`` (matched filtering of echoes).

Each command parses, calls :mod:`freqlens.conv.apps` (audio, radar), prints, and writes through :mod:`freqlens.io`
(atomic). Bad input raises :class:`freqlens.FreqlensError`, which ``freqlens.cli.main`` prints as one line with
exit code 2. Only typer and the standard library load with this module; the rest loads when a command runs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Tuple

import typer

from freqlens.errors import FreqlensError


def register(app: typer.Typer) -> None:
    """Add ``reverb`` and ``matched`` to the app."""
    app.command("reverb")(reverb_cmd)
    app.command("matched")(matched_cmd)


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
    import numpy as np

    from freqlens.conv.apps.radar import chirp_pulse, matched_filter, simulate_echoes
    from freqlens.io import read_signal

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
        r, rate = read_signal(received, fs, what="received")
        if (pulse is None) == (chirp is None):
            raise FreqlensError("give exactly one of --pulse FILE or --chirp F0 F1 DURATION")
        if pulse is not None:
            own_rate = pulse.suffix.lower() in (".wav", ".flac", ".ogg")  # audio files carry their rate
            p, prate = read_signal(pulse, None if own_rate else rate, what="pulse")
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
