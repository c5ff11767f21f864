"""Garbage collection: what is kept (the work tree's outputs, registered versions, named refs)
and why, a preview, and the removal from the cache and the remote."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidInput, NotFound
from .cache import ObjectCache

if TYPE_CHECKING:
    from ..registry import Registry

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
    registered versions need: :func:`registry_roots`)."""
    keep = set(extra)
    if workspace:
        from .tracked import tracked_outputs

        keep.update(t.output.md5 for t in tracked_outputs(repo_root))
    return keep


# -- what is kept, and why -----------------------------------------------------------------------
@dataclass(frozen=True)
class Kept:
    """Root hashes to keep (files and ``.dir`` manifests), and why each is kept."""

    hashes: frozenset[str]
    reasons: tuple[tuple[str, str], ...]  # (what, hash): "churn@v1.0.0", "work tree: models/x"
    skipped: tuple[str, ...]  # versions whose bytes aren't tracked by DVC (git files, no path)


def registry_roots(reg: Registry, refs: tuple[str, ...] = (), *, registered: bool = True) -> Kept:
    """Every active, registered version of every artifact that isn't deprecated (unless not
    ``registered``), plus ``refs``
    (shortcuts like ``churn@v1.0.0`` / ``churn#prod``, resolved as ``get`` does). A ref the
    caller named must resolve to DVC-tracked bytes; a registered version that doesn't (a git
    file, no path, a pointer file the path guard refuses) is only listed as skipped."""
    from .get import locate

    wanted: list[str] = []
    for art in reg.state().artifacts.values() if registered else ():
        if not art.registered or not art.active:
            continue
        wanted += [f"{art.name}@{v.version}" for v in art.get_versions()]
    hashes: dict[str, None] = {}
    reasons: list[tuple[str, str]] = []
    skipped: list[str] = []
    for ref in dict.fromkeys([*wanted, *refs]):
        named = ref in refs
        try:
            found = locate(reg, ref)
        except (NotFound, InvalidInput):
            if named:
                raise
            skipped.append(ref)
            continue
        if found.output is None:
            if named:
                raise NotFound(
                    f"{ref} is tracked by git, not by DVC: there is nothing to keep for it"
                )
            skipped.append(ref)
            continue
        hashes.setdefault(found.output.md5, None)
        reasons.append((ref, found.output.md5))
    return Kept(frozenset(hashes), tuple(reasons), tuple(skipped))


def roots(
    repo_root: Path, *, workspace: bool = True, registry: bool = True, refs: tuple[str, ...] = ()
) -> Kept:
    """Everything a collection keeps: the work tree's outputs (``workspace``), every
    registered version that is not deprecated or deregistered (``registry``), and ``refs``."""
    reasons: list[tuple[str, str]] = []
    skipped: tuple[str, ...] = ()
    if workspace:
        from .tracked import tracked_outputs

        reasons += [(f"work tree: {t.path}", t.output.md5) for t in tracked_outputs(repo_root)]
    if registry or refs:
        from ..registry import Registry

        kept = registry_roots(Registry(repo_root), refs, registered=registry)
        reasons += kept.reasons
        skipped = kept.skipped
    return Kept(frozenset(h for _, h in reasons), tuple(reasons), skipped)


# -- the service ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GcOptions:
    """What a collection keeps, and where it removes."""

    workspace: bool = True  # keep what the work tree's pointer files need
    registry: bool = True  # keep every registered, non-deprecated version
    refs: tuple[str, ...] = ()  # keep these versions too (NAME@v1.2.3, NAME#STAGE, NAME@latest)
    cloud: bool = False  # also remove unkept objects from the remote
    remote: str | None = None  # which remote (default: the default one)


@dataclass(frozen=True)
class GcReport:
    """What a collection removed, or (``dry_run``) would remove, and why the rest stays."""

    kept: Kept
    local: GcResult  # the cache
    remote: tuple[str, ...] | None  # hashes removed from the remote; None without ``cloud``
    remote_url: str | None
    cache_root: Path

    @property
    def dry_run(self) -> bool:
        return self.local.dry_run

    @property
    def nothing(self) -> bool:
        return not self.local.removed and not self.remote


def _kept(repo_root: Path, options: GcOptions) -> Kept:
    kept = roots(
        repo_root, workspace=options.workspace, registry=options.registry, refs=options.refs
    )
    if not kept.hashes and not options.workspace:
        raise InvalidInput(
            "nothing would be kept: say what to keep (drop --no-workspace, or --ref a version)"
        )
    return kept


def plan(repo_root: Path, options: GcOptions = GcOptions()) -> GcReport:
    """What :func:`collect` would remove now, without removing anything (a preview: run
    ``collect`` to do it; it computes what is kept again, under the repository's lock)."""
    return _run(repo_root, options, dry_run=True)


def collect(repo_root: Path, options: GcOptions = GcOptions()) -> GcReport:
    """Remove from the cache (and, with ``cloud``, the remote) every object that what is kept
    does not need. What is kept is computed under the repository's lock, so no add, checkout
    or fetch runs halfway through while objects go."""
    from .repo_root import repo_lock

    with repo_lock(Path(repo_root)):
        return _run(repo_root, options, dry_run=False)


def _run(repo_root: Path, options: GcOptions, dry_run: bool) -> GcReport:
    from .cache import repo_cache

    kept = _kept(repo_root, options)
    store = None
    if options.cloud:
        from .transfer import open_store

        store = open_store(Path(repo_root), options.remote)
    cache = repo_cache(Path(repo_root))
    local = gc(cache, set(kept.hashes), dry_run)
    remote = None
    if store is not None:
        from .transfer import gc_remote

        remote = tuple(gc_remote(store, kept.hashes, cache, dry_run=dry_run))
    return GcReport(kept, local, remote, store.url if store else None, cache.root)


__all__ = [
    "STALE_TMP_S",
    "GcOptions",
    "GcReport",
    "GcResult",
    "Kept",
    "closure",
    "collect",
    "gc",
    "keep_hashes",
    "plan",
    "registry_roots",
    "roots",
]
