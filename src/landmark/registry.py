"""The registry façade: every command is one method here, on a local clone or a remote URL."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import annotations as ann
from . import config as cfg
from . import names
from .errors import Conflict, InvalidInput, LandmarkError, NotFound
from .events import Event, Kind, TagName, default_message, with_version_trailer
from .git import Repo
from .state import (
    SEMVER,
    TIMESTAMP,
    ArtifactState,
    Problem,
    RegistryState,
    VersionState,
    fold,
    parse_tags,
)
from .versions import FIRST, Version

BUMPS = ("major", "minor", "patch")


@dataclass(frozen=True)
class Deleted:
    """Tags removed by a ``--delete`` operation."""

    tags: tuple[str, ...]


@dataclass(frozen=True)
class DoctorReport:
    problems: tuple[Problem, ...]
    config_error: str | None
    tags: int
    artifacts: int

    @property
    def ok(self) -> bool:
        return not self.problems and self.config_error is None


class Registry:
    """A model registry stored in a Git repository's tags.

    ``repo`` is a path inside a work tree, a bare repo, or a remote URL (kept as a cached
    partial clone; writes are pushed).
    """

    def __init__(self, repo: str | os.PathLike[str] = ".") -> None:
        self.location = os.fspath(repo)
        self.repo = Repo.open(self.location)
        self._state: RegistryState | None = None
        self._state_annotated = False
        self._config: cfg.Config | None = None

    # -- reading ----------------------------------------------------------------------------
    @property
    def config(self) -> cfg.Config:
        if self._config is None:
            self._config = cfg.read(self.repo)
        return self._config

    def state(self, *, annotations: bool = True) -> RegistryState:
        """The folded registry. Writes pass ``annotations=False``: artifacts that are only
        annotated at HEAD never change what a write may do, and skip two git calls."""
        if self._state is None or (annotations and not self._state_annotated):
            head = self.repo.head()
            annotated = self._annotations_at(head) if head and annotations else {}
            self._state_annotated = annotations
            tags = self.repo.tags()
            # The fold allocates an object or more per tag and frees none: the cyclic GC
            # would only rescan them (about a third of the time on 100,000 tags).
            gc_was_on = gc.isenabled()
            gc.disable()
            try:
                self._state = fold(tags, annotated, head)
            finally:
                if gc_was_on:
                    gc.enable()
        return self._state

    def _annotations_at(self, rev: str) -> dict[str, ann.Annotation]:
        try:
            return ann.read_at(self.repo, rev)
        except LandmarkError:
            # A broken dvc.yaml must not hide the registry; doctor reports it.
            return {}

    def _invalidate(self) -> None:
        self._state = None

    def artifact(self, name: str, *, annotations: bool = True) -> ArtifactState:
        names.check_artifact(name)
        found = self.state(annotations=annotations).artifact(name)
        if found is None:
            raise NotFound(f"artifact {name!r} not found: see 'landmark show' for known artifacts")
        return found

    def _version(self, name: str, version: str) -> VersionState:
        art = self.artifact(name, annotations=False)
        found = [v for v in art.find_versions(version=version) if not v.discovered]
        if not found:
            raise NotFound(
                f"version {version} of {name!r} is not registered: see 'landmark show {name}'"
            )
        return found[-1]

    # -- writing ----------------------------------------------------------------------------
    def _next_counter(self, name: str) -> int:
        return self.state(annotations=False).counter(name) + 1

    def _tag(
        self,
        kind: Kind,
        name: str,
        commit: str,
        message: str,
        *,
        version: str | None = None,
        stage: str | None = None,
        simple: bool,
        push: bool,
        sign: bool = False,
    ) -> Event:
        counter = None if simple else self._next_counter(name)
        tag = TagName(kind, name, version=version, stage=stage, counter=counter).format()
        self.repo.create_tag(tag, commit, message, sign=sign)
        self._publish([tag], push)
        self._invalidate()
        # Read back just this tag (tagger and date come from git), not the whole registry.
        events, _ = parse_tags(self.repo.tags(tag))
        if not events:  # pragma: no cover - git just wrote it
            raise LandmarkError(f"tag {tag!r} was created but cannot be read back")
        return events[0]

    def _publish(self, tags: list[str], push: bool) -> None:
        """Push new tags when asked (always for a remote URL); undo them when the push fails."""
        if not (push or self.repo.url):
            return
        try:
            self.repo.push_tags(tags)
        except LandmarkError:
            self.repo.delete_tags(tags)
            raise

    def _delete(self, tags: list[str], push: bool) -> Deleted:
        if not tags:
            raise NotFound("no tags to delete")
        pushed = bool(push or self.repo.url)
        if pushed:
            # Upstream first: a push that fails leaves every tag where it was, here and there.
            self.repo.push_tags(tags, delete=True)
        try:
            self.repo.delete_tags(tags)  # one transaction: all or none
        except LandmarkError:
            if pushed:
                # The tags are still here: put the same tag objects back upstream.
                self.repo.push_tags(tags)
            raise
        finally:
            self._invalidate()
        return Deleted(tuple(tags))

    def register(
        self,
        name: str,
        ref: str = "HEAD",
        *,
        version: str | None = None,
        bump: str | None = None,
        message: str | None = None,
        simple: bool | None = None,
        force: bool = False,
        push: bool = False,
        sign: bool = False,
    ) -> Event:
        """Register a version of ``name`` at ``ref`` (a new SemVer, or the next bump)."""
        names.check_artifact(name)
        if version is not None and bump is not None:
            raise InvalidInput("give either --version or a --bump-* flag, not both")
        if bump is not None and bump not in BUMPS:
            raise InvalidInput(f"unknown bump {bump!r}: use major, minor or patch")
        wanted = str(Version.from_user(version)) if version is not None else None
        commit = self.repo.resolve(ref)
        art = self.state(annotations=False).artifact(name) or ArtifactState(name)
        here = [v for v in art.find_versions(commit=commit) if not v.discovered]
        active_here = [v for v in here if v.registered and v.active]
        if wanted is None:
            if active_here and not force and bump is None:
                raise Conflict(
                    f"{ref} already has {name}@{active_here[-1].version}: pass --version to "
                    "register another version on the same commit"
                )
            latest = art.latest(registered_only=True)
            if latest is not None and latest.semver is not None:
                wanted = str(latest.semver.bump(bump or "patch"))
            elif bump is not None:
                raise InvalidInput(
                    "can't bump: this is the first version of the artifact; use --version"
                )
            else:
                wanted = str(FIRST)
        same = art.find_versions(version=wanted)
        for v in same:
            if v.discovered:
                continue
            if v.commit != commit:
                raise Conflict(
                    f"version {wanted} of {name!r} already exists (at {v.commit[:7]}): choose another version"
                )
            if v.active and v.registered:
                raise Conflict(f"version {wanted} of {name!r} is already registered at {ref}")
        return self._tag(
            Kind.REGISTRATION,
            name,
            commit,
            message or default_message(Kind.REGISTRATION, name, wanted),
            version=wanted,
            simple=True if simple is None else simple,
            push=push,
            sign=sign,
        )

    def assign(
        self,
        name: str,
        stage: str,
        ref: str | None = None,
        *,
        version: str | None = None,
        name_version: str | None = None,
        message: str | None = None,
        simple: bool = False,
        force: bool = False,
        push: bool = False,
        skip_registration: bool = False,
        sign: bool = False,
    ) -> Event:
        """Assign ``stage`` to a version (``version=``) or to the version at ``ref``."""
        names.check_artifact(name)
        self.config.check_stage(stage)
        if version is not None and ref is not None:
            raise InvalidInput("give either a version or a ref, not both")
        if name_version is not None and skip_registration:
            raise InvalidInput(
                "--version names the version to register; it can't go with --skip-registration"
            )
        if version is not None:
            target = self._version(name, str(Version.from_user(version)))
        else:
            commit = self.repo.resolve(ref or "HEAD")
            art = self.state(annotations=False).artifact(name) or ArtifactState(name)
            here = [v for v in art.find_versions(commit=commit) if not v.discovered and v.active]
            if here and name_version is not None:
                raise Conflict(
                    f"{ref or 'HEAD'} already has {name}@{here[-1].version}: can't register {name_version} there"
                )
            if here:
                target = max(here, key=lambda v: v.semver or Version(0, 0, 0))
            elif skip_registration:
                target = VersionState(name, commit, commit)
            else:
                reg = self.register(name, commit, version=name_version, push=push, sign=sign)
                target = self._version(name, reg.name.version or "")
        held = target.stage(stage)
        if held is not None and held.active and not force:
            raise Conflict(
                f"version {target.version} of {name!r} is already in stage {stage!r}: use --force to assign it again"
            )
        before = self.config.previous_stage(stage)
        if before is not None and not force:
            prev = target.stage(before)
            if prev is None or not prev.active:
                raise Conflict(
                    f"stage {stage!r} comes after {before!r}: assign {before!r} to "
                    f"{target.version} first, or use --force"
                )
        return self._tag(
            Kind.ASSIGNMENT,
            name,
            target.commit,
            self._stage_message(target, message, Kind.ASSIGNMENT, stage),
            stage=stage,
            simple=simple,
            push=push,
            sign=sign,
        )

    def _stage_message(
        self, target: VersionState, message: str | None, kind: Kind, stage: str
    ) -> str:
        """A stage tag points at a commit; where that commit carries several versions, the
        message must name the one meant (the default messages do; a custom one gets a
        ``Version:`` trailer)."""
        if not message:
            return default_message(kind, target.artifact, target.version, stage)
        art = self.state(annotations=False).artifact(target.artifact)
        shared = art is not None and len(art.find_versions(commit=target.commit)) > 1
        return with_version_trailer(message, target.version) if shared else message

    def _locate(self, name: str, version: str | None, ref: str | None) -> VersionState:
        if (version is None) == (ref is None):
            raise InvalidInput("give exactly one of a version or a ref")
        if version is not None:
            return self._version(name, str(Version.from_user(version)))
        commit = self.repo.resolve(ref or "HEAD")
        found = self.artifact(name, annotations=False).find_versions(commit=commit)
        if not found:
            raise NotFound(f"no version of {name!r} at {ref}")
        return max(found, key=lambda v: (not v.discovered, v.semver or Version(0, 0, 0)))

    def unassign(
        self,
        name: str,
        stage: str,
        ref: str | None = None,
        *,
        version: str | None = None,
        message: str | None = None,
        simple: bool = False,
        force: bool = False,
        delete: bool = False,
        push: bool = False,
        sign: bool = False,
    ) -> Event | Deleted:
        """Take ``stage`` away from a version (a new tag, or ``delete`` its tags)."""
        names.check_artifact(name)
        self.config.check_stage(stage)
        target = self._locate(name, version, ref)
        held = target.stage(stage)
        if not force and (held is None or not held.active):
            raise NotFound(f"stage {stage!r} is not assigned to {name}@{target.version}")
        if delete:
            return self._delete([e.tag for e in (held.events if held else ())], push)
        return self._tag(
            Kind.UNASSIGNMENT,
            name,
            target.commit,
            self._stage_message(target, message, Kind.UNASSIGNMENT, stage),
            stage=stage,
            simple=simple,
            push=push,
            sign=sign,
        )

    def deregister(
        self,
        name: str,
        version: str | None = None,
        ref: str | None = None,
        *,
        message: str | None = None,
        simple: bool | None = None,
        force: bool = False,
        delete: bool = False,
        push: bool = False,
        sign: bool = False,
    ) -> Event | Deleted:
        """Mark a version as withdrawn (a new tag, or ``delete`` all its tags)."""
        names.check_artifact(name)
        target = self._locate(name, version, ref)
        if not force:
            if not target.registered:
                raise NotFound(f"{name} at {target.commit[:7]} is not a registered version")
            if not target.active:
                raise Conflict(f"{name}@{target.version} was deregistered already")
        if delete:
            tags = [
                e.tag
                for e in sorted(list(target.events) + target.stage_events(), key=lambda e: e.order)
            ]
            return self._delete(list(dict.fromkeys(tags)), push)
        return self._tag(
            Kind.DEREGISTRATION,
            name,
            target.commit,
            message or default_message(Kind.DEREGISTRATION, name, target.version),
            version=target.version,
            simple=True if simple is None else simple,
            push=push,
            sign=sign,
        )

    def deprecate(
        self,
        name: str,
        ref: str | None = None,
        *,
        message: str | None = None,
        simple: bool | None = None,
        force: bool = False,
        delete: bool = False,
        push: bool = False,
        sign: bool = False,
    ) -> Event | Deleted:
        """Deprecate a whole artifact (registering a new version revives it)."""
        names.check_artifact(name)
        if force and simple:
            raise InvalidInput("--force writes a counted tag; it can't go with --simple true")
        art = self.state(annotations=False).artifact(name)
        if delete:
            if art is None:
                raise NotFound(f"artifact {name!r} not found")
            return self._delete(list(dict.fromkeys(e.tag for e in art.all_events)), push)
        if not force:
            if art is None or not art.registered:
                raise NotFound(f"artifact {name!r} not found: see 'landmark show'")
            if not art.active:
                raise Conflict(f"artifact {name!r} is deprecated already")
        if ref is not None:
            commit = self.repo.resolve(ref)
        elif art is not None and art.all_events:
            commit = art.all_events[-1].commit
        else:
            commit = self.repo.resolve("HEAD")
        return self._tag(
            Kind.DEPRECATION,
            name,
            commit,
            message or default_message(Kind.DEPRECATION, name),
            simple=(not force) if simple is None else simple,
            push=push,
            sign=sign,
        )

    # -- queries ----------------------------------------------------------------------------
    def find(self, ref: str) -> list[VersionState]:
        """Versions a shortcut names: ``name@v1.2.3``, ``name@latest``, ``name#stage``."""
        sc = names.parse_shortcut(ref)
        art = self.artifact(sc.name)
        if sc.latest:
            latest = art.latest(registered_only=True)
            return [latest] if latest else []
        if sc.version:
            return [v for v in art.get_versions() if v.version == sc.version]
        if sc.stage:
            held = {p.version for p in art.vstages().get(sc.stage, [])}
            every = art.get_versions(include_non_explicit=True, include_discovered=True)
            return [v for v in every if v.version in held]
        return art.get_versions()

    def history(self, name: str | None = None, ascending: bool = False) -> list[Event]:
        state = self.state()
        if name is not None:
            self.artifact(name)
        # state.events is already in Event.order
        chosen = [e for e in state.events if name is None or e.artifact == name]
        return chosen if ascending else chosen[::-1]

    def check_ref(self, ref: str) -> list[Event]:
        tag = ref.removeprefix("refs/tags/")
        return [e for e in self.state().events if e.tag == tag]

    def stages(self, allowed: bool = False, used: bool = False) -> list[str]:
        if allowed and used:
            raise InvalidInput("give either --allowed or --used, not both")
        if allowed:
            return list(self.config.stages or [])
        if used or self.config.stages is None:
            return self.state().used_stages()
        return list(self.config.stages)

    # -- annotations ------------------------------------------------------------------------
    def describe(self, ref: str, rev: str | None = None) -> ann.Annotation:
        """The annotation of an artifact at a version's commit (or ``rev``, or HEAD)."""
        sc = names.parse_shortcut(ref)
        if sc.is_shortcut and rev is not None:
            raise InvalidInput("give either a shortcut (name@version) or --rev, not both")
        if sc.is_shortcut:
            found = self.find(ref)
            if not found:
                raise NotFound(f"nothing matches {ref!r}")
            commit = found[0].commit
        else:
            commit = self.repo.resolve(rev or "HEAD")
        found_ann = ann.read_at(self.repo, commit).get(sc.name)
        if found_ann is None:
            raise NotFound(f"artifact {sc.name!r} is not annotated at {commit[:7]}")
        return found_ann

    def _worktree(self) -> Path:
        if self.repo.bare:
            raise InvalidInput(
                "annotate and remove edit dvc.yaml in a work tree: run them in a clone"
            )
        return self.repo.path

    def annotate(self, name: str, **fields: Any) -> ann.Annotation:
        if fields.get("type") is not None:
            self.config.check_type(fields["type"])
        return ann.annotate(self._worktree(), name, **fields)

    def remove(self, name: str) -> str:
        return ann.remove(self._worktree(), name)

    # -- doctor -----------------------------------------------------------------------------
    def doctor(self) -> DoctorReport:
        config_error = None
        try:
            cfg.read(self.repo)
        except LandmarkError as e:
            config_error = str(e)
        problems = list(self.state().problems)
        head = self.repo.head()
        if head:
            try:
                ann.read_at(self.repo, head)
            except LandmarkError as e:
                problems.append(Problem("HEAD", str(e)))
        return DoctorReport(
            tuple(problems), config_error, len(self.state().events), len(self.state().artifacts)
        )


__all__ = ["SEMVER", "TIMESTAMP", "Deleted", "DoctorReport", "Registry"]
