"""What garbage collection must keep: the outputs of registered versions and of named refs."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInput, NotFound
from ..registry import Registry
from .get import Located, locate


@dataclass(frozen=True)
class Kept:
    """Root hashes to keep (files and ``.dir`` manifests), and why each is kept."""

    hashes: frozenset[str]
    reasons: tuple[tuple[str, str], ...]  # (what, hash)
    skipped: tuple[str, ...]  # versions whose bytes aren't tracked by DVC (git files, no path)


def registry_roots(reg: Registry, refs: tuple[str, ...] = ()) -> Kept:
    """Every active, registered version of every artifact that isn't deprecated, plus ``refs``
    (shortcuts like ``churn@v1.0.0`` / ``churn#prod``, resolved as ``get`` does)."""
    state = reg.state()
    wanted: list[str] = []
    for art in state.artifacts.values():
        if not art.registered or not art.active:
            continue
        wanted += [f"{art.name}@{v.version}" for v in art.get_versions()]
    wanted += list(refs)
    hashes: dict[str, None] = {}
    reasons: list[tuple[str, str]] = []
    skipped: list[str] = []
    for ref in dict.fromkeys(wanted):
        try:
            found: Located = locate(reg, ref)
        except (NotFound, InvalidInput):
            # (InvalidInput: an old commit's pointer file the path guard refuses; nothing
            # can be kept for it, and it must not stop the rest from being collected)
            if ref in refs:
                raise
            skipped.append(ref)
            continue
        if found.output is None:
            skipped.append(ref)
            continue
        hashes.setdefault(found.output.md5, None)
        reasons.append((ref, found.output.md5))
    return Kept(frozenset(hashes), tuple(reasons), tuple(skipped))
