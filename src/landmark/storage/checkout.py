"""``landmark checkout``: make the work tree match the pointer files from the cache, writing only
what differs, after checking everything first."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import Conflict, NotFound
from ..progress import Progress
from .cache import Linker, ObjectCache
from .compare import Compare, plan_output
from .parallel import run_chunks
from .pathguard import check_folders
from .repo_root import ancestors, relpath, repo_lock
from .statcache import StatCache
from .tracked import Tracked, tracked_outputs


@dataclass(frozen=True)
class CheckoutReport:
    restored: tuple[str, ...]  # repo-relative outputs that had anything written
    files: int  # files (re)created
    removed: int  # files removed from tracked directories (with --force)
    unchanged: int  # files already right


def _selection(
    root: str, chosen: Sequence[Tracked], targets: Sequence[str]
) -> list[list[str] | None]:
    """For each chosen output, the paths inside it the targets name; None for all of it."""
    rels = [relpath(root, os.path.abspath(x)) for x in targets]
    selection: list[list[str] | None] = []
    for t in chosen:
        inner = [r[len(t.path) + 1 :] for r in rels if r.startswith(t.path + "/")]
        whole = any(r in (t.path, t.source, ".") or t.path.startswith(r + "/") for r in rels)
        selection.append(inner if inner and not whole else None)
    return selection


def checkout(
    repo_root: str | os.PathLike[str],
    targets: Sequence[str | os.PathLike[str]] | None = None,
    force: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> CheckoutReport:
    """Make the work tree match the pointer files from the cache, writing only what differs.

    Everything is checked first: a missing cache object, or (without ``force``) a work tree
    file with changes that are not in the cache, is an error and nothing is written.
    ``targets``: pointer files, outputs, or paths inside tracked directories.
    """
    with repo_lock(Path(os.path.abspath(os.fspath(repo_root)))):
        return _checkout(repo_root, targets, force, jobs, progress)


def _checkout(
    repo_root: str | os.PathLike[str],
    targets: Sequence[str | os.PathLike[str]] | None,
    force: bool,
    jobs: int | None,
    progress: Progress | None,
) -> CheckoutReport:
    compare = Compare.at(repo_root)
    root, cache, stats = compare.root, compare.cache, compare.stats
    chosen = tracked_outputs(root, targets)
    names = [os.fspath(x) for x in targets or ()]
    selection = _selection(root, chosen, names) if names else [None] * len(chosen)

    plans = [
        plan_output(root, cache, compare, t, jobs, sel)
        for t, sel in zip(chosen, selection, strict=True)
    ]
    short = [p for p in plans if not p.restorable]
    if short:
        listed = ", ".join(p.tracked.path for p in short[:3]) + (
            " and others" if len(short) > 3 else ""
        )
        count = sum(len(p.missing_objects) for p in short)
        raise NotFound(
            f"{count} object{'s' if count != 1 else ''} needed by {listed} "
            f"{'are' if count != 1 else 'is'} not in the cache: run `landmark pull` first"
        )
    if not force:
        for p in plans:
            if p.differ or p.extra:
                first = (p.differ or p.extra)[0]
                raise Conflict(
                    f"{first} has changes that are not in the cache: `landmark add "
                    f"{p.tracked.path}` to keep them, or checkout --force to discard them"
                )

    # Every folder a write or removal lands in, checked before the first one (a tracked
    # folder may hold a committed symlink to a folder elsewhere).
    check_folders(
        root,
        {os.path.dirname(item[0]) for p in plans for item in p.write}
        | {os.path.dirname(os.path.join(root, rel)) for p in plans for rel in p.extra},
    )
    restored: list[str] = []
    todo: list[tuple[str, str, str, bool, bool]] = []
    removed = 0
    for p in plans:
        if not (p.write or p.extra):
            continue
        restored.append(p.tracked.path)
        for rel in p.extra:
            os.unlink(os.path.join(root, rel))
            removed += 1
        _prune_empty_dirs(os.path.join(root, p.tracked.path), p.extra, root)
        todo += p.write
    _write_files(root, cache, Linker(cache.link_kinds), stats, todo, jobs, progress)
    stats.save()
    unchanged = sum(p.unchanged for p in plans)
    return CheckoutReport(tuple(restored), len(todo), removed, unchanged)


def _prune_empty_dirs(top: str, removed: Iterable[str], root: str) -> None:
    """Remove folders left empty by removing untracked files (never ``top`` itself)."""
    for rel in sorted(removed, key=len, reverse=True):
        folder = os.path.dirname(os.path.join(root, rel))
        while folder.startswith(top + os.sep):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)


def _clear(path: str) -> None:
    """Remove whatever is at ``path`` (file, link or folder): --force replaces it."""
    if os.path.isdir(path) and not os.path.islink(path):
        import shutil

        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _write_files(
    root: str,
    cache: ObjectCache,
    linker: Linker,
    stats: StatCache,
    todo: Sequence[tuple[str, str, str, bool, bool]],
    jobs: int | None,
    progress: Progress | None,
) -> None:
    """Create or replace work tree files from cache objects, recording their stats."""
    made: set[str] = set()
    for item in todo:
        parent = os.path.dirname(item[0])
        if parent not in made:
            if not os.path.isdir(parent):
                # A file (or link) where a tracked folder should be: --force replaces it.
                for folder in ancestors(parent):
                    if len(folder) <= len(root):
                        break
                    if os.path.lexists(folder) and not os.path.isdir(folder):
                        os.unlink(folder)
                os.makedirs(parent, exist_ok=True)
            made.add(parent)
    exec_linker = Linker([k for k in cache.link_kinds if k in ("reflink", "copy")])

    def one(item: tuple[str, str, str, bool, bool]) -> os.stat_result:
        path, _, md5, isexec, exists = item
        obj = cache.ospath(md5)
        if exists and os.path.isdir(path) and not os.path.islink(path):
            _clear(path)
            exists = False
        if isexec:
            # Its own copy: a link would share the cache object's read-only, non-x mode.
            exec_linker.replace(obj, path)
            os.chmod(path, 0o755)
        elif exists:
            linker.replace(obj, path)
        else:
            linker.create(obj, path)
        return os.stat(path)

    stated = run_chunks(todo, one, jobs, progress, phase="checkout")
    for item, st in zip(todo, stated, strict=True):
        stats.put(item[1], st, item[2])


__all__ = ["CheckoutReport", "checkout"]
