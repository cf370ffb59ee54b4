"""Convolution reverb with a synthetic room impulse response.

Run offline (the dry signal is synthesised: three plucked notes):

    python examples/reverb.py [OUT.png] [--wav]

Top: the synthetic impulse response (a direct impulse then exponentially decaying noise, RT60 = 0.8 s) and its
Schroeder energy decay curve, whose straight-line fit between -5 and -35 dB recovers the RT60. Bottom: the dry
and wet (mix 0.5) waveforms, and their spectrograms: the reverb smears each note in time. With ``--wav`` the
dry and wet signals are also written as dry.wav and wet.wav next to the figure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy import signal

from freqlens.conv.apps.audio import reverb, synthetic_rir

FS = 16000


def plucked_notes(fs: int) -> np.ndarray:
    """Three decaying harmonic notes (A3, C#4, E4) starting at 0.1, 0.6 and 1.1 s, in 2 s."""
    t = np.arange(2 * fs) / fs
    x = np.zeros_like(t)
    for start, f0 in ((0.1, 220.0), (0.6, 277.18), (1.1, 329.63)):
        tau = np.clip(t - start, 0, None)
        on = t >= start
        note = sum(np.sin(2 * np.pi * k * f0 * tau) / k for k in range(1, 6)) * np.exp(-tau / 0.12)
        x += on * note
    return 0.5 * x / np.abs(x).max()


def main(out: str = "reverb.png", *flags: str) -> None:
    rt60 = 0.8
    ir = synthetic_rir(FS, rt60, drr_db=-6.0, seed=0)
    dry = plucked_notes(FS)
    wet = reverb(dry, ir, fs_dry=FS, mix=0.5)

    # Schroeder backward integration and a line fit from -5 to -35 dB (T30, extrapolated to 60 dB).
    edc = np.cumsum(ir[::-1] ** 2)[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    t_ir = np.arange(ir.size) / FS
    sel = (edc_db <= -5) & (edc_db >= -35)
    slope, intercept = np.polyfit(t_ir[sel], edc_db[sel], 1)
    rt60_est = -60 / slope

    fig = Figure(figsize=(14, 8.5), layout="constrained")
    (a_ir, a_edc), (a_wave, a_spec) = fig.subplots(2, 2)
    a_ir.plot(t_ir * 1000, ir, lw=0.6, color="tab:gray", label="h[n]")
    # Standard deviation of the tail: g * 10**(-3 t / RT60), with sum g**2 10**(-6 n / (fs RT60)) = 10**(-DRR/10).
    envelope = np.sqrt(10 ** (6.0 / 10) * 6 * np.log(10) / (FS * rt60)) * 10 ** (-3 * t_ir / rt60)
    a_ir.plot(t_ir * 1000, 2 * envelope, color="tab:red", lw=1.5, label="2 x tail std, -60 dB at RT60")
    a_ir.plot(t_ir * 1000, -2 * envelope, color="tab:red", lw=1.5)
    a_ir.set_xlim(-10, 1000 * rt60)
    a_ir.set_ylim(-0.3, 0.3)
    a_ir.annotate("direct impulse h[0] = 1 (off the scale)", xy=(0, 0.295), xytext=(80, 0.25),
                  arrowprops={"arrowstyle": "->"})
    a_ir.set_xlabel("time (ms)")
    a_ir.set_title(f"synthetic room impulse response: RT60 {rt60} s, DRR -6 dB, {FS} Hz")
    a_ir.legend(loc="lower right")

    a_edc.plot(t_ir, edc_db, lw=2, label="Schroeder decay curve")
    a_edc.plot(t_ir, slope * t_ir + intercept, "--", color="tab:red",
               label=f"fit -5..-35 dB: RT60 = {rt60_est:.3f} s")
    a_edc.axhline(-60, color="k", lw=0.8)
    a_edc.set_ylim(-80, 2)
    a_edc.set_xlabel("time (s)")
    a_edc.set_ylabel("energy remaining (dB)")
    a_edc.set_title("energy decay: a straight line in dB (exponential decay)")
    a_edc.legend()

    t_dry = np.arange(dry.size) / FS
    t_wet = np.arange(wet.size) / FS
    a_wave.plot(t_dry, dry + 0.6, lw=0.5, color="tab:blue", label="dry (offset +0.6)")
    a_wave.plot(t_wet, wet - 0.6, lw=0.5, color="tab:orange", label="wet, mix 0.5, tail kept (offset -0.6)")
    a_wave.set_yticks([])
    a_wave.set_xlabel("time (s)")
    a_wave.set_title(f"waveforms: dry {dry.size / FS:.1f} s -> wet {wet.size / FS:.2f} s, "
                     f"peak {np.abs(wet).max():.2f}")
    a_wave.legend(loc="center right")

    both = np.concatenate([np.pad(dry, (0, wet.size - dry.size)), np.zeros(FS // 10), wet])
    f, t, sxx = signal.spectrogram(both, FS, nperseg=1024, noverlap=768)
    a_spec.pcolormesh(t, f, 10 * np.log10(sxx + 1e-12), vmin=-110, vmax=-30, shading="auto", cmap="magma")
    a_spec.axvline(wet.size / FS + 0.05, color="w", lw=2)
    a_spec.set_ylim(0, 2000)
    a_spec.set_xlabel("time (s): dry | wet")
    a_spec.set_ylabel("frequency (Hz)")
    a_spec.set_title("spectrograms (dB): the reverb smears each note in time")
    fig.suptitle("freqlens.conv.apps.audio: convolution reverb", fontsize=15)
    fig.savefig(out, dpi=80)
    print(f"RT60 requested {rt60} s, Schroeder estimate {rt60_est:.3f} s; wet peak {np.abs(wet).max():.3f}")
    print(f"wrote {out}")
    if "--wav" in flags:
        from freqlens.io import write_audio

        folder = Path(out).parent
        write_audio(folder / "dry.wav", dry, FS)
        write_audio(folder / "wet.wav", wet, FS)
        print(f"wrote {folder / 'dry.wav'} and {folder / 'wet.wav'}")


if __name__ == "__main__":
    positional = [a for a in sys.argv[1:] if not a.startswith("--")]
    options = [a for a in sys.argv[1:] if a.startswith("--")]
    main(positional[0] if positional else "reverb.png", *options)
