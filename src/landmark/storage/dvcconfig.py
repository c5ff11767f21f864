"""Reading dvc's configuration as dvc reads it: four files merged by level, paths per file.

dvc reads ``config`` files at four levels, each overriding the ones before key by key:
``system`` < ``global`` < ``repo`` (``.dvc/config``, committed) < ``local``
(``.dvc/config.local``, git-ignored). A relative path in a file (``[cache] dir``, a local
remote's ``url``, a remote's ``keyfile``...) is relative to the folder of the file that set it.

The files are configobj INI. Reading them is on the path of every command (``landmark
status`` reads the cache settings), so this module parses them by hand, with configobj's own
grammar (its regular expressions, quoting, comma lists, triple-quoted values, ``%(name)s``
interpolation, and its refusals: duplicate keys or sections, lines that are neither);
configobj itself is imported only by the writers in :mod:`landmark.storage.remotes`.
Section names and keys are lower-cased, as dvc does.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, InvalidInput

LEVELS = ("system", "global", "repo", "local")
REPO_LEVELS = ("repo", "local")

# Options holding local paths, resolved against their file's folder (dvc's Config._map_dirs).
CACHE_PATH_OPTIONS = frozenset({"dir"})
REMOTE_PATH_OPTIONS = frozenset(
    {
        "url",
        "credentialpath",
        "configpath",
        "keyfile",
        "cert_path",
        "key_path",
        "gdrive_user_credentials_file",
        "gdrive_service_account_json_file_path",
    }
)
_NAMED = re.compile(r'^\s*(?P<kind>remote|machine|db)\s*"(?P<name>.*)"\s*$')
_URL_SCHEME = re.compile(r"^\w+://")


# -- where the files are --------------------------------------------------------------------------
def _home() -> str:
    # platformdirs (dvc's) takes HOME only when absolute, else the account's home directory
    home = os.environ.get("HOME", "")
    if posixpath.isabs(home):
        return home
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):
        return os.path.expanduser("~")


def _xdg(var: str) -> list[str]:
    # XDG variables count only with absolute paths, as the spec (and platformdirs) says
    return [p for p in os.environ.get(var, "").split(os.pathsep) if posixpath.isabs(p)]


def config_dir(level: str) -> Path:
    """The folder of the global or system config file, where dvc looks for it:
    ``DVC_GLOBAL_CONFIG_DIR`` / ``DVC_SYSTEM_CONFIG_DIR``, else platformdirs' user and site
    config folders for ``dvc`` (on Linux ``$XDG_CONFIG_HOME/dvc`` or ``~/.config/dvc``, and the
    first of ``$XDG_CONFIG_DIRS`` or ``/etc/xdg``, then ``/dvc``)."""
    if level == "global":
        if override := os.environ.get("DVC_GLOBAL_CONFIG_DIR"):
            return Path(override)
        if sys.platform == "win32":
            base = os.environ.get("LOCALAPPDATA") or os.path.join(_home(), "AppData", "Local")
            return Path(base) / "iterative" / "dvc"
        if xdg := _xdg("XDG_CONFIG_HOME"):
            return Path(xdg[0]) / "dvc"
        if sys.platform == "darwin":
            return Path(_home()) / "Library" / "Application Support" / "dvc"
        return Path(_home()) / ".config" / "dvc"
    if level == "system":
        if override := os.environ.get("DVC_SYSTEM_CONFIG_DIR"):
            return Path(override)
        if sys.platform == "win32":
            return Path(os.environ.get("PROGRAMDATA") or r"C:\ProgramData") / "iterative" / "dvc"
        if xdg := _xdg("XDG_CONFIG_DIRS"):
            return Path(xdg[0]) / "dvc"
        if sys.platform == "darwin":
            return Path("/Library/Application Support/dvc")
        return Path("/etc/xdg/dvc")
    raise InvalidInput(f"no config folder for level {level!r}: use global or system")


def config_file(repo_root: Path, level: str) -> Path:
    """The config file of one level, as dvc finds it."""
    if level == "repo":
        return Path(repo_root) / ".dvc" / "config"
    if level == "local":
        return Path(repo_root) / ".dvc" / "config.local"
    if level in ("global", "system"):
        return config_dir(level) / "config"
    raise InvalidInput(f"unknown config level {level!r}: use one of {', '.join(LEVELS)}")


def resolve_path(value: str, conf_dir: Path) -> str:
    """A path from a config file made usable: relative ones are relative to the file's folder,
    ``~`` is expanded, ``file://`` dropped; other URLs and empty values stay as they are."""
    if not value:
        return value
    if _URL_SCHEME.match(value):
        if value.lower().startswith("file://"):
            return value[len("file://") :]
        return value
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return expanded
    return os.path.normpath(os.path.join(conf_dir, expanded))


