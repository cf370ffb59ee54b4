"""The image-band monitor: ΔF per radial band against closed forms and a brute-force reference, PSNR, snapshots,
persistence and resume, the figures, and the Frequency Principle on an image (low bands first)."""

import doctest
import importlib

import numpy as np
import pytest
import skimage.metrics
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from freqlens.lab.monitors.base import Monitor, convergence_step
from freqlens.report.figures_image import (
    error_spectrum_db,
    plot_band_heatmap,
    plot_psnr,
    plot_reconstructions,
    write_training_gif,
)
from freqlens.lab.monitors.image_bands import ImageBandMonitor, psnr, snapshot_schedule

N = 32
YY, XX = np.mgrid[:N, :N]
LOW = np.cos(2 * np.pi * 2 * XX / N)                 # ρ = 2/32 = 0.0625 cycles/pixel
HIGH = np.cos(2 * np.pi * 12 * YY / N)               # ρ = 12/32 = 0.375
TARGET = 0.5 + 0.2 * LOW + 0.2 * HIGH


def brute_force_delta_f(h, y, edges):
    """Reference: full complex 2-D DFT (numpy), radial frequency from fftfreq, one band at a time."""
    h = h if h.ndim == 3 else h[..., None]
    y = y if y.ndim == 3 else y[..., None]
    H, W = y.shape[:2]
    rho = np.hypot(*np.meshgrid(np.fft.fftfreq(H), np.fft.fftfreq(W), indexing="ij"))
    E = np.fft.fft2(h - y, axes=(0, 1))
    Y = np.fft.fft2(y, axes=(0, 1))
    out = []
    for b in range(len(edges) - 1):
        inside = (rho >= edges[b]) & ((rho < edges[b + 1]) | ((b == len(edges) - 2) & (rho == edges[-1])))
        out.append(np.sqrt((np.abs(E[inside]) ** 2).sum() / (np.abs(Y[inside]) ** 2).sum()))
    return np.array(out)


# -- ΔF per band ---------------------------------------------------------------------------------------------
def test_delta_f_closed_forms():
    mon = ImageBandMonitor(TARGET, edges=[0, 0.25, 0.5])       # the low tone and DC in band 0, the high in band 1
    np.testing.assert_allclose(mon.record(0, TARGET)["delta_f_band"], 0, atol=1e-12)
    np.testing.assert_allclose(mon.record(1, 0.5 + 0.2 * LOW)["delta_f_band"], [0, 1], atol=1e-12)
    np.testing.assert_allclose(mon.record(2, TARGET - 0.1 * HIGH)["delta_f_band"], [0, 0.5], atol=1e-12)
    # band 0 holds DC (0.5 → 0.5·N² in bin 0) and the low tone (0.2 → 0.1·N² in bins ±2): error 0.1·LOW
    half_low = mon.record(3, TARGET - 0.1 * LOW)["delta_f_band"]
    den = np.sqrt((0.5 * N * N) ** 2 + 2 * (0.1 * N * N) ** 2)
    np.testing.assert_allclose(half_low[0], np.sqrt(2 * (0.05 * N * N) ** 2) / den, rtol=1e-12)


def test_bands_without_target_energy_are_refused():
    with pytest.raises(ValueError, match=r"band \[0.125, 0.25\) cycles/pixel holds no energy"):
        ImageBandMonitor(TARGET, n_bands=4)


def test_phase_errors_count():
    phi = 0.7
    shifted = 0.5 + 0.2 * LOW + 0.2 * np.cos(2 * np.pi * 12 * YY / N + phi)
    mon = ImageBandMonitor(TARGET, edges=[0, 0.25, 0.5])
    out = mon.record(0, shifted)["delta_f_band"]
    assert out[1] == pytest.approx(2 * abs(np.sin(phi / 2)), abs=1e-12)     # |e^{iφ} − 1|
    assert out[0] == pytest.approx(0, abs=1e-12)


