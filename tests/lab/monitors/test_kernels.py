"""CNN filters in the frequency domain: kernel spectra, band shares, the patch search, the monitor, its figures."""

import doctest
import importlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from freqlens import _memory
from freqlens.conv import match_template
from freqlens.errors import ConfigError
from freqlens.lab.data.datasets import load_dataset
from freqlens.lab.models.classifiers import classifier_mlp, small_cnn, vgg16
from freqlens.lab.monitors import Monitor
from freqlens.report import figures_kernels as fk
from freqlens.lab.monitors.kernel_spectra import (band_index, band_shares, kernel_power, low_share, radial_bands,
                                                  radial_centroid)
from freqlens.lab.monitors.kernels import KernelMonitor, first_conv, spread_kernels
from freqlens.lab.monitors.patches import best_patches, patch_cosine

RNG = np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a loaded shared 2-core machine two threads ran the training test 20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------------------------
# references written here, independent of the code under test
# ---------------------------------------------------------------------------------------------------------------
def dtft_power(w, grid):
    """sum_c |DTFT(w_c)|^2 at the centred grid frequencies, by direct sums (no FFT)."""
    w = np.asarray(w, dtype=np.float64)
    f = np.fft.fftshift(np.fft.fftfreq(grid))
    ey = np.exp(-2j * np.pi * np.outer(f, np.arange(w.shape[-2])))
    ex = np.exp(-2j * np.pi * np.outer(f, np.arange(w.shape[-1])))
    return sum(np.abs(ey @ wc @ ex.T) ** 2 for wc in w.reshape(-1, *w.shape[-2:]))


def fft_power(w, grid):
    """The same with numpy's fft2 of the kernel zero-padded at the corner (another origin: same magnitude)."""
    w = np.asarray(w, dtype=np.float64).reshape(-1, *np.shape(w)[-2:])
    return sum(np.abs(np.fft.fftshift(np.fft.fft2(wc, s=(grid, grid)))) ** 2 for wc in w)


