"""Moving objects between the local cache and a remote: push, fetch, pull, status, remote gc.

Rules every transfer keeps:

- only what is missing moves: one batch existence query per side before anything is sent;
- a directory's ``.dir`` manifest is written last, after every file it lists arrived, on the
  remote (push) and in the cache (fetch); so a ``.dir`` present on a remote means the whole
  directory is there, and push and status trust it without looking at its files;
- every download lands in a temp file beside its final place, is hashed on the way in and
  renamed in only when its md5 matched: no partial or corrupt object is ever visible, and an
  interrupted transfer is resumed by running it again (temp files a killed process left are
  swept once stale);
- transient remote errors are retried by the store (``stores.RemoteStore``); what still fails is
  collected and reported once, after everything else was transferred, naming the files that
  need the missing objects.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, InvalidInput, LandmarkError, NotFound, RemoteError
from ..progress import NO_PROGRESS, Progress
from .cache import ObjectCache, repo_cache
from .hashing import DirEntry, data_md5, parse_manifest
from .remotes import Remote, resolve_remote
from .stores import LocalStore, ObjectMissing, RemoteStore, open_remote

if TYPE_CHECKING:
    from .checkout import CheckoutReport

# A temp file untouched this long belongs to a transfer that died (a live one writes to it).
STALE_TMP_S = 15 * 60


# -- values ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransferResult:
    """What one push or fetch did: objects moved, bytes moved, objects already in place."""

    transferred: int
    bytes: int
    present: int
    remote: str = ""


@dataclass(frozen=True)
class ObjectStatus:
    """Where one tracked output's objects are: all in the local cache? all on the remote?"""

    md5: str
    label: str
    in_cache: bool
    on_remote: bool

    @property
    def state(self) -> str:
        """``ok``, ``not pushed`` (cache only), ``not in cache`` (remote only) or ``missing``."""
        if self.in_cache and self.on_remote:
            return "ok"
        if self.in_cache:
            return "not pushed"
        if self.on_remote:
            return "not in cache"
        return "missing"


@dataclass(frozen=True)
class Status:
    remote: str
    items: tuple[ObjectStatus, ...]

    @property
    def in_sync(self) -> bool:
        return all(i.state == "ok" for i in self.items)

    def with_state(self, state: str) -> list[ObjectStatus]:
        return [i for i in self.items if i.state == state]


@dataclass(frozen=True)
class PullReport:
    fetched: TransferResult
    checkout: CheckoutReport


# -- helpers --------------------------------------------------------------------------------------
def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _label(labels: Mapping[str, str] | None, md5: str) -> str:
    if labels and md5 in labels:
        return labels[md5]
    return md5


