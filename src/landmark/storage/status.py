"""Local status: for each tracked output, is the work tree as tracked, and are its objects
in the cache?"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from .compare import Compare, plan_output
from .tracked import tracked_outputs


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


def status_local(
    repo_root: str | os.PathLike[str],
    targets: Sequence[str | os.PathLike[str]] | None = None,
    jobs: int | None = None,
) -> LocalStatus:
    """For each tracked output: is the work tree as tracked, and are its objects cached?"""
    compare = Compare.at(repo_root)
    root, cache, stats = compare.root, compare.cache, compare.stats
    rows: list[OutputStatus] = []
    needed: dict[str, None] = {}
    for t in tracked_outputs(root, targets):
        p = plan_output(root, cache, compare, t, jobs)
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


__all__ = ["LocalStatus", "OutputStatus", "status_local"]
