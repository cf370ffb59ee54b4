"""Regressions found by review: each case failed before its fix."""

import os
import stat

import cv2
import numpy as np
import pytest

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
