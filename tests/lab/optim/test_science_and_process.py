"""The Frequency Principle without gradients (Ma, Xu & Zhang 2021) on a reduced problem, and a process that runs
every non-torch optimizer exits by itself (no thread left behind)."""

import os
import subprocess
import sys
import textwrap

import pytest

from freqlens.lab import FrequencyMonitor
from freqlens.lab.optim import make_optimizer
from optim_helpers import config, tiny_problem


@pytest.mark.parametrize("name, budget", [("powell", 3000), ("pso", 3000)])
def test_low_frequency_first_without_gradient(name, budget):
    """sin x + sin 3x on 32 points, a 1-8-8-1 tanh network (97 parameters), no gradient: ΔF(1) falls below 0.1
    (for 5 records) while ΔF(3) is still large, and ΔF(3) converges later or not within the budget."""
    problem = tiny_problem(hidden=(8, 8), n=32)
    target = problem.y[:, 0].numpy()
    mon = FrequencyMonitor(target, freqs=[1, 3], threshold=0.1, hold=5)

    def on_step(step, info):
        if step % 25 == 0:
            mon.record(step, info.outputs, float(info.loss))

    make_optimizer(config(name, search_sigma=0.1), problem, seed=0).run(problem, 0, budget, on_step)
    conv = mon.convergence_steps()
    df = mon.delta_f
    assert df.iloc[0].min() > 0.5  # both components start far from the target
    assert conv[1] is not None
    assert conv[3] is None or conv[3] > conv[1]
    assert df.loc[conv[1], 3] > 0.4  # when k=1 has converged, k=3 is still far off
    assert df[3].iloc[-1] < df[3].iloc[0]  # ... though it is being learned


def test_process_exits_after_scipy_and_nevergrad_runs(tmp_path):
    """nevergrad's scipy-wrapped optimizers leave a non-daemon thread that keeps a process alive; freqlens calls
    scipy directly: a script running each optimizer ends on its own, with only the main thread left."""
    script = textwrap.dedent("""
        import sys, threading
        sys.path.insert(0, sys.argv[1])
        from optim_helpers import config, tiny_problem
        from freqlens.lab.optim import make_optimizer
        for name in ["cg", "bfgs", "powell", "pso", "cmaes"]:
            problem = tiny_problem()
            make_optimizer(config(name), problem, seed=0).run(problem, 0, 60, lambda s, i: None)
        print("threads", len([t for t in threading.enumerate() if not t.daemon]))
    """)
    env = {**os.environ, "FREQLENS_SECRET_FILE": str(tmp_path / "secret")}
    done = subprocess.run([sys.executable, "-c", script, os.path.dirname(__file__)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("threads 1")


def test_nevergrads_scipy_wrappers_do_leave_a_thread():
    """The claim behind calling scipy directly, checked in a subprocess (which leaves with os._exit, since the
    thread would keep it alive): after some ask/tell with nevergrad's own Powell, a non-daemon thread is alive."""
    pytest.importorskip("nevergrad")
    script = textwrap.dedent("""
        import os, threading
        import numpy as np
        import nevergrad as ng
        par = ng.p.Array(init=np.zeros(3))
        par.random_state = np.random.RandomState(0)
        opt = ng.optimizers.Powell(par, budget=20)
        for _ in range(5):
            cand = opt.ask()
            opt.tell(cand, float(np.sum((cand.value - 1) ** 2)))
        print("threads", len([t for t in threading.enumerate() if not t.daemon]), flush=True)
        os._exit(0)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 1, "nevergrad's Powell no longer leaves a thread: update scipy_optim.py"