def reference_bands(grid, n_bands):
    """Band of each centred bin from integer arithmetic: band b holds b <= 2 n_bands |f| < b + 1 (|f| <= 0.5)."""
    k = np.fft.fftshift(np.fft.fftfreq(grid) * grid).round().astype(int)
    r2 = k[:, None] ** 2 + k[None, :] ** 2                         # (grid |f|)^2, exact integers
    out = np.empty_like(r2)
    for idx, v in np.ndenumerate(r2):
        if 4 * v > grid * grid:
            out[idx] = n_bands                                       # corners
        else:
            out[idx] = min(math.isqrt(4 * n_bands * n_bands * v // (grid * grid)), n_bands - 1)
    return out


def brute_cosine(images, kernels, stride=(1, 1), dilation=(1, 1)):
    """Cosine maps from torch's unfold: every patch as a vector, normalised, times every normalised kernel."""
    x = torch.as_tensor(images, dtype=torch.float64)
    w = torch.as_tensor(kernels, dtype=torch.float64)
    cols = F.unfold(x, w.shape[2:], dilation=dilation, stride=stride)            # (N, C kh kw, L)
    pn = cols.norm(dim=1, keepdim=True)
    wf = w.flatten(1)
    cos = torch.einsum("od,ndl->nol", wf, cols) / (wf.norm(dim=1)[None, :, None] * pn)
    cos = torch.nan_to_num(cos, nan=0.0)
    ho = (x.shape[2] - (w.shape[2] - 1) * dilation[0] - 1) // stride[0] + 1
    return cos.reshape(x.shape[0], w.shape[0], ho, -1).numpy()


# ---------------------------------------------------------------------------------------------------------------
# kernel spectra
# ---------------------------------------------------------------------------------------------------------------
def test_constant_kernel_on_its_own_grid_is_all_dc():
    power = kernel_power(np.ones((1, 1, 4, 4)), grid=4)[0]
    expected = np.zeros((4, 4))
    expected[2, 2] = 16.0 ** 2                                       # DC = sum of the taps
    np.testing.assert_allclose(power, expected, atol=1e-24)
    np.testing.assert_allclose(band_shares(power, 2), [[1.0, 0.0, 0.0]], atol=1e-15)
    assert radial_centroid(power)[0] == pytest.approx(0.0, abs=1e-15)
    assert np.isnan(band_shares(power, 2, exclude_dc=True)).all()   # nothing left without DC


def test_box_and_laplacian_closed_forms():
    g = 32
    f = np.fft.fftshift(np.fft.fftfreq(g))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    box = (1 + 2 * np.cos(2 * np.pi * fy)) ** 2 * (1 + 2 * np.cos(2 * np.pi * fx)) ** 2
    lap = (-4 + 2 * np.cos(2 * np.pi * fx) + 2 * np.cos(2 * np.pi * fy)) ** 2
    laplacian = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])
    power = kernel_power(np.stack([np.ones((3, 3)), laplacian])[:, None], grid=g)
    np.testing.assert_allclose(power[0], box, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(power[1], lap, rtol=1e-12, atol=1e-12)
    assert power[0, g // 2, g // 2] == pytest.approx(81.0) and power[1, g // 2, g // 2] == pytest.approx(0, abs=1e-24)
    # the Laplacian has no DC energy: leaving DC out changes nothing; the box is mostly low frequency
    np.testing.assert_allclose(band_shares(power[1]), band_shares(power[1], exclude_dc=True), atol=1e-15)
    np.testing.assert_allclose(radial_centroid(power[1]), radial_centroid(power[1], exclude_dc=True), atol=1e-15)
    assert low_share(power)[0] > 0.75 > 0.05 > low_share(power)[1]


@pytest.mark.parametrize("shape, grid", [((4, 1, 3, 3), 32), ((3, 3, 5, 5), 16), ((2, 2, 2, 4), 8), ((1, 1, 7, 7), 7)])
def test_power_matches_direct_dtft_and_numpy_fft2(shape, grid):
    w = RNG.standard_normal(shape)
    power = kernel_power(w, grid)
    for i in range(shape[0]):
        np.testing.assert_allclose(power[i], dtft_power(w[i], grid), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(power[i], fft_power(w[i], grid), rtol=1e-10, atol=1e-10)
    # Parseval on the grid: sum P = grid^2 * sum w^2
    np.testing.assert_allclose(power.sum(axis=(1, 2)), grid**2 * (w**2).reshape(shape[0], -1).sum(1), rtol=1e-12)


def test_torch_weights_give_the_same_power():
    w = RNG.standard_normal((3, 2, 3, 3))
    np.testing.assert_allclose(kernel_power(torch.as_tensor(w, dtype=torch.float64), 16), kernel_power(w, 16),
                               rtol=0, atol=0)


@pytest.mark.parametrize("ky, kx, n_bands, band", [
    (0, 7, 8, 3),       # |f| = 7/32, band [6/32, 8/32)
    (3, 4, 8, 2),       # |f| = 5/32 (a 3-4-5 triangle), band [4/32, 6/32)
    (6, 8, 8, 5),       # |f| = 10/32 exactly on the edge between bands 4 and 5: the band above
    (0, 16, 4, 3),      # |f| = 0.5, the Nyquist ring: the last band of the disc
    (16, 16, 4, 4),     # |f| = sqrt(0.5): the corner band
])
def test_sampled_cosine_puts_its_energy_in_its_band(ky, kx, n_bands, band):
    g = 32
    y, x = np.mgrid[:g, :g]
    w = np.cos(2 * np.pi * (ky * y + kx * x) / g)                    # whole periods on the grid: one bin pair
    shares = band_shares(kernel_power(w, g), n_bands)[0]
    expected = np.zeros(n_bands + 1)
    expected[band] = 1.0
    np.testing.assert_allclose(shares, expected, atol=1e-12)
    assert radial_centroid(kernel_power(w, g))[0] == pytest.approx(math.hypot(ky, kx) / g, rel=1e-12)


def test_windowed_cosine_padded_matches_the_direct_sum_and_peaks_in_its_band():
    g, n_bands, f0 = 64, 4, 0.3                                      # f0 off the grid, inside band [0.25, 0.375)
    x = np.arange(12)
    w = np.tile(np.cos(2 * np.pi * f0 * x), (12, 1))
    power = kernel_power(w, g)[0]
    ref = dtft_power(w, g)
    bands = reference_bands(g, n_bands)
    ref_shares = np.array([ref[bands == b].sum() for b in range(n_bands + 1)]) / ref.sum()
    shares = band_shares(power, n_bands)[0]
    np.testing.assert_allclose(shares, ref_shares, rtol=1e-10, atol=1e-14)
    assert int(np.argmax(shares)) == 2 and shares[2] > 0.5


@pytest.mark.parametrize("grid, n_bands", [(4, 2), (8, 4), (32, 4), (32, 8), (31, 5), (64, 10)])
def test_band_index_against_integer_arithmetic_and_delta_kernel_is_flat(grid, n_bands):
    np.testing.assert_array_equal(band_index(grid, n_bands), reference_bands(grid, n_bands))
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0                                                # one tap: |K| = 1 everywhere
    counts = np.bincount(reference_bands(grid, n_bands).ravel(), minlength=n_bands + 1)
    np.testing.assert_allclose(band_shares(kernel_power(delta, grid), n_bands)[0], counts / grid**2, atol=1e-14)
    rho = np.hypot(*np.meshgrid(np.fft.fftfreq(grid), np.fft.fftfreq(grid), indexing="ij"))
    assert radial_centroid(kernel_power(delta, grid))[0] == pytest.approx(rho.mean(), rel=1e-12)


def test_radial_bands_and_bad_arguments():
    edges, centres = radial_bands(5)
    np.testing.assert_allclose(edges, np.arange(6) / 10)
    np.testing.assert_allclose(centres[:-1], np.arange(5) / 10 + 0.05)
    assert 0.5 < centres[-1] < math.sqrt(0.5)
    with pytest.raises(ValueError, match="n_bands must be at most grid // 2 = 4"):
        band_index(8, 5)
    with pytest.raises(ValueError, match="grid must be at least the kernel size 5"):
        kernel_power(np.ones((5, 5)), grid=4)
    with pytest.raises(ValueError, match="NaN"):
        kernel_power(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="shape"):
        kernel_power(np.ones((1, 1, 1, 3, 3)))
    with pytest.raises(TypeError, match="real"):
        kernel_power(np.ones((3, 3), dtype=complex))
    with pytest.raises(ValueError, match="cutoff"):
        low_share(np.ones((4, 4)), cutoff=0.7)


def test_power_memory_refusal(monkeypatch):
    monkeypatch.setattr(_memory, "available_memory", lambda: 1000)
    with pytest.raises(ValueError, match="MiB but .* available"):
        kernel_power(np.ones((32, 3, 3, 3)), 64)


@settings(max_examples=40, deadline=None)
@given(w=hnp.arrays(np.float64, hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=4),
                    # magnitudes whose squares neither underflow nor lose the scale invariance to rounding
                    elements=st.one_of(st.just(0.0), st.floats(1e-3, 10), st.floats(-10, -1e-3))),
       extra=st.integers(0, 12), n_bands=st.integers(1, 6), scale=st.floats(0.01, 100))
def test_shares_sum_to_one_and_ignore_scale(w, extra, n_bands, scale):
    grid = max(w.shape[2:]) + extra
    n_bands = min(n_bands, grid // 2)
    if n_bands < 1 or not np.any(w):
        return
    power = kernel_power(w, grid)
    shares = band_shares(power, n_bands)
    live = power.sum(axis=(1, 2)) > 0
    np.testing.assert_allclose(shares[live].sum(axis=1), 1.0, atol=1e-12)
    assert np.all(shares[live] >= 0)
    np.testing.assert_allclose(band_shares(kernel_power(scale * w, grid), n_bands)[live], shares[live], atol=1e-10)
    c = radial_centroid(power)[live]
    assert np.all((c >= 0) & (c <= math.sqrt(0.5) + 1e-12))


# ---------------------------------------------------------------------------------------------------------------
# the patch search
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["conv2d", "correlate"])
def test_a_kernel_cut_from_an_image_finds_itself(method):
    images = RNG.standard_normal((40, 3, 10, 9))
    cut = images[23, :, 4:7, 2:5]
    kernels = np.stack([cut, 2.5 * cut, -cut])                       # same direction, scaled, opposite
    m = best_patches(images, kernels, k=3, method=method, dtype=torch.float64)
    for o in (0, 1):
        assert (m.image[o, 0], m.row[o, 0], m.col[o, 0]) == (23, 4, 2)
        assert m.scores[o, 0] == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(m.patches[o, 0], cut.astype(np.float32))
    assert m.scores[2, 0] < 0.99                                     # -cut scores -1 there, not a best match
    assert np.all(np.diff(m.scores, axis=1) <= 0)


@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (1, 2), ((2, 1), (1, 2))])
def test_cosine_maps_agree_between_conv2d_correlate_and_unfold(stride, dilation):
    images = RNG.standard_normal((7, 2, 11, 12))
    kernels = RNG.standard_normal((5, 2, 3, 2))
    sp = stride if isinstance(stride, tuple) else (stride, stride)
    dp = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    ref = brute_cosine(images, kernels, sp, dp)
    a = patch_cosine(images, kernels, stride=stride, dilation=dilation, dtype=torch.float64)
    b = patch_cosine(images, kernels, stride=stride, dilation=dilation, method="correlate")
    assert a.shape == ref.shape
    np.testing.assert_allclose(a, ref, atol=1e-12)
    np.testing.assert_allclose(b, ref, atol=1e-12)
    c = patch_cosine(torch.as_tensor(images, dtype=torch.float32), kernels, stride=stride, dilation=dilation)
    np.testing.assert_allclose(c, ref, atol=2e-5)                    # float32 default


