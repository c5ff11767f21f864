"""The stat cache: ``(size, mtime, inode) -> md5`` per work tree file, and whole tracked folders
last found exactly as tracked, kept in ``.dvc/tmp`` so that an unchanged file costs one ``stat``
on the next add, checkout or status."""

from __future__ import annotations

import marshal
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import write_atomic

if TYPE_CHECKING:
    from .ignore import Rules

STATS_FILE = "landmark-stats"
STATS_FORMAT = 1
FOLDERS_FILE = "landmark-folders"
FOLDERS_FORMAT = 3
# Timestamps tick coarsely (a few ms): a file changed in the same tick as our stat would keep
# its mtime, so entries this fresh are not trusted later (git's "racily clean" problem).
RACY_NS = 50_000_000


@dataclass(frozen=True)
class FolderRecord:
    """A tracked folder as last found exactly as tracked."""

    dir_md5: str  # the .dir object it matched
    digest: bytes  # of every file's path, size, mtime and inode, in walk order
    rels: str  # the manifest's paths, "\0"-joined (one string: loading is a copy)
    md5s: str  # their md5s, concatenated
    objects: bytes  # the cache's folders_signature when all its objects were there, or b""

    @property
    def count(self) -> int:
        return self.rels.count("\0") + 1 if self.rels else 0

    def hashes(self) -> list[str]:
        m = self.md5s
        return [m[i : i + 32] for i in range(0, len(m), 32)]

    def pairs(self) -> list[tuple[str, str]]:
        """The manifest's (relpath, md5) pairs."""
        names = self.rels.split("\0") if self.rels else []
        return list(zip(names, self.hashes(), strict=True))

    def prefixes(self) -> set[str]:
        """The cache fan-out folders its objects (and its manifest) live in."""
        m = self.md5s
        return {m[i : i + 2] for i in range(0, len(m), 32)} | {self.dir_md5[:2]}


