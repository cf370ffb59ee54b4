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
