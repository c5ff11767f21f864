"""The work tree side of storage: ``add`` (track), ``checkout`` (restore) and local ``status``.

Speed matters here (20,000 small files, 1 GiB models), so the hot loops use strings and
``os.scandir`` rather than ``pathlib``, hash on a thread pool in chunks, and never write a
file's bytes twice: the workspace file is hard-linked (or reflinked) into the cache after being
read once for its md5. A stat cache (size, mtime, inode -> md5) in ``.dvc/tmp`` makes an
unchanged file cost one ``stat`` on the next add, checkout or status.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat as statmod
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ..errors import Conflict, IntegrityError, InvalidInput, LandmarkError, NotFound, RepoError
from ..progress import Progress
from .cache import (
    READ_ONLY,
    TMP_PREFIX,
    Linker,
    ObjectCache,
    copy_file,
    reflink,
    repo_cache,
)
from .dvcfile import Output, atomic_write, parse_dvcfile, parse_lock, write_dvcfile
from .hashing import BLOCK, DirEntry, default_jobs, file_md5, manifest_bytes, manifest_hash
from .ignore import IGNORE_FILE, Rules
from .pathguard import check_entries, check_folders, output_path

T = TypeVar("T")
R = TypeVar("R")

STATS_FILE = "landmark-stats"
STATS_FORMAT = 1
FOLDERS_FILE = "landmark-folders"
FOLDERS_FORMAT = 3
# Timestamps tick coarsely (a few ms): a file changed in the same tick as our stat would keep
# its mtime, so entries this fresh are not trusted later (git's "racily clean" problem).
RACY_NS = 50_000_000
# Folders never part of a tracked directory (dvc skips them too).
SKIP_DIRS = frozenset({".git", ".dvc", ".hg"})
DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"


# -- finding the repository ----------------------------------------------------------------------
def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder upward holding ``.dvc/``, else the git work tree's top."""
    here = os.path.abspath(os.fspath(start) if start is not None else os.getcwd())
    if not os.path.isdir(here):
        raise RepoError(f"{here} is not a folder: pass --root with the repository's path")
    git_top = None
    path = here
    while True:
        if os.path.isdir(os.path.join(path, ".dvc")):
            return Path(path)
        if git_top is None and os.path.exists(os.path.join(path, ".git")):
            git_top = path
            break  # a dvc repo does not reach above its git repo
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if git_top is None:
        raise RepoError(
            f"{here} is not inside a git or dvc repository: run 'git init' or pass --root"
        )
    return Path(git_top)


def ensure_dvc_dir(root: Path) -> list[str]:
    """Create ``.dvc/`` as ``dvc init`` would (a config and its .gitignore) where missing;
    the repo-relative files made (git should hold them: they mark a dvc repository)."""
    dvc = root / ".dvc"
    made: list[str] = []
    if (dvc / "config").exists() and (dvc / ".gitignore").exists():
        return made
    dvc.mkdir(exist_ok=True)
    if not (dvc / "config").exists():
        atomic_write(dvc / "config", b"")
        made.append(".dvc/config")
    if not (dvc / ".gitignore").exists():
        atomic_write(dvc / ".gitignore", DVC_GITIGNORE.encode())
        made.append(".dvc/.gitignore")
    return made


