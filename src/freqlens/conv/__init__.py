"""Convolution and correlation with explicit conventions (see ``shared`` CONVENTIONS)."""

# --- convolution core (conv/core.py, padding.py, layer.py, explain.py) -- begin ---
from freqlens.conv.core import convolve, correlate
from freqlens.conv.explain import explain
from freqlens.conv.layer import conv_layer
from freqlens.conv.padding import Padding, padding_for

# --- convolution core -- end ---

# --- kernels, frequency responses, filters (conv/kernels.py, response.py, filters.py) ---
from freqlens.conv import kernels  # noqa: E402
from freqlens.conv.filters import (  # noqa: E402
    FilterDesign,
    FilterResponse,
    bandpass,
    bandstop,
    design_filter,
    filter_response,
    frequency_filter,
    frequency_mask,
    highpass,
    lowpass,
)
from freqlens.conv.kernels import KERNELS, get_kernel  # noqa: E402
from freqlens.conv.response import FrequencyResponse, frequency_response, plot_response  # noqa: E402

# --- applications (conv/apps/) ---
from freqlens.conv import apps  # noqa: E402
from freqlens.conv.apps import (  # noqa: E402
    best_matches,
    blur,
    edges,
    match_template,
    matched_filter,
    reverb,
    scan_motif,
    sharpen,
)

__all__ = [
    "Padding", "conv_layer", "convolve", "correlate", "explain", "padding_for",
    "FilterDesign", "FilterResponse", "FrequencyResponse", "KERNELS", "bandpass", "bandstop", "design_filter",
    "filter_response", "frequency_filter", "frequency_mask", "frequency_response", "get_kernel", "highpass",
    "kernels", "lowpass", "plot_response",
    "apps", "best_matches", "blur", "edges", "match_template", "matched_filter", "reverb", "scan_motif", "sharpen",
]