def test_one_channel_cosine_is_uncentred_match_template():
    images = RNG.random((3, 1, 12, 10))
    kernel = RNG.standard_normal((1, 1, 4, 3))
    ours = patch_cosine(images, kernel, dtype=torch.float64)
    for n in range(3):
        np.testing.assert_allclose(ours[n, 0], match_template(images[n, 0], kernel[0, 0], centered=False),
                                   atol=1e-10)


def test_zero_patches_and_zero_kernels_score_zero():
    images = np.zeros((2, 1, 6, 6))
    images[1, 0, 3:, 3:] = RNG.standard_normal((3, 3))
    kernels = np.stack([np.ones((1, 3, 3)), np.zeros((1, 3, 3))])
    for method in ("conv2d", "correlate"):
        cos = patch_cosine(images, kernels, method=method, dtype=torch.float64)
        assert np.all(cos[0] == 0) and np.all(cos[:, 1] == 0)
        assert np.all(np.isfinite(cos))


@pytest.mark.parametrize("distinct", [True, False])
def test_best_patches_rank_the_full_maps_and_ignore_chunking(distinct, monkeypatch):
    images = RNG.standard_normal((60, 1, 9, 9))
    kernels = RNG.standard_normal((4, 1, 3, 3))
    full = brute_cosine(images, kernels)                             # (N, O, 7, 7)
    flat = full.transpose(1, 0, 2, 3).reshape(4, 60, 49)
    batches = []
    conv2d = F.conv2d

    def spy(x, *args, **kwargs):
        batches.append(x.shape[0])
        return conv2d(x, *args, **kwargs)

    one_chunk = best_patches(images, kernels, k=6, distinct_images=distinct, dtype=torch.float64)
    monkeypatch.setattr(F, "conv2d", spy)
    per_image = (2 * 81 + 3 * 4 * 49 + 2 * 49) * 8
    chunked = best_patches(images, kernels, k=6, distinct_images=distinct, dtype=torch.float64,
                           chunk_bytes=7 * per_image)
    assert max(batches) == 7 and sum(batches) == 2 * 60              # 7 images per chunk, two convs per chunk
    other = best_patches(images, kernels, k=6, distinct_images=distinct, method="correlate")
    for m in (chunked, other):
        np.testing.assert_array_equal(m.image, one_chunk.image)
        np.testing.assert_array_equal(m.row, one_chunk.row)
        np.testing.assert_array_equal(m.col, one_chunk.col)
        np.testing.assert_allclose(m.scores, one_chunk.scores, atol=1e-12)
    for o in range(4):
        if distinct:
            per_img = flat[o].max(axis=1)
            best = np.argsort(-per_img, kind="stable")[:6]
            np.testing.assert_array_equal(one_chunk.image[o], best)
            np.testing.assert_allclose(one_chunk.scores[o], per_img[best], atol=1e-12)
        else:
            order = np.argsort(-flat[o].ravel(), kind="stable")[:6]
            np.testing.assert_array_equal(one_chunk.image[o], order // 49)
            np.testing.assert_array_equal(one_chunk.row[o] * 7 + one_chunk.col[o], order % 49)
        for j in range(6):
            r, c = one_chunk.row[o, j], one_chunk.col[o, j]
            np.testing.assert_allclose(one_chunk.patches[o, j], images[one_chunk.image[o, j], :, r:r + 3, c:c + 3],
                                       rtol=1e-6)


def test_best_patches_with_stride_and_dilation_report_image_coordinates():
    images = RNG.standard_normal((5, 1, 13, 13))
    cut = images[3, :, 4:9:2, 6:11:2]                               # what a dilation-2 kernel sees at (4, 6)
    m = best_patches(images, cut[None], k=1, stride=2, dilation=2, dtype=torch.float64)
    assert (m.image[0, 0], m.row[0, 0], m.col[0, 0]) == (3, 4, 6)
    assert m.scores[0, 0] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(m.patches[0, 0], cut.astype(np.float32))


def test_best_patches_bad_input(monkeypatch):
    images = RNG.standard_normal((4, 1, 6, 6))
    kernels = RNG.standard_normal((2, 1, 3, 3))
    with pytest.raises(ValueError, match="2 channel"):
        best_patches(RNG.standard_normal((4, 2, 6, 6)), kernels)
    with pytest.raises(ValueError, match="larger than the images"):
        best_patches(images, RNG.standard_normal((2, 1, 7, 3)))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        best_patches(images, kernels, k=0)
    with pytest.raises(ValueError, match="method must be one of"):
        best_patches(images, kernels, method="fft")
    bad = images.copy()
    bad[2, 0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="image 2"):
        best_patches(bad, kernels)
    assert best_patches(images, kernels, k=10).scores.shape == (2, 4)  # fewer candidates than k
    monkeypatch.setattr(_memory, "available_memory", lambda: 10**6)
    with pytest.raises(ValueError, match="keeping k=100,000 patches for 2 kernels"):     # of 100 * 58 * 58
        best_patches(torch.zeros(100, 1, 60, 60), kernels, k=10**5, distinct_images=False)
    monkeypatch.setattr(_memory, "available_memory", lambda: 1000)  # budget 500 bytes, one image needs 800
    with pytest.raises(ValueError, match="one image's patch scores need"):
        best_patches(images, kernels)


# ---------------------------------------------------------------------------------------------------------------
# the monitor
# ---------------------------------------------------------------------------------------------------------------
def _cnn(seed=0, **kw):
    return small_cnn(1, 8, generator=torch.Generator().manual_seed(seed), **kw)


def _perturb(model, seed):
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        first_conv(model).weight.add_(0.1 * torch.randn(first_conv(model).weight.shape, generator=g))


def test_monitor_follows_the_protocol_and_measures_the_weights():
    model = _cnn()
    mon = KernelMonitor(model, n_bands=4, grid=16)
    assert isinstance(mon, Monitor) and mon.source == "train" and mon.name == "kernels"
    out = mon.record(0, "ignored outputs", loss=1.5)
    w = model[0].weight.detach().double().numpy()
    shares = band_shares(kernel_power(w, 16), 4)
    cen = radial_centroid(kernel_power(w, 16))
    for name, values in out.items():
        assert len(values) == len(mon.axes[name][1])
    np.testing.assert_allclose(out["kernel_band_energy"], shares.mean(axis=0), atol=1e-15)
    np.testing.assert_allclose(out["kernel_centroid"][:2], [cen.mean(), cen.std()], atol=1e-15)
    assert out["kernel_drift"][0] == 0.0
    assert np.isnan(out["kernel_centroid"][2]) and np.isnan(out["kernel_update_band_energy"]).all()  # no update yet
    _perturb(model, 1)
    w1 = model[0].weight.detach().double().numpy()
    expected = np.linalg.norm(w1 - w.astype(np.float32)) / np.linalg.norm(w.astype(np.float32))
    out = mon.record(10, None)
    assert out["kernel_drift"][0] == pytest.approx(expected, rel=1e-6)
    pooled = kernel_power(w1 - w.astype(np.float32), 16).sum(axis=0)     # the update's power, over all kernels
    np.testing.assert_allclose(out["kernel_update_band_energy"], band_shares(pooled, 4)[0], rtol=1e-6)
    assert out["kernel_centroid"][2] == pytest.approx(radial_centroid(pooled)[0], rel=1e-6)
    np.testing.assert_array_equal(mon.kernels[0], w.astype(np.float32))
    assert mon.kernels.shape == (2, 32, 1, 3, 3) and mon.steps == [0, 10]


def test_every_skips_steps_and_the_layer_getter_is_called_each_time():
    model = _cnn()
    calls = []

    def getter():
        calls.append(1)
        return model[2]                                              # the second convolution
    mon = KernelMonitor(getter, every=5)
    assert mon.kernel_shape == (64, 32, 3, 3)
    assert mon.record(3, None) == {} and mon.steps == []
    n = len(calls)
    mon.record(5, None)
    assert mon.steps == [5] and len(calls) > n


def test_monitor_refuses_models_without_conv2d_and_bad_settings():
    mlp = classifier_mlp(64, (16,), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ConfigError, match="no nn.Conv2d layer .*Linear"):
        KernelMonitor(mlp)
    with pytest.raises(ConfigError, match="must return an nn.Conv2d; got Linear"):
        KernelMonitor(lambda: mlp[1])
    with pytest.raises(TypeError, match="nn.Module or a function"):
        KernelMonitor(42)
    model = _cnn()
    with pytest.raises(ConfigError, match="grid must be at least the kernel size 3"):
        KernelMonitor(model, grid=2)
    with pytest.raises(ConfigError, match="n_bands must be at most grid // 2 = 8"):
        KernelMonitor(model, grid=16, n_bands=9)
    with pytest.raises(ConfigError, match="patch_steps needs inputs"):
        KernelMonitor(model, patch_steps=[10])
    with pytest.raises(ConfigError, match="3 channel"):
        KernelMonitor(model, inputs=torch.zeros(5, 3, 8, 8))
    with pytest.raises(ConfigError, match="top_patches must be a positive integer"):
        KernelMonitor(model, top_patches=0)
    with pytest.raises(ValueError, match="no kernels recorded"):
        KernelMonitor(model, inputs=torch.zeros(5, 1, 8, 8)).find_patches()


def test_first_conv_of_vgg_and_spread_kernels():
    net = vgg16(3, 32, width_scale=1 / 16, generator=torch.Generator().manual_seed(0))
    assert first_conv(net) is net[0] and tuple(net[0].weight.shape) == (4, 3, 3, 3)
    c = np.array([0.5, 0.1, np.nan, 0.3, 0.2])
    assert spread_kernels(c, 2).tolist() == [1, 2]                   # lowest, and NaN ranked last
    assert sorted(spread_kernels(c, 10).tolist()) == [0, 1, 2, 3, 4]


def _train_record(mon, model, steps, start=0):
    for s in range(start, steps + 1, 5):
        if s > 0:
            _perturb(model, s)
        mon.record(s, None, loss=1.0 / (s + 1))


def test_state_round_trip_truncate_and_resume_are_exact():
    x = load_dataset("digits", subset=100, seed=0).x
    model = _cnn()
    kw = dict(inputs=x, n_bands=3, grid=16, top_patches=4, patch_steps=(0, 20))
    a = KernelMonitor(model, **kw)
    _train_record(a, model, 20)
    state = a.state_dict()
    assert state["kernels"].dtype == np.float32 and state["kernels"].shape == (5, 32, 1, 3, 3)
    assert state["patch_steps"].tolist() == [0, 20] and state["patches"].shape == (2, 32, 4, 1, 3, 3)
    assert state["power_last"].shape == (32, 16, 16)
    b = KernelMonitor(_cnn(1), **kw)                                 # another model: state comes from the arrays
    b.load_state_dict({k: np.array(v) for k, v in state.items()})
    back = b.state_dict()
    for key in state:
        np.testing.assert_array_equal(back[key], state[key], err_msg=key)
    assert b.summaries() == a.summaries()
    b.truncate(10)
    assert b.steps == [0, 5, 10] and b.state_dict()["patch_steps"].tolist() == [0]
    # resume: reload the weights at step 10 and the truncated state, re-record steps 15 and 20
    model_c = _cnn()
    _train_record(KernelMonitor(model_c, grid=16, n_bands=3), model_c, 10)
    c = KernelMonitor(model_c, **kw)
    c.load_state_dict(state)
    c.truncate(10)
    _train_record(c, model_c, 20, start=15)
    resumed = c.state_dict()
    for key in state:
        np.testing.assert_array_equal(resumed[key], state[key], err_msg=key)


def test_fewer_images_than_top_patches_round_trip():
    model = _cnn()
    mon = KernelMonitor(model, inputs=torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)),
                        grid=16, top_patches=8, patch_steps=(0,))
    mon.record(0, None)
    state = mon.state_dict()
    assert state["patches"].shape == (1, 32, 3, 1, 3, 3)           # distinct images: at most 3 matches
    other = KernelMonitor(model, grid=16, top_patches=8)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.state_dict()["patch_image"], state["patch_image"])
    with pytest.raises(ValueError, match="top_patches=2"):
        KernelMonitor(model, grid=16, top_patches=2).load_state_dict(state)