def path_options(section: str) -> frozenset[str]:
    """The options of a section (by its lower-cased name) that hold paths."""
    if section == "cache":
        return CACHE_PATH_OPTIONS
    m = _NAMED.match(section)
    if m and m.group("kind") == "remote":
        return REMOTE_PATH_OPTIONS
    return frozenset()


# -- the files, read ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfigFile:
    """One level's file: its sections (names and keys lower-cased, values as text: a comma
    list is joined with ``", "``); empty when the file does not exist."""

    level: str
    path: Path
    sections: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, str]:
        """One section's options, paths resolved against this file's folder."""
        values = self.sections.get(name)
        if not values:
            return {}
        paths = path_options(name)
        if not paths:
            return dict(values)
        conf_dir = self.path.parent.absolute()
        return {k: resolve_path(v, conf_dir) if k in paths else v for k, v in values.items()}

    def get(self, section: str, key: str) -> str | None:
        return self.section(section).get(key)

    def named(self, kind: str) -> dict[str, str]:
        """``{name: section}`` of the sections named ``kind "name"`` (``remote "store"``)."""
        out: dict[str, str] = {}
        for section in self.sections:
            m = _NAMED.match(section)
            if m and m.group("kind") == kind:
                out[m.group("name")] = section
        return out


@dataclass(frozen=True)
class DvcConfig:
    """The files of several levels, lowest precedence first, and their merged view."""

    files: tuple[ConfigFile, ...]

    def section(self, name: str) -> dict[str, str]:
        """A section merged key by key across the levels; each path resolved in its file."""
        merged: dict[str, str] = {}
        for f in self.files:
            merged.update(f.section(name))
        return merged

    def named(self, kind: str) -> dict[str, dict[str, str]]:
        """Every ``kind "name"`` section merged across the levels, in the order the names
        first appear: ``{name: options}``."""
        merged: dict[str, dict[str, str]] = {}
        for f in self.files:
            for name, section in f.named(kind).items():
                merged.setdefault(name, {}).update(f.section(section))
        return merged

    def get(self, section: str, key: str) -> str | None:
        return self.section(section).get(key)


def read_file(path: Path, level: str = "") -> ConfigFile:
    """One config file, parsed (an empty one when it does not exist)."""
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return ConfigFile(level, Path(path))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a valid config file (not UTF-8: {e}); fix it") from None
    return ConfigFile(level, Path(path), parse(text, str(path)))


def read(repo_root: Path, levels: Iterable[str] = LEVELS) -> DvcConfig:
    """The config files of ``levels`` (all four by default) for the repo at ``repo_root``."""
    return DvcConfig(tuple(read_file(config_file(repo_root, level), level) for level in levels))


