"""Figures of a 2-D fit, drawn from the arrays an :class:`~.image_bands.ImageBandMonitor` keeps.

Every function takes the monitor itself or its ``state_dict()`` (as loaded back from the run's ``.npz``) and
returns a matplotlib Figure, except :func:`write_training_gif`, which writes an animated GIF
(``matplotlib.animation.PillowWriter``) and returns its path:

- :func:`plot_reconstructions` — the reconstruction at a few steps beside the target (the outline first, the
  detail later);
- :func:`plot_band_heatmap` — ΔF per radial band × step, with each band's convergence step marked;
- :func:`plot_psnr` — PSNR per split over training;
- :func:`write_training_gif` — the reconstruction beside the log-magnitude spectrum of its error, frame by frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.fft

from freqlens._arrays import convergence_step

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["error_spectrum_db", "plot_band_heatmap", "plot_psnr", "plot_reconstructions", "write_training_gif"]


def _state(source: Any) -> dict[str, np.ndarray]:
    state = source.state_dict() if hasattr(source, "state_dict") else source
    if not isinstance(state, Mapping) or "delta_f_band" not in state:
        raise ValueError("expected an ImageBandMonitor or its state_dict()")
    return {k: np.asarray(v) for k, v in state.items()}


def _frames(state: dict[str, np.ndarray]) -> tuple[list[int], list[np.ndarray]]:
    """The snapshots in step order, with the last record appended when the snapshots do not hold it."""
    steps = [int(s) for s in state["snapshot_steps"]]
    imgs = list(state["snapshots"])
    last = int(state["last_step"])
    if last >= 0 and last not in steps:
        steps.append(last)
        imgs.append(state["last_output"])
    return steps, imgs


def _show(ax, img: np.ndarray) -> None:
    img = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _psnr_at(state: dict[str, np.ndarray], step: int) -> tuple[str, float] | None:
    steps = state["steps"]
    hit = np.flatnonzero(steps == step)
    if not hit.size:
        return None
    splits = [str(s) for s in state["splits"]]
    j = splits.index("test") if "test" in splits else 0
    return splits[j], float(state["psnr"][hit[-1], j])


def plot_reconstructions(source: Any, *, max_panels: int = 8) -> "Figure":
    """A strip of reconstructions at up to ``max_panels`` recorded steps (first and last included), then the target.

    Each panel is titled with its step and PSNR (on the ``"test"`` split when there is one).
    """
    import matplotlib.pyplot as plt

    state = _state(source)
    steps, imgs = _frames(state)
    if not steps:
        raise ValueError("the monitor holds no snapshot yet")
    if len(steps) > max_panels:
        pick = np.unique(np.round(np.linspace(0, len(steps) - 1, max(2, max_panels))).astype(int))
        steps, imgs = [steps[i] for i in pick], [imgs[i] for i in pick]
    n = len(steps) + 1
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n, 2.3), squeeze=False)
    for ax, s, img in zip(axes[0], steps, imgs):
        _show(ax, img)
        p = _psnr_at(state, s)
        ax.set_title(f"step {s}" + (f"\n{p[0]} {p[1]:.1f} dB" if p else ""), fontsize=8)
    _show(axes[0, -1], state["target"])
    axes[0, -1].set_title("target", fontsize=8)
    fig.suptitle("reconstruction over training", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_band_heatmap(source: Any, *, vmin: float = 0.01, vmax: float = 1.0) -> "Figure":
    """ΔF per radial band (rows, cycles/pixel) × recorded step (columns), log colour scale clipped to [vmin, vmax].

    White dots mark the step at which each band converges (ΔF below the monitor's threshold for ``hold``
    records); bands that never converge are labelled "never" at the right edge.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    state = _state(source)
    steps = state["steps"].astype(float)
    df = state["delta_f_band"]
    if not steps.size:
        raise ValueError("the monitor holds no record yet")
    edges = state["band_edges"].astype(float)
    thr, hold = float(state["threshold"]), int(state["hold"])
    # column edges halfway between records (steps need not be evenly spaced)
    if steps.size > 1:
        mid = (steps[:-1] + steps[1:]) / 2
        x_edges = np.concatenate([[steps[0] - (mid[0] - steps[0])], mid, [steps[-1] + (steps[-1] - mid[-1])]])
    else:
        x_edges = np.array([steps[0] - 0.5, steps[0] + 0.5])
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    values = np.clip(np.nan_to_num(df.T, nan=vmax), vmin, vmax)
    mesh = ax.pcolormesh(x_edges, edges, values, norm=LogNorm(vmin=vmin, vmax=vmax), cmap="viridis",
                         shading="flat")
    fig.colorbar(mesh, ax=ax, label="ΔF (relative error of the band)")
    centres = (edges[:-1] + edges[1:]) / 2
    for j, c in enumerate(centres):
        s = convergence_step(state["steps"], df[:, j], thr, hold)
        if s is None:
            ax.text(x_edges[-1], c, "never ", va="center", ha="right", fontsize=7, color="black",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0})
        else:
            ax.plot([s], [c], "o", color="white", markersize=4, markeredgecolor="black")
    ax.set_xlabel("step")
    ax.set_ylabel("radial frequency (cycles/pixel)")
    ax.set_title(f"ΔF per band; dots: converged (ΔF < {thr:g} for {hold} records)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_psnr(source: Any) -> "Figure":
    """PSNR (dB) of every split over training."""
    import matplotlib.pyplot as plt

    state = _state(source)
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    for j, name in enumerate(str(s) for s in state["splits"]):
        ax.plot(state["steps"], state["psnr"][:, j], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def error_spectrum_db(reconstruction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Centred log-magnitude spectrum of the error, ``10 log10(Σ_c |DFT2(h_c − y_c)|² + 1e-20)`` (ortho norm).

    >>> error_spectrum_db(np.ones((4, 4)), np.zeros((4, 4)))[2, 2]        # DC of a constant error 1: |4|² → 12 dB
    np.float64(12.041199826559248)
    """
    err = np.asarray(reconstruction, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    if err.ndim == 2:
        err = err[:, :, None]
    spec = scipy.fft.fftshift(scipy.fft.fft2(err, axes=(0, 1), norm="ortho"), axes=(0, 1))
    return 10.0 * np.log10((np.abs(spec) ** 2).sum(axis=2) + 1e-20)


def write_training_gif(source: Any, path: str | Path, *, fps: int = 4, dynamic_range_db: float = 60.0,
                       dpi: int = 80) -> Path:
    """Write an animated GIF: each frame the reconstruction (left) beside its error spectrum (right).

    Frames are the monitor's snapshots in step order (and the last record). The error spectrum is
    :func:`error_spectrum_db` of the snapshot against the target, centred (DC in the middle, frequencies in
    cycles/pixel), on one colour scale for every frame: from the largest value over all frames down
    ``dynamic_range_db``. The file is written atomically.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    from freqlens.io import atomic_path

    state = _state(source)
    steps, imgs = _frames(state)
    if not steps:
        raise ValueError("the monitor holds no snapshot yet")
    target = state["target"].astype(np.float64)
    specs = [error_spectrum_db(np.asarray(im, dtype=np.float64), target) for im in imgs]
    top = max(float(s.max()) for s in specs)
    H, W = target.shape[:2]
    fy, fx = scipy.fft.fftshift(scipy.fft.fftfreq(H)), scipy.fft.fftshift(scipy.fft.fftfreq(W))
    extent = (fx[0] - 0.5 / W, fx[-1] + 0.5 / W, fy[-1] + 0.5 / H, fy[0] - 0.5 / H)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.6))
    _show(a1, imgs[0])
    rec = a1.images[0]
    spec = a2.imshow(specs[0], cmap="magma", vmin=top - dynamic_range_db, vmax=top, extent=extent,
                     interpolation="nearest")
    a2.set_xlabel("f_x (cycles/pixel)")
    a2.set_ylabel("f_y (cycles/pixel)")
    a2.set_title("|DFT of the error| (dB)", fontsize=9)
    fig.colorbar(spec, ax=a2, fraction=0.046)
    title = fig.suptitle("", fontsize=10)

    def draw(i: int):
        img = np.clip(np.asarray(imgs[i], dtype=np.float32), 0.0, 1.0)
        rec.set_data(img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img)
        spec.set_data(specs[i])
        p = _psnr_at(state, steps[i])
        title.set_text(f"step {steps[i]}" + (f"   {p[0]} PSNR {p[1]:.1f} dB" if p else ""))
        return rec, spec, title

    a1.set_title("reconstruction", fontsize=9)
    fig.tight_layout()
    anim = FuncAnimation(fig, draw, frames=len(steps), blit=False)
    path = Path(path)
    try:
        with atomic_path(path, suffix=".gif") as tmp:
            anim.save(str(tmp), writer=PillowWriter(fps=int(fps)), dpi=dpi)
    finally:
        plt.close(fig)
    return path
