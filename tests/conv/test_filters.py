"""Signal filters (against scipy.signal and closed forms) and FFT image filters (exact attenuation of tones)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

from freqlens.conv.filters import (
    FILTER_KINDS,
    bandpass,
    bandstop,
    design_filter,
    filter_response,
    frequency_filter,
    frequency_mask,
    highpass,
    lowpass,
)
from freqlens.errors import FreqlensError

FS = 8000.0


def _tone(f, n=8000, fs=FS, phase=0.0):
    return np.sin(2 * np.pi * f * np.arange(n) / fs + phase)


def _amplitude(y, f, fs=FS, skip=2000):
    """Amplitude of the tone f in y[skip:-skip] (least squares on sin/cos)."""
    t = np.arange(y.size)[skip:-skip] / fs
    basis = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y[skip:-skip], rcond=None)
    return float(np.hypot(*coef))


def _butter_gain_db(f, fc, order, fs=FS):
    """Digital Butterworth low-pass (bilinear transform): |H|^2 = 1 / (1 + (tan(pi f/fs) / tan(pi fc/fs))^(2N))."""
    ratio = np.tan(np.pi * f / fs) / np.tan(np.pi * fc / fs)
    return -10 * np.log10(1 + ratio ** (2 * order))


# ---------------------------------------------------------------------------------------------------- design
@pytest.mark.parametrize(
    ("kind", "reference"),
    [
        ("butter", lambda wn, bt: ss.butter(3, wn, bt, output="sos", fs=FS)),
        ("cheby1", lambda wn, bt: ss.cheby1(3, 1.0, wn, bt, output="sos", fs=FS)),
        ("cheby2", lambda wn, bt: ss.cheby2(3, 60.0, wn, bt, output="sos", fs=FS)),
        ("ellip", lambda wn, bt: ss.ellip(3, 1.0, 60.0, wn, bt, output="sos", fs=FS)),
        ("bessel", lambda wn, bt: ss.bessel(3, wn, bt, output="sos", norm="mag", fs=FS)),
    ],
)
@pytest.mark.parametrize(("band", "cutoff"), [("low", 1000), ("high", 1000), ("band", (300, 3400)), ("stop", (45, 55))])
def test_iir_designs_are_scipy_sos(kind, reference, band, cutoff):
    d = design_filter(band, cutoff, FS, order=3, kind=kind)
    btype = {"low": "lowpass", "high": "highpass", "band": "bandpass", "stop": "bandstop"}[band]
    np.testing.assert_allclose(d.sos, reference(cutoff, btype))
    assert d.taps is None and d.order == 3 and d.band == band


@pytest.mark.parametrize(("band", "cutoff"), [("low", 1000), ("high", 1000), ("band", (300, 3400)), ("stop", (500, 900))])
def test_fir_designs_are_firwin(band, cutoff):
    d = design_filter(band, cutoff, FS, order=100, kind="fir")
    pass_zero = {"low": "lowpass", "high": "highpass", "band": "bandpass", "stop": "bandstop"}[band]
    np.testing.assert_allclose(d.taps, ss.firwin(101, cutoff, pass_zero=pass_zero, fs=FS))
    np.testing.assert_allclose(d.taps, d.taps[::-1])  # linear phase


def test_default_orders():
    assert design_filter("low", 1000, FS).order == 4
    d = design_filter("band", (300, 3400), 48000, kind="fir")
    assert d.order % 2 == 0 and d.taps.size == d.order + 1
    assert 3.3 * 48000 / d.taps.size <= 150 + 1  # transition <= half the 300 Hz gap to DC


@pytest.mark.parametrize("kind", ["butter", "bessel"])
@pytest.mark.parametrize("order", [1, 2, 5])
def test_minus_3db_at_the_cutoff_and_minus_6db_forward_backward(kind, order):
    d = design_filter("low", 1000, FS, order=order, kind=kind)
    assert d.response(4001).gain_db(1000) == pytest.approx(-3.0103, abs=0.01)
    assert d.response(4001, zero_phase=True).gain_db(1000) == pytest.approx(-6.0206, abs=0.02)


def test_cheby1_ripple_and_fir_half_amplitude_at_cutoff():
    r = filter_response("low", 1000, FS, order=5, kind="cheby1", zero_phase=False, n=4001)
    assert r.gain_db(1000) == pytest.approx(-1.0, abs=0.01)
    assert r.magnitude_db[r.freqs < 1000].min() >= -1.0 - 1e-6
    fir = filter_response("low", 1000, FS, order=200, kind="fir", zero_phase=False, n=4001)
    assert fir.gain_db(1000) == pytest.approx(-6.02, abs=0.1)


def test_filter_response_matches_freqz_sos():
    d = design_filter("band", (300, 3400), FS, order=4)
    r = filter_response("band", (300, 3400), FS, order=4, zero_phase=False, n=512)
    f, h = ss.freqz_sos(d.sos, worN=512, fs=FS)
    np.testing.assert_allclose(r.freqs, f)
    np.testing.assert_allclose(r.values, h)
    rz = filter_response("band", (300, 3400), FS, order=4, n=512)
    np.testing.assert_allclose(rz.values.real, np.abs(h) ** 2)


# ---------------------------------------------------------------------------------------------------- apply
@pytest.mark.parametrize("f", [500.0, 1500.0, 2500.0])
@pytest.mark.parametrize("zero_phase", [False, True])
def test_lowpass_attenuates_a_tone_by_the_closed_form_db(f, zero_phase):
    y = lowpass(_tone(f), 1000, FS, order=4, zero_phase=zero_phase)
    measured = 20 * np.log10(_amplitude(y, f))
    expected = _butter_gain_db(f, 1000, 4) * (2 if zero_phase else 1)
    assert measured == pytest.approx(expected, abs=0.05)


def test_highpass_attenuation_mirrors_lowpass():
    # a digital Butterworth high-pass at fc: |H(f)|^2 = 1 / (1 + (tan(pi fc/fs) / tan(pi f/fs))^(2N))
    y = highpass(_tone(250.0), 1000, FS, order=3, zero_phase=False)
    ratio = np.tan(np.pi * 1000 / FS) / np.tan(np.pi * 250 / FS)
    assert 20 * np.log10(_amplitude(y, 250.0)) == pytest.approx(-10 * np.log10(1 + ratio**6), abs=0.05)


@pytest.mark.parametrize("kind", FILTER_KINDS)
def test_bandpass_keeps_the_band_and_removes_the_rest(kind):
    x = _tone(50.0) + _tone(1000.0) + _tone(3900.0)
    order = 200 if kind == "fir" else 4
    y = bandpass(x, (300, 3400), FS, order=order, kind=kind)
    expected_db = float(filter_response("band", (300, 3400), FS, order=order, kind=kind, n=4001).gain_db(1000.0))
    assert 20 * np.log10(_amplitude(y, 1000.0)) == pytest.approx(expected_db, abs=0.05)
    assert expected_db > -1.2  # in the pass band (Chebyshev-I / elliptic: within the doubled 1 dB ripple)
    for f in (50.0, 3900.0):
        assert 20 * np.log10(_amplitude(y, f)) < -60, f


def test_bandstop_removes_hum():
    x = _tone(50.0) + _tone(440.0)
    y = bandstop(x, (45, 55), FS, order=2)
    assert _amplitude(y, 50.0) < 0.01
    assert _amplitude(y, 440.0) == pytest.approx(1.0, abs=0.01)


def test_zero_phase_has_no_delay_and_causal_does():
    x = _tone(200.0)
    zp = lowpass(x, 1000, FS, order=4)
    causal = lowpass(x, 1000, FS, order=4, zero_phase=False)
    assert np.max(np.abs(zp[2000:-2000] - x[2000:-2000])) < 1e-3
    assert np.max(np.abs(causal[2000:-2000] - x[2000:-2000])) > 0.05


def test_matches_scipy_sosfiltfilt_and_sosfilt():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(500)
    sos = ss.cheby2(5, 40.0, 0.2, "lowpass", output="sos", fs=1.0)
    d = design_filter("low", 0.2, order=5, kind="cheby2", rs=40.0)
    np.testing.assert_allclose(d.apply(x), ss.sosfiltfilt(sos, x), atol=1e-12)
    np.testing.assert_allclose(d.apply(x, zero_phase=False), ss.sosfilt(sos, x), atol=1e-12)
    b = ss.firwin(31, 0.1, fs=1.0)
    np.testing.assert_allclose(lowpass(x, 0.1, order=30, kind="fir"), ss.filtfilt(b, [1.0], x), atol=1e-12)
    np.testing.assert_allclose(
        lowpass(x, 0.1, order=30, kind="fir", zero_phase=False), ss.lfilter(b, [1.0], x), atol=1e-12
    )


def test_axis_filters_each_channel():
    rng = np.random.default_rng(1)
    stereo = rng.standard_normal((600, 2))
    y = highpass(stereo, 0.1, axis=0)
    for c in range(2):
        np.testing.assert_allclose(y[:, c], highpass(stereo[:, c], 0.1), atol=1e-12)
    np.testing.assert_allclose(highpass(stereo.T, 0.1), y.T, atol=1e-12)


def test_dtypes_and_torch_round_trip():
    x32 = _tone(100.0, n=400).astype(np.float32)
    assert lowpass(x32, 0.1).dtype == np.float32
    assert lowpass(np.arange(100) % 3, 0.1).dtype == np.float64
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x32)
    out = lowpass(t, 0.1)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), lowpass(x32, 0.1), atol=1e-6)


def test_nan_propagates_without_crashing():
    x = _tone(100.0, n=400)
    x[200] = np.nan
    assert np.isnan(lowpass(x, 0.1)).any()
    assert np.isnan(lowpass(x, 0.1, zero_phase=False)[200:]).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: lowpass(np.ones(100), 4000, FS), r"cutoff must lie strictly inside \(0, fs/2\) = \(0, 4000\) Hz"),
        (lambda: lowpass(np.ones(100), 5000, FS), "cutoff must lie"),
        (lambda: highpass(np.ones(100), 0.0), "cutoff must lie"),
        (lambda: highpass(np.ones(100), -1.0), "cutoff must lie"),
        (lambda: bandpass(np.ones(100), (3400, 300), FS), "low < high"),
        (lambda: bandpass(np.ones(100), (300, 300), FS), "low < high"),
        (lambda: bandpass(np.ones(100), 300, FS), r"cutoff must be a pair \(low, high\)"),
        (lambda: lowpass(np.ones(100), (0.1, 0.2)), "cutoff must be one number"),
        (lambda: lowpass(np.ones(100), float("nan")), "cutoff must be finite"),
        (lambda: lowpass(np.ones(100), 0.1, order=0), "order must be an integer >= 1"),
        (lambda: lowpass(np.ones(100), 0.1, order=2.5), "order must be an integer"),
        (lambda: lowpass(np.ones(100), 0.1, kind="chebyshev"), "kind must be one of"),
        (lambda: lowpass(np.ones(100), 0.1, fs=0), "fs must be a finite number > 0"),
        (lambda: design_filter("mid", 0.1), "band must be one of"),
        (lambda: highpass(np.ones(100), 0.1, order=31, kind="fir"), "order must be even"),
        (lambda: lowpass(np.ones(5), 0.1, order=8), "too few"),
        (lambda: lowpass(np.ones(0), 0.1), "non-empty"),
        (lambda: lowpass(np.array(["a", "b"]), 0.1), "numeric"),
        (lambda: lowpass(np.ones(10) * 1j, 0.1), "real"),
        (lambda: lowpass(np.ones((10, 10)), 0.1, axis=2), "axis 2 is out of range"),
    ],
)
def test_bad_inputs_raise_value_errors_naming_the_argument(call, match):
    with pytest.raises(FreqlensError, match=match):
        call()


# ---------------------------------------------------------------------------------------------------- images
def _image_tone(n, kx, ky=0):
    y, x = np.mgrid[:n, :n]
    return np.cos(2 * np.pi * (kx * x + ky * y) / n)


@pytest.mark.parametrize(("kx", "ky"), [(4, 0), (6, 8), (0, 13)])
def test_gaussian_image_filter_attenuates_a_tone_exactly(kx, ky):
    n, fc = 64, 0.1
    rho = np.hypot(kx, ky) / n
    img = _image_tone(n, kx, ky)
    low = frequency_filter(img, kind="gaussian", band="low", cutoff=fc)
    np.testing.assert_allclose(low, np.exp(-(rho**2) / (2 * fc**2)) * img, atol=1e-12)
    high = frequency_filter(img, kind="gaussian", band="high", cutoff=fc)
    np.testing.assert_allclose(low + high, img, atol=1e-12)


def test_butterworth_is_minus_3db_at_its_cutoff():
    img = _image_tone(64, 8)  # 0.125 cycles per pixel
    for order in (1, 2, 6):
        out = frequency_filter(img, kind="butterworth", cutoff=0.125, order=order)
        np.testing.assert_allclose(out, img / np.sqrt(2), atol=1e-12)


def test_ideal_filters_keep_or_remove_whole_tones():
    low, mid, high = _image_tone(64, 2), _image_tone(64, 10), _image_tone(64, 25)
    img = low + mid + high
    np.testing.assert_allclose(frequency_filter(img, kind="ideal", band="low", cutoff=0.1), low, atol=1e-12)
    np.testing.assert_allclose(frequency_filter(img, kind="ideal", band="high", cutoff=0.1), mid + high, atol=1e-12)
    np.testing.assert_allclose(frequency_filter(img, kind="ideal", band="band", cutoff=(0.1, 0.3)), mid, atol=1e-12)
    np.testing.assert_allclose(
        frequency_filter(img, kind="ideal", band="stop", cutoff=(0.1, 0.3)), low + high, atol=1e-12
    )


@pytest.mark.parametrize("kind", ["ideal", "gaussian", "butterworth"])
def test_band_and_stop_are_complementary(kind):
    img = np.random.default_rng(2).standard_normal((24, 30))
    b = frequency_filter(img, kind=kind, band="band", cutoff=(0.05, 0.2))
    s = frequency_filter(img, kind=kind, band="stop", cutoff=(0.05, 0.2))
    np.testing.assert_allclose(b + s, img, atol=1e-12)


@pytest.mark.parametrize("boundary", ["wrap", "symmetric", "reflect", "edge", "zero"])
def test_constant_image_lowpass_keeps_it_highpass_removes_it(boundary):
    img = np.full((40, 35), 0.3)
    low = frequency_filter(img, kind="gaussian", cutoff=0.05, boundary=boundary)
    high = frequency_filter(img, kind="gaussian", band="high", cutoff=0.05, boundary=boundary)
    if boundary == "zero":  # zero padding darkens the borders (the blur reaches ~3 pixels)
        assert low[20, 17] == pytest.approx(0.3, abs=1e-3) and low[0, 0] < 0.25
    else:
        np.testing.assert_allclose(low, 0.3, atol=1e-12)
        np.testing.assert_allclose(high, 0.0, atol=1e-12)


def test_symmetric_boundary_avoids_wraparound_between_opposite_edges():
    img = np.zeros((32, 32))
    img[:, :4] = 1.0  # bright left edge
    wrap = frequency_filter(img, cutoff=0.05)
    sym = frequency_filter(img, cutoff=0.05, boundary="symmetric")
    assert wrap[:, -1].mean() > 0.2  # brightness leaked across from the left edge
    assert sym[:, -1].mean() < 0.02


def test_frequency_mask_values_and_layout():
    m = frequency_mask((64, 64), kind="gaussian", cutoff=0.1)
    assert m[32, 32] == 1.0 and m.shape == (64, 64)
    assert m[32, 32 + 6] == pytest.approx(np.exp(-((6 / 64) ** 2) / (2 * 0.01)))
    assert np.argmax(frequency_mask((8, 8), cutoff=0.2, centred=False)) == 0
    mb = frequency_mask((64, 64), kind="butterworth", cutoff=0.25, order=3)
    assert mb[32, 48] == pytest.approx(1 / np.sqrt(2))
    np.testing.assert_allclose(mb, mb.T)


def test_frequency_filter_channels_dtype_and_torch():
    rng = np.random.default_rng(3)
    rgb = rng.random((16, 18, 3)).astype(np.float32)
    out = frequency_filter(rgb, cutoff=0.1, channel_axis=-1)
    assert out.dtype == np.float32 and out.shape == rgb.shape
    np.testing.assert_allclose(out[..., 1], frequency_filter(rgb[..., 1], cutoff=0.1), atol=1e-6)
    chw = np.moveaxis(rgb, -1, 0)
    np.testing.assert_allclose(frequency_filter(chw, cutoff=0.1, channel_axis=0), np.moveaxis(out, -1, 0), atol=1e-6)
    torch = pytest.importorskip("torch")
    t = frequency_filter(torch.from_numpy(rgb[..., 0]), cutoff=0.1)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), out[..., 0], atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cutoff": 0.6}, r"cutoff must lie strictly inside \(0, 0.5\]"),
        ({"cutoff": 0.0}, "cutoff must lie"),
        ({"cutoff": (0.3, 0.1), "band": "band"}, "low < high"),
        ({"cutoff": 0.1, "kind": "box"}, "kind must be one of"),
        ({"cutoff": 0.1, "kind": "butterworth", "order": 0}, "order must be an integer >= 1"),
        ({"cutoff": 0.1, "boundary": "mirror"}, "boundary must be one of"),
        ({"cutoff": 0.1, "band": "notch-ish"}, "band must be one of"),
    ],
)
def test_frequency_filter_bad_arguments(kwargs, match):
    with pytest.raises(FreqlensError, match=match):
        frequency_filter(np.ones((8, 8)), **kwargs)


def test_frequency_filter_bad_images():
    with pytest.raises(FreqlensError, match="image must be 2-D.*channel_axis"):
        frequency_filter(np.ones((8, 8, 3)), cutoff=0.1)
    with pytest.raises(FreqlensError, match="must be 3-D"):
        frequency_filter(np.ones((8, 8)), cutoff=0.1, channel_axis=0)
    with pytest.raises(FreqlensError, match="image must be a non-empty"):
        frequency_filter(np.ones((0, 8)), cutoff=0.1)


def test_docstring_examples_run():
    import doctest

    import freqlens.conv.filters as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0
