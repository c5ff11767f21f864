"""The model directory's metadata file, ``landmark.yaml``: values and their read/write."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, NotFound
from .signature import Signature

META_FILE = "landmark.yaml"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FileEntry:
    """One file of the model, relative to the model directory."""

    path: str
    md5: str
    size: int


@dataclass(frozen=True)
class Requirement:
    """An installed distribution the model needs, pinned to the version it was saved with."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Framework:
    name: str
    version: str | None = None


@dataclass(frozen=True)
class MethodSpec:
    """What one method takes and returns; ``unknown`` signatures check nothing."""

    input: Signature = field(default_factory=Signature)
    output: Signature = field(default_factory=Signature)


@dataclass(frozen=True)
class ModelMeta:
    adapter: str
    framework: Framework
    format: str
    safe: bool
    files: tuple[FileEntry, ...] = ()
    methods: Mapping[str, MethodSpec] = field(default_factory=dict)
    requirements: tuple[Requirement, ...] = ()
    local_modules: tuple[str, ...] = ()
    python: str = ""
    description: str = ""
    labels: tuple[str, ...] = ()
    created: str = ""
    # Adapter-specific settings needed to load (e.g. the file a pipeline is in).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> ModelMeta:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The YAML document, in the documented key order."""
        doc: dict[str, Any] = {
            "landmark_model": FORMAT_VERSION,
            "adapter": self.adapter,
            "framework": {"name": self.framework.name, "version": self.framework.version},
            "format": self.format,
            "safe": self.safe,
            "files": [{"path": f.path, "md5": f.md5, "size": f.size} for f in self.files],
            "methods": {
                name: {"input": spec.input.to_dict(), "output": spec.output.to_dict()}
                for name, spec in self.methods.items()
            },
            "requirements": [{"name": r.name, "version": r.version} for r in self.requirements],
            "local_modules": list(self.local_modules),
            "python": self.python,
            "description": self.description,
            "labels": list(self.labels),
            "created": self.created,
        }
        if self.extra:
            doc["extra"] = dict(self.extra)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], source: str = META_FILE) -> ModelMeta:
        try:
            version = doc.get("landmark_model")
            if version != FORMAT_VERSION:
                raise ConfigError(
                    f"{source}: unsupported landmark_model {version!r}; "
                    "upgrade landmark to read this model"
                )
            fw = doc.get("framework") or {}
            methods = doc.get("methods") or {}
            return cls(
                adapter=str(doc["adapter"]),
                framework=Framework(
                    str(fw.get("name", "")),
                    None if fw.get("version") is None else str(fw["version"]),
                ),
                format=str(doc["format"]),
                safe=bool(doc["safe"]),
                files=tuple(
                    FileEntry(str(f["path"]), str(f["md5"]), int(f["size"]))
                    for f in doc.get("files") or []
                ),
                methods={
                    str(name): MethodSpec(
                        Signature.from_dict((spec or {}).get("input")),
                        Signature.from_dict((spec or {}).get("output")),
                    )
                    for name, spec in methods.items()
                },
                requirements=tuple(
                    Requirement(str(r["name"]), str(r["version"]))
                    for r in doc.get("requirements") or []
                ),
                local_modules=tuple(str(m) for m in doc.get("local_modules") or []),
                python=str(doc.get("python") or ""),
                description=str(doc.get("description") or ""),
                labels=tuple(str(x) for x in doc.get("labels") or []),
                created=str(doc.get("created") or ""),
                extra=dict(doc.get("extra") or {}),
            )
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ConfigError(
                f"{source}: malformed model metadata ({e}); save the model again"
            ) from e


def meta_path(directory: Path) -> Path:
    return directory / META_FILE


def is_model_dir(directory: Path) -> bool:
    return meta_path(directory).is_file()


def read_meta(directory: str | os.PathLike[str]) -> ModelMeta:
    """The metadata of a saved model directory; NotFound when it is not one."""
    from .. import yamlio

    path = meta_path(Path(directory))
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise NotFound(
            f"{Path(directory)} is not a landmark model directory (no {META_FILE}); "
            "save it with landmark.save_model first"
        ) from e
    doc = yamlio.load(data, str(path))
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping; save the model again")
    return ModelMeta.from_dict(doc, str(path))


def dump_meta(meta: ModelMeta) -> str:
    """The YAML text (block style, stable key order)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    # Block style, with the innermost lists and mappings on one line ({name: age, dtype:
    # int64}, [null, 4]): a signature stays readable at a glance.
    yaml.default_flow_style = None
    yaml.width = 100
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    buf = io.StringIO()
    yaml.dump(meta.to_dict(), buf)
    return buf.getvalue()


def write_meta(directory: Path, meta: ModelMeta) -> Path:
    """Write ``landmark.yaml`` atomically (temp file, then rename)."""
    path = meta_path(directory)
    atomic_write(path, dump_meta(meta).encode())
    return path


def atomic_write(path: Path, data: bytes) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
