"""The public Python API: one function per command, over :class:`Registry`.

Write functions return the :class:`~landmark.events.Event` they created (or
:class:`~landmark.registry.Deleted`), or with ``dry_run=True`` the :class:`~landmark.plans.Plan`
of what they would write; ``show``/``history``/``check_ref`` return plain data in
GTO's JSON shapes; ``find``/``latest``/``state`` return typed state values.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, overload

from . import gto_json
from .annotations import Annotation
from .events import Event
from .plans import Plan
from .registry import Deleted, DoctorReport, Registry
from .state import TIMESTAMP, RegistryState, VersionState

if TYPE_CHECKING:
    from .comparison import Comparison
    from .dvcexp import Row as ExperimentRow
    from .provenance import Lineage

Repo = str | os.PathLike[str]


# Write functions: ``dry_run=True`` returns the Plan (the tags the write would create or delete)
# and writes nothing.
@overload
def register(
    name: str, ref: str = "HEAD", *, repo: Repo = ".", dry_run: Literal[False] = False,
    **options: Any,
) -> Event: ...  # fmt: skip
@overload
def register(
    name: str, ref: str = "HEAD", *, repo: Repo = ".", dry_run: Literal[True], **options: Any
) -> Plan: ...  # fmt: skip
def register(
    name: str, ref: str = "HEAD", *, repo: Repo = ".", dry_run: bool = False, **options: Any
) -> Event | Plan:
    """Register a version: ``version=``, ``bump=`` (major/minor/patch), ``message=``, ``push=``..."""
    return Registry(repo).register(name, ref, dry_run=dry_run, **options)


@overload
def assign(
    name: str, stage: str, ref: str | None = None, *, repo: Repo = ".",
    dry_run: Literal[False] = False, **options: Any,
) -> Event: ...  # fmt: skip
@overload
def assign(
    name: str, stage: str, ref: str | None = None, *, repo: Repo = ".",
    dry_run: Literal[True], **options: Any,
) -> Plan: ...  # fmt: skip
def assign(
    name: str, stage: str, ref: str | None = None, *, repo: Repo = ".", dry_run: bool = False,
    **options: Any,
) -> Event | Plan:  # fmt: skip
    """Assign a stage: to ``version=``, or to the version at ``ref`` (registered if needed)."""
    return Registry(repo).assign(name, stage, ref, dry_run=dry_run, **options)


@overload
def unassign(
    name: str, stage: str, ref: str | None = None, *, repo: Repo = ".",
    dry_run: Literal[False] = False, **options: Any,
) -> Event | Deleted: ...  # fmt: skip
@overload
def unassign(
    name: str, stage: str, ref: str | None = None, *, repo: Repo = ".",
    dry_run: Literal[True], **options: Any,
) -> Plan: ...  # fmt: skip
def unassign(
    name: str, stage: str, ref: str | None = None, *, repo: Repo = ".", dry_run: bool = False,
    **options: Any,
) -> Event | Deleted | Plan:  # fmt: skip
    return Registry(repo).unassign(name, stage, ref, dry_run=dry_run, **options)


@overload
def deregister(
    name: str, version: str | None = None, *, repo: Repo = ".",
    dry_run: Literal[False] = False, **options: Any,
) -> Event | Deleted: ...  # fmt: skip
@overload
def deregister(
    name: str, version: str | None = None, *, repo: Repo = ".", dry_run: Literal[True],
    **options: Any,
) -> Plan: ...  # fmt: skip
def deregister(
    name: str, version: str | None = None, *, repo: Repo = ".", dry_run: bool = False,
    **options: Any,
) -> Event | Deleted | Plan:  # fmt: skip
    return Registry(repo).deregister(name, version, dry_run=dry_run, **options)


@overload
def deprecate(
    name: str, ref: str | None = None, *, repo: Repo = ".", dry_run: Literal[False] = False,
    **options: Any,
) -> Event | Deleted: ...  # fmt: skip
@overload
def deprecate(
    name: str, ref: str | None = None, *, repo: Repo = ".", dry_run: Literal[True],
    **options: Any,
) -> Plan: ...  # fmt: skip
def deprecate(
    name: str, ref: str | None = None, *, repo: Repo = ".", dry_run: bool = False,
    **options: Any,
) -> Event | Deleted | Plan:  # fmt: skip
    return Registry(repo).deprecate(name, ref, dry_run=dry_run, **options)


def state(*, repo: Repo = ".") -> RegistryState:
    return Registry(repo).state()


def find(ref: str, *, repo: Repo = ".") -> list[VersionState]:
    """Versions a shortcut names: ``churn@v1.2.0``, ``churn@latest``, ``churn#prod``."""
    return Registry(repo).find(ref)


