"""CLI of DNA motif scanning: ``motif`` (a consensus motif or a weight matrix, both strands).

Sequences come from the command line or :func:`freqlens.io.read_fasta`, matrices from
:func:`freqlens.conv.apps.dna.read_pwm`. Bad input raises :class:`freqlens.FreqlensError`, which
``freqlens.cli.main`` prints as one line with exit code 2. Only typer and the standard library load with this
module; the rest loads when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from freqlens.errors import FreqlensError


def register(app: typer.Typer) -> None:
    """Add ``motif`` to the app."""
    app.command("motif")(motif_cmd)


def motif_cmd(
    sequence: Optional[str] = typer.Argument(None, help="DNA sequence (A, C, G, T, N), or use --fasta."),
    fasta: Optional[Path] = typer.Option(None, "--fasta", help="FASTA file; every record is scanned."),
    motif: Optional[str] = typer.Option(None, "--motif", help="Consensus motif, e.g. TGANTCA (N = any base)."),
    pwm: Optional[Path] = typer.Option(
        None, "--pwm", help="Weight matrix file: rows A C G T per position (.npy, text, JASPAR-style)."
    ),
    log_odds: bool = typer.Option(False, "--log-odds", help="--pwm holds counts: convert to log2-odds."),
    threshold: Optional[float] = typer.Option(
        None, "--threshold", help="Minimum score (default: the motif's maximum, i.e. exact matches)."
    ),
    single_strand: bool = typer.Option(False, "--single-strand", help="Scan the forward strand only."),
) -> None:
    """Scan DNA for a motif or PWM on both strands; print the hits (0-based start on the + strand)."""
    from freqlens.conv.apps.dna import pwm_log_odds, read_pwm, reverse_complement, scan_motif
    from freqlens.io import read_fasta

    if (sequence is None) == (fasta is None):
        raise FreqlensError("give exactly one of SEQUENCE or --fasta FILE")
    if (motif is None) == (pwm is None):
        raise FreqlensError("give exactly one of --motif ACGT... or --pwm FILE")
    if log_odds and pwm is None:
        raise FreqlensError("--log-odds applies to --pwm")
    if pwm is not None:
        matrix = read_pwm(pwm)
        query = pwm_log_odds(matrix) if log_odds else matrix
        label = f"PWM {pwm} (width {matrix.shape[0]}{', log2-odds' if log_odds else ''})"
    else:
        query, label = motif, f"motif {motif}"
    if sequence is not None and Path(sequence).exists() and not set(sequence.upper()) <= set("ACGTN"):
        raise FreqlensError(f"{sequence!r} looks like a file; use --fasta {sequence}")
    records = [("sequence", sequence)] if sequence is not None else read_fasta(fasta)
    width = matrix.shape[0] if pwm is not None else len(motif)
    total = 0
    rows = []
    for name, seq in records:
        try:
            hits = scan_motif(seq, query, threshold=threshold, both_strands=not single_strand)
        except FreqlensError as exc:
            if fasta is None:
                raise
            raise FreqlensError(f"record {name}: {exc}") from None
        total += len(hits)
        for h in hits:
            site = seq[h.position:h.position + width]
            rows.append((name, h.position, h.strand, h.score,
                         site if h.strand == "+" else reverse_complement(site)))
    bases = sum(len(s) for _, s in records)
    typer.echo(f"{label}: {total} hit(s) in {len(records)} record(s), {bases} bases")
    if rows:
        w_name = max(6, max(len(r[0]) for r in rows))
        typer.echo(f"{'record':{w_name}s} {'start':>7s} strand {'score':>8s}  site (5'->3' on its strand)")
        for name, pos, strand, score, site in rows:
            typer.echo(f"{name:{w_name}s} {pos:7d} {strand:^6s} {score:8.3f}  {site}")
