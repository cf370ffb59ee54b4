"""Pieces shared by the CLI modules of the applications: image input/output options and checks, text output.

Private to :mod:`freqlens.cli`. Only typer and the standard library are imported here; numpy and the readers
load inside the functions, when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional, Tuple

import typer

from freqlens.errors import FreqlensError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

ImageArg = typer.Argument(None, help="Input image file (or use --sample).")
SampleOpt = typer.Option(None, "--sample", help="A bundled scikit-image picture instead of IMAGE, e.g. camera.")
ImageOut = typer.Option(..., "--output", "-o", help="Output image (.png, .jpg, .tif); written atomically.")


def load_image(image: Optional[Path], sample: Optional[str], *, as_gray: bool) -> Tuple[Any, str]:
    """The image of ``IMAGE`` or ``--sample NAME`` (exactly one) as float64 in [0, 1], and a label for it."""
    from freqlens.io import read_image, sample_image

    if (image is None) == (sample is None):
        raise FreqlensError("give exactly one of IMAGE or --sample NAME")
    if image is not None:
        return read_image(image, as_gray=as_gray), str(image)
    return sample_image(sample, as_gray=as_gray), f"sample {sample}"


def check_image_output(path: Path) -> None:
    """Fail before any computation if the output cannot be an image file in an existing folder."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise FreqlensError(f"output {path} must end in one of {', '.join(IMAGE_SUFFIXES)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FreqlensError(f"output folder does not exist: {folder}")


def shape_text(img: Any) -> str:
    """``'512x512, grey'`` or ``'512x512, 3 channels'``."""
    kind = "grey" if img.ndim == 2 else f"{img.shape[2]} channels"
    return f"{img.shape[0]}x{img.shape[1]}, {kind}"


def write_text(text: str, output: Optional[Path]) -> None:
    """Print ``text`` or write it atomically to ``output``."""
    if output is None:
        sys.stdout.write(text)
        return
    from freqlens.io import atomic_path

    with atomic_path(output) as tmp:
        tmp.write_text(text)
