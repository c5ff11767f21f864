"""The registry façade: every command is one method here, on a local clone or a remote URL."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

from . import annotations as ann
from . import config as cfg
from . import names, plans
from .errors import InvalidInput, LandmarkError, NotFound
from .events import Event
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

BUMPS = plans.BUMPS


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


@dataclass(frozen=True)
class _Snapshot:
    """A folded state and the refs stamp taken before it was read."""

    state: RegistryState
    annotated: bool  # folded with the annotations at HEAD
    stamp: bytes


class Registry:
    """A model registry stored in a Git repository's tags.

    ``repo`` is a path inside a work tree, a bare repo, or a remote URL (kept as a cached
    partial clone; writes are pushed).

    One ``Registry`` may be shared by threads and kept for hours. Each :meth:`state` is one
    immutable snapshot. It is kept until the refs change: at most once per
    ``refresh_interval`` seconds (0: on every call) a cheap stamp of the tags and HEAD is
    taken from git's files, and a different stamp means a new snapshot, with the stage
    config read again. Writes always check first and drop the snapshot after.
    :meth:`refresh` drops it at once (and fetches again for a remote URL).
    """

    def __init__(
        self, repo: str | os.PathLike[str] = ".", *, refresh_interval: float = 1.0
    ) -> None:
        if not refresh_interval >= 0:
            raise InvalidInput(
                f"refresh_interval must be 0 or more seconds, not {refresh_interval!r}"
            )
        self.location = os.fspath(repo)
        self.refresh_interval = refresh_interval
        self.repo = Repo.open(self.location)
        self._opened = time.monotonic()
        self._snapshot: _Snapshot | None = None
        self._checked = 0.0  # time.monotonic() of the last stamp check
        self._config: cfg.Config | None = None
        # Builds the snapshot: one thread at a time, so readers never see half of one.
        self._lock = threading.Lock()
        # Writes plan from the state and then write: one at a time per Registry.
        self._write_lock = threading.RLock()

    # -- reading ----------------------------------------------------------------------------
    @property
    def config(self) -> cfg.Config:
        config = self._config
        if config is None:
            config = self._config = cfg.read(self.repo)
        return config

    def state(self, *, annotations: bool = True) -> RegistryState:
        """The folded registry, as of the last check of the refs. Writes pass
        ``annotations=False``: artifacts that are only annotated at HEAD never change what a
        write may do, and skip two git calls."""
        return self._current(annotations, check=False)

    def refresh(self) -> None:
        """Read everything again on the next call: tags, HEAD, annotations and config. For a
        remote URL, fetch from it first."""
        if self.repo.url:
            self.repo = Repo.open(self.location)
        with self._lock:
            self._snapshot = None
            self._config = None
            self.repo.forget_head()

    def _current(self, annotations: bool, *, check: bool) -> RegistryState:
        """The snapshot; ``check`` compares the refs stamp now, whatever the interval."""
        snap = self._reusable(annotations, check)
        if snap is not None:
            return snap.state
        with self._lock:
            snap = self._reusable(annotations, check)  # another thread may have just built it
            if snap is not None:
                return snap.state
            snap = self._snapshot
            # The stamp is taken before anything is read: a change made during the build
            # gives a newer stamp, and the next check builds again.
            now = time.monotonic()
            stamp = self.repo.refs_stamp()
            self._checked = now
            if snap is not None and stamp == snap.stamp:
                if snap.annotated or not annotations:
                    return snap.state
            elif snap is not None or now - self._opened >= self.refresh_interval:
                # The refs moved (or what opening the repo read is older than the interval).
                self.repo.forget_head()
                self._config = None
            head = self.repo.head()
            annotated = self._annotations_at(head) if head and annotations else {}
            # The cyclic GC stays on: switching it off is the process's call, not a library's
            # (the CLI does, for its own short process). Here it costs the fold about a fifth
            # more on 100,000 tags, paid only when the refs change.
            state = fold(self.repo.tags(), annotated, head)
            self._snapshot = _Snapshot(state, annotations, stamp)
            return state

    def _reusable(self, annotations: bool, check: bool) -> _Snapshot | None:
        """The snapshot, when it answers ``annotations`` and was checked within the interval."""
        snap = self._snapshot
        if snap is None or check or (annotations and not snap.annotated):
            return None
        return snap if time.monotonic() - self._checked < self.refresh_interval else None

    def _annotations_at(self, rev: str) -> dict[str, ann.Annotation]:
        try:
            return ann.read_at(self.repo, rev)
        except LandmarkError:
            # A broken dvc.yaml must not hide the registry; doctor reports it.
            return {}

    def _invalidate(self) -> None:
        with self._lock:  # after a build in progress, which may predate the write
            self._snapshot = None

    def artifact(self, name: str, *, annotations: bool = True) -> ArtifactState:
        return self._artifact_in(self.state(annotations=annotations), name)

    @staticmethod
    def _artifact_in(state: RegistryState, name: str) -> ArtifactState:
        names.check_artifact(name)
        found = state.artifact(name)
        if found is None:
            raise NotFound(f"artifact {name!r} not found: see 'landmark show' for known artifacts")
        return found

    # -- writing ----------------------------------------------------------------------------
    # Each write resolves its inputs (refs to commits, the state), asks the planner in
    # plans.py what to write, then writes exactly that; ``dry_run`` returns the plan instead.
    def _commit(self, ref: str | None) -> plans.Commit:
        """The commit ``ref`` names, or the error naming it (the plan raises it if needed)."""
        if ref is None:
            return None
        try:
            return self.repo.resolve(ref)
        except NotFound as e:
            return e

    def _fresh(self) -> RegistryState:
        """The state as the refs are now, whatever the interval: writes plan from it (and
        read the config and HEAD after it, which a change of the refs makes read again)."""
        return self._current(False, check=True)

    def _plan(self, request: plans.Request, config: cfg.Config | None = None) -> plans.Plan:
        state = self._fresh()
        taken = (p.tag for p in state.problems)
        return plans.plan(state.artifact(request.artifact), request, config, taken)

    def _write(self, plan: plans.Plan, push: bool, sign: bool) -> Event | Deleted:
        if plan.delete:
            return self._delete(list(plan.delete), push)
        created: list[str] = []
        try:
            for t in plan.create:
                self.repo.create_tag(t.name, t.commit, t.message, sign=sign)
                created.append(t.name)
        except LandmarkError:
            self.repo.delete_tags(created)
            raise
        finally:
            self._invalidate()
        self._publish(created, push)
        # Read back just these tags (tagger and date come from git), not the whole registry.
        events, _ = parse_tags(self.repo.tags(*created))
        last = next((e for e in events if e.tag == created[-1]), None)
        if last is None:  # pragma: no cover - git just wrote it
            raise LandmarkError(f"tag {created[-1]!r} was created but cannot be read back")
        return last

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

    @overload
    def register(
        self, name: str, ref: str = "HEAD", *, version: str | None = None,
        bump: str | None = None, message: str | None = None, simple: bool | None = None,
        force: bool = False, push: bool = False, sign: bool = False,
        dry_run: Literal[False] = False,
    ) -> Event: ...  # fmt: skip
    @overload
    def register(
        self, name: str, ref: str = "HEAD", *, version: str | None = None,
        bump: str | None = None, message: str | None = None, simple: bool | None = None,
        force: bool = False, push: bool = False, sign: bool = False, dry_run: Literal[True],
    ) -> plans.Plan: ...  # fmt: skip
    @overload
    def register(
        self, name: str, ref: str = "HEAD", *, version: str | None = None,
        bump: str | None = None, message: str | None = None, simple: bool | None = None,
        force: bool = False, push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | plans.Plan: ...  # fmt: skip
    def register(
        self, name: str, ref: str = "HEAD", *, version: str | None = None,
        bump: str | None = None, message: str | None = None, simple: bool | None = None,
        force: bool = False, push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | plans.Plan:  # fmt: skip
        """Register a version of ``name`` at ``ref`` (a new SemVer, or the next bump)."""
        request = plans.Register(
            name, self._commit(ref), ref, version, bump, message, simple, force
        )
        with self._write_lock:
            plan = self._plan(request)
            if dry_run:
                return plan
            result = self._write(plan, push, sign)
        assert isinstance(result, Event)
        return result

    @overload
    def assign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        name_version: str | None = None, message: str | None = None, simple: bool = False,
        force: bool = False, push: bool = False, skip_registration: bool = False,
        sign: bool = False, dry_run: Literal[False] = False,
    ) -> Event: ...  # fmt: skip
    @overload
    def assign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        name_version: str | None = None, message: str | None = None, simple: bool = False,
        force: bool = False, push: bool = False, skip_registration: bool = False,
        sign: bool = False, dry_run: Literal[True],
    ) -> plans.Plan: ...  # fmt: skip
    @overload
    def assign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        name_version: str | None = None, message: str | None = None, simple: bool = False,
        force: bool = False, push: bool = False, skip_registration: bool = False,
        sign: bool = False, dry_run: bool = False,
    ) -> Event | plans.Plan: ...  # fmt: skip
    def assign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        name_version: str | None = None, message: str | None = None, simple: bool = False,
        force: bool = False, push: bool = False, skip_registration: bool = False,
        sign: bool = False, dry_run: bool = False,
    ) -> Event | plans.Plan:  # fmt: skip
        """Assign ``stage`` to a version (``version=``) or to the version at ``ref``; a ref
        without a version is registered first (both tags are written, or neither)."""
        names.check_artifact(name)  # before the config is read, as the planner checks
        commit = self._commit(ref or "HEAD") if version is None else None
        request = plans.Assign(
            name, stage, commit, ref, version, name_version, message, simple, force,
            skip_registration,
        )  # fmt: skip
        with self._write_lock:
            self._fresh()
            plan = self._plan(request, self.config)
            if dry_run:
                return plan
            result = self._write(plan, push, sign)
        assert isinstance(result, Event)
        return result

    @overload
    def unassign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        message: str | None = None, simple: bool = False, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False,
        dry_run: Literal[False] = False,
    ) -> Event | Deleted: ...  # fmt: skip
    @overload
    def unassign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        message: str | None = None, simple: bool = False, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False, dry_run: Literal[True],
    ) -> plans.Plan: ...  # fmt: skip
    @overload
    def unassign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        message: str | None = None, simple: bool = False, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | Deleted | plans.Plan: ...  # fmt: skip
    def unassign(
        self, name: str, stage: str, ref: str | None = None, *, version: str | None = None,
        message: str | None = None, simple: bool = False, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | Deleted | plans.Plan:  # fmt: skip
        """Take ``stage`` away from a version (a new tag, or ``delete`` its tags)."""
        names.check_artifact(name)
        commit = self._commit(ref) if version is None else None
        request = plans.Unassign(name, stage, commit, ref, version, message, simple, force, delete)
        with self._write_lock:
            self._fresh()
            plan = self._plan(request, self.config)
            return plan if dry_run else self._write(plan, push, sign)

    @overload
    def deregister(
        self, name: str, version: str | None = None, ref: str | None = None, *,
        message: str | None = None, simple: bool | None = None, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False,
        dry_run: Literal[False] = False,
    ) -> Event | Deleted: ...  # fmt: skip
    @overload
    def deregister(
        self, name: str, version: str | None = None, ref: str | None = None, *,
        message: str | None = None, simple: bool | None = None, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False, dry_run: Literal[True],
    ) -> plans.Plan: ...  # fmt: skip
    @overload
    def deregister(
        self, name: str, version: str | None = None, ref: str | None = None, *,
        message: str | None = None, simple: bool | None = None, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | Deleted | plans.Plan: ...  # fmt: skip
    def deregister(
        self, name: str, version: str | None = None, ref: str | None = None, *,
        message: str | None = None, simple: bool | None = None, force: bool = False,
        delete: bool = False, push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | Deleted | plans.Plan:  # fmt: skip
        """Mark a version as withdrawn (a new tag, or ``delete`` all its tags)."""
        commit = self._commit(ref) if version is None else None
        request = plans.Deregister(name, commit, ref, version, message, simple, force, delete)
        with self._write_lock:
            plan = self._plan(request)
            return plan if dry_run else self._write(plan, push, sign)

    @overload
    def deprecate(
        self, name: str, ref: str | None = None, *, message: str | None = None,
        simple: bool | None = None, force: bool = False, delete: bool = False,
        push: bool = False, sign: bool = False, dry_run: Literal[False] = False,
    ) -> Event | Deleted: ...  # fmt: skip
    @overload
    def deprecate(
        self, name: str, ref: str | None = None, *, message: str | None = None,
        simple: bool | None = None, force: bool = False, delete: bool = False,
        push: bool = False, sign: bool = False, dry_run: Literal[True],
    ) -> plans.Plan: ...  # fmt: skip
    @overload
    def deprecate(
        self, name: str, ref: str | None = None, *, message: str | None = None,
        simple: bool | None = None, force: bool = False, delete: bool = False,
        push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | Deleted | plans.Plan: ...  # fmt: skip
    def deprecate(
        self, name: str, ref: str | None = None, *, message: str | None = None,
        simple: bool | None = None, force: bool = False, delete: bool = False,
        push: bool = False, sign: bool = False, dry_run: bool = False,
    ) -> Event | Deleted | plans.Plan:  # fmt: skip
        """Deprecate a whole artifact (registering a new version revives it)."""
        commit = self._commit(ref)
        with self._write_lock:
            self._fresh()
            head = self.repo.head() if ref is None else None
            request = plans.Deprecate(name, commit, ref, head, message, simple, force, delete)
            plan = self._plan(request)
            return plan if dry_run else self._write(plan, push, sign)

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
        state = self.state()  # one snapshot for the whole answer
        if name is not None:
            self._artifact_in(state, name)
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
        state = self.state()
        problems = list(state.problems)
        head = self.repo.head()
        if head:
            try:
                ann.read_at(self.repo, head)
            except LandmarkError as e:
                problems.append(Problem("HEAD", str(e)))
        return DoctorReport(tuple(problems), config_error, len(state.events), len(state.artifacts))


__all__ = ["SEMVER", "TIMESTAMP", "Deleted", "DoctorReport", "Registry"]
