"""Shared by the dataset readers: byte counts for messages and the memory check made before any allocation."""

from __future__ import annotations

from freqlens import _memory
from freqlens.errors import DataError

__all__ = ["check_memory", "format_bytes"]


def format_bytes(n: int | float) -> str:
    """A byte count for messages: ``"512 bytes"``, ``"3.2 KiB"``, ``"44.9 MiB"``, ``"1.25 GiB"``.

    Examples
    --------
    >>> format_bytes(512), format_bytes(47040000), format_bytes(3 << 30)
    ('512 bytes', '44.9 MiB', '3.00 GiB')
    """
    n = float(n)
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{int(n)} bytes"


def check_memory(need: int, what: str, *, error: type[Exception] = DataError) -> None:
    """Raise ``error`` (one line, with both figures) when ``need`` bytes exceed the memory available now.

    ``what`` completes the sentence "``what`` would need ... of memory", e.g. ``"loading mnist (train)"``.
    """
    avail = _memory.available_memory()
    if need > avail:
        raise error(f"{what} would need {format_bytes(need)} of memory but only {format_bytes(avail)} is available")
