"""Comparing tracked outputs with the work tree and the cache: which files differ, which are
extra, which objects are missing, reading only what the stat cache can't vouch for. Status
reports the comparison; checkout acts on it."""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IntegrityError, NotFound
from .cache import ObjectCache, repo_cache
from .hashing import DirEntry, file_md5, manifest_bytes, manifest_hash
from .ignore import Rules
from .parallel import run_chunks
from .pathguard import check_entries
from .statcache import FolderRecord, StatCache, folder_digest
from .tracked import Tracked
from .walk import walk


class Compare:
    """md5s of work tree files: from the stat cache, else (in parallel) by reading them."""

    def __init__(self, root: str, cache: ObjectCache, stats: StatCache) -> None:
        self.root = root
        self.cache = cache
        self.stats = stats

    @classmethod
    def at(cls, repo_root: str | os.PathLike[str]) -> Compare:
        """For the repository at ``repo_root``: its cache and its stat cache."""
        root = os.path.abspath(os.fspath(repo_root))
        return cls(root, repo_cache(Path(root)), StatCache(Path(root)))

    def md5s(
        self,
        files: Sequence[tuple[str, str, os.stat_result]],
        expected: Mapping[str, str],
        jobs: int | None,
    ) -> dict[str, str]:
        """``key -> md5`` for each (key, path, stat).

        A file hard-linked to its cache object and changed in place (root ignores the
        read-only mode) has changed the object too: that object no longer holds the bytes its
        name promises, so it is dropped from the cache (``pull`` brings it back).
        """
        known: dict[str, str] = {}
        todo: list[tuple[str, str, os.stat_result]] = []
        get = self.stats.get
        for key, path, st in files:
            md5 = get(key, st)
            if md5 is None:
                todo.append((key, path, st))
            else:
                known[key] = md5
        if todo:
            hashed = run_chunks(todo, lambda item: file_md5(item[1], item[2].st_size), jobs)
            for (key, _, st), md5 in zip(todo, hashed, strict=True):
                known[key] = md5
                self.stats.put(key, st, md5)
                want = expected.get(key)
                if want is not None and md5 != want and st.st_nlink > 1:
                    drop_if_linked(self.cache, want, st)
        return known

    def md5s_under(
        self,
        prefix: str,
        files: Mapping[str, tuple[str, os.stat_result]],
        expected: Mapping[str, str],
        jobs: int | None,
    ) -> dict[str, str]:
        """Like :meth:`Compare.md5s` for a folder's files (``rel -> (path, stat)``); only those
        in ``expected`` when it is not empty. Keys are rels."""
        if expected:
            files = {rel: v for rel, v in files.items() if rel in expected}
        known, missed = self.stats.lookup_under(prefix, files)
        if missed:
            todo = [(prefix + rel, files[rel][0], files[rel][1]) for rel in missed]
            wanted = {prefix + rel: expected[rel] for rel in missed if rel in expected}
            hashed = self.md5s(todo, wanted, jobs)
            n = len(prefix)
            known.update((key[n:], md5) for key, md5 in hashed.items())
        return known


def drop_if_linked(cache: ObjectCache, md5: str, st: os.stat_result) -> bool:
    """Remove object ``md5`` if it is the file ``st`` describes (whose bytes are no longer
    ``md5``'s): a hard-linked work tree file was changed in place."""
    try:
        ost = os.stat(cache.ospath(md5))
    except FileNotFoundError:
        return False
    if ost.st_ino == st.st_ino and ost.st_dev == st.st_dev:
        cache.remove(md5)
        return True
    return False


def _stat(path: str) -> os.stat_result | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st


@dataclass
class OutputPlan:
    """One output compared with the work tree and the cache."""

    tracked: Tracked
    entries: list[tuple[str, str]] | None = None  # (relpath, md5) of a directory's files
    missing_objects: list[str] = field(default_factory=list)
    write: list[tuple[str, str, str, bool, bool]] = field(default_factory=list)
    # ^ (path, repo-relative path, md5, isexec, exists): files checkout has to (re)create
    differ: list[str] = field(default_factory=list)  # repo-relative: bytes not as tracked
    extra: list[str] = field(default_factory=list)  # repo-relative: untracked, in a tracked dir
    absent: bool = False  # nothing at all in the work tree
    unchanged: int = 0

    @property
    def restorable(self) -> bool:
        """Whether checkout can do its work with what is cached."""
        return not self.missing_objects or not (self.write or self.absent or self.differ)


def _under(rel: str, prefixes: Sequence[str] | None) -> bool:
    return prefixes is None or any(rel == p or rel.startswith(p + "/") for p in prefixes)


