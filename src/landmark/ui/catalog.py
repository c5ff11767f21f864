"""The repositories the UI shows, and what it derives from each one's registry state.

A :class:`View` is built once per registry snapshot (the registry keeps its snapshot until
the refs stamp changes), so pages never re-read git for what the tags already say. Model
metadata (``landmark.yaml``: framework, signature, requirements, safety) and metrics are
read per commit and kept: what a commit holds never changes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from .. import annotations as ann
from .. import gto_json, names
from ..errors import LandmarkError, NotFound, one_line
from ..git import is_url
from ..registry import Registry
from ..state import ArtifactState, RegistryState, StageState, VersionState

Json = dict[str, Any]


@dataclass
class Source:
    """One configured repository: its short id (used in URLs) and its registry."""

    id: str
    location: str
    registry: Registry

    @property
    def remote(self) -> bool:
        return is_url(self.location)


def _ids(locations: list[str]) -> list[str]:
    """Short, unique ids: the folder or repository name, numbered when two share one."""
    out: list[str] = []
    for loc in locations:
        tail = loc.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
        if loc in (".", "") or not tail:
            tail = os.path.basename(os.path.abspath(loc)) or "repo"
        base = "".join(c if c.isalnum() or c in "-_." else "-" for c in tail) or "repo"
        chosen, n = base, 2
        while chosen in out:
            chosen, n = f"{base}-{n}", n + 1
        out.append(chosen)
    return out


@dataclass
class View:
    """What one registry snapshot shows: table rows, version lists, the history index."""

    source: Source
    state: RegistryState
    stages: list[str]
    annotations: dict[str, ann.Annotation]
    serial: int = 0
    _versions: dict[str, list[tuple[VersionState, list[StageState]]]] = field(default_factory=dict)
    _held: dict[str, dict[str, list[StageState]]] = field(default_factory=dict)
    docs: dict[tuple[str, str], Json] = field(default_factory=dict)  # (name, version) -> show
    _index: dict[str, str] | None = None
    _rows: list[Json] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def artifact(self, name: str) -> ArtifactState:
        names.check_artifact(name)
        found = self.state.artifact(name)
        if found is None:
            raise NotFound(f"model {name!r} not found in repository {self.source.id!r}")
        return found

    def versions(self, name: str) -> list[tuple[VersionState, list[StageState]]]:
        """``show NAME``'s versions, each with the stages it holds (newest SemVer first)."""
        found = self._versions.get(name)
        if found is None:
            found = self._versions[name] = gto_json.versions(self.artifact(name))
        return found

    def held(self, name: str) -> dict[str, list[StageState]]:
        """Which versions each stage of ``name`` holds (``vstages()``, once per snapshot)."""
        found = self._held.get(name)
        if found is None:
            found = self._held[name] = self.artifact(name).vstages()
        return found

    def index(self) -> dict[str, str]:
        """tag -> version, for history entries."""
        if self._index is None:
            self._index = gto_json.version_index(self.state)
        return self._index


def _read_annotations(reg: Registry, state: RegistryState) -> dict[str, ann.Annotation]:
    """Annotations at HEAD; artifacts not annotated there, at their latest version's commit."""
    found: dict[str, ann.Annotation] = {}
    head = reg.repo.head()
    if head:
        try:
            found = dict(ann.read_at(reg.repo, head))
        except LandmarkError:
            found = {}
    missing: dict[str, str] = {}
    for name, art in state.artifacts.items():
        if name not in found:
            latest = art.latest(registered_only=False)
            if latest is not None and latest.commit:
                missing[name] = latest.commit
    if missing:
        try:
            by_commit = ann.read_many(reg.repo, sorted(set(missing.values())))
        except LandmarkError:
            by_commit = {}
        for name, commit in missing.items():
            a = by_commit.get(commit, {}).get(name)
            if a is not None:
                found[name] = a
    return found


@dataclass(frozen=True)
class ModelInfo:
    """What ``landmark describe-model --json`` says of one version, or why it cannot."""

    doc: Json | None
    error: str | None = None

    @property
    def framework(self) -> str | None:
        if self.doc is None:
            return None
        name = (self.doc.get("framework") or {}).get("name")
        return str(name) if name else None


