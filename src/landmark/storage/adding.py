"""``landmark add``: store work tree files and folders in the cache, write their ``.dvc`` files
and ignore them in git.

Speed matters here (20,000 small files, 1 GiB models): files are hashed on a thread pool in
chunks, and a file's bytes are never written twice: the workspace file is hard-linked (or
reflinked) into the cache after being read once for its md5.
"""

from __future__ import annotations

import contextlib
import os
import stat as statmod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_atomic
from ..errors import Conflict, IntegrityError, InvalidInput, LandmarkError, NotFound
from ..progress import Progress
from .cache import READ_ONLY, Linker, ObjectCache, copy_file, reflink, repo_cache
from .compare import drop_if_linked
from .dvcfile import Output, parse_dvcfile, parse_lock, write_dvcfile
from .hashing import BLOCK, DirEntry, file_md5, manifest_bytes, manifest_hash
from .ignore import IGNORE_FILE, Rules
from .parallel import run_chunks
from .repo_root import ensure_dvc_dir, in_git_work_tree, relpath, repo_lock
from .statcache import StatCache, folder_digest
from .tracked import pointer_files
from .walk import walk


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


def _size(item: tuple[str, str, os.stat_result]) -> int:
    return item[2].st_size


def _check_add_target(root: str, raw: str | os.PathLike[str], cache_root: str) -> str:
    """The absolute path to add, after every check that must pass before anything is written."""
    text = os.fspath(raw)
    path = os.path.abspath(text)
    rel = relpath(root, path)
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
    for source in pointer_files(root):
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
        rel = relpath(root, target)
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
    if not in_git_work_tree(root):
        return []
    from .. import git

    rels = [relpath(root, p) for p in paths]
    proc = git.run(["ls-files", "-z", "--", *[f":(literal){r}" for r in rels]], root, check=False)
    if proc.returncode != 0:
        return []
    listed = proc.stdout.decode(errors="surrogateescape").split("\0")
    hit = []
    for r in rels:
        if any(name == r or name.startswith(r + "/") for name in listed if name):
            hit.append(r)
    return hit


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
    write_atomic(path, text.encode("utf-8", errors="surrogateescape"), mode=0o644)
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
                raise InvalidInput(
                    f"{relpath(root, inner)} is inside {relpath(root, outer)}: add one"
                )
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
        key = relpath(root, target)
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
    done_in_order = run_chunks([items[i] for i in order], work, jobs, progress, _size, "add")
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
        dvcfiles.append(relpath(root, pointer))
        if add_to_gitignore(folder, name):
            gitignores.append(relpath(root, os.path.join(folder, ".gitignore")))
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


__all__ = ["AddReport", "add", "add_to_gitignore", "track"]
