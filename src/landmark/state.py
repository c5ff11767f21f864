"""Fold registry events into state, with GTO's semantics (and its failure cases fixed).

Pure: takes parsed tags, returns frozen values. Ordering follows GTO so that ``show`` agrees
with it: events apply in tag-time order, ties broken by kind (deprecation, then
(de)registration, then (un)assignment); registrations are folded before assignments, so an
assignment always lands on the version registered on its commit, whenever that happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

from . import events as ev
from .events import Event, Kind
from .records import RawTag
from .versions import Version

_T = TypeVar("_T")


class cached_property(Generic[_T]):
    """functools.cached_property without its per-class lock (Python 3.11 takes one on every
    first access, which costs a third of ``show`` on 100,000 tags)."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> cached_property[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> _T: ...
    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value


TIMESTAMP = "timestamp"
SEMVER = "semver"


def _newest(events: Sequence[Event]) -> Event | None:
    """The event in effect. Every ``events`` tuple here is kept in ``Event.order``
    (the fold appends events in that order), so it is the last one."""
    return events[-1] if events else None


@dataclass(frozen=True)
class StageState:
    """The history of one stage on one version."""

    artifact: str
    version: str
    stage: str
    commit: str
    events: tuple[Event, ...]

    @cached_property
    def active(self) -> bool:
        last = _newest(self.events)
        return last is not None and last.kind is Kind.ASSIGNMENT

    @property
    def assignments(self) -> list[Event]:
        return [e for e in self.events if e.kind is Kind.ASSIGNMENT]

    @property
    def unassignments(self) -> list[Event]:
        return [e for e in self.events if e.kind is Kind.UNASSIGNMENT]

    @property
    def activated_at(self) -> datetime | None:
        last = _newest(self.events)
        return last.time if last is not None and last.kind is Kind.ASSIGNMENT else None

    @cached_property
    def authoring(self) -> Event:
        """The event that describes this pair: its newest assignment (GTO's choice)."""
        adds = self.assignments
        return _newest(adds) or self.events[-1]

    @property
    def created_at(self) -> datetime:
        return self.authoring.time


@dataclass(frozen=True)
class VersionState:
    """One version: a registered SemVer, or a bare commit that only carries stages."""

    artifact: str
    version: str
    commit: str
    events: tuple[Event, ...] = ()  # registrations and deregistrations
    stages: tuple[StageState, ...] = ()
    annotated_at_head: bool = False  # found in dvc.yaml/artifacts.yaml at HEAD, no tags

    @property
    def registrations(self) -> list[Event]:
        return [e for e in self.events if e.kind is Kind.REGISTRATION]

    @property
    def deregistrations(self) -> list[Event]:
        return [e for e in self.events if e.kind is Kind.DEREGISTRATION]

    @property
    def registered(self) -> bool:
        return any(e.kind is Kind.REGISTRATION for e in self.events)

    @property
    def discovered(self) -> bool:
        """No registration tags at all: known only through stages or annotations."""
        return not self.events

    @cached_property
    def active(self) -> bool:
        last = _newest(self.events)
        if last is not None:
            return last.kind is Kind.REGISTRATION
        return bool(self.stages) or self.annotated_at_head

    def stage_events(self) -> list[Event]:
        return [e for s in self.stages for e in s.events]

    @cached_property
    def authoring(self) -> Event | None:
        regs = self.registrations
        if regs:
            return _newest(regs)
        return _newest(list(self.events) + self.stage_events())

    @property
    def created_at(self) -> datetime | None:
        a = self.authoring
        return a.time if a else None

    @property
    def activated_at(self) -> datetime | None:
        regs = self.registrations
        if regs:
            return min(e.time for e in regs)
        everything = self.stage_events()
        return min(e.time for e in everything) if everything else None

    @cached_property
    def semver(self) -> Version | None:
        return Version.try_parse(self.version)

    def active_stages(self) -> list[StageState]:
        """Stages in effect, oldest activation first."""
        return sorted(
            (s for s in self.stages if s.active),
            key=lambda s: s.authoring.stamp,
        )

    def stage(self, name: str) -> StageState | None:
        return next((s for s in self.stages if s.stage == name), None)


def sort_versions(
    versions: Iterable[VersionState], sort: str = SEMVER, ascending: bool = False
) -> list[VersionState]:
    """GTO's order: SemVer versions by precedence, then commit-named ones by name; or by time."""
    items = list(versions)
    step = 1 if ascending else -1
    if sort == SEMVER:
        semvers = sorted((v for v in items if v.semver), key=lambda v: v.semver.key)[::step]  # type: ignore[union-attr]
        others = sorted((v for v in items if not v.semver), key=lambda v: v.version)[::step]
        return semvers + others
    return sorted(items, key=lambda v: v.authoring.stamp if v.authoring else 0)[::step]


