"""Theory beside measurement: why low frequencies converge first.

- :func:`empirical_ntk` (:mod:`.ntk`): the exact empirical NTK of any PyTorch model, layer-wise for dense and
  convolutional layers, torch.func for the rest, blockwise and memory-checked.
- :func:`infinite_ntk`, :func:`ntk_mlp` (:mod:`.infinite`): closed-form infinite-width NTK of ReLU/erf MLPs in the
  NTK parametrisation, and the finite networks that converge to it.
- :func:`linearize`, :class:`LinearizedDynamics`, :func:`predict_delta_f` (:mod:`.linearized`): the residual,
  ΔF(k, t) and convergence steps of full-batch gradient descent (with or without momentum) predicted from the NTK
  on the training inputs; the eigenvectors' Fourier content.
- :func:`gamma2`, :func:`lfp_time_scale`, :func:`lfp_convergence_time` (:mod:`.lfp`): the linear F-Principle of
  two-layer networks; :func:`min_fp_norm_interpolant`, :func:`fp_spline` (:mod:`.fpnorm`): its variational
  problem; :func:`interpolation_experiment` (:mod:`.interpolation`): the three-point interpolation.
- :mod:`.figures`: matplotlib figures of all of it.
"""

from __future__ import annotations

from freqlens.lab.theory.fpnorm import fp_spline, min_fp_norm_interpolant, two_layer_kernel_limit
from freqlens.lab.theory.infinite import Erf, NTKLinear, infinite_ntk, ntk_mlp
from freqlens.lab.theory.interpolation import (InterpolationResult, interpolation_experiment,
                                               kernel_limit_interpolant, spline_likeness, train_full_batch_gd)
from freqlens.lab.theory.lfp import (REGIMES, gamma2, lfp_convergence_time, lfp_time_scale, relu_coefficients,
                                     two_layer_net, two_layer_parameters)
from freqlens.lab.theory.linearized import (LinearizedDynamics, dominant_frequencies, eigenvector_spectra,
                                            linearize, predict_delta_f)
from freqlens.lab.theory.ntk import NTKPlan, empirical_ntk, ntk_plan

__all__ = ["Erf", "InterpolationResult", "LinearizedDynamics", "NTKLinear", "NTKPlan", "REGIMES",
           "dominant_frequencies", "eigenvector_spectra", "empirical_ntk", "fp_spline", "gamma2", "infinite_ntk",
           "interpolation_experiment", "kernel_limit_interpolant", "lfp_convergence_time", "lfp_time_scale",
           "linearize", "min_fp_norm_interpolant", "ntk_mlp", "ntk_plan", "predict_delta_f", "relu_coefficients",
           "spline_likeness", "train_full_batch_gd", "two_layer_kernel_limit", "two_layer_net",
           "two_layer_parameters"]
