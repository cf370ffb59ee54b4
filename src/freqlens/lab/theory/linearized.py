"""Linearised training dynamics: the residual, ΔF(k, t) and convergence steps predicted from the empirical NTK.

For full-batch gradient descent on the lab's loss ``L = mean((f − y)²)`` over ``N = n·O`` values, a network
linearised around its initial parameters moves its training residual ``r = f − y`` by
``r_{t+1} = (I − (2η/N) Θ) r_t`` (``Θ`` the NTK on the training inputs): along each eigenvector ``v_j`` of ``Θ``
(eigenvalue ``λ_j``) the residual shrinks by the factor ``q_j = 1 − 2ηλ_j/N`` per step. When the eigenvectors are
close to Fourier modes whose eigenvalues fall with frequency, low frequencies converge first.

>>> import numpy as np
>>> K = np.diag([4.0, 1.0])                           # two modes with eigenvalues 4 and 1
>>> dyn = LinearizedDynamics(K, residual0=[1.0, 1.0], lr=0.25)   # N = 2: q = 1 − 0.25·λ
>>> np.round(dyn.residual([0, 1, 2]), 4)
array([[1.    , 1.    ],
       [0.    , 0.75  ],
       [0.    , 0.5625]])
"""

from __future__ import annotations

import math

import numpy as np

from freqlens._arrays import to_numpy
from freqlens.lab.monitors.base import convergence_step
from freqlens.lab.theory.ntk import empirical_ntk
from freqlens.spectrum.dft import dft

_EXACT_EVALS = 200_000  # schedule points evaluated exactly before switching to a geometric search


