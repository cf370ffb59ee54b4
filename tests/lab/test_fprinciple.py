"""The Frequency Principle itself, on reduced budgets: low frequencies converge first."""

import pytest

import freqlens.lab as lab


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_fp1d_converges_low_to_high(runs_dir, activation):
    run = lab.run("fp1d", runs_dir=runs_dir, activation=activation, steps=1500, report=False)
    conv = run.convergence_steps
    assert set(conv) == {1, 3, 5}
    assert all(v is not None for v in conv.values()), conv
    assert conv[1] < conv[3] < conv[5], conv
    df = run.delta_f
    # at the step k=1 converged, the highest frequency is still far off
    assert df.loc[conv[1], 5] > 0.3


def test_frequency_sweep_convergence_grows_with_k(runs_dir):
    run = lab.run("fp1d-freq-sweep", runs_dir=runs_dir, sweep_values=[1, 3, 4], n_train=64, hidden=[64, 64, 64],
                  lr=1e-3, steps=3000, eval_every=10, report=False)
    sw = run.sweep.set_index("value")
    high = sw["high_step"]
    assert not high.isna().any(), sw
    assert high[1.0] < high[3.0] < high[4.0], sw
    assert high[3.0] > 5 * high[1.0]  # steep growth with k
    # the sin x component converges before the high one in every variant
    for v in (3.0, 4.0):
        assert sw.loc[v, "low_step"] < sw.loc[v, "high_step"]


def test_seeds_give_median_and_spread(runs_dir):
    run = lab.run("fp1d", runs_dir=runs_dir, seeds=3, steps=1300, hidden=[100, 100], report=False)
    conv = run.convergence
    assert len(conv) == 9 and sorted(conv["seed"].unique()) == [0, 1, 2]
    for k in (1, 3, 5):
        steps = sorted(conv[conv["k"] == k]["step"].dropna().astype(int))
        if len(steps) == 3:
            assert run.convergence_steps[k] == steps[1]
    # the mean ΔF curve is the mean of the per-seed curves
    per_seed = run.delta_f_seeds()
    mean5 = per_seed.xs(5, level="k", axis=1).mean(axis=1)
    assert (run.delta_f[5] - mean5).abs().max() < 1e-12
