"""The new optimizers through the runner as it stands (fp1d with --set optimizer=NAME): a run finishes, and a run
interrupted after a checkpoint resumes - exactly for pso (its signed pickle goes through the checkpoint file),
warm for powell."""

import pytest
import torch

import freqlens.lab as lab
from freqlens.lab import train
from freqlens.runs.store import RunStore

SMALL = dict(hidden=[8, 8], n_train=32, freqs=[1, 3], amps=[1.0, 1.0], steps=400, eval_every=10,
             checkpoint_every=100, dtype="float64", report=False, hold=5, threshold=0.1)


def _interrupt_at(patch, step):
    real = train.Trainer.evaluate
    fired = []

    def evaluate(self, s, info):
        if s == step and not fired:
            fired.append(s)
            raise KeyboardInterrupt
        return real(self, s, info)

    patch.setattr(train.Trainer, "evaluate", evaluate)


@pytest.mark.parametrize("name", ["pso", "powell"])
def test_interrupted_run_resumes(name, tmp_path, monkeypatch):
    ref = lab.run("fp1d", runs_dir=tmp_path / "ref", optimizer=name, **SMALL)
    assert ref.status == "finished" and len(ref.delta_f) == 41
    conv = ref.convergence_steps
    assert conv[1] is not None and (conv[3] is None or conv[3] > conv[1])

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        _interrupt_at(patch, 250)
        lab.run("fp1d", runs_dir=tmp_path / "cut", optimizer=name, **SMALL)

    (rid,) = RunStore(tmp_path / "cut", create=False).list_runs()["id"]
    resumed = lab.resume(rid, runs_dir=tmp_path / "cut", report=False)
    assert resumed.status == "finished" and len(resumed.delta_f) == 41
    head = ref.delta_f.index <= 200  # the last checkpoint (200): identical up to it in any case
    assert resumed.delta_f[head].equals(ref.delta_f[head])
    w_ref = torch.load(ref.path / "member-00" / "final.pt", weights_only=True)
    w_res = torch.load(resumed.path / "member-00" / "final.pt", weights_only=True)
    same = all(torch.equal(w_ref[k], w_res[k]) for k in w_ref)
    if name == "pso":  # exact resume
        assert same and resumed.delta_f.equals(ref.delta_f) and resumed.loss.equals(ref.loss)
    else:  # warm restart: the best loss keeps falling from the checkpoint on, along another path
        loss = resumed.loss.iloc[:, 0].to_numpy()
        assert (loss[1:] <= loss[:-1]).all()
        assert not same
