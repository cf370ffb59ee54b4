"""Template matching as cosine similarity: a normalised cross-correlation map and its best peaks.

The map has the "valid" size ``(H - h + 1, W - w + 1)``: entry ``(r, c)`` compares the template with the
image window whose top-left corner is ``(r, c)``. Grayscale only; convert colour images first (e.g.
``skimage.color.rgb2gray``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import signal

from freqlens.conv.apps._common import as_real_array, check_memory, positive
from freqlens.errors import FreqlensError

__all__ = ["match_template", "best_matches", "Match"]


class Match(NamedTuple):
    """A template match: top-left corner ``(row, col)`` of the window in the image, and its score."""

    row: int
    col: int
    score: float


def _box_sum(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sum of every h x w window ('valid' positions) via a summed-area table."""
    sat = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    np.cumsum(np.cumsum(a, axis=0), axis=1, out=sat[1:, 1:])
    return sat[h:, w:] - sat[:-h, w:] - sat[h:, :-w] + sat[:-h, :-w]


def match_template(image, template, *, centered: bool = True) -> np.ndarray:
    """Normalised cross-correlation of ``template`` with every window of ``image``.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grayscale image. NaN/inf pixels make the scores of the windows that contain them NaN.
    template : array_like, shape (h, w)
        Finite template with ``h <= H`` and ``w <= W``.
    centered : bool
        ``True`` (default): subtract the means first, i.e. the Pearson correlation of template and window
        (``skimage.feature.match_template``, OpenCV ``TM_CCOEFF_NORMED``), invariant to brightness and contrast.
        ``False``: plain cosine similarity of the raw vectors (OpenCV ``TM_CCORR_NORMED``), invariant to contrast
        only.

    Returns
    -------
    ndarray, shape (H - h + 1, W - w + 1)
        Scores in [-1, 1] (in [0, 1] for non-negative data with ``centered=False``); 1 = the window is an exact
        (affine, for ``centered=True``) copy of the template. A window with no variation (or all zeros, for
        ``centered=False``) scores 0.

    Notes
    -----
    With ``t' = t - mean(t)`` and ``I'_rc = I_rc - mean(I_rc)`` for the window ``I_rc`` at ``(r, c)``,

    ``ncc[r, c] = sum(I'_rc * t') / sqrt(sum(I'_rc**2) * sum(t'**2))`` (the cosine of the angle between the
    two vectors). The numerator is one cross-correlation (:func:`scipy.signal.fftconvolve` with the flipped
    template, as ``sum(I'_rc t') = sum(I_rc t')``); the window energies come from summed-area tables:
    ``sum(I'**2) = S2 - S1**2 / (h w)``. A window counts as flat when that variance is below ``1e-9 * S2``
    (round-off level).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.random((20, 30))
    >>> tmpl = img[5:10, 12:20].copy()
    >>> ncc = match_template(img, tmpl)
    >>> ncc.shape, np.unravel_index(np.argmax(ncc), ncc.shape), round(float(ncc.max()), 6)
    ((16, 23), (np.int64(5), np.int64(12)), 1.0)
    >>> round(float(match_template(img, 2 * tmpl + 1).max()), 6)   # brightness/contrast invariant
    1.0
    """
    img = as_real_array(image, "image", ndim=(2,))
    t = as_real_array(template, "template", ndim=(2,))
    if t.shape[0] > img.shape[0] or t.shape[1] > img.shape[1]:
        raise FreqlensError(f"template {t.shape} is larger than image {img.shape} in at least one dimension")
    if not np.all(np.isfinite(t)):
        raise FreqlensError("template contains NaN or inf")
    h, w = t.shape
    check_memory(img.size, f"matching on a {img.shape[0]}x{img.shape[1]} image", copies=8)
    bad = ~np.isfinite(img)
    any_bad = bool(bad.any())
    if any_bad:
        img = np.where(bad, 0.0, img)
    # Shifting the image by a constant changes neither centred score; it reduces round-off in S2 - S1**2/n.
    offset = float(img[~bad].mean()) if centered and not bad.all() else 0.0
    img = img - offset
    if centered:
        t = t - t.mean()
    t_energy = float(np.sum(t * t))
    if t_energy == 0.0:
        raise FreqlensError(
            "template is constant, so its normalised cross-correlation is undefined"
            if centered else "template is all zeros, so its cosine similarity is undefined"
        )
    num = signal.fftconvolve(img, t[::-1, ::-1], mode="valid")
    s2 = _box_sum(img * img, h, w)
    if centered:
        s1 = _box_sum(img, h, w)
        energy = s2 - s1 * s1 / (h * w)
    else:
        energy = s2
    flat = energy <= 1e-9 * s2
    with np.errstate(invalid="ignore", divide="ignore"):
        ncc = num / np.sqrt(np.where(flat, 1.0, energy) * t_energy)
    ncc[flat] = 0.0
    np.clip(ncc, -1.0, 1.0, out=ncc)
    if any_bad:
        ncc[_box_sum(bad.astype(np.float64), h, w) > 0.5] = np.nan
    return ncc


def best_matches(
    ncc_map, k: int = 1, *, min_distance: int = 1, threshold: float | None = None
) -> list[Match]:
    """The ``k`` best-scoring positions of a match map, at least ``min_distance`` apart (greedy suppression).

    Parameters
    ----------
    ncc_map : array_like, shape (M, N)
        Scores, e.g. from :func:`match_template`; NaN entries are ignored.
    k : int
        Maximum number of matches.
    min_distance : int
        Two reported matches differ by at least this many pixels in row or in column (Chebyshev distance
        ``>= min_distance``); 1 allows neighbours. Half the template size is a good choice.
    threshold : float, optional
        Report only scores ``>= threshold``.

    Returns
    -------
    list of Match
        ``(row, col, score)``, best first; fewer than ``k`` if the map runs out.

    Notes
    -----
    Non-maximum suppression: repeatedly take the highest remaining score (ties: first in row-major order) and
    discard every position with ``|dr| < min_distance`` and ``|dc| < min_distance`` from it.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((6, 6))
    >>> m[1, 1], m[1, 2], m[4, 4] = 0.9, 0.8, 0.7
    >>> best_matches(m, 2, min_distance=2)
    [Match(row=1, col=1, score=0.9), Match(row=4, col=4, score=0.7)]
    >>> best_matches(m, 2)
    [Match(row=1, col=1, score=0.9), Match(row=1, col=2, score=0.8)]
    """
    scores = as_real_array(ncc_map, "ncc_map", ndim=(2,))
    count = positive(k, "k", integer=True)
    md = positive(min_distance, "min_distance", integer=True)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
            raise FreqlensError(f"threshold must be a number, got {threshold!r}")
    available = ~np.isnan(scores)
    out: list[Match] = []
    for _ in range(count):
        if not available.any():
            break
        flat_index = int(np.argmax(np.where(available, scores, -np.inf)))
        if not available.flat[flat_index]:  # every remaining score is -inf
            flat_index = int(np.flatnonzero(available)[0])
        r, c = divmod(flat_index, scores.shape[1])
        value = float(scores[r, c])
        if threshold is not None and value < threshold:
            break
        out.append(Match(int(r), int(c), value))
        available[max(0, r - md + 1) : r + md, max(0, c - md + 1) : c + md] = False
    return out
