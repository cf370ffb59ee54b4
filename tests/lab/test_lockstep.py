"""Seeds trained as one stacked model (fp1d, batch_seeds=on): the numbers of separate runs to rounding, the same
records and files per member, and an exact resume."""

import numpy as np
import pytest
import torch

import freqlens
import freqlens.lab as lab
from freqlens.errors import ConfigError
from freqlens.lab.lockstep import split_state, stack_states
from freqlens.lab.models.batched import BatchedMLP, stacked_mse

from .conftest import interrupted_run

KW = dict(steps=120, eval_every=10, hidden=[16, 16], seeds=3, checkpoint_every=40, report=False, quiet=True)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_stacked_seeds_equal_separate_runs_in_float64(tmp_path, optimizer):
    extra = {"optimizer": optimizer, "lr": 1e-3 if optimizer != "sgd" else 1e-2}
    alone = lab.run("fp1d", runs_dir=tmp_path / "a", batch_seeds="off", dtype="float64", **KW, **extra)
    stacked = lab.run("fp1d", runs_dir=tmp_path / "b", batch_seeds="on", dtype="float64", **KW, **extra)
    for m in range(3):
        ea, eb = alone.evals(m), stacked.evals(m)
        assert ea["steps"].tolist() == eb["steps"].tolist()
        assert np.max(np.abs(ea["delta_f"] - eb["delta_f"])) < 1e-12
        wa = torch.load(alone.path / f"member-{m:02d}" / "final.pt", weights_only=True)
        wb = torch.load(stacked.path / f"member-{m:02d}" / "final.pt", weights_only=True)
        assert wa.keys() == wb.keys() and max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-12
    assert np.allclose(alone.wide("loss").to_numpy(), stacked.wide("loss").to_numpy(), rtol=1e-12, atol=0)
    assert alone.convergence_steps == stacked.convergence_steps
    # the seeds differ from one another (they are not one network three times)
    assert not np.allclose(stacked.evals(0)["delta_f"], stacked.evals(1)["delta_f"])


def test_a_stacked_run_killed_midway_resumes_bit_for_bit(tmp_path, monkeypatch):
    ref = lab.run("fp1d", runs_dir=tmp_path / "ref", batch_seeds="on", **KW)
    from freqlens.lab.monitors import frequency

    rid = interrupted_run(monkeypatch, frequency.FrequencyMonitor, 70, "fp1d", tmp_path / "cut", batch_seeds="on",
                          **KW)
    assert freqlens.load_run(rid, runs_dir=tmp_path / "cut").status == "interrupted"
    resumed = lab.resume(rid, runs_dir=tmp_path / "cut", report=False)
    assert resumed.status == "finished" and resumed.wide("loss").equals(ref.wide("loss"))
    from ..runs.conftest import cli

    shown = cli("show", rid, "--runs-dir", tmp_path / "cut").stdout
    assert "members:    3" in shown and shown.count(" finished    step 120") == 3
    assert "member-00/ (evals.npz, final.pt, member.json, metrics.npz) … member-02/ (3 members)" in shown
    res = cli("report", rid, "--runs-dir", tmp_path / "cut", "-o", tmp_path / "cut" / "freqlens.sqlite")
    assert res.returncode == 2 and "is not a folder" in res.stderr
    for m in range(3):
        assert np.array_equal(resumed.evals(m)["delta_f"], ref.evals(m)["delta_f"])
        w_ref = torch.load(ref.path / f"member-{m:02d}" / "final.pt", weights_only=True)
        w_res = torch.load(resumed.path / f"member-{m:02d}" / "final.pt", weights_only=True)
        assert all(torch.equal(w_ref[k], w_res[k]) for k in w_ref)


def test_optimizer_state_splits_and_stacks_back_exactly():
    net = BatchedMLP.from_seeds(1, [6, 5], 1, seeds=[0, 1, 2], dtype=torch.float64)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x = torch.linspace(-1, 1, 9, dtype=torch.float64).unsqueeze(1)
    for _ in range(3):
        opt.zero_grad()
        stacked_mse(net(x), torch.sin(3 * x)).backward()
        opt.step()
    state = opt.state_dict()
    members = [split_state(state, net, s) for s in range(3)]
    # a member's state loads into the optimizer of its own mlp network
    single = torch.optim.Adam(net.member(1).parameters(), lr=1e-2)
    single.load_state_dict(members[1])
    assert torch.equal(single.state_dict()["state"][0]["exp_avg"], state["state"][0]["exp_avg"][1])
    # member order 0.weight, 0.bias, 2.weight, ...; stacked order: the 3 weights, then the 3 biases
    assert torch.equal(single.state_dict()["state"][1]["exp_avg_sq"], state["state"][3]["exp_avg_sq"][1])
    assert torch.equal(single.state_dict()["state"][2]["exp_avg"], state["state"][1]["exp_avg"][1])
    back = stack_states(members, net)
    for j, per in state["state"].items():
        for key, v in per.items():
            assert torch.equal(back["state"][j][key], v)


@pytest.mark.parametrize("overrides", [{"model": "siren"}, {"optimizer": "lbfgs"}, {"theory": "ntk"}])
def test_batch_seeds_on_names_what_it_needs(overrides):
    from freqlens.lab.experiments import resolve_config

    with pytest.raises(ConfigError, match="batch_seeds=on stacks plain networks"):
        resolve_config("fp1d", {"batch_seeds": "on", **overrides})


def test_auto_stacks_small_problems_and_matches_the_pinned_numbers_to_rounding(tmp_path):
    """fp1d-freq-sweep with 2 seeds on 64 points: batch_seeds=auto stacks them on a CPU; ΔF within float32
    rounding of the numbers freqlens 0.1 pinned for separate training, the same convergence steps."""
    import json
    from pathlib import Path

    from freqlens.lab.experiments import family_of, resolve_config

    pin = json.loads((Path(__file__).parents[1] / "fixtures" / "fp1d_pinned.json").read_text())["fp1d-freq-sweep"]
    overrides = {k: v for k, v in pin["overrides"].items() if k != "batch_seeds"}
    cfg = resolve_config("fp1d-freq-sweep", overrides)
    assert family_of(cfg.to_dict()).lockstep(cfg)
    assert not family_of(cfg.to_dict()).lockstep(resolve_config("fp1d-freq-sweep", {**overrides, "n_train": 1000}))
    run = lab.run("fp1d-freq-sweep", runs_dir=tmp_path, report=False, quiet=True, **overrides)
    for m, want in zip(run.members["member"], pin["members"]):
        got = run.evals(int(m))["delta_f"]
        ref = np.array([[float.fromhex(v) for v in row] for row in want["delta_f"]])
        assert np.allclose(got, ref, rtol=1e-3, atol=1e-5)
    got = {str(k): {str(a): b for a, b in v.items()} for k, v in run.convergence_steps.items()}
    assert got == pin["convergence_steps"]


def test_stacked_seeds_are_sized_together_before_anything_exists(tmp_path):
    """Stacked members sit in memory at once: the up-front memory check counts them all (one member fits)."""
    from freqlens.lab.config import check_memory
    from freqlens.lab.experiments import resolve_config

    big = dict(hidden=[4000, 4000, 4000], seeds=200)
    check_memory(resolve_config("fp1d", big))  # one member: fits
    with pytest.raises(ConfigError, match=r"200 seeds stacked \(batch_seeds\).*or set batch_seeds=off"):
        lab.run("fp1d", runs_dir=tmp_path / "runs", batch_seeds="on", quiet=True, **big)
    assert not (tmp_path / "runs").exists()
