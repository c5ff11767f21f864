"""The local object cache in DVC 3's layout (``files/md5/ab/cdef...``) and workspace linking."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..atomic import write_all, write_atomic
from ..errors import ConfigError, IntegrityError, NotFound
from . import dvcconfig
from .hashing import DirEntry, data_md5, file_md5, is_hash, parse_manifest

READ_ONLY = 0o444
TMP_PREFIX = ".lmtmp-"  # partial objects: hidden, never a valid hash name
LINK_KINDS = ("reflink", "hardlink", "symlink", "copy")
LIST_FROM = 1024  # from this many hashes, ``existing`` lists folders instead of stat-ing each
DEFAULT_LINKS = ("reflink", "hardlink", "copy")
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


_tmpfile_ok = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


def write_object(parent: str, dest: str, data: bytes, mode: int) -> None:
    """Create ``dest`` (a new name in the folder ``parent``) holding ``data``; it appears whole
    or not at all. On Linux the bytes go to an unnamed file that is then linked into place
    (``O_TMPFILE`` + ``linkat``): one name created, no temp name to clean up after a crash.
    Elsewhere, a temp file renamed. Objects are named by their content, so an existing ``dest``
    holds the same bytes: the first way keeps it, the second replaces it."""
    global _tmpfile_ok
    if _tmpfile_ok:
        try:
            fd = os.open(parent, os.O_TMPFILE | os.O_WRONLY, mode)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            _tmpfile_ok = False  # not on this filesystem or kernel: use temp names
        else:
            try:
                write_all(fd, data)
                # linkat(AT_SYMLINK_FOLLOW) through /proc names the open file; os.link only
                # calls linkat when given a dir fd, which an absolute source path ignores.
                os.link(f"/proc/self/fd/{fd}", dest, src_dir_fd=fd, follow_symlinks=True)
            except FileExistsError:
                pass
            finally:
                os.close(fd)
            return
    write_atomic(dest, data, mode=mode, prefix=TMP_PREFIX)


class ObjectFolders:
    """Objects named ``<base>/ab/cdef...`` on this machine (the cache, a local remote): where
    each one goes, and its fan-out folder made once per process."""

    _base: str
    _made: set[str]

    def ospath(self, md5: str) -> str:
        """The object's path as a string (no Path objects in hot loops)."""
        return f"{self._base}/{md5[:2]}/{md5[2:]}"

    def _parent(self, md5: str) -> str:
        parent = f"{self._base}/{md5[:2]}"
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        return parent

    def clean_tmp(self, older_than_s: float = 0) -> int:
        """Remove temp files left by interrupted writes; how many were removed. With
        ``older_than_s``, only those not modified for that long (others may be in use)."""
        removed = 0
        cutoff = time.time() - older_than_s if older_than_s > 0 else None
        try:
            prefixes = os.listdir(self._base)
        except FileNotFoundError:
            return 0
        for prefix in prefixes:
            folder = os.path.join(self._base, prefix)
            try:
                names = os.listdir(folder)
            except NotADirectoryError:
                continue
            for name in names:
                if name.startswith(TMP_PREFIX):
                    path = os.path.join(folder, name)
                    if cutoff is not None:
                        try:
                            if os.stat(path).st_mtime > cutoff:
                                continue
                        except FileNotFoundError:
                            continue
                    unlink_quiet(path)
                    removed += 1
        return removed