@contextlib.contextmanager
def repo_lock(root: Path) -> Iterator[None]:
    """Serialise commands that write the work tree or the cache (``.dvc/tmp/landmark.lock``);
    a no-op where there is no ``.dvc/`` yet."""
    dvc = os.path.join(os.fspath(root), ".dvc")
    if not os.path.isdir(dvc):
        yield
        return
    import fcntl

    os.makedirs(os.path.join(dvc, "tmp"), exist_ok=True)
    fd = os.open(os.path.join(dvc, "tmp", "landmark.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- the stat cache -----------------------------------------------------------------------------
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
        target = self._folders_file()
        tmp = f"{target}.{os.getpid()}-{time.monotonic_ns()}.tmp"
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(tmp, "wb") as f:
                marshal.dump((FOLDERS_FORMAT, self._folders), f)
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
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
        os.makedirs(os.path.dirname(self.file), exist_ok=True)
        tmp = f"{self.file}.{os.getpid()}-{time.monotonic_ns()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(blob)
            os.replace(tmp, self.file)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return  # only a cache: failing to save it costs a re-hash next time
        self._load()
        self.updates, self.dropped = {}, set()


# -- walking ------------------------------------------------------------------------------------
def walk(
    top: str, rules: Rules | None = None, base: str = "", links: list[int] | None = None
) -> tuple[list[str], list[os.stat_result]]:
    """The relpaths and stats of every file under ``top`` (symlinked files followed, as dvc
    does; symlinked folders not entered), skipping ``.git``/``.dvc``/``.hg`` folders, ``.git``
    files, what ``rules`` (the ``.dvcignore`` patterns above ``top``, whose repo-relative
    prefix is ``base``: ``"data/"``) leave out, and our own temp files; in walk order, which
    is the same from one walk to the next while the folders are unchanged (what
    :func:`folder_digest` relies on), not sorted. ``links`` gets the places of the files
    reached through a symbolic link.

    One pass, one thread: ``stat`` calls are too short for a thread pool to pay for itself.
    Each folder is opened once and its files are stat-ed by name relative to it, which spares
    the kernel a full path lookup and us a path string per file.
    """
    rels: list[str] = []
    stats: list[os.stat_result] = []
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
    isreg = statmod.S_ISREG
    stat = os.stat
    here = rules or None
    stack = [(top, "")]
    while stack:
        folder, prefix = stack.pop()
        fd = os.open(folder, flags)
        try:
            with os.scandir(fd) as it:
                for entry in it:
                    name = entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if name not in SKIP_DIRS and not (
                            here and here.ignored(f"{base}{prefix}{name}", True)
                        ):
                            stack.append((f"{folder}/{name}", f"{prefix}{name}/"))
                        continue
                    if name.startswith(TMP_PREFIX) or name == ".git":
                        continue  # a .git file (a submodule's): dvc leaves it out too
                    if here and here.ignored(f"{base}{prefix}{name}", False):
                        continue
                    try:
                        st = stat(name, dir_fd=fd)
                    except (FileNotFoundError, NotADirectoryError):
                        continue  # a dangling symlink, or gone while we looked
                    if isreg(st.st_mode):
                        if links is not None and entry.is_symlink():
                            links.append(len(rels))
                        rels.append(prefix + name)
                        stats.append(st)
        finally:
            os.close(fd)
    return rels, stats


# -- values ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tracked:
    """One output as the repository lists it: where it is declared and where it lives."""

    source: str  # repo-relative path of the .dvc file or dvc.lock
    path: str  # repo-relative posix path of the output
    output: Output  # as written in the file (path relative to the file's folder)


@dataclass(frozen=True)
class AddReport:
    outputs: tuple[Output, ...]
    dvcfiles: tuple[str, ...]  # repo-relative, in the order of the paths given
    gitignores: tuple[str, ...]  # repo-relative .gitignore files that were changed
    files: int  # files tracked
    hashed: int  # files whose bytes were read (the rest came from the stat cache)
    stored: int  # objects new to the cache
    links: Mapping[str, int] = field(default_factory=dict)  # link kind -> files
    created: tuple[str, ...] = ()  # .dvc/ files made because the repository had none


@dataclass(frozen=True)
class CheckoutReport:
    restored: tuple[str, ...]  # repo-relative outputs that had anything written
    files: int  # files (re)created
    removed: int  # files removed from tracked directories (with --force)
    unchanged: int  # files already right


@dataclass(frozen=True)
class OutputStatus:
    """Local status of one tracked output; ``workspace`` is ``ok``, ``modified`` or
    ``missing``; ``missing_objects`` are the cache objects it needs that are absent."""

    source: str
    path: str
    md5: str
    workspace: str
    missing_objects: tuple[str, ...] = ()

    @property
    def in_cache(self) -> bool:
        return not self.missing_objects

    @property
    def clean(self) -> bool:
        return self.workspace == "ok" and self.in_cache


@dataclass(frozen=True)
class LocalStatus:
    """What differs between the work tree, the pointer files and the cache.

    The remote part of ``landmark status`` composes this with a transfer status over
    :meth:`hashes` (the objects the listed outputs need).
    """

    outputs: tuple[OutputStatus, ...]
    needed: tuple[str, ...] = ()  # every object the outputs need (known ones), .dir last per dir

    @property
    def clean(self) -> bool:
        return all(o.clean for o in self.outputs)

    def hashes(self) -> list[str]:
        return list(self.needed)


# -- add ------------------------------------------------------------------------------------------
class _Ingest:
    """Puts workspace files into the cache: read once for the md5, then link, never copy twice."""

    def __init__(self, cache: ObjectCache) -> None:
        self.cache = cache
        self.linker = Linker(cache.link_kinds)
        # Executable files get their own copy: a shared inode would lose the x bit to the
        # cache's read-only mode.
        self.exec_linker = Linker([k for k in cache.link_kinds if k in ("reflink", "copy")])
        # list.append is atomic under the GIL; ``+=`` on an attribute is not
        self._stored: list[str] = []
        self._hashed: list[str] = []

    @property
    def stored(self) -> int:
        return len(self._stored)

    @property
    def hashed(self) -> int:
        return len(self._hashed)

    def file(
        self, path: str, st: os.stat_result, md5: str | None, linked: bool = False
    ) -> tuple[str, os.stat_result]:
        """Store one workspace file; its md5 and its stat afterwards. ``linked``: ``path`` is
        a symbolic link (``st`` describes its target)."""
        if linked or st.st_nlink > 1:
            return self._foreign(path, st, md5)
        executable = bool(st.st_mode & 0o111)
        linker = self.exec_linker if executable else self.linker
        if md5 is None:
            self._hashed.append(path)
            if linker.kinds[0] == "copy" and st.st_size > BLOCK:
                # The one copy is unavoidable here: hash while making it.
                return self._copy_hashing(path), st
            md5 = file_md5(path, st.st_size)
            if linker.kinds[0] == "hardlink" and self._store(path, md5, linker, st):
                return md5, st  # new bytes: linked in, no stat of the cache first
        obj = self.cache.ospath(md5)
        try:
            ost = os.stat(obj)
        except FileNotFoundError:
            ost = None
        if ost is None and self._store(path, md5, linker, st):
            if linker.kinds[0] == "symlink":
                linker.replace(obj, path)
                return md5, os.stat(path)
            return md5, st
        if ost is not None and ost.st_ino == st.st_ino and ost.st_dev == st.st_dev:
            return md5, st  # already the cache's file
        if linker.kinds[0] not in ("hardlink", "symlink"):
            return md5, st  # an independent copy of cached bytes: leave it
        # Same bytes already cached (maybe by another worker just now): share them.
        linker.replace(obj, path)
        return md5, os.stat(path)

    def _foreign(
        self, path: str, st: os.stat_result, md5: str | None
    ) -> tuple[str, os.stat_result]:
        """A file whose inode is not ours to link or chmod: a symbolic link's target, or a
        file with other names (which may be outside the repository). As dvc does, its bytes
        are copied into a regular object (hashed while copied) and the file is left as is."""
        if md5 is None:
            self._hashed.append(path)
            return self._copy_hashing(path), st
        # (the stat cache vouches for the md5; a copy made now is checked against it)
        if not os.path.exists(self.cache.ospath(md5)) and self._copy_hashing(path) != md5:
            raise IntegrityError(f"{path} changed while it was being added: add it again")
        return md5, st

    def _store(self, path: str, md5: str, linker: Linker, st: os.stat_result) -> bool:
        """Put a new object in the cache: a hard link (no bytes written), a reflink or one
        copy through a temp file, whichever the first of the link kinds that works here.
        False when another worker stored the same bytes first."""
        cache = self.cache
        obj = cache.ospath(md5)
        cache._parent(md5)
        while True:
            kind = linker.kinds[0]
            try:
                if kind in ("hardlink", "symlink"):
                    os.link(path, obj)  # a link appears whole: no temp file needed
                    if statmod.S_IMODE(st.st_mode) != READ_ONLY:
                        os.chmod(obj, READ_ONLY)
                else:
                    tmp = os.fspath(cache.open_tmp(md5))
                    try:
                        if kind == "reflink":
                            reflink(path, tmp)
                        else:
                            copy_file(path, tmp)
                        os.chmod(tmp, READ_ONLY)
                        os.replace(tmp, obj)
                    except BaseException:
                        with contextlib.suppress(OSError):
                            os.unlink(tmp)
                        raise
            except FileExistsError:
                return False
            except OSError as e:
                linker.give_up(kind, e)
                continue
            self._stored.append(md5)
            linker.count(kind)
            return True

    def _copy_hashing(self, path: str) -> str:
        import hashlib

        h = hashlib.md5()
        tmp = os.fspath(self.cache.open_tmp("00" * 16))
        try:
            with open(path, "rb", buffering=0) as src, open(tmp, "wb", buffering=0) as dst:
                buf = bytearray(BLOCK)
                view = memoryview(buf)
                while n := src.readinto(buf):
                    h.update(view[:n])
                    dst.write(view[:n])
            md5 = h.hexdigest()
            obj = self.cache.ospath(md5)
            self.cache._parent(md5)
            if os.path.exists(obj):
                os.unlink(tmp)
            else:
                os.chmod(tmp, READ_ONLY)
                os.replace(tmp, obj)
                self._stored.append(md5)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.linker.count("copy")
        return md5


def _run_chunks(
    items: Sequence[T],
    work: Callable[[T], R],
    jobs: int | None,
    progress: Progress | None = None,
    size_of: Callable[[T], int] | None = None,
    phase: str = "",
) -> list[R]:
    """``work`` over ``items`` on a thread pool, in chunks (a future per 1 KiB file would cost
    more than its md5), order kept; ``progress`` hears of each chunk: its items, and its bytes
    by ``size_of``."""
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if progress is not None:
        progress.start(len(items), sum(map(size_of, items)) if size_of else 0, phase)

    def chunk_work(chunk: Sequence[T]) -> list[R]:
        done = [work(item) for item in chunk]
        if progress is not None:
            progress.advance(len(chunk), sum(map(size_of, chunk)) if size_of else 0)
        return done

    if jobs == 1 or len(items) < 2:
        return chunk_work(items)
    from concurrent.futures import ThreadPoolExecutor

    size = max(1, min(512, len(items) // (jobs * 4)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    with ThreadPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
        return [r for part in pool.map(chunk_work, chunks) for r in part]


def _size(item: tuple[str, str, os.stat_result]) -> int:
    return item[2].st_size


def _rel(root: str, path: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _check_add_target(root: str, raw: str | os.PathLike[str], cache_root: str) -> str:
    """The absolute path to add, after every check that must pass before anything is written."""
    text = os.fspath(raw)
    path = os.path.abspath(text)
    rel = _rel(root, path)
    if rel == "." or rel.startswith("../") or rel == "..":
        raise InvalidInput(f"{text} is outside the repository at {root}: only paths inside it")
    first = rel.split("/", 1)[0]
    if first in (".git", ".dvc") or "/.git/" in f"/{rel}/" or "/.dvc/" in f"/{rel}/":
        raise InvalidInput(f"{text} is inside .git or .dvc: add your data or model files instead")
    if os.path.islink(path) and not os.path.realpath(path).startswith(cache_root + os.sep):
        # (a link into the cache is one that `[cache] type = symlink` made)
        raise InvalidInput(f"{text} is a symbolic link: add the file or folder it points to")
    if not os.path.exists(path):
        raise NotFound(f"{text} does not exist: check the path")
    if rel.endswith(".dvc") and os.path.isfile(path):
        raise InvalidInput(f"{text} is a pointer file: add the data it points to instead")
    return path


def _check_overlaps(root: str, targets: Sequence[str]) -> None:
    """dvc's rule: an output may not be inside another one, nor listed by two files."""
    declared: list[tuple[str, str]] = []
    for source in _pointer_files(root):
        try:
            with open(os.path.join(root, source), encoding="utf-8") as f:
                text = f.read()
            outs = (
                parse_lock(text, source)
                if source.endswith("dvc.lock")
                else parse_dvcfile(text, source)
            )
        except (OSError, LandmarkError):
            continue  # a broken pointer file elsewhere is not this command's business
        base = os.path.dirname(source)
        for out in outs:
            declared.append((source, os.path.normpath(os.path.join(base, out.path))))
    for target in targets:
        rel = _rel(root, target)
        for source, path in declared:
            if source == rel + ".dvc":
                continue  # adding it again
            if path == rel:
                raise Conflict(f"{rel} is already an output in {source}: track it in one place")
            if rel.startswith(path + "/"):
                raise Conflict(
                    f"{rel} is inside {path}, tracked by {source}: add {path} again instead"
                )
            if path.startswith(rel + "/"):
                raise Conflict(f"{rel} holds {path}, tracked by {source}: remove {source} first")


def _git_tracked(root: str, paths: Sequence[str]) -> list[str]:
    """Which of ``paths`` (absolute) git tracks, or holds files under; [] without git."""
    if not any(os.path.exists(os.path.join(p, ".git")) for p in _ancestors(root)):
        return []
    from .. import git

    rels = [_rel(root, p) for p in paths]
    proc = git.run(["ls-files", "-z", "--", *[f":(literal){r}" for r in rels]], root, check=False)
    if proc.returncode != 0:
        return []
    listed = proc.stdout.decode(errors="surrogateescape").split("\0")
    hit = []
    for r in rels:
        if any(name == r or name.startswith(r + "/") for name in listed if name):
            hit.append(r)
    return hit


def _ancestors(path: str) -> Iterable[str]:
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def _gitignore_line(name: str) -> str:
    """``/name`` with gitignore's special characters escaped."""
    escaped = "".join("\\" + c if c in "\\*?[" else c for c in name)
    if escaped[:1] in ("#", "!"):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


def add_to_gitignore(folder: str, name: str) -> bool:
    """Add ``/name`` to ``folder/.gitignore`` unless there; keeps every other line."""
    path = os.path.join(folder, ".gitignore")
    line = _gitignore_line(name)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    text = data.decode("utf-8", errors="surrogateescape")
    if line in (ln.strip() for ln in text.splitlines()):
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    text += line + "\n"
    atomic_write(Path(path), text.encode("utf-8", errors="surrogateescape"))
    return True


def track(
    repo_root: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    jobs: int | None = None,
    progress: Progress | None = None,
) -> AddReport:
    """``landmark add``: store each path (file or directory) in the cache, write its ``.dvc``
    file and ignore it in git. Every path is checked before anything is written."""
    if not paths:
        raise InvalidInput("give at least one file or folder to add")
    root = os.path.abspath(os.fspath(repo_root))
    targets: list[str] = []
    cache_root = os.path.realpath(repo_cache(Path(root)).root)
    for raw in paths:
        path = _check_add_target(root, raw, cache_root)
        if path not in targets:
            targets.append(path)
    for i, a in enumerate(targets):
        for b in targets[i + 1 :]:
            inner, outer = (a, b) if len(a) > len(b) else (b, a)
            if inner.startswith(outer + os.sep):
                raise InvalidInput(f"{_rel(root, inner)} is inside {_rel(root, outer)}: add one")
    tracked = _git_tracked(root, targets)
    if tracked:
        raise Conflict(
            f"{tracked[0]} is tracked by git: run `git rm -r --cached {tracked[0]}` first, "
            "then add it again"
        )
    _check_overlaps(root, targets)
    plan = _collect(root, targets)
    root_path = Path(root)
    created = ensure_dvc_dir(root_path)
    with repo_lock(root_path):
        return _track(root_path, plan, created, jobs, progress)


@dataclass(frozen=True)
class _Target:
    """A path to add, as found: its files sorted by relpath (``("", path, stat)`` for a
    file), their places in walk order, and the ``.dvcignore`` rules above it."""

    path: str
    key: str  # repo-relative
    files: list[tuple[str, str, os.stat_result]]
    walked: list[int]
    rules: Rules
    links: frozenset[str] = frozenset()  # paths of the files that are symbolic links


def _collect(root: str, targets: Sequence[str]) -> list[_Target]:
    """Walk every path to add, refusing (before anything is written) one a ``.dvcignore``
    leaves out or a folder holding a ``.dvcignore`` (dvc refuses both)."""
    found: list[_Target] = []
    for target in targets:
        key = _rel(root, target)
        rules = Rules.above(root, key)
        is_dir = os.path.isdir(target)
        if rules.ignored(key, is_dir):
            raise InvalidInput(
                f"{key} is left out by a .dvcignore pattern: remove the pattern to track it"
            )
        if not is_dir:
            found.append(_Target(target, key, [("", target, os.stat(target))], [0], rules))
            continue
        linked: list[int] = []
        rels, sts = walk(target, rules, key + "/", linked)
        inner = next((r for r in rels if r.rpartition("/")[2] == IGNORE_FILE), None)
        if inner is not None:
            raise InvalidInput(
                f"{key}/{inner}: a tracked folder may not hold a .dvcignore (dvc refuses it "
                f"too); move its patterns to a .dvcignore above {key}"
            )
        order = sorted(range(len(rels)), key=rels.__getitem__)
        files = [(rels[i], f"{target}/{rels[i]}", sts[i]) for i in order]
        links = frozenset(f"{target}/{rels[i]}" for i in linked)
        found.append(_Target(target, key, files, order, rules, links))
    return found


def _track(
    root_path: Path,
    plan: Sequence[_Target],
    created: Sequence[str],
    jobs: int | None,
    progress: Progress | None,
) -> AddReport:
    root = os.fspath(root_path)
    cache = repo_cache(root_path)
    stats = StatCache(root_path)
    ingest = _Ingest(cache)

    # One pool over the files of every path: many small files and a few big ones alike.
    items = [(f"{t.key}/{rel}" if rel else t.key, p, st) for t in plan for rel, p, st in t.files]
    links = frozenset().union(*(t.links for t in plan))

    def work(item: tuple[str, str, os.stat_result]) -> tuple[str, os.stat_result]:
        key, path, st = item
        known = stats.get(key, st)
        md5, after = ingest.file(path, st, known, bool(links) and path in links)
        if known is None and st.st_nlink > 1:
            before = stats.recorded(key)
            if before is not None and before != md5:
                # Changed in place through a hard link: the old object changed with it.
                drop_if_linked(cache, before, st)
        return md5, after

    # In inode order: on a cold cache that is close to disk order (ext4 keeps a folder's
    # inodes and blocks together), far quicker to read than a directory's hash order.
    order = sorted(range(len(items)), key=lambda i: items[i][2].st_ino)
    done_in_order = _run_chunks([items[i] for i in order], work, jobs, progress, _size, "add")
    results: list[tuple[str, os.stat_result]] = [done_in_order[0]] * len(items) if items else []
    for i, r in zip(order, done_in_order, strict=True):
        results[i] = r

    outputs: list[Output] = []
    dvcfiles: list[str] = []
    gitignores: list[str] = []
    vouch: list[tuple[str, list[str]]] = []  # (folder, the objects it needs)
    pos = 0
    for t in plan:
        target, files, walked = t.path, t.files, t.walked
        done = results[pos : pos + len(files)]
        pos += len(files)
        for (key, _, _), (md5, st) in zip(items[pos - len(files) : pos], done, strict=True):
            stats.put(key, st, md5)
        folder, name = os.path.split(target)
        if os.path.isdir(target):
            entries = [
                DirEntry(rel, md5, st.st_size)
                for (rel, _, _), (md5, st) in zip(files, done, strict=True)
            ]
            data = manifest_bytes(entries)
            dir_md5 = manifest_hash(data)
            cache.put_bytes(data, dir_md5)
            # the digest a later walk will compute: the files as linked, in walk order
            rels = [""] * len(files)
            after: list[os.stat_result] = [st for _, st in done]
            for k, i in enumerate(walked):
                rels[i], after[i] = files[k][0], done[k][1]
            digest = folder_digest(rels, after, stats.since, t.rules)
            if digest is not None:
                pairs = [(e.relpath, e.md5) for e in entries]  # sorted: files are
                stats.put_folder(t.key, dir_md5, digest, pairs)
                vouch.append((t.key, [m for _, m in pairs] + [dir_md5]))
            else:
                stats.drop_folder(t.key)
            out = Output(
                path=name,
                md5=dir_md5,
                size=sum(e.size for e in entries),
                nfiles=len(entries),
            )
        else:
            md5, st = done[0]
            out = Output(path=name, md5=md5, size=st.st_size, isexec=bool(st.st_mode & 0o111))
        stats.drop_under(t.key)
        pointer = os.path.join(folder, name + ".dvc")
        write_dvcfile(Path(pointer), [out])
        dvcfiles.append(_rel(root, pointer))
        if add_to_gitignore(folder, name):
            gitignores.append(_rel(root, os.path.join(folder, ".gitignore")))
        outputs.append(out)
    if vouch:
        _vouch_written(cache, stats, vouch)
    stats.save()
    return AddReport(
        outputs=tuple(outputs),
        dvcfiles=tuple(dvcfiles),
        gitignores=tuple(gitignores),
        files=len(items),
        hashed=ingest.hashed,
        stored=ingest.stored,
        links={
            k: ingest.linker.used.get(k, 0) + ingest.exec_linker.used.get(k, 0)
            for k in {*ingest.linker.used, *ingest.exec_linker.used}
        },
        created=tuple(created),
    )


def _vouch_written(
    cache: ObjectCache, stats: StatCache, folders: list[tuple[str, list[str]]]
) -> None:
    """Let the next status take the cache's word for folders just added: their objects'
    fan-out folders were stamped by this very run, too recently to vouch for, so they are
    backdated first, then signed, then the objects are checked to be there. A change after
    the backdating stamps a folder anew; one before it fails the check."""
    cache.backdate_folders({h[:2] for _, hashes in folders for h in hashes}, stats.since - 1)
    for key, hashes in folders:
        sig = cache.folders_signature({h[:2] for h in hashes}, stats.since)
        if sig is not None and len(cache.existing(hashes)) == len(set(hashes)):
            stats.vouch_objects(key, sig)


def add(
    repo_root: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    jobs: int | None = None,
) -> list[Output]:
    """Track ``paths`` (see :func:`track`); the outputs written to their ``.dvc`` files."""
    return list(track(repo_root, paths, jobs).outputs)


# -- listing what is tracked ---------------------------------------------------------------------
def _pointer_files(root: str) -> list[str]:
    """Repo-relative ``*.dvc`` and ``dvc.lock`` files: through git when there is one (it skips
    ignored data folders), else a walk."""
    if any(os.path.exists(os.path.join(p, ".git")) for p in _ancestors(root)):
        from .. import git

        proc = git.run(
            ["ls-files", "-z", "-c", "-o", "--exclude-standard", "--", "*.dvc", "dvc.lock",
             "*/dvc.lock"],
            root,
            check=False,
        )  # fmt: skip
        if proc.returncode == 0:
            names = proc.stdout.decode(errors="surrogateescape").split("\0")
            return sorted({n for n in names if n and os.path.isfile(os.path.join(root, n))})
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for f in files:
            if f.endswith(".dvc") or f == "dvc.lock":
                found.append(_rel(root, os.path.join(folder, f)))
    return sorted(found)


def tracked_outputs(
    repo_root: str | os.PathLike[str], targets: Sequence[str | os.PathLike[str]] | None = None
) -> list[Tracked]:
    """Every output the work tree's ``.dvc`` files and ``dvc.lock`` files list; with
    ``targets`` (pointer files, outputs, or paths inside tracked directories, relative to the
    current folder), only those covering a target. A target that names nothing is an error."""
    root = os.path.abspath(os.fspath(repo_root))
    everything: list[Tracked] = []
    for source in _pointer_files(root):
        full = os.path.join(root, source)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        outs = (
            parse_lock(text, source) if source.endswith("dvc.lock") else parse_dvcfile(text, source)
        )
        base = os.path.dirname(source)
        for out in outs:
            rel = output_path(base, out.path, source)
            if out.hash_name != "md5":
                raise InvalidInput(
                    f"{source}: output {out.path} was written by dvc 2 ({out.hash_name}); "
                    "run `dvc cache migrate` or add it again"
                )
            everything.append(Tracked(source, rel, out))
    # A committed symlink must not carry reads or writes for an output out of the work tree.
    check_folders(
        root,
        [
            os.path.join(root, t.path)
            if t.output.is_dir
            else os.path.dirname(os.path.join(root, t.path))
            for t in everything
        ],
    )
    if not targets:
        return everything
    chosen: list[Tracked] = []
    for raw in targets:
        text = os.fspath(raw)
        rel = _rel(root, os.path.abspath(text))
        hits = [
            t
            for t in everything
            if t.source == rel
            or t.path == rel
            or rel.startswith(t.path + "/")
            or t.path.startswith(rel + "/")
            or rel == "."
        ]
        if not hits:
            raise NotFound(f"{text} is not tracked: no .dvc file or dvc.lock lists it")
        chosen.extend(t for t in hits if t not in chosen)
    return chosen


# -- comparing the work tree with what is tracked ------------------------------------------------
class _Compare:
    """md5s of work tree files: from the stat cache, else (in parallel) by reading them."""

    def __init__(self, root: str, cache: ObjectCache, stats: StatCache) -> None:
        self.root = root
        self.cache = cache
        self.stats = stats

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
            hashed = _run_chunks(todo, lambda item: file_md5(item[1], item[2].st_size), jobs)
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
        """Like :meth:`_Compare.md5s` for a folder's files (``rel -> (path, stat)``); only those
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
class _Plan:
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


def _plan(
    root: str,
    cache: ObjectCache,
    compare: _Compare,
    t: Tracked,
    jobs: int | None,
    within: Sequence[str] | None = None,
) -> _Plan:
    """Compare one tracked output with the work tree and the cache, reading only what the stat
    cache can't vouch for. ``within``: only these paths inside a tracked directory."""
    out = t.output
    abspath = os.path.join(root, t.path)
    plan = _Plan(t)
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
    plan: _Plan, cache: ObjectCache, stats: StatCache, rel: str, known: FolderRecord
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


def status_local(
    repo_root: str | os.PathLike[str],
    targets: Sequence[str | os.PathLike[str]] | None = None,
    jobs: int | None = None,
) -> LocalStatus:
    """For each tracked output: is the work tree as tracked, and are its objects cached?"""
    root = os.path.abspath(os.fspath(repo_root))
    root_path = Path(root)
    cache = repo_cache(root_path)
    stats = StatCache(root_path)
    compare = _Compare(root, cache, stats)
    rows: list[OutputStatus] = []
    needed: dict[str, None] = {}
    for t in tracked_outputs(root, targets):
        p = _plan(root, cache, compare, t, jobs)
        if p.absent and not p.differ:
            state = "missing"
        elif p.differ or p.extra or p.write:
            state = "modified"
        else:
            state = "ok"
        rows.append(OutputStatus(t.source, t.path, t.output.md5, state, tuple(p.missing_objects)))
        for _, md5 in p.entries or ():
            needed.setdefault(md5, None)
        needed.setdefault(t.output.md5, None)
    stats.save()
    return LocalStatus(tuple(rows), tuple(needed))


# -- checkout -------------------------------------------------------------------------------------
def _selection(
    root: str, chosen: Sequence[Tracked], targets: Sequence[str]
) -> list[list[str] | None]:
    """For each chosen output, the paths inside it the targets name; None for all of it."""
    rels = [_rel(root, os.path.abspath(x)) for x in targets]
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
    root = os.path.abspath(os.fspath(repo_root))
    root_path = Path(root)
    cache = repo_cache(root_path)
    stats = StatCache(root_path)
    compare = _Compare(root, cache, stats)
    chosen = tracked_outputs(root, targets)
    names = [os.fspath(x) for x in targets or ()]
    selection = _selection(root, chosen, names) if names else [None] * len(chosen)

    plans = [
        _plan(root, cache, compare, t, jobs, sel) for t, sel in zip(chosen, selection, strict=True)
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
                for folder in _ancestors(parent):
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

    stated = _run_chunks(todo, one, jobs, progress, phase="checkout")
    for item, st in zip(todo, stated, strict=True):
        stats.put(item[1], st, item[2])


__all__ = [
    "AddReport",
    "CheckoutReport",
    "LocalStatus",
    "OutputStatus",
    "StatCache",
    "Tracked",
    "add",
    "add_to_gitignore",
    "checkout",
    "ensure_dvc_dir",
    "find_root",
    "status_local",
    "track",
    "tracked_outputs",
    "walk",
]
