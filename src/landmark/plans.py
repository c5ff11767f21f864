"""Write plans: the registry's write rules, as pure functions from state to the tags to write.

Given an artifact's state (as folded from its tags), the registry's config and a request, a
planner returns the :class:`Plan` of what the write would do (the exact tags it would create,
with their target commit and message, or the tags it would delete) or raises the error the
user gets. No I/O: the caller resolves refs to commits, reads the state and writes the plan.

A ref the caller could not resolve is passed as the error resolving it raised
(:data:`Commit`); it is raised where the rules first need that commit, so errors come in the
same order whatever the caller resolved up front.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from . import names
from .errors import Conflict, InvalidInput, LandmarkError, NotFound
from .events import Event, Kind, TagName, default_message, with_version_trailer
from .state import ArtifactState, VersionState, fold_events
from .versions import FIRST, Version

if TYPE_CHECKING:
    from .config import Config

BUMPS = ("major", "minor", "patch")

# A resolved commit, the error resolving its ref raised, or None where no ref was given.
Commit = str | LandmarkError | None


@dataclass(frozen=True)
class NewTag:
    """An annotated tag a plan creates: its name, the commit it points at and its message."""

    name: str
    commit: str
    message: str
    event: TagName  # what the name records (kind, artifact, version or stage, counter)


@dataclass(frozen=True)
class Plan:
    """What a write does: tags to create (in this order), or existing tags to delete.

    ``version`` and ``stage`` say what it acts on: the version registered, deregistered or
    given the stage (for a stage given to a bare commit, the commit), and the stage.
    """

    action: str  # register, assign, unassign, deregister, deprecate
    artifact: str
    version: str | None = None
    stage: str | None = None
    create: tuple[NewTag, ...] = ()
    delete: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """One line per tag, as ``--dry-run`` prints them."""
        out = [
            f"would create tag {t.name} -> {t.commit[:7]} (message: {_one_line(t.message)})"
            for t in self.create
        ]
        out += [f"would delete tag {t}" for t in self.delete]
        return out


def _one_line(message: str) -> str:
    return message.replace("\\", "\\\\").replace("\n", "\\n")


# -- requests -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Register:
    artifact: str
    commit: Commit
    ref: str = "HEAD"  # as the user named it (for messages)
    version: str | None = None
    bump: str | None = None
    message: str | None = None
    simple: bool | None = None
    force: bool = False


@dataclass(frozen=True)
class Assign:
    artifact: str
    stage: str
    commit: Commit = None  # of ``ref`` (HEAD when neither ref nor version is given)
    ref: str | None = None
    version: str | None = None
    name_version: str | None = None  # the version to register at ``ref`` when it has none
    message: str | None = None
    simple: bool = False
    force: bool = False
    skip_registration: bool = False


@dataclass(frozen=True)
class Unassign:
    artifact: str
    stage: str
    commit: Commit = None  # of ``ref``
    ref: str | None = None
    version: str | None = None
    message: str | None = None
    simple: bool = False
    force: bool = False
    delete: bool = False


@dataclass(frozen=True)
class Deregister:
    artifact: str
    commit: Commit = None  # of ``ref``
    ref: str | None = None
    version: str | None = None
    message: str | None = None
    simple: bool | None = None
    force: bool = False
    delete: bool = False


@dataclass(frozen=True)
class Deprecate:
    artifact: str
    commit: Commit = None  # of ``ref``
    ref: str | None = None
    head: Commit = None  # HEAD's commit: the tag goes there when nothing else says where
    message: str | None = None
    simple: bool | None = None
    force: bool = False
    delete: bool = False


Request = Register | Assign | Unassign | Deregister | Deprecate

_NO_COMMITS = "the repository has no commits yet: commit something first"


def plan(
    art: ArtifactState | None,
    request: Request,
    config: Config | None = None,
    taken: Iterable[str] = (),
) -> Plan:
    """The plan for ``request`` on ``art`` (None: no tags yet), or the user's error.

    ``config`` is needed by assign and unassign (stage allow-list and order); ``taken`` names
    other existing tags a new one must not collide with (e.g. lightweight look-alikes, which
    are not events). Versions known only from an annotation never change what a write may do.
    """
    art = _tagged(art)
    clash = set(taken)
    if art is not None:
        clash.update(e.tag for e in art.all_events)
    if isinstance(request, Register):
        return _register(art, request, clash)
    if isinstance(request, Assign):
        return _assign(art, request, _needs(config), clash)
    if isinstance(request, Unassign):
        return _unassign(art, request, _needs(config), clash)
    if isinstance(request, Deregister):
        return _deregister(art, request, clash)
    return _deprecate(art, request, clash)


def _needs(config: Config | None) -> Config:
    if config is None:
        raise TypeError("assign and unassign plans need the registry's config")
    return config


def _tagged(art: ArtifactState | None) -> ArtifactState | None:
    """``art`` as its tags alone make it (without versions only annotated at HEAD)."""
    if art is None:
        return None
    if not any(v.annotated_at_head for v in art.versions):
        return art
    versions = tuple(
        replace(v, annotated_at_head=False) for v in art.versions if v.events or v.stages
    )
    if not versions and not art.deprecations:
        return None
    return ArtifactState(art.name, versions, art.deprecations)


def _commit(value: Commit, missing: str = _NO_COMMITS) -> str:
    if isinstance(value, LandmarkError):
        raise value
    if value is None:
        raise NotFound(missing)
    return value


def _new(
    kind: Kind,
    art: ArtifactState | None,
    name: str,
    commit: str,
    message: str,
    clash: set[str],
    *,
    version: str | None = None,
    stage: str | None = None,
    simple: bool,
) -> NewTag:
    counter = None if simple else (art.counter() if art else 0) + 1
    event = TagName(kind, name, version=version, stage=stage, counter=counter)
    tag = event.format()
    if tag in clash:
        hint = ": pass --simple false to write a counted tag instead" if simple else ""
        raise Conflict(f"tag {tag!r} already exists{hint}")
    return NewTag(tag, commit, message, event)


def _with(art: ArtifactState | None, name: str, tags: Iterable[NewTag]) -> ArtifactState:
    """``art`` once ``tags`` exist (they come after every event it has)."""
    existing = list(art.all_events) if art else []
    stamp = max((e.stamp for e in existing), default=0) + 1
    added = [Event(t.event, t.name, t.commit, stamp, "+0000", "", "", t.message) for t in tags]
    found = fold_events(existing + added).artifact(name)
    assert found is not None
    return found


def _artifact(art: ArtifactState | None, name: str) -> ArtifactState:
    if art is None:
        raise NotFound(f"artifact {name!r} not found: see 'landmark show' for known artifacts")
    return art


def _version(art: ArtifactState | None, name: str, version: str) -> VersionState:
    found = [v for v in _artifact(art, name).find_versions(version=version) if not v.discovered]
    if not found:
        raise NotFound(
            f"version {version} of {name!r} is not registered: see 'landmark show {name}'"
        )
    return found[-1]


def _locate(
    art: ArtifactState | None, name: str, version: str | None, ref: str | None, commit: Commit
) -> VersionState:
    if (version is None) == (ref is None):
        raise InvalidInput("give exactly one of a version or a ref")
    if version is not None:
        return _version(art, name, str(Version.from_user(version)))
    sha = _commit(commit)
    found = _artifact(art, name).find_versions(commit=sha)
    if not found:
        raise NotFound(f"no version of {name!r} at {ref}")
    return max(found, key=lambda v: (not v.discovered, v.semver or Version(0, 0, 0)))


def _stage_message(
    art: ArtifactState | None, target: VersionState, message: str | None, kind: Kind, stage: str
) -> str:
    """A stage tag points at a commit; where that commit carries several versions, the
    message must name the one meant (the default messages do; a custom one gets a
    ``Version:`` trailer)."""
    if not message:
        return default_message(kind, target.artifact, target.version, stage)
    shared = art is not None and len(art.find_versions(commit=target.commit)) > 1
    return with_version_trailer(message, target.version) if shared else message


def _delete(action: str, name: str, tags: Iterable[str], **what: str | None) -> Plan:
    chosen = tuple(dict.fromkeys(tags))
    if not chosen:
        raise NotFound("no tags to delete")
    return Plan(action, name, delete=chosen, **what)  # type: ignore[arg-type]


# -- the rules ----------------------------------------------------------------------------
def _register(art: ArtifactState | None, r: Register, clash: set[str]) -> Plan:
    name = r.artifact
    names.check_artifact(name)
    if r.version is not None and r.bump is not None:
        raise InvalidInput("give either --version or a --bump-* flag, not both")
    if r.bump is not None and r.bump not in BUMPS:
        raise InvalidInput(f"unknown bump {r.bump!r}: use major, minor or patch")
    wanted = str(Version.from_user(r.version)) if r.version is not None else None
    commit = _commit(r.commit)
    known = art or ArtifactState(name)
    here = [v for v in known.find_versions(commit=commit) if not v.discovered]
    active_here = [v for v in here if v.registered and v.active]
    if wanted is None:
        if active_here and not r.force and r.bump is None:
            raise Conflict(
                f"{r.ref} already has {name}@{active_here[-1].version}: pass --version to "
                "register another version on the same commit"
            )
        latest = known.latest(registered_only=True)
        if latest is not None and latest.semver is not None:
            wanted = str(latest.semver.bump(r.bump or "patch"))
        elif r.bump is not None:
            raise InvalidInput(
                "can't bump: this is the first version of the artifact; use --version"
            )
        else:
            wanted = str(FIRST)
    for v in known.find_versions(version=wanted):
        if v.discovered:
            continue
        if v.commit != commit:
            raise Conflict(
                f"version {wanted} of {name!r} already exists (at {v.commit[:7]}): choose another version"
            )
        if v.active and v.registered:
            raise Conflict(f"version {wanted} of {name!r} is already registered at {r.ref}")
    tag = _new(
        Kind.REGISTRATION,
        art,
        name,
        commit,
        r.message or default_message(Kind.REGISTRATION, name, wanted),
        clash,
        version=wanted,
        simple=True if r.simple is None else r.simple,
    )
    return Plan("register", name, version=wanted, create=(tag,))


def _assign(art: ArtifactState | None, r: Assign, config: Config, clash: set[str]) -> Plan:
    name, stage = r.artifact, r.stage
    names.check_artifact(name)
    config.check_stage(stage)
    if r.version is not None and r.ref is not None:
        raise InvalidInput("give either a version or a ref, not both")
    if r.name_version is not None and r.skip_registration:
        raise InvalidInput(
            "--version names the version to register; it can't go with --skip-registration"
        )
    registered: tuple[NewTag, ...] = ()
    if r.version is not None:
        target = _version(art, name, str(Version.from_user(r.version)))
    else:
        commit = _commit(r.commit)
        known = art or ArtifactState(name)
        here = [v for v in known.find_versions(commit=commit) if not v.discovered and v.active]
        if here and r.name_version is not None:
            raise Conflict(
                f"{r.ref or 'HEAD'} already has {name}@{here[-1].version}: can't register {r.name_version} there"
            )
        if here:
            target = max(here, key=lambda v: v.semver or Version(0, 0, 0))
        elif r.skip_registration:
            target = VersionState(name, commit, commit)
        else:
            reg = _register(art, Register(name, commit, commit, r.name_version), clash)
            registered = reg.create
            art = _with(art, name, registered)
            clash.update(t.name for t in registered)
            target = _version(art, name, reg.version or "")
    held = target.stage(stage)
    if held is not None and held.active and not r.force:
        raise Conflict(
            f"version {target.version} of {name!r} is already in stage {stage!r}: use --force to assign it again"
        )
    before = config.previous_stage(stage)
    if before is not None and not r.force:
        prev = target.stage(before)
        if prev is None or not prev.active:
            raise Conflict(
                f"stage {stage!r} comes after {before!r}: assign {before!r} to "
                f"{target.version} first, or use --force"
            )
    tag = _new(
        Kind.ASSIGNMENT,
        art,
        name,
        target.commit,
        _stage_message(art, target, r.message, Kind.ASSIGNMENT, stage),
        clash,
        stage=stage,
        simple=r.simple,
    )
    version = target.version
    if target.discovered and art is not None and art.find_versions(commit=target.commit):
        # A stage tag belongs to a version registered on its commit, active or not.
        version = _holder(_with(art, name, [tag]), tag.name)
    return Plan("assign", name, version=version, stage=stage, create=(*registered, tag))


def _holder(art: ArtifactState, tag: str) -> str:
    """The version a stage tag counts for, once it exists."""
    return next(v.version for v in art.versions for e in v.stage_events() if e.tag == tag)


def _unassign(art: ArtifactState | None, r: Unassign, config: Config, clash: set[str]) -> Plan:
    name, stage = r.artifact, r.stage
    names.check_artifact(name)
    config.check_stage(stage)
    target = _locate(art, name, r.version, r.ref, r.commit)
    held = target.stage(stage)
    if not r.force and (held is None or not held.active):
        raise NotFound(f"stage {stage!r} is not assigned to {name}@{target.version}")
    if r.delete:
        tags = [e.tag for e in (held.events if held else ())]
        return _delete("unassign", name, tags, version=target.version, stage=stage)
    tag = _new(
        Kind.UNASSIGNMENT,
        art,
        name,
        target.commit,
        _stage_message(art, target, r.message, Kind.UNASSIGNMENT, stage),
        clash,
        stage=stage,
        simple=r.simple,
    )
    return Plan("unassign", name, version=target.version, stage=stage, create=(tag,))


def _deregister(art: ArtifactState | None, r: Deregister, clash: set[str]) -> Plan:
    name = r.artifact
    names.check_artifact(name)
    target = _locate(art, name, r.version, r.ref, r.commit)
    not_registered = f"{name} at {target.commit[:7]} is not a registered version"
    if not r.force:
        if not target.registered:
            raise NotFound(not_registered)
        if not target.active:
            raise Conflict(f"{name}@{target.version} was deregistered already")
    if r.delete:
        events = sorted(list(target.events) + target.stage_events(), key=lambda e: e.order)
        return _delete("deregister", name, (e.tag for e in events), version=target.version)
    if target.semver is None:  # forced on a commit that only carries stages: no version to name
        raise NotFound(not_registered)
    tag = _new(
        Kind.DEREGISTRATION,
        art,
        name,
        target.commit,
        r.message or default_message(Kind.DEREGISTRATION, name, target.version),
        clash,
        version=target.version,
        simple=True if r.simple is None else r.simple,
    )
    return Plan("deregister", name, version=target.version, create=(tag,))


def _deprecate(art: ArtifactState | None, r: Deprecate, clash: set[str]) -> Plan:
    name = r.artifact
    names.check_artifact(name)
    if r.force and r.simple:
        raise InvalidInput("--force writes a counted tag; it can't go with --simple true")
    if r.delete:
        if art is None:
            raise NotFound(f"artifact {name!r} not found")
        return _delete("deprecate", name, (e.tag for e in art.all_events))
    if not r.force:
        if art is None or not art.registered:
            raise NotFound(f"artifact {name!r} not found: see 'landmark show'")
        if not art.active:
            raise Conflict(f"artifact {name!r} is deprecated already")
    if r.ref is not None:
        commit = _commit(r.commit)
    elif art is not None and art.all_events:
        commit = art.all_events[-1].commit
    else:
        commit = _commit(r.head)
    tag = _new(
        Kind.DEPRECATION,
        art,
        name,
        commit,
        r.message or default_message(Kind.DEPRECATION, name),
        clash,
        simple=(not r.force) if r.simple is None else r.simple,
    )
    return Plan("deprecate", name, create=(tag,))


__all__ = [
    "BUMPS",
    "Assign",
    "Commit",
    "Deprecate",
    "Deregister",
    "NewTag",
    "Plan",
    "Register",
    "Request",
    "Unassign",
    "plan",
]
