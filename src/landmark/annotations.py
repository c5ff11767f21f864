"""Artifact annotations: ``artifacts:`` sections of every ``dvc.yaml`` and GTO's ``artifacts.yaml``.

A ``dvc.yaml`` in ``dir/sub/`` declares ``dir/sub:name``; its paths are relative to that folder.
Reading goes through git (any commit); editing works on the work tree, keeping comments and order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import names, yamlio
from .errors import ConfigError, InvalidInput, NotFound
from .git import Repo

DVC_FILE = "dvc.yaml"
LEGACY_FILE = "artifacts.yaml"  # GTO's index, read at the repo root only (as GTO does)


@dataclass(frozen=True)
class Annotation:
    name: str
    type: str | None = None
    path: str | None = None
    description: str = ""
    labels: tuple[str, ...] = ()
    meta: Any = None
    virtual: bool = True
    source: str = DVC_FILE
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def repo_path(self) -> str | None:
        """``path`` relative to the repository root."""
        if self.path is None:
            return None
        folder = self.source.rpartition("/")[0]
        return f"{folder}/{self.path}" if folder else self.path

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "path": self.path,
            "description": self.description,
            "labels": list(self.labels),
            "meta": self.meta,
            "virtual": self.virtual,
            "source": self.source,
        }

    def gto_dict(self) -> dict[str, Any]:
        """GTO's ``Artifact`` model, as ``show NAME --json`` prints it in ``enrichments``."""
        return {
            "type": self.type,
            "path": self.path,
            "virtual": self.virtual,
            "labels": list(self.labels),
            "description": self.description,
            "custom": self.meta,
        }


