"""Chirp pulses and matched filtering: echo delays recovered from noisy returns."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import signal

from freqlens import FreqlensError
from freqlens.conv.apps import radar
from freqlens.conv.apps.radar import chirp_pulse, matched_filter, simulate_echoes

FS = 16000
PULSE = chirp_pulse(FS, 0.1, 1000, 6000, window="hann")  # 1600 samples, 5 kHz sweep
DELAYS = np.array([0.05, 0.1234, 0.31])
AMPS = np.array([1.0, 0.9, 0.8])


def test_doctests():
    assert doctest.testmod(radar).failed == 0


def test_chirp_pulse_is_scipy_chirp_times_the_window():
    t = np.arange(1600) / FS
    expected = signal.chirp(t, 1000, 0.1, 6000) * signal.windows.hann(1600, sym=True)
    np.testing.assert_allclose(PULSE, expected, atol=1e-12)


def test_chirp_instantaneous_frequency_sweeps_f0_to_f1():
    p = chirp_pulse(FS, 0.1, 1000, 6000)
    phase = np.unwrap(np.angle(signal.hilbert(p)))
    inst = np.diff(phase) * FS / (2 * np.pi)
    mid = inst[100:-100]  # the Hilbert transform is off at the ends
    expected = 1000 + 5000 * (np.arange(100, 1499) + 0.5) / 1600
    assert np.max(np.abs(mid - expected)) < 60  # Hz


def test_simulate_echoes_noise_level_matches_the_snr():
    r = simulate_echoes(PULSE, FS, [], duration=2.0, snr_db=-10, seed=1)
    assert np.var(r) == pytest.approx(np.mean(PULSE**2) * 10.0, rel=0.02)


@pytest.mark.parametrize("seed", range(8))
def test_three_echoes_at_minus_10_db_are_found_within_one_sample(seed):
    r = simulate_echoes(PULSE, FS, DELAYS, amplitudes=AMPS, duration=0.5, snr_db=-10, seed=seed)
    res = matched_filter(r, PULSE, FS)
    assert res.indices.size == 3, res.indices
    assert np.max(np.abs(res.indices - np.round(DELAYS * FS))) <= 1
    np.testing.assert_allclose(res.delays, res.indices / FS)
    assert np.all(res.peaks > 6.0)


def test_noise_free_delays_are_exact_and_the_peak_is_the_correlation_maximum():
    r = simulate_echoes(PULSE, FS, [0.02], duration=0.3)
    res = matched_filter(r, PULSE, FS)
    assert list(res.indices) == [320]
    brute = np.correlate(r, PULSE, mode="full")[PULSE.size - 1:]  # c[k] = sum_j r[k + j] p[j]
    assert np.argmax(np.abs(brute)) == 320


def test_sidelobe_blanking_removes_sidelobes_of_clean_returns_but_keeps_weak_echoes():
    plain = chirp_pulse(FS, 0.1, 1000, 6000)  # untapered: -13 dB range sidelobes
    r = simulate_echoes(plain, FS, DELAYS, amplitudes=AMPS, duration=0.5)
    res = matched_filter(r, plain, FS)
    np.testing.assert_array_equal(res.indices, np.round(DELAYS * FS))
    assert matched_filter(r, plain, FS, sidelobe_margin=None).indices.size > 3  # the sidelobes pass otherwise
    weak = simulate_echoes(PULSE, FS, DELAYS, amplitudes=[1.0, 0.01, 0.8], duration=0.5)  # a -40 dB echo
    np.testing.assert_array_equal(matched_filter(weak, PULSE, FS).indices, np.round(DELAYS * FS))


def test_noise_alone_gives_no_echoes_and_a_calibrated_statistic():
    for seed in range(5):
        r = simulate_echoes(PULSE, FS, [], duration=1.0, snr_db=-10, seed=seed)
        res = matched_filter(r, PULSE, FS)
        assert res.indices.size == 0
        # For noise alone the statistic is Rayleigh(1): median sqrt(2 ln 2), mean sqrt(pi / 2).
        assert np.mean(res.output) == pytest.approx(np.sqrt(np.pi / 2), rel=0.05)


def test_max_echoes_keeps_the_strongest_and_min_separation_merges():
    r = simulate_echoes(PULSE, FS, DELAYS, amplitudes=[0.5, 1.0, 0.8], duration=0.5, snr_db=0, seed=3)
    res = matched_filter(r, PULSE, FS, max_echoes=2)
    np.testing.assert_array_equal(res.indices, np.round(DELAYS[1:] * FS))
    merged = matched_filter(r, PULSE, FS, min_separation=0.1)  # 0.05 and 0.1234 are closer than 0.1 s
    assert np.round(DELAYS[0] * FS) not in merged.indices and merged.indices.size == 2


def test_echo_running_past_the_end_is_still_found():
    r = simulate_echoes(PULSE, FS, [0.45], duration=0.5, snr_db=-5, seed=0)  # only 800 of 1600 samples fit
    res = matched_filter(r, PULSE, FS)
    assert list(res.indices) == [7200]


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: chirp_pulse(FS, 0.1, 1000, 9000), "f1"),
        (lambda: chirp_pulse(FS, 0.1, -5, 2000), "f0"),
        (lambda: chirp_pulse(FS, 1e-5, 100, 2000), "duration"),
        (lambda: chirp_pulse(FS, 0.1, 100, 2000, window="nonsense"), "window"),
        (lambda: chirp_pulse(FS, 0.1, 100, 2000, method="cubic"), "method"),
        (lambda: matched_filter(np.ones(10), PULSE, FS), "longer"),
        (lambda: matched_filter(np.r_[np.nan, np.zeros(2000)], PULSE, FS), "received contains NaN"),
        (lambda: matched_filter(np.zeros(2000), np.zeros(10), FS), "pulse is all zeros"),
        (lambda: matched_filter(np.zeros(2000), PULSE, 0), "fs"),
        (lambda: matched_filter(np.zeros(2000), PULSE, FS, threshold=-1), "threshold"),
        (lambda: matched_filter(np.zeros((2, 2000)), PULSE, FS), "received"),
        (lambda: simulate_echoes(PULSE, FS, [0.1, -0.1], duration=1.0), "delays"),
        (lambda: simulate_echoes(PULSE, FS, [0.1], amplitudes=[1, 2], duration=1.0), "amplitudes"),
    ],
)
def test_bad_input_raises_freqlens_error(call, match):
    with pytest.raises(FreqlensError, match=match):
        call()
