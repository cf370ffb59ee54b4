import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens.lab.monitors.frequency import FrequencyMonitor, convergence_step
from freqlens.spectrum import periodic_grid

X = periodic_grid(64)
Y = np.sin(X) + np.sin(3 * X) + np.sin(5 * X)


def test_delta_f_closed_forms():
    mon = FrequencyMonitor(Y)
    assert mon.freqs == [1, 3, 5]
    np.testing.assert_allclose(mon.record(0, Y)["delta_f"], 0, atol=1e-12)          # exact fit
    np.testing.assert_allclose(mon.record(1, np.zeros(64))["delta_f"], 1, atol=1e-12)  # nothing learned
    half = mon.record(2, 0.5 * Y)
    np.testing.assert_allclose(half["delta_f"], 0.5, atol=1e-12)


def test_complex_and_magnitude_forms_differ_by_phase():
    phi = 0.7
    mon = FrequencyMonitor(np.sin(3 * X), freqs=[3])
    out = mon.record(0, np.sin(3 * X + phi))
    # |e^{i phi} - 1| = 2 |sin(phi / 2)|; magnitudes equal, so the magnitude form is 0
    assert out["delta_f"][0] == pytest.approx(2 * abs(np.sin(phi / 2)), abs=1e-12)
    assert out["delta_f_mag"][0] == pytest.approx(0.0, abs=1e-12)


def test_record_accepts_torch_column_and_builds_frames():
    mon = FrequencyMonitor(Y)
    for step, scale in [(0, 0.0), (10, 0.9), (20, 1.0)]:
        mon.record(step, torch.as_tensor(scale * Y, dtype=torch.float32).unsqueeze(1), loss=1 - scale)
    df = mon.delta_f
    assert list(df.index) == [0, 10, 20] and list(df.columns) == [1, 3, 5]
    np.testing.assert_allclose(df.loc[10].to_numpy(), 0.1, atol=1e-6)
    assert mon.outputs.shape == (3, 64)
    mon.truncate(10)
    assert mon.steps == [0, 10] and mon.outputs.shape == (2, 64)


def test_bad_monitor_input():
    with pytest.raises(ValueError, match="no energy"):
        FrequencyMonitor(np.sin(X), freqs=[2])
    with pytest.raises(ValueError, match="outside"):
        FrequencyMonitor(np.sin(X), freqs=[40])
    with pytest.raises(ValueError, match="spectral peak"):
        FrequencyMonitor(np.ones(16))
    mon = FrequencyMonitor(np.sin(X))
    with pytest.raises(ValueError, match="64"):
        mon.record(0, np.zeros(10))


def _brute(steps, values, thr, hold):
    for i in range(len(values) - hold + 1):
        if all(v < thr for v in values[i:i + hold]):
            return steps[i]
    return None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), max_size=40), st.integers(1, 6), st.floats(0.05, 0.9))
def test_convergence_rule_matches_brute_force(values, hold, thr):
    steps = [10 * i for i in range(len(values))]
    assert convergence_step(steps, values, thr, hold) == _brute(steps, values, thr, hold)


def test_convergence_rule_needs_the_whole_hold():
    steps = list(range(0, 200, 10))
    vals = [1.0] * 5 + [0.01] * 9 + [0.2] + [0.01] * 5
    assert convergence_step(steps, vals, 0.05, 10) is None
    assert convergence_step(steps, vals, 0.05, 5) == 50
