"""The YAML gateway: reading, round-trip editing and writing (ruamel.yaml, imported only when
a file is read or written). No other module imports ruamel."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .atomic import write_atomic
from .errors import ConfigError


def load(data: bytes | str, source: str) -> Any:
    """Parse YAML safely; a ConfigError naming the file and line when it is broken."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(data)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError(f"{source}{where}: {problem}; fix the file and try again") from e


def load_roundtrip(path: Path) -> Any:
    """Parse for editing, keeping comments and key order."""
    if not path.exists():
        return None
    try:
        return _rt().load(path.read_text())
    except Exception as e:  # ruamel raises several unrelated error classes
        raise ConfigError(f"{path}: invalid YAML ({_one_line(e)}); fix the file") from e


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:200]


def _rt() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def mapping(pairs: Any = ()) -> Any:
    """An ordered mapping that round-trip dumping writes in its order (keeps comments)."""
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap(pairs)


def dump_text(data: Any, *, flow: bool | None = False, width: int | None = None) -> str:
    """Plain data as YAML text, keys in their order: block style (``flow=False``), or with
    the innermost lists and mappings on one line (``flow=None``)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    if width is not None:
        yaml.width = width
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _dvc() -> Any:
    # dvc's own emitter settings, so a file reads byte for byte as dvc writes it.
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    return yaml


def load_dvc_text(text: str, what: str) -> Any:
    """Parse a dvc file's text for editing (comments and order kept)."""
    try:
        return _dvc().load(text)
    except Exception as e:  # ruamel raises several unrelated error classes
        raise ConfigError(f"invalid {what} ({_one_line(e)})") from e


def dump_dvc_text(data: Any) -> str:
    """Round-trip data as dvc writes it."""
    buf = io.StringIO()
    _dvc().dump(data, buf)
    return buf.getvalue()


def dump_roundtrip(data: Any, path: Path) -> None:
    """Write atomically: a temp file in the same folder, then rename."""
    buf = io.StringIO()
    _rt().dump(data, buf)
    write_atomic(path, buf.getvalue().encode("utf-8"))
