"""Garbage collection of the local cache: remove every object that nothing kept needs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .cache import ObjectCache

# A partial object untouched this long belongs to a write that died; newer ones may be live.
STALE_TMP_S = 15 * 60


@dataclass(frozen=True)
class GcResult:
    """What a collection removed (or, in a dry run, would remove)."""

    removed: tuple[str, ...]  # object hashes, sorted
    freed: int  # bytes (``st_blocks``-free: file sizes; hard links count as freed)
    kept: int  # objects left in the cache
    unknown_dirs: tuple[str, ...]  # kept ``.dir`` objects absent here: their files are unknown
    dry_run: bool = False


def closure(cache: ObjectCache, keep: Iterable[str]) -> tuple[set[str], list[str]]:
    """Every object ``keep`` needs (a ``.dir`` brings its files), and the kept ``.dir``
    hashes whose manifests are not in this cache."""
    needed: set[str] = set()
    unknown: list[str] = []
    for md5 in keep:
        if md5 in needed:
            continue
        needed.add(md5)
        if md5.endswith(".dir"):
            if cache.exists(md5):
                needed.update(e.md5 for e in cache.read_manifest(md5))
            else:
                unknown.append(md5)
    return needed, sorted(unknown)


def gc(cache: ObjectCache, keep: set[str], dry_run: bool = False) -> GcResult:
    """Remove from ``cache`` every object outside the closure of ``keep``.

    Objects are only ever removed whole (one unlink each), so a crash leaves a valid cache;
    stale partial writes are removed too.
    """
    needed, unknown = closure(cache, keep)
    removed: list[str] = []
    freed = kept = 0
    for md5 in cache.iter_hashes():
        if md5 in needed:
            kept += 1
            continue
        path = cache.ospath(md5)
        try:
            size = os.stat(path).st_size
            if not dry_run:
                os.unlink(path)
        except FileNotFoundError:
            continue  # removed by someone else meanwhile
        removed.append(md5)
        freed += size
    if not dry_run:
        cache.clean_tmp(older_than_s=STALE_TMP_S)
    return GcResult(tuple(sorted(removed)), freed, kept, tuple(unknown), dry_run)


def keep_hashes(repo_root: Path, *, workspace: bool = True, extra: Iterable[str] = ()) -> set[str]:
    """The root hashes a collection keeps: with ``workspace``, those of every output the work
    tree's ``.dvc`` files and ``dvc.lock`` files list; plus ``extra`` (for example what
    registered versions need, from :mod:`landmark.storage.retention`)."""
    keep = set(extra)
    if workspace:
        from .workspace import tracked_outputs

        keep.update(t.output.md5 for t in tracked_outputs(repo_root))
    return keep


__all__ = ["STALE_TMP_S", "GcResult", "closure", "gc", "keep_hashes"]
