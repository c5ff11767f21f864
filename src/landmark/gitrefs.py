"""The git gateway's file half: finds a repository and fingerprints its refs from git's files.

The one place that knows git's on-disk layout (``.git`` folders and ``gitdir:`` files of
linked worktrees, ``commondir``, ``HEAD``, loose refs, ``packed-refs``, a ``reftable/``
folder). No git process is started, and only ``os`` is imported: the replay cache
(``cli/replay.py``) calls this before anything else is loaded, and ``git.Repo`` uses it to
tell cheaply whether the tags changed.
"""

import os

# Refs that each linked worktree keeps in its own git dir; every other ref lives in the
# common dir, shared by all worktrees.
_PER_WORKTREE = ("refs/bisect/", "refs/worktree/", "refs/rewritten/")


def read_bytes(path: str) -> bytes | None:
    """A file's bytes; None when it cannot be read (absent, a folder, no permission)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def common_dir(git_dir: str) -> str:
    """Where the shared refs and objects are: ``git_dir`` itself, or for a linked worktree
    the main repository's git dir named by its ``commondir`` file."""
    pointer = read_bytes(os.path.join(git_dir, "commondir"))
    if pointer is None:
        return git_dir
    return os.path.normpath(os.path.join(git_dir, pointer.decode(errors="replace").strip()))


def locate(start: str) -> tuple[str | None, str, str] | None:
    """(work tree, or None for a bare repo; git dir; common dir) of the repository that holds
    ``start``, found as git finds it (``GIT_DIR`` and the like are ignored, as the gateway
    scrubs them); None when there is none or it cannot be read simply."""
    first = path = os.path.abspath(start)
    if not os.path.isdir(path):
        return None
    while True:
        dotgit = os.path.join(path, ".git")
        git_dir: str | None = None
        if os.path.isdir(dotgit):
            git_dir = dotgit
        elif os.path.isfile(dotgit):  # a linked worktree or a submodule: "gitdir: <path>"
            text = (read_bytes(dotgit) or b"").decode(errors="replace").strip()
            if not text.startswith("gitdir: "):
                return None
            git_dir = os.path.normpath(os.path.join(path, text[8:]))
        elif all(os.path.exists(os.path.join(path, p)) for p in ("HEAD", "objects", "refs")):
            # A bare repository, recognised only where it was asked for (as Repo.open does).
            return (None, path, common_dir(path)) if path == first else None
        if git_dir is not None:
            return path, git_dir, common_dir(git_dir)
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def uses_reftable(common: str) -> bool:
    """True for a repository whose refs are kept in the reftable format (git 2.45+): those
    are binary tables that only git reads, so :func:`refs_stamp` cannot answer for them."""
    return os.path.isdir(os.path.join(common, "reftable"))


def _signature(name: str, st: os.stat_result) -> bytes:
    return f"{name}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns};".encode(
        errors="surrogateescape"
    )


def refs_stamp(git_dir: str, common: str, namespaces: tuple[str, ...] = ("tags",)) -> bytes | None:
    """Bytes that change whenever a tag, HEAD or the commit of HEAD's branch changes (and any
    ref under the other ``refs/`` folders named in ``namespaces``).

    HEAD and the loose ref it names are read (a few bytes each); ``packed-refs`` and the loose
    refs under ``refs/tags`` are identified by name, inode, size and times. Git rewrites a ref
    file by writing a lock file and renaming it over the old one, so a changed file is a new
    inode with a new change time, which no tool can set back. None for a reftable repository
    (ask git instead); OSError when the files cannot be read.
    """
    if uses_reftable(common):
        return None
    head = read_bytes(os.path.join(git_dir, "HEAD"))
    if head is None:
        raise FileNotFoundError(os.path.join(git_dir, "HEAD"))
    parts = [head, b"\0"]
    target = head
    for _ in range(5):  # a symbolic ref may name another one
        if not target.startswith(b"ref: "):
            break
        name = target[5:].strip().decode(errors="surrogateescape")
        if not name.startswith("refs/") or ".." in name.split("/"):
            break
        base = git_dir if name.startswith(_PER_WORKTREE) else common
        target = read_bytes(os.path.join(base, name)) or b"-"  # absent: packed (stamped below)
        parts += [target, b"\0"]
    try:
        parts.append(_signature("packed-refs", os.stat(os.path.join(common, "packed-refs"))))
    except FileNotFoundError:
        parts.append(b"no packed-refs;")
    refs = os.path.join(common, "refs")
    for namespace in namespaces:
        top = os.path.join(refs, namespace)
        parts.append(f"[{namespace}]".encode())
        stack = [top] if os.path.isdir(top) else []
        while stack:
            with os.scandir(stack.pop()) as scan:
                entries = sorted(scan, key=lambda e: e.name)
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    parts.append(_signature(e.path[len(top) :], e.stat(follow_symlinks=False)))
    return b"".join(parts)
