"""CLI: ``freqlens kernels``, ``freqlens spectrum`` and ``freqlens filter`` (run in-process through ``main``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf

from freqlens.cli import main
from freqlens.conv.kernels import KERNELS

PNG = b"\x89PNG\r\n\x1a\n"


def _run(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code or 0, out, err


def _assert_one_line_error(code, err, match):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("freqlens: error:"), err
    assert re.search(match, lines[0]), lines[0]


# ---------------------------------------------------------------------------------------------------- kernels
def test_kernels_lists_the_catalogue_with_passbands(capsys):
    code, out, _ = _run(capsys, "kernels")
    assert code == 0
    for name, info in KERNELS.items():
        assert re.search(rf"^{name}\s+{re.escape(info.passband)}\s+", out, re.M), name
    assert "parameters: theta=0.0, wavelength=4.0" in out


def test_kernels_shows_one_kernel_with_parameters(capsys):
    code, out, _ = _run(capsys, "kernels", "gaussian", "-p", "sigma=0.8", "--param", "size=3")
    assert code == 0
    assert "shape (3, 3); sum 1" in out and "passes: low-pass" in out
    code, out, _ = _run(capsys, "kernels", "sobel-x")
    assert "[-2.  0.  2.]" in out


def test_kernels_plot_writes_one_png_per_kernel(capsys, tmp_path):
    out_dir = tmp_path / "plots" / "kernels"  # created on demand
    code, out, _ = _run(capsys, "kernels", "--plot", "-o", str(out_dir))
    assert code == 0
    files = sorted(out_dir.glob("*.png"))
    assert [f.stem for f in files] == sorted(f"kernel_{n}" for n in KERNELS)
    assert all(f.read_bytes()[:8] == PNG for f in files)
    assert f"wrote {out_dir / 'kernel_gabor.png'}" in out and f"17 figure(s) in {out_dir}" in out


def test_kernels_plot_of_one_kernel_in_db(capsys, tmp_path):
    code, _, _ = _run(capsys, "kernels", "motion_blur", "-p", "angle=30", "--plot", "--db", "-o", str(tmp_path))
    assert code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["kernel_motion_blur.png"]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["kernels", "blur"], r"unknown kernel 'blur'; known: identity"),
        (["kernels", "box", "-p", "sigma=2"], r"no parameter 'sigma'; accepted: size, ndim"),
        (["kernels", "box", "-p", "size"], r"--param must look like name=value"),
        (["kernels", "-p", "size=3"], r"--param needs a kernel NAME"),
        (["kernels", "gaussian", "-p", "sigma=-1"], r"sigma must be > 0"),
        (["kernels", "box", "--plot", "--size", "1000000"], r"frequency grid .* GiB of memory"),
        (["kernels", "gaussian", "-p", "sigma=1e7"], r"GiB of memory"),
    ],
)
def test_kernels_errors_are_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, *argv)
    _assert_one_line_error(code, err, match)


# ---------------------------------------------------------------------------------------------------- spectrum
def test_spectrum_of_the_camera_sample(capsys, tmp_path):
    code, out, _ = _run(capsys, "spectrum", "--sample", "camera", "-o", str(tmp_path))
    assert code == 0
    alpha = float(re.search(r"alpha = ([\d.]+)", out).group(1))
    r2 = float(re.search(r"R\^2 = ([\d.]+)", out).group(1))
    share = float(re.search(r"energy share .*: ([\d.]+) %", out).group(1))
    assert 2.5 < alpha < 3.1 and r2 > 0.95 and 80 < share < 100
    for name in ("camera_spectrum.png", "camera_radial_power.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG
        assert f"wrote {tmp_path / name}" in out


def test_spectrum_of_an_image_file_with_a_band(capsys, tmp_path):
    from freqlens.io import write_image
    from freqlens.spectrum import power_law_noise

    img = power_law_noise((128, 128), 2.0, seed=0)
    write_image(tmp_path / "noise.png", (img - img.min()) / (img.max() - img.min()))
    code, out, _ = _run(capsys, "spectrum", str(tmp_path / "noise.png"), "--band", "0.03", "0.25", "-o", str(tmp_path))
    assert code == 0
    assert "over 0.03-0.25 cycles/pixel" in out
    assert float(re.search(r"alpha = ([\d.]+)", out).group(1)) == pytest.approx(2.0, abs=0.25)
    assert (tmp_path / "noise_radial_power.png").exists()


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["spectrum"], "exactly one of IMAGE or --sample"),
        (["spectrum", "x.png", "--sample", "camera"], "exactly one of IMAGE or --sample"),
        (["spectrum", "--sample", "lena"], "unknown sample image 'lena'"),
        (["spectrum", "--sample", "camera", "--band", "0.3", "0.1"], "fmin < fmax"),
        (["spectrum", "--sample", "camera", "--window", "kaiser"], "window must be"),
        (["spectrum", "--sample", "camera", "--radius", "-1"], "radius must be"),
        (["spectrum", "missing.png"], "file not found"),
    ],
)
def test_spectrum_errors_are_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, *argv)
    _assert_one_line_error(code, err, match)
    assert not list(tmp_path.glob("*.png"))


def test_spectrum_rejects_a_non_image_file(capsys, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    code, _, err = _run(capsys, "spectrum", str(bad), "-o", str(tmp_path))
    _assert_one_line_error(code, err, "not a readable image file")


# ---------------------------------------------------------------------------------------------------- filter
FS = 8000


def _tones(*freqs, n=FS, amp=0.3):
    t = np.arange(n) / FS
    return sum(amp * np.sin(2 * np.pi * f * t) for f in freqs)


def _amp(y, f):
    t = np.arange(y.size) / FS
    sl = slice(1000, -1000)
    basis = np.stack([np.sin(2 * np.pi * f * t[sl]), np.cos(2 * np.pi * f * t[sl])], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y[sl], rcond=None)
    return float(np.hypot(*coef))


def test_filter_bandpass_on_a_stereo_wav(capsys, tmp_path):
    stereo = np.stack([_tones(50, 1000, 3900), _tones(1000)], axis=1)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, stereo, FS, subtype="FLOAT")
    code, out, _ = _run(capsys, "filter", str(src), str(dst), "--bandpass", "300", "3400")
    assert code == 0
    assert "band-pass 300-3400 Hz (butter, order 4, zero-phase); 2 channel(s), 1.00 s at 8000 Hz" in out
    y, fs = sf.read(dst)
    assert fs == FS and y.shape == stereo.shape
    assert _amp(y[:, 0], 1000) == pytest.approx(0.3, abs=0.003)
    assert _amp(y[:, 0], 50) < 1e-3 and _amp(y[:, 0], 3900) < 1e-3
    assert _amp(y[:, 1], 1000) == pytest.approx(0.3, abs=0.003)


@pytest.mark.parametrize(
    ("option", "keep", "drop"),
    [(["--lowpass", "500"], 200, 2000), (["--highpass", "500"], 2000, 100), (["--bandstop", "900", "1100"], 200, 1000)],
)
def test_filter_modes_on_a_mono_flac(capsys, tmp_path, option, keep, drop):
    src, dst = tmp_path / "in.flac", tmp_path / "out.flac"
    sf.write(src, _tones(keep, drop), FS)
    code, _, _ = _run(capsys, "filter", str(src), str(dst), *option, "--order", "6")
    assert code == 0
    y, _ = sf.read(dst)
    assert _amp(y, keep) == pytest.approx(0.3, abs=0.005)
    assert _amp(y, drop) < 0.005


def test_filter_fir_and_causal(capsys, tmp_path):
    src = tmp_path / "in.wav"
    sf.write(src, _tones(200, 3000), FS)
    code, out, _ = _run(capsys, "filter", str(src), str(tmp_path / "o.wav"), "--lowpass", "1000", "--kind", "fir",
                        "--causal")
    assert code == 0 and "(fir, order" in out and "causal" in out
    y, _ = sf.read(tmp_path / "o.wav")
    assert _amp(y, 3000) < 0.01


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (["--lowpass", "5000"], r"cutoff must lie strictly inside \(0, fs/2\) = \(0, 4000\) Hz, got 5000"),
        (["--highpass", "4000"], r"cutoff must lie strictly inside"),
        (["--bandpass", "3400", "300"], "low < high"),
        (["--bandstop", "300", "300"], "low < high"),
        ([], "give exactly one of --lowpass"),
        (["--lowpass", "100", "--highpass", "50"], "give exactly one of --lowpass"),
        (["--lowpass", "100", "--order", "0"], "order must be an integer >= 1"),
        (["--lowpass", "100", "--kind", "chebyshev"], "kind must be one of"),
        (["--highpass", "100", "--kind", "fir", "--order", "31"], "order must be even"),
    ],
)
def test_filter_bad_arguments_exit_2_without_output(capsys, tmp_path, options, match):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, _tones(100), FS)
    code, _, err = _run(capsys, "filter", str(src), str(dst), *options)
    _assert_one_line_error(code, err, match)
    assert not dst.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]  # no temporary file left either


@pytest.mark.parametrize(("make", "match"), [("text", "not a readable audio file"), ("missing", "file not found")])
def test_filter_bad_input_files(capsys, tmp_path, make, match):
    src = tmp_path / "in.wav"
    if make == "text":
        src.write_text("RIFF? no, just text")
    code, _, err = _run(capsys, "filter", str(src), str(tmp_path / "out.wav"), "--lowpass", "100")
    _assert_one_line_error(code, err, match)
    assert not (tmp_path / "out.wav").exists()
