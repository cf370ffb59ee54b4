"""Image fitting, remedies of spectral bias, theory runs and the optimizer sweep, end to end on small budgets."""

import numpy as np
import pytest

import freqlens
import freqlens.lab as lab
from freqlens.errors import ConfigError
from freqlens.lab.experiments import resolve_config

from ..runs.conftest import cli, one_line


# -- fp2d -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def image_runs(tmp_path_factory):
    runs = tmp_path_factory.mktemp("fp2d") / "runs"
    common = dict(size=128, steps=300, eval_every=25, hidden=[128, 128, 128], runs_dir=runs, quiet=True)
    return (lab.run("fp2d", model="mlp", lr=1e-2, **common),
            # σ in cycles per image side, scaled to the 64² training grid (Tancik et al.: 10 at 256²)
            lab.run("fp2d", model="ff-gaussian", sigma=4.0, **common))


def test_plain_mlp_learns_low_bands_before_high_ones(image_runs):
    plain, _ = image_runs
    conv = plain.convergence_steps
    bands = sorted(conv)
    assert conv[bands[0]] is not None  # the lowest band converges ...
    later = [conv[b] for b in bands[3:]]
    assert all(s is None or s > conv[bands[0]] for s in later)  # ... before every high one
    df = plain.wide("delta_f_band")
    last = df.iloc[-1]
    assert last[bands[0]] < 0.1 < last[bands[-1]]


def test_gaussian_fourier_features_beat_the_plain_mlp_on_test_pixels(image_runs):
    plain, ff = image_runs
    test = lambda run: float(run.wide("psnr")["test"].iloc[-1])  # noqa: E731
    assert test(ff) > test(plain) + 1.0, (test(ff), test(plain))


def test_the_image_report_holds_snapshots_and_an_animation(image_runs):
    plain, _ = image_runs
    page = (plain.path / "report.html").read_text()
    assert 'id="fig-training" alt=' in page and "data:image/gif;base64," in page
    gif = (plain.path / "figures" / "training.gif").read_bytes()
    assert gif[:6] in (b"GIF87a", b"GIF89a")
    from PIL import Image

    frames = Image.open(plain.path / "figures" / "training.gif").n_frames
    assert frames >= 5


@pytest.mark.parametrize("overrides, message", [
    ({"image": "no-such-image"}, "no-such-image"),
    ({"sigma": 0}, "sigma must be a finite number > 0"),
    ({"mapping_size": 0}, "mapping_size must be an integer >= 1"),
    ({"model": "resnet"}, "model must be one of"),
    ({"size": 4}, "size must be 0"),
])
def test_bad_image_fits_are_refused_before_a_run_exists(tmp_path, overrides, message):
    runs = tmp_path / "runs"
    with pytest.raises((ConfigError, freqlens.FreqlensError), match=message):
        lab.run("fp2d", runs_dir=runs, **overrides)
    assert not runs.exists()


def test_an_image_file_that_is_not_an_image_is_one_line(tmp_path):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"not an image at all")
    line = one_line(cli("run", "fp2d", "--set", f"image={bad}", "--runs-dir", tmp_path / "runs", "-q"))
    assert "photo.png" in line and not (tmp_path / "runs").exists()


# -- remedies in 1-D --------------------------------------------------------------------------------------------
def test_every_coordinate_model_fits_the_1d_lab_and_remedies_converge_faster(tmp_path):
    base = dict(runs_dir=tmp_path, steps=600, hidden=[64, 64], lr=1e-3, quiet=True, report=False)
    plain = lab.run("fp1d", activation="relu", **base).convergence_steps
    for model in ("ff-gaussian", "ff-positional", "siren"):
        conv = lab.run("fp1d", model=model, **base).convergence_steps
        assert conv[5] is not None and (plain[5] is None or conv[5] < plain[5]), (model, conv, plain)


