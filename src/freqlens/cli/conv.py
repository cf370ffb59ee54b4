"""CLI: ``freqlens conv IMAGE --kernel NAME ... -o OUT`` and ``freqlens conv explain``.

``conv`` is a command group with two commands, ``apply`` and ``explain``; any arguments that do not start with a
command name go to ``apply``, so ``freqlens conv photo.png --kernel gaussian -o blur.png`` and
``freqlens conv apply photo.png ...`` are the same (an image literally named ``explain`` needs the long form).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from typer.core import TyperGroup

from freqlens.errors import FreqlensError

# The worked example of many CNN tutorials (a 0/1 image and an "X" kernel): valid output [[4,3,4],[2,4,3],[2,3,4]].
TEXTBOOK_INPUT = "1,1,1,0,0; 0,1,1,1,0; 0,0,1,1,1; 0,0,1,1,0; 0,1,1,0,0"
TEXTBOOK_KERNEL = "1,0,1; 0,1,0; 1,0,1"

_GROUP_HELP = """Convolve an image with a catalogue kernel, or explain a small convolution step by step.

\b
  freqlens conv IMAGE --kernel NAME [--param key=value ...] -o OUT.png
  freqlens conv --sample camera --kernel gaussian -p sigma=2 -o blur.png
  freqlens conv explain          (the textbook 5x5 input, 3x3 kernel)
  freqlens conv explain --input "1,2,3;4,5,6;7,8,9" --kernel "1,0;0,-1"

`freqlens conv IMAGE ...` is short for `freqlens conv apply IMAGE ...`. \
Kernels are applied as written (cross-correlation, like cv2.filter2D and torch); \
--flip flips them (true convolution).
"""


class _DefaultApplyGroup(TyperGroup):
    """A group whose arguments go to ``apply`` unless they start with a command name (or ask for help)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["apply", *args]
        return super().parse_args(ctx, args)


