"""The download button: a version's files as a streamed ``.tar.gz``.

The files are fetched by :func:`landmark.storage.get.get` (its path guard decides what a
repository's pointer files and manifests may name) into a private temporary folder, which is
then packed as it is sent. Links are packed as links, never followed, so nothing outside the
fetched files is read; the folder is removed when the response ends.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ..errors import NotFound
from .catalog import Source

CHUNK = 256 * 1024


class _Pipe:
    """A file object for tarfile's stream mode: each write goes to a bounded queue."""

    def __init__(self, out: queue.Queue[bytes | BaseException | None]) -> None:
        self.out = out
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.out.put(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.out.put(bytes(self.buffer))
            self.buffer.clear()


def fetch(source: Source, name: str, version: str) -> tuple[Path, Path]:
    """(temporary folder to remove, the fetched file or folder inside it)."""
    from ..storage.get import default_destination, get, locate

    ref = f"{name}@{version}"
    leaf = default_destination(locate(source.registry, ref)).name
    tmp = Path(tempfile.mkdtemp(prefix="landmark-ui-"))
    try:
        out = get(ref, repo=source.location, out=tmp / "files" / leaf)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not (out.exists() or out.is_symlink()):  # pragma: no cover - get wrote it
        shutil.rmtree(tmp, ignore_errors=True)
        raise NotFound(f"{name}@{version} has no files")
    return tmp, out


def _members(top: Path) -> Iterator[tuple[Path, str]]:
    if not top.is_dir() or top.is_symlink():
        yield top, ""
        return
    for folder, dirs, files in os.walk(top, followlinks=False):
        dirs.sort()
        rel = os.path.relpath(folder, top)
        for f in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            yield Path(folder) / f, f if rel == "." else f"{rel}/{f}"


def stream(tmp: Path, top: Path, prefix: str) -> Iterator[bytes]:
    """The ``.tar.gz`` of ``top`` (entries under ``prefix/``), in chunks; removes ``tmp``."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def pack() -> None:
        pipe = _Pipe(chunks)
        try:
            with tarfile.open(fileobj=pipe, mode="w|gz") as tar:  # type: ignore[call-overload]
                for path, rel in _members(top):
                    if stop.is_set():
                        return
                    arc = f"{prefix}/{rel or top.name}"
                    tar.add(path, arcname=arc, recursive=False)
            pipe.flush()
            chunks.put(None)
        except BaseException as e:  # the client sees a cut stream; nothing else can be said
            chunks.put(e)

    worker = threading.Thread(target=pack, name="landmark-ui-tar", daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if item is None or isinstance(item, BaseException):
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a blocked put finish
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["fetch", "stream"]
