"""Finding the repository a storage command works on, making its ``.dvc/`` folder, and the lock
that serialises commands writing the work tree or the cache."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..atomic import write_atomic
from ..errors import RepoError
from ..filelock import locked

DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"


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
        write_atomic(dvc / "config", b"", mode=0o644)
        made.append(".dvc/config")
    if not (dvc / ".gitignore").exists():
        write_atomic(dvc / ".gitignore", DVC_GITIGNORE.encode(), mode=0o644)
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
    with locked(os.path.join(dvc, "tmp", "landmark.lock")):
        yield


# -- paths inside the repository -------------------------------------------------------------
def relpath(root: str, path: str) -> str:
    """``path`` relative to ``root``, with forward slashes (as pointer files write it)."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def ancestors(path: str) -> Iterable[str]:
    """``path``, then each folder above it up to the file system's root."""
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def in_git_work_tree(root: str) -> bool:
    """Whether ``root`` is inside a git work tree (a ``.git`` folder or file at or above it)."""
    return any(os.path.exists(os.path.join(p, ".git")) for p in ancestors(root))


__all__ = [
    "DVC_GITIGNORE",
    "ancestors",
    "ensure_dvc_dir",
    "find_root",
    "in_git_work_tree",
    "relpath",
    "repo_lock",
]
