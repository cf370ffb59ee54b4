"""One process per run: an exclusive ``flock`` on ``<run folder>/.lock`` held while the run trains.

The kernel drops the lock when its holder dies, however it dies (SIGKILL included), so a held lock means a live
process is training the run - no process-id guessing, no stale locks, nothing to clean up.
"""

from __future__ import annotations

import os
from pathlib import Path

from freqlens.errors import StoreError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; one process per run is not enforced
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


class RunLock:
    """``with RunLock(folder, run_id):`` - refuse with :class:`StoreError` when another process holds it."""

    def __init__(self, folder: Path, run_id: str):
        self.path = Path(folder) / LOCK_NAME
        self.run_id = run_id
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        if not self.path.parent.is_dir():
            raise StoreError(f"run folder {self.path.parent} is missing")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise StoreError(f"run {self.run_id} is being trained by process {holder}; wait for it to finish "
                                 "(or stop it) before resuming") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(folder: Path) -> bool:
    """True when a live process holds the run's lock (read-only probe: the file is neither created nor written)."""
    path = Path(folder) / LOCK_NAME
    if fcntl is None or not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
