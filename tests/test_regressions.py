"""Regressions found by review: each case failed before its fix."""

import os
import stat

import cv2
import numpy as np
import pytest
import torch

from freqlens.cli import main
from freqlens.conv import correlate
from freqlens.errors import FreqlensError
from freqlens.io import read_image, write_audio, write_image


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("args, message", [
    (["run", "fp1d", "--seeds", "many"], "Invalid value for '--seeds'"),
    (["run", "fp1d", "--bogus"], "No such option: --bogus"),
    (["run"], "Missing argument"),
    (["nonsense"], "No such command 'nonsense'"),
    (["dose", "--doses", "0:100", "--half-life", "6", "--until", "inf"], "--until must be a finite time"),
    (["dose", "--doses", "0:100", "--half-life", "6", "--dt", "1e-310"], "too many output steps"),
])
def test_usage_errors_are_one_line(capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("freqlens: error: ") and message in lines[0], err


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_image(tmp_path / "a.png", np.zeros((4, 4)))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_grey_alpha_image_drops_alpha(tmp_path):
    import skimage.io

    la = np.zeros((6, 5, 2), dtype=np.uint8)
    la[..., 0] = 200
    la[..., 1] = 255
    skimage.io.imsave(str(tmp_path / "la.png"), la, check_contrast=False)
    img = read_image(tmp_path / "la.png")
    assert img.shape == (6, 5) and np.allclose(img, 200 / 255)


def test_flac_refuses_to_clip(tmp_path):
    loud = np.full(100, 1.2)
    with pytest.raises(FreqlensError, match="would clip"):
        write_audio(tmp_path / "x.flac", loud, 8000)
    assert not (tmp_path / "x.flac").exists()
    write_audio(tmp_path / "x.wav", loud, 8000)  # WAV stores float above full scale


def test_filter2d_recipe_for_even_kernels():
    rng = np.random.default_rng(0)
    x = rng.random((9, 8)).astype(np.float32)
    k = rng.random((2, 4)).astype(np.float32)
    ref = cv2.filter2D(x, -1, k)
    np.testing.assert_allclose(correlate(x, k, mode="same", boundary="reflect", same_pad="start"), ref, rtol=1e-5,
                               atol=1e-5)


def test_kde_refuses_bandwidth_below_grid_spacing():
    from freqlens.conv.apps.timeseries import kde

    with pytest.raises(FreqlensError, match="below half the grid spacing"):
        kde([1.0, 2.0, 3.0, 4.0, 5.0], 512, bandwidth=0.001)


def test_spectrum_of_a_tiny_image_says_so():
    from freqlens.spectrum import fit_power_law

    with pytest.raises(FreqlensError, match="too small for a power-law fit"):
        fit_power_law(np.random.default_rng(0).random((1, 64)))


# --- issue 6, item 9: inputs are sized before they are decoded or scanned ------------------------------------------

def png_header_only(path, width, height, *, color_type=0):
    """A PNG whose IHDR declares width x height 8-bit pixels, with a tiny IDAT (the pixels are missing)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_an_image_declaring_1e10_pixels_is_refused_with_its_size_and_the_memory(tmp_path):
    import time

    from freqlens.errors import DataError

    path = png_header_only(tmp_path / "huge.png", 100_000, 100_000)
    t0 = time.perf_counter()
    with pytest.raises(DataError) as exc:
        read_image(path)
    assert time.perf_counter() - t0 < 5.0
    message = str(exc.value)
    assert "\n" not in message and "10,000,000,000 pixels" in message
    assert "GiB of memory" in message and "available in RAM" in message


def test_an_image_larger_than_the_memory_is_refused_from_its_header(tmp_path, monkeypatch):
    import warnings

    import freqlens._memory
    from freqlens.errors import DataError

    monkeypatch.setattr(freqlens._memory, "available_memory", lambda: 512 << 20)
    path = png_header_only(tmp_path / "big.png", 12_000, 12_000, color_type=2)  # RGB, under Pillow's bomb limit
    # 8-bit RGB decoded, its float64 copy and the float64 grey image
    need = 12_000 * 12_000 * (3 * 1 + 3 * 8 + 8) / 2**30
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and Pillow's DecompressionBombWarning no longer leaks to the terminal
        with pytest.raises(DataError, match=rf"image .*big.png \(12000x12000, 3 channels\) would need about "
                                            rf"{need:.2f} GiB of memory .* but only 512 MiB is available in RAM"):
            read_image(path, as_gray=True)


def test_cli_says_how_large_the_declared_image_is(tmp_path, capsys):
    path = png_header_only(tmp_path / "huge.png", 100_000, 100_000)
    code, out, err = cli(capsys, "spectrum", str(path), "-o", str(tmp_path))
    assert code == 2 and out == ""
    assert err.startswith("freqlens: error: image ") and "10,000,000,000 pixels" in err
    assert len(err.strip().splitlines()) == 1


HUGE = 3 * 10**10  # samples: a broadcast view costs nothing; a full pass over it would allocate 30 GB or more


@pytest.mark.parametrize("call", [
    pytest.param(lambda: correlate(np.broadcast_to(np.float64(1), (HUGE,)), np.ones(4096)), id="convolve-numpy"),
    pytest.param(lambda: correlate(torch.ones(1, requires_grad=True).expand(HUGE), torch.ones(4096)),
                 id="convolve-torch"),
    pytest.param(lambda: __import__("freqlens.spectrum", fromlist=["dft2"]).dft2(
        np.broadcast_to(np.uint8(1), (200_000, 150_000))), id="spectrum-dft2"),
    pytest.param(lambda: __import__("freqlens.conv", fromlist=["lowpass"]).lowpass(
        np.broadcast_to(np.int16(1), (HUGE,)), 0.1), id="lowpass"),
    pytest.param(lambda: __import__("freqlens.conv.apps", fromlist=["kde"]).kde(
        np.broadcast_to(np.float64(1), (HUGE,))), id="kde"),
    pytest.param(lambda: __import__("freqlens.conv.apps", fromlist=["matched_filter"]).matched_filter(
        np.broadcast_to(np.float64(1), (HUGE,)), np.ones(64), 8000), id="matched_filter"),
])
def test_sizes_are_checked_before_any_full_pass_over_a_huge_input(call):
    import time

    t0 = time.perf_counter()
    with pytest.raises(FreqlensError, match=r"would need about .* GiB of memory"):
        call()
    assert time.perf_counter() - t0 < 2.0


# --- issue 6, item 10: no numerical noise for users: the condition is caught and named ----------------------------

@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kind, cutoff, order", [("butter", 0.1, 1000), ("butter", 0.001, 200), ("bessel", 0.1, 100),
                                                 ("cheby1", (0.1, 0.2), 400)])
def test_a_too_high_filter_order_is_refused_with_the_orders_that_work(kind, cutoff, order):
    import re

    from freqlens.conv import design_filter

    band = "band" if isinstance(cutoff, tuple) else "low"
    with pytest.raises(FreqlensError, match=rf"order {order} is too high for a {kind} {band}-pass filter") as exc:
        design_filter(band, cutoff, order=order, kind=kind)
    best = int(re.search(r"orders up to (\d+) work here", str(exc.value)).group(1))
    assert 0 < best < order
    design = design_filter(band, cutoff, order=best, kind=kind)  # the order named works ...
    assert np.all(np.isfinite(design.sos))
    with pytest.raises(FreqlensError, match="too high"):  # ... and the next one does not
        design_filter(band, cutoff, order=best + 1, kind=kind)


@pytest.mark.filterwarnings("error")
def test_cli_filter_with_order_1000_is_one_line_without_numpy_warnings(tmp_path, capsys):
    import soundfile as sf

    sf.write(tmp_path / "in.wav", np.sin(np.arange(8000) / 3.0) * 0.5, 8000)
    code, out, err = cli(capsys, "filter", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--lowpass", "1000",
                         "--order", "1000")
    assert code == 2 and not (tmp_path / "out.wav").exists()
    assert err.count("\n") == 1 and "order 1000 is too high for a butter low-pass filter at 1000 Hz" in err
    assert "Warning" not in err


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("samples, bandwidth, message", [
    ([-1e308, 1e308, 0.0], "scott", r"samples holds values up to 1e\+308 in magnitude.*rescale samples"),
    ([0.0, 1.0, 2.0], 1e308, r"the grid from min - cut \* bandwidth .* leaves float64's range"),
])
def test_kde_names_what_overflows(samples, bandwidth, message):
    from freqlens.conv.apps import kde

    with pytest.raises(FreqlensError, match=message):
        kde(samples, 64, bandwidth=bandwidth)


@pytest.mark.filterwarnings("error")
def test_cli_kde_over_1e308_is_one_line(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("x\n-1e308\n1e308\n0\n")
    code, _, err = cli(capsys, "kde", str(tmp_path / "t.csv"))
    assert code == 2 and err.count("\n") == 1 and "rescale samples" in err


@pytest.mark.parametrize("value", [0.3, 77 / 255, 1 / 3, 0.5])
@pytest.mark.parametrize("shape", [(64, 64), (300, 400), (101, 77)])
def test_a_constant_image_has_no_power_law_and_no_energy_share(shape, value):
    from freqlens.spectrum import energy_fraction, fit_power_law

    img = np.full(shape, value)
    with pytest.raises(FreqlensError, match=r"image is constant .* no signal above quantisation"):
        fit_power_law(img)
    assert np.isnan(energy_fraction(img, [0.05, 0.1, 0.3], exclude_dc=True)).all()  # as documented
    assert energy_fraction(img, 0.1) == 1.0  # all its energy is DC
    noisy = img + 1e-3 * np.random.default_rng(0).standard_normal(shape)  # real signal: fitted as before
    assert 0.0 < energy_fraction(noisy, 0.1, exclude_dc=True) < 1.0


def test_cli_spectrum_of_a_constant_8bit_image_refuses(tmp_path, capsys):
    write_image(tmp_path / "grey.png", np.full((300, 400), 77 / 255))
    code, out, err = cli(capsys, "spectrum", str(tmp_path / "grey.png"), "-o", str(tmp_path))
    assert code == 2 and "alpha" not in out
    assert err.count("\n") == 1 and "image is constant (every pixel 0.301961)" in err


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("call", [
    pytest.param(lambda: __import__("freqlens.conv.apps", fromlist=["x"]).reverb(np.full(100, 1e300), np.ones(10),
                                                                                fs_dry=8000, fs_ir=8000), id="reverb"),
    pytest.param(lambda: __import__("freqlens.conv.apps", fromlist=["x"]).matched_filter(np.full(1000, 1e300),
                                                                                        np.ones(10), 8000),
                 id="matched_filter"),
    pytest.param(lambda: __import__("freqlens.conv.apps", fromlist=["x"]).match_template(
        np.full((20, 20), 1e300), np.eye(3)), id="match_template"),
    pytest.param(lambda: __import__("freqlens.conv.apps", fromlist=["x"]).gaussian_smooth(np.full(50, 1e300), 2.0),
                 id="gaussian_smooth"),
    pytest.param(lambda: __import__("freqlens.conv.apps", fromlist=["x"]).scan_motif(
        "ACGT" * 10, np.full((4, 4), 1e300)), id="scan_motif"),
    pytest.param(lambda: __import__("freqlens.conv", fromlist=["x"]).lowpass(np.full(100, 1e300), 0.1), id="lowpass"),
    pytest.param(lambda: __import__("freqlens.spectrum", fromlist=["x"]).fit_power_law(
        np.random.default_rng(0).random((64, 64)) * 1e300), id="fit_power_law"),
    pytest.param(lambda: __import__("freqlens.spectrum", fromlist=["x"]).convolution_theorem(
        np.full((8, 8), 1e300), np.ones((3, 3))), id="convolution_theorem"),
])
def test_values_whose_squares_overflow_are_refused_by_name(call):
    with pytest.raises(FreqlensError, match=r"holds values up to 1e\+300 in magnitude: .* rescale"):
        call()


@pytest.mark.filterwarnings("error")
def test_limits_that_float64_reaches_exactly_give_the_limit_without_warnings():
    from freqlens.conv import frequency_mask, get_kernel
    from freqlens.conv.apps import simulate_echoes
    from freqlens.spectrum import power_law_noise

    # A Gaussian of vanishing width is the unit impulse; its Laplacian has no samples off the centre: refused.
    np.testing.assert_array_equal(get_kernel("gaussian", sigma=1e-300, size=5), np.pad([[1.0]], 2))
    with pytest.raises(FreqlensError, match="too small for a sampled Laplacian of Gaussian"):
        get_kernel("log", sigma=1e-300)
    # Butterworth of order 1000 is the ideal mask away from the cutoff circle; a tiny Gaussian keeps only DC.
    ideal = frequency_mask((32, 32), kind="ideal", cutoff=0.2)
    butter = frequency_mask((32, 32), kind="butterworth", cutoff=0.2, order=1000)
    rho = np.hypot(*np.meshgrid(np.fft.fftshift(np.fft.fftfreq(32)), np.fft.fftshift(np.fft.fftfreq(32)),
                                indexing="ij"))
    away = np.abs(rho - 0.2) > 0.01
    np.testing.assert_allclose(butter[away], ideal[away], atol=1e-12)
    tiny = frequency_mask((32, 32), kind="gaussian", cutoff=1e-200)
    assert tiny[16, 16] == 1.0 and np.count_nonzero(tiny) == 1
    # Extreme spectral exponents still give a finite, normalised field.
    for alpha in (1e3, -1e3):
        field = power_law_noise((32, 32), alpha, seed=0)
        assert np.all(np.isfinite(field)) and abs(field.std() - 1.0) < 1e-12
    # An SNR beyond float64's resolution is noise-free; one below -600 dB is refused by name.
    pulse = np.hanning(16)
    clean = simulate_echoes(pulse, 1000, [0.01], duration=0.05)
    np.testing.assert_array_equal(simulate_echoes(pulse, 1000, [0.01], duration=0.05, snr_db=1e6, seed=0), clean)
    with pytest.raises(FreqlensError, match="snr_db must be >= -600 dB"):
        simulate_echoes(pulse, 1000, [0.01], duration=0.05, snr_db=-1e6, seed=0)
    # A sum that overflows is inf, as IEEE arithmetic says, without numpy's warning from the rescaling.
    assert np.isinf(correlate(np.full(10, 1e308), np.ones(3), mode="valid", method="direct")).all()