def test_load_state_refuses_another_setting():
    model = _cnn()
    a = KernelMonitor(model, grid=16)
    a.record(0, None)
    state = a.state_dict()
    with pytest.raises(ValueError, match="grid, n_bands, exclude_dc"):
        KernelMonitor(model, grid=32).load_state_dict(state)
    with pytest.raises(ValueError, match="grid, n_bands, exclude_dc"):
        KernelMonitor(model, grid=16, exclude_dc=True).load_state_dict(state)
    with pytest.raises(ValueError, match="saved kernels have shape"):
        KernelMonitor(_cnn(channels=(8, 16)), grid=16).load_state_dict(state)


def test_summaries_before_and_after_records():
    model = _cnn()
    mon = KernelMonitor(model, grid=16)
    assert mon.summaries()["kernel_centroid"] == {"start": None, "end": None, "update": None}
    _train_record(mon, model, 10)
    s = mon.summaries()
    power = [kernel_power(k, 16) for k in (mon.kernels[0], mon.kernels[-1])]
    assert s["kernel_low_share"]["start"] == pytest.approx(low_share(power[0]).mean(), rel=1e-12)
    assert s["kernel_centroid"]["end"] == pytest.approx(radial_centroid(power[1]).mean(), rel=1e-12)
    assert s["kernel_drift"]["end"] > 0
    update = mon.kernels[-1].astype(np.float64) - mon.kernels[0]
    assert s["kernel_centroid"]["update"] == pytest.approx(radial_centroid(kernel_power(update, 16).sum(0))[0])


