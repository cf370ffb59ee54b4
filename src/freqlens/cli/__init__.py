"""The ``freqlens`` command line: one typer app, one module per command group.

Each command module defines ``register(app)``. Errors raised by the API (:class:`freqlens.FreqlensError`,
``ValueError``, ``TypeError``, ``OSError``) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from freqlens.errors import FreqlensError

app = typer.Typer(
    name="freqlens",
    help="freqlens: convolution and neural-network learning in the frequency domain.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from freqlens.cli import apps, conv, kernels, lab, spectrum

    for module in (lab, conv, kernels, spectrum, apps):
        module.register(app)


_register_all()


def fail(message: str) -> None:
    """Print one error line and exit with code 2 (for CLI-level checks)."""
    raise FreqlensError(message)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and ``python -m freqlens``."""
    try:
        # standalone mode: typer/click print usage errors themselves (exit 2) and handle --help.
        app(args=argv, prog_name="freqlens")
    except (FreqlensError, ValueError, TypeError, OSError) as exc:
        text = str(exc).strip()
        msg = text.splitlines()[0] if text else type(exc).__name__
        print(f"freqlens: error: {msg}", file=sys.stderr)
        sys.exit(2)