class ObjectCache(ObjectFolders):
    """Content-addressed objects under ``root/files/md5``; objects are read-only files."""

    def __init__(self, root: Path, link_kinds: Sequence[str] = DEFAULT_LINKS) -> None:
        self.root = Path(root)
        self.link_kinds = tuple(link_kinds)
        self._base = os.path.join(os.fspath(self.root), "files", "md5")
        self._made: set[str] = set()

    def __repr__(self) -> str:
        return f"ObjectCache({str(self.root)!r})"

    # -- names --------------------------------------------------------------------------------
    def path(self, md5: str) -> Path:
        return Path(self.ospath(md5))

    def exists(self, md5: str) -> bool:
        return os.path.exists(self.ospath(md5))

    def existing(self, hashes: Iterable[str]) -> set[str]:
        """Which of ``hashes`` are in the cache. Many are answered by listing their prefix
        folders (a few hundred reads) rather than by one ``stat`` each."""
        wanted = set(hashes)
        if len(wanted) < LIST_FROM:
            return {h for h in wanted if os.path.exists(self.ospath(h))}
        have: set[str] = set()
        for prefix in {h[:2] for h in wanted}:
            try:
                names = os.listdir(f"{self._base}/{prefix}")
            except (FileNotFoundError, NotADirectoryError):
                continue
            have.update([prefix + n for n in names])
        return wanted & have

    # -- vouching for presence without listing ---------------------------------------------------
    # Making or removing a name stamps its folder's mtime, so while the fan-out folders that
    # hold a set of objects keep their (inode, mtime), none of those objects has come or gone.
    def folders_signature(self, prefixes: Iterable[str], since: int) -> bytes | None:
        """A digest of the (inode, mtime) of the fan-out folders ``prefixes`` name; None when
        one is missing or was stamped at or after ``since`` (a second change in the same
        clock tick would leave the stamp as it is)."""
        import hashlib
        from array import array

        values = array("q")
        for prefix in sorted(prefixes):
            try:
                st = os.stat(f"{self._base}/{prefix}")
            except OSError:
                return None
            if st.st_mtime_ns >= since:
                return None
            values.append(st.st_ino)
            values.append(st.st_mtime_ns)
        return hashlib.md5(values.tobytes()).digest()

    def backdate_folders(self, prefixes: Iterable[str], when_ns: int) -> None:
        """Stamp the fan-out folders ``prefixes`` name with the past time ``when_ns`` (a fine
        clock reading, so no other stamp equals it), so that a writer can vouch for what they
        hold straight away: any change after this stamps them anew. Best effort (a shared
        cache's folders may belong to someone else)."""
        for prefix in prefixes:
            path = f"{self._base}/{prefix}"
            try:
                st = os.stat(path)
                if st.st_mtime_ns > when_ns:
                    os.utime(path, ns=(st.st_atime_ns, when_ns))
            except OSError:
                continue

    def iter_hashes(self) -> Iterator[str]:
        """Every complete object's hash (``.dir`` included); partial temp files are skipped."""
        return walk_objects(self._base)

    # -- writing ------------------------------------------------------------------------------
    def remove(self, md5: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.ospath(md5))

    def put_file(self, src: Path, md5: str) -> Path:
        """Move ``src`` (already known to hash to ``md5``) into the cache, read-only."""
        self._parent(md5)
        dest = self.ospath(md5)
        os.chmod(src, READ_ONLY)
        os.replace(src, dest)
        return Path(dest)

    def put_bytes(self, data: bytes, md5: str) -> Path:
        """Store ``data`` under ``md5`` atomically, read-only; checks the hash."""
        if data_md5(data, md5) != md5:
            raise IntegrityError(f"refusing to store bytes under {md5}: their md5 differs")
        dest = self.ospath(md5)
        if not os.path.exists(dest):
            self.put_verified(data, md5)
        return Path(dest)

    def put_verified(self, data: bytes, md5: str) -> None:
        """Store bytes the caller has just checked to hash to ``md5``: whole or not at all,
        read-only from the moment they have a name."""
        write_object(self._parent(md5), self.ospath(md5), data, READ_ONLY)

    def open_tmp(self, md5: str) -> Path:
        """A fresh temp path beside the object's final place (same filesystem, so the final
        rename is atomic); the caller writes it and hands it to :meth:`commit_tmp`."""
        parent = self._parent(md5)
        return Path(f"{parent}/{TMP_PREFIX}{md5[2:]}-{os.urandom(6).hex()}")

    def commit_tmp(self, tmp_path: Path, md5: str, verify: bool = True) -> Path:
        """Rename a finished temp file into place, read-only; a wrong hash removes it and
        raises IntegrityError, so no partial or corrupt object is ever visible."""
        try:
            if verify:
                actual = _path_md5(os.fspath(tmp_path), md5)
                if actual != md5:
                    raise IntegrityError(
                        f"object {md5} arrived with md5 {actual}: corrupt at the source; "
                        "it was not stored"
                    )
            os.chmod(tmp_path, READ_ONLY)
            dest = self.ospath(md5)
            os.replace(tmp_path, dest)
        except BaseException:
            unlink_quiet(os.fspath(tmp_path))
            raise
        return Path(dest)

    # -- reading ------------------------------------------------------------------------------
    def read_manifest(self, md5_dir: str) -> list[DirEntry]:
        try:
            with open(self.ospath(md5_dir), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise NotFound(
                f"directory manifest {md5_dir} is not in the cache; run `landmark pull`"
            ) from None
        return parse_manifest(data, f"cache object {md5_dir}")

    def objects_for(self, md5: str) -> list[str]:
        """Every object ``md5`` needs: a directory's files (each once) then its ``.dir`` last."""
        if not md5.endswith(".dir"):
            return [md5]
        seen: dict[str, None] = {}
        for e in self.read_manifest(md5):
            seen.setdefault(e.md5, None)
        seen.pop(md5, None)
        return [*seen, md5]


def walk_objects(base: str) -> Iterator[str]:
    """The object hashes under a ``files/md5`` folder (a cache's or a local remote's), sorted;
    temp files and strays are skipped."""
    try:
        prefixes = sorted(os.listdir(base))
    except FileNotFoundError:
        return
    for prefix in prefixes:
        if len(prefix) != 2:
            continue
        try:
            names = os.listdir(os.path.join(base, prefix))
        except NotADirectoryError:
            continue
        for name in sorted(names):
            md5 = prefix + name
            if is_hash(md5):
                yield md5


def unlink_quiet(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _path_md5(path: str, md5: str) -> str:
    if md5.endswith(".dir"):
        with open(path, "rb") as f:
            return data_md5(f.read(), md5)
    return file_md5(path)


# -- configuration ----------------------------------------------------------------------------
def cache_settings(repo_root: Path) -> dict[str, str]:
    """The ``[cache]`` section as dvc reads it: the system, global, repo (``.dvc/config``) and
    local (``.dvc/config.local``) files merged in that order, ``dir`` resolved against the
    folder of the file that set it."""
    return dvcconfig.read(Path(repo_root)).section("cache")


def repo_cache(repo_root: Path) -> ObjectCache:
    """The repository's cache: ``.dvc/cache`` unless ``[cache] dir`` (at any config level,
    relative to its file's folder) says otherwise; ``[cache] type`` picks and orders the link
    kinds."""
    settings = cache_settings(repo_root)
    where = settings.get("dir")
    root = Path(where) if where else Path(repo_root) / ".dvc" / "cache"
    kinds: Sequence[str] = DEFAULT_LINKS
    if settings.get("type"):
        kinds = [k.strip() for k in settings["type"].split(",") if k.strip()]
        bad = [k for k in kinds if k not in LINK_KINDS]
        if bad or not kinds:
            raise ConfigError(
                f"dvc config, [cache] type: unknown link kind {', '.join(bad) or '(empty)'}; "
                f"use any of {', '.join(LINK_KINDS)}"
            )
    return ObjectCache(Path(os.path.normpath(root)), kinds)


# -- linking ----------------------------------------------------------------------------------
def reflink(src: str, dest: str) -> None:
    """Clone ``src``'s blocks into a new file ``dest`` (FICLONE); OSError where unsupported."""
    import fcntl

    s = os.open(src, os.O_RDONLY)
    try:
        d = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.ioctl(d, _FICLONE, s)
        except BaseException:
            os.close(d)
            unlink_quiet(dest)
            raise
        os.close(d)
    finally:
        os.close(s)


def copy_file(src: str, dest: str) -> None:
    """One copy, kernel-side where possible (copy_file_range / sendfile)."""
    import shutil

    shutil.copyfile(src, dest)


# errnos that mean "this kind of link can't be made here", not "something is broken"
UNSUPPORTED = {
    errno.EXDEV,
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.EINVAL,
    errno.ENOTTY,
    errno.EPERM,
    errno.EMLINK,
    errno.ENOSYS,
}


class Linker:
    """Makes files from cache objects with the first link kind that works here, remembering
    which one did so the others are not retried for every file (thread-safe)."""

    def __init__(self, kinds: Sequence[str] = DEFAULT_LINKS) -> None:
        import threading

        self.kinds = list(kinds) or list(DEFAULT_LINKS)
        # one list per kind: list.append is atomic under the GIL, a counter += is not
        self._used: dict[str, list[None]] = {k: [] for k in LINK_KINDS}
        self._lock = threading.Lock()

    @property
    def used(self) -> dict[str, int]:
        """How many files were made with each kind of link."""
        return {k: len(v) for k, v in self._used.items() if v}

    def give_up(self, kind: str, error: OSError) -> None:
        """``kind`` failed with ``error``: move on to the next kind when that means "not
        possible here", else re-raise. Several threads may fail on the same kind at once."""
        if error.errno not in UNSUPPORTED or isinstance(error, FileExistsError):
            raise error
        with self._lock:
            if self.kinds[0] == kind:
                if len(self.kinds) == 1:
                    raise error
                self.kinds.pop(0)

    def count(self, kind: str) -> None:
        self._used[kind].append(None)

    def link(self, src: str, dest: str) -> str:
        """Create ``dest`` (which must not exist) from ``src``; the kind of link made."""
        while True:
            kind = self.kinds[0]
            try:
                if kind == "reflink":
                    reflink(src, dest)
                elif kind == "hardlink":
                    os.link(src, dest)
                elif kind == "symlink":
                    os.symlink(os.path.abspath(src), dest)
                else:
                    copy_file(src, dest)
            except OSError as e:
                self.give_up(kind, e)
                continue
            self.count(kind)
            return kind

    def replace(self, src: str, dest: str) -> str:
        """Make ``dest`` a link to ``src``, replacing whatever is there, atomically."""
        parent, name = os.path.split(dest)
        tmp = os.path.join(parent, f"{TMP_PREFIX}{name[:40]}-{os.urandom(4).hex()}")
        kind = self.link(src, tmp)
        try:
            if kind in ("reflink", "copy"):
                # A private copy: writable, like any workspace file.
                os.chmod(tmp, stat.S_IMODE(os.stat(src).st_mode) | stat.S_IWUSR)
            os.replace(tmp, dest)
            if kind == "hardlink":
                # rename() between two links of one file does nothing and keeps both names.
                unlink_quiet(tmp)
        except BaseException:
            unlink_quiet(tmp)
            raise
        return kind

    def create(self, src: str, dest: str) -> str:
        """Make a new ``dest`` from ``src``: a link directly (a link appears whole), a copy
        through a temp file (a copy does not)."""
        while self.kinds[0] in ("hardlink", "symlink"):
            kind = self.kinds[0]
            try:
                if kind == "hardlink":
                    os.link(src, dest)
                else:
                    os.symlink(os.path.abspath(src), dest)
            except FileExistsError:
                break
            except OSError as e:
                self.give_up(kind, e)
                continue
            self.count(kind)
            return kind
        return self.replace(src, dest)


def link(cache_path: Path, dest: Path, kinds: Sequence[str] = DEFAULT_LINKS) -> str:
    """Make ``dest`` from a cache object: reflink, else hardlink, else one copy (never two
    writes); replaces ``dest`` atomically. Returns the kind of link made."""
    os.makedirs(os.path.dirname(os.fspath(dest)) or ".", exist_ok=True)
    return Linker(kinds).replace(os.fspath(cache_path), os.fspath(dest))


__all__ = [
    "DEFAULT_LINKS",
    "LINK_KINDS",
    "READ_ONLY",
    "Linker",
    "ObjectCache",
    "cache_settings",
    "link",
    "reflink",
    "repo_cache",
    "walk_objects",
]