def test_science_digits_first_layer_energy_moves_to_lower_frequencies(capsys):
    """small_cnn on 300 digits, Adam 1e-3, full batch, 40 steps. Observed (6 seeds, this setting): the mean radial
    centroid of the 32 first-layer kernels falls at every 5-step record, by 0.020-0.028 cycles/pixel over the 40
    steps (from ~0.37-0.39, the white-kernel value at Xavier init), and the share below 0.25 cycles/pixel rises by
    0.04-0.07. What training adds, W_t - W_0, is low-pass from the first steps: its pooled centroid stays within
    0.267-0.316 against 0.383 for white kernels. Asserted with margins: strictly decreasing, a total fall above
    0.01, a low-share rise above 0.02, an update centroid at least 0.03 below the white value."""
    ds = load_dataset("digits", subset=300, seed=0)
    white = radial_centroid(kernel_power(np.ones((1, 1)), 32))[0]   # one tap: a flat spectrum
    assert white == pytest.approx(0.383, abs=1e-3)
    for seed in (0, 1):
        model = _cnn(seed)
        mon = KernelMonitor(model, grid=32, n_bands=4)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        centroids, updates = [], []
        for step in range(41):
            if step % 5 == 0:
                mean, _, update = mon.record(step, None)["kernel_centroid"]
                centroids.append(mean)
                updates.append(update)
            if step == 40:
                break
            opt.zero_grad()
            F.cross_entropy(model(ds.x), ds.y).backward()
            opt.step()
        s = mon.summaries()
        with capsys.disabled():
            print(f"\n[digits seed {seed}] centroid {np.round(centroids, 4).tolist()}; update centroid "
                  f"{np.round(updates[1:], 4).tolist()}; low share "
                  f"{s['kernel_low_share']['start']:.3f} -> {s['kernel_low_share']['end']:.3f}; bands "
                  f"{np.round(mon.shares[0].mean(0), 3).tolist()} -> {np.round(mon.shares[-1].mean(0), 3).tolist()}")
        assert np.all(np.diff(centroids) < 0)
        assert centroids[0] - centroids[-1] > 0.01
        assert s["kernel_low_share"]["end"] - s["kernel_low_share"]["start"] > 0.02
        assert np.isnan(updates[0]) and max(updates[1:]) < white - 0.03


