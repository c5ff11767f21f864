"""The model directory's metadata file, ``landmark.yaml``: values and their read/write."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidInput, NotFound
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
        """The metadata in ``doc``, checked: a ConfigError naming the first wrong value (or
        an InvalidInput from the path guard for a file outside the model directory)."""
        try:
            version = doc.get("landmark_model")
            if type(version) is not int or version != FORMAT_VERSION:
                raise ConfigError(
                    f"{source}: unsupported landmark_model {_shown(version)}; "
                    "upgrade landmark to read this model"
                )
            fw = _mapping(doc.get("framework"), "framework")
            methods = _mapping(doc.get("methods"), "methods")
            fw_version = fw.get("version")
            return cls(
                adapter=_text(doc.get("adapter"), "adapter", required=True),
                framework=Framework(
                    _text(fw.get("name"), "framework.name"),
                    None if fw_version is None else _text(fw_version, "framework.version"),
                ),
                format=_text(doc.get("format"), "format", required=True),
                safe=_flag(doc.get("safe"), "safe"),
                files=tuple(
                    _file(f, f"files[{i}]", source)
                    for i, f in enumerate(_items(doc.get("files"), "files"))
                ),
                methods={
                    _text(name, "a method name", required=True): MethodSpec(
                        Signature.from_dict(_mapping(spec, f"methods.{name}").get("input")),
                        Signature.from_dict(_mapping(spec, f"methods.{name}").get("output")),
                    )
                    for name, spec in methods.items()
                },
                requirements=tuple(
                    Requirement(
                        _text(_mapping(r, "a requirement").get("name"), "a requirement's name"),
                        _text(_mapping(r, "a requirement").get("version"), "its version"),
                    )
                    for r in _items(doc.get("requirements"), "requirements")
                ),
                local_modules=tuple(
                    _text(m, "local_modules[]")
                    for m in _items(doc.get("local_modules"), "local_modules")
                ),
                python=_text(doc.get("python"), "python"),
                description=_text(doc.get("description"), "description"),
                labels=tuple(_text(x, "labels[]") for x in _items(doc.get("labels"), "labels")),
                created=_text(doc.get("created"), "created"),
                extra=dict(_mapping(doc.get("extra"), "extra")),
            )
        except (ConfigError, InvalidInput):
            raise
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
            raise ConfigError(
                f"{source}: malformed model metadata ({_shown(e, str)}); save the model again"
            ) from e


def _shown(value: object, form: Any = repr) -> str:
    """A value from the file, on one line and short, for an error message."""
    text = " ".join(str(form(value)).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping, not {type(value).__name__}")
    return value


def _items(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list, not {type(value).__name__}")
    return value


def _text(value: object, what: str, *, required: bool = False) -> str:
    """A string field; numbers are taken as written (``python: 3.12`` parses as a float)."""
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"{what} must be a string, not {_shown(value)}")
    if required and not str(value):
        raise ValueError(f"{what} is empty")
    return str(value)


def _flag(value: object, what: str) -> bool:
    # ``bool("no")`` is True: only a YAML boolean is a boolean here.
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be true or false, not {_shown(value)}")
    return value


def _fault(rel: str) -> str | None:
    """Why the file path ``rel`` could name something outside the model directory."""
    if not rel:
        return "is empty"
    if "\0" in rel:
        return "holds a NUL byte"
    if rel[0] in "/\\" or (len(rel) > 1 and rel[1] == ":" and rel[0].isalpha()):
        return "is absolute"
    for part in rel.replace("\\", "/").split("/"):
        if part == "..":
            return "leaves the model directory ('..')"
        if part in ("", "."):
            return "has an empty or '.' part"
    return None


def _file(entry: object, where: str, source: str) -> FileEntry:
    """One file entry; its path must stay inside the model directory."""
    doc = _mapping(entry, where)
    rel = doc.get("path")
    if not isinstance(rel, str):
        raise TypeError(f"{where}.path must be a string, not {_shown(rel)}")
    fault = _fault(rel)
    if fault is not None:
        raise InvalidInput(
            f"{source}: {where}.path {_shown(rel)} {fault}; refusing to read it "
            "(fix the file or save the model again)"
        )
    md5, size = doc.get("md5"), doc.get("size")
    if not isinstance(md5, str):
        raise TypeError(f"{where}.md5 must be a string, not {_shown(md5)}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise TypeError(f"{where}.size must be a byte count, not {_shown(size)}")
    return FileEntry(rel, md5, size)


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
    except OSError as e:  # a folder named landmark.yaml, no permission...
        raise ConfigError(f"{path}: cannot be read ({_shown(e.strerror or e, str)})") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {e.start}); not a landmark.yaml, save the model again"
        ) from e
    try:
        doc = yamlio.load(text, str(path))
    except ConfigError as e:
        if "\n" not in e.message:
            raise
        raise ConfigError(" ".join(e.message.split())) from e
    except Exception as e:  # ruamel's constructors raise a few kinds besides YAMLError
        raise ConfigError(
            f"{path}: invalid YAML ({type(e).__name__}: {_shown(e, str)}); save the model again"
        ) from e
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping; save the model again")
    return ModelMeta.from_dict(doc, str(path))


def dump_meta(meta: ModelMeta) -> str:
    """The YAML text (block style, stable key order)."""
    from .. import yamlio

    # Block style, with the innermost lists and mappings on one line ({name: age, dtype:
    # int64}, [null, 4]): a signature stays readable at a glance.
    return yamlio.dump_text(meta.to_dict(), flow=None, width=100)


def write_meta(directory: Path, meta: ModelMeta) -> Path:
    """Write ``landmark.yaml`` atomically (temp file, then rename)."""
    from ..atomic import write_atomic

    path = meta_path(directory)
    write_atomic(path, dump_meta(meta).encode())
    return path
