"""The interface every remote store gives transfers, and the error for an absent object.

A remote holds objects in the cache's layout under its URL (``<url>/files/md5/ab/cdef...``).
Uploads are atomic on the remote (object stores publish a key only when complete; file-like
back ends get a temp name and a rename), so a present object is always a complete one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ...errors import IntegrityError, NotFound, RemoteError
from ..cache import ObjectCache, unlink_quiet
from ..hashing import data_md5, file_md5

T = TypeVar("T")

# Below this many hashes one existence query each is cheaper than listing prefix folders.
LIST_THRESHOLD = 64


class ObjectMissing(NotFound):
    """An object the transfer needs is not on the remote."""

    def __init__(self, message: str, md5: str) -> None:
        super().__init__(message)
        self.md5 = md5


class RemoteStore:
    """Objects under ``<url>/files/md5``: the operations transfers need, whatever the back end."""

    url: str = ""
    read_only: bool = False
    default_jobs: int = 4

    def exists(self, md5: str) -> bool:
        raise NotImplementedError

    def exists_many(self, md5s: Iterable[str], jobs: int | None = None) -> set[str]:
        """Which of ``md5s`` the remote holds (a batch: folder listings or parallel queries)."""
        raise NotImplementedError

    def upload(self, local_path: str | Path, md5: str) -> int:
        """Store the file at ``local_path`` as object ``md5``, atomically on the remote; the
        number of bytes sent."""
        raise NotImplementedError

    def download(self, md5: str, dest_tmp: Path) -> int:
        """Write object ``md5`` to ``dest_tmp`` (a temp path: the caller verifies and renames);
        the number of bytes written. ObjectMissing when the remote does not have it."""
        raise NotImplementedError

    def download_verified(self, md5: str, dest_tmp: Path) -> int:
        """:meth:`download`, then IntegrityError unless the bytes hash to ``md5``."""
        size = self.download(md5, dest_tmp)
        actual = path_hash(os.fspath(dest_tmp), md5)
        if actual != md5:
            raise IntegrityError(f"object {md5} on {self.url} is corrupt (its md5 is {actual})")
        return size

    def fetch_into(self, cache: ObjectCache, md5: str) -> int:
        """Download object ``md5`` into ``cache``, verified, appearing whole or not at all;
        the number of bytes."""
        tmp = cache.open_tmp(md5)
        try:
            size = self.download_verified(md5, tmp)
            cache.commit_tmp(tmp, md5, verify=False)  # just checked, on the way in
        except BaseException:
            unlink_quiet(os.fspath(tmp))
            raise
        return size

    def list_hashes(self) -> Iterator[str]:
        """Every complete object on the remote (``.dir`` included)."""
        raise NotImplementedError

    def remove(self, md5: str) -> None:
        raise NotImplementedError

    def clean_tmp(self) -> int:
        """Remove partial uploads left by interrupted pushes (file-like remotes only)."""
        return 0

    def check_writable(self) -> None:
        if self.read_only:
            raise RemoteError(
                f"{self.url} is read-only (an HTTP remote): push to an s3://, gs://, azure://, "
                "ssh:// or local remote instead"
            )

    def missing(self, md5: str) -> ObjectMissing:
        return ObjectMissing(f"object {md5} is not on the remote {self.url}", md5)


def parallel(fn: Callable[[T], Any], items: list[T], jobs: int) -> list[Any]:
    if len(items) <= 1 or jobs <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(fn, items))


def path_hash(path: str, md5: str) -> str:
    if md5.endswith(".dir"):
        with open(path, "rb") as f:
            return data_md5(f.read(), md5)
    return file_md5(path)


__all__ = ["LIST_THRESHOLD", "ObjectMissing", "RemoteStore", "parallel", "path_hash"]
