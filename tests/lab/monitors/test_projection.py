import io

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from freqlens.lab.monitors.base import Monitor
from freqlens.report.figures_highdim import plot_projection_heatmap, plot_projection_spectrum
from freqlens.lab.monitors.projection import ProjectionMonitor, select_frequencies
from freqlens.spectrum.dft import nudft
from freqlens.spectrum.nufft import finufft_available


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def stripes():
    """2-D inputs, most variance along axis 0; the class is set by a square wave of frequency 0.5 along it, so
    the labels' spectrum along the first principal component has peaks at k = 0.5, 1.5, 2.5 (odd harmonics).
    Gaussian positions: their own spectrum (the class means' term) is gone by k ~ 0.3, no sinc side lobes."""
    rng = np.random.default_rng(0)
    n = 4000
    x = np.column_stack([rng.normal(size=n) * 2.0, rng.normal(size=n) * 0.3])
    labels = (np.sin(2 * np.pi * 0.5 * x[:, 0]) > 0).astype(int)
    return x, labels


@pytest.mark.parametrize("method", ["direct"] + (["finufft"] if finufft_available() else []))
def test_delta_f_equals_reference_nudft(stripes, method):
    x, labels = stripes
    mon = ProjectionMonitor(x, labels, n_freqs=300, k_max=3.0, method=method)
    assert isinstance(mon, Monitor)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(len(labels), 2))
    out = mon.record(0, torch.as_tensor(z))
    v = x @ mon.direction
    k = np.asarray(mon.tracked)
    y_hat, h_hat = nudft(v, np.eye(2)[labels], k), nudft(v, softmax(z), k)
    den = np.linalg.norm(y_hat, axis=1)
    np.testing.assert_allclose(out["delta_f"], np.linalg.norm(h_hat - y_hat, axis=1) / den, rtol=1e-7)
    np.testing.assert_allclose(out["delta_f_mag"], np.abs(np.linalg.norm(h_hat, axis=1) - den) / den, rtol=1e-6)
    np.testing.assert_allclose(mon.output_spectra[0], np.linalg.norm(nudft(v, softmax(z), mon.freqs), axis=1),
                               rtol=1e-5, atol=1e-7)


def test_closed_forms(stripes):
    x, labels = stripes
    mon = ProjectionMonitor(x, labels, outputs="probabilities", n_freqs=200, k_max=3.0)
    y = np.eye(2)[labels]
    np.testing.assert_allclose(mon.record(0, y)["delta_f"], 0.0, atol=1e-12)
    # h = y scaled around the class mean is not a probability; mixing with the uniform guess is:
    # h = a y + (1 - a)/2  ->  h_hat - y_hat = (a - 1) (y_hat - F[1/2]) and F[1/2] is tiny away from k = 0
    out = mon.record(1, 0.25 * y + 0.75 / 2)
    v = x @ mon.direction
    k = np.asarray(mon.tracked)
    ref = np.linalg.norm(-0.75 * (nudft(v, y, k) - nudft(v, np.full((len(v), 2), 0.5), k)), axis=1)
    np.testing.assert_allclose(out["delta_f"], ref / mon._den, rtol=1e-8)


def test_peaks_of_a_square_wave_are_found(stripes):
    x, labels = stripes
    mon = ProjectionMonitor(x, labels, n_freqs=301, k_max=3.0, max_peaks=3)
    assert mon.selection == "peaks"
    np.testing.assert_allclose(mon.tracked, [0.5, 1.5, 2.5], atol=0.03)
    assert abs(abs(mon.direction[0]) - 1) < 1e-3


def test_band_fallback_on_digits(digits):
    images, labels = digits
    mon = ProjectionMonitor(images, labels, max_peaks=5)
    assert mon.selection == "band" and len(mon.tracked) == 5
    assert np.all(np.diff(mon.tracked) > 0)
    assert np.all(mon.target_spectrum[mon._idx] > 2 * mon.noise_floor * 0.999)
    assert mon.noise_floor == pytest.approx(1 / np.sqrt(len(labels)))
    # the default direction is the first principal component
    flat = images.reshape(len(images), -1).astype(np.float64)
    _, _, vt = np.linalg.svd(flat - flat.mean(0), full_matrices=False)
    assert abs(abs(vt[0] @ mon.direction) - 1) < 1e-8


