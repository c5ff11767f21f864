"""MD5 hashing of files and DVC 3 directory manifests (``.dir`` objects)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import IntegrityError

# Small enough to stay in the CPU cache between read() and md5 (faster than MiB buffers here),
# large enough that the per-call overhead is nothing; hashlib drops the GIL above 2 KiB.
BLOCK = 128 * 1024
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
# From this size a file is read on a second thread while this one hashes (see _md5_piped).
PIPE_FROM = 8 * 1024 * 1024
PIPE_BLOCK = 1024 * 1024
PIPE_BUFFERS = 4


def file_md5(path: str | os.PathLike[str], size: int | None = None) -> str:
    """The md5 hex digest of a file's bytes, read once in large blocks. ``size`` (from a
    ``stat`` the caller made anyway) saves one ``fstat`` per file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if size is None:
            size = os.fstat(fd).st_size
        if size < BLOCK:
            # Small files: one read, no buffer; a short read is the end of a regular file.
            data = os.read(fd, size + 1)
            h = hashlib.md5(data)
            if len(data) <= size:
                return h.hexdigest()
        elif size >= PIPE_FROM:
            return _md5_piped(fd)
        else:
            h = hashlib.md5()
        buf = bytearray(BLOCK)
        view = memoryview(buf)
        while n := os.readv(fd, [buf]):
            h.update(view[:n])
    finally:
        os.close(fd)
    return h.hexdigest()


def _md5_piped(fd: int) -> str:
    """md5 of what is left to read of ``fd``, read by a helper thread into a few buffers
    while this thread hashes them. md5 runs at one core's speed and can't be split; the
    reads (a copy out of the page cache, or a wait on the disk) then happen meanwhile on the
    other core instead of between the md5 calls: 1 GiB hashes at md5's own speed, faster
    than ``md5sum``, which reads and hashes in turn. Both sides drop the GIL."""
    import queue
    import threading

    free: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()
    full: queue.SimpleQueue[tuple[bytearray, int] | BaseException] = queue.SimpleQueue()
    for _ in range(PIPE_BUFFERS):
        free.put(bytearray(PIPE_BLOCK))

    def reader() -> None:
        try:
            while (buf := free.get()) is not None:
                n = os.readv(fd, [buf])
                full.put((buf, n))
                if n == 0:
                    return
        except BaseException as e:  # handed to the hashing thread, which raises it
            full.put(e)

    thread = threading.Thread(target=reader, name="landmark-md5-read", daemon=True)
    thread.start()
    h = hashlib.md5()
    try:
        while True:
            got = full.get()
            if isinstance(got, BaseException):
                raise got
            buf, n = got
            if n == 0:
                break
            h.update(memoryview(buf)[:n])
            free.put(buf)
    finally:
        free.put(None)  # stops the reader if this thread stopped first
        thread.join()
    return h.hexdigest()


def default_jobs() -> int:
    # One thread per core: hashing big files is CPU work (md5 drops the GIL), and for small
    # ones every system call trades the GIL, so extra threads only add switches (20,000
    # files of 1 KiB went in 1.4-1.7 s with 2 threads, 1.9-2.5 s with 4, here on 2 cores).
    return max(1, min(32, os.cpu_count() or 1))


def hash_files(paths: Sequence[str | os.PathLike[str]], jobs: int | None = None) -> list[str]:
    """md5 of each file, in the order given; many files are hashed on a thread pool."""
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs == 1 or len(paths) < 2:
        return [file_md5(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    # Chunks rather than one task per file: a future per 1 KiB file costs more than its md5.
    n = len(paths)
    size = max(1, min(256, n // (jobs * 4) or 1))
    chunks = [paths[i : i + size] for i in range(0, n, size)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        parts = pool.map(lambda chunk: [file_md5(p) for p in chunk], chunks)
        return [h for part in parts for h in part]


@dataclass(frozen=True)
class DirEntry:
    """One file of a tracked directory: its path inside the directory (posix), md5 and size."""

    relpath: str
    md5: str
    size: int = 0


def manifest_bytes(entries: Iterable[DirEntry]) -> bytes:
    """The ``.dir`` object's exact bytes as dvc 3 writes them.

    A JSON list of ``{"md5", "relpath"}`` objects sorted by the relpath *string* (so ``a-b/c``
    comes before ``a/b``), with json's default separators and ASCII escapes; sizes are not
    stored.
    """
    import json

    rows = sorted((e.relpath, e.md5) for e in entries)
    return json.dumps([{"md5": md5, "relpath": rel} for rel, md5 in rows]).encode()


def parse_manifest(data: bytes, source: str = ".dir object") -> list[DirEntry]:
    """The entries of a ``.dir`` object; sizes are 0 unless the manifest carries them."""
    import json

    from .pathguard import check_entries

    try:
        rows = json.loads(data)
        entries = [DirEntry(r["relpath"], r["md5"], int(r.get("size") or 0)) for r in rows]
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise IntegrityError(
            f"{source} is not a valid directory manifest ({e}); remove it and fetch it again"
        ) from e
    # Untrusted: whoever pushed the manifest chose these paths and hashes.
    check_entries([(e.relpath, e.md5) for e in entries], source)
    return entries


def manifest_hash(data: bytes) -> str:
    """The hash naming a ``.dir`` object: the md5 of its bytes plus ``.dir``."""
    return hashlib.md5(data).hexdigest() + ".dir"


_HEX = frozenset("0123456789abcdef")


def is_hash(value: str) -> bool:
    """Whether ``value`` is an md5 hex digest, optionally with ``.dir``."""
    core = value[:-4] if value.endswith(".dir") else value
    return len(core) == 32 and _HEX.issuperset(core)


def data_md5(data: bytes, md5: str) -> str:
    """The hash ``data`` would be stored under, in the style of ``md5`` (file or ``.dir``)."""
    digest = hashlib.md5(data).hexdigest()
    return digest + ".dir" if md5.endswith(".dir") else digest


__all__ = [
    "BLOCK",
    "EMPTY_MD5",
    "DirEntry",
    "data_md5",
    "file_md5",
    "hash_files",
    "is_hash",
    "manifest_bytes",
    "manifest_hash",
    "parse_manifest",
]
