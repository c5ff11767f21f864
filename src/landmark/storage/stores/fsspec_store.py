"""A remote on any fsspec filesystem: retries with backoff, errors translated, atomic uploads.

Every call retries transient failures (dropped connections, timeouts, 5xx, throttling) with
exponential backoff, then raises what is left as one-line errors from ``landmark.errors``
(:mod:`.errors`). The filesystem object is made by :mod:`.backends`; this module never imports
fsspec itself.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ...errors import LandmarkError, RemoteError
from ..cache import TMP_PREFIX
from ..hashing import is_hash
from .base import LIST_THRESHOLD, RemoteStore, parallel
from .errors import bucket_missing, is_transient, translate

T = TypeVar("T")

RETRIES = 4  # attempts in all, for one call
BACKOFF_S = 0.25  # first wait; doubles each time (with jitter)


class FsspecStore(RemoteStore):
    """Objects on any fsspec filesystem, under ``root`` (a path in that filesystem's terms:
    ``bucket/prefix`` for object stores)."""

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str | None = None,
        *,
        read_only: bool = False,
        atomic_put: bool = True,
        listable: bool = True,
        jobs: int = 16,
        retries: int = RETRIES,
        backoff: float = BACKOFF_S,
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url or root
        self.read_only = read_only
        self.atomic_put = atomic_put
        self.listable = listable
        self.default_jobs = jobs
        self.retries = max(1, retries)
        self.backoff = backoff
        self._base = f"{self.root}/files/md5" if self.root else "files/md5"
        self._made: set[str] = set()

    def __repr__(self) -> str:
        return f"FsspecStore({self.url!r})"

    def rpath(self, md5: str) -> str:
        return f"{self._base}/{md5[:2]}/{md5[2:]}"

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args)``, retried with backoff while it fails transiently; errors translated.
        FileNotFoundError passes through untouched for the caller to interpret."""
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except FileNotFoundError as e:
                if bucket_missing(e):
                    raise translate(e, self.url, what) from e
                raise
            except LandmarkError:
                raise
            except Exception as e:
                attempt += 1
                if attempt >= self.retries or not is_transient(e):
                    raise translate(e, self.url, what) from e
                delay = self.backoff * (2 ** (attempt - 1))
                time.sleep(delay * (0.5 + random.random()))

    def _info_exists(self, md5: str) -> bool:
        try:
            self._call(f"checking {md5}", self.fs.info, self.rpath(md5))
        except FileNotFoundError:
            return False
        return True

    def exists(self, md5: str) -> bool:
        return self._info_exists(md5)

    def _list_prefix(self, prefix: str) -> list[str]:
        folder = f"{self._base}/{prefix}"
        with contextlib.suppress(Exception):  # a filesystem without a listing cache
            self.fs.invalidate_cache(folder)
        try:
            names = self._call(f"listing {prefix}/", self.fs.ls, folder, detail=False)
        except FileNotFoundError:
            return []
        return [str(n).rstrip("/").rsplit("/", 1)[-1] for n in names]

    def exists_many(self, md5s: Iterable[str], jobs: int | None = None) -> set[str]:
        wanted = sorted(set(md5s))
        jobs = jobs or self.default_jobs
        if len(wanted) <= LIST_THRESHOLD or not self.listable:
            flags = parallel(self._info_exists, wanted, jobs)
            return {m for m, ok in zip(wanted, flags, strict=True) if ok}
        by_prefix: dict[str, set[str]] = {}
        for m in wanted:
            by_prefix.setdefault(m[:2], set()).add(m[2:])
        prefixes = sorted(by_prefix)
        listings = parallel(self._list_prefix, prefixes, jobs)
        found: set[str] = set()
        for prefix, names in zip(prefixes, listings, strict=True):
            found.update(prefix + n for n in by_prefix[prefix].intersection(names))
        return found

    def _ensure_parent(self, md5: str) -> None:
        parent = f"{self._base}/{md5[:2]}"
        if parent not in self._made:
            self._call("creating a folder", self.fs.makedirs, parent, exist_ok=True)
            self._made.add(parent)

    def upload(self, local_path: str | Path, md5: str) -> int:
        self.check_writable()
        target = self.rpath(md5)
        size = os.path.getsize(local_path)
        if self.atomic_put:
            self._call(f"upload of {md5}", self.fs.put_file, os.fspath(local_path), target)
            return size
        self._ensure_parent(md5)
        tmp = f"{self._base}/{md5[:2]}/{TMP_PREFIX}{md5[2:]}-{uuid.uuid4().hex[:12]}"
        try:
            self._call(f"upload of {md5}", self.fs.put_file, os.fspath(local_path), tmp)
            self._call(f"upload of {md5}", self.fs.mv, tmp, target)
        except BaseException:
            with contextlib.suppress(Exception):  # best effort: clean_tmp sweeps leftovers
                self.fs.rm_file(tmp)
            raise
        return size

    def download(self, md5: str, dest_tmp: Path) -> int:
        try:
            self._call(f"download of {md5}", self.fs.get_file, self.rpath(md5), os.fspath(dest_tmp))
        except FileNotFoundError:
            raise self.missing(md5) from None
        return os.path.getsize(dest_tmp)

    def list_hashes(self) -> Iterator[str]:
        with contextlib.suppress(Exception):
            self.fs.invalidate_cache(self._base)
        if not self.listable:
            raise RemoteError(f"{self.url} cannot be listed (an HTTP remote)")
        try:
            paths = self._call("listing", self.fs.find, self._base)
        except FileNotFoundError:
            return
        base = self._base.lstrip("/")
        for p in sorted(paths):
            rel = str(p).lstrip("/")
            if not rel.startswith(base + "/"):
                continue
            parts = rel[len(base) + 1 :].split("/")
            if len(parts) == 2 and is_hash(parts[0] + parts[1]):
                yield parts[0] + parts[1]

    def remove(self, md5: str) -> None:
        self.check_writable()
        with contextlib.suppress(FileNotFoundError):
            self._call(f"removing {md5}", self.fs.rm_file, self.rpath(md5))

    def clean_tmp(self) -> int:
        if self.atomic_put or not self.listable:
            return 0
        try:
            paths = self._call("listing", self.fs.find, self._base)
        except FileNotFoundError:
            return 0
        stale = [p for p in paths if str(p).rsplit("/", 1)[-1].startswith(TMP_PREFIX)]
        for p in stale:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(p)
        return len(stale)


__all__ = ["BACKOFF_S", "RETRIES", "FsspecStore"]
