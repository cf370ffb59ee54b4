"""The 1-D lab on the seam gives the numbers of freqlens 0.1 bit for bit (CPU, fixed seed): ΔF, loss, the
recorded outputs and the final weights, pinned in tests/fixtures/fp1d_pinned.json by the code before the seam. The multi-seed case trains its members one
after the other (batch_seeds=off), as freqlens 0.1 did; stacked seeds agree to rounding (tests/lab/test_lockstep.py)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import freqlens.lab as lab

PINNED = json.loads((Path(__file__).parents[1] / "fixtures" / "fp1d_pinned.json").read_text())


@pytest.mark.parametrize("case", sorted(PINNED))
def test_same_numbers_bit_for_bit(case, tmp_path):
    pin = PINNED[case]
    run = lab.run(pin["experiment"], runs_dir=tmp_path / "runs", report=False, **pin["overrides"])
    assert len(run.members) == len(pin["members"])
    for m, want in zip(run.members["member"], pin["members"]):
        ev = run.evals(int(m))
        assert ev["steps"].tolist() == want["steps"]
        assert ev["freqs"].tolist() == want["freqs"]
        assert [[float(v).hex() for v in r] for r in ev["delta_f"]] == want["delta_f"]
        assert [float(v).hex() for v in ev["loss"]] == want["loss"]
        assert hashlib.sha256(np.ascontiguousarray(ev["outputs"]).tobytes()).hexdigest() == want["outputs_sha256"]
        w = torch.load(run.path / f"member-{int(m):02d}" / "final.pt", weights_only=True)
        h = hashlib.sha256()
        for k in sorted(w):
            h.update(k.encode())
            h.update(w[k].detach().cpu().numpy().tobytes())
        assert h.hexdigest() == want["weights_sha256"]
    conv = run.convergence_steps
    got = {str(k): (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()}) for k, v in conv.items()}
    assert got == pin["convergence_steps"]
    if len(run.members) == 1:  # the index holds exactly the arrays' numbers
        np.testing.assert_array_equal(run.delta_f.to_numpy(), run.evals(0)["delta_f"])
