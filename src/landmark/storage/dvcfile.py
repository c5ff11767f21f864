"""``.dvc`` pointer files and ``dvc.lock`` outputs: reading, and writing as dvc 3 does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import yamlio
from ..atomic import write_atomic
from ..errors import ConfigError
from .pathguard import check_hash

HASH_NAME = "md5"  # dvc 3; files without ``hash: md5`` were written by dvc 2 (md5-dos2unix)


@dataclass(frozen=True)
class Output:
    """One tracked output: ``path`` is relative to the folder of the file that lists it."""

    path: str
    md5: str
    size: int
    nfiles: int | None = None
    isexec: bool = False
    hash_name: str = HASH_NAME

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


def _load(text: str, source: str) -> Any:
    return yamlio.load(text, source)


def _outputs(rows: Any, source: str) -> list[Output]:
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ConfigError(f"{source}: 'outs' must be a list; fix the file")
    outs = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("path"), str):
            raise ConfigError(f"{source}: every output needs a 'path'; fix the file")
        md5 = row.get("md5")
        if md5 is None:
            continue  # not computed yet (a stage that never ran) or cache: false
        if isinstance(md5, int) and not isinstance(md5, bool):
            md5 = str(md5)  # an unquoted all-digit md5, which YAML reads as a number
        size, nfiles = _count(row, "size", source), _count(row, "nfiles", source)
        outs.append(
            Output(
                path=row["path"],
                md5=check_hash(md5, source),  # cache and remote paths are made from it
                size=size or 0,
                nfiles=nfiles,
                isexec=row.get("isexec") is True,
                hash_name=str(row.get("hash") or "md5-dos2unix"),
            )
        )
    return outs


def _count(row: dict[Any, Any], key: str, source: str) -> int | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{source}: {key} {value!r} is not a count; fix the file")
    return value


# The plain layout dvc writes for ``dvc add``: read and written without a YAML library (whose
# import costs more than the rest of ``landmark status``). Anything else goes through ruamel.
_KEYS = ("md5", "size", "nfiles", "isexec", "hash", "path")
_HEX = frozenset("0123456789abcdef")
_PLAIN_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*\Z")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf"})


def _plain_path(path: str) -> bool:
    """Whether YAML reads ``path`` unquoted as this very string, and ruamel writes it so on
    the key's line (longer ones it moves to the next line, to stay within 80 columns)."""
    return len(path) <= 60 and bool(_PLAIN_PATH.match(path)) and path.lower() not in _YAML_WORDS


def _is_md5(value: str) -> bool:
    core = value[:-4] if value.endswith(".dir") else value
    return len(core) == 32 and _HEX.issuperset(core)


def _fast_parse(text: str) -> list[Output] | None:
    """The outputs of a ``.dvc`` file in dvc's plain layout; None for anything else."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "outs:":
        return None
    rows: list[dict[str, str]] = []
    for line in lines[1:]:
        if line.startswith("- "):
            rows.append({})
        elif not line.startswith("  ") or not rows:
            return None
        key, sep, value = line[2:].partition(": ")
        if not sep or key not in _KEYS or key in rows[-1]:
            return None
        rows[-1][key] = value
    outs = []
    for row in rows:
        md5, size, path = row.get("md5", ""), row.get("size", ""), row.get("path", "")
        nfiles, isexec = row.get("nfiles"), row.get("isexec", "false")
        if not (
            _is_md5(md5)
            and size.isdigit()
            and (nfiles is None or nfiles.isdigit())
            and isexec in ("true", "false")
            and row.get("hash") == HASH_NAME
            and _plain_path(path)
        ):
            return None
        outs.append(
            Output(
                path, md5, int(size), int(nfiles) if nfiles is not None else None, isexec == "true"
            )
        )
    return outs


_NUMBER_LIKE = re.compile(r"[0-9]+([eE][0-9]+)?\Z")  # YAML would read such an md5 as a number


def _fast_render(outs: list[Output]) -> str | None:
    """dvc's text for ``outs`` when no value needs quoting; None otherwise."""
    if not all(_plain_path(o.path) and not _NUMBER_LIKE.match(o.md5) for o in outs):
        return None
    parts = ["outs:\n"]
    for out in outs:
        for i, (key, value) in enumerate(_fields(out)):
            shown = "true" if value is True else str(value)
            parts.append(f"{'- ' if i == 0 else '  '}{key}: {shown}\n")
    return "".join(parts)


