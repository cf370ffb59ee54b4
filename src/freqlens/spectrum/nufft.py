"""Fourier transforms of high-dimensional data along a direction: the principal direction and a fast NUDFT.

The projection method of the Frequency Principle looks at a labelled data set ``(x_i, y_i)`` in R^d through one
direction ``p`` (the first principal component of the inputs): with ``v_i = p . x_i`` it takes the non-uniform DFT

    F(k) = (1/n) * sum_i y_i * exp(-2*pi*i * k * v_i)

(the convention of :func:`freqlens.spectrum.dft.nudft`: frequencies in cycles per unit of ``v``). This module gives

- :func:`principal_direction` -- the unit first principal component (deterministic sign);
- :func:`nudft_direct` -- the chunked direct sum in float64: exact, the reference and the fallback;
- :class:`NudftPlan` -- the transform at fixed points ``v`` and frequencies ``k`` applied to many value arrays
  (one per training record), by the fastest exact route: a cached phase matrix and one GEMM per call, or a real
  NUFFT (`finufft <https://finufft.readthedocs.io>`_, an optional dependency: ``pip install freqlens[nufft]``),
  type 1 when the frequencies are the uniform grid ``k_j = j * dk`` and type 3 otherwise.

Why both: a transform at ``K`` frequencies of ``c`` columns over ``n`` points costs ``8 n K c`` flops by the
direct sum (a float64 GEMM once the phase matrix, ``16 n K`` bytes, is cached) and about ``n c w + K log K`` for
a NUFFT (``w`` ~ 10-30 for 1e-9 accuracy). For digits-sized data and a few hundred frequencies the two are within
a factor of two; for MNIST-sized data the phase matrix alone would take hundreds of MB and finufft wins
(``benchmarks/bench_nudft.py`` measures the crossover; :func:`choose_method` encodes it).

Examples
--------
>>> import numpy as np
>>> v = np.arange(8) / 8                      # a uniform grid on [0, 1): the NUDFT is the DFT
>>> y = np.cos(2 * np.pi * 3 * v)
>>> np.round(np.abs(nudft_direct(v, y, [0, 1, 2, 3, 4])), 12)
array([0. , 0. , 0. , 0.5, 0. ])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from freqlens._arrays import to_numpy
from freqlens.spectrum.gaussian_split import refuse_if_too_big

__all__ = ["NudftPlan", "choose_method", "finufft_available", "nudft_direct", "principal_direction",
           "uniform_step"]

_METHODS = ("auto", "direct", "finufft")
# Cost model of one call (c columns, n points, K frequencies), fitted to benchmarks/bench_nudft.py on this
# project's 2-core Xeon (torch 2.13 and finufft 2.5.1, one thread each, eps 1e-9; shared machine, load ~8):
# direct 0.2 ms (n=1797, K=64) to 1.2 s (n=60000, K=4096) ~ 8 n K c / 1.6e10; finufft 0.5 ms (n=1797) to 56 ms
# (n=60000) nearly independent of K ~ 5e-8 n c + 3e-4. See choose_method.
_DIRECT_FLOPS = 1.6e10        # float64 flop rate of the direct sum (8 n K c flops a call)
_DIRECT_CALL = 1e-4           # s of overhead per direct call
_PHASE_RATE = 5e7             # phase-matrix entries built per second (setup of "direct")
_NUFFT_PER_POINT = 5e-8       # s per (point x column), finufft type 1/3, one thread
_NUFFT_CALL = 3e-4            # s of overhead per finufft call
_PHASE_CACHE_BYTES = 64 * 2**20  # above this the phase matrix is not worth its memory (choose finufft)
_PHASE_KEEP_BYTES = 1 * 2**30    # above this "direct" does not keep it at all (chunked sums at every call)


def finufft_available() -> bool:
    """True when the optional ``finufft`` package imports."""
    try:
        import finufft  # noqa: F401
    except ImportError:
        return False
    return True


def principal_direction(x: Any) -> np.ndarray:
    """Unit first principal component of the rows of ``x`` (flattened to ``(n, d)``), float64, shape ``(d,)``.

    Notes
    -----
    The top eigenvector of the covariance ``X_c^T X_c / n`` (``X_c`` the centred inputs), by
    :func:`scipy.linalg.eigh` restricted to the largest eigenvalue when ``d <= 4096``, else by
    :func:`scipy.sparse.linalg.svds` on the centred data (no ``d x d`` matrix). The sign is fixed so that the
    component of largest magnitude is positive (a PCA's sign is arbitrary; this makes it reproducible).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3)) * [0.1, 3.0, 0.2]
    >>> np.round(np.abs(principal_direction(x)), 2)
    array([0., 1., 0.])
    """
    import scipy.linalg

    arr = np.asarray(to_numpy(x))
    if arr.ndim < 2 or arr.shape[0] < 2:
        raise ValueError(f"inputs must have shape (n, d, ...) with n >= 2, got {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"inputs must be a real numeric array, got dtype {arr.dtype}")
    n, d = arr.shape
    slabs = range(0, n, 4096)  # float64 a slab at a time: no full float64 copy of the inputs
    mean = np.zeros(d)
    for r0 in slabs:
        slab = arr[r0:r0 + 4096].astype(np.float64)
        if not np.all(np.isfinite(slab)):
            raise ValueError("inputs contain NaN or inf")
        mean += slab.sum(axis=0)
    mean /= n
    if d <= 4096:
        cov = np.zeros((d, d))
        for r0 in slabs:
            xc = arr[r0:r0 + 4096].astype(np.float64) - mean
            cov += xc.T @ xc
        _, vec = scipy.linalg.eigh(cov / n, subset_by_index=[d - 1, d - 1])
        p = vec[:, 0]
    else:
        from scipy.sparse.linalg import LinearOperator, svds

        a64 = arr.astype(np.float64, copy=False)
        op = LinearOperator((n, d), matvec=lambda w: a64 @ w.ravel() - mean @ w.ravel(),
                            rmatvec=lambda u: a64.T @ u.ravel() - mean * u.sum(), dtype=np.float64)
        _, _, vt = svds(op, k=1, random_state=0)
        p = vt[0]
    p = p / np.linalg.norm(p)
    if p[np.argmax(np.abs(p))] < 0:
        p = -p
    return p


def _points(v: Any) -> np.ndarray:
    arr = np.asarray(to_numpy(v), dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("cannot take the DFT of an empty array")
    if not np.all(np.isfinite(arr)):
        raise ValueError("points contain NaN or inf")
    return arr


def _freqs(k: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(k, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"freqs must be a non-empty 1-D array of finite numbers, got {k!r}")
    return arr


def nudft_direct(v: Any, values: Any, freqs: Any, *, chunk: int = 256) -> np.ndarray:
    """``F(k) = (1/n) sum_i y_i exp(-2 pi i k v_i)`` by the direct sum, in float64 (the reference).

    Parameters
    ----------
    v : array_like, shape (n,)
        Sample positions.
    values : array_like, shape (n,) or (n, c)
        Real or complex values.
    freqs : array_like, shape (K,)
        Frequencies in cycles per unit of ``v``.
    chunk : int
        Frequencies per block (memory ``16 * chunk * n`` bytes).

    Returns
    -------
    ndarray, complex128, shape (K,) or (K, c)

    Notes
    -----
    The phases are formed in float64 as ``2 pi (k v mod 1)`` (the reduction keeps their accuracy for large
    ``k v``), one block of ``chunk`` frequencies at a time.
    """
    x = _points(v)
    y = np.asarray(to_numpy(values))
    k = _freqs(freqs)
    if y.shape[0] != x.size:
        raise ValueError(f"v and values must have the same length, got {x.size} and {y.shape[0]}")
    one_d = y.ndim == 1
    y2 = y.reshape(x.size, -1)
    out = np.empty((k.size, y2.shape[1]), dtype=np.complex128)
    for s in range(0, k.size, int(chunk)):
        ph = np.outer(k[s:s + chunk], x)
        ph = 2.0 * np.pi * (ph - np.round(ph))
        out[s:s + chunk] = (np.cos(ph) @ y2 - 1j * (np.sin(ph) @ y2)) / x.size
    return out[:, 0] if one_d else out


def uniform_step(freqs: Any, rtol: float = 1e-9) -> float | None:
    """The step ``dk`` when ``freqs == dk * arange(K)`` (a uniform grid from 0), else None.

    >>> uniform_step([0.0, 0.5, 1.0, 1.5]), uniform_step([0.1, 0.2])
    (0.5, None)
    """
    k = _freqs(freqs)
    if k.size < 2 or k[0] != 0.0:
        return None
    dk = k[1]
    if not dk > 0:
        return None
    if np.allclose(k, dk * np.arange(k.size), rtol=0, atol=rtol * abs(k[-1])):
        return float(dk)
    return None


def choose_method(n: int, n_freqs: int, n_columns: int, calls: int = 100) -> str:
    """``"direct"`` or ``"finufft"``, whichever the cost model says is cheaper for ``calls`` transforms.

    ``"direct"`` when finufft is not installed; ``"finufft"`` whenever the phase matrix would take more than
    64 MiB (it is then both slower and a memory hog). The constants come from ``benchmarks/bench_nudft.py``.

    >>> choose_method(10, 8, 1) in ("direct", "finufft")
    True
    """
    if not finufft_available():
        return "direct"
    if 16.0 * n * n_freqs > _PHASE_CACHE_BYTES:
        return "finufft"
    direct = n * n_freqs / _PHASE_RATE + calls * (8.0 * n * n_freqs * n_columns / _DIRECT_FLOPS + _DIRECT_CALL)
    nufft = calls * (n * n_columns * _NUFFT_PER_POINT + _NUFFT_CALL)
    return "finufft" if nufft < direct else "direct"


class NudftPlan:
    """``F(k) = (1/n) sum_i y_i exp(-2 pi i k v_i)`` at fixed points and frequencies, for many value arrays.

    Parameters
    ----------
    v : array_like, shape (n,)
        Sample positions (e.g. projections ``p . x_i``).
    freqs : array_like, shape (K,)
        Frequencies (cycles per unit of ``v``).
    n_columns : int
        Columns of the value arrays the plan will see (e.g. the number of classes).
    method : {"auto", "direct", "finufft"}
        ``"direct"``: a phase matrix ``exp(-2 pi i k v)`` built once in float64 (``16 n K`` bytes; not kept above
        1 GiB, then :func:`nudft_direct` at every call) and one GEMM per call; ``"finufft"``: finufft's type-1
        plan (uniform grid from 0) or type-3 plan (any frequencies); ``"auto"``: :func:`choose_method`.
    eps : float
        finufft's requested relative accuracy (ignored by ``"direct"``, which is exact to float64 rounding).
    device : str or torch.device
        Where the direct GEMM runs.
    nthreads : int
        finufft's threads. Default 1: on this 2-core machine, shared with other jobs, finufft's OpenMP threads
        waiting on each other made a call 100-300x slower (measured); one thread did n = 60,000 points x 10
        columns in ~30 ms.

    Notes
    -----
    Type 1 computes ``f_m = sum_j c_j exp(-i m t_j)`` for integer ``m``: with ``t_j = 2 pi dk v_j`` (reduced to
    ``[-pi, pi)``) and ``m = 0..K-1`` it is exactly ``F(m dk)``. Type 3 takes ``x_j = v_j``, ``s_k = 2 pi k``.
    """

    def __init__(self, v: Any, freqs: Any, *, n_columns: int = 1, method: str = "auto", eps: float = 1e-9,
                 device: Any = "cpu", calls: int = 100, nthreads: int = 1):
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        self.v = _points(v)
        self.freqs = _freqs(freqs)
        self.n, self.n_freqs = self.v.size, self.freqs.size
        self.n_columns = int(n_columns)
        if not 0 < eps < 1:
            raise ValueError(f"eps must be in (0, 1), got {eps!r}")
        self.eps = float(eps)
        self.nthreads = int(nthreads)
        self.device = torch.device(device)
        if method == "auto":
            method = choose_method(self.n, self.n_freqs, self.n_columns, calls)
        elif method == "finufft" and not finufft_available():
            raise ValueError("method='finufft' needs the optional package finufft (pip install freqlens[nufft])")
        self.method = method
        self._dk = uniform_step(self.freqs)
        self._plan = None
        self._cos = self._sin = None
        if method == "direct" and 16.0 * self.n * self.n_freqs > _PHASE_KEEP_BYTES:
            self._cos = None  # too large to keep: the chunked direct sum at every call
        elif method == "direct":
            refuse_if_too_big({"phase matrix": 16.0 * self.n * self.n_freqs},
                              f"a phase matrix of {self.n_freqs} frequencies x {self.n} points", self.device)
            ph = np.outer(self.freqs, self.v)
            ph = 2.0 * np.pi * (ph - np.round(ph))
            self._cos = torch.as_tensor(np.cos(ph), device=self.device)
            self._sin = torch.as_tensor(np.sin(ph), device=self.device)
        else:
            self.kind = 1 if self._dk is not None else 3

    def __call__(self, values: Any) -> np.ndarray:
        """The transform of ``values`` (shape (n,) or (n, c)): complex128, shape (K,) or (K, c)."""
        y = values.detach() if isinstance(values, torch.Tensor) else np.asarray(values)
        if y.shape[0] != self.n:
            raise ValueError(f"values must have {self.n} rows (one per point), got shape {tuple(y.shape)}")
        one_d = y.ndim == 1
        if self.method == "direct" and self._cos is None:
            out = nudft_direct(self.v, np.asarray(to_numpy(y)).reshape(self.n, -1), self.freqs)
        elif self.method == "direct":
            yt = torch.as_tensor(y, device=self.device)
            if yt.is_complex():
                yt = yt.to(torch.complex128).reshape(self.n, -1)
                re = self._cos @ yt.real + self._sin @ yt.imag
                im = self._cos @ yt.imag - self._sin @ yt.real
            else:
                yt = yt.to(torch.float64).reshape(self.n, -1)
                re, im = self._cos @ yt, -(self._sin @ yt)
            out = (re.cpu().numpy() + 1j * im.cpu().numpy()) / self.n
        else:
            out = self._finufft(np.asarray(to_numpy(y)).reshape(self.n, -1))
        return out[:, 0] if one_d else out

    def _finufft(self, y: np.ndarray) -> np.ndarray:
        import finufft

        c = np.ascontiguousarray(y.T.astype(np.complex128))
        ntr = c.shape[0]
        if self._plan is None or self._plan_ntr != ntr:
            if self.kind == 1:
                plan = finufft.Plan(1, (2 * self.n_freqs,), n_trans=ntr, eps=self.eps, isign=-1, modeord=0,
                                    nthreads=self.nthreads)
                t = 2.0 * np.pi * self._dk * self.v
                t = np.mod(t + np.pi, 2.0 * np.pi) - np.pi
                plan.setpts(t)
            else:
                plan = finufft.Plan(3, 1, n_trans=ntr, eps=self.eps, isign=-1, nthreads=self.nthreads)
                plan.setpts(self.v, s=2.0 * np.pi * self.freqs)
            self._plan, self._plan_ntr = plan, ntr
        f = self._plan.execute(c if ntr > 1 else c[0])
        f = np.asarray(f).reshape(ntr, -1)
        if self.kind == 1:  # modes -K..K-1 in increasing order: m = 0..K-1 sit at K..2K-1
            f = f[:, self.n_freqs:]
        return f.T / self.n
