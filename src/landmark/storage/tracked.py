"""Listing what the work tree tracks: every output its ``.dvc`` files and ``dvc.lock`` files
declare, checked to stay inside the work tree."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInput, NotFound
from .dvcfile import Output, parse_dvcfile, parse_lock
from .pathguard import check_folders, output_path
from .repo_root import in_git_work_tree, relpath
from .walk import SKIP_DIRS


@dataclass(frozen=True)
class Tracked:
    """One output as the repository lists it: where it is declared and where it lives."""

    source: str  # repo-relative path of the .dvc file or dvc.lock
    path: str  # repo-relative posix path of the output
    output: Output  # as written in the file (path relative to the file's folder)


def pointer_files(root: str) -> list[str]:
    """Repo-relative ``*.dvc`` and ``dvc.lock`` files: through git when there is one (it skips
    ignored data folders), else a walk."""
    if in_git_work_tree(root):
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
                found.append(relpath(root, os.path.join(folder, f)))
    return sorted(found)


def tracked_outputs(
    repo_root: str | os.PathLike[str], targets: Sequence[str | os.PathLike[str]] | None = None
) -> list[Tracked]:
    """Every output the work tree's ``.dvc`` files and ``dvc.lock`` files list; with
    ``targets`` (pointer files, outputs, or paths inside tracked directories, relative to the
    current folder), only those covering a target. A target that names nothing is an error."""
    root = os.path.abspath(os.fspath(repo_root))
    everything: list[Tracked] = []
    for source in pointer_files(root):
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
        rel = relpath(root, os.path.abspath(text))
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


__all__ = ["Tracked", "pointer_files", "tracked_outputs"]
