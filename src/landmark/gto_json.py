"""What ``show``, ``history`` and ``check-ref`` print: GTO's JSON shapes, and table rows.

Pure functions over state, shared by the CLI and the Python API, so that ``--json`` output is
the same as GTO's for the same repository.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .annotations import Annotation
from .events import Event, Kind
from .records import CommitInfo
from .state import TIMESTAMP, ArtifactState, RegistryState, StageState, VersionState

Json = dict[str, Any]


def iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def registry(
    state: RegistryState,
    stages: list[str],
    *,
    registered_only: bool = False,
    deprecated: bool = False,
    assignments_per_version: int = -1,
    versions_per_stage: int = 1,
    sort: str = TIMESTAMP,
) -> dict[str, Json]:
    """``show --json``: ``{name: {version, stage: {stage: versions|None}, registered, active}}``."""
    out: dict[str, Json] = {}
    for name, art in state.artifacts.items():
        if not (art.active or deprecated):
            continue
        latest = art.latest(registered_only=True)
        held = art.vstages(registered_only, assignments_per_version, versions_per_stage, sort)
        out[name] = {
            "version": latest.version if latest else None,
            "stage": {s: ", ".join(p.version for p in held.get(s, [])) or None for s in stages},
            "registered": art.registered,
            "active": art.active,
        }
    return out


def event_dict(e: Event, version: str | None, *, full: bool = True, with_kind: bool = True) -> Json:
    """GTO's event model: ``priority``/``addition`` (``full``), then the fields, then ``event``."""
    d: Json = {}
    if full:
        d["priority"] = e.kind.priority
        d["addition"] = e.kind.is_addition
    d.update(
        artifact=e.artifact,
        created_at=iso(e.time),
        author=e.author,
        author_email=e.author_email,
        message=e.message,
        commit_hexsha=e.commit,
        tag=e.tag,
    )
    if e.kind is not Kind.DEPRECATION:
        d["version"] = version
    if e.kind in (Kind.ASSIGNMENT, Kind.UNASSIGNMENT):
        d["stage"] = e.name.stage
    if with_kind:
        d["event"] = e.kind.label
    return d


def _authored(d: Json, created: datetime | None, event: Event | Json | None) -> None:
    d["created_at"] = iso(created)
    if isinstance(event, Event):
        d.update(
            author=event.author,
            author_email=event.author_email,
            message=event.message,
            ref=event.tag,
        )
    elif event is not None:
        d.update(
            author=event["author"],
            author_email=event["author_email"],
            message=event["message"],
            ref=event["commit_hexsha"],
        )


def stage_dict(p: StageState) -> Json:
    d: Json = {
        "artifact": p.artifact,
        "commit_hexsha": p.commit,
        "version": p.version,
        "stage": p.stage,
        "assignments": [event_dict(e, p.version) for e in _by_time(p.assignments)],
        "unassignments": [event_dict(e, p.version) for e in _by_time(p.unassignments)],
        "is_active": p.active,
        "activated_at": iso(p.activated_at),
    }
    _authored(d, p.created_at, p.authoring)
    return d


def _by_time(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e.time)


def commit_dict(v: VersionState, c: CommitInfo, annotation: Annotation | None) -> Json:
    """GTO's per-commit "enrichment" event; ``enrichments`` holds the artifacts.yaml entry."""
    return {
        "priority": 0,
        "addition": True,
        "artifact": v.artifact,
        "created_at": iso(c.time),
        "author": c.author,
        "author_email": c.author_email,
        "message": c.message,
        "commit_hexsha": c.sha,
        "version": v.version,
        "enrichments": [{"source": "gto", "artifact": annotation.gto_dict()}] if annotation else [],
        "committer": c.committer,
        "committer_email": c.committer_email,
    }


def version_dict(
    v: VersionState,
    held: list[StageState],
    commit: CommitInfo | None,
    annotation: Annotation | None,
) -> Json:
    """One entry of ``show NAME --json``."""
    enrich = [commit_dict(v, commit, annotation)] if commit else []
    d: Json = {
        "artifact": v.artifact,
        "commit_hexsha": v.commit,
        "version": v.version,
        "enrichments": enrich,
        "registrations": [
            event_dict(e, v.version, with_kind=False) for e in _by_time(v.registrations)
        ],
        "deregistrations": [
            event_dict(e, v.version, with_kind=False) for e in _by_time(v.deregistrations)
        ],
        "stages": [stage_dict(p) for p in held],
        "is_active": v.active,
    }
    if v.registrations:
        d["activated_at"] = iso(v.activated_at)
        _authored(d, v.created_at, v.authoring)
    else:
        # Like GTO, a version without registrations is described by its newest indirect
        # event, where the commit itself counts as one.
        indirect: list[tuple[datetime, Event | Json]] = [(e.time, e) for e in v.stage_events()]
        if enrich and commit:
            indirect.append((commit.time, enrich[0]))
        indirect.sort(key=lambda x: x[0])
        d["activated_at"] = iso(indirect[0][0]) if indirect else None
        newest = indirect[-1] if indirect else None
        _authored(d, newest[0] if newest else None, newest[1] if newest else None)
    d["discovered"] = v.discovered
    return d


def versions(
    art: ArtifactState,
    *,
    registered_only: bool = False,
    deprecated: bool = False,
    assignments_per_version: int = -1,
    versions_per_stage: int = 1,
    sort: str = TIMESTAMP,
) -> list[tuple[VersionState, list[StageState]]]:
    """The versions ``show NAME`` lists, each with the stages it holds."""
    if not (art.active or deprecated):
        return []
    held = art.vstages(registered_only, assignments_per_version, versions_per_stage, sort)
    chosen = art.get_versions(
        active_only=not deprecated,
        include_non_explicit=not registered_only,
        include_discovered=True,
    )
    return [(v, [p for ps in held.values() for p in ps if p.version == v.version]) for v in chosen]


def history_entry(e: Event, version: str | None) -> Json:
    return {
        "timestamp": iso(e.time),
        "artifact": e.artifact,
        "event": e.kind.label,
        "priority": e.kind.priority,
        "version": version,
        "stage": e.name.stage,
        "commit": e.commit,
        "author": e.author,
        "author_email": e.author_email,
        "message": e.message,
        "ref": e.tag,
    }


def version_index(state: RegistryState) -> dict[str, str]:
    """tag -> version for every stage event (one pass, for history on large registries)."""
    index: dict[str, str] = {}
    for art in state.artifacts.values():
        for v in art.versions:
            for e in v.events:
                index[e.tag] = v.version
            for p in v.stages:
                for e in p.events:
                    index[e.tag] = v.version
    return index
