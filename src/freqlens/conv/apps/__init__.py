"""Applications of convolution and correlation, one module per field.

- :mod:`~freqlens.conv.apps.images` - gradient edges, blur, unsharp-mask sharpening.
- :mod:`~freqlens.conv.apps.audio` - convolution reverb and a synthetic room impulse response.
- :mod:`~freqlens.conv.apps.timeseries` - smoothing, kernel density estimation, linear response (dosing).
- :mod:`~freqlens.conv.apps.radar` - chirp pulses and matched filtering (echo delays).
- :mod:`~freqlens.conv.apps.dna` - one-hot DNA and motif / PWM scanning on both strands.
- :mod:`~freqlens.conv.apps.matching` - template matching by normalised cross-correlation.

Each function takes arrays (numpy or array-like), returns numpy arrays, and raises
:class:`freqlens.FreqlensError` (a ``ValueError``) naming the argument for bad input.
"""

from __future__ import annotations

from freqlens.conv.apps.audio import reverb, synthetic_rir
from freqlens.conv.apps.dna import MotifHit, one_hot, pwm_log_odds, read_pwm, reverse_complement, scan_motif
from freqlens.conv.apps.images import Edges, blur, edges, sharpen
from freqlens.conv.apps.matching import Match, best_matches, match_template
from freqlens.conv.apps.radar import MatchedFilterResult, chirp_pulse, matched_filter, simulate_echoes
from freqlens.conv.apps.timeseries import (
    exponential_smooth,
    gaussian_smooth,
    kde,
    linear_response,
    moving_average,
)

__all__ = [
    "Edges", "Match", "MatchedFilterResult", "MotifHit",
    "best_matches", "blur", "chirp_pulse", "edges", "exponential_smooth", "gaussian_smooth", "kde",
    "linear_response", "match_template", "matched_filter", "moving_average", "one_hot", "pwm_log_odds", "read_pwm",
    "reverb", "reverse_complement", "scan_motif", "sharpen", "simulate_echoes", "synthetic_rir",
]
