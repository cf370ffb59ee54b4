"""CLI of the image applications: ``edges``, ``blur``, ``sharpen`` and ``match`` (template matching).

Each command parses, calls :mod:`freqlens.conv.apps` (images, matching), prints, and writes through
:mod:`freqlens.io` (atomic: a failed command never leaves a half-written file and never replaces an existing
output). Bad input raises :class:`freqlens.FreqlensError`, which ``freqlens.cli.main`` prints as one line with
exit code 2. Only typer and the standard library load with this module; the rest loads when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import typer

from freqlens.cli._common import ImageArg, ImageOut, SampleOpt, check_image_output, load_image, shape_text
from freqlens.errors import FreqlensError


def register(app: typer.Typer) -> None:
    """Add ``edges``, ``blur``, ``sharpen`` and ``match`` to the app."""
    app.command("edges")(edges_cmd)
    app.command("blur")(blur_cmd)
    app.command("sharpen")(sharpen_cmd)
    app.command("match")(match_cmd)


def edges_cmd(
    image: Optional[Path] = ImageArg,
    sample: Optional[str] = SampleOpt,
    output: Path = ImageOut,
    operator: str = typer.Option("sobel", "--operator", help="sobel, prewitt or scharr."),
    threshold: Optional[str] = typer.Option(
        None, "--threshold", help="Write the edge mask magnitude > T (a number or 'otsu') instead of magnitude."
    ),
) -> None:
    """Gradient edges of a grey-level image: the magnitude (scaled to its maximum) or a thresholded mask."""
    import numpy as np

    from freqlens.conv.apps.images import edges
    from freqlens.io import write_image

    check_image_output(output)
    thr: Optional[object] = None
    if threshold is not None:
        if threshold.strip().lower() == "otsu":
            thr = "otsu"
        else:
            try:
                thr = float(threshold)
            except ValueError:
                raise FreqlensError(f"--threshold must be a number or 'otsu', got {threshold!r}") from None
    img, label = load_image(image, sample, as_gray=True)
    res = edges(img, operator=operator, threshold=thr)
    finite = res.magnitude[np.isfinite(res.magnitude)]
    top = float(finite.max()) if finite.size else 0.0
    typer.echo(f"image: {label} ({shape_text(img)})")
    mean = float(finite.mean()) if finite.size else 0.0
    typer.echo(f"{operator} gradient magnitude: max {top:.4g}, mean {mean:.4g} (grey levels per pixel)")
    if res.mask is not None:
        what = "the Otsu threshold" if thr == "otsu" else f"{thr:g}"
        typer.echo(f"edge pixels (magnitude > {what}): {100 * res.mask.mean():.1f} %")
        write_image(output, res.mask.astype(float))
    else:
        # Most edges are far weaker than the strongest one: scale so the 99th percentile is white.
        scale = float(np.percentile(finite, 99)) if finite.size else 0.0
        scale = scale if scale > 0 else (top if top > 0 else 1.0)
        typer.echo(f"image shows magnitude / {scale:.4g} (its 99th percentile), clipped to [0, 1]")
        write_image(output, res.magnitude / scale)
    typer.echo(f"wrote {output}")


def blur_cmd(
    image: Optional[Path] = ImageArg,
    sample: Optional[str] = SampleOpt,
    output: Path = ImageOut,
    sigma: Optional[float] = typer.Option(None, "--sigma", help="Gaussian standard deviation in pixels."),
    size: Optional[int] = typer.Option(None, "--size", help="Window side in pixels (box, median)."),
    kind: str = typer.Option("gaussian", "--kind", help="gaussian (needs --sigma), box or median (--size)."),
    gray: bool = typer.Option(False, "--gray", help="Convert a colour image to grey levels first."),
) -> None:
    """Blur an image (colour channels separately): Gaussian, box or median."""
    from freqlens.conv.apps.images import blur
    from freqlens.io import write_image

    check_image_output(output)
    img, label = load_image(image, sample, as_gray=gray)
    out = blur(img, sigma, size=size, kind=kind, channel_axis=-1 if img.ndim == 3 else None)
    param = f"sigma={sigma:g}" if sigma is not None else f"size={size}"
    typer.echo(f"image: {label} ({shape_text(img)}); {kind} blur, {param}")
    write_image(output, out)
    typer.echo(f"wrote {output}")


def sharpen_cmd(
    image: Optional[Path] = ImageArg,
    sample: Optional[str] = SampleOpt,
    output: Path = ImageOut,
    amount: float = typer.Option(1.0, "--amount", help="Strength: 0 = unchanged, 1 = detail doubled."),
    radius: float = typer.Option(2.0, "--radius", help="Gaussian standard deviation (pixels) defining detail."),
    gray: bool = typer.Option(False, "--gray", help="Convert a colour image to grey levels first."),
) -> None:
    """Sharpen an image by unsharp masking: I + amount * (I - gaussian(I, radius)), clipped to [0, 1]."""
    import numpy as np

    from freqlens.conv.apps.images import sharpen
    from freqlens.io import write_image

    check_image_output(output)
    img, label = load_image(image, sample, as_gray=gray)
    out = sharpen(img, amount, radius, channel_axis=-1 if img.ndim == 3 else None)
    clipped = float(np.mean((out < 0) | (out > 1)))
    typer.echo(f"image: {label} ({shape_text(img)}); unsharp mask amount={amount:g}, radius={radius:g}")
    typer.echo(f"values clipped to [0, 1]: {100 * clipped:.2f} %")
    write_image(output, out)
    typer.echo(f"wrote {output}")


def match_cmd(
    image: Optional[Path] = typer.Argument(None, help="Image to search (grey levels)."),
    template: Optional[Path] = typer.Argument(None, help="Template image (or use --crop)."),
    sample: Optional[str] = SampleOpt,
    crop: Optional[Tuple[int, int, int, int]] = typer.Option(
        None, "--crop", metavar="ROW COL HEIGHT WIDTH", help="Cut the template out of the image itself."
    ),
    k: int = typer.Option(5, "-k", "--top", help="Number of matches to print."),
    min_distance: Optional[int] = typer.Option(
        None, "--min-distance", help="Minimum pixels between matches (default: half the template size)."
    ),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Only matches scoring at least this."),
    uncentered: bool = typer.Option(False, "--uncentered", help="Plain cosine similarity (no mean removal)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the score map as an image."),
) -> None:
    """Template matching by normalised cross-correlation; print the best matches (top-left row, col)."""
    import numpy as np

    from freqlens.conv.apps.matching import best_matches, match_template
    from freqlens.io import read_image, write_image

    if output is not None:
        check_image_output(output)
    if sample is not None and image is not None and template is None:
        image, template = None, image  # `--sample NAME TEMPLATE`
    img, label = load_image(image, sample, as_gray=True)
    if (template is None) == (crop is None):
        raise FreqlensError("give exactly one of TEMPLATE or --crop ROW COL HEIGHT WIDTH")
    if crop is not None:
        r0, c0, h, w = crop
        if h < 1 or w < 1 or r0 < 0 or c0 < 0 or r0 + h > img.shape[0] or c0 + w > img.shape[1]:
            raise FreqlensError(f"--crop {r0} {c0} {h} {w} does not fit in the {img.shape[0]}x{img.shape[1]} image")
        tmpl = img[r0:r0 + h, c0:c0 + w].copy()
        tlabel = f"crop rows {r0}:{r0 + h}, cols {c0}:{c0 + w}"
    else:
        tmpl = read_image(template, as_gray=True)
        tlabel = str(template)
    ncc = match_template(img, tmpl, centered=not uncentered)
    md = min_distance if min_distance is not None else max(1, min(tmpl.shape) // 2)
    hits = best_matches(ncc, k, min_distance=md, threshold=threshold)
    typer.echo(f"image: {label} ({shape_text(img)}); template: {tlabel} ({tmpl.shape[0]}x{tmpl.shape[1]})")
    typer.echo(f"{'rank':>4s} {'row':>5s} {'col':>5s} {'score':>7s}")
    for rank, m in enumerate(hits, 1):
        typer.echo(f"{rank:4d} {m.row:5d} {m.col:5d} {m.score:7.4f}")
    if output is not None:
        write_image(output, (np.nan_to_num(ncc, nan=-1.0) + 1.0) / 2.0)
        typer.echo(f"wrote {output} (score map, -1 black .. 1 white)")
