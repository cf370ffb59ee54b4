"""The classification family on the seam: configs, data errors, exact resume of minibatch training, the report."""

import gzip
import struct

import numpy as np
import pytest
import torch

import freqlens
import freqlens.lab as lab
from freqlens.errors import ConfigError, DataError
from freqlens.lab.experiments import resolve_config

from ..runs.conftest import cli, one_line
from .conftest import interrupted_run

FAST = dict(steps=4, subset=300, test_subset=100, quiet=True)


@pytest.mark.parametrize("overrides, match", [
    ({"dataset": "imagenet"}, "dataset must be one of digits, mnist, fashion-mnist, cifar10"),
    ({"model": "resnet"}, "model must be one of mlp, cnn, vgg16"),
    ({"deltas": [2, -1]}, "deltas must be finite numbers > 0"),
    ({"deltas": [2, 2]}, "deltas must be distinct"),
    ({"monitors": ["projection", "psd"]}, "monitors must be one of"),
    ({"monitors": []}, "monitors must name at least one of"),
    ({"monitors": ["kernels"]}, "monitors=kernels records a convolutional first layer"),
    ({"threshold": 1.0}, "threshold must be in (0, 1)"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"subset": 3}, "subset must be 0 (all) or at least 10"),
    ({"model": "cnn", "dataset": "digits", "steps": 2.5}, "steps expects an integer"),
])
def test_bad_classification_configs_name_the_problem(overrides, match):
    with pytest.raises(ConfigError, match=match.replace("(", r"\(").replace(")", r"\)")):
        resolve_config("fp-digits", overrides)


def test_datasets_that_need_files_say_which_option_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("FREQLENS_DATA_DIR", raising=False)
    runs = tmp_path / "runs"
    line = one_line(cli("run", "fp-mnist", "--runs-dir", runs, "-q"))
    assert "--data-dir" in line or "FREQLENS_DATA_DIR" in line
    empty = tmp_path / "data"
    empty.mkdir()
    line = one_line(cli("run", "fp-mnist", "--data-dir", empty, "--runs-dir", runs, "-q"))
    assert "train-images-idx3-ubyte" in line  # the files it looked for
    line = one_line(cli("run", "fp1d", "--data-dir", empty, "--runs-dir", runs, "-q"))
    assert "--data-dir applies to the classification experiments" in line
    assert not runs.exists()


def _idx(path, arr, magic):
    with gzip.open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.tobytes())


