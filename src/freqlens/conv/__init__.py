"""Convolution and correlation with explicit conventions (see ``shared`` CONVENTIONS)."""

# --- convolution core (conv/core.py, padding.py, layer.py, explain.py) -- begin ---
from freqlens.conv.core import convolve, correlate
from freqlens.conv.explain import explain
from freqlens.conv.layer import conv_layer
from freqlens.conv.padding import Padding, padding_for

_CORE_EXPORTS = ["Padding", "conv_layer", "convolve", "correlate", "explain", "padding_for"]
# --- convolution core -- end ---

__all__ = [*_CORE_EXPORTS]