class LinearizedDynamics:
    """Exact dynamics of the linearised model under full-batch gradient descent (optionally heavy-ball momentum).

    Parameters
    ----------
    kernel : array_like, shape (N, N)
        The NTK on the training inputs, flattened over (sample, output) for several outputs.
    residual0 : array_like, shape (N,)
        Initial residual ``f₀ − y`` in the same order.
    lr : float
        Learning rate ``η``.
    momentum : float
        Heavy-ball momentum ``β`` of ``torch.optim.SGD`` (0 = plain gradient descent).
    targets : array_like, shape (N,), optional
        Targets ``y`` (needed for :meth:`delta_f` and :meth:`outputs`).

    Notes
    -----
    ``∂L/∂θ = (2/N) Jᵀ r``, so a step changes the outputs by ``J Δθ = −(2η/N) Θ r``. With momentum
    (``buf ← β buf + ∇L``, ``θ ← θ − η buf``, buffer starting at 0 as in torch), each mode follows the 2×2
    recurrence ``m' = β m + λ' r``, ``r' = r − η m'`` with ``λ' = 2λ/N``, solved through its eigenvalues.
    The prediction is exact for the linearised network; a finite network follows it while its kernel stays close to
    the initial one (wide networks, small steps).

    **Adam differs**: its update ``η m̂/(√v̂ + ε)`` rescales every parameter by its own gradient history, so the
    outputs move by ``−η J D_t Jᵀ r``-like steps with a diagonal ``D_t`` that changes as the gradients shrink; early
    on it is close to sign descent (step size ``≈ η`` per parameter whatever the residual), which makes the residual
    fall roughly linearly rather than exponentially and equalises the modes in part. No fixed kernel describes it;
    the GD prediction at the run's ``lr`` keeps the ordering of frequencies (which eigenvalues are large), not the
    time scale. See ``docs/theory.md``.
    """

    def __init__(self, kernel, residual0, lr: float, *, momentum: float = 0.0, targets=None):
        k = np.asarray(to_numpy(kernel), dtype=np.float64)
        r0 = np.asarray(to_numpy(residual0), dtype=np.float64).reshape(-1)
        if k.ndim != 2 or k.shape[0] != k.shape[1]:
            raise ValueError(f"kernel must be a square matrix, got shape {k.shape}")
        if r0.size != k.shape[0]:
            raise ValueError(f"residual0 has {r0.size} values, the kernel is {k.shape[0]}x{k.shape[0]}")
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if not (np.all(np.isfinite(k)) and np.all(np.isfinite(r0))):
            raise ValueError("kernel and residual0 must be finite")
        self.n = r0.size
        self.lr, self.momentum = float(lr), float(momentum)
        lam, vec = np.linalg.eigh(0.5 * (k + k.T))
        order = np.argsort(lam)[::-1]
        self.eigenvalues = np.clip(lam[order], 0.0, None)  # a PSD kernel; rounding can give tiny negatives
        self.eigenvectors = vec[:, order]
        self.residual0 = r0
        self.coefficients = self.eigenvectors.T @ r0  # residual along each eigenvector
        self.targets = None if targets is None else np.asarray(to_numpy(targets), np.float64).reshape(-1)
        if self.targets is not None and self.targets.size != self.n:
            raise ValueError(f"targets have {self.targets.size} values, the residual {self.n}")
        self.rates = 2.0 * self.lr * self.eigenvalues / self.n  # ηλ' per mode

    def state_dict(self) -> dict[str, np.ndarray]:
        """The decomposition as arrays, so that :meth:`from_state` rebuilds exactly these dynamics."""
        return {"lr": np.float64(self.lr), "momentum": np.float64(self.momentum), "eigenvalues": self.eigenvalues,
                "eigenvectors": self.eigenvectors, "residual0": self.residual0,
                "targets": np.zeros(0) if self.targets is None else self.targets}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> "LinearizedDynamics":
        """The dynamics of a :meth:`state_dict` (no new eigen-decomposition: the numbers are the same bits)."""
        self = cls.__new__(cls)
        self.lr, self.momentum = float(state["lr"]), float(state["momentum"])
        self.eigenvalues = np.asarray(state["eigenvalues"], dtype=np.float64)
        self.eigenvectors = np.asarray(state["eigenvectors"], dtype=np.float64)
        self.residual0 = np.asarray(state["residual0"], dtype=np.float64)
        self.n = self.residual0.size
        if self.eigenvectors.shape != (self.n, self.n) or self.eigenvalues.shape != (self.n,):
            raise ValueError("the saved linearised dynamics are inconsistent")
        self.coefficients = self.eigenvectors.T @ self.residual0
        targets = np.asarray(state["targets"], dtype=np.float64)
        self.targets = targets if targets.size else None
        self.rates = 2.0 * self.lr * self.eigenvalues / self.n
        return self

    # -- per-mode factors ------------------------------------------------------------------------------------
    @property
    def stable(self) -> bool:
        """True when every mode decays (or stays): GD needs ``2ηλ_max/N < 2`` (momentum: ``< 2(1+β)``)."""
        return bool(self.rates.max(initial=0.0) < 2.0 * (1.0 + self.momentum))

    def factors(self, steps) -> np.ndarray:
        """``(len(steps), N)``: the residual along each eigenvector after ``t`` steps, relative to the start."""
        t = np.asarray(steps, dtype=np.float64).reshape(-1, 1)
        if np.any(t < 0):
            raise ValueError("steps must be >= 0")
        a = self.rates[None, :]
        if self.momentum == 0.0:
            q = 1.0 - a
            with np.errstate(over="ignore", invalid="ignore"):
                return np.sign(q) ** t * np.abs(q) ** t
        b = self.momentum
        # companion matrix [[1 − a, −ηβ·...]] on (r, η m): r' = (1 − a) r − β (η m), (η m)' = β (η m) + a r
        tr, det = 1.0 - a + b, b
        disc = np.sqrt((tr * tr - 4 * det).astype(np.complex128))
        mu1, mu2 = (tr + disc) / 2, (tr - disc) / 2
        # r_t = c1 μ1^t + c2 μ2^t with r_0 = 1, r_1 = 1 − a
        r1 = 1.0 - a
        close = np.abs(mu1 - mu2) < 1e-9
        safe = np.where(close, 1.0, mu1 - mu2)
        c1 = (r1 - mu2) / safe
        c2 = 1.0 - c1
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = c1 * mu1 ** t + c2 * mu2 ** t
            mu = mu1
            deg = mu ** t + t * (r1 - mu) * mu ** np.maximum(t - 1, 0)  # double root
        return np.real(np.where(close, deg, out))

    # -- predictions ------------------------------------------------------------------------------------------
    def residual(self, steps) -> np.ndarray:
        """Predicted training residual ``f_t − y`` at each step, shape ``(len(steps), N)``."""
        return (self.factors(steps) * self.coefficients[None, :]) @ self.eigenvectors.T

    def outputs(self, steps) -> np.ndarray:
        """Predicted training outputs ``f_t`` at each step (needs ``targets``)."""
        if self.targets is None:
            raise ValueError("outputs() needs the targets: pass targets= when building the dynamics")
        return self.residual(steps) + self.targets[None, :]

    def delta_f(self, freqs, steps, *, chunk: int = 4096) -> np.ndarray:
        """Predicted ``ΔF(k, t) = |DFT(f_t − y)_k| / |DFT(y)_k|`` (:func:`freqlens.spectrum.dft`), shape
        ``(len(steps), len(freqs))``, for one output on a grid of whole periods (the training grid)."""
        ks, den, b = self._fourier_setup(freqs)
        steps = np.asarray(steps).reshape(-1)
        out = np.empty((steps.size, len(ks)))
        for s in range(0, steps.size, chunk):
            fac = self.factors(steps[s:s + chunk])  # (T, N)
            out[s:s + chunk] = np.abs(fac @ b.T) / den[None, :]
        return out

    def convergence_steps(self, freqs, *, threshold: float = 0.05, hold: int = 10, eval_every: int = 10,
                          max_steps: int | None = None) -> dict[int, int | None]:
        """Predicted convergence step of each frequency under the lab's rule (ΔF below ``threshold`` for ``hold``
        consecutive evaluations every ``eval_every`` steps, :func:`~freqlens.lab.monitors.convergence_step`).

        The schedule ``0, eval_every, ...`` is evaluated exactly up to ``max_steps`` (default: until every mode
        carrying the residual has decayed far below ``threshold``, at most 10¹⁸ steps). When that schedule has
        more than 200,000 points, a geometric grid finds the last crossing and a bisection on the schedule refines
        it (ΔF of a sum of decaying exponentials is smooth on that scale). None: not converged by ``max_steps``.
        """
        if not 0 < threshold < 1e6:
            raise ValueError(f"threshold must be > 0, got {threshold!r}")
        if int(hold) != hold or hold < 1 or int(eval_every) != eval_every or eval_every < 1:
            raise ValueError(f"hold and eval_every must be positive integers, got {hold!r}, {eval_every!r}")
        ks = [int(k) for k in freqs]
        horizon = int(max_steps) if max_steps is not None else self._horizon(threshold)
        n_evals = horizon // eval_every + 1
        result: dict[int, int | None] = {}
        if n_evals <= _EXACT_EVALS:
            sched = np.arange(n_evals) * eval_every
            df = self.delta_f(ks, sched)
            for j, k in enumerate(ks):
                result[k] = convergence_step(sched, df[:, j], threshold, hold)
            return result
        grid = np.unique(np.round(np.geomspace(eval_every, horizon, 4000) / eval_every).astype(np.int64))
        grid = np.concatenate([[0], grid]) * eval_every
        df = self.delta_f(ks, grid)
        for j, k in enumerate(ks):
            above = np.nonzero(df[:, j] >= threshold)[0]
            if above.size == 0:
                result[k] = 0
                continue
            i = above[-1]
            if i == grid.size - 1:
                result[k] = None
                continue
            lo, hi = grid[i] // eval_every, grid[i + 1] // eval_every  # ΔF >= thr at lo, < thr at hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self.delta_f([k], [mid * eval_every])[0, 0] >= threshold:
                    lo = mid
                else:
                    hi = mid
            result[k] = int(hi * eval_every)
        return result

    def eigenvector_spectra(self, n_vectors: int | None = None) -> np.ndarray:
        """Fourier content of the leading eigenvectors on a grid of whole periods: ``(n_vectors, N//2 + 1)``
        fractions of each eigenvector's energy in bin ``k`` (``k`` and ``N − k`` folded together)."""
        return eigenvector_spectra(self.eigenvectors[:, :n_vectors])

    # -- helpers ----------------------------------------------------------------------------------------------
    def _fourier_setup(self, freqs):
        if self.targets is None:
            raise ValueError("delta_f() needs the targets: pass targets= when building the dynamics")
        ks = [int(k) for k in freqs]
        half = self.n // 2
        for k in ks:
            if not 0 <= k <= half:
                raise ValueError(f"frequency {k} is outside [0, {half}] for {self.n} samples")
        yhat = dft(self.targets)[ks]
        den = np.abs(yhat)
        if np.any(den < 1e-12 * max(1.0, np.abs(self.targets).max())):
            raise ValueError(f"a tracked frequency has no energy in the target: |DFT(y)| = {den.tolist()}")
        vhat = dft(self.eigenvectors, axis=0)[ks]  # (F, N)
        return ks, den, vhat * self.coefficients[None, :]

    def _horizon(self, threshold: float) -> int:
        """Steps after which every mode that carries the residual is below 1e-6·threshold of its start."""
        weight = np.abs(self.coefficients) / max(np.abs(self.coefficients).max(), 1e-300)
        live = (weight > 1e-9) & (self.rates > 0)
        if not np.any(live):
            return 1000
        slow = np.min(self.rates[live]) / (1.0 + self.momentum) if self.momentum else np.min(self.rates[live])
        if slow >= 1.0:
            return 1000
        t = math.log(1e-6 * threshold) / math.log1p(-min(slow, 1 - 1e-16))
        return int(min(max(t, 1000), 1e18))