@given(st.integers(4, 13), st.integers(4, 13), st.sampled_from([1, 3]), st.integers(1, 3), st.integers(0, 10**6))
@settings(max_examples=40, deadline=None)
def test_delta_f_matches_the_full_spectrum_reference(H, W, C, n_bands, seed):
    """The half spectrum (rfft2) with its mirrored columns counted twice equals the full DFT, odd and even sizes."""
    rng = np.random.default_rng(seed)
    y = rng.random((H, W, C)) if C > 1 else rng.random((H, W))
    h = y + 0.3 * rng.standard_normal(y.shape)
    edges = np.linspace(0, 0.5, n_bands + 1)
    if n_bands == 3 and max(H, W) < 6:
        return                                            # a band may hold no bin; covered by its own test
    mon = ImageBandMonitor(y, edges=edges)
    np.testing.assert_allclose(mon.record(0, h)["delta_f_band"], brute_force_delta_f(h, y, edges), rtol=1e-10)


def test_last_band_holds_the_nyquist_bins_and_corners_need_edges():
    y = 0.5 + 0.25 * np.cos(np.pi * XX)                  # (−1)^x: all energy at f_x = 0.5, ρ = 0.5 exactly
    mon = ImageBandMonitor(y, n_bands=2)
    assert mon.record(0, np.full((N, N), 0.5))["delta_f_band"][1] == pytest.approx(1.0, abs=1e-12)
    corner = 0.5 + 0.25 * np.cos(np.pi * (XX + YY))      # ρ = √2/2: outside the default bands, inside these
    mon = ImageBandMonitor(corner, edges=[0, 0.25, np.sqrt(0.5)])
    assert mon.record(0, np.full((N, N), 0.5))["delta_f_band"][1] == pytest.approx(1.0, abs=1e-12)
    assert int(mon.band_bins.sum()) == N * N                           # every bin in some band


def test_accepts_flat_column_torch_and_rejects_wrong_sizes():
    mon = ImageBandMonitor(TARGET, n_bands=2)
    a = mon.record(0, TARGET.ravel())["delta_f_band"]
    b = mon.record(1, torch.as_tensor(TARGET.reshape(-1, 1), dtype=torch.float32))["delta_f_band"]
    np.testing.assert_allclose(a, 0, atol=1e-12)
    np.testing.assert_allclose(b, 0, atol=1e-6)
    with pytest.raises(ValueError, match="1000 values"):
        mon.record(2, np.zeros(1000))


