"""Figures of a CNN's first-layer kernels over training (arrays in, matplotlib ``Figure`` out).

Every function takes plain arrays — those :meth:`KernelMonitor.state_dict
<freqlens.lab.monitors.kernels.KernelMonitor.state_dict>` stores — and returns a figure made with matplotlib's
object API (no pyplot state; works headless); ``path=`` also saves it (PNG/SVG/PDF by extension).

Colours: one-channel kernels and patches are drawn with a diverging map (red positive, blue negative, white 0),
each tile scaled by its own largest absolute value, so that the *shape* shows (the band shares and the cosine
similarity ignore scale too). Three-channel tiles are drawn as RGB ``0.5 + 0.5 · w / max|w|`` (grey = 0).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_band_energy", "plot_kernel_responses", "plot_kernels", "plot_top_patches"]

_DB_FLOOR = -40.0


def _save(fig: Figure, path: str | Path | None) -> None:
    if path is None:
        return
    from freqlens.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")


def _as_kernels(kernels: Any, name: str) -> np.ndarray:
    k = np.asarray(kernels, dtype=np.float64)
    if k.ndim == 3:
        k = k[:, None]
    if k.ndim != 4 or k.shape[0] == 0:
        raise ValueError(f"{name} must be (kernels, channels, height, width); got shape {np.shape(kernels)}")
    return k


def _tile(w: np.ndarray) -> np.ndarray:
    """One kernel or patch ``(C, h, w)`` as an image: RGB in [0, 1] for three channels, else values in [-1, 1]
    (the channel mean when there are neither one nor three channels)."""
    if w.shape[0] == 3:
        lim = float(np.max(np.abs(w))) or 1.0
        return np.clip(0.5 + 0.5 * np.moveaxis(w, 0, -1) / lim, 0.0, 1.0)
    img = w[0] if w.shape[0] == 1 else w.mean(axis=0)
    return img / (float(np.max(np.abs(img))) or 1.0)


def _mosaic(tiles: list[np.ndarray], cols: int, gap: int = 1) -> np.ndarray:
    """Tiles (all the same shape) on a grid, separated by ``gap`` pixels of NaN (drawn as the background)."""
    h, w = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / cols)
    shape = (rows * (h + gap) - gap, cols * (w + gap) - gap) + tiles[0].shape[2:]
    out = np.full(shape, np.nan if tiles[0].ndim == 2 else 1.0)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = t
    return out


def _draw_tiles(ax: Any, tiles: list[np.ndarray], cols: int, *, cmap: str = "RdBu_r", vmin: float = -1.0,
                vmax: float = 1.0) -> Any:
    import matplotlib

    img = _mosaic(tiles, cols)
    ax.set_xticks([])
    ax.set_yticks([])
    if img.ndim == 3:
        return ax.imshow(img, interpolation="nearest")
    cm = matplotlib.colormaps[cmap].with_extremes(bad="white")
    return ax.imshow(np.ma.masked_invalid(img), cmap=cm, vmin=vmin, vmax=vmax, interpolation="nearest")


def _step_label(steps: Sequence[Any] | None, i: int, default: str) -> str:
    return f"step {steps[i]}" if steps is not None else default


def plot_kernels(kernels_start: Any, kernels_end: Any, *, steps: Sequence[Any] | None = None, cols: int | None = None,
                 show_update: bool = True, title: str | None = None, path: str | Path | None = None) -> Figure:
    """The kernels as images at the start and at the end of training, side by side, in the same order, and
    what training added (end − start).

    Parameters
    ----------
    kernels_start, kernels_end : array_like, shape (n, C, kh, kw)
        E.g. ``state["kernels"][0]`` and ``state["kernels"][-1]``.
    steps : (start, end), optional
        Steps for the panel titles.
    cols : int, optional
        Kernels per row (default ``ceil(sqrt(n))``).
    show_update : bool
        Add a third panel with the update ``end − start`` of each kernel (each tile scaled on its own): the
        kernels themselves often change little to the eye while their updates are smooth.
    """
    from matplotlib.figure import Figure

    a, b = _as_kernels(kernels_start, "kernels_start"), _as_kernels(kernels_end, "kernels_end")
    if a.shape != b.shape:
        raise ValueError(f"kernels_start and kernels_end must have the same shape; got {a.shape} and {b.shape}")
    cols = cols or math.ceil(math.sqrt(a.shape[0]))
    rows = math.ceil(a.shape[0] / cols)
    panels = [a, b] + ([b - a] if show_update else [])
    fig = Figure(figsize=(len(panels) * (1.2 + 0.42 * cols), 0.8 + 0.42 * rows + 0.3), layout="constrained")
    axes = fig.subplots(1, len(panels))
    for i, (ax, k) in enumerate(zip(axes, panels)):
        im = _draw_tiles(ax, [_tile(w) for w in k], cols)
        ax.set_title(_step_label(steps, i, ("start", "end")[i]) if i < 2 else "update: end − start", fontsize=10)
    if a.shape[1] != 3:
        fig.colorbar(im, ax=axes, shrink=0.7, label="weight / max |weight| of the kernel")
    fig.suptitle(title or f"First-layer kernels ({a.shape[0]} x {a.shape[1]} x {a.shape[2]} x {a.shape[3]}), "
                          "each scaled to its largest weight", fontsize=10)
    _save(fig, path)
    return fig


def _db(power: np.ndarray) -> np.ndarray:
    """Power of each kernel in dB below its own peak, floored at -40 dB."""
    peak = power.reshape(power.shape[0], -1).max(axis=1)[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(power / np.where(peak > 0, peak, 1.0))
    return np.clip(np.nan_to_num(db, nan=_DB_FLOOR, neginf=_DB_FLOOR), _DB_FLOOR, 0.0)


def _radial_profile(power: np.ndarray, nbins: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean over kernels of each kernel's power (normalised to unit total), averaged over rings of width 1/grid."""
    from freqlens.spectrum import radial_frequency

    g = power.shape[-1]
    rho = radial_frequency((g, g), centred=True)
    ring = np.round(rho * g).astype(int)
    total = power.reshape(power.shape[0], -1).sum(axis=1)[:, None, None]
    norm = (power / np.where(total > 0, total, 1.0)).mean(axis=0)
    counts = np.bincount(ring.ravel(), minlength=nbins)
    sums = np.bincount(ring.ravel(), weights=norm.ravel(), minlength=nbins)
    keep = counts > 0
    return np.arange(len(counts))[keep] / g, sums[keep] / counts[keep]