class StatCache:
    """``repo-relative path -> (size, mtime_ns, inode, md5)``, kept in ``.dvc/tmp``.

    Stored as columns (one string of paths, one of md5s, three int arrays) so that loading
    20,000 entries is a few milliseconds and no per-entry objects are made until asked for.
    Written atomically; two concurrent writers can only lose each other's entries, which
    costs a re-hash, never a wrong answer.
    """

    def __init__(self, root: Path) -> None:
        self.file = os.path.join(os.fspath(root), ".dvc", "tmp", STATS_FILE)
        self.updates: dict[str, tuple[int, int, int, str]] = {}
        self.dropped: set[str] = set()
        self.hits = 0
        self.since = time.time_ns() - RACY_NS
        self._folders: dict[str, tuple[str, bytes, str, str, bytes]] | None = None
        self._folders_changed = False
        self._loading = threading.Lock()

    def __getattr__(self, name: str) -> object:
        # The per-file entries are read on first use: a status whose folders are all vouched
        # for whole never needs them.
        if name in ("loaded", "_keys", "_index", "_md5s", "_cols"):
            with self._loading:
                if "_index" not in self.__dict__:  # not loaded by another thread meanwhile
                    self._load()
            return getattr(self, name)
        raise AttributeError(name)

    # Whole tracked folders last found exactly as tracked (see FolderRecord). When a walk
    # gives the same digest, the folder is as tracked without looking up 20,000 entries or
    # parsing the manifest; the same trust as the per-file entries, taken for the folder.
    def folder(self, rel: str) -> FolderRecord | None:
        found = self._load_folders().get(rel)
        if not isinstance(found, tuple) or len(found) != 5:
            return None
        record = FolderRecord(*found)
        if len(record.md5s) != 32 * record.count:
            return None  # damaged: nothing vouched for
        return record

    def put_folder(
        self,
        rel: str,
        dir_md5: str,
        digest: bytes,
        pairs: list[tuple[str, str]],
        objects: bytes | None = None,
    ) -> None:
        """Record folder ``rel`` as found; ``objects``: the cache's signature when every
        object it needs was there (see :meth:`ObjectCache.folders_signature`)."""
        folders = self._load_folders()
        current = folders.get(rel)
        if current is None or current[0] != dir_md5 or current[1] != digest:
            # two strings, not 20,000 tuples: loading them is a copy, not an object per file
            folders[rel] = (
                dir_md5,
                digest,
                "\0".join(r for r, _ in pairs),
                "".join(m for _, m in pairs),
                objects or b"",
            )
            self._folders_changed = True
        else:
            self.vouch_objects(rel, objects)

    def vouch_objects(self, rel: str, objects: bytes | None) -> None:
        """A recorded folder's objects were all found in the cache, whose signature is
        ``objects`` (None: can't be vouched for)."""
        folders = self._load_folders()
        current = folders.get(rel)
        sig = objects or b""
        if current is not None and current[4] != sig:
            folders[rel] = (*current[:4], sig)
            self._folders_changed = True

    def drop_folder(self, rel: str) -> None:
        if rel in self._load_folders():
            del self._load_folders()[rel]
            self._folders_changed = True

    def _folders_file(self) -> str:
        return os.path.join(os.path.dirname(self.file), FOLDERS_FILE)

    def _load_folders(self) -> dict[str, tuple[str, bytes, str, str, bytes]]:
        if self._folders is None:
            self._folders = {}
            try:
                with open(self._folders_file(), "rb") as f:
                    fmt, folders = marshal.load(f)
                if fmt == FOLDERS_FORMAT and isinstance(folders, dict):
                    self._folders = folders
            except (OSError, EOFError, ValueError, TypeError):
                pass  # missing or damaged: nothing vouched for
        return self._folders

    def _save_folders(self) -> None:
        if not self._folders_changed or self._folders is None:
            return
        try:
            write_atomic(self._folders_file(), marshal.dumps((FOLDERS_FORMAT, self._folders)))
        except OSError:
            return  # only a cache
        self._folders_changed = False

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.file)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _load(self) -> None:
        # Each attribute is set once, to its final value: threads may read them meanwhile.
        from array import array

        loaded = self._signature()
        names: list[str] = []
        md5s = ""
        arrays: tuple[array[int], array[int], array[int]] = (array("q"), array("q"), array("q"))
        try:
            with open(self.file, "rb") as f:
                fmt, keys, sums, *cols = marshal.loads(f.read())
            if fmt == STATS_FORMAT and len(cols) == 3:
                got = (array("q", cols[0]), array("q", cols[1]), array("q", cols[2]))
                found = keys.split("\0") if keys else []
                if all(len(a) == len(found) for a in got) and len(sums) == 32 * len(found):
                    names, md5s, arrays = found, sums, got
        except (OSError, EOFError, ValueError, TypeError):
            pass  # missing or damaged: start empty
        self.loaded = loaded
        self._keys: list[str] = names
        self._md5s = md5s
        self._cols: tuple[array[int], array[int], array[int]] = arrays
        self._index: dict[str, int] = dict(zip(names, range(len(names)), strict=True))

    def get(self, rel: str, st: os.stat_result) -> str | None:
        """The md5 recorded for ``rel`` if its size, mtime and inode are still ``st``'s."""
        md5 = self._lookup(rel, st.st_size, st.st_mtime_ns, st.st_ino)
        if md5 is not None:
            self.hits += 1
        return md5

    def recorded(self, rel: str) -> str | None:
        """The md5 last recorded for ``rel``, whether or not the file still matches it."""
        entry = self.updates.get(rel)
        if entry is not None:
            return entry[3]
        i = self._index.get(rel)
        return None if i is None else self._md5s[32 * i : 32 * i + 32]

    def lookup_under(
        self, prefix: str, files: Mapping[str, tuple[str, os.stat_result]]
    ) -> tuple[dict[str, str], list[str]]:
        """For the files of a folder (``rel -> (path, stat)``, keys ``prefix + rel``): the md5s
        the cache vouches for, and the rels it doesn't. One tight loop: 20,000 calls of
        :meth:`get` would cost more than the ``stat`` calls that fed it."""
        known: dict[str, str] = {}
        missed: list[str] = []
        updates, index, md5s = self.updates, self._index, self._md5s
        sizes, mtimes, inos = self._cols
        for rel, (_, st) in files.items():
            key = prefix + rel
            entry = updates.get(key)
            if entry is not None:
                if entry[0] == st.st_size and entry[1] == st.st_mtime_ns and entry[2] == st.st_ino:
                    known[rel] = entry[3]
                    continue
            else:
                i = index.get(key)
                if (
                    i is not None
                    and sizes[i] == st.st_size
                    and mtimes[i] == st.st_mtime_ns
                    and inos[i] == st.st_ino
                ):
                    known[rel] = md5s[32 * i : 32 * i + 32]
                    continue
            missed.append(rel)
        self.hits += len(known)
        return known, missed

    def _lookup(self, rel: str, size: int, mtime_ns: int, ino: int) -> str | None:
        entry = self.updates.get(rel)
        if entry is not None:
            return entry[3] if entry[:3] == (size, mtime_ns, ino) else None
        i = self._index.get(rel)
        if i is None:
            return None
        sizes, mtimes, inos = self._cols
        if sizes[i] == size and mtimes[i] == mtime_ns and inos[i] == ino:
            return self._md5s[32 * i : 32 * i + 32]
        return None

    def put(self, rel: str, st: os.stat_result, md5: str) -> None:
        if st.st_mtime_ns < self.since and len(md5) == 32:
            self.updates[rel] = (st.st_size, st.st_mtime_ns, st.st_ino, md5)

    def drop_under(self, rel: str) -> None:
        """Forget ``rel`` and everything under it (the caller puts back what is current)."""
        self.dropped.add(rel)

    def entries(self) -> dict[str, tuple[int, int, int, str]]:
        """Everything recorded, saved or not."""
        sizes, mtimes, inos = self._cols
        md5s = self._md5s
        merged = {
            k: (sizes[i], mtimes[i], inos[i], md5s[32 * i : 32 * i + 32])
            for i, k in enumerate(self._keys)
        }
        if self.dropped:
            prefixes = tuple(p + "/" for p in self.dropped)
            merged = {
                k: v
                for k, v in merged.items()
                if k not in self.dropped and not k.startswith(prefixes)
            }
        merged.update(self.updates)
        return merged

    def save(self) -> None:
        self._save_folders()
        if not self.updates and not self.dropped:
            return
        if self._signature() != self.loaded:
            # Another process wrote since we read: build on what it wrote.
            updates, dropped = self.updates, self.dropped
            self._load()
            self.updates, self.dropped = updates, dropped
        if not self.dropped:
            saved, self.updates = self.updates, {}
            if all(self._lookup(k, *v[:3]) == v[3] for k, v in saved.items()):
                return  # nothing new
            self.updates = saved
        from array import array

        merged = self.entries()
        keys = list(merged)
        values = list(merged.values())
        blob = marshal.dumps(
            (
                STATS_FORMAT,
                "\0".join(keys),
                "".join(v[3] for v in values),
                array("q", [v[0] for v in values]).tobytes(),
                array("q", [v[1] for v in values]).tobytes(),
                array("q", [v[2] for v in values]).tobytes(),
            )
        )
        try:
            write_atomic(self.file, blob)
        except OSError:
            return  # only a cache: failing to save it costs a re-hash next time
        self._load()
        self.updates, self.dropped = {}, set()


def folder_digest(
    rels: Sequence[str], stats: Sequence[os.stat_result], since: int, rules: Rules
) -> bytes | None:
    """A digest of every file's (relpath, size, mtime, inode) in :func:`walk` order and of
    the ``.dvcignore`` patterns above the folder (those inside are among its files), or None
    when a file changed too recently to be vouched for (see RACY_NS). Order counts: a folder
    that lists in another order only misses its record and is compared in full."""
    import hashlib
    from array import array

    mtimes = array("q", [st.st_mtime_ns for st in stats])
    if mtimes and max(mtimes) >= since:
        return None
    h = hashlib.md5(rules.sources)
    h.update("\0".join(rels).encode("utf-8", "surrogateescape"))
    h.update(mtimes.tobytes())
    h.update(array("q", [st.st_size for st in stats]).tobytes())
    h.update(array("q", [st.st_ino for st in stats]).tobytes())
    return h.digest()


__all__ = ["RACY_NS", "FolderRecord", "StatCache", "folder_digest"]
