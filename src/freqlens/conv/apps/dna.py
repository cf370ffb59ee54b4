"""Motif scanning in DNA by correlation: a one-hot sequence correlated with a motif or a position weight matrix.

Columns are always in the order A, C, G, T. Positions are 0-based and refer to the forward strand: a hit at
``position`` covers ``sequence[position:position + width]`` whichever strand it was found on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from freqlens.conv.apps._common import as_real_array, check_memory, positive
from freqlens.errors import FreqlensError

__all__ = ["one_hot", "reverse_complement", "pwm_log_odds", "read_pwm", "scan_motif", "MotifHit", "ALPHABET"]

ALPHABET = "ACGT"
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
# Byte value -> column (0..3), 4 for N, 5 for anything else.
_CODE = np.full(256, 5, dtype=np.int8)
for _i, _c in enumerate("ACGT"):
    _CODE[ord(_c)] = _CODE[ord(_c.lower())] = _i
_CODE[ord("N")] = _CODE[ord("n")] = 4


class MotifHit(NamedTuple):
    """One motif occurrence: 0-based start on the forward strand, strand ``'+'`` or ``'-'``, and score."""

    position: int
    strand: str
    score: float


def _codes(sequence, name: str) -> np.ndarray:
    if not isinstance(sequence, str):
        raise FreqlensError(f"{name} must be a string of A, C, G, T, N, got {type(sequence).__name__}")
    if not sequence:
        raise FreqlensError(f"{name} is empty")
    try:
        raw = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        raw = None
    codes = None if raw is None else _CODE[raw]
    if codes is None or np.any(codes == 5):
        bad = next(i for i, ch in enumerate(sequence) if ch not in "ACGTNacgtn")
        raise FreqlensError(
            f"{name} has {sequence[bad]!r} at position {bad}; only A, C, G, T and N are accepted "
            "(case-insensitive; other IUPAC codes, U and gaps are not)"
        )
    return codes


def one_hot(sequence: str, *, unknown: Literal["uniform", "zeros"] = "uniform") -> np.ndarray:
    """One-hot encode a DNA sequence: one row per base, columns A, C, G, T.

    Parameters
    ----------
    sequence : str
        Letters A, C, G, T and N (any case). Anything else is refused with the offending position.
    unknown : {'uniform', 'zeros'}
        Row for ``N``: ``0.25`` in every column (an unknown base scores the mean of a PWM column) or all zeros
        (it scores 0).

    Returns
    -------
    ndarray, shape (len(sequence), 4), float64

    Notes
    -----
    ``X[i, b] = 1`` if ``sequence[i]`` is base ``b`` (A=0, C=1, G=2, T=3), else 0. Reverse complement is
    ``X[::-1, ::-1]`` in this column order (A<->T, C<->G).

    Examples
    --------
    >>> one_hot("ACGTN")
    array([[1.  , 0.  , 0.  , 0.  ],
           [0.  , 1.  , 0.  , 0.  ],
           [0.  , 0.  , 1.  , 0.  ],
           [0.  , 0.  , 0.  , 1.  ],
           [0.25, 0.25, 0.25, 0.25]])
    """
    if unknown not in ("uniform", "zeros"):
        raise FreqlensError(f"unknown must be 'uniform' or 'zeros', got {unknown!r}")
    codes = _codes(sequence, "sequence")
    check_memory(codes.size * 4, f"one-hot encoding {codes.size} bases", copies=2)
    x = np.zeros((codes.size, 5))
    x[np.arange(codes.size), codes] = 1.0
    x[:, :4] += x[:, 4:5] * (0.25 if unknown == "uniform" else 0.0)
    return x[:, :4]


def reverse_complement(sequence: str) -> str:
    """Reverse complement of a DNA sequence (case kept, N stays N).

    Notes
    -----
    ``rc(s)[i] = complement(s[L - 1 - i])`` with A<->T, C<->G: the other strand read 5' to 3'.

    Examples
    --------
    >>> reverse_complement("AACGTN")
    'NACGTT'
    """
    _codes(sequence, "sequence")
    return sequence.translate(_COMPLEMENT)[::-1]


def pwm_log_odds(counts, *, background=(0.25, 0.25, 0.25, 0.25), pseudocount: float = 0.25) -> np.ndarray:
    """Turn a count (or frequency) matrix into a log2-odds position weight matrix.

    Parameters
    ----------
    counts : array_like, shape (width, 4)
        Non-negative counts or frequencies per position (rows) and base (columns A, C, G, T).
    background : sequence of 4 floats
        Base probabilities of the background model (summing to 1).
    pseudocount : float
        Added to each count before normalising (avoids ``log 0`` for unseen bases).

    Returns
    -------
    ndarray, shape (width, 4)

    Notes
    -----
    ``W[j, b] = log2(p[j, b] / q[b])`` with ``p[j, b] = (n[j, b] + c) / sum_b' (n[j, b'] + c)``. The score of a
    site, ``sum_j W[j, s_j]``, is then the log2 likelihood ratio of "motif" against "background".

    Examples
    --------
    >>> np.round(pwm_log_odds([[10, 0, 0, 0], [0, 0, 5, 5]], pseudocount=0), 3)
    array([[  2., -inf, -inf, -inf],
           [-inf, -inf,   1.,   1.]])
    """
    n = as_real_array(counts, "counts", ndim=(2,))
    if n.shape[1] != 4:
        raise FreqlensError(f"counts must have 4 columns (A, C, G, T), got shape {n.shape}")
    if not np.all(np.isfinite(n)) or np.any(n < 0):
        raise FreqlensError("counts must be finite and non-negative")
    q = as_real_array(background, "background", ndim=(1,))
    if q.shape != (4,) or np.any(q <= 0) or not math.isclose(q.sum(), 1.0, rel_tol=1e-6):
        raise FreqlensError("background must be 4 positive probabilities summing to 1")
    c = positive(pseudocount, "pseudocount", allow_zero=True)
    totals = n.sum(axis=1, keepdims=True) + 4 * c
    if np.any(totals == 0):
        raise FreqlensError("counts has a row of zeros; add a pseudocount")
    with np.errstate(divide="ignore"):
        return np.log2((n + c) / totals / q)


def _motif_matrix(motif) -> tuple[np.ndarray, bool]:
    """A (width, 4) weight matrix from a consensus string (N = any base) or a numeric matrix."""
    if isinstance(motif, str):
        codes = _codes(motif, "motif")
        w = np.zeros((codes.size, 5))
        w[np.arange(codes.size), codes] = 1.0
        w[w[:, 4] == 1.0, :4] = 1.0  # N in a motif is a wildcard: any base scores 1
        return w[:, :4], True
    m = as_real_array(motif, "motif", ndim=(2,))
    if m.shape[1] != 4:
        raise FreqlensError(f"a motif matrix must have 4 columns (A, C, G, T), got shape {m.shape}")
    if np.any(np.isnan(m)):
        raise FreqlensError("motif matrix contains NaN")
    return m, False


def scan_motif(
    sequence: str,
    motif,
    *,
    threshold: float | None = None,
    both_strands: bool = True,
    unknown: Literal["uniform", "zeros"] = "uniform",
) -> list[MotifHit]:
    """Scan a DNA sequence for a motif (consensus string) or a position weight matrix by correlation.

    Parameters
    ----------
    sequence : str
        DNA (A, C, G, T, N; any case).
    motif : str or array_like, shape (width, 4)
        A consensus string (``N`` matches any base; the score counts matching letters) or a weight matrix with
        columns A, C, G, T, e.g. log-odds from :func:`pwm_log_odds`.
    threshold : float, optional
        Report windows with ``score >= threshold``. Default: the highest score the motif can reach (exact
        consensus matches only). For a consensus of width ``w``, ``threshold=w - 1`` allows one mismatch.
    both_strands : bool
        Also scan the reverse complement (strand ``'-'``).
    unknown : {'uniform', 'zeros'}
        How an ``N`` in the sequence scores (see :func:`one_hot`).

    Returns
    -------
    list of MotifHit
        ``(position, strand, score)`` sorted by position, ``'+'`` before ``'-'``; ``position`` is the 0-based
        start on the forward strand for both strands. An empty list if the motif is longer than the sequence.

    Notes
    -----
    With the one-hot sequence ``X`` (``L x 4``) and the weight matrix ``W`` (``w x 4``), the forward score is the
    valid cross-correlation ``S+[i] = sum_{j, b} X[i + j, b] W[j, b]``, ``0 <= i <= L - w``. The reverse strand
    uses the reverse-complemented matrix ``W[::-1, ::-1]`` on the same windows, which scores the reverse
    complement of ``sequence[i:i + w]``. Sums are direct (``w`` vectorised passes), so integer scores are exact;
    the comparison with ``threshold`` allows a relative slack of ``1e-9`` for round-off. A palindromic site
    (e.g. ``GAATTC``) is reported on both strands.

    Examples
    --------
    >>> scan_motif("TTGAATTCAAGGATCC", "GGATCC")
    [MotifHit(position=10, strand='+', score=6.0), MotifHit(position=10, strand='-', score=6.0)]
    >>> scan_motif("AACGTTTACGAA", "ACG", both_strands=False)
    [MotifHit(position=1, strand='+', score=3.0), MotifHit(position=7, strand='+', score=3.0)]
    >>> scan_motif("AAAAAA", "TTT")                 # found on the reverse strand only
    [MotifHit(position=0, strand='-', score=3.0), MotifHit(position=1, strand='-', score=3.0), \
MotifHit(position=2, strand='-', score=3.0), MotifHit(position=3, strand='-', score=3.0)]
    """
    w, _is_consensus = _motif_matrix(motif)
    x = one_hot(sequence, unknown=unknown)
    width = w.shape[0]
    n_windows = x.shape[0] - width + 1
    best = float(np.sum(np.max(w, axis=1)))
    if threshold is None:
        t = best
    else:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
            raise FreqlensError(f"threshold must be a number, got {threshold!r}")
        t = float(threshold)
        if math.isnan(t):
            raise FreqlensError("threshold must not be NaN")
    if n_windows <= 0:
        return []
    slack = 1e-9 * max(1.0, abs(t)) if math.isfinite(t) else 0.0

    strands = [("+", w)] + ([("-", w[::-1, ::-1])] if both_strands else [])
    hits: list[MotifHit] = []
    for strand, matrix in strands:
        scores = np.zeros(n_windows)
        with np.errstate(invalid="ignore"):  # -inf weights times 0 one-hot entries
            for j in range(width):
                col = matrix[j]
                finite = np.where(np.isfinite(col), col, 0.0)
                part = x[j : j + n_windows] @ finite
                if not np.all(np.isfinite(col)):
                    # A -inf weight counts only where that base is present (0 * -inf would be NaN).
                    inf_cols = ~np.isfinite(col)
                    present = x[j : j + n_windows][:, inf_cols] > 0
                    part = part + np.where(present, col[inf_cols], 0.0).sum(axis=1)
                scores += part
        for i in np.flatnonzero(scores >= t - slack):
            hits.append(MotifHit(int(i), strand, float(scores[i])))
    hits.sort(key=lambda h: (h.position, h.strand != "+"))
    return hits


def read_pwm(path) -> np.ndarray:
    """A ``(width, 4)`` weight matrix (columns A, C, G, T) from a file: ``.npy``, a plain numeric table
    (``width x 4`` or ``4 x width``) or JASPAR-style labelled rows (``A [ 3 0 ... ]``).

    The values are returned as they are (counts, probabilities or log-odds); :func:`pwm_log_odds` turns counts
    into log2-odds scores.
    """
    path = Path(path)
    if not path.is_file():
        raise FreqlensError(f"file not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            m = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise FreqlensError(f"not a readable .npy matrix: {path} ({type(exc).__name__})") from None
    else:
        labelled: dict = {}
        rows = []
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith(("#", ">")):
                continue
            tokens = line.replace("[", " ").replace("]", " ").replace(",", " ").split()
            if tokens and tokens[0].upper() in ("A", "C", "G", "T") and len(tokens) > 1:
                labelled[tokens[0].upper()] = tokens[1:]
            elif all(t.upper() in ("A", "C", "G", "T") for t in tokens):
                continue  # a header line "A C G T"
            else:
                rows.append(tokens)
        try:
            if labelled:
                if set(labelled) != set("ACGT"):
                    raise FreqlensError(f"{path}: labelled rows must be A, C, G and T")
                m = np.array([[float(v) for v in labelled[b]] for b in "ACGT"])
            else:
                m = np.array([[float(v) for v in r] for r in rows])
        except ValueError:
            raise FreqlensError(f"{path} is not a numeric weight matrix (rows of 4 numbers A C G T)") from None
    m = np.asarray(m, dtype=float) if np.asarray(m).dtype.kind in "biuf" else None
    if m is None or m.ndim != 2 or 4 not in m.shape:
        raise FreqlensError(f"{path}: a weight matrix needs 4 columns (A, C, G, T) or 4 rows")
    return m if m.shape[1] == 4 else m.T