def test_a_small_mnist_written_here_trains_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    for split, n in (("train", 200), ("t10k", 50)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = np.zeros((n, 28, 28), np.uint8)
        for i, c in enumerate(labels):  # a class-dependent bar: learnable
            images[i, 2 + 2 * c: 5 + 2 * c, 4:24] = 200
        _idx(data / f"{split}-images-idx3-ubyte.gz", images, 0x803)
        _idx(data / f"{split}-labels-idx1-ubyte.gz", labels, 0x801)
    run = lab.run("fp-mnist", runs_dir=tmp_path / "runs", data_dir=str(data), steps=6, batch_size=20, deltas=[],
                  monitors=["accuracy"], quiet=True)
    acc = run.wide("accuracy")
    assert run.unit == "epoch" and list(acc.index) == list(range(7))
    assert acc["train"].iloc[-1] > 0.9 and acc["train"].iloc[0] < 0.5
    truncated = data / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(truncated, "rb") as fh:
        raw = fh.read()
    with gzip.open(truncated, "wb") as fh:
        fh.write(raw[:-10])
    with pytest.raises(DataError, match="t10k-labels"):
        lab.run("fp-mnist", runs_dir=tmp_path / "runs2", data_dir=str(data), steps=1, monitors=["accuracy"])
    assert not (tmp_path / "runs2").exists()


def test_minibatch_training_resumes_exactly(tmp_path, monkeypatch):
    """Interrupted after epoch 3 of 6 (checkpoints every 2 epochs), resumed: the same weights and numbers as an
    uninterrupted run - the batch sampler's state is saved with the checkpoint."""
    from freqlens.lab.monitors import accuracy

    settings = dict(steps=6, checkpoint_every=2, monitors=["accuracy"], subset=300, test_subset=100, quiet=True,
                    report=False)
    ref = lab.run("fp-digits", runs_dir=tmp_path / "ref", **settings)
    rid = interrupted_run(monkeypatch, accuracy.AccuracyMonitor, 3, "fp-digits", tmp_path / "cut", **settings)
    assert freqlens.load_run(rid, runs_dir=tmp_path / "cut").status == "interrupted"
    resumed = lab.resume(rid, runs_dir=tmp_path / "cut", report=False)
    assert resumed.wide("accuracy").equals(ref.wide("accuracy")) and resumed.loss.equals(ref.loss)
    w_ref = torch.load(ref.path / "member-00" / "final.pt", weights_only=True)
    w_res = torch.load(resumed.path / "member-00" / "final.pt", weights_only=True)
    assert all(torch.equal(w_ref[k], w_res[k]) for k in w_ref)


def test_seeds_change_the_model_not_the_data(tmp_path):
    run = lab.run("fp-digits", runs_dir=tmp_path / "runs", seeds=2, monitors=["accuracy"], report=False, **FAST)
    info = run.members["info"]
    assert info[0]["dataset"] == info[1]["dataset"]  # the same subset for every seed
    acc = run.wide("accuracy", per_seed=True)
    assert not acc.xs(0, level="seed", axis=1).equals(acc.xs(1, level="seed", axis=1))


def _steps(run, name):
    from freqlens.report.figures import summary_medians

    return summary_medians(run, name)[""]


def test_fp_digits_learns_low_frequencies_first_by_both_methods(tmp_path):
    """The F-Principle on real data, small budget (12 epochs, two seeds): along the first principal component the
    projection method's ΔF converges at the low tracked frequencies no later than at the high ones, and strictly
    earlier at the lowest than at the highest; the filtering method's e_low falls below the threshold before
    e_high at every δ."""
    run = lab.run("fp-digits", runs_dir=tmp_path / "runs", seeds=2, steps=12, monitors=["projection", "filtering"],
                  quiet=True, report=False)
    conv = run.convergence_steps
    ks = sorted(conv)
    assert len(ks) >= 3 and all(conv[k] is not None for k in ks), conv
    steps = [conv[k] for k in ks]
    assert steps == sorted(steps) and steps[0] < steps[-1], conv
    low, high, ill = _steps(run, "e_low_step"), _steps(run, "e_high_step"), _steps(run, "ill_conditioned")
    assert len(low) >= 3
    for delta in low:
        assert not ill[delta]
        assert low[delta] is not None and high[delta] is not None and low[delta] < high[delta], (delta, low, high)
    # the measured ΔF at the first record is near 1 (the untrained net has not fitted the labels' spectrum)
    df = run.wide("delta_f")
    assert float(df.iloc[0].min()) > 0.3 and float(df.iloc[-1].max()) < 0.1


def test_high_dim_monitors_resume_exactly_and_report(tmp_path, monkeypatch):
    """Killed after epoch 3 of 6 and resumed: projection ΔF, e_low and e_high equal an uninterrupted run's; the
    report draws the projection and filtering figures."""
    from freqlens.lab.monitors import accuracy

    settings = dict(steps=6, checkpoint_every=2, monitors=["accuracy", "projection", "filtering"], subset=400,
                    test_subset=100, quiet=True)
    ref = lab.run("fp-digits", runs_dir=tmp_path / "ref", report=False, **settings)
    rid = interrupted_run(monkeypatch, accuracy.AccuracyMonitor, 3, "fp-digits", tmp_path / "cut", **settings)
    resumed = lab.resume(rid, runs_dir=tmp_path / "cut")
    for metric in ("delta_f", "e_low", "e_high"):
        assert np.allclose(resumed.wide(metric).to_numpy(), ref.wide(metric).to_numpy(), rtol=1e-6, atol=0), metric
    for name in ("e_low_step", "e_high_step"):
        assert _steps(resumed, name) == _steps(ref, name)
    figures = {p.name for p in (resumed.path / "figures").iterdir()}
    assert {"projection_heatmap.png", "projection_spectrum.png", "filtering.png"} <= figures
    html = (resumed.path / "report.html").read_text()
    assert "Filtering method" in html and "first principal component" in html


def test_progress_line_names_the_splits_and_one_filtering_scale():
    from freqlens.lab.train import _postfix

    record = {"loss": {"": 0.5}, "accuracy": {"train": 0.91, "test": 0.875},
              "e_low_preview": {2.0: 0.1, 5.0: 0.2, 10.0: 0.3}, "e_high_preview": {2.0: 0.4, 5.0: 0.5, 10.0: 0.6}}
    line = _postfix(record)
    assert line == "loss=5.00e-01 accuracy(train)=0.910 accuracy(test)=0.875 δ=5: e_low~=0.200 e_high~=0.500"
    exact = _postfix({"loss": {"": 0.5}, "e_low": {2.0: 0.1}, "e_high": {2.0: 0.4}})
    assert exact == "loss=5.00e-01 δ=2: e_low=0.100 e_high=0.400"


def test_deferred_filtering_is_exact_at_the_end_and_survives_a_kill(tmp_path, monkeypatch):
    """filter_mode=deferred: previews while training, the exact e_low / e_high of every record at the end, equal
    to exact mode's; killed after epoch 3 (checkpoints every 2 epochs, pending records in the checkpoint) and
    resumed, the same numbers."""
    from freqlens.lab.monitors import accuracy

    settings = dict(steps=6, checkpoint_every=2, monitors=["accuracy", "filtering"], subset=400, test_subset=100,
                    quiet=True, report=False, deltas=[2.0, 8.0])
    exact = lab.run("fp-digits", runs_dir=tmp_path / "exact", filter_mode="exact", **settings)
    ref = lab.run("fp-digits", runs_dir=tmp_path / "ref", filter_mode="deferred", **settings)
    assert "e_low_preview" in ref.axes and not ref.metrics("e_low_preview").empty
    for metric in ("e_low", "e_high"):
        a, b = exact.wide(metric).to_numpy(), ref.wide(metric).to_numpy()
        assert a.shape == b.shape == (7, 2) and np.allclose(a, b, rtol=1e-4, atol=0), metric
    rid = interrupted_run(monkeypatch, accuracy.AccuracyMonitor, 3, "fp-digits", tmp_path / "cut",
                          filter_mode="deferred", **settings)
    resumed = lab.resume(rid, runs_dir=tmp_path / "cut", report=False)
    for metric in ("e_low", "e_high"):
        assert np.array_equal(resumed.wide(metric).to_numpy(), ref.wide(metric).to_numpy()), metric