# ---------------------------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 3])
def test_figures_draw_and_save(channels, tmp_path):
    w0 = RNG.standard_normal((6, channels, 3, 3))
    w1 = w0 + 0.3 * RNG.standard_normal(w0.shape)
    fig = fk.plot_kernels(w0, w1, steps=(0, 100), path=tmp_path / "k.png")
    assert len(fig.axes) == (4 if channels == 1 else 3) and (tmp_path / "k.png").stat().st_size > 0
    assert len(fk.plot_kernels(w0, w1, show_update=False).axes) == (3 if channels == 1 else 2)
    p0, p1 = kernel_power(w0, 16), kernel_power(w1, 16)
    fig = fk.plot_kernel_responses(p0, p1, band_edges=radial_bands(4)[0], path=tmp_path / "r.png")
    assert len(fig.axes) == 4 and (tmp_path / "r.png").exists()
    steps = np.arange(0, 50, 10)
    shares = np.stack([band_shares(p0, 4)] * 5)
    fig = fk.plot_band_energy(steps, shares, radial_bands(4)[0], centroid=np.stack([radial_centroid(p0)] * 5),
                              update_centroid=np.linspace(0.3, 0.2, 5))
    assert len(fig.axes) == 2
    assert len(fk.plot_band_energy(steps, shares.mean(1), radial_bands(4)[0], kind="lines").axes) == 1
    m = best_patches(RNG.standard_normal((20, channels, 8, 8)), w1, k=3)
    fig = fk.plot_top_patches(w1, m.patches, m.scores, kernel_ids=[0, 4], image_ids=m.image,
                              centroids=radial_centroid(p1), path=tmp_path / "p.png")
    assert len(fig.axes) == 2 * 4 and (tmp_path / "p.png").exists()


def test_figures_refuse_mismatched_arrays():
    w = RNG.standard_normal((4, 1, 3, 3))
    with pytest.raises(ValueError, match="same shape"):
        fk.plot_kernels(w, w[:2])
    with pytest.raises(ValueError, match="shares must be"):
        fk.plot_band_energy([0, 1], np.ones((3, 5)), radial_bands(4)[0])
    with pytest.raises(ValueError, match="kind"):
        fk.plot_band_energy([0], np.ones((1, 5)), radial_bands(4)[0], kind="bars")
    with pytest.raises(ValueError, match="kernel_ids"):
        fk.plot_top_patches(w, np.zeros((4, 2, 1, 3, 3)), np.zeros((4, 2)), kernel_ids=[7])


@pytest.mark.parametrize("module", ["kernels", "kernel_spectra", "patches"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"freqlens.lab.monitors.{module}"),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
