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
    from freqlens.cli import conv, dna, images, kernels, lab, signals, spectrum, timeseries

    for module in (lab, conv, kernels, spectrum, images, signals, timeseries, dna):
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and ``python -m freqlens``: every error is one line, exit code 2."""
    try:
        rv = app(args=argv, prog_name="freqlens", standalone_mode=False)
    except (FreqlensError, ValueError, TypeError, OSError, OverflowError) as exc:
        _fail(str(exc) or type(exc).__name__)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except Exception as exc:
        # typer/click usage errors (bad option value, missing argument, unknown option): their own message,
        # on one line, instead of click's multi-line usage box. Abort is click's form of Ctrl-C.
        if type(exc).__name__ == "Abort":
            _interrupted(exc.__context__)
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            if not exc.format_message().strip():  # no arguments at all: the help was printed
                sys.exit(int(exc.exit_code))
            command = getattr(getattr(exc, "ctx", None), "command_path", "freqlens")
            _fail(f"{exc.format_message()} (see '{command} --help')", code=int(exc.exit_code))
        raise
    except BaseException as exc:
        if type(exc).__name__ == "Terminated":  # SIGTERM during a run (freqlens.lab.runner)
            _interrupted(exc)
        raise
    sys.exit(rv if isinstance(rv, int) else 0)


def _interrupted(exc: BaseException | None) -> None:
    """Ctrl-C exits 130, SIGTERM (the lab's ``Terminated``) 143; a run already said what became of it."""
    terminated = type(exc).__name__ == "Terminated"
    if not getattr(exc, "reported", False):
        print(f"freqlens: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
    sys.exit(143 if terminated else 130)


def _fail(text: str, code: int = 2) -> None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    print(f"freqlens: error: {' '.join(lines) if len(lines) <= 3 else lines[0]}", file=sys.stderr)
    sys.exit(code)
