"""Every optimizer by name: it follows the protocol, lowers the loss, counts evaluations and iterations honestly,
keeps to its budget, refuses what it cannot do, and round-trips its state through torch.save / weights_only."""

import io
import math

import numpy as np
import pytest
import scipy.optimize
import torch

from freqlens.errors import ConfigError
from freqlens.lab.config import OPTIMIZERS as CONFIG_OPTIMIZERS
from freqlens.lab.config import TrainConfig
from freqlens.lab.optim import (MAX_PARAMS, OPTIMIZERS, SPECS, Optimizer, ScipyOptimizer, check_size,
                                make_optimizer)
from freqlens.lab.optim.flat import FlatObjective, memory_bytes

from optim_helpers import Recorder, config, tiny_problem

BUDGET = {"lbfgs": 30}  # iterations; the others: steps or evaluations
DEFAULT_BUDGET = 300


def budget(name):
    return BUDGET.get(name, DEFAULT_BUDGET)


def test_names_agree_with_the_config():
    assert OPTIMIZERS == CONFIG_OPTIMIZERS == ("adam", "sgd", "rmsprop", "lbfgs", "cg", "bfgs", "powell", "pso",
                                               "cmaes")
    for name in OPTIMIZERS:
        TrainConfig(optimizer=name).validate()
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        TrainConfig(optimizer="adamw").validate()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_lowers_the_loss_and_calls_every_step(name):
    problem = tiny_problem()
    opt = make_optimizer(config(name), problem, seed=0)
    assert isinstance(opt, Optimizer)
    spec = SPECS[name]
    assert opt.unit == spec.unit and opt.exact_resume == spec.exact_resume
    rec = Recorder()
    opt.run(problem, 0, budget(name), rec)
    assert rec.steps == list(range(budget(name) + 1))  # every step once, in order, the last included
    assert rec.losses[-1] < 0.7 * rec.losses[0]
    with torch.no_grad():  # the model holds what the last step reported
        assert float(problem.loss(problem.model(problem.x), problem.y)) == pytest.approx(rec.losses[-1], rel=1e-12)


@pytest.mark.parametrize("name", ["cg", "bfgs", "powell", "pso", "cmaes"])
def test_evaluation_optimizers_count_every_objective_call_and_keep_the_budget(name):
    calls = []
    problem = tiny_problem(counter=calls)
    opt = make_optimizer(config(name), problem, seed=1)
    rec = Recorder()
    opt.run(problem, 0, 200, rec)
    # one loss call measures the start (not an evaluation); every other is one objective evaluation
    assert len(calls) - 1 == 200 == rec.rows[-1][2]
    assert [r[2] for r in rec.rows] == list(range(201))  # step s = s evaluations
    assert all(b <= a for a, b in zip(rec.losses, rec.losses[1:]))  # the best point so far never gets worse


def test_lbfgs_counts_closure_calls_and_one_iteration_per_step():
    calls = []
    problem = tiny_problem(counter=calls)
    opt = make_optimizer(config("lbfgs"), problem, seed=0)
    rec = Recorder()
    opt.run(problem, 0, 20, rec)
    assert rec.rows[-1][2] == len(calls)  # evaluations = every forward+backward made, the last boundary's included
    assert [r[3] for r in rec.rows] == list(range(21))
    assert len(calls) > 21  # line searches evaluate more than once per iteration


def _direct_scipy(name, problem, evaluations):
    """scipy.optimize.minimize driven directly on the same objective: the loss of each evaluation and the count of
    evaluations at which each iteration ended."""
    obj = FlatObjective(problem)
    x0 = obj.vector()
    losses, ends = [], []

    class Stop(Exception):
        pass

    def fun(x):
        if len(losses) == evaluations:
            raise Stop
        if name == "powell":
            loss, _ = obj.loss(x)
            losses.append(loss)
            return loss
        loss, g, _ = obj.loss_and_grad(x)
        losses.append(loss)
        return loss, g

    options = {"maxiter": 10**12, "maxfev": 10**12, "ftol": 0.0} if name == "powell" else {"maxiter": 10**12,
                                                                                          "gtol": 0.0}
    try:
        scipy.optimize.minimize(fun, x0, jac=name != "powell", method=name.upper() if name != "powell" else "Powell",
                                callback=lambda xk: ends.append(len(losses)), options=options)
    except Stop:
        pass
    obj.set(x0)
    return losses, ends


