"""Lineage: what produced a version's model, from the ``dvc.lock`` files of its commit.

The stage whose outputs hold the model's path is found, then, recursively, the stages that
produced its dependencies; each dependency that is a registered data artifact (``type: data``
in ``dvc.yaml``) is named by the version whose content has the same hash.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .results import LockStage, Reader, Results, Target

if TYPE_CHECKING:
    from .annotations import Annotation
    from .git import Repo
    from .registry import Registry
    from .state import RegistryState


def overlaps(a: str, b: str) -> bool:
    """One path is the other, or inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def producing(stages: Sequence[LockStage], path: str) -> list[LockStage]:
    """The stages that produced ``path`` and, recursively, their dependencies: upstream first."""
    by_out = [(out, s) for s in stages for out in s.outs]
    chosen: list[LockStage] = []
    seen: set[tuple[str, str]] = set()
    todo = [path]
    while todo:
        wanted = todo.pop()
        for out, stage in by_out:
            key = (stage.dvcfile, stage.name)
            if key in seen or not overlaps(out, wanted):
                continue
            seen.add(key)
            chosen.append(stage)
            todo.extend(stage.deps)
    return chosen[::-1]


@dataclass(frozen=True)
class DataVersion:
    """A dependency that is a registered data artifact, and which version it was."""

    path: str
    hash: str | None
    artifact: str
    version: str | None  # None: content no registered version has

    @property
    def label(self) -> str:
        return (
            f"{self.artifact}@{self.version}" if self.version else f"{self.artifact} (unregistered)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "hash": self.hash,
            "artifact": self.artifact,
            "version": self.version,
        }


@dataclass
class Lineage:
    target: Target
    path: str | None  # the model's path at the commit
    stages: list[LockStage]
    data: dict[str, DataVersion] = field(default_factory=dict)  # dep path -> its data version
    commit: dict[str, Any] = field(default_factory=dict)
    experiment: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        stages = []
        for s in self.stages:
            d = s.to_dict()
            for dep in d["deps"]:
                found = self.data.get(dep["path"])
                dep["artifact"] = found.label if found is not None else None
            stages.append(d)
        return {
            **self.target.to_dict(),
            "path": self.path,
            "commit": self.commit,
            "experiment": self.experiment,
            "stages": stages,
            "data": [d.to_dict() for d in self.data.values()],
        }


def _pointer_hash(data: bytes | None) -> str | None:
    """The hash in a ``.dvc`` pointer file's first output."""
    if data is None:
        return None
    from . import yamlio
    from .errors import ConfigError

    try:
        doc = yamlio.load(data, "pointer")
    except ConfigError:
        return None
    outs = doc.get("outs") if isinstance(doc, Mapping) else None
    if isinstance(outs, list) and outs and isinstance(outs[0], Mapping):
        for key in ("md5", "etag", "checksum"):
            value = outs[0].get(key)
            if isinstance(value, str):
                return value
    return None


def data_hash(reader: Reader, results: Results, path: str) -> str | None:
    """The hash of ``path`` at a revision: its ``.dvc`` pointer, a stage's output or
    dependency entry, or (a file git holds) the MD5 of its content, as DVC computes it."""
    found = _pointer_hash(results.snapshot.read(f"{path}.dvc"))
    if found is not None:
        return found
    for stage in results.stages:
        if stage.outs.get(path):
            return stage.outs[path]
    for stage in results.stages:
        if stage.deps.get(path):
            return stage.deps[path]
    data = results.snapshot.read(path)
    if data is None:
        return None
    import hashlib

    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def data_versions(
    reader: Reader,
    state: RegistryState,
    annotations: Mapping[str, Annotation],
    deps: Mapping[str, str | None],
) -> dict[str, DataVersion]:
    """Each dependency that is a data artifact's path, with the version holding its hash."""
    found: dict[str, DataVersion] = {}
    for ann in annotations.values():
        if ann.type != "data" or ann.repo_path is None:
            continue
        data_path = posixpath.normpath(ann.repo_path)
        matching = [p for p in deps if p == data_path]
        if not matching:
            continue
        art = state.artifact(ann.name)
        versions = art.get_versions() if art is not None else []
        targets = [Target(f"{ann.name}@{v.version}", v.commit, "version") for v in versions]
        hashes = {
            v.version: data_hash(reader, res, data_path)
            for v, res in zip(versions, reader.read_all(targets), strict=True)
        }
        for dep in matching:
            version = next((v for v, h in hashes.items() if h and h == deps[dep]), None)
            found[dep] = DataVersion(dep, deps[dep], ann.name, version)
    return found


def lineage(
    repo: Repo, reader: Reader, state: RegistryState, target: Target, name: str | None = None
) -> Lineage:
    """What produced the artifact ``name`` (default: the target's) at the target's revision."""
    from .annotations import LEGACY_FILE, from_dvc_docs, parse_legacy
    from .dvcexp import list_experiments
    from .errors import ConfigError

    results = reader.results(target)
    snap = results.snapshot
    annotations = {}
    legacy = snap.read(LEGACY_FILE)
    if legacy is not None:
        try:
            annotations.update(parse_legacy(legacy))
        except ConfigError as e:
            results.errors[LEGACY_FILE] = str(e)
    annotations.update(from_dvc_docs(snap.dvc_files))
    artifact = name or target.name
    ann = annotations.get(artifact) if artifact else None
    path = posixpath.normpath(ann.repo_path) if ann is not None and ann.repo_path else None
    stages = producing(results.stages, path) if path is not None else []
    deps: dict[str, str | None] = {}
    for s in stages:
        deps.update(s.deps)
    lin = Lineage(target, path, stages)
    lin.data = data_versions(reader, state, annotations, deps)
    if target.rev is not None:
        info = repo.commits([target.rev]).get(target.rev)
        if info is not None:
            lin.commit = {
                "sha": info.sha,
                "author": info.author,
                "email": info.author_email,
                "time": info.time.isoformat(),
                "message": info.message.strip(),
            }
        for exp in list_experiments(repo):
            if exp.rev == target.rev:
                lin.experiment = {"name": exp.name, "baseline": exp.baseline, "ref": exp.ref}
                break
    return lin


def trace(location: str | os.PathLike[str] | Registry, ref: str) -> Lineage:
    """The lineage of what ``ref`` names (``churn@v1.2.0``, ``churn#prod``, a commit,
    ``exp:NAME``): ``landmark lineage``."""
    from .comparison import Resolver
    from .registry import Registry

    reg = location if isinstance(location, Registry) else Registry(location)
    resolver = Resolver(reg.repo, reg)
    target = resolver.one(ref)
    with Reader(reg.repo) as reader:
        return lineage(reg.repo, reader, resolver.state, target)
