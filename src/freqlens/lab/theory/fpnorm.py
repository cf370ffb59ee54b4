"""The variational problem of the linear F-Principle: the minimum-FP-norm interpolant, against a trained network.

A network trained in the kernel regime from ``h_ini`` converges to the interpolant that minimises the FP-norm
``∫ γ(ξ)^{−2} |F[h](ξ) − F[h_ini](ξ)|² dξ`` subject to ``h(x_i) = y_i``. For ReLU, ``γ² = A/ξ⁴ + B/ξ²``: where
``1/ξ⁴`` dominates the penalty is ``∫|h''|²`` (a natural cubic spline), where ``1/ξ²`` dominates it is ``∫|h'|²``
(a linear spline).

>>> import numpy as np
>>> x = np.array([-1.0, 0.0, 1.0]); y = np.array([0.0, 1.0, 0.0])
>>> np.round(fp_spline(x, y, [-0.5, 0.5], A=0.0, B=1.0), 6)     # 1/ξ² only: piecewise linear
array([0.5, 0.5])
"""

from __future__ import annotations

import numpy as np

from freqlens._arrays import to_numpy

NULL_SPACES = ("auto", "constant", "affine")


def min_fp_norm_interpolant(x_nodes, y_nodes, x_eval, gamma2_fn, *, period: float | None = None,
                            n_freqs: int = 16384, null_space: str = "auto", chunk: int = 256) -> np.ndarray:
    """Minimise ``Σ_ξ γ(ξ)^{−2}|ĥ(ξ)|²`` subject to ``h(x_i) = y_i``, numerically on a fine periodic grid.

    Parameters
    ----------
    x_nodes, y_nodes : array_like, shape (p,)
        Interpolation points (distinct) and values (for the correction ``h − h_ini``: pass ``y − h_ini(x)``).
    x_eval : array_like
        Where to evaluate the interpolant.
    gamma2_fn : callable
        ``γ²(ξ)`` for an array of frequencies ``ξ > 0`` (cycles per unit), e.g.
        ``lambda xi: gamma2(xi, a, w)``.
    period : float, optional
        Length ``P`` of the periodic domain; default 100 × the span of the nodes and evaluation points (the
        periodic solution approaches the whole-line one like ``1/P``).
    n_freqs : int
        Frequencies ``ξ_k = k/P``, ``k = 1..n_freqs`` (the grid of the problem has spacing ``P/(2·n_freqs)``).
    null_space : {"auto", "constant", "affine"}
        Functions the norm does not see: constants always; affine functions too when ``γ²`` grows faster than
        ``1/ξ²`` at low frequency (the ``1/ξ⁴`` term of ReLU). ``"auto"`` decides from ``gamma2_fn``.

    Notes
    -----
    On the periodic domain the minimiser is ``h = Σ_i c_i K(x − x_i) + p(x)`` with
    ``K(r) = 2 Σ_k γ²(ξ_k) cos(2π ξ_k r)`` (the reproducing kernel of the norm) and ``p`` in the null space, the
    coefficients solving ``[[K, P], [Pᵀ, 0]] [c; d] = [y; 0]``. As ``P`` grows it tends to the whole-line solution
    (for ``γ² = A/ξ⁴ + B/ξ²`` that is :func:`fp_spline`; the tests check the agreement).
    """
    xn = np.asarray(to_numpy(x_nodes), dtype=np.float64).reshape(-1)
    yn = np.asarray(to_numpy(y_nodes), dtype=np.float64).reshape(-1)
    xe = np.asarray(to_numpy(x_eval), dtype=np.float64)
    if xn.size != yn.size or xn.size < 1:
        raise ValueError(f"x_nodes and y_nodes must have the same nonzero length, got {xn.size} and {yn.size}")
    if np.unique(xn).size != xn.size:
        raise ValueError("x_nodes must be distinct")
    if null_space not in NULL_SPACES:
        raise ValueError(f"null_space must be one of {', '.join(NULL_SPACES)}; got {null_space!r}")
    if int(n_freqs) != n_freqs or n_freqs < 16:
        raise ValueError(f"n_freqs must be an integer >= 16, got {n_freqs!r}")
    lo, hi = min(xn.min(), xe.min(initial=xn.min())), max(xn.max(), xe.max(initial=xn.max()))
    span = max(hi - lo, 1e-12)
    P = float(period) if period is not None else 100.0 * span
    if not P > span:
        raise ValueError(f"period must exceed the span of the points ({span:g}), got {P!r}")
    xi = np.arange(1, int(n_freqs) + 1) / P
    g = np.asarray(gamma2_fn(xi), dtype=np.float64)
    if g.shape != xi.shape or not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError("gamma2_fn must return finite values >= 0, one per frequency")
    if null_space == "auto":
        s = xi[:1] ** 2 * g[:1]
        s_low = (xi[0] / 100) ** 2 * float(np.asarray(gamma2_fn(np.array([xi[0] / 100])))[0])
        null_space = "affine" if s_low > 10 * s[0] else "constant"

    def kernel(u, v):  # K(u_i − v_j) = 2 Σ_k g_k (cos cos + sin sin), by blocks of u
        phase_v = 2 * np.pi * np.outer(v, xi)
        cv, sv = np.cos(phase_v) * g, np.sin(phase_v) * g
        out = np.empty((u.size, v.size))
        for s0 in range(0, u.size, chunk):
            phase_u = 2 * np.pi * np.outer(u[s0:s0 + chunk], xi)
            out[s0:s0 + chunk] = 2.0 * (np.cos(phase_u) @ cv.T + np.sin(phase_u) @ sv.T)
        return out

    c, d = _solve(kernel(xn, xn), xn, yn, null_space == "affine")
    ev = xe.reshape(-1)
    h = kernel(ev, xn) @ c + d[0] + (d[1] * ev if d.size > 1 else 0.0)
    return h.reshape(xe.shape)


