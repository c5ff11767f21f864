"""Replacing a file atomically: the bytes go to a temp file in the same folder, which is then
renamed over the target, so that a reader finds the old file or the new one, never a part."""

from __future__ import annotations

import os
import stat

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (one ``os.write`` may take fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None, prefix: str = "."
) -> None:
    """Replace ``path`` with ``data``, whole or not at all; missing folders above it are made.

    ``mode``: the file's permission bits; None leaves what ``open(path, "wb")`` would: an
    existing file's mode, else 0o666 less the umask. The temp file, ``<prefix><name>.<random>
    .tmp`` beside ``path`` (hidden by default), is removed if anything fails.
    """
    target = os.fspath(path)
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f"{prefix}{name}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, _CREATE, 0o666)
    except FileNotFoundError:
        os.makedirs(folder or ".", exist_ok=True)
        fd = os.open(tmp, _CREATE, 0o666)
    try:
        try:
            if mode is None:
                try:  # noqa: SIM105 (contextlib costs the replayed commands' start-up)
                    os.fchmod(fd, stat.S_IMODE(os.stat(target).st_mode))
                except FileNotFoundError:
                    pass  # a new file: the umask's mode, as open() gives it
            else:
                os.fchmod(fd, mode)  # exactly this mode, whatever the umask
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:  # noqa: SIM105 (as above)
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = ["write_all", "write_atomic"]