# -- theory -----------------------------------------------------------------------------------------------------
def test_ntk_prediction_is_within_a_factor_of_two_of_wide_gd(tmp_path):
    run = lab.run("theory-ntk", runs_dir=tmp_path, hidden=[1000], freqs=[1, 2], amps=[0.05, 0.05], tracked=[1, 2],
                  steps=5000, quiet=True)
    measured = run.convergence_steps
    pred = run.summaries("predicted_convergence_step")
    predicted = dict(zip(pred["key"], pred["value"]))
    assert measured[1] < measured[2] and predicted[1] < predicted[2]
    for k in (1, 2):
        assert 0.5 <= measured[k] / predicted[k] <= 2.0, (k, measured[k], predicted[k])
    assert run.config["lr"] > 0 and run.config["lr_from_ntk"] == 0  # the resolved step is what is stored
    names = [v["name"] for v in run.views if "name" in v]
    assert {"theory", "theory_steps", "ntk_eigen"} <= set(names)
    assert all((run.path / "figures" / f"{n}.png").exists() for n in ("theory", "theory_steps", "ntk_eigen"))


def test_the_default_1d_run_with_theory_predicts_the_measured_order(tmp_path):
    run = lab.run("fp1d", runs_dir=tmp_path, theory="ntk", steps=1200, quiet=True, report=False)
    pred = run.summaries("predicted_convergence_step")
    p = {k: (np.inf if v is None else v) for k, v in zip(pred["key"], pred["value"])}
    assert p[1] < p[3] < p[5] or (p[1] < p[3] and p[5] == np.inf)
    assert run.convergence_steps[1] is not None  # measured: k=1 first, well within the run
    ntk = run.wide("delta_f_ntk")
    assert list(ntk.index) == list(run.delta_f.index)
    # the prediction starts from the network's actual initial outputs (float64 kernel vs float32 measurement)
    np.testing.assert_allclose(ntk.iloc[0].to_numpy(), run.delta_f.iloc[0].to_numpy(), rtol=1e-4)
    from ..runs.conftest import cli

    out = cli("show", run.id, "--runs-dir", tmp_path).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("predicted by the NTK:"))
    assert "k=1: " + ("never" if p[1] == np.inf else str(int(p[1]))) in line


def test_three_point_interpolation_is_cubic_like_in_the_cubic_regime(tmp_path):
    run = lab.run("theory-lfp", runs_dir=tmp_path, steps=2000, quiet=True, report=False)
    dc = dict(zip(*run.summaries("d_cubic")[["key", "value"]].values.T))
    dl = dict(zip(*run.summaries("d_linear")[["key", "value"]].values.T))
    assert dc["fp"] < 0.05 and dl["fp"] > 0.95  # the variational solution is the cubic spline
    assert dc["trained"] < 0.2 < 0.8 < dl["trained"]  # and so is the trained network
    from ..runs.conftest import cli

    shown = cli("show", run.id, "--runs-dir", tmp_path).stdout
    assert f"trained      {dc['trained']:7.3f}  {dl['trained']:8.3f}" in shown
    lin = lab.run("theory-lfp", runs_dir=tmp_path, regime="linear", steps=200, quiet=True, report=False)
    dl = dict(zip(*lin.summaries("d_linear")[["key", "value"]].values.T))
    assert dl["fp"] < 0.05  # the linear regime's variational solution is the linear spline


# -- optimizers -------------------------------------------------------------------------------------------------
def test_a_reduced_nongd_sweep_learns_low_frequency_first_without_gradients(tmp_path):
    run = lab.run("fp1d-nongd", runs_dir=tmp_path, sweep_optimizers=["powell", "pso"], steps=6000, quiet=True)
    conv = run.convergence_steps
    for name in ("powell", "pso"):
        k1, k3 = conv[name][1], conv[name][3]
        assert k1 is not None and (k3 is None or k1 < k3), (name, conv)
    units = {m["label"]: m["info"]["unit"] for _, m in run.members.iterrows()}
    assert units == {"powell": "evaluation", "pso": "evaluation"}
    counts = run.wide("count", per_seed=True)
    assert (counts.iloc[-1].xs("evaluations", level="counter") > 0).all()


def test_spectral_bias_experiments_resolve_with_every_remedy():
    for name in ("spectral-bias-1d", "spectral-bias-2d"):
        cfg = resolve_config(name)
        labels = [lab_ for lab_, _ in cfg.variants()]
        assert any("mlp" in x for x in labels) and any("ff-gaussian" in x for x in labels)
        assert any("siren" in x for x in labels) and any("mscale" in x for x in labels)
    assert {lab_.split("/")[0] for lab_, _ in resolve_config("spectral-bias-2d").variants()} == {"camera", "brick",
                                                                                                 "text"}