def _chunks(items: list[str], store: RemoteStore, jobs: int) -> list[list[str]]:
    # Local copies take microseconds: one task per file would cost more than the copy.
    size = max(1, min(128, len(items) // (jobs * 4) or 1)) if isinstance(store, LocalStore) else 1
    return [items[i : i + size] for i in range(0, len(items), size)]


Outcome = tuple[str, BaseException | None, int]  # md5, error, bytes moved


def _run(
    items: list[str],
    one: Callable[[str], int],
    store: RemoteStore,
    jobs: int,
    progress: Progress,
) -> list[Outcome]:
    """``one(md5)`` for every item on a thread pool; errors are collected, not raised."""

    def work(chunk: list[str]) -> list[Outcome]:
        out: list[Outcome] = []
        for md5 in chunk:
            try:
                n = one(md5)
            except (LandmarkError, OSError) as e:
                out.append((md5, e, 0))
                progress.advance(1, 0)
                continue
            out.append((md5, None, n))
            progress.advance(1, n)
        return out

    chunks = _chunks(items, store, jobs)
    if jobs <= 1 or len(chunks) <= 1:
        return [o for c in chunks for o in work(c)]
    with ThreadPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        return [o for part in pool.map(work, chunks) for o in part]


def _raise_failures(
    failures: list[tuple[str, BaseException]],
    labels: Mapping[str, str],
    store: RemoteStore,
    action: str,
    total: int,
) -> None:
    """One error for everything that failed, the most serious kind first."""
    if not failures:
        return
    corrupt = [(m, e) for m, e in failures if isinstance(e, IntegrityError)]
    if corrupt:
        md5, bad = corrupt[0]
        more = f" (and {len(corrupt) - 1} more)" if len(corrupt) > 1 else ""
        raise IntegrityError(
            f"{_label(labels, md5)}: object {md5} on {store.url} is corrupt (its bytes do not "
            f"match its hash){more}; nothing was stored for it: push it again from a good copy"
        ) from bad
    other = [(m, e) for m, e in failures if not isinstance(e, ObjectMissing)]
    if other:
        md5, err = other[0]
        text = str(err) if isinstance(err, LandmarkError) else f"{type(err).__name__}: {err}"
        raise RemoteError(
            f"{len(other)} of {total} objects failed to {action} ({_label(labels, md5)}: "
            f"{text}); run the command again to resume"
        ) from err
    missing = [m for m, _ in failures]
    names = ", ".join(_label(labels, m) for m in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    if len(missing) == 1:
        raise NotFound(
            f"missing on {store.url}: {names} (md5 {missing[0]}); push it from a clone that has it"
        )
    raise NotFound(
        f"missing on {store.url}: {len(missing)} objects, for {names}{more}; push them from a "
        "clone that has them"
    )


def _fetch_manifest(store: RemoteStore, cache: ObjectCache, md5: str) -> bytes:
    """A ``.dir`` object's bytes from the remote, verified, without storing it (it is stored
    after its files)."""
    tmp = cache.open_tmp(md5)
    try:
        store.download(md5, tmp)
        data = Path(tmp).read_bytes()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if data_md5(data, md5) != md5:
        raise IntegrityError(f"directory manifest {md5} on {store.url} is corrupt")
    return data


# -- push -----------------------------------------------------------------------------------------
def push(
    cache: ObjectCache,
    store: RemoteStore,
    hashes: Sequence[str],
    jobs: int | None = None,
    progress: Progress | None = None,
    labels: Mapping[str, str] | None = None,
) -> TransferResult:
    """Send the objects ``hashes`` need (files, directories' files, then their ``.dir``) that
    the remote lacks. ``progress`` hears of each object (its owner closes it)."""
    return _with_defaults(_push, cache, store, hashes, jobs, progress, labels)


def _with_defaults(
    run: Callable[..., TransferResult],
    cache: ObjectCache,
    store: RemoteStore,
    hashes: Sequence[str],
    jobs: int | None,
    progress: Progress | None,
    labels: Mapping[str, str] | None,
) -> TransferResult:
    """``run`` (``_push`` or ``_fetch``) with the store's default jobs and, without a
    progress, one that ignores everything."""
    return run(cache, store, hashes, jobs or store.default_jobs, progress or NO_PROGRESS, labels)


def _push(
    cache: ObjectCache,
    store: RemoteStore,
    hashes: Sequence[str],
    jobs: int,
    progress: Progress,
    labels: Mapping[str, str] | None,
) -> TransferResult:
    store.check_writable()
    names: dict[str, str] = dict(labels or {})
    tops = _dedupe(hashes)
    dirs = [h for h in tops if h.endswith(".dir")]
    # A .dir on the remote was written after all its files: the whole directory is there.
    done_dirs = store.exists_many(dirs, jobs) if dirs else set()
    not_local: list[str] = []
    dir_needs: dict[str, list[str]] = {}
    candidates: dict[str, None] = {}
    for h in tops:
        if not h.endswith(".dir"):
            candidates.setdefault(h, None)
            continue
        if h in done_dirs:
            continue
        if not cache.exists(h):
            not_local.append(h)
            continue
        entries = cache.read_manifest(h)
        dir_needs[h] = _dedupe(e.md5 for e in entries)
        for e in entries:
            candidates.setdefault(e.md5, None)
            names.setdefault(e.md5, f"{_label(labels, h)}/{e.relpath}")
    present = store.exists_many(candidates, jobs) if candidates else set()
    todo = [m for m in candidates if m not in present]
    absent = set(todo) - cache.existing(todo)
    not_local.extend(m for m in todo if m in absent)
    todo = [m for m in todo if m not in absent]
    manifests = [d for d in dir_needs if absent.isdisjoint(dir_needs[d])]

    def one(md5: str) -> int:
        return store.upload(cache.ospath(md5), md5)

    progress.start(len(todo) + len(manifests), phase="push")
    outcomes = _run(todo, one, store, jobs, progress)
    failed = {m for m, e, _ in outcomes if e is not None}
    # Last: the manifests of directories whose every file is now on the remote.
    ready = [d for d in manifests if not failed.intersection(dir_needs[d])]
    progress.advance(len(manifests) - len(ready))
    outcomes += _run(ready, one, store, jobs, progress)
    failures = [(m, e) for m, e, _ in outcomes if e is not None]
    moved = sum(1 for _, e, _ in outcomes if e is None)
    _raise_failures(failures, names, store, "upload", len(todo) + len(manifests))
    if not_local:
        shown = ", ".join(_label(names, m) for m in not_local[:3])
        more = f" and {len(not_local) - 3} more" if len(not_local) > 3 else ""
        raise NotFound(
            f"{len(not_local)} object{'s' if len(not_local) != 1 else ''} to push "
            f"{'are' if len(not_local) != 1 else 'is'} not in the local cache: {shown}{more}; "
            "`landmark add` or `landmark fetch` them first (the rest was pushed)"
        )
    return TransferResult(
        transferred=moved,
        bytes=sum(n for _, _, n in outcomes),
        present=len(present) + len(done_dirs),
        remote=store.url,
    )


# -- fetch ----------------------------------------------------------------------------------------
def fetch(
    cache: ObjectCache,
    store: RemoteStore,
    hashes: Sequence[str],
    jobs: int | None = None,
    progress: Progress | None = None,
    labels: Mapping[str, str] | None = None,
) -> TransferResult:
    """Download into the cache the objects ``hashes`` need that it lacks; each is verified
    against its md5 and renamed in whole. Directory manifests are stored after their files.
    ``progress`` hears of each object (its owner closes it)."""
    return _with_defaults(_fetch, cache, store, hashes, jobs, progress, labels)


def _fetch(
    cache: ObjectCache,
    store: RemoteStore,
    hashes: Sequence[str],
    jobs: int,
    progress: Progress,
    labels: Mapping[str, str] | None,
) -> TransferResult:
    names: dict[str, str] = dict(labels or {})
    # Partial downloads of a killed run are never visible, but take space. Only old ones go:
    # another process may be downloading into the same (shared) cache right now.
    cache.clean_tmp(older_than_s=STALE_TMP_S)
    tops = _dedupe(hashes)
    dirs = [h for h in tops if h.endswith(".dir")]
    new_dirs = [d for d in dirs if not cache.exists(d)]
    failures: list[tuple[str, BaseException]] = []

    def manifest(d: str) -> bytes | BaseException:
        try:
            return _fetch_manifest(store, cache, d)
        except (LandmarkError, OSError) as e:
            return e

    fetched = dict(zip(new_dirs, _parallel_map(manifest, new_dirs, jobs), strict=True))
    manifests: dict[str, bytes] = {}
    entries: dict[str, list[DirEntry]] = {}
    for d in dirs:
        got = fetched.get(d)
        if isinstance(got, BaseException):
            failures.append((d, got))
            continue
        try:
            if got is not None:
                manifests[d] = got
                entries[d] = parse_manifest(got, f"{_label(labels, d)} manifest {d}")
            else:
                entries[d] = cache.read_manifest(d)
        except InvalidInput:
            raise  # a manifest naming unsafe paths: nothing is fetched for any of them
        except LandmarkError as err:
            failures.append((d, err))
            continue
        for entry in entries[d]:
            names.setdefault(entry.md5, f"{_label(labels, d)}/{entry.relpath}")
    wanted = _dedupe(
        [h for h in tops if not h.endswith(".dir")]
        + [e.md5 for d in dirs if d in entries for e in entries[d]]
    )
    present = cache.existing(wanted)
    todo = [m for m in wanted if m not in present]

    def one(md5: str) -> int:
        return store.fetch_into(cache, md5)

    progress.start(len(todo) + len(manifests), phase="fetch")
    outcomes = _run(todo, one, store, jobs, progress)
    failures += [(m, e) for m, e, _ in outcomes if e is not None]
    failed = {m for m, _ in failures}
    stored = 0
    for d, data in manifests.items():
        if not failed.intersection(e.md5 for e in entries[d]):
            cache.put_bytes(data, d)
            stored += 1
        progress.advance(1, len(data))
    _raise_failures(failures, names, store, "download", len(todo) + len(manifests))
    return TransferResult(
        transferred=stored + sum(1 for _, e, _ in outcomes if e is None),
        bytes=sum(n for _, _, n in outcomes) + sum(len(b) for b in manifests.values()),
        present=len(wanted) - len(todo) + len(dirs) - len(new_dirs),
        remote=store.url,
    )


def _parallel_map(fn: Callable[[str], Any], items: list[str], jobs: int) -> list[Any]:
    if len(items) <= 1 or jobs <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(fn, items))


# -- status ---------------------------------------------------------------------------------------
def status(
    cache: ObjectCache,
    store: RemoteStore,
    hashes: Sequence[str],
    jobs: int | None = None,
    labels: Mapping[str, str] | None = None,
    in_cache: Mapping[str, bool] | None = None,
) -> Status:
    """For each of ``hashes``: are all its objects in the cache, and on the remote?
    ``in_cache`` gives the cache side where the caller already knows it."""
    jobs = jobs or store.default_jobs
    tops = _dedupe(hashes)
    # A directory is on the remote when its .dir is (written last): one query per output.
    on_remote = store.exists_many(tops, jobs) if tops else set()
    known = in_cache or {}
    items = []
    for h in tops:
        local = known.get(h)
        if local is None:
            local = cache.exists(h)
            if local and h.endswith(".dir"):
                local = all(cache.exists(e.md5) for e in cache.read_manifest(h))
        items.append(ObjectStatus(h, _label(labels, h), local, h in on_remote))
    return Status(store.url, tuple(items))


# -- remote garbage collection --------------------------------------------------------------------
def gc_remote(
    store: RemoteStore,
    keep: Iterable[str],
    cache: ObjectCache | None = None,
    jobs: int | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Remove from the remote every object that neither ``keep`` nor a kept directory's
    manifest names; ``.dir`` objects go first, so no directory ever looks complete without its
    files. Returns the hashes removed (or that would be, with ``dry_run``)."""
    store.check_writable()
    jobs = jobs or store.default_jobs
    kept = set(keep)
    for d in [k for k in kept if k.endswith(".dir")]:
        if cache is not None and cache.exists(d):
            kept.update(e.md5 for e in cache.read_manifest(d))
            continue
        try:
            data = _fetch_manifest(store, cache or _scratch_cache(), d)
        except ObjectMissing:
            continue
        kept.update(e.md5 for e in parse_manifest(data, f"manifest {d}"))
    doomed = [h for h in store.list_hashes() if h not in kept]
    doomed.sort(key=lambda h: not h.endswith(".dir"))
    if dry_run:
        return doomed
    first = [h for h in doomed if h.endswith(".dir")]
    rest = [h for h in doomed if not h.endswith(".dir")]
    for batch in (first, rest):
        outcomes = _run(batch, _remover(store), store, jobs, NO_PROGRESS)
        errors = [(m, e) for m, e, _ in outcomes if e is not None]
        _raise_failures(errors, {}, store, "remove", len(batch))
    store.clean_tmp()
    return doomed


def _remover(store: RemoteStore) -> Callable[[str], int]:
    def one(md5: str) -> int:
        store.remove(md5)
        return 0

    return one


def _scratch_cache() -> ObjectCache:
    import tempfile

    return ObjectCache(Path(tempfile.mkdtemp(prefix="landmark-gc-")))


# -- the repository level -------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """The objects a set of targets needs, with a name for each to put in messages."""

    hashes: tuple[str, ...]
    labels: Mapping[str, str]


def select(repo_root: Path, targets: Sequence[str | os.PathLike[str]] | None = None) -> Selection:
    """Every ``.dvc``/``dvc.lock`` output of the repository, or those covering ``targets``."""
    from .tracked import tracked_outputs

    labels: dict[str, str] = {}
    for t in tracked_outputs(repo_root, targets):
        labels.setdefault(t.output.md5, t.path)
    return Selection(tuple(labels), labels)


def open_store(repo_root: Path, remote: str | Remote | None = None) -> RemoteStore:
    resolved = remote if isinstance(remote, Remote) else resolve_remote(repo_root, remote)
    return open_remote(resolved)


def push_repo(
    repo_root: Path,
    targets: Sequence[str | os.PathLike[str]] | None = None,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> TransferResult:
    """``landmark push``: the tracked outputs' objects to the remote (default: the default)."""
    sel = select(repo_root, targets)
    store = open_store(repo_root, remote)
    return push(repo_cache(repo_root), store, sel.hashes, jobs, progress, sel.labels)


def fetch_repo(
    repo_root: Path,
    targets: Sequence[str | os.PathLike[str]] | None = None,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> TransferResult:
    """``landmark fetch``: the tracked outputs' objects into the cache, work tree untouched."""
    from .repo_root import repo_lock

    sel = select(repo_root, targets)
    store = open_store(repo_root, remote)
    # Serialised with add, checkout and gc of this repository (gc must not sweep mid-fetch).
    with repo_lock(Path(repo_root)):
        return fetch(repo_cache(repo_root), store, sel.hashes, jobs, progress, sel.labels)


def pull_repo(
    repo_root: Path,
    targets: Sequence[str | os.PathLike[str]] | None = None,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> PullReport:
    """``landmark pull``: fetch, then check the outputs out into the work tree."""
    from .checkout import checkout

    fetched = fetch_repo(repo_root, targets, remote, jobs, progress)
    report = checkout(repo_root, targets, force=force, jobs=jobs, progress=progress)
    return PullReport(fetched, report)


def status_of(
    repo_root: Path,
    outputs: Sequence[tuple[str, str, bool]],
    remote: str | None = None,
    jobs: int | None = None,
) -> Status:
    """Cache and remote presence of already listed outputs, as ``(md5, path, in cache)``
    (the local part of ``landmark status`` found them): only the remote is asked."""
    labels: dict[str, str] = {}
    cached: dict[str, bool] = {}
    for md5, path, in_cache in outputs:
        labels.setdefault(md5, path)
        cached[md5] = cached.get(md5, True) and in_cache
    store = open_store(repo_root, remote)
    return status(repo_cache(repo_root), store, list(labels), jobs, labels, cached)


def status_repo(
    repo_root: Path,
    targets: Sequence[str | os.PathLike[str]] | None = None,
    remote: str | None = None,
    jobs: int | None = None,
) -> Status:
    """``landmark status -c``: for each tracked output, cache and remote presence."""
    sel = select(repo_root, targets)
    store = open_store(repo_root, remote)
    return status(repo_cache(repo_root), store, sel.hashes, jobs, sel.labels)


__all__ = [
    "ObjectStatus",
    "Progress",
    "PullReport",
    "Selection",
    "Status",
    "TransferResult",
    "fetch",
    "fetch_repo",
    "gc_remote",
    "open_store",
    "pull_repo",
    "push",
    "push_repo",
    "select",
    "status",
    "status_of",
    "status_repo",
]