@pytest.mark.parametrize("name", ["cg", "bfgs", "powell"])
def test_scipy_steps_match_a_direct_minimize_call(name):
    """The wrapper adds and loses nothing: the best-so-far loss at every evaluation and the iteration count equal
    those of scipy.optimize.minimize run by hand on the same objective."""
    n = 800 if name == "powell" else 150  # a Powell iteration is a sweep of 25 line searches
    problem = tiny_problem(seed=2)
    direct, ends = _direct_scipy(name, tiny_problem(seed=2), n)
    rec = Recorder()
    make_optimizer(config(name), problem, seed=0).run(problem, 0, n, rec)
    best = np.minimum.accumulate([rec.losses[0], *direct])  # the start, then each evaluation
    assert rec.losses == best.tolist()
    assert [r[3] for r in rec.rows] == [sum(1 for e in ends if e <= s) for s in range(n + 1)]
    assert rec.rows[-1][3] == len(ends) > 1


def test_scipy_restarts_after_an_early_end_then_fills_the_budget():
    """A problem BFGS solves exactly (a linear model, least squares) ends early: it is restarted, and once a
    restart cannot improve, the remaining steps report the final point without evaluating."""
    calls = []
    problem = tiny_problem(counter=calls)
    problem.model = torch.nn.Linear(1, 1, dtype=torch.float64)
    opt = ScipyOptimizer("bfgs", problem)
    rec = Recorder()
    opt.run(problem, 0, 500, rec)
    assert opt.converged and opt.restarts >= 1
    assert rec.steps == list(range(501))
    assert rec.rows[-1][2] == len(calls) - 1 < 500  # fewer evaluations than steps, all counted
    w, b = problem.model.weight.item(), problem.model.bias.item()
    x, y = problem.x[:, 0].numpy(), problem.y[:, 0].numpy()
    ref = np.polyfit(x, y, 1)
    assert w == pytest.approx(ref[0], abs=1e-6) and b == pytest.approx(ref[1], abs=1e-6)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trips_through_weights_only(name, tmp_path):
    problem = tiny_problem()
    opt = make_optimizer(config(name), problem, seed=0)
    opt.run(problem, 0, 10, Recorder())
    path = tmp_path / "state.pt"
    torch.save(opt.state_dict(), path)
    state = torch.load(path, weights_only=True)
    other = make_optimizer(config(name), tiny_problem(), seed=0)
    other.load_state_dict(state)
    again = other.state_dict()

    def flat(d, prefix=""):
        out = {}
        for k, v in (d.items() if isinstance(d, dict) else enumerate(d)):
            if isinstance(v, (dict, list, tuple)):
                out.update(flat(v, f"{prefix}{k}/"))
            else:
                out[f"{prefix}{k}"] = v
        return out

    a, b = flat(state), flat(again)
    assert a.keys() == b.keys()
    for k in a:
        if k.endswith("pickle") or k.endswith("tag"):
            continue  # pickles of equal optimizers need not be byte-identical (memo order); exact resume is tested
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), k
        else:
            assert a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])), k


@pytest.mark.parametrize("name", ["lbfgs", "cg", "bfgs", "powell", "pso", "cmaes"])
def test_full_batch_methods_refuse_minibatches(name):
    with pytest.raises(ConfigError, match=f"optimizer={name} works on the full batch only.*batch_size=4"):
        make_optimizer(config(name), tiny_problem(batch_size=4), seed=0)


