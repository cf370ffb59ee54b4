"""Resume: exact for L-BFGS and nevergrad (N steps = N/2, save, load, N/2), a documented warm restart for scipy."""

import io

import numpy as np
import pytest
import torch

from freqlens.lab.optim import SPECS, make_optimizer
from optim_helpers import Recorder, config, tiny_problem


def _save_load(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _split_run(name, n, half, seed=5):
    """Run ``half`` steps, checkpoint (model + optimizer through torch.save/weights_only), rebuild everything from
    scratch, load, run to ``n``. Returns the recorders of both halves and the final problem."""
    problem = tiny_problem()
    first = Recorder(problem)
    saved = {}

    def on_step(step, info):
        first(step, info)
        if step == half:  # what the runner does: checkpoint inside on_step, then stop (a kill)
            saved["ck"] = _save_load({"model": problem.model.state_dict(), "optimizer": opt.state_dict()})
            raise KeyboardInterrupt

    opt = make_optimizer(config(name), problem, seed=seed)
    with pytest.raises(KeyboardInterrupt):
        opt.run(problem, 0, n, on_step)
    resumed = tiny_problem(seed=99)  # another initialisation: everything must come from the checkpoint
    resumed.model.load_state_dict(saved["ck"]["model"])
    opt2 = make_optimizer(config(name), resumed, seed=seed + 1)  # another seed too
    opt2.load_state_dict(saved["ck"]["optimizer"])
    second = Recorder(resumed)
    opt2.run(resumed, half, n, second)
    return first, second, resumed


@pytest.mark.parametrize("name", ["lbfgs", "pso", "cmaes", "adam", "rmsprop"])
def test_exact_resume_gives_the_uninterrupted_run(name):
    assert SPECS[name].exact_resume
    n, half = (20, 9) if name == "lbfgs" else (160, 73)
    ref_problem = tiny_problem()
    ref = Recorder(ref_problem)
    make_optimizer(config(name), ref_problem, seed=5).run(ref_problem, 0, n, ref)
    first, second, resumed = _split_run(name, n, half)
    assert first.rows == ref.rows[:half + 1]
    assert second.rows == ref.rows[half:]  # losses, evaluation and iteration counts: bit for bit
    for a, b in zip(second.params, ref.params[half:]):
        assert torch.equal(a, b)
    for a, b in zip(second.outputs, ref.outputs[half:]):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["cg", "bfgs", "powell"])
def test_scipy_resume_is_a_warm_restart_from_the_best_point(name):
    """What the warm restart promises: the run goes on from the checkpoint's best parameters and counts, exactly as
    the method started afresh from those parameters would, and the best loss never rises across the resume."""
    opt = make_optimizer(config(name), tiny_problem(), seed=0)
    assert not opt.exact_resume and "warm" in opt.resume_note
    n, half = 400, 150
    first, second, resumed = _split_run(name, n, half)
    assert second.rows[0] == first.rows[-1]  # the checkpoint's step reported again, identically
    assert [r[0] for r in second.rows] == list(range(half, n + 1))
    assert [r[2] for r in second.rows] == list(range(half, n + 1))  # evaluations continue from the count
    losses = first.losses + second.losses[1:]
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert torch.equal(second.params[0], first.params[-1])

    # the same method started from scratch at the checkpoint's best parameters makes the same evaluations
    fresh = tiny_problem(seed=99)
    torch.nn.utils.vector_to_parameters(first.params[-1].clone(), fresh.model.parameters())
    ref = Recorder(fresh)
    make_optimizer(config(name), fresh, seed=0).run(fresh, 0, n - half, ref)
    assert second.losses == ref.losses

    # ... and differs from the uninterrupted run after the checkpoint (the method's state was lost)
    whole_problem = tiny_problem()
    whole = Recorder(whole_problem)
    make_optimizer(config(name), whole_problem, seed=0).run(whole_problem, 0, n, whole)
    assert whole.rows[:half + 1] == first.rows
    assert whole.losses[half:] != second.losses


def test_nevergrad_resume_after_the_checkpoint_keeps_the_same_random_stream():
    """Two resumes from the same checkpoint give the same run (the random state travels in the pickle)."""
    a = _split_run("pso", 120, 50)[1]
    b = _split_run("pso", 120, 50)[1]
    assert a.rows == b.rows
    assert np.all(np.diff([r[1] for r in a.rows]) <= 0)


@pytest.mark.parametrize("name", ["pso", "cmaes"])
def test_nevergrad_recommendation_survives_resume_and_is_the_best_point(name):
    """After N evaluations, and after N/2 + checkpoint + N/2, nevergrad recommends the same point - the best point
    so far that the steps report (once a candidate has beaten the initial parameters)."""
    n, half = 300, 140
    ref_problem = tiny_problem()
    ref = make_optimizer(config(name), ref_problem, seed=5)
    ref.run(ref_problem, 0, n, Recorder())

    problem = tiny_problem()
    opt = make_optimizer(config(name), problem, seed=5)
    opt.run(problem, 0, half, Recorder())
    ck = _save_load({"model": problem.model.state_dict(), "optimizer": opt.state_dict()})
    resumed = tiny_problem(seed=99)
    resumed.model.load_state_dict(ck["model"])
    opt2 = make_optimizer(config(name), resumed, seed=0)
    opt2.load_state_dict(ck["optimizer"])
    opt2.run(resumed, half, n, Recorder())

    rec_ref = ref.optimizer.provide_recommendation().value
    rec_res = opt2.optimizer.provide_recommendation().value
    assert np.array_equal(rec_ref, rec_res)
    assert ref.best_loss == ref.objective.loss()[0]  # the model holds the best point
    # CMA-ES keeps its best in the standardised space: x0 + sigma * z rounds differently in the last bits
    np.testing.assert_allclose(ref.best_x, rec_ref, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(opt2.best_x, ref.best_x)
