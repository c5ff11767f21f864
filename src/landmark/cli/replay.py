"""Replays the saved output of a read-only command when nothing it reads has changed.

``show``, ``history`` and ``stages`` (and ``compare`` and ``experiments``, see COMMANDS) print a
pure function of: the repository's tags, HEAD
(annotations are read from its tree), the work tree's ``.gto`` and ``.landmark.yaml``, the
command line and landmark's own code. All of these can be fingerprinted from a handful of file
reads and stats (the refs through the git gateway's ``gitrefs``), without starting git or
importing click, so a repeated query costs little more than the interpreter's start-up. Any
change to an input gives a new fingerprint and a full run; only successful runs are saved. A
repository whose refs are in the reftable format is never replayed (only git reads those).
Set ``LANDMARK_NO_CACHE=1`` to bypass it.

This module must stay importable with nothing but the standard library's lightest modules.
"""

import hashlib
import marshal
import os
import sys

from .. import gitrefs
from ..atomic import write_atomic

COMMANDS = frozenset({"show", "history", "stages", "compare", "experiments"})
# compare and experiments read commits only (never the work tree, which is why a compare
# naming 'workspace', or none at all, is not replayed): what they print is fixed by the
# refs that name those commits — branches and DVC's experiment refs as well as tags.
_ALL_REFS = ("tags", "heads", "exps", "replace")
_COMPARE_VALUES = frozenset({"-r", "--repo", "--stage", "--exp", "--sort"})
FORMAT = b"landmark-replay-2"
KEEP = 64  # saved outputs per repository; older ones are pruned
_TRUNK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _repo_option(args: list[str]) -> str | None:
    """The ``-r/--repo`` value (``.`` when absent); None when the line can't be read simply."""
    location = "."
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("-r", "--repo"):
            if i + 1 >= len(args):
                return None
            location = args[i + 1]
            i += 1
        elif a.startswith("--repo="):
            location = a[7:]
        elif a.startswith("-r") and not a.startswith("--"):
            location = a[2:]
        i += 1
    return location


def _is_local(location: str) -> bool:
    return "://" not in location and not (
        ":" in location.split("/", 1)[0] and not os.path.exists(location)
    )


def _code_stamp(h: "hashlib._Hash") -> None:
    for folder in (_TRUNK, os.path.join(_TRUNK, "cli")):
        with os.scandir(folder) as entries:
            for e in sorted(entries, key=lambda e: e.name):
                if e.name.endswith(".py"):
                    st = e.stat()
                    h.update(f"{e.name}:{st.st_mtime_ns}:{st.st_size};".encode())


def _reads_work_tree(args: list[str]) -> bool:
    """Whether a compare line names the work tree: 'workspace', or no revision at all."""
    named = False
    i = 1
    while i < len(args):
        a = args[i]
        if a in _COMPARE_VALUES:
            named = named or a in ("--stage", "--exp")
            i += 2
            continue
        if a.startswith("--exp="):
            named = True
        elif not a.startswith("-"):
            if a == "workspace":
                return True
            named = True
        i += 1
    return not named


def fingerprint(args: list[str]) -> tuple[str, str] | None:
    """(cache folder, key) for this command line, or None where replay doesn't apply."""
    if not args or args[0] not in COMMANDS or os.environ.get("LANDMARK_NO_CACHE"):
        return None
    if args[0] == "compare" and _reads_work_tree(args):
        return None
    location = _repo_option(args)
    if location is None or not _is_local(location):
        return None
    found = gitrefs.locate(os.path.expanduser(location))
    if found is None:
        return None
    worktree, gitdir, common = found
    try:
        namespaces = _ALL_REFS if args[0] in ("compare", "experiments") else ("tags",)
        refs = gitrefs.refs_stamp(gitdir, common, namespaces)
    except OSError:
        return None
    if refs is None:  # reftable: only git can read the refs, so the command runs in full
        return None
    h = hashlib.sha1(FORMAT)
    _code_stamp(h)
    h.update("\0".join(args).encode(errors="surrogateescape"))
    h.update(f"\0{worktree}\0{gitdir}\0{sys.stdout.isatty()}\0".encode(errors="surrogateescape"))
    for k in sorted(os.environ):
        if k.startswith("LANDMARK_"):
            h.update(f"{k}={os.environ[k]}\0".encode(errors="surrogateescape"))
    h.update(refs)
    if worktree is not None:
        for name in (".gto", ".landmark.yaml"):
            h.update(b"\0" + (gitrefs.read_bytes(os.path.join(worktree, name)) or b"-"))
    return os.path.join(gitdir, "landmark", "replay"), h.hexdigest()


def replay(args: list[str]) -> int | None:
    """Write the saved output of ``args`` and return its exit code; None on a miss."""
    try:
        found = fingerprint(args)
    except OSError:
        return None
    if found is None:
        return None
    data = gitrefs.read_bytes(os.path.join(*found))
    if data is None:
        return None
    try:
        code, out, err = marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return None
    if err:
        sys.stderr.buffer.write(err)
    sys.stdout.buffer.write(out)
    return int(code)


def save(found: tuple[str, str], code: int, out: bytes, err: bytes) -> None:
    """Keep a successful run's output; never fail the command over it."""
    folder, key = found
    try:
        # (the temp file's name starts with a dot: the listing below passes it over)
        write_atomic(os.path.join(folder, key), marshal.dumps((code, out, err)))
        with os.scandir(folder) as entries:
            saved = [(e.stat().st_mtime_ns, e.path) for e in entries if not e.name.startswith(".")]
        for _, path in sorted(saved)[:-KEEP]:
            os.unlink(path)
    except OSError:
        pass