@pytest.mark.parametrize("kwargs,match", [
    ({"edges": [0.3, 0.2]}, "increasing"),
    ({"edges": [0, 0.8]}, "0.7071"),
    ({"edges": [0.1]}, "at least two"),
    ({"n_bands": 0}, "n_bands"),
    ({"n_bands": 40}, "holds no DFT bin"),
    ({"threshold": 0}, "threshold"),
    ({"masks": {"train": np.ones((3, 3), bool)}}, "shape"),
    ({"masks": {"train": np.zeros((N, N), bool)}}, "no pixel"),
    ({"n_snapshots": 1}, "n_snapshots"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageBandMonitor(TARGET, **{"n_bands": 2, **kwargs})
    with pytest.raises(ValueError, match="NaN"):
        ImageBandMonitor(np.full((4, 4), np.nan))


# -- PSNR ----------------------------------------------------------------------------------------------------
def test_psnr_per_split_matches_scikit_image():
    rng = np.random.default_rng(0)
    h = np.clip(TARGET + 0.05 * rng.standard_normal(TARGET.shape), 0, 1)
    train = np.zeros((N, N), bool)
    train[::2, ::2] = True
    test = np.zeros((N, N), bool)
    test[1::2, 1::2] = True
    mon = ImageBandMonitor(TARGET, masks={"train": train, "test": test}, n_bands=2)
    out = mon.record(0, h)["psnr"]
    ref_train = skimage.metrics.peak_signal_noise_ratio(TARGET[::2, ::2], h[::2, ::2], data_range=1.0)
    ref_test = skimage.metrics.peak_signal_noise_ratio(TARGET[1::2, 1::2], h[1::2, 1::2], data_range=1.0)
    np.testing.assert_allclose(out, [ref_train, ref_test], rtol=1e-12)
    assert psnr(h, TARGET) == pytest.approx(skimage.metrics.peak_signal_noise_ratio(TARGET, h, data_range=1.0))
    assert mon.axes == {"delta_f_band": ("band", [0.125, 0.375]), "psnr": ("split", ["train", "test"])}
    assert isinstance(mon, Monitor) and (mon.name, mon.source, mon.arrays_file) == ("image_bands", "image",
                                                                                      "image_bands.npz")
    assert ImageBandMonitor(TARGET, n_bands=2, name="train_bands").arrays_file == "train_bands.npz"


# -- snapshots, persistence, resume ------------------------------------------------------------------------
def _fake_run(mon, steps, every=10, start=0):
    rng = np.random.default_rng(start)
    for s in range(start, steps + 1, every):
        mon.record(s, TARGET + (1 - s / max(steps, 1)) * 0.1 * rng.standard_normal(TARGET.shape), loss=1.0 / (s + 1))


def test_reservoir_keeps_a_bounded_evenly_spaced_set():
    mon = ImageBandMonitor(TARGET, n_bands=2, n_snapshots=5)
    _fake_run(mon, 200)                                  # 21 records: 0, 10, ..., 200
    st_ = mon.state_dict()
    assert list(st_["snapshot_steps"]) == [0, 80, 160]   # stride 8 records: 21 → 11 → 6 → 3 kept (≤ 5)
    assert st_["snapshots"].dtype == np.float16 and st_["snapshots"].shape == (3, N, N)
    assert int(st_["last_step"]) == 200
    np.testing.assert_allclose(st_["last_output"], TARGET, atol=2e-3)   # float16 of the final (exact) record
    fixed = ImageBandMonitor(TARGET, n_bands=2, snapshot_steps=snapshot_schedule(200, 10, n=5))
    _fake_run(fixed, 200)
    assert list(fixed.state_dict()["snapshot_steps"]) == [0, 10, 30, 70, 200]   # geomspace(10, 200, 4)


def test_state_round_trip_through_npz(tmp_path):
    mon = ImageBandMonitor(TARGET, masks={"a": np.ones((N, N), bool)}, n_bands=2, n_snapshots=4)
    _fake_run(mon, 100)
    np.savez(tmp_path / mon.arrays_file, **mon.state_dict())
    with np.load(tmp_path / mon.arrays_file, allow_pickle=False) as z:
        state = dict(z)
    other = ImageBandMonitor(TARGET, masks={"a": np.ones((N, N), bool)}, n_bands=2, n_snapshots=4)
    other.load_state_dict(state)
    for k, v in mon.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v, err_msg=k)
    with pytest.raises(ValueError, match="bands"):
        ImageBandMonitor(TARGET, masks={"a": np.ones((N, N), bool)}, edges=[0, 0.2, 0.5]).load_state_dict(state)
    with pytest.raises(ValueError, match="splits"):
        ImageBandMonitor(TARGET, n_bands=2).load_state_dict(state)


@pytest.mark.parametrize("checkpoint", [30, 60, 150])
def test_truncate_and_resume_equals_an_uninterrupted_run(checkpoint):
    whole = ImageBandMonitor(TARGET, n_bands=2, n_snapshots=4)
    _fake_run(whole, 250)
    part = ImageBandMonitor(TARGET, n_bands=2, n_snapshots=4)
    _fake_run(part, 180)                                 # killed after step 180, last checkpoint at `checkpoint`
    saved = part.state_dict()
    resumed = ImageBandMonitor(TARGET, n_bands=2, n_snapshots=4)
    resumed.load_state_dict(saved)
    resumed.truncate(checkpoint - 1)
    assert resumed.steps[-1] < checkpoint
    _fake_run(resumed, 250, start=checkpoint)
    a, b = whole.state_dict(), resumed.state_dict()
    # same records and the same snapshot steps (the values differ: _fake_run's noise restarts with its seed)
    for key in ("steps", "snapshot_steps", "snapshot_index", "snapshot_stride", "last_step"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_summaries_use_the_convergence_rule():
    mon = ImageBandMonitor(TARGET, n_bands=2, threshold=0.1, hold=3)
    for s, scale in enumerate([1.0, 0.5, 0.05, 0.05, 0.05, 0.05]):   # high tone learned from record 2 on
        mon.record(10 * s, 0.5 + 0.2 * LOW + (1 - scale) * 0.2 * HIGH)
    summ = mon.summaries()
    assert summ["convergence_step"] == {0.125: 0, 0.375: 20}
    assert summ["convergence_step"][0.375] == convergence_step(mon.steps, mon.delta_f_band[:, 1], 0.1, 3)
    assert summ["psnr_final"]["all"] == pytest.approx(psnr(mon.state_dict()["last_output"], TARGET), abs=0.5)


# -- figures -------------------------------------------------------------------------------------------------
def test_figures_from_a_stored_state(tmp_path):
    import matplotlib.pyplot as plt

    mon = ImageBandMonitor(np.stack([TARGET] * 3, axis=-1), n_bands=2, n_snapshots=6)
    _fake_run_rgb = [np.stack([TARGET] * 3, -1) * a for a in (0.2, 0.6, 0.9, 1.0)]
    for s, img in enumerate(_fake_run_rgb):
        mon.record(10 * s, img)
    state = mon.state_dict()
    fig = plot_reconstructions(state)
    assert len(fig.axes) == 5 and fig.axes[-1].get_title() == "target"     # 4 snapshots + the target
    heat = plot_band_heatmap(state)
    mesh = heat.axes[0].collections[0]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(2, 4),
                               np.clip(mon.delta_f_band.T, 0.01, 1.0))
    curves = plot_psnr(mon)
    np.testing.assert_allclose(curves.axes[0].lines[0].get_ydata(), mon.psnr[:, 0])
    gif = write_training_gif(state, tmp_path / "train.gif", fps=2)
    with Image.open(gif) as im:
        assert im.n_frames == 4
    plt.close("all")


def test_error_spectrum_of_a_tone_peaks_at_its_frequency():
    spec = error_spectrum_db(TARGET - 0.2 * HIGH, TARGET)   # error −0.2·HIGH: peaks at f_y = ±0.375
    peak = np.unravel_index(np.argsort(spec, axis=None)[-2:], spec.shape)
    assert sorted(peak[0].tolist()) == [N // 2 - 12, N // 2 + 12] and set(peak[1].tolist()) == {N // 2}


# -- science: the Frequency Principle on an image --------------------------------------------------------------
@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_plain_mlp_learns_the_low_bands_of_an_image_first(one_thread):
    """Camera at 32², fitted on every pixel by a plain ReLU MLP (3 × 64, Adam 1e-2, 300 steps): the lowest band
    (0–1/8 cycle/pixel, with DC) converges (ΔF < 0.1 for 5 records, every 5 steps) and every higher band is still
    far from it at that step, converging later or not at all."""
    from freqlens.lab.data.images import full_split, load_image
    from freqlens.lab.models.coords import coordinate_model

    split = full_split(load_image("camera", size=32))
    x = torch.as_tensor(split.x_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train, dtype=torch.float32)
    net = coordinate_model("mlp", 2, 1, hidden=[64] * 3, output="sigmoid", generator=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    mon = ImageBandMonitor(split.image, masks=split.masks, n_bands=4, threshold=0.1, hold=5)
    for step in range(301):
        out = net(x)
        if step % 5 == 0:
            mon.record(step, out.detach())
        if step == 300:
            break
        loss = torch.mean((out - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    conv = list(mon.convergence_steps().values())
    assert conv[0] is not None
    assert all(c is None or c > conv[0] for c in conv[1:]), conv
    at = mon.steps.index(conv[0])
    assert np.all(mon.delta_f_band[at, 1:] > 3 * mon.threshold)
    assert mon.delta_f_band[-1, 1] < mon.delta_f_band[0, 1]         # the higher bands are being learned, slowly


def test_plain_mlp_learns_the_low_tone_before_the_high_one(one_thread):
    """Two tones of equal amplitude (1 and 3 cycles per side) on a 32² grid: the band of the low one converges
    first; the high one's ΔF is still above 0.5 then."""
    from freqlens.lab.data.images import full_split
    from freqlens.lab.models.coords import coordinate_model

    img = 0.5 + 0.2 * np.cos(2 * np.pi * XX / N) + 0.2 * np.cos(2 * np.pi * 3 * YY / N)
    split = full_split(img)
    x = torch.as_tensor(split.x_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train, dtype=torch.float32)
    net = coordinate_model("mlp", 2, 1, hidden=[64] * 3, generator=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    mon = ImageBandMonitor(img, edges=[0, 2 / N, 0.5], threshold=0.1, hold=5)
    for step in range(301):
        out = net(x)
        if step % 5 == 0:
            mon.record(step, out.detach())
        if step == 300:
            break
        loss = torch.mean((out - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    low, high = mon.convergence_steps().values()
    assert low is not None and (high is None or high > low)
    assert mon.delta_f_band[mon.steps.index(low), 1] > 0.5


@pytest.mark.parametrize("module", ['freqlens.lab.monitors.image_bands', 'freqlens.report.figures_image'])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
