"""The YAML gateway: reading, round-trip editing and writing (ruamel.yaml, imported only when
a file is read or written). No other module imports ruamel."""

from __future__ import annotations

import io
import re
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


# The plain subset that load_simple reads itself: "key: scalar" lines and nested mappings,
# nothing else (no lists, quotes, flow style, anchors, tags, comments after a value...).
_LINE = re.compile(r"^( *)([A-Za-z_][A-Za-z0-9_.\-/]*):(?: +(\S(?:.*\S)?))?$")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_/][A-Za-z0-9_.\-/]*(?: [A-Za-z0-9_.\-/]+)*")
_SPECIAL = {
    "true": True, "True": True, "TRUE": True,
    "false": False, "False": False, "FALSE": False,
    "null": None, "Null": None, "NULL": None, "~": None,
}  # fmt: skip


class _NotSimple(Exception):
    pass


def _scalar(text: str) -> Any:
    if text in _SPECIAL:
        return _SPECIAL[text]
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _WORD.fullmatch(text):
        return text
    raise _NotSimple


def _simple(text: str) -> Any:
    """Parse the plain subset exactly as the YAML 1.2 loader would; _NotSimple otherwise."""
    if not text.isascii() or "\t" in text or "\r" in text:
        raise _NotSimple  # tabs, other line breaks, a BOM: the loader's rules
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = []  # (indent, mapping) of the open mappings
    opened: tuple[int, dict[str, Any]] | None = None  # a "key:" waiting for its first child
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _LINE.match(line.rstrip(" "))
        if m is None or "#" in line:
            raise _NotSimple
        indent, key, value = len(m.group(1)), m.group(2), m.group(3)
        if key in _SPECIAL:
            raise _NotSimple
        if not stack:
            stack.append((indent, root))
        elif opened is not None:
            if indent <= opened[0]:
                raise _NotSimple  # "key:" then no child: the loader's null, left to it
            stack.append((indent, opened[1]))
            opened = None
        else:
            while len(stack) > 1 and indent < stack[-1][0]:
                stack.pop()
            if indent != stack[-1][0]:
                raise _NotSimple
        mapping = stack[-1][1]
        if key in mapping:
            raise _NotSimple  # duplicate keys: the loader's own error
        if value is None:
            child: dict[str, Any] = {}
            mapping[key] = child
            opened = (indent, child)
        else:
            mapping[key] = _scalar(value)
    if opened is not None:
        raise _NotSimple
    return root if stack else None


def load_simple(data: bytes | str, source: str) -> Any:
    """:func:`load`, with a fast path for the plain files params and metrics usually are
    (``key: value`` lines, nested mappings): the same values the loader gives, in a fraction
    of its time; anything beyond that subset goes to the loader."""
    try:
        return _simple(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (_NotSimple, UnicodeDecodeError):
        return load(data, source)


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
