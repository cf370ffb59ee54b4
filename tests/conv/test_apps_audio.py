"""Convolution reverb and the synthetic room impulse response."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import signal

from freqlens import FreqlensError
from freqlens.conv.apps import audio
from freqlens.conv.apps.audio import peak_safe, reverb, synthetic_rir

RNG = np.random.default_rng(7)
DRY = 0.3 * RNG.standard_normal(3000)
DRY2 = 0.3 * RNG.standard_normal((3000, 2))
IR = synthetic_rir(8000, 0.05, seed=3)          # 400 samples
IR2 = synthetic_rir(8000, 0.05, channels=2, seed=4)


def test_doctests():
    assert doctest.testmod(audio).failed == 0


def reference(dry, ir, mix):
    """(1 - mix) * dry + mix * (dry * ir / ||ir||), tail kept; 1-D numpy only."""
    wet = np.convolve(dry, ir / np.linalg.norm(ir))
    out = mix * wet
    out[: dry.size] += (1 - mix) * dry
    return out


@pytest.mark.parametrize("mix", [0.0, 0.3, 1.0])
def test_reverb_mono_equals_numpy_convolve_formula(mix):
    out = reverb(DRY, IR, fs_dry=8000, mix=mix, peak_limit=None)
    assert out.shape == (DRY.size + IR.size - 1,)
    np.testing.assert_allclose(out, reference(DRY, IR, mix), atol=1e-12)


def test_reverb_without_tail_is_the_first_n_samples():
    full = reverb(DRY, IR, fs_dry=8000, peak_limit=None)
    cut = reverb(DRY, IR, fs_dry=8000, peak_limit=None, tail=False)
    assert cut.shape == DRY.shape
    np.testing.assert_array_equal(cut, full[: DRY.size])


def test_mono_ir_on_stereo_dry_applies_to_each_channel():
    out = reverb(DRY2, IR, fs_dry=8000, mix=0.4, peak_limit=None)
    assert out.shape == (3000 + 400 - 1, 2)
    for c in range(2):
        np.testing.assert_allclose(out[:, c], reference(DRY2[:, c], IR, 0.4), atol=1e-12)
    # A one-column IR is mono too.
    np.testing.assert_allclose(reverb(DRY2, IR[:, None], fs_dry=8000, mix=0.4, peak_limit=None), out, atol=1e-12)


def test_stereo_ir_on_mono_dry_gives_stereo():
    out = reverb(DRY, IR2, fs_dry=8000, mix=1.0, normalize="none", peak_limit=None)
    assert out.shape == (3399, 2)
    for c in range(2):
        np.testing.assert_allclose(out[:, c], np.convolve(DRY, IR2[:, c]), atol=1e-12)
    one_column = reverb(DRY[:, None], IR2, fs_dry=8000, mix=1.0, normalize="none", peak_limit=None)
    np.testing.assert_allclose(one_column, out, atol=1e-12)


def test_stereo_on_stereo_is_channel_by_channel_and_energy_normalised_jointly():
    out = reverb(DRY2, IR2, fs_dry=8000, mix=1.0, peak_limit=None)
    scale = np.sqrt(np.sum(IR2**2) / 2)  # average energy per channel -> 1, balance kept
    for c in range(2):
        np.testing.assert_allclose(out[:, c], np.convolve(DRY2[:, c], IR2[:, c] / scale), atol=1e-12)


def test_channel_mismatch_is_refused_clearly():
    with pytest.raises(FreqlensError, match="channel mismatch: dry has 2 channels and ir has 3"):
        reverb(DRY2, RNG.standard_normal((50, 3)), fs_dry=8000)


def test_differing_rates_resample_the_ir_to_the_dry_rate():
    # An IR that is a pure 10 ms delay at 16 kHz must delay a 48 kHz signal by 480 samples.
    ir = np.zeros(400)
    ir[160] = 1.0
    dry = np.zeros(2000)
    dry[100] = 1.0
    out = reverb(dry, ir, fs_dry=48000, fs_ir=16000, mix=1.0, normalize="peak", peak_limit=None)
    assert np.argmax(np.abs(out)) == 100 + 480
    assert out.size == 2000 + 3 * 400 - 1
    expected = reverb(dry, signal.resample_poly(ir, 3, 1), fs_dry=48000, mix=1.0, normalize="peak",
                      peak_limit=None)
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_energy_normalisation_keeps_white_noise_power():
    noise = np.random.default_rng(0).standard_normal(200_000)
    wet = reverb(noise, IR, fs_dry=8000, mix=1.0, tail=False, peak_limit=None)
    assert np.var(wet[IR.size:]) == pytest.approx(1.0, rel=0.03)


def test_peak_normalisation_and_peak_safety():
    impulse = np.zeros(500)
    impulse[0] = 1.0
    out = reverb(impulse, IR, fs_dry=8000, mix=1.0, normalize="peak", peak_limit=None)
    assert np.max(np.abs(out)) == pytest.approx(1.0)
    loud = 0.9 * np.sign(RNG.standard_normal(4000))  # a loud square-ish signal makes the wet part exceed 1
    raw = reverb(loud, IR, fs_dry=8000, mix=0.8, peak_limit=None)
    assert np.max(np.abs(raw)) > 1.5
    safe = reverb(loud, IR, fs_dry=8000, mix=0.8)
    assert np.max(np.abs(safe)) == pytest.approx(1.0)
    gain = np.max(np.abs(safe)) / np.max(np.abs(raw))
    np.testing.assert_allclose(safe, gain * raw, atol=1e-12)  # one linear gain, no clipping


def test_peak_safe_never_amplifies():
    y, g = peak_safe([0.1, -0.2])
    assert g == 1.0 and np.array_equal(y, [0.1, -0.2])
    y, g = peak_safe(np.zeros(3))
    assert g == 1.0


# --- synthetic room impulse response -----------------------------------------------------------------------------

def schroeder_rt60(h, fs):
    """RT60 from the Schroeder backward-integrated decay curve, fitted between -5 and -35 dB (T30 x 2)."""
    edc = np.cumsum(h[::-1] ** 2)[::-1]
    db = 10 * np.log10(edc / edc[0])
    sel = (db <= -5) & (db >= -35)
    slope = np.polyfit(np.arange(h.size)[sel] / fs, db[sel], 1)[0]  # dB per second
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.3, 0.8])
def test_synthetic_rir_decays_at_the_requested_rt60(rt60):
    fs = 16000
    h = synthetic_rir(fs, rt60, length=int(1.5 * rt60 * fs), drr_db=-20, seed=11)
    assert schroeder_rt60(h[1:], fs) == pytest.approx(rt60, rel=0.05)


@pytest.mark.parametrize("drr_db", [-10.0, 0.0, 6.0])
def test_synthetic_rir_direct_to_reverberant_ratio_is_exact(drr_db):
    h = synthetic_rir(8000, 0.4, drr_db=drr_db, channels=2, seed=5)
    assert h.shape == (3200, 2)
    np.testing.assert_array_equal(h[0], [1.0, 1.0])
    ratio_db = 10 * np.log10(1.0 / np.sum(h[1:] ** 2, axis=0))
    np.testing.assert_allclose(ratio_db, drr_db, atol=1e-9)


def test_synthetic_rir_is_reproducible_and_channels_are_decorrelated():
    a = synthetic_rir(8000, 0.5, seed=1)
    np.testing.assert_array_equal(a, synthetic_rir(8000, 0.5, seed=1))
    np.testing.assert_array_equal(a, synthetic_rir(8000, 0.5, seed=np.random.default_rng(1)))
    assert not np.array_equal(a, synthetic_rir(8000, 0.5, seed=2))
    st = synthetic_rir(8000, 0.5, channels=2, seed=1)
    corr = np.corrcoef(st[1:, 0], st[1:, 1])[0, 1]
    assert abs(corr) < 0.1


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: reverb(np.array([0.1, np.nan]), IR, fs_dry=8000), "dry contains NaN"),
        (lambda: reverb(DRY, np.array([1.0, np.inf]), fs_dry=8000), "ir contains NaN"),
        (lambda: reverb(DRY, IR, fs_dry=8000, mix=1.5), "mix"),
        (lambda: reverb(DRY, IR, fs_dry=0), "fs_dry"),
        (lambda: reverb(DRY, IR, fs_dry=8000.5), "fs_dry"),
        (lambda: reverb(DRY, IR, fs_dry=8000, fs_ir=-1), "fs_ir"),
        (lambda: reverb(DRY, IR, fs_dry=8000, normalize="rms"), "normalize"),
        (lambda: reverb(DRY, np.zeros(10), fs_dry=8000), "ir is all zeros"),
        (lambda: reverb(np.zeros((3, 3, 3)), IR, fs_dry=8000), "dry"),
        (lambda: reverb([], IR, fs_dry=8000), "dry is empty"),
        (lambda: reverb(DRY, IR, fs_dry=8000, peak_limit=0), "limit"),
        (lambda: synthetic_rir(8000, 0.0), "rt60"),
        (lambda: synthetic_rir(0, 0.5), "fs"),
        (lambda: synthetic_rir(8000, 0.5, length=1), "length"),
        (lambda: synthetic_rir(8000, 0.5, channels=0), "channels"),
        (lambda: synthetic_rir(8000, 0.5, drr_db=float("nan")), "drr_db"),
        (lambda: synthetic_rir(48000, 1e9), "memory"),  # refused before allocating 48e12 samples
    ],
)
def test_bad_input_raises_freqlens_error(call, match):
    with pytest.raises(FreqlensError, match=match):
        call()
