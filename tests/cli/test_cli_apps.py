"""CLI of the applications: results equal the API's, bad input is one line + exit 2, outputs are atomic."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import skimage.io
import soundfile as sf

from freqlens.cli import main
from freqlens.conv.apps import audio, images, radar, timeseries
from freqlens.io import read_image, sample_image


def run(argv, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def ok(argv, capsys) -> str:
    code, out, err = run(argv, capsys)
    assert code == 0, err
    return out


def save_png(path, img):
    skimage.io.imsave(str(path), (np.clip(img, 0, 1) * 255).round().astype(np.uint8), check_contrast=False)


@pytest.fixture
def wavs(tmp_path):
    rng = np.random.default_rng(0)
    dry = 0.4 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000) * np.exp(-np.arange(4000) / 2000)
    sf.write(tmp_path / "dry.wav", dry, 8000, subtype="FLOAT")
    sf.write(tmp_path / "dry2.wav", np.stack([dry, -dry], 1), 8000, subtype="FLOAT")
    ir = audio.synthetic_rir(8000, 0.1, seed=1)
    sf.write(tmp_path / "ir.wav", ir / np.abs(ir).max(), 8000, subtype="FLOAT")
    sf.write(tmp_path / "ir16k.wav", audio.synthetic_rir(16000, 0.1, seed=1) / 2, 16000, subtype="FLOAT")
    sf.write(tmp_path / "ir3.wav", 0.1 * rng.standard_normal((300, 3)), 8000, subtype="FLOAT")
    (tmp_path / "notaudio.wav").write_text("this is not a RIFF file\n")
    return tmp_path


# --- images ------------------------------------------------------------------------------------------------------

def test_edges_writes_the_api_magnitude_and_mask(tmp_path, capsys):
    out = tmp_path / "edges.png"
    text = ok(["edges", "--sample", "camera", "-o", out], capsys)
    res = images.edges(sample_image("camera", as_gray=True))
    scale = np.percentile(res.magnitude, 99)
    assert f"max {res.magnitude.max():.4g}" in text
    np.testing.assert_allclose(read_image(out), np.clip(res.magnitude / scale, 0, 1), atol=0.5 / 255 + 1e-9)
    mask_out = tmp_path / "mask.png"
    text = ok(["edges", "--sample", "camera", "-o", mask_out, "--threshold", "0.1", "--operator", "scharr"], capsys)
    mask = images.edges(sample_image("camera", as_gray=True), operator="scharr", threshold=0.1).mask
    np.testing.assert_array_equal(read_image(mask_out) > 0.5, mask)
    assert f"{100 * mask.mean():.1f} %" in text


def test_edges_of_an_image_file_mark_the_step(tmp_path, capsys):
    img = np.zeros((20, 30))
    img[:, 15:] = 1.0
    save_png(tmp_path / "step.png", img)
    ok(["edges", tmp_path / "step.png", "-o", tmp_path / "e.png", "--threshold", "0.25"], capsys)
    mask = read_image(tmp_path / "e.png") > 0.5
    assert mask[:, 14:16].all() and mask.sum() == 40


def test_blur_and_sharpen_keep_colour_and_equal_the_api(tmp_path, capsys):
    ok(["blur", "--sample", "astronaut", "--sigma", "2", "-o", tmp_path / "b.png"], capsys)
    ref = images.blur(sample_image("astronaut"), 2.0, channel_axis=-1)
    got = read_image(tmp_path / "b.png")
    assert got.shape == (512, 512, 3)
    np.testing.assert_allclose(got, ref, atol=0.5 / 255 + 1e-9)
    ok(["blur", "--sample", "coins", "--kind", "median", "--size", "5", "-o", tmp_path / "m.png"], capsys)
    ref = images.blur(sample_image("coins"), size=5, kind="median")
    np.testing.assert_allclose(read_image(tmp_path / "m.png"), ref, atol=0.5 / 255 + 1e-9)
    text = ok(["sharpen", "--sample", "camera", "--amount", "1.5", "--radius", "1", "-o", tmp_path / "s.png"], capsys)
    ref = np.clip(images.sharpen(sample_image("camera"), 1.5, 1.0), 0, 1)
    np.testing.assert_allclose(read_image(tmp_path / "s.png"), ref, atol=0.5 / 255 + 1e-9)
    assert "clipped" in text


# --- audio -------------------------------------------------------------------------------------------------------

def test_reverb_with_an_ir_file_equals_the_api(wavs, capsys):
    out = wavs / "wet.wav"
    text = ok(["reverb", wavs / "dry.wav", wavs / "ir.wav", "-o", out, "--mix", "0.5"], capsys)
    got, fs = sf.read(out)
    dry, _ = sf.read(wavs / "dry.wav")
    ir, _ = sf.read(wavs / "ir.wav")
    ref = audio.reverb(dry, ir, fs_dry=8000, mix=0.5)
    assert fs == 8000 and got.shape == ref.shape == (4000 + 800 - 1,)
    np.testing.assert_allclose(got, ref, atol=1.5 / 32768)  # 16-bit PCM output
    assert "tail kept" in text


def test_reverb_synthetic_ir_on_stereo_gives_stereo_and_is_peak_safe(wavs, capsys):
    t = np.arange(4000) / 8000
    loud = 0.9 * np.sign(np.sin(2 * np.pi * 50 * t))
    sf.write(wavs / "loud.wav", np.stack([loud, -loud], 1), 8000, subtype="FLOAT")
    h = audio.synthetic_rir(8000, 0.3, channels=2, seed=0)  # what --synthetic-ir 0.3 builds for stereo
    raw = audio.reverb(np.stack([loud, -loud], 1), h, fs_dry=8000, mix=1.0, normalize="none", tail=False,
                       peak_limit=None)
    assert np.max(np.abs(raw)) > 2.0  # the test needs a wet signal that would clip
    out = wavs / "wet2.flac"
    text = ok(["reverb", wavs / "loud.wav", "--synthetic-ir", "0.3", "-o", out, "--mix", "1", "--no-tail",
               "--normalize", "none"], capsys)
    got, fs = sf.read(out)
    assert got.shape == (4000, 2)
    np.testing.assert_allclose(got, raw / np.max(np.abs(raw)), atol=1.5 / 32768)  # one gain, no clipping
    assert f"scaled by {20 * np.log10(1 / np.max(np.abs(raw))):.1f} dB" in text
    assert np.corrcoef(got[:, 0], -got[:, 1])[0, 1] < 0.99  # decorrelated synthetic tails per channel


def test_reverb_resamples_an_ir_at_another_rate(wavs, capsys):
    text = ok(["reverb", wavs / "dry.wav", wavs / "ir16k.wav", "-o", wavs / "wet.wav"], capsys)
    got, _ = sf.read(wavs / "wet.wav")
    assert got.shape == (4000 + 800 - 1,)  # 1600 samples at 16 kHz -> 800 at 8 kHz
    assert "resampled to 8000 Hz" in text


# --- time series -------------------------------------------------------------------------------------------------

def test_smooth_csv_to_stdout_and_file(tmp_path, capsys):
    x = np.cumsum(np.random.default_rng(3).standard_normal(50))
    lines = ["time,value"] + [f"{i * 0.1:.1f},{v:.12g}" for i, v in enumerate(x)]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    out = ok(["smooth", tmp_path / "in.csv", "--method", "moving", "--width", "5"], capsys)
    rows = out.strip().splitlines()
    assert rows[0] == "time,value,value_moving" and len(rows) == 51
    got = np.array([float(r.split(",")[2]) for r in rows[1:]])
    np.testing.assert_allclose(got, timeseries.moving_average(x, 5), rtol=1e-9)
    ok(["smooth", tmp_path / "in.csv", "--method", "exponential", "--alpha", "0.3", "--column", "value",
        "-o", tmp_path / "out.csv"], capsys)
    got = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1)[:, 2]
    np.testing.assert_allclose(got, timeseries.exponential_smooth(x, 0.3), rtol=1e-9)


def test_smooth_plain_column_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("1\n2\n3\n4\n5\n\n6\n"))
    out = ok(["smooth", "-", "--method", "gaussian", "--width", "1"], capsys)
    got = np.array([float(r.split(",")[1]) for r in out.split()])
    np.testing.assert_allclose(got, timeseries.gaussian_smooth(np.arange(1.0, 7.0), 1.0), rtol=1e-9)


# --- matched filter ----------------------------------------------------------------------------------------------

def test_matched_demo_recovers_three_delays_within_a_sample(capsys):
    out = ok(["matched", "--demo", "--seed", "4"], capsys)
    assert "3 echo(es)" in out
    errors = [int(line.split()[-1]) for line in out.splitlines()[3:]]
    assert len(errors) == 3 and all(abs(e) <= 1 for e in errors)


def test_matched_on_npy_and_wav_inputs(tmp_path, capsys):
    fs = 8000
    pulse = radar.chirp_pulse(fs, 0.05, 300, 3000, window="hann")
    r = radar.simulate_echoes(pulse, fs, [0.1, 0.25], duration=0.5, snr_db=-5, seed=2)
    np.save(tmp_path / "r.npy", r)
    out = ok(["matched", tmp_path / "r.npy", "--fs", fs, "--chirp", 300, 3000, 0.05], capsys)
    assert [int(line.split()[1]) for line in out.splitlines()[3:]] == [800, 2000]
    sf.write(tmp_path / "r.wav", r / np.abs(r).max(), fs, subtype="FLOAT")
    sf.write(tmp_path / "p.wav", pulse, fs, subtype="FLOAT")
    out = ok(["matched", tmp_path / "r.wav", "--pulse", tmp_path / "p.wav"], capsys)
    assert [int(line.split()[1]) for line in out.splitlines()[3:]] == [800, 2000]


# --- DNA ---------------------------------------------------------------------------------------------------------

def test_motif_on_a_sequence_and_a_fasta_file(tmp_path, capsys):
    out = ok(["motif", "ACGTTGACTCAGGATCCAATGAGTCATT", "--motif", "TGANTCA", "--single-strand"], capsys)
    assert "2 hit(s)" in out
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [(r[1], r[2], r[4]) for r in rows] == [("4", "+", "TGACTCA"), ("19", "+", "TGAGTCA")]
    (tmp_path / "s.fa").write_text(">chr1 test\nAAAAGGATCC\nAAAA\n>chr2\nTTTTTTTTTT\n>chr3\nGGATCAAAAAA\n")
    out = ok(["motif", "--fasta", tmp_path / "s.fa", "--motif", "GGATC"], capsys)
    rows = [line.split() for line in out.splitlines()[2:]]
    # GATCC, the reverse complement of GGATC, also sits at chr1:5.
    assert [(r[0], r[1], r[2]) for r in rows] == [("chr1", "4", "+"), ("chr1", "5", "-"), ("chr3", "0", "+")]


def test_motif_with_a_jaspar_style_count_matrix(tmp_path, capsys):
    (tmp_path / "m.jaspar").write_text(
        ">MA0000.1 toy\nA [ 10 0 0 ]\nC [ 0 10 0 ]\nG [ 0 0 10 ]\nT [ 0 0 0 ]\n"
    )
    out = ok(["motif", "TTACGTTCGT", "--pwm", tmp_path / "m.jaspar", "--log-odds", "--threshold", "4"], capsys)
    rows = [line.split() for line in out.splitlines()[2:]]
    # ACG at 2; its reverse complement CGT at 3 and 7.
    assert [(r[1], r[2], r[4]) for r in rows] == [("2", "+", "ACG"), ("3", "-", "ACG"), ("7", "-", "ACG")]


# --- template matching -------------------------------------------------------------------------------------------

def test_match_finds_a_planted_template(tmp_path, capsys):
    rng = np.random.default_rng(8)
    img = rng.random((80, 100)) * 0.4
    tmpl = rng.random((10, 12))
    img[30:40, 55:67] = tmpl
    save_png(tmp_path / "img.png", img)
    save_png(tmp_path / "t.png", tmpl)
    out = ok(["match", tmp_path / "img.png", tmp_path / "t.png", "-k", "2", "-o", tmp_path / "map.png"], capsys)
    first = out.splitlines()[2].split()
    assert first[1:3] == ["30", "55"] and float(first[3]) > 0.999
    assert read_image(tmp_path / "map.png").shape == (71, 89)
    out = ok(["match", "--sample", "coins", "--crop", 170, 290, 45, 45, "-k", "1"], capsys)
    assert out.splitlines()[2].split()[1:] == ["170", "290", "1.0000"]


# --- bad input: one line, exit code 2, the existing output untouched -------------------------------------------

BAD = [
    (["edges", "-o", "{out_png}"], "exactly one of IMAGE or --sample"),
    (["edges", "--sample", "nosuch", "-o", "{out_png}"], "unknown sample image"),
    (["edges", "{notimage}", "-o", "{out_png}"], "not a readable image"),
    (["edges", "{missing}", "-o", "{out_png}"], "file not found"),
    (["edges", "--sample", "camera", "-o", "{out_png}", "--threshold", "high"], "--threshold"),
    (["edges", "--sample", "camera", "-o", "{out_png}", "--operator", "canny"], "operator"),
    (["edges", "--sample", "camera", "-o", "{tmp}/nofolder/x.png"], "output folder does not exist"),
    (["edges", "--sample", "camera", "-o", "{tmp}/x.txt"], "must end in one of"),
    (["blur", "--sample", "camera", "-o", "{out_png}"], "sigma"),
    (["blur", "--sample", "camera", "-o", "{out_png}", "--sigma", "-2"], "sigma"),
    (["blur", "--sample", "camera", "-o", "{out_png}", "--kind", "box", "--size", "0"], "size"),
    (["sharpen", "--sample", "camera", "-o", "{out_png}", "--radius", "0"], "radius"),
    (["reverb", "{dry}", "-o", "{out_wav}"], "exactly one of IR"),
    (["reverb", "{dry}", "{notaudio}", "-o", "{out_wav}"], "not a readable audio file"),
    (["reverb", "{dry2}", "{ir3}", "-o", "{out_wav}"], "channel mismatch: dry has 2 channels and ir has 3"),
    (["reverb", "{dry}", "{ir}", "-o", "{out_wav}", "--mix", "2"], "mix"),
    (["reverb", "{dry}", "{ir}", "-o", "{tmp}/wet.xyz"], "unsupported audio format"),
    (["reverb", "{dry}", "--synthetic-ir", "0", "-o", "{out_wav}"], "rt60"),
    (["reverb", "{dry}", "--synthetic-ir", "1e9", "-o", "{out_wav}"], "memory"),
    (["smooth", "{csv}", "--method", "moving", "-o", "{out_csv}"], "--width"),
    (["smooth", "{csv}", "--method", "median", "--width", "3", "-o", "{out_csv}"], "--method"),
    (["smooth", "{badcsv}", "--width", "3", "-o", "{out_csv}"], "row 2"),
    (["smooth", "{csv}", "--width", "3", "--column", "nope", "-o", "{out_csv}"], "--column"),
    (["smooth", "{csv}", "--width", "2.5", "-o", "{out_csv}"], "whole number"),
    (["matched"], "RECEIVED"),
    (["matched", "{npy}", "--chirp", "300", "3000", "0.05"], "--fs"),
    (["matched", "{npy}", "--fs", "8000", "--chirp", "300", "5000", "0.05"], "Nyquist"),
    (["matched", "{notaudio}", "--chirp", "300", "3000", "0.05"], "not a readable audio file"),
    (["motif", "ACGU", "--motif", "ACG"], "'U' at position 3"),
    (["motif", "ACGT"], "--motif"),
    (["motif", "--fasta", "{notaudio}", "--motif", "ACG"], "not FASTA"),
    (["match", "{img}", "-o", "{out_png}"], "TEMPLATE or --crop"),
    (["match", "{img}", "--crop", "0", "0", "500", "5", "-o", "{out_png}"], "does not fit"),
    (["match", "{img}", "{img}", "-k", "0", "-o", "{out_png}"], "k"),
]


@pytest.fixture
def bad_setup(wavs):
    tmp = wavs
    save_png(tmp / "img.png", np.random.default_rng(0).random((20, 20)))
    (tmp / "in.csv").write_text("t,v\n0,1\n1,2\n2,3\n")
    (tmp / "bad.csv").write_text("t,v\n0,1\n1,abc\n")
    np.save(tmp / "r.npy", np.zeros(1000))
    outputs = {"out_png": tmp / "out.png", "out_wav": tmp / "out.wav", "out_csv": tmp / "out.csv"}
    for path in outputs.values():
        path.write_bytes(b"precious existing output")
    names = {
        "tmp": tmp, "dry": tmp / "dry.wav", "dry2": tmp / "dry2.wav", "ir": tmp / "ir.wav", "ir3": tmp / "ir3.wav",
        "notaudio": tmp / "notaudio.wav", "notimage": tmp / "notaudio.wav", "missing": tmp / "missing.png",
        "csv": tmp / "in.csv", "badcsv": tmp / "bad.csv", "npy": tmp / "r.npy", "img": tmp / "img.png",
        **outputs,
    }
    return names, outputs


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a[:2]) + f" [{m}]" for a, m in BAD])
def test_bad_input_is_one_line_exit_2_and_leaves_outputs_alone(argv, message, bad_setup, capsys):
    names, outputs = bad_setup
    before = sorted(os.listdir(names["tmp"]))
    code, out, err = run([a.format(**names) for a in argv], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("freqlens: error:"), err
    assert message in lines[0]
    assert "Traceback" not in err
    for path in outputs.values():
        assert path.read_bytes() == b"precious existing output"
    assert sorted(os.listdir(names["tmp"])) == before  # no temporary or partial files left behind


def test_a_failing_write_never_replaces_the_existing_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")

    def broken_imsave(path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"half a PNG")
        raise OSError("disk full")

    monkeypatch.setattr(skimage.io, "imsave", broken_imsave)
    code, _, err = run(["blur", "--sample", "camera", "--sigma", "1", "-o", out], capsys)
    assert code == 2 and "disk full" in err
    assert out.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.png"]
