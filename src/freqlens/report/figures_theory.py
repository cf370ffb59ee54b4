"""Figures of the theory beside measurement (matplotlib). Each function returns a ``matplotlib.figure.Figure``
built without pyplot (no global state): save it with ``fig.savefig(path)``.

>>> import numpy as np
>>> fig = convergence_steps_figure([1, 3, 5], {1: 100, 3: 900, 5: None}, {1: 120, 3: 800, 5: 4000})
>>> len(fig.axes)
1
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def delta_f_overlay_figure(freqs: Sequence[int], measured_steps, measured, predicted_steps, predicted, *,
                           threshold: float | None = None, title: str = "ΔF: measured (solid), NTK (dashed)"
                           ) -> Figure:
    """Measured and predicted ``ΔF(k, t)``: one colour per frequency, ``measured``/``predicted`` of shape
    ``(len(steps), len(freqs))``."""
    measured, predicted = np.asarray(measured), np.asarray(predicted)
    _check_cols("measured", measured, freqs)
    _check_cols("predicted", predicted, freqs)
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    for j, k in enumerate(freqs):
        line, = ax.plot(measured_steps, measured[:, j], lw=1.5, label=f"k={k}")
        ax.plot(predicted_steps, predicted[:, j], lw=1.5, ls="--", color=line.get_color())
    if threshold is not None:
        ax.axhline(threshold, color="0.4", lw=0.8, ls=":", label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("ΔF(k) = |ĥ_k − ŷ_k| / |ŷ_k|")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def convergence_steps_figure(freqs: Sequence[int], predicted: Mapping[int, int | None],
                             measured: Mapping[int, int | None], *, title: str = "convergence step per frequency",
                             labels: tuple[str, str] = ("predicted (NTK)", "measured")) -> Figure:
    """Predicted and measured convergence steps against frequency (log scale); ``None`` is drawn as 'never' at
    the top of the axes."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    vals = [v for d in (predicted, measured) for v in d.values() if v]
    top = max(vals) * 3 if vals else 10.0
    for d, label, marker in ((predicted, labels[0], "s"), (measured, labels[1], "o")):
        ks = [k for k in freqs if d.get(k) is not None]
        ax.plot(ks, [max(d[k], 1) for k in ks], marker=marker, lw=1.2, label=label)
        never = [k for k in freqs if d.get(k) is None]
        if never:
            ax.plot(never, [top] * len(never), marker=marker, ls="none", mfc="none", color=ax.lines[-1].get_color())
            for k in never:
                ax.annotate("never", (k, top), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("frequency k")
    ax.set_ylabel("convergence step")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def eigen_fourier_figure(eigenvalues, spectra, *, max_bin: int | None = None) -> Figure:
    """How close the NTK's eigenvectors are to pure tones: the energy of each leading eigenvector per DFT bin
    (``spectra`` from :func:`~freqlens.lab.theory.linearized.eigenvector_spectra`), and each eigenvalue against
    its dominant bin, coloured by purity (energy fraction in that bin)."""
    lam = np.asarray(eigenvalues, dtype=float)
    s = np.asarray(spectra, dtype=float)
    nv = s.shape[0]
    kmax = s.shape[1] - 1 if max_bin is None else min(max_bin, s.shape[1] - 1)
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    im = ax1.imshow(s[:, : kmax + 1].T, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                    extent=(0.5, nv + 0.5, -0.5, kmax + 0.5))
    fig.colorbar(im, ax=ax1, label="energy fraction")
    ax1.set_xlabel("eigenvector (by decreasing eigenvalue)")
    ax1.set_ylabel("DFT bin k")
    ax1.set_title("Fourier content of the NTK eigenvectors")
    dom, purity = s.argmax(axis=1), s.max(axis=1)
    sc = ax2.scatter(np.maximum(dom, 0.5), np.maximum(lam[:nv], 1e-300), c=purity, cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(sc, ax=ax2, label="purity")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("dominant bin k (0 drawn at 0.5)")
    ax2.set_ylabel("eigenvalue")
    ax2.set_title("eigenvalue against frequency")
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def lfp_times_figure(xi, predicted, measured=None, *, extra: Mapping[str, Sequence[float]] | None = None,
                     xlabel: str = "frequency ξ (cycles per unit)") -> Figure:
    """Predicted convergence time ``t(ξ) = ln(ΔF₀/ε)/(p·γ(ξ)²)`` against measured convergence steps, log-log;
    ``extra`` adds other predictions (e.g. the NTK on the training set). ``None``/``nan`` points are skipped."""
    fig = Figure(figsize=(6, 4.2))
    ax = fig.subplots()
    xi = np.asarray(xi, dtype=float)
    series = {"LFP prediction": predicted}
    if extra:
        series.update(extra)
    if measured is not None:
        series["measured"] = measured
    for name, vals in series.items():
        v = np.array([np.nan if u is None else u for u in vals], dtype=float)
        ok = np.isfinite(v) & (v > 0)
        ax.plot(xi[ok], v[ok], marker="o" if name == "measured" else "s", lw=1.2,
                ls="-" if name == "measured" else "--", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("convergence step")
    ax.set_title("linear F-Principle: predicted against measured")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def gamma2_figure(xi, curves: Mapping[str, Sequence[float]]) -> Figure:
    """``γ(ξ)²`` (or any kernel symbol) of several settings, log-log."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, g in curves.items():
        ax.plot(xi, g, lw=1.5, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("ξ (cycles per unit)")
    ax.set_ylabel("γ(ξ)²")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def interpolation_figure(result) -> Figure:
    """A :class:`~freqlens.lab.theory.interpolation.InterpolationResult`: the nodes, the trained network, the
    kernel limits, the minimum-FP-norm interpolant and the two splines, with ``(d_cubic, d_linear)`` in the
    legend."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    styles = {"trained": dict(lw=2.5, color="k"), "fp": dict(lw=1.5, ls="--", color="tab:red"),
              "ntk_limit": dict(lw=1, ls="-.", color="tab:purple"), "infinite": dict(lw=1.2, ls=":", color="tab:green"),
              "cubic": dict(lw=1, color="tab:blue", alpha=0.7), "linear": dict(lw=1, color="tab:orange", alpha=0.7)}
    names = {"trained": "trained network", "fp": "min FP-norm (LFP)", "ntk_limit": "NTK limit (this width)",
             "infinite": "kernel limit (infinite width)", "cubic": "natural cubic spline", "linear": "linear spline"}
    for key in ("cubic", "linear", "ntk_limit", "infinite", "fp", "trained"):
        if key in result.curves:
            dc, dl = result.likeness[key]
            ax.plot(result.x_eval, result.curves[key], label=f"{names[key]} ({dc:.2f}, {dl:.2f})", **styles[key])
    ax.plot(result.x_eval, result.h_ini, lw=0.8, color="0.6", label="h_ini")
    ax.plot(result.x_nodes, result.y_nodes, "o", color="k", ms=7, zorder=5)
    ax.set_xlabel("x")
    ax.set_ylabel("h(x)")
    ax.set_title(f"three-point interpolation, {result.regime} regime (d_cubic, d_linear)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def width_convergence_figure(widths, errors: Mapping[str, Sequence[float]]) -> Figure:
    """Relative distance of the empirical NTK to the infinite-width one against width, with a ``1/√width``
    guide."""
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    w = np.asarray(widths, dtype=float)
    for name, e in errors.items():
        ax.plot(w, e, marker="o", label=name)
    first = np.asarray(next(iter(errors.values())), dtype=float)[0] if errors else 1.0
    ax.plot(w, first * np.sqrt(w[0] / w), color="0.5", ls=":", label="∝ 1/√width")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width")
    ax.set_ylabel("‖Θ_emp − Θ_∞‖ / ‖Θ_∞‖")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _check_cols(name: str, arr: np.ndarray, freqs) -> None:
    if arr.ndim != 2 or arr.shape[1] != len(freqs):
        raise ValueError(f"{name} must have shape (steps, {len(freqs)}), got {arr.shape}")
