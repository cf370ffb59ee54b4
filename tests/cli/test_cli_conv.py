"""``freqlens conv IMAGE ...`` / ``freqlens conv apply`` and ``freqlens conv explain``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from freqlens.cli import main
from freqlens.conv import convolve, correlate
from freqlens.conv.kernels import get_kernel
from freqlens.io import read_image, sample_image, write_image


def run(args, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code, err, fragment):
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("freqlens: error:") and fragment in lines[0], lines[0]


@pytest.fixture
def image_path(tmp_path):
    ramp = np.tile(np.linspace(0.0, 1.0, 24), (20, 1))  # brightens to the right
    return write_image(tmp_path / "ramp.png", ramp)


# ---------------------------------------------------------------------------------------------------------------
# explain


def test_explain_default_is_the_textbook_example(capsys):
    code, out, err = run(["conv", "explain"], capsys)
    assert code == 0, err
    assert "kernel is NOT flipped" in out
    assert "input 5x5, kernel 3x3, stride 1, dilation 1, mode 'valid'" in out
    assert out.count("out[") == 9 + 1  # nine steps plus the formula line
    assert "sum = 1 + 0 + 1 + 0 + 1 + 0 + 0 + 0 + 1 = 4" in out
    assert out.rstrip().endswith("output\n4 3 4\n2 4 3\n2 3 4")


def test_explain_custom_input(capsys):
    code, out, _ = run(["conv", "explain", "--input", "1,2,3;4,5,6;7,8,9", "--kernel", "1,0;0,-1"], capsys)
    assert code == 0
    assert out.rstrip().endswith("output\n-4 -4\n-4 -4")
    code, out, _ = run(["conv", "explain", "-i", "1,2,3;4,5,6;7,8,9", "-k", "1,0;0,-1", "--flip", "--stride", "2",
                        "--mode", "same"], capsys)
    assert code == 0 and "kernel IS flipped" in out
    want = convolve(np.arange(1.0, 10).reshape(3, 3), [[1, 0], [0, -1]], mode="same", stride=2)
    assert out.rstrip().endswith("output\n" + "\n".join(" ".join(f"{int(v):>2}" for v in row) for row in want))


def test_explain_one_dimensional_and_named_kernel(capsys):
    code, out, _ = run(["conv", "explain", "-i", "1 2 3 4 5", "-k", "1,0,-1", "--mode", "same"], capsys)
    assert code == 0 and "out[4]: window x[3:6]" in out and "4*1 + 5*0 + 0*(-1) = 4" in out
    code, out, _ = run(["conv", "explain", "-i", "0,0,1,1;0,0,1,1;0,0,1,1;0,0,1,1", "-k", "sobel_x"], capsys)
    assert code == 0
    x = np.array([[0, 0, 1, 1]] * 4, float)
    want = correlate(x, get_kernel("sobel_x"), mode="valid")
    assert out.rstrip().endswith("output\n" + "\n".join(" ".join(f"{int(v)}" for v in row) for row in want))


@pytest.mark.parametrize("args,fragment", [
    (["-i", "1,2;3"], "--input rows have different lengths"),
    (["-i", "1,a;3,4"], "--input must be numbers"),
    (["-i", "1,2;3,4", "-k", "nope"], "unknown kernel 'nope'"),
    (["-i", "1,2,3", "-k", "1,0;0,1"], "kernel has 2 dimension(s) but x has 1"),
    (["--mode", "middle"], "mode must be one of"),
    (["--stride", "0"], "stride must be a positive integer"),
    (["-i", "1,2;3,4", "-k", "1,1,1;1,1,1;1,1,1"], "no window fits"),
    (["-i", ";".join([",".join(["1"] * 30)] * 30), "-k", "1"], "explain is for small examples"),
])
def test_explain_bad_input(args, fragment, capsys):
    code, _, err = run(["conv", "explain", *args], capsys)
    assert_one_line_error(code, err, fragment)


# ---------------------------------------------------------------------------------------------------------------
# apply


def test_apply_image_matches_the_api(image_path, tmp_path, capsys):
    out = tmp_path / "edges.npy"
    code, stdout, err = run(["conv", str(image_path), "--kernel", "sobel_x", "-o", str(out)], capsys)
    assert code == 0, err
    assert f"wrote {out}" in stdout and "correlation (as written)" in stdout
    got = np.load(out)
    img = read_image(image_path)
    np.testing.assert_allclose(got, correlate(img, get_kernel("sobel_x"), mode="same", boundary="reflect"))
    assert np.median(got[:, 2:-2]) > 0  # correlating a rightward ramp with sobel_x as printed: positive
    flipped = tmp_path / "flipped.npy"
    code, _, _ = run(["conv", "apply", str(image_path), "-k", "sobel_x", "--flip", "-o", str(flipped)], capsys)
    assert code == 0
    np.testing.assert_allclose(np.load(flipped), -got, atol=1e-12)


def test_apply_sample_with_params_writes_png(tmp_path, capsys):
    out = tmp_path / "blur.png"
    code, stdout, err = run(["conv", "--sample", "camera", "--kernel", "gaussian", "--param", "sigma=1.5",
                             "-p", "size=7", "--mode", "same", "--boundary", "symmetric", "-o", str(out)], capsys)
    assert code == 0, err
    written = read_image(out)
    want = convolve(sample_image("camera"), get_kernel("gaussian", sigma=1.5, size=7), mode="same",
                    boundary="symmetric")
    assert written.shape == want.shape == (512, 512)
    assert np.abs(written - np.clip(want, 0, 1)).max() <= 1 / 255 + 1e-9  # 8-bit rounding only
    assert not list(tmp_path.glob(".blur.png*"))  # no temporary left behind


def test_apply_colour_stride_and_scales(tmp_path, capsys):
    rgb = np.random.default_rng(0).random((16, 18, 3))
    src = write_image(tmp_path / "rgb.png", rgb)
    out = tmp_path / "o.npy"
    code, _, err = run(["conv", str(src), "-k", "box", "--stride", "2", "--mode", "valid", "-o", str(out)], capsys)
    assert code == 0, err
    assert np.load(out).shape == (7, 8, 3)
    for scale in ("abs", "rescale"):
        png = tmp_path / f"{scale}.png"
        code, _, err = run(["conv", str(src), "-k", "laplacian", "--scale", scale, "--gray", "-o", str(png)], capsys)
        assert code == 0, err
        img = read_image(png)
        assert img.ndim == 2 and img.max() > 0.5
    assert read_image(tmp_path / "rescale.png").min() == 0.0


@pytest.mark.parametrize("args,fragment", [
    (["--kernel", "box", "-o", "OUT"], "give exactly one of IMAGE or --sample NAME"),
    (["IMG", "--sample", "camera", "--kernel", "box", "-o", "OUT"], "give exactly one of IMAGE or --sample"),
    (["IMG", "-o", "OUT"], "--kernel NAME is required"),
    (["IMG", "--kernel", "box"], "-o/--output OUT is required"),
    (["IMG", "--kernel", "nope", "-o", "OUT"], "unknown kernel 'nope'"),
    (["IMG", "--kernel", "gaussian", "--param", "sigma", "-o", "OUT"], "--param must look like name=value"),
    (["IMG", "--kernel", "gaussian", "--param", "sigma=abc", "-o", "OUT"], "parameter sigma must be float"),
    (["IMG", "--kernel", "box", "--boundary", "mirror", "-o", "OUT"], "boundary must be one of"),
    (["IMG", "--kernel", "box", "--mode", "middle", "-o", "OUT"], "mode must be one of"),
    (["IMG", "--kernel", "box", "--stride", "0", "-o", "OUT"], "stride must be a positive integer"),
    (["IMG", "--kernel", "box", "--scale", "log", "-o", "OUT"], "--scale must be clip, abs or rescale"),
    (["IMG", "--kernel", "box", "-p", "ndim=1", "-o", "OUT"], "images need a 2-D kernel"),
    (["--sample", "lena", "--kernel", "box", "-o", "OUT"], "unknown sample image 'lena'"),
    (["MISSING", "--kernel", "box", "-o", "OUT"], "file not found"),
    (["TEXT", "--kernel", "box", "-o", "OUT"], "not a readable image file"),
    (["IMG", "--kernel", "box", "-o", "NODIR"], "output folder does not exist"),
    (["IMG", "--kernel", "box", "--mode", "valid", "-p", "size=31", "-o", "OUT"], "no window fits"),
])
def test_apply_bad_input_one_line_exit_2_no_output(args, fragment, image_path, tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    out = tmp_path / "out.png"
    subs = {"IMG": str(image_path), "OUT": str(out), "MISSING": str(tmp_path / "missing.png"), "TEXT": str(text),
            "NODIR": str(tmp_path / "nodir" / "o.png")}
    code, _, err = run(["conv", *[subs.get(a, a) for a in args]], capsys)
    assert_one_line_error(code, err, fragment)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png", "ramp.png"]


def test_failed_run_keeps_existing_output(image_path, tmp_path, capsys):
    out = tmp_path / "keep.png"
    out.write_bytes(b"old")
    code, _, _ = run(["conv", str(image_path), "-k", "box", "--boundary", "bad", "-o", str(out)], capsys)
    assert code == 2 and out.read_bytes() == b"old"


# ---------------------------------------------------------------------------------------------------------------
# help and the real entry point


def test_help_describes_both_shapes(capsys):
    code, out, _ = run(["conv", "--help"], capsys)
    assert code == 0
    for fragment in ("apply", "explain", "freqlens conv IMAGE --kernel NAME", "short for", "--flip"):
        assert fragment in out
    code, out, _ = run(["conv", "apply", "--help"], capsys)
    assert code == 0 and "--sample" in out and "--boundary" in out


def test_python_dash_m_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "freqlens", "conv", "explain", "-i", "1,2,3", "-k", "1,1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("output\n3 5")
    proc = subprocess.run([sys.executable, "-m", "freqlens", "conv", "explain", "-i", "1,2;3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "freqlens: error:" in proc.stderr