def test_select_frequencies_rules():
    k = np.linspace(0, 5, 51)
    decay = np.exp(-k)
    idx, how = select_frequencies(k, decay, 0.01, max_peaks=4, snr=2)
    assert how == "band"
    assert k[idx[-1]] == pytest.approx(-np.log(0.02), abs=0.1)   # band ends where the decay meets 2 x floor
    noisy = decay + 0.001 * np.cos(40 * k)                      # ripples under the floor are not peaks
    assert select_frequencies(k, noisy, 0.01, max_peaks=4)[1] == "band"


def test_state_roundtrip_and_truncate(stripes):
    x, labels = stripes
    a = ProjectionMonitor(x, labels, n_freqs=64, k_max=3.0)
    rng = np.random.default_rng(2)
    for step in (0, 10, 20):
        a.record(step, rng.normal(size=(len(labels), 2)), loss=0.1 * step)
    buf = io.BytesIO()
    np.savez(buf, **a.state_dict())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        state = dict(f)
    b = ProjectionMonitor(x, labels, n_freqs=64, k_max=3.0)
    b.load_state_dict(state)
    np.testing.assert_array_equal(a.delta_f, b.delta_f)
    assert b.steps == [0, 10, 20] and b.losses[2] == pytest.approx(2.0)
    b.truncate(10)
    assert b.steps == [0, 10] and b.delta_f.shape == (2, len(b.tracked)) and b.output_spectra.shape[0] == 2
    with pytest.raises(ValueError, match="frequencies|grid"):
        ProjectionMonitor(x, labels, n_freqs=80, k_max=3.0).load_state_dict(state)


def test_bad_input(stripes):
    x, labels = stripes
    with pytest.raises(ValueError, match="direction"):
        ProjectionMonitor(x, labels, direction=[1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="direction"):
        ProjectionMonitor(x, labels, direction=[0.0, 0.0])
    with pytest.raises(ValueError, match="freqs"):
        ProjectionMonitor(x, labels, freqs=[0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        ProjectionMonitor(np.where(x > 3.9, np.nan, x), labels)
    with pytest.raises(ValueError, match="outputs"):
        ProjectionMonitor(x, labels, outputs="scores")
    mon = ProjectionMonitor(x, labels, n_freqs=32, k_max=3.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        mon.record(0, np.full((len(labels), 2), np.inf))
    with pytest.raises(ValueError, match="shape"):
        mon.record(0, np.zeros((10, 2)))


def test_figures_draw_the_data(stripes):
    steps = [0, 10, 20, 30]
    freqs = [0.5, 1.5, 2.5]
    df = np.array([[1.0, 1.0, 1.0], [0.05, 0.5, 0.9], [0.01, 0.08, 0.5], [0.01, 0.02, 0.3]])
    fig = plot_projection_heatmap(steps, freqs, df, convergence={0.5: 10, 1.5: 20, 2.5: None}, threshold=0.1)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(3, 4), np.clip(df.T, 0.01, 1.0))
    marks = [line for line in ax.get_lines() if len(line.get_xdata())]
    assert [(float(m.get_xdata()[0]), float(m.get_ydata()[0])) for m in marks[:2]] == [(10.0, 0.0), (20.0, 1.0)]
    fig2 = plot_projection_spectrum(np.linspace(0, 3, 50), np.exp(-np.linspace(0, 3, 50)),
                                    np.exp(-2 * np.linspace(0, 3, 50))[None], labels=["step 10"], tracked=[1.0],
                                    noise_floor=0.01)
    assert len(fig2.axes[0].get_lines()) == 4


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_digits_low_frequencies_converge_first(digits, trainer, kind):
    images, labels = digits
    mon = ProjectionMonitor(images, labels, max_peaks=6, threshold=0.1, hold=3)
    trainer(kind, images, labels, [mon], steps=160 if kind == "mlp" else 100, every=5,
            lr=1e-3 if kind == "mlp" else 3e-3)
    conv = mon.convergence_steps()
    steps = [conv[k] if conv[k] is not None else 10**9 for k in mon.tracked]
    assert steps[0] < 10**9                      # the lowest frequency converges within the budget
    assert steps[0] < steps[-1]                  # ... before the highest
    assert np.mean(steps[:3]) < np.mean(steps[3:])
    rho = spearmanr(mon.tracked, steps).statistic
    assert rho > 0.8, (steps, rho)


@pytest.mark.parametrize("module", ["freqlens.lab.monitors.projection", "freqlens.lab.monitors.filtering",
                                    "freqlens.lab.monitors.classes"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
