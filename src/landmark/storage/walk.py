"""Walking a folder of the work tree: every file's relpath and stat, as dvc would list them."""

from __future__ import annotations

import os
import stat as statmod

from .cache import TMP_PREFIX
from .ignore import Rules

# Folders never part of a tracked directory (dvc skips them too).
SKIP_DIRS = frozenset({".git", ".dvc", ".hg"})


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


__all__ = ["SKIP_DIRS", "walk"]
