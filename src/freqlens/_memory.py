"""Memory: how much a new allocation may take, and the one guard that refuses a request before it allocates.

Every size a user can set (points, widths, samples, images, kernels) goes through :func:`refuse_if_too_big` with
the bytes it will need, *before* anything of that size is allocated or scanned, so an impossible request fails in
milliseconds with a one-line message instead of swapping the machine or dying in the kernel's OOM killer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from freqlens.errors import FreqlensError

# Requests below this size are never refused (and skip the system call): every machine freqlens runs on has it.
_SMALL = 256 << 20


def available_memory() -> int:
    """Bytes of RAM available to a new allocation: ``MemAvailable`` of /proc/meminfo (Linux), else the free
    pages; ``1 << 62`` (never refuse) where the OS does not say."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not POSIX
        return 1 << 62


def format_bytes(n: float) -> str:
    """``'3.50 GiB'`` from one GiB up, ``'12 MiB'`` below.

    Examples
    --------
    >>> format_bytes(3.5 * 2**30), format_bytes(12 * 2**20)
    ('3.50 GiB', '12 MiB')
    """
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def refuse_if_too_big(parts: Mapping[str, float] | float, what: str, device: Any = None, *, hint: str | None = None,
                      error: type[Exception] = FreqlensError) -> None:
    """Raise ``error`` (a :class:`freqlens.FreqlensError` by default) when a request would not fit in memory.

    Parameters
    ----------
    parts : mapping of str to bytes, or bytes
        The buffers the computation holds at its peak, by name (``{"output": ..., "FFT buffers": ...}``), or
        their total.
    what : str
        The request, as the message's subject: ``"convolve"``, ``"a 100000x100000 image"``.
    device : torch.device, optional
        A CUDA device compares against its free memory (``torch.cuda.mem_get_info``); anything else against RAM.
    hint : str, optional
        What the user can do instead, appended after a semicolon.
    error : exception class
        The class raised (e.g. :class:`freqlens.DataError` for files).

    Notes
    -----
    One line: ``{what} would need about {need} of memory ({parts}) but only {available} is available {where};
    {hint}``. Requests under 256 MiB pass without asking the OS.

    Examples
    --------
    >>> refuse_if_too_big({"output": 8 * 10**3}, "a small request")  # nothing happens
    >>> refuse_if_too_big(2**70, "a 2**70-byte request", hint="ask for less")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    freqlens.errors.FreqlensError: a 2**70-byte request would need about 1099511627776.00 GiB of memory but ...; ask for less
    """
    named: Mapping[str, float] = parts if isinstance(parts, Mapping) else {}
    need = float(sum(named.values())) if named else float(parts)  # type: ignore[arg-type]
    if need < _SMALL:  # checked first: this runs on every convolve call
        return
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        import torch

        avail, where = int(torch.cuda.mem_get_info(device)[0]), f"on {device}"
    else:
        avail, where = available_memory(), "in RAM"
    if need <= avail:
        return
    shown = [f"{name} {format_bytes(v)}" for name, v in named.items() if v >= (1 << 20)]
    detail = f" ({', '.join(shown)})" if len(shown) > 1 else ""
    raise error(f"{what} would need about {format_bytes(need)} of memory{detail} but only {format_bytes(avail)} "
                f"is available {where}" + (f"; {hint}" if hint else ""))
