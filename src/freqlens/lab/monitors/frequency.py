"""The seam between training and the frequency view: a per-frequency monitor usable in any training loop.

>>> import numpy as np
>>> from freqlens.spectrum import periodic_grid
>>> x = periodic_grid(64)
>>> mon = FrequencyMonitor(np.sin(x) + np.sin(3 * x))
>>> mon.freqs
[1, 3]
>>> out = mon.record(0, np.sin(x))          # the k=1 part is right, the k=3 part is missing
>>> [round(float(v), 6) for v in out["delta_f"]]
[0.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from freqlens._arrays import to_numpy
from freqlens.lab.monitors.base import convergence_step
from freqlens.spectrum.dft import dft, spectrum_peaks


class FrequencyMonitor:
    """Record ΔF(k) of a model's outputs against a target on a grid of whole periods.

    Parameters
    ----------
    target : array_like, shape (n,)
        Target samples on an evenly spaced grid that holds whole periods (endpoint excluded).
    freqs : list of int, optional
        DFT bins to track; default: the peaks of ``|DFT(target)|`` (at most ``max_tracked``).
    threshold, hold : float, int
        Convergence rule: ΔF below ``threshold`` for ``hold`` consecutive records.
    keep_outputs : bool
        Keep each recorded output (for snapshots and full spectra).
    source : str
        Which outputs a runner feeds it (see :class:`~freqlens.lab.monitors.base.Monitor`); ``"train"`` by default.

    Notes
    -----
    With ĥ and ŷ the DFTs (:func:`freqlens.spectrum.dft`) of outputs and target,
    ``delta_f[k] = |ĥ_k − ŷ_k| / |ŷ_k|`` (complex form: phase errors count) and
    ``delta_f_mag[k] = ||ĥ_k| − |ŷ_k|| / |ŷ_k|`` (the magnitude form of the authors' notebooks).

    ``record(step, outputs)`` accepts numpy arrays or torch tensors on any device, shape ``(n,)`` or ``(n, 1)``,
    and returns ``{"delta_f": ..., "delta_f_mag": ...}`` (arrays over :attr:`freqs`).
    """

    name = "frequency"
    arrays_file = "evals.npz"

    def __init__(self, target, *, freqs: list[int] | None = None, threshold: float = 0.05, hold: int = 10,
                 max_tracked: int = 8, keep_outputs: bool = True, source: str = "train"):
        y = np.asarray(to_numpy(target), dtype=np.float64).reshape(-1)
        if y.size < 4:
            raise ValueError(f"target needs at least 4 samples, got {y.size}")
        if not np.all(np.isfinite(y)):
            raise ValueError("target contains NaN or inf")
        self.target = y
        self.target_hat = dft(y)
        self.freqs = list(freqs) if freqs else spectrum_peaks(y, max_peaks=max_tracked)
        if not self.freqs:
            raise ValueError("the target has no spectral peak to track (is it constant?)")
        half = y.size // 2
        for k in self.freqs:
            if not 1 <= k <= half:
                raise ValueError(f"tracked frequency {k} is outside [1, {half}] for {y.size} samples")
            if abs(self.target_hat[k]) < 1e-12 * max(1.0, np.abs(self.target_hat).max()):
                raise ValueError(f"tracked frequency {k} has no energy in the target (|ŷ_k| = 0)")
        self._idx = np.asarray(self.freqs)
        self._den = np.abs(self.target_hat[self._idx])
        self.threshold = float(threshold)
        self.hold = int(hold)
        self.keep_outputs = keep_outputs
        self.source = source
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._df: list[np.ndarray] = []
        self._dfm: list[np.ndarray] = []
        self._outputs: list[np.ndarray] = []

    # -- recording -----------------------------------------------------------------------------------------
    def record(self, step: int, outputs, loss: float | None = None) -> dict[str, np.ndarray]:
        h = np.asarray(to_numpy(outputs), dtype=np.float64).reshape(-1)
        if h.size != self.target.size:
            raise ValueError(f"outputs have {h.size} values, the target grid has {self.target.size}")
        h_hat = dft(h)
        hk, yk = h_hat[self._idx], self.target_hat[self._idx]
        delta = np.abs(hk - yk) / self._den
        delta_mag = np.abs(np.abs(hk) - np.abs(yk)) / self._den
        self.steps.append(int(step))
        self.losses.append(float("nan") if loss is None else float(loss))
        self._df.append(delta)
        self._dfm.append(delta_mag)
        if self.keep_outputs:
            self._outputs.append(h.astype(np.float32))
        return {"delta_f": delta, "delta_f_mag": delta_mag}

    def truncate(self, last_step: int) -> None:
        """Forget records after ``last_step`` (used when resuming from a checkpoint)."""
        keep = sum(1 for s in self.steps if s <= last_step)
        for lst in (self.steps, self.losses, self._df, self._dfm, self._outputs):
            del lst[keep:]

    def _repr_html_(self) -> str:
        from freqlens.report.notebook import frequency_monitor_html

        return frequency_monitor_html(self)

    @property
    def axes(self) -> dict[str, tuple[str, list]]:
        """Both ΔF forms are keyed by the tracked frequency ``k``."""
        return {"delta_f": ("k", list(self.freqs)), "delta_f_mag": ("k", list(self.freqs))}

    def summaries(self) -> dict[str, dict]:
        """``{"convergence_step": {k: step or None}}`` (see :meth:`convergence_steps`)."""
        return {"convergence_step": self.convergence_steps()}

    # -- results -------------------------------------------------------------------------------------------
    @property
    def delta_f(self) -> pd.DataFrame:
        """ΔF (complex form): one row per recorded step, one column per tracked frequency."""
        return self._frame(self._df)

    @property
    def delta_f_mag(self) -> pd.DataFrame:
        return self._frame(self._dfm)

    @property
    def outputs(self) -> np.ndarray:
        """Recorded outputs, shape (records, n)."""
        return np.asarray(self._outputs).reshape(len(self._outputs), self.target.size)

    def convergence_steps(self, threshold: float | None = None, hold: int | None = None) -> dict[int, int | None]:
        thr = self.threshold if threshold is None else threshold
        hld = self.hold if hold is None else hold
        arr = np.asarray(self._df).reshape(len(self._df), len(self.freqs))
        return {k: convergence_step(self.steps, arr[:, j], thr, hld) for j, k in enumerate(self.freqs)}

    def _frame(self, rows: list[np.ndarray]) -> pd.DataFrame:
        arr = np.asarray(rows).reshape(len(rows), len(self.freqs))
        return pd.DataFrame(arr, index=pd.Index(self.steps, name="step"), columns=pd.Index(self.freqs, name="k"))

    # -- persistence ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"steps": np.asarray(self.steps, dtype=np.int64), "loss": np.asarray(self.losses),
                "delta_f": np.asarray(self._df).reshape(len(self._df), len(self.freqs)),
                "delta_f_mag": np.asarray(self._dfm).reshape(len(self._dfm), len(self.freqs)),
                "outputs": self.outputs, "freqs": np.asarray(self.freqs), "target": self.target,
                # DFT of every recorded output (bins 0..n//2, the convention of freqlens.spectrum.dft)
                "output_dft": dft(self.outputs, axis=1)[:, : self.target.size // 2 + 1].astype(np.complex64)
                if len(self._outputs) else np.zeros((0, self.target.size // 2 + 1), np.complex64),
                "target_dft": self.target_hat[: self.target.size // 2 + 1]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(np.asarray(state["freqs"]).tolist()) != self.freqs:
            raise ValueError("saved monitor tracks other frequencies")
        self.steps = [int(s) for s in state["steps"]]
        self.losses = [float(v) for v in state["loss"]]
        self._df = list(np.asarray(state["delta_f"]))
        self._dfm = list(np.asarray(state["delta_f_mag"]))
        self._outputs = list(np.asarray(state["outputs"])) if self.keep_outputs else []
