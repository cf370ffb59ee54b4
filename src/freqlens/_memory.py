"""How much memory a new allocation may take: the one place freqlens asks the OS (used to refuse early)."""

from __future__ import annotations

import os


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
