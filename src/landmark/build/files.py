"""Reading an untrusted model directory, and outputs that appear whole or not at all.

A model directory may come from a cloned repository, so whoever could push wrote it. What is
read from it: regular files and folders only, every name checked, no symbolic link followed
(a link in a model folder is refused: it could carry ``/etc/shadow`` or a key into an
image). Every file that ``landmark.yaml`` lists must hold the bytes its md5 says.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import IntegrityError, InvalidInput, one_line
from ..models.meta import ModelMeta

_CHUNK = 1 << 20
MAX_DEPTH = 32


@dataclass(frozen=True)
class Entry:
    """One entry of the model directory: a posix path relative to it; size for files."""

    path: str
    is_dir: bool
    size: int = 0


def _check_name(directory: Path, rel: str, name: str) -> None:
    where = f"{directory}/{rel}" if rel else str(directory)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{where}: an entry's name is not valid UTF-8; refusing to package the folder"
        ) from None
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or "\\" in name:
        raise InvalidInput(
            f"{where}: the entry {one_line(repr(name), 80)} has a control character or a "
            "backslash in its name; refusing to package the folder"
        )


def scan(directory: Path) -> list[Entry]:
    """Every folder and regular file under ``directory``, parents first, in name order;
    an InvalidInput for a symbolic link, a device, a socket or a pipe."""
    found: list[Entry] = []

    def walk(rel: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{directory}/{rel}: folders nested deeper than {MAX_DEPTH}")
        here = directory / rel if rel else directory
        try:
            with os.scandir(here) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as e:
            raise InvalidInput(f"{here} cannot be read ({e.strerror or e})") from None
        for item in items:
            _check_name(directory, rel, item.name)
            path = f"{rel}/{item.name}" if rel else item.name
            st = item.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise InvalidInput(
                    f"{directory}/{path} is a symbolic link; a model folder to package must "
                    "hold regular files only (copy the file in place of the link)"
                )
            if stat.S_ISDIR(st.st_mode):
                found.append(Entry(path, True))
                walk(path, depth + 1)
            elif stat.S_ISREG(st.st_mode):
                found.append(Entry(path, False, st.st_size))
            else:
                raise InvalidInput(
                    f"{directory}/{path} is not a regular file or folder; refusing to package it"
                )

    walk("", 0)
    return found


@contextmanager
def open_file(directory: Path, rel: str) -> Iterator[BinaryIO]:
    """``rel`` under ``directory`` opened for reading without following a link at any step
    (a folder swapped for a link after the scan is refused too)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    dir_flags = flags | getattr(os, "O_DIRECTORY", 0)
    fds: list[int] = []
    try:
        fd = os.open(directory, dir_flags)
        fds.append(fd)
        parts = rel.split("/")
        for part in parts[:-1]:
            fd = os.open(part, dir_flags, dir_fd=fd)
            fds.append(fd)
        fd = os.open(parts[-1], flags, dir_fd=fd)
    except OSError as e:
        raise InvalidInput(
            f"{directory}/{rel} cannot be opened without following a link ({e.strerror or e})"
        ) from None
    finally:
        for d in fds:
            os.close(d)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InvalidInput(f"{directory}/{rel} is not a regular file; refusing to package it")
    with os.fdopen(fd, "rb") as fh:
        yield fh


class Checker:
    """The md5s that ``landmark.yaml`` records, compared with the bytes as they are read."""

    def __init__(self, directory: Path, meta: ModelMeta) -> None:
        self.directory = directory
        self.expected = {f.path: f.md5 for f in meta.files}
        self.seen: set[str] = set()

    def check(self, rel: str, md5: str) -> None:
        want = self.expected.get(rel)
        if want is not None and want != md5:
            raise IntegrityError(
                f"{self.directory}/{rel} does not match the md5 in landmark.yaml; "
                "fetch or save the model again"
            )
        self.seen.add(rel)

    def finish(self, entries: list[Entry]) -> None:
        files = {e.path for e in entries if not e.is_dir}
        for rel in self.expected:
            if rel not in files:
                raise IntegrityError(
                    f"{self.directory}/{rel} is missing; fetch or save the model again"
                )


def copy_model(directory: Path, meta: ModelMeta, dest: Path) -> list[Entry]:
    """Copy the model directory's folders and files into the new folder ``dest`` (mode 0644
    and 0755, no links), checking each file against its md5."""
    entries = scan(directory)
    checker = Checker(directory, meta)
    checker.finish(entries)
    dest.mkdir(parents=True)
    for entry in entries:
        target = dest / entry.path
        if entry.is_dir:
            target.mkdir()
            continue
        digest = hashlib.md5()
        with open_file(directory, entry.path) as src, open(target, "xb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        target.chmod(0o644)
        checker.check(entry.path, digest.hexdigest())
    return entries


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_output(out: Path, source: Path, *, force: bool, is_dir: bool) -> Path:
    """The absolute output path, refused when it would overwrite something without
    ``force``, or replace or sit inside the model directory itself."""
    target = Path(os.path.abspath(out))
    real = target.resolve()
    src = source.resolve()
    if _inside(real, src) or _inside(src, real):
        raise InvalidInput(
            f"-o {out}: the output must lie outside the model directory {source} "
            "(and not contain it)"
        )
    if target.is_symlink():
        raise InvalidInput(f"-o {out} is a symbolic link; give the real path")
    if target.exists():
        if is_dir and not target.is_dir():
            raise InvalidInput(f"-o {out} is a file; give a folder path")
        if not is_dir and target.is_dir():
            raise InvalidInput(f"-o {out} is a folder; give a file path like model.tar")
        busy = any(target.iterdir()) if target.is_dir() else True
        if busy and not force:
            what = "folder is not empty" if is_dir else "file exists"
            raise InvalidInput(f"-o {out}: the {what}; pass --force to replace it")
    return target


@contextmanager
def staged_dir(target: Path) -> Iterator[Path]:
    """A temporary folder next to ``target`` to build in; renamed to ``target`` when the
    block ends without an error (what was there goes only then), removed otherwise."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    tmp.chmod(0o755)
    try:
        yield tmp
        _replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace(new: Path, target: Path) -> None:
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    os.replace(new, target)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


@contextmanager
def staged_file(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A temporary file next to ``target``, and a scratch folder beside it; the file is
    renamed to ``target`` when the block ends without an error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    part = scratch / "out.part"
    try:
        with open(part, "xb") as fh:
            yield fh, scratch
        part.chmod(0o644)
        os.replace(part, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def relink(root: Path, old: str, new: str, accept: Callable[[Path], bool]) -> None:
    """Replace the text ``old`` by ``new`` in the small text files under ``root`` that
    ``accept`` (a venv's scripts name the folder they were made in)."""
    for path in sorted(root.iterdir()):
        if path.is_symlink() or not path.is_file() or not accept(path):
            continue
        data = path.read_bytes()
        if len(data) > _CHUNK or b"\0" in data or old.encode() not in data:
            continue
        mode = path.stat().st_mode
        path.write_bytes(data.replace(old.encode(), new.encode()))
        path.chmod(stat.S_IMODE(mode))


__all__ = [
    "Checker",
    "Entry",
    "check_output",
    "copy_model",
    "open_file",
    "relink",
    "scan",
    "staged_dir",
    "staged_file",
]
