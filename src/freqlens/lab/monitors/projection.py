"""The projection method: the Frequency Principle of a classifier along one direction of its input space.

With a direction ``p`` (default: the first principal component of the training inputs) and ``v_i = p . x_i``, the
labels and the model's softmax outputs are transformed along ``v``:

    y_hat(k) = (1/n) sum_i y_i exp(-2 pi i k v_i),      h_hat(k) likewise,

vectors over the classes; ``|y_hat(k)|`` is their Euclidean norm. The monitor tracks
``delta_f(k) = |h_hat(k) - y_hat(k)| / |y_hat(k)|`` (complex form: phase errors count) and the magnitude form
``| |h_hat(k)| - |y_hat(k)| | / |y_hat(k)|`` at selected frequencies; the F-Principle predicts that low ``k``
converge first.

Which frequencies: the local maxima of ``|y_hat(k)|`` that stand above the sampling-noise floor
``sqrt(sum_i |y_i|^2) / n`` (the expected ``|y_hat(k)|`` of labels at random positions) by ``snr``. One-hot labels
along the first principal component of digits or MNIST usually give a spectrum that decays **without** such peaks
(measured: every local maximum is within 1.5x of the floor); the monitor then tracks ``max_peaks`` frequencies
evenly spaced over the band where ``|y_hat(k)|`` is above ``snr`` times the floor, and says so
(:attr:`ProjectionMonitor.selection` is ``"band"`` instead of ``"peaks"``).

The transform runs through :class:`freqlens.spectrum.nufft.NudftPlan` (a cached phase matrix and one GEMM per
record, or finufft for many frequencies).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, labels = rng.normal(size=(400, 6)), rng.integers(0, 3, 400)
>>> mon = ProjectionMonitor(x, labels, outputs="probabilities", freqs=np.linspace(0, 1, 11), tracked=[0.1, 0.3])
>>> out = mon.record(0, np.eye(3)[labels])        # a perfect fit
>>> [float(v) for v in out["delta_f"]]
[0.0, 0.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqlens._arrays import to_numpy
from freqlens.lab.monitors.base import convergence_step
from freqlens.lab.monitors.classes import class_probabilities, one_hot
from freqlens.spectrum.gaussian_split import refuse_if_too_big
from freqlens.spectrum.nufft import NudftPlan, principal_direction

__all__ = ["ProjectionMonitor", "select_frequencies"]


def select_frequencies(freqs: np.ndarray, magnitude: np.ndarray, noise_floor: float, *, max_peaks: int = 6,
                       snr: float = 2.0, include_zero: bool = False) -> tuple[list[int], str]:
    """Grid indices of the frequencies to track, and how they were chosen (``"peaks"`` or ``"band"``).

    ``"peaks"``: local maxima of ``magnitude`` above ``snr * noise_floor`` (the largest ``max_peaks``, in
    increasing frequency), when there are at least ``min(3, max_peaks)`` of them. Else ``"band"``: ``max_peaks``
    grid points evenly spaced over ``(0, k_band]``, ``k_band`` the last grid frequency before ``magnitude`` first
    falls to ``snr * noise_floor``.

    >>> k = np.linspace(0, 10, 101)
    >>> mag = 0.5 + 0.4 * np.cos(2 * np.pi * k / 2.5) * np.exp(-k / 20)   # maxima at k = 2.5, 5, 7.5
    >>> idx, how = select_frequencies(k, mag, 0.01)
    >>> [float(k[i]) for i in idx], how
    ([2.5, 5.0, 7.5], 'peaks')
    """
    mag = np.asarray(magnitude, dtype=np.float64)
    level = snr * noise_floor
    cand = [j for j in range(1, mag.size - 1) if mag[j] > mag[j - 1] and mag[j] >= mag[j + 1] and mag[j] > level]
    if include_zero and mag.size > 1 and mag[0] > mag[1] and mag[0] > level:
        cand = [0] + cand
    if len(cand) >= min(3, max_peaks):
        cand = sorted(sorted(cand, key=lambda j: -mag[j])[:max_peaks])
        return cand, "peaks"
    below = np.nonzero(mag[1:] <= level)[0]
    j_band = int(below[0]) if below.size else mag.size - 1   # the last grid point above the level
    j_band = max(j_band, 1)
    picks = np.unique(np.round(np.linspace(0, j_band, max_peaks + 1)[1:]).astype(int))
    picks = [int(j) for j in picks if j >= 1]
    if include_zero:
        picks = [0] + picks
    return picks, "band"


class ProjectionMonitor:
    """ΔF of a classifier's outputs at selected frequencies along a direction of the input space.

    Parameters
    ----------
    inputs : array_like or Tensor, shape (n, ...)
        Training inputs (flattened; N x C x H x W images are accepted).
    labels : array_like, shape (n,) or (n, c)
        Integer classes or one-hot rows.
    n_classes : int, optional
        Number of classes (default: from the labels).
    outputs : {"logits", "probabilities"}
        What ``record`` receives; logits go through a softmax first.
    direction : array_like, shape (d,), optional
        Projection direction (normalised here); default the first principal component of ``inputs``.
    freqs : array_like, optional
        The frequency grid (cycles per unit of ``v``; values >= 0). Default: ``n_freqs`` points ``j * dk`` on
        ``[0, k_max]``.
    n_freqs : int
        Size of the default grid.
    k_max : float, optional
        End of the default grid; default 1.5 times the band where ``|y_hat|`` stands above ``snr`` times the noise
        floor (found on a probe grid up to ``8 / std(v)``).
    tracked : sequence of float, optional
        Frequencies to track (snapped to the nearest grid point); default :func:`select_frequencies`.
    max_peaks, snr, include_zero
        See :func:`select_frequencies`.
    threshold, hold : float, int
        Convergence rule: ΔF below ``threshold`` for ``hold`` consecutive records.
    method : {"auto", "direct", "finufft"}
        Transform engine (:class:`~freqlens.spectrum.nufft.NudftPlan`).
    device : str or torch.device
        Where the direct transform runs.
    keep_spectra : bool
        Keep ``|h_hat(k)|`` on the whole grid at every record (for the spectrum figure; ``4 K`` bytes a record).

    Notes
    -----
    ``delta_f(k) = |h_hat(k) - y_hat(k)| / |y_hat(k)|``, ``delta_f_mag(k) = ||h_hat(k)| - |y_hat(k)|| / |y_hat(k)|``
    with ``|.|`` the norm over classes. ``record(step, outputs, loss=None)`` returns both (arrays over
    :attr:`tracked`). Cost per record: one transform of ``c`` columns (``8 n K c`` flops direct).
    """

    name = "projection"
    source = "train"
    arrays_file = "projection.npz"

    def __init__(self, inputs: Any, labels: Any, *, n_classes: int | None = None, outputs: str = "logits",
                 direction: Any = None, freqs: Any = None, n_freqs: int = 256, k_max: float | None = None,
                 tracked: Any = None, max_peaks: int = 6, snr: float = 2.0, include_zero: bool = False,
                 threshold: float = 0.1, hold: int = 5, method: str = "auto", device: Any = "cpu",
                 keep_spectra: bool = True):
        if outputs not in ("logits", "probabilities"):
            raise ValueError(f"outputs must be 'logits' or 'probabilities', got {outputs!r}")
        if int(n_freqs) != n_freqs or n_freqs < 4:
            raise ValueError(f"n_freqs must be an integer >= 4, got {n_freqs!r}")
        if int(max_peaks) != max_peaks or max_peaks < 1:
            raise ValueError(f"max_peaks must be a positive integer, got {max_peaks!r}")
        if not (threshold > 0 and int(hold) == hold and hold >= 1):
            raise ValueError(f"threshold must be > 0 and hold a positive integer, got {threshold!r}, {hold!r}")
        if not snr > 0:
            raise ValueError(f"snr must be > 0, got {snr!r}")
        shape = tuple(inputs.shape) if hasattr(inputs, "shape") else np.shape(inputs)
        if len(shape) < 2:
            raise ValueError(f"inputs must have shape (n, d, ...), got {shape}")
        n, d = int(shape[0]), int(np.prod(shape[1:], dtype=np.int64))
        refuse_if_too_big({"covariance": 8.0 * min(d, 4096) ** 2, "float64 slab": 8.0 * 4096 * d},
                          f"projecting {n} inputs of dimension {d}")
        x = np.asarray(to_numpy(inputs)).reshape(n, -1)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"inputs must be a real numeric array, got dtype {x.dtype}")
        if direction is None:
            p = principal_direction(x)  # checks finiteness
        else:
            p = np.asarray(to_numpy(direction), dtype=np.float64).reshape(-1)
            if p.size != d or not np.all(np.isfinite(p)) or not np.linalg.norm(p) > 0:
                raise ValueError(f"direction must be a finite non-zero vector of {d} numbers, got shape {p.shape}")
            p = p / np.linalg.norm(p)
        self.direction = p
        self.v = np.concatenate([x[r0:r0 + 4096].astype(np.float64) @ p for r0 in range(0, n, 4096)])
        if not np.all(np.isfinite(self.v)):
            raise ValueError("inputs contain NaN or inf")
        self.n = n
        self.y = one_hot(labels, n, n_classes)
        self.n_classes = self.y.shape[1]
        self.outputs = outputs
        self.threshold, self.hold = float(threshold), int(hold)
        self.noise_floor = float(np.sqrt(np.sum(self.y ** 2)) / n)
        self.device = device
        if freqs is None:
            if k_max is None:
                k_max = self._auto_k_max(snr, method)
            if not (np.isfinite(k_max) and k_max > 0):
                raise ValueError(f"k_max must be a finite number > 0, got {k_max!r}")
            grid = np.arange(int(n_freqs)) * (float(k_max) / (int(n_freqs) - 1))
        else:
            grid = np.asarray(freqs, dtype=np.float64).reshape(-1)
            if grid.size < 2 or not np.all(np.isfinite(grid)) or np.any(grid < 0) or np.any(np.diff(grid) <= 0):
                raise ValueError("freqs must be an increasing 1-D array of at least 2 finite numbers >= 0")
        self.freqs = grid
        self._plan = NudftPlan(self.v, grid, n_columns=self.n_classes, method=method, device=device)
        self.target_dft = self._plan(self.y)
        self.target_spectrum = np.linalg.norm(self.target_dft, axis=1)
        if tracked is None:
            idx, self.selection = select_frequencies(grid, self.target_spectrum, self.noise_floor,
                                                     max_peaks=int(max_peaks), snr=snr, include_zero=include_zero)
        else:
            want = np.atleast_1d(np.asarray(tracked, dtype=np.float64))
            idx = sorted({int(np.argmin(np.abs(grid - k))) for k in want})
            self.selection = "given"
        idx = [j for j in idx if self.target_spectrum[j] > 0]
        if not idx:
            raise ValueError("no tracked frequency has energy in the labels (|y_hat(k)| = 0)")
        self._idx = np.asarray(idx, dtype=np.int64)
        self.tracked = [float(grid[j]) for j in idx]
        self._den = self.target_spectrum[self._idx]
        self.keep_spectra = bool(keep_spectra)
        self.axes: dict[str, tuple[str, list]] = {"delta_f": ("k", list(self.tracked)),
                                                  "delta_f_mag": ("k", list(self.tracked))}
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._df: list[np.ndarray] = []
        self._dfm: list[np.ndarray] = []
        self._spectra: list[np.ndarray] = []

    def _auto_k_max(self, snr: float, method: str) -> float:
        sd = float(np.std(self.v))
        if not sd > 0:
            raise ValueError("the inputs do not vary along the direction (std of p . x is 0)")
        probe = np.arange(512) * (8.0 / sd / 511)
        mag = np.linalg.norm(NudftPlan(self.v, probe, n_columns=self.n_classes, method=method,
                                       device=self.device, calls=1)(self.y), axis=1)
        below = np.nonzero(mag[1:] <= snr * self.noise_floor)[0]
        k_band = probe[int(below[0]) + 1] if below.size else probe[-1]
        return 1.5 * float(k_band)

    # -- recording -----------------------------------------------------------------------------------------
    def record(self, step: int, outputs: Any, loss: float | None = None) -> dict[str, np.ndarray]:
        """ΔF at the tracked frequencies of the outputs (logits or probabilities, numpy or torch, any device)."""
        h = class_probabilities(outputs, self.n, self.n_classes, self.outputs)
        h_hat = self._plan(h)
        hk, yk = h_hat[self._idx], self.target_dft[self._idx]
        delta = np.linalg.norm(hk - yk, axis=1) / self._den
        delta_mag = np.abs(np.linalg.norm(hk, axis=1) - self._den) / self._den
        self.steps.append(int(step))
        self.losses.append(float("nan") if loss is None else float(loss))
        self._df.append(delta)
        self._dfm.append(delta_mag)
        if self.keep_spectra:
            self._spectra.append(np.linalg.norm(h_hat, axis=1).astype(np.float32))
        return {"delta_f": delta, "delta_f_mag": delta_mag}

    def truncate(self, last_step: int) -> None:
        """Forget records after ``last_step``."""
        keep = sum(1 for s in self.steps if s <= last_step)
        for lst in (self.steps, self.losses, self._df, self._dfm, self._spectra):
            del lst[keep:]

    # -- results -------------------------------------------------------------------------------------------
    @property
    def delta_f(self) -> np.ndarray:
        """ΔF (complex form), shape (records, tracked)."""
        return np.asarray(self._df, dtype=np.float64).reshape(len(self._df), len(self.tracked))

    @property
    def delta_f_mag(self) -> np.ndarray:
        return np.asarray(self._dfm, dtype=np.float64).reshape(len(self._dfm), len(self.tracked))

    @property
    def output_spectra(self) -> np.ndarray:
        """``|h_hat(k)|`` on the whole grid at every record, shape (records, K) (empty without keep_spectra)."""
        return np.asarray(self._spectra, dtype=np.float32).reshape(len(self._spectra), self.freqs.size)

    def convergence_steps(self, threshold: float | None = None, hold: int | None = None) -> dict[float, int | None]:
        thr = self.threshold if threshold is None else threshold
        hld = self.hold if hold is None else hold
        arr = self.delta_f
        return {k: convergence_step(self.steps, arr[:, j], thr, hld) for j, k in enumerate(self.tracked)}

    def summaries(self) -> dict[str, dict[Any, Any]]:
        """``{"convergence_step": {k: step or None}}`` (ΔF below ``threshold`` for ``hold`` records)."""
        return {"convergence_step": self.convergence_steps()}

    # -- persistence ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        return {"steps": np.asarray(self.steps, dtype=np.int64), "loss": np.asarray(self.losses, dtype=np.float64),
                "delta_f": self.delta_f, "delta_f_mag": self.delta_f_mag, "output_spectra": self.output_spectra,
                "freqs": self.freqs, "tracked": np.asarray(self.tracked), "direction": self.direction,
                "target_dft": self.target_dft, "target_spectrum": self.target_spectrum,
                "noise_floor": np.asarray(self.noise_floor), "selection": np.asarray(self.selection),
                "threshold": np.asarray(self.threshold), "hold": np.asarray(self.hold)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict` (raise ``ValueError`` when it tracks another grid, direction or data)."""
        if not np.array_equal(np.asarray(state["tracked"], dtype=np.float64), np.asarray(self.tracked)):
            raise ValueError("the saved projection monitor tracks other frequencies")
        if not np.allclose(np.asarray(state["freqs"], dtype=np.float64), self.freqs, rtol=1e-12, atol=0):
            raise ValueError("the saved projection monitor used another frequency grid")
        if not np.allclose(np.asarray(state["target_dft"]), self.target_dft, rtol=1e-6, atol=1e-12):
            raise ValueError("the saved projection monitor was recorded on other inputs, labels or direction")
        self.steps = [int(s) for s in state["steps"]]
        self.losses = [float(v) for v in state["loss"]]
        self._df = list(np.asarray(state["delta_f"], dtype=np.float64))
        self._dfm = list(np.asarray(state["delta_f_mag"], dtype=np.float64))
        self._spectra = list(np.asarray(state["output_spectra"], dtype=np.float32)) if self.keep_spectra else []