def plan_output(
    root: str,
    cache: ObjectCache,
    compare: Compare,
    t: Tracked,
    jobs: int | None,
    within: Sequence[str] | None = None,
) -> OutputPlan:
    """Compare one tracked output with the work tree and the cache, reading only what the stat
    cache can't vouch for. ``within``: only these paths inside a tracked directory."""
    out = t.output
    abspath = os.path.join(root, t.path)
    plan = OutputPlan(t)
    if not out.is_dir:
        st = _stat(abspath)
        same = False
        if st is None:
            plan.absent = True
        elif statmod.S_ISREG(st.st_mode):
            same = compare.md5s([(t.path, abspath, st)], {t.path: out.md5}, jobs)[t.path] == out.md5
        if not cache.exists(out.md5):  # after the comparison, which may drop a spoilt object
            plan.missing_objects.append(out.md5)
        if same:
            plan.unchanged = 1
            return plan
        if st is not None:
            plan.differ.append(t.path)  # changed, or a folder where the file should be
        plan.write.append((abspath, t.path, out.md5, out.isexec, st is not None))
        return plan

    rels: list[str] = []
    sts: list[os.stat_result] = []
    rules = Rules.above(root, t.path)
    if not os.path.isdir(abspath):
        plan.absent = True
        if os.path.lexists(abspath):
            plan.differ.append(t.path)  # a file where the folder should be
    else:
        rels, sts = walk(abspath, rules, t.path + "/")
    stats = compare.stats
    digest = None
    have_manifest = cache.exists(out.md5)
    if within is None and not plan.absent and have_manifest:
        digest = folder_digest(rels, sts, stats.since, rules)
        known = stats.folder(t.path) if digest is not None else None
        if known is not None and known.dir_md5 == out.md5 and known.digest == digest:
            # Every file as when the folder was last found as tracked: only the cache can
            # have changed since.
            _vouched_plan(plan, cache, stats, t.path, known)
            return plan

    present = {rel: (f"{abspath}/{rel}", st) for rel, st in zip(rels, sts, strict=True)}
    if within is not None:
        present = {rel: v for rel, v in present.items() if _under(rel, within)}
    prefix = t.path + "/"
    if not have_manifest:
        # Without the manifest the files can't be listed: compare the whole directory's hash.
        plan.missing_objects.append(out.md5)
        if present or not plan.absent:
            md5s = compare.md5s_under(prefix, present, {}, jobs)
            got = [DirEntry(rel, md5) for rel, md5 in md5s.items()]
            if manifest_hash(manifest_bytes(got)) != out.md5:
                plan.differ.append(t.path)
        return plan

    pairs = manifest_pairs(cache, out.md5)
    if within is not None:
        pairs = [(rel, md5) for rel, md5 in pairs if _under(rel, within)]
    plan.entries = pairs
    expected = dict(pairs)
    md5s = compare.md5s_under(prefix, present, expected, jobs)
    in_cache = cache.existing(expected.values())
    plan.missing_objects = list(dict.fromkeys(m for m in expected.values() if m not in in_cache))
    for rel, md5 in pairs:
        if md5s.get(rel) == md5:
            plan.unchanged += 1
            continue
        exists = rel in present
        plan.write.append((f"{abspath}/{rel}", prefix + rel, md5, False, exists))
        if exists:
            plan.differ.append(prefix + rel)
    plan.extra = sorted(prefix + rel for rel in present if rel not in expected)
    if within is None:
        if digest is not None and not (plan.write or plan.differ or plan.extra):
            sig = None
            if not plan.missing_objects:
                prefixes = {m[:2] for m in expected.values()} | {out.md5[:2]}
                sig = cache.folders_signature(prefixes, stats.since)
            stats.put_folder(t.path, out.md5, digest, pairs, sig)
        else:
            stats.drop_folder(t.path)
    return plan


def _vouched_plan(
    plan: OutputPlan, cache: ObjectCache, stats: StatCache, rel: str, known: FolderRecord
) -> None:
    """A folder whose files are as recorded: its objects are all cached while the cache's
    fan-out folders are as signed when they last were; otherwise they are listed."""
    plan.entries = known.pairs()
    plan.unchanged = known.count
    prefixes = known.prefixes()
    if known.objects and cache.folders_signature(prefixes, stats.since) == known.objects:
        return
    hashes = known.hashes()
    in_cache = cache.existing(hashes)
    plan.missing_objects = list(dict.fromkeys(m for m in hashes if m not in in_cache))
    if not plan.missing_objects:
        stats.vouch_objects(rel, cache.folders_signature(prefixes, stats.since))


def manifest_pairs(cache: ObjectCache, md5_dir: str) -> list[tuple[str, str]]:
    """(relpath, md5) of a cached ``.dir`` object, without a value object per file."""
    import json

    try:
        with open(cache.ospath(md5_dir), "rb") as f:
            rows = json.loads(f.read())
        pairs = [(r["relpath"], r["md5"]) for r in rows]
    except FileNotFoundError:
        raise NotFound(
            f"directory manifest {md5_dir} is not in the cache; run `landmark pull`"
        ) from None
    except (ValueError, TypeError, KeyError) as e:
        raise IntegrityError(
            f"cache object {md5_dir} is not a valid directory manifest ({e}); "
            "remove it and fetch it again"
        ) from e
    check_entries(pairs, f"directory manifest {md5_dir}")
    return pairs


__all__ = ["Compare", "OutputPlan", "drop_if_linked", "manifest_pairs", "plan_output"]
