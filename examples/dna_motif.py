"""Motif scanning by correlation: a log-odds PWM slid along a one-hot DNA sequence, on both strands.

Run offline (the sequence and the binding sites are simulated with a fixed seed):

    python examples/dna_motif.py [OUT.png]

A 2,000-base random sequence (40 % GC) holds six sites of a toy 10-base motif: three on the forward strand and
three on the reverse strand, every other one with one mismatch. Top left: the motif's count matrix as a log2-odds PWM
(heat map). Top right: a stretch of the one-hot sequence with one site. Bottom: the correlation score of every
window on both strands with the threshold; the planted sites are marked and every reported hit is listed.
"""

from __future__ import annotations

import sys

import numpy as np
from matplotlib.figure import Figure

from freqlens.conv.apps.dna import one_hot, pwm_log_odds, reverse_complement, scan_motif

# Toy count matrix (20 aligned sites) of a 10-base motif with consensus TTGGCAGTAC (not its own reverse
# complement, so every site is found on one strand only).
COUNTS = np.array([
    [1, 2, 1, 16], [0, 1, 1, 18], [1, 1, 17, 1], [2, 1, 16, 1], [1, 17, 1, 1],
    [17, 1, 1, 1], [1, 2, 16, 1], [1, 1, 3, 15], [18, 1, 1, 0], [2, 14, 2, 2],
])


def main(out: str = "dna_motif.png") -> None:
    rng = np.random.default_rng(4)
    seq = list(rng.choice(list("ACGT"), size=2000, p=[0.3, 0.2, 0.2, 0.3]))
    consensus = "".join("ACGT"[i] for i in COUNTS.argmax(axis=1))
    planted = []
    for k, pos in enumerate([150, 520, 800, 1210, 1555, 1830]):
        site = list(consensus)
        if k % 2:  # one mismatch in every other site
            j = int(rng.integers(10))
            site[j] = "ACGT"[("ACGT".index(site[j]) + 1) % 4]
        strand = "+" if k < 3 else "-"
        text = "".join(site) if strand == "+" else reverse_complement("".join(site))
        seq[pos:pos + 10] = list(text)
        planted.append((pos, strand))
    seq = "".join(seq)

    pwm = pwm_log_odds(COUNTS, background=(0.3, 0.2, 0.2, 0.3))
    best = pwm.max(axis=1).sum()
    threshold = 0.6 * best
    hits = scan_motif(seq, pwm, threshold=threshold)
    # The full score tracks (the same correlation scan_motif computes), for the plot.
    x = one_hot(seq)
    n = len(seq) - 10 + 1
    fwd = sum(x[j:j + n] @ pwm[j] for j in range(10))
    rev = sum(x[j:j + n] @ pwm[::-1, ::-1][j] for j in range(10))

    fig = Figure(figsize=(14, 8.5), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[1.2, 1, 1])
    a_pwm = fig.add_subplot(grid[0, 0])
    a_hot = fig.add_subplot(grid[0, 1])
    a_plus = fig.add_subplot(grid[1, :])
    a_minus = fig.add_subplot(grid[2, :], sharex=a_plus, sharey=a_plus)

    im = a_pwm.imshow(pwm.T, cmap="RdBu_r", vmin=-4, vmax=4, aspect="auto")
    a_pwm.set_yticks(range(4), list("ACGT"))
    a_pwm.set_xticks(range(10), [f"{j}\n{c}" for j, c in enumerate(consensus)])
    a_pwm.set_xlabel("motif position / consensus base")
    for j in range(10):
        for b in range(4):
            a_pwm.text(j, b, f"{pwm[j, b]:.1f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=a_pwm, label="log2(p / background)")
    a_pwm.set_title(f"log-odds PWM (pseudocount 0.25): max score {best:.1f} bits")

    start = planted[0][0] - 8
    window = x[start:start + 26]
    a_hot.imshow(window.T, cmap="Greys", aspect="auto", vmin=0, vmax=1)
    a_hot.set_yticks(range(4), list("ACGT"))
    a_hot.set_xticks(range(26), list(seq[start:start + 26]), fontsize=8)
    a_hot.axvspan(7.5, 17.5, color="tab:red", alpha=0.2)
    a_hot.set_title(f"one-hot sequence around the site at {planted[0][0]} (shaded): rows A, C, G, T")

    pos = np.arange(n)
    for ax, strand, score, colour in ((a_plus, "+", fwd, "tab:blue"), (a_minus, "-", rev, "tab:orange")):
        ax.plot(pos, score, lw=0.5, color=colour, label=f"{strand} strand score")
        ax.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"threshold {threshold:.1f} (60 % of max)")
        for p, s_ in planted:
            if s_ == strand:
                ax.axvline(p, color="tab:green", lw=2, alpha=0.4)
        for h in hits:
            if h.strand == strand:
                ax.plot(h.position, h.score, "v", color="tab:red", ms=9)
                ax.annotate(f"{h.position}: {h.score:.1f}", (h.position, h.score), xytext=(7, 2),
                            textcoords="offset points", fontsize=9)
        ax.set_ylabel("log2-odds score")
        ax.set_ylim(-30, 1.3 * best)
        ax.legend(loc="lower right", ncol=2, fontsize=9)
    a_plus.set_title("correlation of the one-hot sequence with the PWM (green: planted sites, red: hits)")
    a_minus.set_title("the same with the reverse-complemented PWM: hits on the - strand")
    a_minus.set_xlabel("window start (0-based, forward strand)")
    fig.suptitle("freqlens.conv.apps.dna: motif scanning by correlation", fontsize=15)
    fig.savefig(out, dpi=80)
    print(f"planted: {planted}")
    for h in hits:
        site = seq[h.position:h.position + 10]
        print(f"hit {h.position:5d} {h.strand} score {h.score:6.2f}  "
              f"{site if h.strand == '+' else reverse_complement(site)}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
