"""A remote that is a folder on this machine (or a mounted share): plain system calls.

fsspec's per-call overhead would dominate 1 KiB files, so a local remote gets its own store:
small objects are one read and one write, large ones are reflinked where the filesystem can or
copied while md5 runs beside the writes, and every object is published by rename.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...atomic import write_all
from ...errors import IntegrityError, LandmarkError, RemoteError
from ..cache import (
    TMP_PREFIX,
    ObjectCache,
    ObjectFolders,
    unlink_quiet,
    walk_objects,
    write_object,
)
from ..hashing import data_md5
from .base import LIST_THRESHOLD, RemoteStore, path_hash

SMALL_FILE = 1 << 20  # local copies up to this size are one read and one write


class LocalStore(RemoteStore, ObjectFolders):
    """A remote that is a directory on this machine (or a mounted share): plain system calls,
    reflinked where the filesystem can, published by rename."""

    # Small local copies are a few system calls each: threads beyond the cores only trade
    # the GIL back and forth (8 threads on 2 cores pushed 20,000 files 30% slower than 2).
    default_jobs = max(1, min(8, os.cpu_count() or 1))

    def __init__(self, root: Path, url: str | None = None) -> None:
        self.root = Path(root)
        self.url = url or os.fspath(root)
        self._base = os.path.join(os.fspath(self.root), "files", "md5")
        self._made: set[str] = set()
        self._reflink = True

    def __repr__(self) -> str:
        return f"LocalStore({self.url!r})"

    def _wrap(self, exc: OSError, what: str) -> LandmarkError:
        return RemoteError(f"{self.url}: {what} failed: {exc.strerror or exc}")

    def exists(self, md5: str) -> bool:
        return os.path.exists(self.ospath(md5))

    def exists_many(self, md5s: Iterable[str], jobs: int | None = None) -> set[str]:
        wanted = set(md5s)
        if len(wanted) <= LIST_THRESHOLD:
            return {m for m in wanted if os.path.exists(self.ospath(m))}
        by_prefix: dict[str, set[str]] = {}
        for m in wanted:
            by_prefix.setdefault(m[:2], set()).add(m[2:])
        found: set[str] = set()
        for prefix, rests in by_prefix.items():
            try:
                names = os.listdir(f"{self._base}/{prefix}")
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as e:
                raise self._wrap(e, "listing") from e
            found.update(prefix + n for n in rests.intersection(names))
        return found

    def _copy(self, src: str, dest: str) -> int:
        """One copy of ``src`` as the new file ``dest`` (a reflink where possible); its size."""
        fd = os.open(src, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if size <= SMALL_FILE:
                # One read and one write: shutil's bookkeeping costs more than the copy here.
                data = os.read(fd, size + 1)
                _write_new(dest, data)
                return len(data)
        finally:
            os.close(fd)
        from ..cache import copy_file, reflink

        if self._reflink:
            try:
                reflink(src, dest)
                return size
            except OSError:
                self._reflink = False  # not on this filesystem pair: stop trying
        copy_file(src, dest)
        return size

    def upload(self, local_path: str | Path, md5: str) -> int:
        try:
            parent = self._parent(md5)
            small = _read_small(os.fspath(local_path))
            if small is not None:  # most objects of a folder: one read, one new file
                write_object(parent, self.ospath(md5), small, 0o644)
                return len(small)
            tmp = f"{parent}/{TMP_PREFIX}{md5[2:]}-{uuid.uuid4().hex[:12]}"
            try:
                size = self._copy(os.fspath(local_path), tmp)
                os.replace(tmp, self.ospath(md5))
            except BaseException:
                unlink_quiet(tmp)
                raise
        except OSError as e:
            raise self._wrap(e, f"upload of {md5}") from e
        return size

    def download(self, md5: str, dest_tmp: Path) -> int:
        return self._fetch(md5, dest_tmp, verify=False)

    def fetch_into(self, cache: ObjectCache, md5: str) -> int:
        src = self.ospath(md5)
        try:
            small = _read_small(src)
        except FileNotFoundError:
            raise self.missing(md5) from None
        except OSError as e:
            raise self._wrap(e, f"download of {md5}") from e
        if small is None or data_md5(small, md5) != md5:
            # large, or not as expected: the general path streams, verifies and says why
            return super().fetch_into(cache, md5)
        cache.put_verified(small, md5)
        return len(small)

    def download_verified(self, md5: str, dest_tmp: Path) -> int:
        return self._fetch(md5, dest_tmp, verify=True)

    def _fetch(self, md5: str, dest_tmp: Path, verify: bool) -> int:
        src = self.ospath(md5)
        try:
            if verify:
                return self._copy_verified(src, os.fspath(dest_tmp), md5)
            return self._copy(src, os.fspath(dest_tmp))
        except FileNotFoundError:
            if not os.path.exists(src):
                raise self.missing(md5) from None
            raise
        except OSError as e:
            raise self._wrap(e, f"download of {md5}") from e

    def _copy_verified(self, src: str, dest: str, md5: str) -> int:
        """Copy ``src`` to the new file ``dest`` checking on the way that it hashes to ``md5``:
        small files are hashed in memory, large ones while they are written (md5 and the disk
        run side by side), or reflinked and then read once where the filesystem can."""
        fd = os.open(src, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if size <= SMALL_FILE:
                data = os.read(fd, size + 1)
                _check(data_md5(data, md5), md5, self.url)
                _write_new(dest, data)
                return len(data)
            if self._reflink:
                try:
                    from ..cache import reflink

                    reflink(src, dest)
                except OSError:
                    self._reflink = False
                else:
                    _check(path_hash(dest, md5), md5, self.url)
                    return size
            return _copy_hashing(fd, dest, md5, self.url)
        finally:
            os.close(fd)

    def list_hashes(self) -> Iterator[str]:
        return walk_objects(self._base)

    def remove(self, md5: str) -> None:
        unlink_quiet(self.ospath(md5))

    def clean_tmp(self, older_than_s: float = 0) -> int:
        # every partial upload (RemoteStore's, first in the MRO, has none to clean)
        return ObjectFolders.clean_tmp(self, older_than_s)


COPY_CHUNK = 1 << 20


def _copy_hashing(fd: int, dest: str, md5: str, url: str) -> int:
    """Copy the open file ``fd`` to the new file ``dest``, hashing each chunk on a second
    thread while it is written (hashlib drops the GIL), then check the hash."""
    import hashlib

    h = hashlib.md5()
    bufs = (bytearray(COPY_CHUNK), bytearray(COPY_CHUNK))
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    total = 0
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            cur = 0
            n = os.readv(fd, [bufs[cur]])
            while n:
                view = memoryview(bufs[cur])[:n]
                hashing = pool.submit(h.update, view)
                rest = view
                while rest:
                    rest = rest[os.write(out, rest) :]
                total += n
                cur = 1 - cur
                n = os.readv(fd, [bufs[cur]])
                hashing.result()  # the buffer it reads is refilled next round
    finally:
        os.close(out)
    actual = h.hexdigest() + (".dir" if md5.endswith(".dir") else "")
    _check(actual, md5, url)
    return total


def _check(actual: str, md5: str, url: str) -> None:
    if actual != md5:
        raise IntegrityError(f"object {md5} on {url} is corrupt (its md5 is {actual})")


def _write_new(dest: str, data: bytes) -> None:
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(out, data)
    finally:
        os.close(out)


def _read_small(path: str) -> bytes | None:
    """The bytes of the file at ``path`` if it is at most SMALL_FILE long, else None."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > SMALL_FILE:
            return None
        data = os.read(fd, size + 1)
    finally:
        os.close(fd)
    return data if len(data) == size else None  # a short read or a growing file: go slow


__all__ = ["LocalStore"]
