"""Artifact names, stages and types: validation and the name <-> tag-name mapping."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInput

NAME_PATTERN = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
DIR_PATTERN = r"[a-zA-Z0-9-_./]+"
# In a name, a monorepo path is separated by ':' (``dir/sub:model``); refs can't hold ':', so
# tags write it as '='.
SEP_IN_NAME = ":"
SEP_IN_TAG = "="

_NAME_RE = re.compile(rf"^{NAME_PATTERN}$")
_FULLNAME_RE = re.compile(rf"^(?:{DIR_PATTERN}{SEP_IN_NAME})?{NAME_PATTERN}$")

_NAME_RULE = "use letters, digits, '-', '_' and '/', starting and ending with a letter or digit"


def is_valid_name(value: str) -> bool:
    """A plain name: stages, types, labels, and the last part of an artifact name."""
    return bool(_NAME_RE.match(value))


def is_valid_artifact(value: str) -> bool:
    """An artifact name, optionally prefixed by its folder: ``dir/sub:model``."""
    return bool(_FULLNAME_RE.match(value))


def check_artifact(value: str) -> str:
    if not is_valid_artifact(value):
        raise InvalidInput(f"invalid artifact name {value!r}: {_NAME_RULE} (e.g. 'churn')")
    return value


def check_name(value: str, what: str) -> str:
    if not is_valid_name(value):
        raise InvalidInput(f"invalid {what} {value!r}: {_NAME_RULE}")
    return value


def check_stage(value: str) -> str:
    return check_name(value, "stage")


def to_tag(name: str) -> str:
    return name.replace(SEP_IN_NAME, SEP_IN_TAG)


def from_tag(name: str) -> str:
    return name.replace(SEP_IN_TAG, SEP_IN_NAME)


def split(name: str) -> tuple[str, str]:
    """``dir/sub:model`` -> (``dir/sub``, ``model``); ``model`` -> (``""``, ``model``)."""
    folder, _, last = name.rpartition(SEP_IN_NAME)
    return folder, last


def join(folder: str, last: str) -> str:
    folder = folder.strip("/")
    return f"{folder}{SEP_IN_NAME}{last}" if folder and folder != "." else last


@dataclass(frozen=True)
class Shortcut:
    """``name``, ``name@v1.2.3``, ``name@latest``/``@greatest`` or ``name#stage``."""

    name: str
    version: str | None = None
    stage: str | None = None
    latest: bool = False

    @property
    def is_shortcut(self) -> bool:
        return bool(self.version or self.stage or self.latest)


def parse_shortcut(text: str) -> Shortcut:
    from .versions import Version

    for sep in ("#", "@"):
        if sep in text:
            name, _, rest = text.partition(sep)
            check_artifact(name)
            if sep == "#":
                return Shortcut(name, stage=check_stage(rest))
            if rest in ("latest", "greatest"):
                return Shortcut(name, latest=True)
            return Shortcut(name, version=str(Version.from_user(rest)))
    return Shortcut(check_artifact(text))
