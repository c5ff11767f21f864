"""An exclusive lock on a file for the length of a ``with`` block: processes, and threads (each
holder opens the file anew), take turns."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

_OPEN = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (made, with its folders, where missing)."""
    import fcntl

    target = os.fspath(path)
    try:
        fd = os.open(target, _OPEN, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        fd = os.open(target, _OPEN, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


__all__ = ["locked"]