@dataclass(frozen=True)
class ArtifactState:
    name: str
    versions: tuple[VersionState, ...] = ()
    deprecations: tuple[Event, ...] = ()

    @cached_property
    def all_events(self) -> list[Event]:
        """Every tag event of the artifact, oldest first."""
        out = list(self.deprecations)
        for v in self.versions:
            out.extend(v.events)
            out.extend(v.stage_events())
        out.sort(key=lambda e: e.order)
        return out

    @cached_property
    def last_event(self) -> Event | None:
        """The newest tag event, from each list's last one (cheaper than sorting them all)."""
        lasts = [self.deprecations[-1]] if self.deprecations else []
        for v in self.versions:
            if v.events:
                lasts.append(v.events[-1])
            lasts.extend(p.events[-1] for p in v.stages)
        return max(lasts, key=lambda e: e.order) if lasts else None

    @property
    def registered(self) -> bool:
        """Has registry tags (not only an annotation)."""
        return self.last_event is not None

    @cached_property
    def active(self) -> bool:
        last = self.last_event
        if last is None:
            return any(v.annotated_at_head for v in self.versions)
        return last.kind is not Kind.DEPRECATION

    def find_versions(
        self, version: str | None = None, commit: str | None = None
    ) -> list[VersionState]:
        return [
            v
            for v in self.versions
            if (version is None or v.version == version) and (commit is None or v.commit == commit)
        ]

    def get_versions(
        self,
        active_only: bool = True,
        include_non_explicit: bool = False,
        include_discovered: bool = False,
        sort: str = SEMVER,
    ) -> list[VersionState]:
        chosen = [
            v
            for v in self.versions
            if not active_only
            or (
                v.active
                and (
                    (v.registered and not v.discovered)
                    or (include_discovered and v.discovered)
                    or (include_non_explicit and not v.registered)
                )
            )
        ]
        return sort_versions(chosen, sort)

    def latest(self, registered_only: bool = True) -> VersionState | None:
        found = self.get_versions(include_non_explicit=not registered_only)
        return found[0] if found else None

    def vstages(
        self,
        registered_only: bool = False,
        assignments_per_version: int = -1,
        versions_per_stage: int = 1,
        sort: str = TIMESTAMP,
    ) -> dict[str, list[StageState]]:
        """Which versions each stage holds: most recent assignment first (or by SemVer)."""
        versions = self.get_versions(include_non_explicit=not registered_only, sort=sort)
        pairs: list[StageState] = []
        for v in versions:
            active = v.active_stages()
            pairs.extend(
                active[:assignments_per_version] if assignments_per_version > -1 else active
            )
        if sort == TIMESTAMP:
            pairs = sorted(pairs, key=lambda p: p.authoring.stamp)[::-1]
        result: dict[str, list[StageState]] = {}
        for p in pairs:
            held = result.setdefault(p.stage, [])
            if versions_per_stage > -1 and len(held) >= versions_per_stage:
                continue
            if all(h.version != p.version for h in held):
                held.append(p)
        return result

    @property
    def used_stages(self) -> set[str]:
        """Stages held by any version (the keys of ``vstages()``, without ranking them)."""
        return {p.stage for v in self.versions if v.active for p in v.stages if p.active}

    def counter(self) -> int:
        """The largest ``#N`` among the artifact's tags."""
        return max((e.name.counter or 0 for e in self.all_events), default=0)


@dataclass(frozen=True)
class Problem:
    """Something in the repo that state building skipped or resolved on its own."""

    tag: str
    message: str


@dataclass(frozen=True)
class RegistryState:
    artifacts: dict[str, ArtifactState] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    events: tuple[Event, ...] = ()

    def artifact(self, name: str) -> ArtifactState | None:
        return self.artifacts.get(name)

    def used_stages(self) -> list[str]:
        return sorted({s for a in self.artifacts.values() for s in a.used_stages})

    def counter(self, artifact: str) -> int:
        a = self.artifacts.get(artifact)
        return a.counter() if a else 0


# -- the fold ---------------------------------------------------------------------------