def _labels(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise ConfigError(f"{where}: 'labels' must be a list")


def _build(name: str, body: Any, source: str, where: str, *, dvc: bool) -> Annotation:
    """One annotation from its YAML mapping; DVC and GTO name two fields differently."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ConfigError(f"{where} must be a mapping with 'path' and 'type'")
    path = body.get("path")
    description = (body.get("desc") or body.get("description")) if dvc else body.get("description")
    return Annotation(
        name=name,
        type=body.get("type"),
        path=str(path) if path is not None else None,
        description=str(description or ""),
        labels=_labels(body.get("labels"), where),
        meta=body.get("meta" if dvc else "custom"),
        # DVC artifacts are files; GTO's model defaults to virtual, path or not.
        virtual=False if dvc else bool(body.get("virtual", True)),
        source=source,
    )


def _from_dvc(folder: str, last: str, body: Any, source: str) -> Annotation:
    return _build(names.join(folder, last), body, source, f"{source}: artifact {last!r}", dvc=True)


def _from_legacy(name: str, body: Any) -> Annotation:
    return _build(name, body, LEGACY_FILE, f"{LEGACY_FILE}: artifact {name!r}", dvc=False)


def parse_dvc_yaml(data: bytes, source: str) -> dict[str, Annotation]:
    return from_dvc_doc(yamlio.load(data, source), source)


def from_dvc_doc(doc: Any, source: str) -> dict[str, Annotation]:
    """The annotations of an already parsed ``dvc.yaml``."""
    if not isinstance(doc, dict):
        return {}
    section = doc.get("artifacts") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: 'artifacts' must be a mapping of names")
    folder = source.rpartition("/")[0]
    return {
        a.name: a
        for a in (_from_dvc(folder, str(k), v, source) for k, v in section.items())
        if names.is_valid_artifact(a.name)
    }


def parse_legacy(data: bytes) -> dict[str, Annotation]:
    doc = yamlio.load(data, LEGACY_FILE)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{LEGACY_FILE}: expected a mapping of artifact names")
    return {str(k): _from_legacy(str(k), v) for k, v in doc.items()}


def merge(files: dict[str, bytes]) -> dict[str, Annotation]:
    """Annotations from file contents keyed by repo path; dvc.yaml wins over artifacts.yaml."""
    result: dict[str, Annotation] = {}
    if LEGACY_FILE in files:
        result.update(parse_legacy(files[LEGACY_FILE]))
    for path in sorted(p for p in files if p.rsplit("/", 1)[-1] == DVC_FILE):
        result.update(parse_dvc_yaml(files[path], path))
    return result


def from_dvc_docs(docs: dict[str, Any]) -> dict[str, Annotation]:
    """Annotations of parsed ``dvc.yaml`` files keyed by repo path (as :func:`merge`, without
    the legacy index); an invalid entry is left out, not raised."""
    result: dict[str, Annotation] = {}
    for path in sorted(docs):
        try:
            result.update(from_dvc_doc(docs[path], path))
        except ConfigError:
            continue
    return result


def read_at(repo: Repo, rev: str) -> dict[str, Annotation]:
    """Every annotation at a commit: one ``ls-tree`` and one ``cat-file`` call."""
    paths = [
        p
        for p in repo.list_files(rev, [DVC_FILE, LEGACY_FILE])
        if "/" not in p or p.endswith(DVC_FILE)
    ]
    contents = repo.read_files((rev, p) for p in paths)
    return merge({p: contents[(rev, p)] for p in paths if (rev, p) in contents})


def read_many(repo: Repo, revs: list[str]) -> dict[str, dict[str, Annotation]]:
    """Legacy ``artifacts.yaml`` annotations at several commits (GTO's enrichments)."""
    contents = repo.read_files((rev, LEGACY_FILE) for rev in revs)
    return {
        rev: parse_legacy(contents[(rev, LEGACY_FILE)]) if (rev, LEGACY_FILE) in contents else {}
        for rev in revs
    }


# -- editing the work tree ----------------------------------------------------------------


def _dvc_file(root: Path, name: str) -> tuple[Path, str]:
    folder, last = names.split(name)
    return root / folder / DVC_FILE if folder else root / DVC_FILE, last


def annotate(
    root: Path,
    name: str,
    *,
    type: str | None = None,
    path: str | None = None,
    description: str | None = None,
    labels: list[str] | None = None,
    meta: Any = None,
    replace: bool = False,
) -> Annotation:
    """Add or update ``artifacts: NAME`` in the right dvc.yaml; unspecified fields are kept."""
    names.check_artifact(name)
    for label in labels or []:
        names.check_name(label, "label")
    file, last = _dvc_file(root, name)
    doc = yamlio.load_roundtrip(file)
    if doc is None:
        doc = yamlio.mapping()
    if not isinstance(doc, dict):
        raise ConfigError(f"{file}: expected a mapping at the top; fix the file")
    section = doc.get("artifacts")
    if section is None:
        section = doc["artifacts"] = yamlio.mapping()
    if not isinstance(section, dict):
        raise ConfigError(f"{file}: 'artifacts' must be a mapping; fix the file")
    body = section.get(last)
    if body is None or replace:
        body = yamlio.mapping()
    if not isinstance(body, dict):
        raise ConfigError(f"{file}: artifact {last!r} must be a mapping; fix the file")
    if path is not None:
        body["path"] = path
    if type is not None:
        body["type"] = type
    if description is not None:
        body["desc"] = description
    if labels:
        existing = [str(v) for v in body.get("labels") or []]
        body["labels"] = existing + [x for x in labels if x not in existing]
    if meta is not None:
        body["meta"] = meta
    if not body.get("path") and not body.get("type"):
        raise InvalidInput(f"artifact {name!r} needs at least --path or --type")
    section[last] = body
    yamlio.dump_roundtrip(doc, file)
    rel = file.relative_to(root).as_posix()
    return parse_dvc_yaml(file.read_bytes(), rel)[name]


def remove(root: Path, name: str) -> str:
    """Remove ``artifacts: NAME`` from its dvc.yaml; returns the file's repo path."""
    names.check_artifact(name)
    file, last = _dvc_file(root, name)
    doc = yamlio.load_roundtrip(file)
    section = doc.get("artifacts") if isinstance(doc, dict) else None
    if not isinstance(section, dict) or last not in section:
        raise NotFound(f"artifact {name!r} is not annotated in {file.relative_to(root)}")
    del section[last]
    if not section:
        del doc["artifacts"]
    yamlio.dump_roundtrip(doc, file)
    return file.relative_to(root).as_posix()