def latest(name: str, *, repo: Repo = ".") -> VersionState | None:
    return Registry(repo).artifact(name).latest()


def show(
    name: str | None = None,
    *,
    repo: Repo = ".",
    registered_only: bool = False,
    deprecated: bool = False,
    assignments_per_version: int = -1,
    versions_per_stage: int = 1,
    sort: str = TIMESTAMP,
) -> Any:
    """The registry (no ``name``) or an artifact's versions, as GTO's ``show --json`` prints."""
    from . import annotations as ann
    from .names import parse_shortcut

    reg = Registry(repo)
    opts = dict(
        registered_only=registered_only,
        deprecated=deprecated,
        assignments_per_version=assignments_per_version,
        versions_per_stage=versions_per_stage,
        sort=sort,
    )
    if name is None:
        return gto_json.registry(reg.state(), reg.stages(), **opts)  # type: ignore[arg-type]
    sc = parse_shortcut(name)
    art = reg.artifact(sc.name)
    chosen = gto_json.versions(art, **opts)  # type: ignore[arg-type]
    if sc.latest:
        chosen = chosen[:1]
    elif sc.version:
        chosen = [(v, s) for v, s in chosen if v.version == sc.version]
    elif sc.stage:
        chosen = [(v, s) for v, s in chosen if any(p.stage == sc.stage for p in s)]
    commits = reg.repo.commits(v.commit for v, _ in chosen)
    legacy = ann.read_many(reg.repo, sorted({v.commit for v, _ in chosen}))
    return [
        gto_json.version_dict(v, s, commits.get(v.commit), legacy.get(v.commit, {}).get(sc.name))
        for v, s in chosen
    ]


def history(
    name: str | None = None, *, repo: Repo = ".", ascending: bool = False
) -> list[dict[str, Any]]:
    """The event journal, newest first, as GTO's ``history --json`` prints it."""
    reg = Registry(repo)
    index = gto_json.version_index(reg.state())
    return [gto_json.history_entry(e, index.get(e.tag)) for e in reg.history(name, ascending)]


def check_ref(ref: str, *, repo: Repo = ".") -> list[dict[str, Any]]:
    """What a tag registered or assigned, as GTO's ``check-ref --json`` prints it."""
    reg = Registry(repo)
    index = gto_json.version_index(reg.state())
    return [gto_json.event_dict(e, index.get(e.tag), full=False) for e in reg.check_ref(ref)]


def stages(*, repo: Repo = ".", allowed: bool = False, used: bool = False) -> list[str]:
    return Registry(repo).stages(allowed=allowed, used=used)


def describe(ref: str, *, repo: Repo = ".", rev: str | None = None) -> Annotation:
    return Registry(repo).describe(ref, rev)


def annotate(name: str, *, repo: Repo = ".", **fields: Any) -> Annotation:
    return Registry(repo).annotate(name, **fields)


def remove(name: str, *, repo: Repo = ".") -> str:
    return Registry(repo).remove(name)


def doctor(*, repo: Repo = ".") -> DoctorReport:
    return Registry(repo).doctor()


# Results across revisions (``landmark compare``, ``lineage``, ``experiments``).
def compare(
    refs: list[str] | tuple[str, ...] = (), *, repo: Repo = ".", **options: Any
) -> Comparison:
    """Metrics, params and data of versions, stages, commits and experiments; ``options`` are
    ``versions``, ``stages``, ``exps``, ``sort``, ``ascending``, ``data`` (see the CLI)."""
    from .comparison import compare as run

    return run(repo, refs, **options)


def lineage(ref: str, *, repo: Repo = ".") -> Lineage:
    """What produced a version: its commit, dvc.lock stages, params, data versions."""
    from .provenance import trace

    return trace(repo, ref)


def experiments(*, repo: Repo = ".", all_baselines: bool = False) -> list[ExperimentRow]:
    """DVC experiments (of HEAD's baseline, or all) with metrics, params, registrations."""
    from .dvcexp import overview

    return overview(repo, all_baselines=all_baselines)