def test_rmsprop_is_torchs_rmsprop_step_by_step():
    problem, ref = tiny_problem(), tiny_problem()
    opt = make_optimizer(config("rmsprop", lr=1e-3), problem, seed=0)
    rec = Recorder()
    opt.run(problem, 0, 20, rec)
    torch_opt = torch.optim.RMSprop(ref.model.parameters(), lr=1e-3)
    losses = []
    for _ in range(21):
        loss = torch.mean((ref.model(ref.x) - ref.y) ** 2)
        losses.append(float(loss.detach()))
        torch_opt.zero_grad()
        loss.backward()
        torch_opt.step()
    assert rec.losses == losses


# -- size and memory guards --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MAX_PARAMS))
def test_derivative_free_methods_refuse_large_networks_with_the_figures(name):
    limit = MAX_PARAMS[name]
    check_size(name, limit, available=1 << 62)
    with pytest.raises(ConfigError, match=f"{limit + 1:,} parameters.*above {limit:,}"):
        check_size(name, limit + 1, available=1 << 62)


def test_bfgs_is_refused_by_memory_before_anything_is_allocated():
    n = 101_001  # the fp1d network
    assert memory_bytes("bfgs", n) == 3 * n * n * 8
    with pytest.raises(ConfigError, match=r"bfgs on 101,001 parameters needs about 228\.0 GiB"):
        check_size("bfgs", n, available=8 << 30)
    check_size("cg", n, available=8 << 30)


def test_make_optimizer_checks_the_size_of_the_problem():
    problem = tiny_problem(hidden=(120, 120))  # 14,881 parameters
    with pytest.raises(ConfigError, match="optimizer=pso on a network of 14,881 parameters"):
        make_optimizer(config("pso"), problem, seed=0)


def test_config_fields_of_the_nevergrad_optimizers_are_validated():
    TrainConfig(search_sigma=0.5, popsize=10).validate()
    for bad in ({"search_sigma": 0.0}, {"search_sigma": float("inf")}, {"popsize": 1}, {"popsize": -3}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            TrainConfig(**bad).validate()
    d = TrainConfig().to_dict()
    assert d["search_sigma"] == 0.1 and d["popsize"] == 0


def test_no_global_random_state_is_used():
    problems = [tiny_problem() for _ in range(4)]  # (nn.Linear's constructor draws from torch's global RNG)
    np_state, torch_state = np.random.get_state(), torch.random.get_rng_state()
    for name, problem in zip(["pso", "cmaes", "powell", "bfgs"], problems):
        make_optimizer(config(name), problem, seed=3).run(problem, 0, 60, Recorder())
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(np_state, after))
    assert torch.equal(torch_state, torch.random.get_rng_state())


def test_state_is_refused_by_another_optimizer():
    problem = tiny_problem()
    pso = make_optimizer(config("pso"), problem, seed=0)
    with pytest.raises(ValueError, match="not that of nevergrad cmaes"):
        make_optimizer(config("cmaes"), tiny_problem(), seed=0).load_state_dict(pso.state_dict())
    with pytest.raises(ValueError, match="not that of scipy cg"):
        make_optimizer(config("cg"), tiny_problem(), seed=0).load_state_dict(pso.state_dict())
    state = make_optimizer(config("cg"), problem, seed=0).state_dict()
    state["best_x"] = torch.zeros(5, dtype=torch.float64)
    with pytest.raises(ValueError, match="holds 5 parameters, the model has 25"):
        make_optimizer(config("cg"), tiny_problem(), seed=0).load_state_dict(state)


def test_state_dict_is_plain_data():
    problem = tiny_problem()
    for name in OPTIMIZERS:
        buf = io.BytesIO()
        opt = make_optimizer(config(name), problem, seed=0)
        torch.save(opt.state_dict(), buf)
        buf.seek(0)
        torch.load(buf, weights_only=True)
