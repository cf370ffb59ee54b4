"""Renderers of the classification family's views: the projection spectrum, the filtering panels (one per δ) and
the first-layer kernels. Each reads the arrays a member stored and calls an arrays-in figure function."""

from __future__ import annotations

import numpy as np

from freqlens.report.figures import renderer, snapshot_member


def _arrays(run, view):
    m = snapshot_member(run)
    return m, run.arrays(m, view["file"])


def _titled(fig, run, text: str):
    fig.suptitle(f"{run.experiment}: {text}", fontsize=10)
    return fig


@renderer("projection_spectrum")
def projection_spectrum_view(run, view):
    from freqlens.report.figures_highdim import plot_projection_spectrum

    _, a = _arrays(run, view)
    steps = a["steps"]
    picks = sorted({0, len(steps) // 4, len(steps) // 2, len(steps) - 1}) if len(steps) else []
    spectra = a["output_spectra"]
    return plot_projection_spectrum(a["freqs"], a["target_spectrum"], spectra[picks] if len(spectra) else None,
                                    labels=[f"{run.unit} {int(steps[i])}" for i in picks], tracked=a["tracked"],
                                    noise_floor=float(a["noise_floor"]),
                                    title=f"{run.experiment}: labels and outputs along the first principal component")


@renderer("filtering_panels")
def filtering_view(run, view):
    from freqlens.report.figures_highdim import plot_filtering

    _, a = _arrays(run, view)
    fig = plot_filtering(a["steps"], a["deltas"], a["e_low"], a["e_high"], ill_conditioned=a["ill_conditioned"],
                         high_fraction=a["high_fraction"], threshold=float(a["threshold"]),
                         title=f"{run.experiment}: filtering method, e_low and e_high per δ", xlabel=run.unit)
    return fig


def _first_last(a) -> tuple[int, int]:
    return int(a["steps"][0]), int(a["steps"][-1])


@renderer("kernel_grid")
def kernel_grid_view(run, view):
    from freqlens.report.figures_kernels import plot_kernels

    _, a = _arrays(run, view)
    return plot_kernels(a["kernels"][0], a["kernels"][-1], steps=_first_last(a),
                        title=f"{run.experiment}: first-layer kernels at the start and the end, and the update")


@renderer("kernel_responses")
def kernel_responses_view(run, view):
    from freqlens.report.figures_kernels import plot_kernel_responses

    _, a = _arrays(run, view)
    return plot_kernel_responses(a["power_first"], a["power_last"], steps=_first_last(a), band_edges=a["band_edges"],
                                 title=f"{run.experiment}: the kernels' frequency responses (log magnitude)")


@renderer("kernel_bands")
def kernel_bands_view(run, view):
    from freqlens.report.figures_kernels import plot_band_energy

    _, a = _arrays(run, view)
    return plot_band_energy(a["steps"], a["band_shares"], a["band_edges"], centroid=a["centroid"],
                            update_centroid=a["update_centroid"], xlabel=run.unit,
                            title=f"{run.experiment}: the kernels' energy by radial frequency band")


@renderer("kernel_patches")
def kernel_patches_view(run, view):
    from matplotlib.figure import Figure

    from freqlens.report.figures_kernels import plot_top_patches

    _, a = _arrays(run, view)
    if a["patches"].shape[0] == 0:
        fig = Figure(figsize=(6, 1.5))
        fig.text(0.5, 0.5, "no patch search was recorded for this run", ha="center")
        return fig
    at = int(a["patch_steps"][-1])
    i = int(np.searchsorted(a["steps"], at))
    return plot_top_patches(a["kernels"][i], a["patches"][-1], a["patch_scores"][-1], kernel_ids=list(a["shown"]),
                            image_ids=a["patch_image"][-1], centroids=a["centroid"][i],
                            title=f"{run.experiment}: training patches that match the kernels best ({run.unit} {at})")
