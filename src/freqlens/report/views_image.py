"""Renderers of the image-fitting family's views: the reconstruction strip and the training animation."""

from __future__ import annotations

import tempfile
from pathlib import Path

from freqlens.report.figures import renderer, snapshot_member


def _state(run, view):
    return run.arrays(snapshot_member(run), view["file"])


@renderer("image_snapshots")
def image_snapshots_view(run, view):
    from freqlens.report.figures_image import plot_reconstructions

    fig = plot_reconstructions(_state(run, view))
    fig.suptitle(f"{run.experiment}: {view['title']}", fontsize=10)
    return fig


@renderer("training_gif")
def training_gif_view(run, view):
    """An animated GIF (bytes, media type, extension) rather than a Figure."""
    from freqlens.report.figures_image import write_training_gif

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "training.gif"
        write_training_gif(_state(run, view), path)
        return path.read_bytes(), "image/gif", "gif"
