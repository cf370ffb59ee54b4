"""Helpers of the optimizer tests: a tiny regression problem, configs, an on_step recorder."""

import numpy as np
import torch

from freqlens.lab.config import TrainConfig
from freqlens.lab.family import Problem
from freqlens.lab.models.mlp import mlp
from freqlens.spectrum import periodic_grid

LR = {"adam": 1e-2, "sgd": 1e-2, "rmsprop": 1e-2, "lbfgs": 1.0}


def tiny_problem(hidden=(8,), n=32, freqs=(1, 3), seed=0, dtype=torch.float64, batch_size=0, counter=None):
    """sin x + sin 3x on a periodic grid, a small tanh MLP; ``counter`` (a list) counts calls of the loss."""
    x = periodic_grid(n)
    y = sum(np.sin(k * x) for k in freqs)
    model = mlp(1, list(hidden), 1, init="normal", generator=torch.Generator().manual_seed(seed), dtype=dtype)

    def loss(out, target):
        if counter is not None:
            counter.append(1)
        return torch.mean((out - target) ** 2)

    return Problem(model=model, x=torch.tensor(x, dtype=dtype).unsqueeze(1),
                   y=torch.tensor(y, dtype=dtype).unsqueeze(1), loss=loss, batch_size=batch_size)


def config(name, **kw):
    return TrainConfig(optimizer=name, lr=kw.pop("lr", LR.get(name, 1e-2)), **kw).validate()


class Recorder:
    """An ``on_step`` that keeps (step, loss, evaluations, iterations) and copies of the outputs."""

    def __init__(self, problem=None):
        self.rows = []
        self.outputs = []
        self.params = []
        self.problem = problem

    def __call__(self, step, info):
        loss = float(info.loss.item() if hasattr(info.loss, "item") else info.loss)
        self.rows.append((step, loss, info.evaluations, info.iterations))
        if info.outputs is not None:
            self.outputs.append(info.outputs.detach().clone())
        if self.problem is not None:
            self.params.append(torch.nn.utils.parameters_to_vector(self.problem.model.parameters()).detach().clone())

    @property
    def steps(self):
        return [r[0] for r in self.rows]

    @property
    def losses(self):
        return [r[1] for r in self.rows]