def fp_spline(x_nodes, y_nodes, x_eval, *, A: float, B: float) -> np.ndarray:
    """Closed-form minimum-FP-norm interpolant on the whole line for ``γ(ξ)² = A/ξ⁴ + B/ξ²``.

    Notes
    -----
    ``h = Σ_i c_i φ(x − x_i) + p(x)`` with ``φ(r) = (4π⁴/3)·A|r|³ − 2π²·B|r|`` (the inverse Fourier transforms
    of ``1/ξ⁴`` and ``1/ξ²`` up to polynomials), ``p`` affine when ``A > 0`` (constant otherwise), and
    ``Σ c_i p(x_i) = 0`` for every ``p`` of that space. ``B = 0`` gives the natural cubic spline, ``A = 0`` the
    piecewise-linear interpolant (constant beyond the end nodes).
    """
    if A < 0 or B < 0 or A + B == 0:
        raise ValueError(f"A and B must be >= 0 and not both 0, got {A!r}, {B!r}")
    xn = np.asarray(to_numpy(x_nodes), dtype=np.float64).reshape(-1)
    yn = np.asarray(to_numpy(y_nodes), dtype=np.float64).reshape(-1)
    xe = np.asarray(to_numpy(x_eval), dtype=np.float64)
    if xn.size != yn.size or np.unique(xn).size != xn.size:
        raise ValueError("x_nodes must be distinct and as many as y_nodes")

    def phi(r):
        r = np.abs(r)
        return (4 * np.pi ** 4 / 3) * A * r ** 3 - 2 * np.pi ** 2 * B * r

    affine = A > 0
    c, d = _solve(phi(xn[:, None] - xn[None, :]), xn, yn, affine)
    ev = xe.reshape(-1)
    h = phi(ev[:, None] - xn[None, :]) @ c + d[0] + (d[1] * ev if affine else 0.0)
    return h.reshape(xe.shape)


def _solve(k: np.ndarray, xn: np.ndarray, yn: np.ndarray, affine: bool) -> tuple[np.ndarray, np.ndarray]:
    p = xn.size
    poly = np.stack([np.ones(p), xn], axis=1) if affine else np.ones((p, 1))
    q = poly.shape[1]
    if affine and p < 2:
        raise ValueError("an affine null space needs at least 2 nodes")
    sys_ = np.zeros((p + q, p + q))
    sys_[:p, :p] = k
    sys_[:p, p:] = poly
    sys_[p:, :p] = poly.T
    rhs = np.concatenate([yn, np.zeros(q)])
    sol = np.linalg.solve(sys_, rhs)
    return sol[:p], sol[p:]


def two_layer_kernel_limit(x1, x2=None, *, w_range: tuple[float, float], b_range: tuple[float, float],
                           a_range: tuple[float, float], n_panels: int = 64, n_nodes: int = 32) -> np.ndarray:
    """Infinite-width NTK per neuron, ``E[∇θ h_j(x)·∇θ h_j(x')]``, of the 1-D ReLU :func:`two_layer_net` with
    ``w, b, a`` uniform on their ranges (all three gradients, the ``w`` term included).

    Notes
    -----
    ``E[relu(wx+b) relu(wx'+b)] + E[a²]·(x x' + 1)·E[H(wx+b) H(wx'+b)]``: the expectation over ``b`` is exact
    (the product is a quadratic in ``b`` above ``max(b₀, −w·min(x, x'))``), the one over ``w`` composite
    Gauss–Legendre (``n_panels × n_nodes`` points). ``width ×`` this is the empirical NTK of a wide network, up to
    fluctuations of order ``1/√width`` (the tests check it); its kernel interpolant is the width → ∞ limit of the
    trained network in the kernel regime.
    """
    xa = np.asarray(to_numpy(x1), dtype=np.float64).reshape(-1)
    xb = xa if x2 is None else np.asarray(to_numpy(x2), dtype=np.float64).reshape(-1)
    (w0, w1), (b0, b1), (a0, a1) = w_range, b_range, a_range
    if not (w0 < w1 and b0 < b1 and a0 <= a1):
        raise ValueError(f"ranges must be (low, high) with low < high, got {w_range}, {b_range}, {a_range}")
    t, wt = np.polynomial.legendre.leggauss(int(n_nodes))
    edges = np.linspace(w0, w1, int(n_panels) + 1)
    half = np.diff(edges) / 2
    ws = (edges[:-1, None] + half[:, None] * (t[None, :] + 1)).reshape(-1)
    weights = (half[:, None] * wt[None, :]).reshape(-1) / (w1 - w0)
    ea2 = (a0 * a0 + a0 * a1 + a1 * a1) / 3.0
    lo_x = np.minimum(xa[:, None], xb[None, :])
    prod, summ = xa[:, None] * xb[None, :], xa[:, None] + xb[None, :]
    out = np.zeros((xa.size, xb.size))
    for w, q in zip(ws, weights):  # one w at a time: (n1, n2) temporaries only
        lo = np.clip(np.where(w >= 0, -w * lo_x, -w * np.maximum(xa[:, None], xb[None, :])), b0, b1)
        uv, upv = w * w * prod, w * summ

        def prim(b):
            return b ** 3 / 3 + upv * b ** 2 / 2 + uv * b

        out += q * ((prim(b1) - prim(lo)) + ea2 * (prod + 1.0) * (b1 - lo)) / (b1 - b0)
    return out
