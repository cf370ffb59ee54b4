"""The theory figures draw what they are given and save as PNG."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from freqlens.lab.theory import interpolation_experiment
from freqlens.report.figures_theory import (convergence_steps_figure, delta_f_overlay_figure, eigen_fourier_figure,
                                         gamma2_figure, interpolation_figure, lfp_times_figure,
                                         width_convergence_figure)


def png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_overlay_and_convergence_figures():
    steps = np.arange(0, 100, 10)
    meas = np.exp(-np.outer(steps, [0.1, 0.02]))
    fig = delta_f_overlay_figure([1, 3], steps, meas, steps, meas * 1.1, threshold=0.05)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len([ln for ln in ax.lines if ln.get_linestyle() == "--"]) == 2  # one predicted curve per k
    np.testing.assert_allclose(ax.lines[1].get_ydata(), meas[:, 0] * 1.1)
    png(fig)
    fig = convergence_steps_figure([1, 3, 5], {1: 10, 3: 90, 5: None}, {1: 12, 3: 80, 5: 400})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["never"]
    png(fig)
    with pytest.raises(ValueError, match="shape"):
        delta_f_overlay_figure([1, 3, 5], steps, meas, steps, meas)


def test_eigen_lfp_gamma_width_and_interpolation_figures():
    spectra = np.eye(6)[:, :4]
    fig = eigen_fourier_figure(np.array([4.0, 2.0, 1.0, 0.5, 0.1, 0.05]), spectra)
    assert len(fig.axes) == 4  # two panels and their colour bars
    png(fig)
    xi = np.array([0.5, 1.0, 2.0])
    fig = lfp_times_figure(xi, [10, 100, 1000], [12, None, 800], extra={"NTK": [11, 90, 900]})
    assert len(fig.axes[0].lines) == 3
    np.testing.assert_allclose(fig.axes[0].lines[2].get_xdata(), [0.5, 2.0])  # None skipped
    png(fig)
    png(gamma2_figure(xi, {"relu": 1 / xi ** 4}))
    png(width_convergence_figure([64, 256], {"relu": [0.3, 0.15]}))
    r = interpolation_experiment("cubic", width=100, train=False, infinite=False)
    fig = interpolation_figure(r)
    assert len(fig.axes[0].lines) == len(r.curves) + 2  # curves, h_ini, nodes
    png(fig)