def plot_kernel_responses(power_start: Any, power_end: Any, *, steps: Sequence[Any] | None = None,
                          band_edges: Sequence[float] | None = None, cols: int | None = None,
                          title: str | None = None, path: str | Path | None = None) -> Figure:
    """Each kernel's frequency response (log magnitude) at the start and the end, and their mean radial profile.

    Parameters
    ----------
    power_start, power_end : array_like, shape (n, grid, grid)
        ``sum_c |K̂_c|²`` on the centred grid (``state["power_first"]``, ``state["power_last"]``, or
        :func:`~freqlens.lab.monitors.kernel_spectra.kernel_power`). Each tile spans ``[-0.5, 0.5)`` cycles per
        pixel in ``fx`` (right) and ``fy`` (down, like the kernel's rows), DC in the middle.
    band_edges : sequence of float, optional
        Radii drawn as circles on the radial profile (and marked on its axis).

    Notes
    -----
    Tiles show ``10 log10(P / max P)`` per kernel (0 dB at the kernel's peak, floored at -40 dB): the log magnitude
    ``20 log10 |K̂|`` up to the kernel's own scale. The third panel is the mean over kernels of ``P / sum P``
    averaged over rings ``round(grid · |f|)``, at start and end (log scale): where the energy sits on average.
    """
    from matplotlib.figure import Figure

    a, b = np.asarray(power_start, dtype=np.float64), np.asarray(power_end, dtype=np.float64)
    if a.ndim != 3 or a.shape != b.shape or a.shape[1] != a.shape[2] or a.shape[0] == 0:
        raise ValueError(f"power_start and power_end must be two (n, grid, grid) arrays of the same shape; got "
                         f"{a.shape} and {b.shape}")
    n, g = a.shape[0], a.shape[1]
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3 * (0.9 + 0.5 * cols), 1.0 + 0.5 * rows + 0.4), layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=[1, 1, 1.1])
    for i, (ax, p) in enumerate(zip(axes[:2], (a, b))):
        im = _draw_tiles(ax, list(_db(p)), cols, cmap="magma", vmin=_DB_FLOOR, vmax=0.0)
        ax.set_title(_step_label(steps, i, ("start", "end")[i]) + "  (DC at each tile's centre)", fontsize=9)
    fig.colorbar(im, ax=axes[:2], shrink=0.7, label="10 log10(P / max P)  (dB)")
    ax = axes[2]
    for i, (p, style) in enumerate(((a, "--"), (b, "-"))):
        f, prof = _radial_profile(p, g)
        ax.semilogy(f, prof, style, marker=".", ms=3, label=_step_label(steps, i, ("start", "end")[i]))
    for e in band_edges if band_edges is not None else ():
        ax.axvline(float(e), color="0.7", lw=0.8, ls=":")
    ax.axvline(0.5, color="0.4", lw=0.8)
    ax.text(0.505, 0.98, "Nyquist", transform=ax.get_xaxis_transform(), fontsize=7, va="top", color="0.4")
    ax.set_xlabel("radial frequency |f| (cycles / pixel)")
    ax.set_ylabel("mean share of energy per bin")
    ax.set_title("mean radial profile over kernels", fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(title or f"Frequency responses of the kernels (zero-padded to {g} x {g})", fontsize=10)
    _save(fig, path)
    return fig


def _band_labels(edges: np.ndarray) -> list[str]:
    labels = [f"{lo:.3g}–{hi:.3g}" for lo, hi in zip(edges[:-1], edges[1:])]
    return labels + ["corners (> 0.5)"]


def plot_band_energy(steps: Any, shares: Any, band_edges: Any, *, centroid: Any = None,
                     update_centroid: Any = None, kind: str = "area", title: str | None = None,
                     path: str | Path | None = None, xlabel: str = "step") -> Figure:
    """The share of the kernels' energy in each radial band over training (and the centroid, if given);
    ``xlabel`` names the unit of ``steps``.

    Parameters
    ----------
    steps : array_like, shape (R,)
    shares : array_like, shape (R, n_bands + 1) or (R, n_kernels, n_bands + 1)
        Band shares (the last column the corners); per kernel, they are averaged over the kernels.
    band_edges : array_like, shape (n_bands + 1,)
        From 0 to 0.5 cycles per pixel.
    centroid : array_like, shape (R,) or (R, n_kernels), optional
        Radial centroid; per kernel, drawn as mean ± std over the kernels in a second panel.
    update_centroid : array_like, shape (R,), optional
        Centroid of the update ``W_t − W_0`` (``state["update_centroid"]``), dashed in the second panel.
    kind : {"area", "lines"}
        Stacked areas (shares add up to 1) or one line per band.
    """
    from matplotlib.figure import Figure

    if kind not in ("area", "lines"):
        raise ValueError(f"kind must be 'area' or 'lines'; got {kind!r}")
    x = np.asarray(steps, dtype=np.float64)
    s = np.asarray(shares, dtype=np.float64)
    edges = np.asarray(band_edges, dtype=np.float64)
    if s.ndim == 3:
        s = np.nanmean(s, axis=1)
    if s.ndim != 2 or s.shape[0] != x.size or s.shape[1] != edges.size:
        raise ValueError(f"shares must be (steps, n_bands + 1) with {x.size} steps and {edges.size} columns "
                         f"(band_edges has {edges.size} values); got {np.shape(shares)}")
    panels = 1 if centroid is None else 2
    fig = Figure(figsize=(6.4, 3.4 * panels), layout="constrained")
    axes = np.atleast_1d(fig.subplots(panels, 1, sharex=True))
    ax = axes[0]
    labels = _band_labels(edges)
    colors = [f"C{i}" for i in range(s.shape[1] - 1)] + ["0.6"]
    if kind == "area":
        ax.stackplot(x, s.T, labels=labels, colors=colors, alpha=0.85)
        ax.set_ylim(0, 1)
    else:
        for j in range(s.shape[1]):
            ax.plot(x, s[:, j], color=colors[j], label=labels[j], marker=".", ms=3)
    ax.set_ylabel("share of kernel energy")
    ax.set_title("energy by radial band (cycles / pixel), mean over kernels", fontsize=9)
    handles, labs = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labs[::-1], fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(True, alpha=0.25)
    if centroid is not None:
        c = np.asarray(centroid, dtype=np.float64)
        c = c[:, None] if c.ndim == 1 else c
        if c.shape[0] != x.size:
            raise ValueError(f"centroid must have one row per step ({x.size}); got {np.shape(centroid)}")
        mean, std = np.nanmean(c, axis=1), np.nanstd(c, axis=1)
        ax2 = axes[1]
        ax2.plot(x, mean, color="k", label="mean over kernels")
        if c.shape[1] > 1:
            ax2.fill_between(x, mean - std, mean + std, color="0.8", label="± std")
        if update_centroid is not None:
            u = np.asarray(update_centroid, dtype=np.float64)
            if u.shape != x.shape:
                raise ValueError(f"update_centroid must have one value per step ({x.size}); got {u.shape}")
            ax2.plot(x, u, color="C3", ls="--", label="update $W_t - W_0$ (pooled)")
        ax2.set_ylabel("radial centroid (cycles / pixel)")
        ax2.set_title("energy-weighted mean radial frequency", fontsize=9)
        ax2.grid(True, alpha=0.25)
        ax2.legend(fontsize=7)
    axes[-1].set_xlabel(xlabel)
    fig.suptitle(title or "First-layer kernels: where their energy sits", fontsize=10)
    _save(fig, path)
    return fig


def plot_top_patches(kernels: Any, patches: Any, scores: Any, *, kernel_ids: Sequence[int] | None = None,
                     image_ids: Any = None, centroids: Any = None, title: str | None = None,
                     path: str | Path | None = None) -> Figure:
    """For a few kernels, the kernel beside the training patches that match it best (cosine similarity).

    Parameters
    ----------
    kernels : array_like, shape (O, C, kh, kw)
        The kernels searched for (those of the search's step).
    patches : array_like, shape (O, k, C, kh, kw)
        Best patches per kernel, best first (``state["patches"][i]``).
    scores : array_like, shape (O, k)
        Their cosine similarities.
    kernel_ids : sequence of int, optional
        Which kernels to draw (rows), e.g. ``state["shown"]``; default all.
    image_ids : array_like, shape (O, k), optional
        Source image of each patch, written under it.
    centroids : array_like, shape (O,), optional
        Each kernel's radial centroid (cycles per pixel), written beside it.

    Notes
    -----
    Kernel and patches share the colour scale rule (each tile scaled by its largest absolute value, red
    positive, blue negative), so a patch with cosine 1 looks exactly like the kernel.
    """
    from matplotlib.figure import Figure

    w = _as_kernels(kernels, "kernels")
    p = np.asarray(patches, dtype=np.float64)
    sc = np.asarray(scores, dtype=np.float64)
    if p.ndim != 5 or p.shape[0] != w.shape[0] or p.shape[2:] != w.shape[1:] or sc.shape != p.shape[:2]:
        raise ValueError(f"patches must be (O, k, C, kh, kw) and scores (O, k) for kernels {w.shape}; got "
                         f"{p.shape} and {sc.shape}")
    ids = list(range(w.shape[0])) if kernel_ids is None else [int(i) for i in kernel_ids]
    if not ids or any(not 0 <= i < w.shape[0] for i in ids):
        raise ValueError(f"kernel_ids must be indices in [0, {w.shape[0]}); got {kernel_ids!r}")
    k = p.shape[1]
    fig = Figure(figsize=(1.0 + 0.85 * (k + 1), 0.6 + 0.95 * len(ids)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(ids), k + 1))
    rgb = w.shape[1] == 3
    for r, o in enumerate(ids):
        for j in range(k + 1):
            ax = axes[r, j]
            tile = _tile(w[o] if j == 0 else p[o, j - 1])
            ax.imshow(tile, interpolation="nearest", **({} if rgb else dict(cmap="RdBu_r", vmin=-1, vmax=1)))
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                label = f"kernel {o}"
                if centroids is not None:
                    label += f"\n$\\bar\\rho$ = {float(np.asarray(centroids)[o]):.3f}"
                ax.set_ylabel(label, fontsize=8)
                for side in ax.spines.values():
                    side.set_linewidth(2)
            else:
                text = f"{sc[o, j - 1]:.3f}"
                if image_ids is not None:
                    text += f"\nimg {int(np.asarray(image_ids)[o, j - 1])}"
                ax.set_xlabel(text, fontsize=7)
    axes[0, 0].set_title("kernel", fontsize=8)
    for j in range(1, k + 1):
        axes[0, j].set_title(f"#{j}", fontsize=8)
    fig.suptitle(title or "Training patches that match each kernel best (cosine similarity, patch vs kernel)",
                 fontsize=10)
    _save(fig, path)
    return fig
