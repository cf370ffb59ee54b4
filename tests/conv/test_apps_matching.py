"""Template matching (normalised cross-correlation) against scikit-image, OpenCV and brute force."""

from __future__ import annotations

import doctest

import cv2
import numpy as np
import pytest
import skimage.data
import skimage.feature

from freqlens import FreqlensError
from freqlens.conv.apps import matching
from freqlens.conv.apps.matching import Match, best_matches, match_template

CAMERA = skimage.data.camera()[100:260, 150:370] / 255.0
TEMPLATE = CAMERA[40:75, 60:100].copy()
RNG = np.random.default_rng(5)


def test_doctests():
    assert doctest.testmod(matching).failed == 0


def brute_ncc(image, template, centered=True):
    h, w = template.shape
    t = template - template.mean() if centered else template
    out = np.zeros((image.shape[0] - h + 1, image.shape[1] - w + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            win = image[r:r + h, c:c + w]
            win = win - win.mean() if centered else win
            den = np.sqrt(np.sum(win**2) * np.sum(t**2))
            out[r, c] = 0.0 if den == 0 else np.sum(win * t) / den
    return out


@pytest.mark.parametrize("centered", [True, False])
def test_small_case_equals_brute_force(centered):
    img = RNG.random((12, 15))
    tmpl = RNG.random((4, 6))
    np.testing.assert_allclose(match_template(img, tmpl, centered=centered), brute_ncc(img, tmpl, centered),
                               atol=1e-12)


def test_centered_matches_skimage_and_opencv_ccoeff_normed():
    ours = match_template(CAMERA, TEMPLATE)
    np.testing.assert_allclose(ours, skimage.feature.match_template(CAMERA, TEMPLATE), atol=1e-9)
    cv = cv2.matchTemplate(CAMERA.astype(np.float32), TEMPLATE.astype(np.float32), cv2.TM_CCOEFF_NORMED)
    np.testing.assert_allclose(ours, cv, atol=2e-4)  # OpenCV computes in float32


def test_uncentered_is_opencv_ccorr_normed():
    ours = match_template(CAMERA, TEMPLATE, centered=False)
    cv = cv2.matchTemplate(CAMERA.astype(np.float32), TEMPLATE.astype(np.float32), cv2.TM_CCORR_NORMED)
    np.testing.assert_allclose(ours, cv, atol=2e-5)


def test_scores_are_invariant_to_brightness_and_contrast():
    np.testing.assert_allclose(match_template(3.0 * CAMERA - 7.0, TEMPLATE), match_template(CAMERA, TEMPLATE),
                               atol=1e-9)
    uncentered = match_template(CAMERA, TEMPLATE, centered=False)
    np.testing.assert_allclose(match_template(CAMERA, 0.2 * TEMPLATE, centered=False), uncentered, atol=1e-12)


def test_flat_windows_score_zero_and_large_offsets_do_not_lose_precision():
    img = np.zeros((30, 30))
    img[10:20, 10:20] = RNG.random((10, 10))
    ncc = match_template(img + 1e6, img[10:15, 10:15] + 1e6)
    assert ncc[0, 0] == 0.0 and ncc[-1, -1] == 0.0
    assert ncc[10, 10] == pytest.approx(1.0, abs=1e-6)


def test_nan_pixels_only_spoil_the_windows_that_contain_them():
    img = CAMERA.copy()
    img[80, 120] = np.nan
    ncc = match_template(img, TEMPLATE)
    h, w = TEMPLATE.shape
    expected = np.zeros(ncc.shape, bool)
    expected[80 - h + 1:81, 120 - w + 1:121] = True
    np.testing.assert_array_equal(np.isnan(ncc), expected)
    np.testing.assert_allclose(ncc[~expected], match_template(CAMERA, TEMPLATE)[~expected], atol=1e-9)


def test_planted_copies_are_the_best_matches():
    img = RNG.random((120, 160)) * 0.5
    tmpl = RNG.random((12, 9))
    spots = [(5, 7), (60, 100), (100, 20)]
    for r, c in spots:
        img[r:r + 12, c:c + 9] = tmpl
    hits = best_matches(match_template(img, tmpl), 3, min_distance=6)
    assert sorted((m.row, m.col) for m in hits) == sorted(spots)
    assert all(m.score == pytest.approx(1.0) for m in hits)


def brute_best(scores, k, md, threshold=None):
    order = sorted(((v, r, c) for (r, c), v in np.ndenumerate(scores) if not np.isnan(v)),
                   key=lambda t: (-t[0], t[1], t[2]))
    picked = []
    for v, r, c in order:
        if len(picked) == k or (threshold is not None and v < threshold):
            break
        if all(max(abs(r - pr), abs(c - pc)) >= md for _, pr, pc in picked):
            picked.append((v, r, c))
    return [Match(r, c, v) for v, r, c in picked]


@pytest.mark.parametrize("k,md,threshold", [(5, 1, None), (10, 4, None), (20, 3, 0.5), (50, 10, None)])
def test_best_matches_equals_greedy_brute_force(k, md, threshold):
    scores = RNG.random((25, 30))
    scores[3, 4] = np.nan
    assert best_matches(scores, k, min_distance=md, threshold=threshold) == brute_best(scores, k, md, threshold)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: match_template(TEMPLATE, CAMERA), "larger than image"),
        (lambda: match_template(CAMERA, np.ones((5, 5))), "constant"),
        (lambda: match_template(CAMERA, np.zeros((5, 5)), centered=False), "all zeros"),
        (lambda: match_template(CAMERA, np.full((5, 5), np.nan)), "template contains NaN"),
        (lambda: match_template(np.zeros((5, 5, 3)), TEMPLATE), "image"),
        (lambda: match_template(CAMERA, np.zeros((0, 3))), "template"),
        (lambda: best_matches(np.zeros((3, 3)), 0), "k"),
        (lambda: best_matches(np.zeros((3, 3)), 1, min_distance=-2), "min_distance"),
        (lambda: best_matches(np.zeros((3, 3)), 1, threshold="x"), "threshold"),
        (lambda: best_matches(np.zeros(9), 1), "ncc_map"),
    ],
)
def test_bad_input_raises_freqlens_error(call, match):
    with pytest.raises(FreqlensError, match=match):
        call()