def eigenvector_spectra(eigenvectors) -> np.ndarray:
    """Energy fraction of each column of ``eigenvectors`` in DFT bin ``k = 0..n//2`` (``k`` and ``n − k`` folded).

    Rows sum to 1. A pure tone ``cos(kx + φ)`` on a grid of whole periods puts all its energy in bin ``k``.
    """
    v = np.asarray(to_numpy(eigenvectors), dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"eigenvectors must be a 2-D array (samples, vectors), got shape {v.shape}")
    n = v.shape[0]
    p = np.abs(dft(v, axis=0)) ** 2  # (n, m)
    half = n // 2
    folded = p[: half + 1].copy()
    folded[1:(n + 1) // 2] += p[n - 1: half: -1][: (n + 1) // 2 - 1]
    total = folded.sum(axis=0, keepdims=True)
    return (folded / np.where(total > 0, total, 1.0)).T


def dominant_frequencies(spectra) -> tuple[np.ndarray, np.ndarray]:
    """``(bin, purity)`` of each row of :func:`eigenvector_spectra`: the strongest bin and its energy fraction."""
    s = np.asarray(spectra)
    return s.argmax(axis=1), s.max(axis=1)


def linearize(model, x, y, *, lr: float, momentum: float = 0.0, dtype="float64", device=None,
              max_memory: int | None = None) -> LinearizedDynamics:
    """The :class:`LinearizedDynamics` of ``model`` trained by full-batch GD on ``mean((model(x) − y)²)``.

    Parameters
    ----------
    model : nn.Module
        At its initial parameters (the kernel and the initial outputs are taken now).
    x, y : array_like or Tensor
        Training inputs ``(n, ...)`` and targets with the shape of ``model(x)`` (``(n,)`` or ``(n, O)``).
    lr, momentum : float
        The run's learning rate, and SGD's momentum (0 for plain gradient descent).
    dtype : {"float64", None}
        Precision of the kernel: ``"float64"`` (default) works on a float64 copy of the model, because the
        eigenvalues that govern high frequencies are often below float32 resolution (for the lab's tanh MLP the
        kernel spans 10 orders of magnitude); None uses the model as it is.
    device, max_memory
        As for :func:`~freqlens.lab.theory.empirical_ntk`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1)).double()
    >>> x = torch.linspace(-3, 3, 16, dtype=torch.float64).unsqueeze(1)
    >>> dyn = linearize(net, x, torch.sin(x), lr=1e-2)
    >>> dyn.residual([0]).shape, dyn.stable
    ((1, 16), True)
    """
    import copy

    import torch

    if dtype not in ("float64", None):
        raise ValueError(f"dtype must be 'float64' or None, got {dtype!r}")
    ref = next(model.parameters())
    if dtype == "float64" and ref.dtype != torch.float64:
        model = copy.deepcopy(model).to(torch.float64)
        ref = next(model.parameters())
    xt = x if hasattr(x, "detach") else torch.as_tensor(np.asarray(x))
    if xt.is_floating_point():
        xt = xt.to(ref.dtype)
    xt = xt.to(device if device is not None else ref.device)
    with torch.no_grad():
        f0 = model(xt)
    f0 = np.asarray(to_numpy(f0), dtype=np.float64)
    yn = np.asarray(to_numpy(y), dtype=np.float64)
    if yn.size != f0.size or yn.shape[0] != f0.shape[0]:
        raise ValueError(f"y must have the shape of model(x), {f0.shape}, got {yn.shape}")
    n = f0.shape[0]
    n_out = f0.size // n
    kernel = empirical_ntk(model, xt, output="trace" if n_out == 1 else "full", device=device,
                           max_memory=max_memory)
    k = np.asarray(to_numpy(kernel), dtype=np.float64)
    if n_out > 1:
        k = k.transpose(0, 2, 1, 3).reshape(n * n_out, n * n_out)
    return LinearizedDynamics(k, (f0.reshape(-1) - yn.reshape(-1)), lr, momentum=momentum,
                              targets=yn.reshape(-1))


def predict_delta_f(model, x, y, *, lr: float, steps, freqs, momentum: float = 0.0,
                    device=None) -> np.ndarray:
    """Predicted ``ΔF(k, t)`` of a 1-D regression run, shape ``(len(steps), len(freqs))``: the overlay for a run
    of the lab (``x`` the training grid of whole periods, ``y`` the targets, ``lr`` the run's learning rate).

    Shorthand for ``linearize(model, x, y, lr=lr, momentum=momentum).delta_f(freqs, steps)``; call it on the
    model at initialisation.
    """
    return linearize(model, x, y, lr=lr, momentum=momentum, device=device).delta_f(freqs, steps)