def parse_params(items: list[str]) -> dict[str, str]:
    """``['sigma=2', 'size=5']`` -> ``{'sigma': '2', 'size': '5'}`` (kernel parameters from the CLI)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FreqlensError(f"--param must look like name=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def parse_matrix(text: str, name: str) -> Any:
    """``"1,2,3;4,5,6"`` -> a 2-D float array (rows by ``;``, values by ``,`` or spaces); no ``;`` -> 1-D."""
    import numpy as np

    rows = [r for r in text.strip().strip(";").split(";")]
    try:
        values = [[float(v) for v in r.replace(",", " ").split()] for r in rows]
    except ValueError:
        raise FreqlensError(f"{name} must be numbers like '1,2,3;4,5,6' (rows separated by ';'), got {text!r}")
    if not values or any(len(r) == 0 for r in values):
        raise FreqlensError(f"{name} has an empty row: {text!r}")
    if len({len(r) for r in values}) != 1:
        raise FreqlensError(f"{name} rows have different lengths ({', '.join(str(len(r)) for r in values)}): {text!r}")
    arr = np.array(values)
    return arr[0] if len(values) == 1 and ";" not in text else arr


def _kernel_from_text(text: str) -> Any:
    """A matrix like ``"1,0;0,-1"``, or a catalogue name (e.g. ``sobel_x``)."""
    stripped = text.strip()
    if stripped and (stripped[0].isdigit() or stripped[0] in "-+.,;"):
        return parse_matrix(stripped, "--kernel")
    from freqlens.conv.kernels import get_kernel

    return get_kernel(stripped)


def _scaled(y: Any, scale: str) -> Any:
    import numpy as np

    if scale == "clip":
        return y
    if scale == "abs":
        return np.abs(y)
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    return (y - lo) / (hi - lo) if hi > lo else np.zeros_like(y)


def register(app: typer.Typer) -> None:
    """Add the ``conv`` command group to the app."""
    conv_app = typer.Typer(cls=_DefaultApplyGroup, no_args_is_help=True, help=_GROUP_HELP, add_completion=False)

    @conv_app.command("apply")
    def apply_cmd(
        image: Optional[Path] = typer.Argument(None, help="Input image (PNG, JPEG, TIFF...). Or use --sample."),
        kernel: Optional[str] = typer.Option(None, "--kernel", "-k", help="Kernel name (see `freqlens kernels`)."),
        param: List[str] = typer.Option([], "--param", "-p", help="Kernel parameter key=value (repeatable)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o",
                                              help="Output image; .npy keeps the raw float result."),
        sample: Optional[str] = typer.Option(None, "--sample", help="A bundled scikit-image picture instead of "
                                             "IMAGE (camera, astronaut, coins, ...)."),
        mode: str = typer.Option("same", "--mode", help="Output size: same, valid or full."),
        boundary: str = typer.Option("reflect", "--boundary",
                                     help="Edges: zero, constant, reflect, symmetric, edge or wrap."),
        stride: int = typer.Option(1, "--stride", help="Step between output pixels."),
        dilation: int = typer.Option(1, "--dilation", help="Spacing between kernel taps."),
        flip: bool = typer.Option(False, "--flip", help="Flip the kernel (true convolution, as scipy.signal); "
                                  "default applies it as written (correlation, as cv2.filter2D)."),
        gray: bool = typer.Option(False, "--gray", help="Convert a colour image to gray first."),
        scale: str = typer.Option("clip", "--scale", help="Map the result to [0, 1] for the image file: clip, "
                                  "abs (edge magnitude) or rescale (min..max)."),
        method: str = typer.Option("auto", "--method", help="auto, direct, fft or overlap-add."),
    ) -> None:
        """Filter IMAGE (or --sample NAME) with a catalogue kernel and write the result atomically."""
        import numpy as np

        from freqlens.conv import convolve, correlate
        from freqlens.conv.kernels import get_kernel
        from freqlens.io import atomic_path, read_image, sample_image, write_image

        if (image is None) == (sample is None):
            raise FreqlensError("give exactly one of IMAGE or --sample NAME")
        if kernel is None:
            raise FreqlensError("--kernel NAME is required (see `freqlens kernels` for the catalogue)")
        if output is None:
            raise FreqlensError("-o/--output OUT is required (.png, .jpg, .tif, or .npy for raw values)")
        if output.suffix.lower() not in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy"):
            raise FreqlensError(f"output {output} must end in .png, .jpg, .tif, .bmp or .npy")
        if output.is_dir():
            raise FreqlensError(f"output {output} is a directory; give a file name")
        if not (output.parent if str(output.parent) else Path(".")).is_dir():
            raise FreqlensError(f"output folder does not exist: {output.parent}")
        if scale not in ("clip", "abs", "rescale"):
            raise FreqlensError(f"--scale must be clip, abs or rescale, got {scale!r}")
        weights = np.asarray(get_kernel(kernel, **parse_params(param)))
        if weights.ndim != 2:
            raise FreqlensError(f"kernel {kernel!r} is {weights.ndim}-D; images need a 2-D kernel")
        img = read_image(image, as_gray=gray) if image is not None else sample_image(sample, as_gray=gray)
        op = convolve if flip else correlate
        y = op(img, weights, mode=mode, boundary=boundary, stride=stride, dilation=dilation, axes=(0, 1),
               method=method)
        if output.suffix.lower() == ".npy":
            with atomic_path(output) as tmp:
                np.save(tmp, y)
        else:
            write_image(output, _scaled(y, scale))
        what = "convolution (flipped)" if flip else "correlation (as written)"
        typer.echo(f"wrote {output}: {'x'.join(map(str, y.shape))}, kernel {kernel} "
                   f"{'x'.join(map(str, weights.shape))}, {what}, mode {mode}, boundary {boundary}, "
                   f"range [{float(np.nanmin(y)):.4g}, {float(np.nanmax(y)):.4g}]")

    @conv_app.command("explain")
    def explain_cmd(
        input: Optional[str] = typer.Option(None, "--input", "-i", help="Input numbers, rows separated by ';' "
                                            "(default: the textbook 5x5 example)."),
        kernel: Optional[str] = typer.Option(None, "--kernel", "-k", help="Kernel numbers like '1,0;0,-1' or a "
                                             "catalogue name (default: the textbook 3x3 'X')."),
        stride: int = typer.Option(1, "--stride", help="Step between outputs."),
        mode: str = typer.Option("valid", "--mode", help="valid, same or full."),
        dilation: int = typer.Option(1, "--dilation", help="Spacing between kernel taps."),
        boundary: str = typer.Option("zero", "--boundary", help="zero, reflect, symmetric, edge or wrap."),
        flip: bool = typer.Option(False, "--flip", help="Flip the kernel first (true convolution)."),
    ) -> None:
        """Print every output of a small convolution: its window, the products and their sum."""
        from freqlens.conv.explain import explain

        x = parse_matrix(input if input is not None else TEXTBOOK_INPUT, "--input")
        k = _kernel_from_text(kernel if kernel is not None else TEXTBOOK_KERNEL)
        if x.ndim == 2 and k.ndim == 1:  # "1,0,-1" against a 2-D input: one row
            k = k[None, :]
        typer.echo(explain(x, k, stride=stride, mode=mode, dilation=dilation, boundary=boundary,
                           flip=flip).to_table())

    app.add_typer(conv_app, name="conv", help=_GROUP_HELP, short_help=_GROUP_HELP.split("\n")[0])
