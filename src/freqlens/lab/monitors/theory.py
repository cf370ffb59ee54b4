"""Theory beside measurement in a run: the NTK prediction of ΔF(k, t) next to the measured one.

At its first record (step 0, the model at initialisation) :class:`NtkPredictionMonitor` takes the empirical NTK
on the training inputs (:func:`~freqlens.lab.theory.linearize`), and from then on returns the **predicted** ΔF of
each tracked frequency at the step being recorded (metric ``delta_f_ntk``) for full-batch gradient descent at the
run's learning rate (with SGD's momentum, if any). Its summaries give the predicted convergence steps under the
lab's rule; its arrays the kernel's eigenvalues and the Fourier content of its leading eigenvectors.

For an Adam run the prediction is still that of gradient descent at the same ``lr``: Adam has no fixed kernel,
so the order of the frequencies is predicted, not the time scale (see
:class:`~freqlens.lab.theory.LinearizedDynamics`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class NtkPredictionMonitor:
    name = "theory"
    source = "grid"
    arrays_file = "theory.npz"

    def __init__(self, problem: Any, freqs: list[int], *, lr: float, momentum: float = 0.0, threshold: float = 0.05,
                 hold: int = 10, eval_every: int = 10, n_vectors: int = 12, optimizer: str = "sgd"):
        self.problem, self.freqs = problem, list(freqs)
        self.lr, self.momentum = float(lr), float(momentum)
        self.threshold, self.hold, self.eval_every = float(threshold), int(hold), int(eval_every)
        self.n_vectors, self.optimizer = int(n_vectors), optimizer
        self.axes = {"delta_f_ntk": ("k", list(self.freqs))}
        self.dyn = None
        self.eigenvalues = np.zeros(0)
        self.spectra = np.zeros((0, 0))
        self.predicted: dict[int, int | None] = {}
        self.steps: list[int] = []

    def _linearize(self) -> None:
        from freqlens.lab.theory import linearize

        self.dyn = linearize(self.problem.model, self.problem.x, self.problem.y, lr=self.lr, momentum=self.momentum)
        self.eigenvalues = np.asarray(self.dyn.eigenvalues, dtype=np.float64)
        self.spectra = np.asarray(self.dyn.eigenvector_spectra(self.n_vectors), dtype=np.float64)
        self.predicted = self.dyn.convergence_steps(self.freqs, threshold=self.threshold, hold=self.hold,
                                                    eval_every=self.eval_every)

    def record(self, step: int, outputs: Any, loss: float | None = None) -> dict[str, np.ndarray]:
        if self.dyn is None:
            if step != 0 and not self.steps:
                raise ValueError("the NTK prediction is taken at initialisation (step 0)")
            self._linearize()
        self.steps.append(int(step))
        return {"delta_f_ntk": self.dyn.delta_f(self.freqs, [step])[0]}

    def summaries(self) -> dict[str, dict]:
        return {"predicted_convergence_step": dict(self.predicted)} if self.dyn is not None else {}

    def truncate(self, last_step: int) -> None:
        self.steps = [s for s in self.steps if s <= last_step]

    def state_dict(self) -> dict[str, np.ndarray]:
        pred = [np.nan if self.predicted.get(k) is None else float(self.predicted[k]) for k in self.freqs]
        dyn = {f"dyn_{k}": v for k, v in self.dyn.state_dict().items()} if self.dyn is not None else {}
        return {"freqs": np.asarray(self.freqs, dtype=np.int64), "eigenvalues": self.eigenvalues,
                "eigenvector_spectra": self.spectra, "predicted_steps": np.asarray(pred),
                "optimizer": np.asarray(self.optimizer), "steps": np.asarray(self.steps, dtype=np.int64), **dyn}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """A resumed run keeps the prediction made at its initialisation (the model has moved since)."""
        from freqlens.lab.theory import LinearizedDynamics

        if [int(k) for k in state["freqs"]] != self.freqs:
            raise ValueError("the saved NTK prediction tracks other frequencies")
        self.steps = [int(s) for s in state["steps"]]
        self.eigenvalues = np.asarray(state["eigenvalues"])
        self.spectra = np.asarray(state["eigenvector_spectra"])
        self.predicted = {k: (None if np.isnan(v) else int(v)) for k, v in zip(self.freqs, state["predicted_steps"])}
        if "dyn_eigenvalues" in state:
            self.dyn = LinearizedDynamics.from_state({k[4:]: v for k, v in state.items() if k.startswith("dyn_")})
