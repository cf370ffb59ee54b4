import pytest

from freqlens.errors import ConfigError
from freqlens.lab import Config
from freqlens.lab.config import parse_set
from freqlens.lab.experiments import EXPERIMENTS, resolve_config


def test_every_experiment_resolves_and_overrides_apply():
    for name in EXPERIMENTS:
        cfg = resolve_config(name)
        assert cfg.experiment == name
    cfg = resolve_config("fp1d", {"lr": "1e-3", "hidden": "64,64", "activation": "relu", "seeds": 2})
    assert cfg.lr == 1e-3 and cfg.hidden == [64, 64] and cfg.activation == "relu" and cfg.seeds == 2


def test_parse_set_types():
    out = parse_set(["steps=100", "freqs=[1, 4]", "amps=1,0.5", "init=xavier", "init_std=0.1"])
    assert out == {"steps": 100, "freqs": [1, 4], "amps": [1.0, 0.5], "init": "xavier", "init_std": 0.1}


@pytest.mark.parametrize("overrides, match", [
    ({"lrr": 1}, "unknown config key 'lrr'"),
    ({"lr": 0}, "lr must be"),
    ({"lr": "abc"}, "lr expects a number"),
    ({"hidden": [0]}, "hidden widths"),
    ({"hidden": []}, "hidden must list"),
    ({"steps": 10, "eval_every": 20}, "eval_every"),
    ({"threshold": 0.0}, "threshold"),
    ({"threshold": 1.0}, "threshold"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"optimizer": "adamw"}, "optimizer must be one of"),
    ({"freqs": [1, 60], "amps": [1, 1]}, "freqs must be integers"),
    ({"amps": [1.0]}, "amps must have one value"),
    ({"steps": 2.5}, "steps expects an integer"),
    ({"seeds": 0}, "seeds must be"),
    ({"device": "tpu"}, "device must be"),
    ({"n_eval": 50}, r"n_eval \(50\) must be 0"),
    ({"n_train": 6, "n_eval": 100}, "freqs must be integers"),
    ({"sweep_values": [1, 2]}, "sweep_values needs sweep"),
    ({"high_amp": 0.5}, "only apply to sweeps"),
    ({"tracked": [1, 1]}, "tracked frequencies must be distinct"),
    ({"amps": [1, float("inf"), 1]}, "finite"),
])
def test_bad_overrides_name_the_problem(overrides, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config("fp1d", overrides)


def test_unknown_experiment():
    with pytest.raises(ConfigError, match="unknown experiment 'nope'; available: fp1d"):
        resolve_config("nope")


def test_sweep_variants():
    cfg = resolve_config("fp1d-freq-sweep")
    variants = cfg.variants()
    assert [lab for lab, _ in variants] == ["k=1", "k=2", "k=3", "k=4", "k=5"]
    assert variants[3][1].freqs == [1, 4] and variants[3][1].amps == [1.0, 0.2]
    assert variants[0][1].tracked == [1]
    amp = resolve_config("fp1d-amp-sweep").variants()
    assert amp[-1][1].amps == [1.0, 3.0] and amp[-1][1].freqs == [1, 4]


def test_round_trip_through_dict():
    cfg = resolve_config("fp1d-sparse", {"seed": 3})
    assert Config.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("name, overrides, match", [
    ("fp1d-freq-sweep", {"sweep_values": [2, 2, 3]}, "sweep_values must be distinct"),
    ("fp1d-amp-sweep", {"sweep_values": [1, 1.0000001]}, "sweep_values must be distinct"),
    ("fp1d-freq-sweep", {"freqs": [1, 7], "amps": [1, 1]}, "set by the sweep"),
    ("fp1d-freq-sweep", {"high_amp": 0}, "high_amp must be > 0"),
    ("fp1d-amp-sweep", {"high_freq": 1}, "high_freq must be in"),
])
def test_bad_sweep_overrides(name, overrides, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config(name, overrides)


def test_experiment_cannot_be_set():
    with pytest.raises(ConfigError, match="chosen by name"):
        parse_set(["experiment=fp1d"])
