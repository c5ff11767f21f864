"""``.dvcignore``: the files a tracked folder leaves out, decided as dvc decides them.

A ``.dvcignore`` holds gitignore-style patterns (``#`` comments, ``!`` to re-include, ``/`` to
anchor, a trailing ``/`` for folders only) relative to the folder it sits in. Every
``.dvcignore`` from the repository's top down to a path applies to it; the last pattern that
matches decides, so a deeper file overrides a shallower one, and whatever is inside an ignored
folder is ignored with it. ``dvc init`` writes a ``.dvcignore`` of comments only: files without
patterns cost nothing, and neither does a repository without any. As in dvc, a tracked folder
may not hold a ``.dvcignore`` of its own (``add`` refuses it), so the rules for everything in
a folder are those above it (:meth:`Rules.above`).

The patterns are compiled by ``pathspec`` (gitignore's rules, as dvc uses), imported only
when a file has patterns.
"""

from __future__ import annotations

import os
from typing import Any

IGNORE_FILE = ".dvcignore"


def _patterns(path: str) -> list[str]:
    """The pattern lines of the ``.dvcignore`` at ``path`` ([] when none, or no file)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    return [line for line in lines if line and not line.startswith("#")]


class Rules:
    """The ``.dvcignore`` patterns in force at one folder: layers of (the repo-relative
    prefix of the folder holding the file, its compiled patterns), shallowest first."""

    def __init__(self, layers: tuple[tuple[str, Any], ...] = (), sources: bytes = b"") -> None:
        self.layers = layers
        # what the layers were read from, for a record of a folder to depend on
        self.sources = sources

    def __bool__(self) -> bool:
        return bool(self.layers)

    @classmethod
    def above(cls, root: str, rel: str) -> Rules:
        """The rules in force in the folder holding ``rel`` (repo-relative, posix): from the
        ``.dvcignore`` files of the repository's top and each folder down to it. Empty
        ``rules.layers`` when none has patterns."""
        rules = cls()
        parts = rel.split("/")[:-1] if rel not in ("", ".") else []
        prefix = ""
        for part in ["", *parts]:
            if part:
                prefix = f"{prefix}{part}/"
                if rules.ignored(prefix[:-1], True):
                    break  # inside an ignored folder: its .dvcignore files are not read
            if rules.ignored(prefix + IGNORE_FILE, False):
                continue
            rules = rules.with_file(prefix, os.path.join(root, prefix, IGNORE_FILE))
        return rules

    def with_file(self, prefix: str, path: str) -> Rules:
        """These rules plus those of the ``.dvcignore`` at ``path``, in the folder whose
        repo-relative prefix is ``prefix`` (``""`` or ``"a/b/"``)."""
        lines = _patterns(path)
        if not lines:
            return self
        import pathspec

        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        source = f"{prefix}\0" + "\n".join(lines) + "\0"
        return Rules((*self.layers, (prefix, spec)), self.sources + source.encode())

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether the repo-relative path ``rel`` is left out (its folders are not looked
        at: the walk does not enter an ignored folder)."""
        decision: bool | None = None
        for prefix, spec in self.layers:
            if not rel.startswith(prefix):
                continue
            inner = rel[len(prefix) :]
            found = spec.check_file(f"{inner}/" if is_dir else inner).include
            if found is not None:
                decision = found
        return bool(decision)


__all__ = ["IGNORE_FILE", "Rules"]
