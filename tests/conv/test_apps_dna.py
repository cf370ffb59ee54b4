"""DNA one-hot encoding and motif / PWM scanning against a brute-force scan."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freqlens import FreqlensError
from freqlens.conv.apps import dna
from freqlens.conv.apps.dna import MotifHit, one_hot, pwm_log_odds, reverse_complement, scan_motif

RNG = np.random.default_rng(99)
SEQ = "".join(RNG.choice(list("ACGT"), 3000))


def test_doctests():
    assert doctest.testmod(dna).failed == 0


def brute_force(sequence, motif, threshold, both_strands=True):
    """Score every window letter by letter on both strands (no one-hot, no correlation)."""
    sequence = sequence.upper()
    if isinstance(motif, str):
        def score(window, m):
            return float(sum(1 for a, b in zip(window, m) if b == "N" or (a == b and a != "N")) + sum(
                0.25 for a, b in zip(window, m) if a == "N" and b != "N"))
        motifs = [("+", motif)] + ([("-", reverse_complement(motif))] if both_strands else [])
    else:
        cols = {c: i for i, c in enumerate("ACGT")}

        def score(window, m):
            total = 0.0
            for j, a in enumerate(window):
                total += m[j].mean() if a == "N" else m[j, cols[a]]
            return total
        motifs = [("+", motif)] + ([("-", motif[::-1, ::-1])] if both_strands else [])
    width = len(motif)
    hits = []
    for i in range(len(sequence) - width + 1):
        for strand, m in motifs:
            s = score(sequence[i:i + width], m)
            if s >= threshold - 1e-9:
                hits.append((i, strand, s))
    return sorted(hits, key=lambda h: (h[0], h[1] != "+"))


def as_tuples(hits):
    return [(h.position, h.strand, pytest.approx(h.score)) for h in hits]


def test_one_hot_rows_and_unknown_base():
    x = one_hot("acgTn")
    np.testing.assert_array_equal(x[:4], np.eye(4))
    np.testing.assert_array_equal(x[4], [0.25] * 4)
    np.testing.assert_array_equal(one_hot("N", unknown="zeros"), [[0, 0, 0, 0]])


def test_reverse_complement_matches_flipped_one_hot():
    s = SEQ[:200] + "NNA"
    np.testing.assert_array_equal(one_hot(reverse_complement(s)), one_hot(s)[::-1, ::-1])


@pytest.mark.parametrize("motif,threshold", [("GATA", None), ("TGANTCA", None), ("CACGTG", 5), ("ACGTACGT", 6)])
def test_consensus_scan_equals_brute_force(motif, threshold):
    t = len(motif) if threshold is None else threshold
    assert as_tuples(scan_motif(SEQ, motif, threshold=threshold)) == brute_force(SEQ, motif, t)


def test_log_odds_pwm_scan_equals_brute_force_on_both_strands():
    counts = RNG.integers(0, 20, size=(8, 4))
    pwm = pwm_log_odds(counts)
    t = 0.6 * pwm.max(axis=1).sum()
    hits = scan_motif(SEQ, pwm, threshold=t)
    assert len(hits) > 5
    assert as_tuples(hits) == brute_force(SEQ, pwm, t)
    assert as_tuples(scan_motif(SEQ, pwm, threshold=t, both_strands=False)) == brute_force(SEQ, pwm, t, False)


@settings(max_examples=40, deadline=None)
@given(
    seq=st.text(alphabet="ACGTN", min_size=1, max_size=60),
    motif=st.text(alphabet="ACGT", min_size=1, max_size=6),
    slack=st.integers(0, 2),
)
def test_scan_with_ns_equals_brute_force(seq, motif, slack):
    t = len(motif) - slack
    assert as_tuples(scan_motif(seq, motif, threshold=t)) == brute_force(seq, motif, t)


def test_planted_sites_are_found_at_their_positions_and_strands():
    seq = list("A" * 200)
    site = "GGATCCTTGA"  # not its own reverse complement
    seq[30:40] = site
    seq[120:130] = reverse_complement(site)
    hits = scan_motif("".join(seq), site)
    assert hits == [MotifHit(30, "+", 10.0), MotifHit(120, "-", 10.0)]


def test_pwm_log_odds_formula_and_minus_infinity_weights():
    counts = np.array([[3, 1, 0, 0], [0, 0, 2, 2]])
    np.testing.assert_allclose(pwm_log_odds(counts, pseudocount=1.0),
                               np.log2((counts + 1) / (counts.sum(1, keepdims=True) + 4) / 0.25))
    strict = pwm_log_odds(counts, pseudocount=0.0)  # unseen bases get -inf: they can never match
    hits = scan_motif("AGCTGACATT", strict, threshold=-50, both_strands=False)
    assert [h.position for h in hits] == [0, 2, 7]  # AG, CT, AT: first base A/C, second G/T


def test_motif_longer_than_sequence_gives_no_hits():
    assert scan_motif("ACG", "ACGTA") == []


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: one_hot("ACGU"), "'U' at position 3"),
        (lambda: one_hot("ACG-T"), "position 3"),
        (lambda: one_hot("ACGR"), "only A, C, G, T and N"),
        (lambda: one_hot(""), "sequence is empty"),
        (lambda: one_hot(b"ACGT"), "string"),
        (lambda: one_hot("ACGT", unknown="skip"), "unknown"),
        (lambda: scan_motif("ACGT", "AXG"), "motif has 'X'"),
        (lambda: scan_motif("ACGT", np.ones((3, 5))), "4 columns"),
        (lambda: scan_motif("ACGT", np.full((2, 4), np.nan)), "NaN"),
        (lambda: scan_motif("ACGT", "AC", threshold="high"), "threshold"),
        (lambda: pwm_log_odds(-np.ones((2, 4))), "non-negative"),
        (lambda: pwm_log_odds(np.zeros((2, 4)), pseudocount=0), "pseudocount"),
        (lambda: pwm_log_odds(np.ones((2, 4)), background=[0.5, 0.5, 0, 0]), "background"),
    ],
)
def test_bad_input_raises_freqlens_error(call, match):
    with pytest.raises(FreqlensError, match=match):
        call()