def parse_tags(raw: Iterable[RawTag]) -> tuple[list[Event], list[Problem]]:
    """Registry events from raw tags; everything else is skipped, suspicious ones reported."""
    found: list[Event] = []
    problems: list[Problem] = []
    for t in raw:
        name = ev.parse(t.name)
        if name is None:
            if ev.looks_like_registry_tag(t.name):
                problems.append(Problem(t.name, "not a valid registry tag name; ignored"))
            continue
        if not t.annotated or not t.date:
            problems.append(
                Problem(
                    t.name,
                    "lightweight tag that looks like a registry tag; ignored (registry tags must be annotated)",
                )
            )
            continue
        if t.target_type != "commit":
            problems.append(
                Problem(
                    t.name,
                    f"points at a {t.target_type or 'missing object'}, not a commit; ignored",
                )
            )
            continue
        stamp, _, offset = t.date.partition(" ")
        found.append(
            Event(
                name,
                t.name,
                t.target,
                int(stamp),
                offset,
                t.tagger,
                t.tagger_email,
                t.message.strip(),
            )
        )
    return found, problems


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.deprecations: list[Event] = []
        # (version, commit) -> [direct events], stage -> [events]; dicts keep first-seen order
        self.direct: dict[tuple[str, str], list[Event]] = {}
        self.by_commit: dict[str, list[tuple[str, str]]] = {}
        self.stages: dict[tuple[str, str], dict[str, list[Event]]] = {}
        self.head_annotated: set[tuple[str, str]] = set()

    def at_commit(self, commit: str) -> list[tuple[str, str]]:
        return self.by_commit.get(commit, [])

    def add_direct(self, key: tuple[str, str], e: Event) -> None:
        if key not in self.direct:
            self.direct[key] = []
            self.by_commit.setdefault(key[1], []).append(key)
        self.direct[key].append(e)

    def build(self) -> ArtifactState:
        keys = list(self.direct) + [k for k in self.stages if k not in self.direct]
        keys += [k for k in self.head_annotated if k not in self.direct and k not in self.stages]
        versions = []
        for key in keys:
            version, commit = key
            stages = tuple(
                StageState(self.name, version, stage, commit, tuple(evs))
                for stage, evs in self.stages.get(key, {}).items()
            )
            versions.append(
                VersionState(
                    self.name,
                    version,
                    commit,
                    tuple(self.direct.get(key, ())),
                    stages,
                    key in self.head_annotated,
                )
            )
        return ArtifactState(self.name, tuple(versions), tuple(self.deprecations))


def _pick_version(
    b: _Builder, e: Event, candidates: list[tuple[str, str]], problems: list[Problem]
) -> tuple[str, str]:
    """Which of several versions on one commit an assignment means (GTO gives up here)."""
    for named in ev.versions_in_message(e.message):
        for key in candidates:
            if key[0] == named:
                return key

    # Otherwise: the highest version registered on that commit by the time of the assignment.
    def rank(key: tuple[str, str]) -> tuple[bool, Version]:
        before = any(x.stamp <= e.stamp for x in b.direct[key] if x.kind is Kind.REGISTRATION)
        return before, Version.try_parse(key[0]) or Version(0, 0, 0)

    chosen = max(candidates, key=rank)
    problems.append(
        Problem(
            e.tag,
            f"commit {e.commit[:7]} carries versions {', '.join(k[0] for k in candidates)}; "
            f"assigned to {chosen[0]}",
        )
    )
    return chosen


def fold(
    raw_tags: Iterable[RawTag],
    annotated_at_head: Iterable[str] = (),
    head: str | None = None,
) -> RegistryState:
    events, problems = parse_tags(raw_tags)
    return fold_events(events, annotated_at_head, head, problems)


def fold_events(
    events: Iterable[Event],
    annotated_at_head: Iterable[str] = (),
    head: str | None = None,
    problems: Iterable[Problem] = (),
) -> RegistryState:
    """The state ``events`` add up to (in any order: they are sorted here)."""
    events = sorted(events, key=lambda e: e.order)
    problems = list(problems)
    builders: dict[str, _Builder] = {}

    def builder(name: str) -> _Builder:
        if name not in builders:
            builders[name] = _Builder(name)
        return builders[name]

    # Pass 1: artifact-level, then version events; pass 2: stages (they resolve against
    # versions registered on the same commit, whenever those registrations happened).
    deprecations: list[Event] = []
    direct: list[Event] = []
    staged: list[Event] = []
    for e in events:
        kind = e.name.kind
        if kind is Kind.DEPRECATION:
            deprecations.append(e)
        elif kind is Kind.REGISTRATION or kind is Kind.DEREGISTRATION:
            direct.append(e)
        else:
            staged.append(e)
    for e in deprecations:
        builder(e.name.artifact).deprecations.append(e)
    for e in direct:
        builder(e.name.artifact).add_direct((e.name.version or "", e.commit), e)
    seen_versions: dict[tuple[str, str], str] = {}
    for name, b in builders.items():
        for version, commit in b.direct:
            other = seen_versions.setdefault((name, version), commit)
            if other != commit:
                problems.append(
                    Problem(
                        f"{name}@{version}",
                        f"registered on two commits ({other[:7]}, {commit[:7]})",
                    )
                )
    for e in staged:
        b = builder(e.name.artifact)
        candidates = b.at_commit(e.commit)
        if not candidates:
            key = (e.commit, e.commit)
        elif len(candidates) == 1:
            key = candidates[0]
        else:
            key = _pick_version(b, e, candidates, problems)
        b.stages.setdefault(key, {}).setdefault(e.name.stage or "", []).append(e)
    if head:
        for name in annotated_at_head:
            b = builder(name)
            if not b.at_commit(head):
                b.head_annotated.add((head, head))
    return RegistryState(
        {name: b.build() for name, b in builders.items()},
        tuple(problems),
        tuple(events),
    )
