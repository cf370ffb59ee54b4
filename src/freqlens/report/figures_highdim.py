"""Figures of the high-dimensional Frequency Principle monitors (projection and filtering): arrays in, Figure out.

Every function takes plain arrays (what the monitors' ``state_dict`` and ``summaries`` hold, or what the run store
returns), draws with matplotlib's object API (no pyplot state) and returns the :class:`~matplotlib.figure.Figure`.

- :func:`plot_projection_heatmap` -- ΔF at the tracked frequencies over training (frequency x step), convergence
  marks;
- :func:`plot_projection_spectrum` -- ``|y_hat(k)|`` against ``|h_hat(k)|`` along the projection direction;
- :func:`plot_filtering` -- ``e_low`` and ``e_high`` against step, **one panel per delta** (the authors' TF2 script
  drew the last delta in every panel), ill-conditioned ``e_high`` greyed and labelled rather than drawn as truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import MaxNLocator
from matplotlib.figure import Figure

__all__ = ["plot_filtering", "plot_projection_heatmap", "plot_projection_spectrum"]


def plot_projection_heatmap(steps: Sequence[int], freqs: Sequence[float], delta_f: Any, *,
                            convergence: Mapping[float, int | None] | Sequence[int | None] | None = None,
                            threshold: float | None = None, vmin: float = 0.01, vmax: float = 1.0,
                            title: str | None = None) -> Figure:
    """Heat map of ΔF (rows: tracked frequencies, low at the bottom; columns: recorded steps), log colour scale
    clipped to ``[vmin, vmax]``, with a white marker at each frequency's convergence step.

    Parameters
    ----------
    steps : sequence of int
        Recorded steps (the columns).
    freqs : sequence of float
        Tracked frequencies (the rows).
    delta_f : array_like, shape (len(steps), len(freqs))
        ΔF per record and frequency.
    convergence : mapping or sequence, optional
        Convergence step per frequency (``None`` = not converged: marked at the right edge with an open marker).
    threshold : float, optional
        Written in the colour bar label.
    """
    arr = np.asarray(delta_f, dtype=np.float64).reshape(len(steps), len(freqs))
    fig = Figure(figsize=(7.5, 0.45 * len(freqs) + 2.2), layout="constrained")
    ax = fig.add_subplot()
    st = np.asarray(steps, dtype=np.float64)
    edges_x = _edges(st)
    edges_y = np.arange(len(freqs) + 1) - 0.5
    clipped = np.clip(arr.T, vmin, vmax)
    mesh = ax.pcolormesh(edges_x, edges_y, clipped, norm=LogNorm(vmin=vmin, vmax=vmax), cmap="viridis",
                         shading="flat")
    label = "ΔF = |ĥ_k − ŷ_k| / |ŷ_k|" + (f"  (threshold {threshold:g})" if threshold is not None else "")
    fig.colorbar(mesh, ax=ax, label=label)
    ax.set_yticks(np.arange(len(freqs)), [f"{k:.3g}" for k in freqs])
    ax.set_ylabel("frequency k along the direction")
    ax.set_xlabel("step")
    if convergence is not None:
        conv = [convergence.get(k) for k in freqs] if isinstance(convergence, Mapping) else list(convergence)
        for j, s in enumerate(conv):
            if s is None:
                ax.plot(edges_x[-1], j, marker="o", mfc="none", mec="w", ms=7, clip_on=False)
            else:
                ax.plot(s, j, marker="v", color="w", mec="k", ms=8)
        ax.plot([], [], "v", color="w", mec="k", label="converged")
        ax.plot([], [], "o", mfc="none", mec="k", label="not converged")
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    ax.set_title(title or "Projection method: ΔF at the tracked frequencies")
    return fig


def plot_projection_spectrum(freqs: Sequence[float], target: Any, outputs: Any = None, *,
                             labels: Sequence[str] | None = None, tracked: Sequence[float] | None = None,
                             noise_floor: float | None = None, title: str | None = None) -> Figure:
    """``|y_hat(k)|`` of the labels and ``|h_hat(k)|`` of one or several recorded outputs along the direction.

    Parameters
    ----------
    freqs : sequence of float
        The frequency grid.
    target : array_like, shape (K,)
        ``|y_hat(k)|``.
    outputs : array_like, shape (K,) or (R, K), optional
        ``|h_hat(k)|`` of ``R`` records (e.g. early, middle, last).
    labels : sequence of str, optional
        Legend entries of the records (e.g. ``"step 100"``).
    tracked : sequence of float, optional
        Tracked frequencies, marked on the target curve.
    noise_floor : float, optional
        The sampling-noise level, drawn as a dotted line.
    """
    k = np.asarray(freqs, dtype=np.float64)
    tg = np.asarray(target, dtype=np.float64)
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.semilogy(k, tg, color="k", lw=2, label="labels |ŷ_k|")
    if outputs is not None:
        out = np.atleast_2d(np.asarray(outputs, dtype=np.float64))
        names = list(labels) if labels is not None else [f"record {i}" for i in range(out.shape[0])]
        colors = [_cmap_color(i, out.shape[0]) for i in range(out.shape[0])]
        for row, name, col in zip(out, names, colors):
            ax.semilogy(k, row, color=col, lw=1.2, label=f"outputs |ĥ_k|, {name}")
    if tracked is not None:
        tk = np.asarray(tracked, dtype=np.float64)
        ax.semilogy(tk, np.interp(tk, k, tg), "o", color="tab:red", ms=6, label="tracked k")
    if noise_floor is not None:
        ax.axhline(noise_floor, color="grey", ls=":", lw=1, label="sampling-noise floor")
    ax.set_xlabel("frequency k (cycles per unit of p·x)")
    ax.set_ylabel("norm over classes")
    ax.set_title(title or "Along the first principal component: labels and outputs")
    ax.legend(fontsize=8)
    return fig


def plot_filtering(steps: Sequence[int], deltas: Sequence[float], e_low: Any, e_high: Any, *,
                   ill_conditioned: Sequence[bool] | None = None, high_fraction: Sequence[float] | None = None,
                   threshold: float | None = None, ncols: int = 4, logy: bool = True,
                   title: str | None = None, xlabel: str = "step") -> Figure:
    """``e_low`` and ``e_high`` against step, one panel per delta (panel ``j`` draws column ``j``).

    Parameters
    ----------
    steps : sequence of int
    deltas : sequence of float
    e_low, e_high : array_like, shape (len(steps), len(deltas))
        NaN entries (pending records) are skipped.
    ill_conditioned : sequence of bool, optional
        Per delta. A flagged panel draws ``e_high`` in grey, dashed, labelled "ill-conditioned, not a
        measurement", with the panel's background hatched: it is shown, not offered as truth.
    high_fraction : sequence of float, optional
        ``||y_high|| / ||y||`` per delta, written in each panel's title.
    threshold : float, optional
        Drawn as a dotted line (the summary's convergence level).
    xlabel : str
        The unit of ``steps`` ("step", "epoch").
    """
    lo = np.asarray(e_low, dtype=np.float64).reshape(len(steps), len(deltas))
    hi = np.asarray(e_high, dtype=np.float64).reshape(len(steps), len(deltas))
    flags = np.zeros(len(deltas), bool) if ill_conditioned is None else np.asarray(ill_conditioned, bool)
    m = len(deltas)
    ncols = max(1, min(int(ncols), m))
    nrows = int(np.ceil(m / ncols))
    fig = Figure(figsize=(3.4 * ncols, 2.7 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    st = np.asarray(steps, dtype=np.float64)
    for j in range(nrows * ncols):
        ax = axes[j // ncols][j % ncols]
        if j >= m:
            ax.set_visible(False)
            continue
        plot = ax.semilogy if logy else ax.plot
        ok_lo, ok_hi = np.isfinite(lo[:, j]), np.isfinite(hi[:, j])
        plot(st[ok_lo], lo[ok_lo, j], color="tab:blue", lw=1.6, label="e_low")
        if flags[j]:
            plot(st[ok_hi], hi[ok_hi, j], color="0.6", lw=1.2, ls="--",
                 label="e_high: ill-conditioned,\nnot a measurement")
            ax.set_facecolor("0.95")
            ax.patch.set_hatch("//")
            ax.patch.set_edgecolor("0.85")
        else:
            plot(st[ok_hi], hi[ok_hi, j], color="tab:red", lw=1.6, label="e_high")
        if threshold is not None:
            ax.axhline(threshold, color="k", ls=":", lw=0.8)
        name = f"δ = {deltas[j]:.3g}"
        if high_fraction is not None and np.isfinite(high_fraction[j]):
            name += f"   ‖y_high‖/‖y‖ = {high_fraction[j]:.2g}"
        ax.set_title(name, fontsize=9, color="0.4" if flags[j] else "k")
        if j % ncols == 0:
            ax.set_ylabel("relative error")
        if j // ncols == nrows - 1 or j + ncols >= m:  # the lowest panel of its column: label and tick numbers
            ax.set_xlabel(xlabel)
            ax.tick_params(labelbottom=True)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title or "Filtering method: low- and high-frequency errors, one panel per δ")
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around increasing centres (for pcolormesh)."""
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[centres[0] - (mid[0] - centres[0])], mid, [centres[-1] + (centres[-1] - mid[-1])]])


def _cmap_color(i: int, count: int):
    from matplotlib import colormaps

    return colormaps["plasma"](0.1 + 0.75 * i / max(count - 1, 1))
