"""Compare revisions: metrics, params and data of versions, stages, commits and experiments.

``compare(repo, ["churn#prod", "churn@latest"])`` reads every revision through one
:class:`landmark.results.Reader`, lines up each metric and param across them with its delta
against the first, and lists the dependencies (data) whose hashes differ.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import names
from .errors import InvalidInput, NotFound
from .results import WORKSPACE, WORKSPACE_TARGET, Reader, Results, Target

if TYPE_CHECKING:
    from .dvcexp import Experiment
    from .git import Repo
    from .provenance import DataVersion
    from .registry import Registry
    from .state import RegistryState, VersionState


# -- naming revisions ----------------------------------------------------------------------


def _version_target(label: str, v: VersionState, kind: str) -> Target:
    stages = tuple(s.stage for s in v.active_stages())
    return Target(label, v.commit, kind, name=v.artifact, version=v.version, stages=stages)


class Resolver:
    """Turns what a user typed into :class:`Target` revisions."""

    def __init__(self, repo: Repo, registry: Registry) -> None:
        self.repo = repo
        self.registry = registry
        self._state: RegistryState | None = None
        self._exps: list[Experiment] | None = None
        self._by_commit: dict[str, list[VersionState]] | None = None

    @property
    def state(self) -> RegistryState:
        if self._state is None:
            self._state = self.registry.state(annotations=False)
        return self._state

    @property
    def experiments(self) -> list[Experiment]:
        if self._exps is None:
            from .dvcexp import fetch_experiments, list_experiments

            if self.repo.url is not None:
                fetch_experiments(self.repo)
            self._exps = list_experiments(self.repo)
        return self._exps

    def versions_at(self, commit: str) -> list[VersionState]:
        """The registered versions (of any artifact) at ``commit``, newest first."""
        if self._by_commit is None:
            self._by_commit = {}
            for art in self.state.artifacts.values():
                for v in art.get_versions():
                    self._by_commit.setdefault(v.commit, []).append(v)
        return self._by_commit.get(commit, [])

    def registered_at(self, commit: str) -> tuple[str | None, str | None, tuple[str, ...]]:
        """(artifact, version, stages) of a version registered at ``commit``, if one is."""
        found = self.versions_at(commit)
        if not found:
            return None, None, ()
        v = found[0]
        return v.artifact, v.version, tuple(s.stage for s in v.active_stages())

    def artifact_versions(self, name: str) -> list[Target]:
        art = self.state.artifact(names.check_artifact(name))
        if art is None:
            raise NotFound(f"no artifact {name!r} in the registry: see 'landmark show'")
        versions = art.get_versions()[::-1]  # oldest first: deltas read as progress
        if not versions:
            raise NotFound(f"{name!r} has no registered versions")
        return [_version_target(f"{name}@{v.version}", v, "version") for v in versions]

    def one(self, text: str) -> Target:
        if text == WORKSPACE:
            return WORKSPACE_TARGET
        if self._is_experiment(text):
            return self.experiment(text[4:])
        if "#" in text or "@" in text:
            sc = names.parse_shortcut(text)
            found = self.registry.find(text)
            if not found:
                raise NotFound(f"nothing matches {text!r}: see 'landmark show {sc.name}'")
            kind = "stage" if sc.stage else "latest" if sc.latest else "version"
            return _version_target(text, found[0], kind)
        try:
            commit = self.repo.resolve(text)
        except NotFound:
            if names.is_valid_artifact(text) and self.state.artifact(text) is not None:
                return self.one(f"{text}@latest")
            raise NotFound(
                f"{text!r} is neither a git revision nor an artifact: give a commit, a branch, "
                "name@version, name#stage, name@latest, exp:NAME or 'workspace'"
            ) from None
        name, version, stages = self.registered_at(commit)
        return Target(text, commit, "commit", name=name, version=version, stages=stages)

    def _is_experiment(self, text: str) -> bool:
        """``exp:NAME`` names an experiment, unless only an artifact in folder ``exp`` has it."""
        if not text.startswith("exp:") or "@" in text or "#" in text:
            return False
        if any(e.name == text[4:] for e in self.experiments):
            return True
        return self.state.artifact(text) is None

    def experiment(self, name: str) -> Target:
        from .dvcexp import find_experiment

        exp = find_experiment(self.repo, name, self.experiments)
        art, version, stages = self.registered_at(exp.rev)
        return Target(
            name,
            exp.rev,
            "exp",
            name=art,
            version=version,
            stages=stages,
            exp=exp.name,
            baseline=exp.baseline,
        )

    def targets(
        self,
        refs: Sequence[str],
        *,
        versions: bool = False,
        stages: Sequence[str] = (),
        exps: Sequence[str] = (),
    ) -> list[Target]:
        chosen: list[Target] = []
        for text in refs:
            bare = (
                "#" not in text
                and "@" not in text
                and names.is_valid_artifact(text)
                and not self._is_experiment(text)
            )
            if bare and (versions or stages):
                if versions:
                    chosen += self.artifact_versions(text)
                for stage in stages:
                    chosen.append(self.one(f"{text}#{stage}"))
            else:
                chosen.append(self.one(text))
        chosen += [self.experiment(e) for e in exps]
        if not chosen:
            # As dvc metrics diff: the work tree against HEAD.
            head = self.repo.head()
            if head is None:
                raise NotFound("the repository has no commits yet: commit something first")
            chosen = [self.one("HEAD")] + ([] if self.repo.bare else [WORKSPACE_TARGET])
        unique: dict[tuple[str | None, str], Target] = {}
        for t in chosen:
            unique.setdefault((t.rev, t.label), t)
        return list(unique.values())


# -- lining up values ----------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _delta(value: Any, base: Any) -> float | None:
    a, b = _number(value), _number(base)
    if a is None or b is None:
        return None
    d = a - b
    return int(d) if isinstance(value, int) and isinstance(base, int) else round(d, 12)


MISSING: Any = None


@dataclass
class Row:
    """One metric or param across the revisions (None where a revision lacks it)."""

    section: str  # "metrics" | "params"
    file: str
    key: str
    values: list[Any]
    present: list[bool]
    name: str = ""  # the shortest unambiguous label: the key, or file:key

    @property
    def deltas(self) -> list[Any]:
        base = self.values[0] if self.present[0] else None
        return [None if i == 0 else _delta(v, base) for i, v in enumerate(self.values)]

    @property
    def differs(self) -> bool:
        seen = [(p, _canon(v)) for p, v in zip(self.present, self.values, strict=True)]
        return len(set(seen)) > 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "key": self.key,
            "name": self.name,
            "values": self.values,
            "deltas": self.deltas,
            "differs": self.differs,
        }


def _canon(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class DataRow:
    """A dependency whose hash differs between the revisions."""

    path: str
    hashes: list[str | None]
    versions: list[str | None]  # the data artifact's version holding that content, if known

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "hashes": self.hashes, "versions": self.versions}


@dataclass
class Comparison:
    targets: list[Target]
    results: list[Results]
    metrics: list[Row]
    params: list[Row]
    data: list[DataRow] = field(default_factory=list)

    @property
    def errors(self) -> dict[str, dict[str, str]]:
        return {r.target.label: r.errors for r in self.results if r.errors}

    def rows(self, diff_only: bool = False) -> list[Row]:
        every = self.metrics + self.params
        return [r for r in every if r.differs] if diff_only else every

    def to_dict(self, diff_only: bool = False) -> dict[str, Any]:
        return {
            "revisions": [r.to_dict() for r in self.results],
            "metrics": [r.to_dict() for r in self.metrics if r.differs or not diff_only],
            "params": [r.to_dict() for r in self.params if r.differs or not diff_only],
            "data": [d.to_dict() for d in self.data],
            "errors": self.errors,
        }


def _rows(section: str, results: Sequence[Results]) -> list[Row]:
    files: dict[str, dict[str, None]] = {}
    for res in results:
        for file, values in getattr(res, section).items():
            keys = files.setdefault(file, {})
            keys.update(dict.fromkeys(values))
    rows = []
    for file, keys in files.items():
        for key in keys:
            found = [getattr(r, section).get(file, {}) for r in results]
            rows.append(
                Row(
                    section,
                    file,
                    key,
                    [f.get(key, MISSING) for f in found],
                    [key in f for f in found],
                )
            )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.key] = counts.get(row.key, 0) + 1
    for row in rows:
        row.name = row.key if counts[row.key] == 1 else f"{row.file}:{row.key}"
    return rows


def _sort(results: list[Results], rows: list[Row], key: str, ascending: bool) -> list[int]:
    matches = [r for r in rows if key in (r.name, r.key, f"{r.file}:{r.key}")]
    if not matches:
        raise InvalidInput(f"no metric or param {key!r} to sort by: use a name the table shows")
    row = matches[0]

    def order(i: int) -> tuple[int, float]:
        n = _number(row.values[i])
        if n is None:
            return (1, 0.0)  # revisions without a number go last either way
        return (0, n if ascending else -n)

    return sorted(range(len(results)), key=order)


def _data_rows(reader: Reader, resolver: Resolver, results: list[Results]) -> list[DataRow]:
    """Dependencies that differ: of the stages that produced the artifact when every revision
    names the same one, else of every stage."""
    from .annotations import from_dvc_docs
    from .provenance import data_versions, producing

    artifacts = {r.target.name for r in results}
    name = next(iter(artifacts)) if len(artifacts) == 1 else None
    per_rev: list[dict[str, str | None]] = []
    found: list[dict[str, DataVersion]] = []
    for res in results:
        deps: dict[str, str | None] = {}
        stages = res.stages
        annotations = from_dvc_docs(res.snapshot.dvc_files) if name is not None else {}
        ann = annotations.get(name) if name is not None else None
        if ann is not None and ann.repo_path:
            stages = producing(res.stages, posixpath.normpath(ann.repo_path)) or res.stages
        for s in stages:
            deps.update(s.deps)
        per_rev.append(deps)
        found.append(
            data_versions(reader, resolver.state, annotations, deps) if annotations else {}
        )
    paths = list(dict.fromkeys(p for deps in per_rev for p in deps))
    rows = []
    for path in paths:
        hashes = [deps.get(path) for deps in per_rev]
        if len(set(hashes)) > 1:
            versions = [f[path].label if path in f else None for f in found]
            rows.append(DataRow(path, hashes, versions))
    return rows


def compare(
    repo: str | os.PathLike[str] | Registry = ".",
    refs: Sequence[str] = (),
    *,
    versions: bool = False,
    stages: Sequence[str] = (),
    exps: Sequence[str] = (),
    sort: str | None = None,
    ascending: bool = False,
    data: bool = True,
) -> Comparison:
    """Metrics, params and data of each revision named (see :meth:`Resolver.one`)."""
    from .registry import Registry

    registry = repo if isinstance(repo, Registry) else Registry(repo)
    git_repo = registry.repo
    resolver = Resolver(git_repo, registry)
    targets = resolver.targets(refs, versions=versions, stages=stages, exps=exps)
    with Reader(git_repo) as reader:
        results = reader.read_all(targets, stages=data)
        metrics, params = _rows("metrics", results), _rows("params", results)
        if sort is not None:
            order = _sort(results, metrics + params, sort, ascending)
            results = [results[i] for i in order]
            targets = [targets[i] for i in order]
            metrics, params = _rows("metrics", results), _rows("params", results)
        rows = _data_rows(reader, resolver, results) if data else []
    return Comparison(targets, results, metrics, params, rows)
