"""Renderers of the theory views: the NTK's predicted ΔF beside the measured one, predicted against measured
convergence steps, the kernel's eigenvectors, and the linear F-Principle's three-point interpolation."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from freqlens.report.figures import summary_medians, renderer, snapshot_member


@renderer("theory_overlay")
def theory_overlay_view(run, view):
    from freqlens.report.figures_theory import delta_f_overlay_figure

    measured, predicted = run.wide(view["metric"]), run.wide(view["predicted"])
    freqs = [k for k in measured.columns if k in predicted.columns]
    cfg = run.config
    return delta_f_overlay_figure(freqs, measured.index.to_numpy(), measured[freqs].to_numpy(),
                                  predicted.index.to_numpy(), predicted[freqs].to_numpy(),
                                  threshold=cfg.get("threshold"),
                                  title=f"{run.experiment}: ΔF measured (solid) and predicted by the NTK (dashed)")


@renderer("theory_steps")
def theory_steps_view(run, view):
    from freqlens.report.figures_theory import convergence_steps_figure

    measured = summary_medians(run, view["summary"]).get("", {})
    predicted = summary_medians(run, view["predicted"]).get("", {})
    freqs = sorted(set(measured) | set(predicted))
    return convergence_steps_figure(freqs, predicted, measured,
                                    title=f"{run.experiment}: convergence step per frequency")


@renderer("ntk_eigen")
def ntk_eigen_view(run, view):
    from freqlens.report.figures_theory import eigen_fourier_figure

    a = run.arrays(snapshot_member(run), view["file"])
    fig = eigen_fourier_figure(a["eigenvalues"], a["eigenvector_spectra"],
                               max_bin=int(max(24, 3 * int(np.max(a["freqs"])))))
    fig.suptitle(f"{run.experiment}: how close the NTK's eigenvectors are to pure tones", fontsize=10)
    return fig


@renderer("interpolation")
def interpolation_view(run, view):
    from freqlens.report.figures_theory import interpolation_figure

    a = run.arrays(snapshot_member(run), view["file"])
    names = [str(n) for n in a["curve_names"]]
    result = SimpleNamespace(
        regime=str(a["regime"]), x_nodes=a["x_nodes"], y_nodes=a["y_nodes"], x_eval=a["x_eval"], h_ini=a["h_ini"],
        curves={n: a[f"curve_{n}"] for n in names},
        likeness={n: tuple(a[f"likeness_{n}"]) for n in names if f"likeness_{n}" in a},
        A=float(a["A"]), B=float(a["B"]), steps=int(a["steps"][-1]) if len(a["steps"]) else 0,
        loss=float(a["last_loss"]), info={})
    return interpolation_figure(result)


@renderer("gamma2")
def gamma2_view(run, view):
    from freqlens.report.figures_theory import gamma2_figure

    a = run.arrays(snapshot_member(run), view["file"])
    return gamma2_figure(a["xi"], {"γ(ξ)² of the network at initialisation": a["gamma2"],
                                   "1/ξ⁴ term": a["gamma2_quartic"], "1/ξ² term": a["gamma2_quadratic"]})