def parse_dvcfile(text: str, source: str) -> list[Output]:
    """The outputs of a ``.dvc`` file's text (``source`` names it in errors)."""
    fast = _fast_parse(text)
    if fast is not None:
        return fast
    data = _load(text, source)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: not a .dvc file (expected a mapping with 'outs')")
    return _outputs(data.get("outs"), source)


def read_dvcfile(path: Path) -> list[Output]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such .dvc file") from None
    return parse_dvcfile(text, str(path))


def parse_lock(text: str, source: str) -> list[Output]:
    """The cached outputs of every stage of a ``dvc.lock`` (paths relative to its folder)."""
    data = _load(text, source)
    if data is None:
        return []
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        raise ConfigError(f"{source}: expected a 'stages' mapping (dvc.lock schema 2.0)")
    outs: list[Output] = []
    for name, stage in stages.items():
        if isinstance(stage, dict):
            outs.extend(_outputs(stage.get("outs"), f"{source} stage {name}"))
    return outs


def _fields(out: Output) -> list[tuple[str, Any]]:
    """An output's keys in dvc 3's order."""
    fields: list[tuple[str, Any]] = [("md5", out.md5), ("size", out.size)]
    if out.nfiles is not None:
        fields.append(("nfiles", out.nfiles))
    if out.isexec:
        fields.append(("isexec", True))
    fields += [("hash", out.hash_name), ("path", out.path)]
    return fields


_OWN_KEYS = frozenset({"md5", "size", "nfiles", "isexec", "hash", "path", "etag", "checksum"})


def render_dvcfile(outs: list[Output], existing: str | None = None) -> str:
    """The text of a ``.dvc`` file listing ``outs``; with ``existing``, its other keys,
    comments and other outputs are kept and the outputs with the same paths are updated."""
    known = [] if existing is None or not existing.strip() else _fast_parse(existing)
    if known is not None and (not known or _fast_render(known) == existing):
        by_path = {o.path: o for o in outs}
        merged = [by_path.pop(o.path, o) for o in known] + [o for o in outs if o.path in by_path]
        fast = _fast_render(merged)
        if fast is not None:
            return fast
    data: Any = None
    if existing is not None and existing.strip():
        data = yamlio.load_dvc_text(existing, ".dvc file")
    if not isinstance(data, dict):
        data = yamlio.mapping()
    rows = data.get("outs")
    if not isinstance(rows, list):
        rows = []
    by_path = {o.path: o for o in outs}
    new_rows: list[Any] = []
    for row in rows:
        path = row.get("path") if isinstance(row, dict) else None
        if path in by_path:
            new_rows.append(_merge(by_path.pop(path), row))
        else:
            new_rows.append(row)
    new_rows += [yamlio.mapping(_fields(o)) for o in outs if o.path in by_path]
    data["outs"] = new_rows
    return yamlio.dump_dvc_text(data)


def _merge(out: Output, row: Any) -> Any:
    merged = yamlio.mapping(_fields(out))
    for key, value in row.items():
        if key not in _OWN_KEYS:
            merged[key] = value  # desc, type, labels, meta, remote, push...
    return merged


def write_dvcfile(path: Path, outs: list[Output]) -> bool:
    """Write (or update) a ``.dvc`` file atomically; False when it already said exactly this."""
    path = Path(path)
    try:
        existing: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = None
    text = render_dvcfile(outs, existing)
    if text == existing:
        return False
    write_atomic(path, text.encode(), mode=0o644)
    return True


__all__ = [
    "Output",
    "parse_dvcfile",
    "parse_lock",
    "read_dvcfile",
    "render_dvcfile",
    "write_dvcfile",
]