# -- the parser: configobj's grammar ----------------------------------------------------------------
# The regular expressions are configobj's (5.0), so a file reads here as dvc reads it.
_KEYWORD = re.compile(
    r"""^ # line start
    (\s*)                   # indentation
    (                       # keyword
        (?:".*?")|          # double quotes
        (?:'.*?')|          # single quotes
        (?:[^'"=].*?)       # no quotes
    )
    \s*=\s*                 # divider
    (.*)                    # value (including list values and comments)
    $   # line end
    """,
    re.VERBOSE,
)
_SECTION_MARKER = re.compile(
    r"""^
    (\s*)                     # 1: indentation
    ((?:\[\s*)+)              # 2: section marker open
    (                         # 3: section name open
        (?:"\s*\S.*?\s*")|    # at least one non-space with double quotes
        (?:'\s*\S.*?\s*')|    # at least one non-space with single quotes
        (?:[^'"\s].*?)        # at least one non-space unquoted
    )                         # section name close
    ((?:\s*\])+)              # 4: section marker close
    \s*(\#.*)?                # 5: optional comment
    $""",
    re.VERBOSE,
)
_VALUE = re.compile(
    r"""^
    (?:
        (?:
            (
                (?:
                    (?:
                        (?:".*?")|              # double quotes
                        (?:'.*?')|              # single quotes
                        (?:[^'",\#][^,\#]*?)    # unquoted
                    )
                    \s*,\s*                     # comma
                )*      # match all list items ending in a comma (if any)
            )
            (
                (?:".*?")|                      # double quotes
                (?:'.*?')|                      # single quotes
                (?:[^'",\#\s][^,]*?)|           # unquoted
                (?:(?<!,))                      # Empty value
            )?          # last item in a list - or string value
        )|
        (,)             # alternatively a single comma - empty list
    )
    \s*(\#.*)?          # optional comment
    $""",
    re.VERBOSE,
)
_LIST_ITEM = re.compile(
    r"""
    (
        (?:".*?")|          # double quotes
        (?:'.*?')|          # single quotes
        (?:[^'",\#]?.*?)       # unquoted
    )
    \s*,\s*                 # comma
    """,
    re.VERBOSE,
)
_TRIPLE = {
    "'''": (re.compile(r"^'''(.*?)'''\s*(#.*)?$"), re.compile(r"^(.*?)'''\s*(#.*)?$")),
    '"""': (re.compile(r'^"""(.*?)"""\s*(#.*)?$'), re.compile(r'^(.*?)"""\s*(#.*)?$')),
}
_INTERPOLATION = re.compile(r"%\(([^)]*)\)s")

Value = str | list[str]


class _Syntax(Exception):
    pass


class _Section:
    """A section as configobj nests them: its values, its subsections, its parent."""

    __slots__ = ("depth", "name", "parent", "subs", "values")

    def __init__(self, name: str, depth: int, parent: _Section | None) -> None:
        self.name = name
        self.depth = depth
        self.parent: _Section = parent or self  # the top level is its own parent
        self.values: dict[str, Value] = {}
        self.subs: dict[str, _Section] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.values or key in self.subs


def _unquote(value: str) -> str:
    if not value:
        raise _Syntax("empty list item")
    if value[0] == value[-1] and value[0] in ('"', "'"):
        return value[1:-1]
    return value


def _value(text: str) -> Value:
    m = _VALUE.match(text)
    if m is None:
        raise _Syntax("badly quoted value or list")
    items, single, empty_list, _comment = m.groups()
    if items == "" and single is None:
        raise _Syntax("no value")
    if empty_list is not None:
        return []
    if single is not None:
        # an empty match after a list's trailing comma is no item
        single = None if items and not single else _unquote(single or '""')
    if items == "":
        assert single is not None
        return single
    out = [_unquote(v) for v in _LIST_ITEM.findall(items)]
    if single is not None:
        out.append(single)
    return out


def _multiline(text: str, lines: list[str], i: int) -> tuple[str, int]:
    """A triple-quoted value starting in ``text``; the value and the index of the next line."""
    quote = text[:3]
    one_line, last_line = _TRIPLE[quote]
    m = one_line.match(text)
    if m is not None:
        return m.group(1), i
    value = text[3:]
    if quote in value:
        raise _Syntax("misplaced triple quote")
    while i < len(lines):
        line = lines[i]
        i += 1
        value += "\n"
        if quote not in line:
            value += line
            continue
        m = last_line.match(line)
        if m is None:
            raise _Syntax("text after the closing triple quote")
        return value + m.group(1), i
    raise _Syntax("unterminated triple-quoted value")