class Catalog:
    """Every configured repository, the current view of each, and per-commit caches."""

    def __init__(self, locations: list[str], *, refresh_interval: float = 1.0) -> None:
        if not locations:
            locations = ["."]
        self.sources: dict[str, Source] = {}
        for sid, loc in zip(_ids(locations), locations, strict=True):
            self.sources[sid] = Source(sid, loc, Registry(loc, refresh_interval=refresh_interval))
        self._views: dict[str, View] = {}
        self._serial = 0  # of the views built (the stamp names them)
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str, str], ModelInfo] = {}
        # One model read at a time: two threads importing a framework's modules at once can
        # meet a half-initialised module (and the page would say the files cannot be checked).
        self._describing = threading.Lock()
        self._results: dict[tuple[str, str, str], Json] = {}
        self._lineages: dict[tuple[str, str, str], Json] = {}
        self._plots: dict[tuple[str, str, str], list[Json]] = {}
        self.generation = 0  # bumped when model metadata arrives (the tables show it)

    # -- sources and views ------------------------------------------------------------------
    def source(self, repo_id: str | None) -> Source:
        if repo_id is None:
            return next(iter(self.sources.values()))
        found = self.sources.get(repo_id)
        if found is None:
            known = ", ".join(self.sources)
            raise NotFound(f"no repository {one_line(repo_id, 80)!r} here (known: {known})")
        return found

    def view(self, source: Source) -> View:
        state = source.registry.state()
        cached = self._views.get(source.id)
        if cached is not None and cached.state is state:
            return cached
        with self._lock:
            cached = self._views.get(source.id)
            if cached is not None and cached.state is state:
                return cached
            self._serial += 1
            view = View(
                source,
                state,
                source.registry.stages(),
                _read_annotations(source.registry, state),
                serial=self._serial,
            )
            self._views[source.id] = view
            return view

    def views(self, repo_id: str | None = None) -> list[View]:
        chosen = [self.source(repo_id)] if repo_id else list(self.sources.values())
        return [self.view(s) for s in chosen]

    def locate(self, name: str, repo_id: str | None) -> View:
        """The view holding model ``name``: of ``repo_id``, or the first repo that has it."""
        names.check_artifact(name)
        if repo_id is not None:
            view = self.view(self.source(repo_id))
            view.artifact(name)
            return view
        for source in self.sources.values():
            view = self.view(source)
            if view.state.artifact(name) is not None:
                return view
        raise NotFound(f"model {name!r} not found: see the models table for known models")

    def stamp(self) -> str:
        """Differs whenever a repository's view changes (new tags, a moved HEAD) or model
        metadata arrives. Taken from the views themselves, so a page reloaded on a new stamp
        always gets the new data; cheap: each registry checks its refs from git's files at
        most once per refresh interval, and folds only when they moved."""
        h = hashlib.sha1(usedforsecurity=False)
        for source in self.sources.values():
            try:
                serial = self.view(source).serial
            except LandmarkError:
                serial = -1
            h.update(f"{source.id}\0{serial}\0".encode())
        h.update(str(self.generation).encode())
        return h.hexdigest()[:16]

    # -- per-commit facts -------------------------------------------------------------------
    def model_info(self, view: View, name: str, version: VersionState, *, fetch: bool) -> ModelInfo:
        """The version's model metadata; ``fetch=False`` answers only from what is known."""
        key = (view.source.id, version.commit, name)
        found = self._models.get(key)
        if found is not None or not fetch:
            return found or ModelInfo(None)
        with self._describing:
            found = self._models.get(key)
            if found is None:
                found = self._models[key] = _describe(view.source, name, version)
                self.generation += 1
        return found

    def warm(self) -> None:
        """Read the metadata of every model's latest version (the table's framework column)."""
        for view in self.views():
            for name, art in view.state.artifacts.items():
                latest = art.latest(registered_only=True)
                if latest is not None:
                    self.model_info(view, name, latest, fetch=True)

    def results(self, view: View, name: str, version: VersionState) -> Json:
        """Metrics and params (per file) at the version's commit, read by :mod:`landmark.results`."""
        key = (view.source.id, version.commit, name)
        found = self._results.get(key)
        if found is None:
            from ..results import Target, read_results

            target = Target(
                f"{name}@{version.version}", version.commit, "version", name, version.version
            )
            [res] = read_results(view.source.registry.repo, [target])
            found = self._results[key] = {
                "metrics": res.metrics,
                "params": res.params,
                "errors": res.errors,
            }
        return found

    def lineage(self, view: View, name: str, version: VersionState) -> Json:
        """``landmark lineage NAME@VERSION --json`` (the dvc.lock stages behind the model)."""
        key = (view.source.id, version.commit, name)
        found = self._lineages.get(key)
        if found is None:
            from ..provenance import trace

            try:
                doc = trace(view.source.registry, f"{name}@{version.version}").to_dict()
            except LandmarkError as e:
                doc = {"error": one_line(str(e), 300), "stages": [], "data": []}
            found = self._lineages[key] = doc
        return found

    def plots(self, view: View, name: str, version: VersionState) -> list[Json]:
        """The plots declared at the version's commit (``landmark plots NAME@VERSION``)."""
        key = (view.source.id, version.commit, name)
        found = self._plots.get(key)
        if found is None:
            from .comparison import plot_docs

            try:
                found = plot_docs(view, [f"{name}@{version.version}"])
            except LandmarkError as e:
                found = [{"kind": "notes", "title": "Plots", "notes": [one_line(str(e), 300)],
                          "id": "", "key": "", "revisions": [], "absent": [], "images": {}}]  # fmt: skip
            self._plots[key] = found
        return found


def _describe(source: Source, name: str, version: VersionState) -> ModelInfo:
    """``describe-model --json`` of ``name@version``: fetched into the user cache once."""
    ref = f"{name}@{version.version}"
    try:
        from ..models.api import fetch, safety
        from ..models.meta import is_model_dir, read_meta
        from ..storage.get import locate

        # Where the files are, through this registry's snapshot: a version with no files (or
        # a path the guard refuses) is answered without opening the repository again.
        locate(source.registry, ref)
        directory = fetch(ref, source.location)
        if not is_model_dir(directory):
            return ModelInfo(None, "not a landmark model (no landmark.yaml)")
        meta = read_meta(directory)
        verdict = safety(directory, meta)
    except (LandmarkError, OSError) as e:
        return ModelInfo(None, one_line(str(e), 300))
    doc = meta.to_dict()
    doc["safe"] = verdict.safe
    doc["safety"] = {
        "safe": verdict.safe,
        "claimed": verdict.claimed,
        "files_safe": verdict.files_safe,
        "reason": verdict.reason or None,
    }
    return ModelInfo(doc)


def check_version_text(text: str) -> str:
    """A version as the user typed it (``1.2.0`` or ``v1.2.0``), in the tags' form."""
    from ..versions import Version

    return str(Version.from_user(text))


__all__ = ["Catalog", "ModelInfo", "Source", "View", "check_version_text"]