def _parent_at(section: _Section, depth: int) -> _Section:
    while depth < section.depth:
        if section is section.parent:
            raise _Syntax("cannot compute the nesting level")
        section = section.parent
    if section.depth != depth:
        raise _Syntax("cannot compute the nesting level")
    return section.parent


def _tree(text: str, source: str) -> _Section:
    top = _Section("", 0, None)
    current = top
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            m = _SECTION_MARKER.match(line)
            if m is not None:
                _, opening, name, closing, _ = m.groups()
                depth = opening.count("[")
                if depth != closing.count("]"):
                    raise _Syntax("cannot compute the section depth")
                if depth < current.depth:
                    parent = _parent_at(current, depth)
                elif depth == current.depth:
                    parent = current.parent
                elif depth == current.depth + 1:
                    parent = current
                else:
                    raise _Syntax("section too nested")
                name = _unquote(name)
                if name in parent:
                    raise _Syntax(f"duplicate section {name!r}")
                current = parent.subs[name] = _Section(name, depth, parent)
                continue
            m = _KEYWORD.match(line)
            if m is None:
                raise _Syntax(f"invalid line {line!r} (neither a section nor key = value)")
            _, key, raw = m.groups()
            value: Value
            if raw[:3] in ('"""', "'''"):
                value, i = _multiline(raw, lines, i)
            else:
                value = _value(raw)
            key = _unquote(key)
            if key in current:
                raise _Syntax(f"duplicate key {key!r}")
            current.values[key] = value
        except _Syntax as e:
            raise ConfigError(
                f"{source}: not a valid config file ({e} at line {i}); fix it"
            ) from None
    return top


def _interpolate(section: _Section, key: str, value: str, source: str) -> str:
    """configobj's default ``%(name)s`` interpolation: names are looked up in the value's
    section, its ``DEFAULT`` subsection, then the enclosing sections'."""
    if "%" not in value:
        return value

    def fetch(name: str) -> tuple[Value, _Section]:
        where = section
        while True:
            found = where.values.get(name)
            if found is None and "DEFAULT" in where.subs:
                found = where.subs["DEFAULT"].values.get(name)
            if found is not None or where.parent is where:
                break
            where = where.parent
        if found is None:
            raise ConfigError(f"{source}: {key} refers to %({name})s, which is not set; fix it")
        return found, where

    def expand(key: str, text: str, where: _Section, trail: set[tuple[str, str]]) -> str:
        if (key, where.name) in trail:
            raise ConfigError(f"{source}: {key} refers to itself through %(...)s; fix it")
        trail.add((key, where.name))
        m = _INTERPOLATION.search(text)
        while m:
            found, owner = fetch(m.group(1))
            if not isinstance(found, str):
                raise ConfigError(f"{source}: %({m.group(1)})s in {key} names a list; fix it")
            replacement = expand(m.group(1), found, owner, trail)
            text = text[: m.start()] + replacement + text[m.end() :]
            m = _INTERPOLATION.search(text, m.start() + len(replacement))
        trail.discard((key, where.name))
        return text

    return expand(key, value, section, set())


def parse(text: str, source: str = "<config>") -> dict[str, dict[str, str]]:
    """The top-level sections of a dvc config file: ``{section: {key: value}}``, names and
    keys lower-cased, values interpolated, lists joined with ``", "``. ConfigError, naming
    ``source`` and the line, for what configobj would refuse. Subsections are left out (dvc's
    schema has none)."""
    out: dict[str, dict[str, str]] = {}
    for name, section in _tree(text, source).subs.items():
        values: dict[str, str] = {}
        for key, value in section.values.items():
            if isinstance(value, list):
                text_value = ", ".join(_interpolate(section, key, v, source) for v in value)
            else:
                text_value = _interpolate(section, key, value, source)
            values[key.lower()] = text_value
        out[name.lower()] = values
    return out


__all__ = [
    "LEVELS",
    "REMOTE_PATH_OPTIONS",
    "REPO_LEVELS",
    "ConfigFile",
    "DvcConfig",
    "config_dir",
    "config_file",
    "parse",
    "path_options",
    "read",
    "read_file",
    "resolve_path",
]
