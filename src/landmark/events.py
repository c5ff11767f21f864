"""Registry events and their Git tag grammar (GTO's), in both simple and counted forms."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from . import names
from .records import to_datetime
from .versions import SEMVER_PATTERN


class Kind(enum.Enum):
    """Event kinds; ``priority`` orders events that share a timestamp (GTO's order)."""

    DEPRECATION = ("deprecation", 2)
    REGISTRATION = ("registration", 3)
    DEREGISTRATION = ("deregistration", 4)
    ASSIGNMENT = ("assignment", 5)
    UNASSIGNMENT = ("unassignment", 6)

    def __init__(self, label: str, priority: int) -> None:
        self.label = label
        self.priority = priority

    @property
    def is_addition(self) -> bool:
        return self in (Kind.REGISTRATION, Kind.ASSIGNMENT)


_TAG_RE = re.compile(
    rf"^(?P<artifact>(?:{names.DIR_PATTERN}{names.SEP_IN_TAG})?{names.NAME_PATTERN})"
    rf"(?:(?:#(?P<stage>{names.NAME_PATTERN})|@(?P<version>v{SEMVER_PATTERN}))(?P<cancel>!?)"
    r"|@(?P<deprecated>deprecated))"
    r"(?:#(?P<counter>[0-9]+))?$"
)
# Anything shaped like a registry tag (for doctor): name then '@' or '#'.
_LOOKS_LIKE_RE = re.compile(rf"^(?:{names.DIR_PATTERN}{names.SEP_IN_TAG})?{names.NAME_PATTERN}[@#]")


@dataclass(frozen=True)
class TagName:
    """The information a registry tag's name carries."""

    kind: Kind
    artifact: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None

    def format(self) -> str:
        base = names.to_tag(self.artifact)
        if self.kind is Kind.DEPRECATION:
            s = f"{base}@deprecated"
        elif self.kind in (Kind.REGISTRATION, Kind.DEREGISTRATION):
            s = f"{base}@{self.version}"
        else:
            s = f"{base}#{self.stage}"
        if self.kind in (Kind.DEREGISTRATION, Kind.UNASSIGNMENT):
            s += "!"
        if self.counter is not None:
            s += f"#{self.counter}"
        return s


def parse(tag: str) -> TagName | None:
    """Parse a tag name; None when it is not a registry tag."""
    m = _TAG_RE.match(tag)
    if not m:
        return None
    cancel = m["cancel"] == "!"
    counter = int(m["counter"]) if m["counter"] is not None else None
    artifact = names.from_tag(m["artifact"])
    if m["deprecated"]:
        return TagName(Kind.DEPRECATION, artifact, counter=counter)
    if m["version"]:
        kind = Kind.DEREGISTRATION if cancel else Kind.REGISTRATION
        return TagName(kind, artifact, version=m["version"], counter=counter)
    kind = Kind.UNASSIGNMENT if cancel else Kind.ASSIGNMENT
    return TagName(kind, artifact, stage=m["stage"], counter=counter)


def looks_like_registry_tag(tag: str) -> bool:
    return bool(_LOOKS_LIKE_RE.match(tag))


@dataclass(frozen=True)
class Event:
    """One annotated registry tag, read from Git."""

    name: TagName
    tag: str
    commit: str
    stamp: int  # seconds since the epoch, the tag's date
    offset: str  # the tagger's UTC offset, "+0100"
    author: str
    author_email: str
    message: str

    @property
    def kind(self) -> Kind:
        return self.name.kind

    @property
    def artifact(self) -> str:
        return self.name.artifact

    @property
    def time(self) -> datetime:
        return to_datetime(self.stamp, self.offset)

    @property
    def order(self) -> tuple[int, int, int]:
        """Sort key: time (one-second resolution), then GTO's kind priority, then the
        ``#N`` counter, which records creation order within a second."""
        return (self.stamp, self.name.kind.priority, self.name.counter or 0)


def default_message(
    kind: Kind, artifact: str, version: str | None = None, stage: str | None = None
) -> str:
    """GTO's default tag messages, word for word, so both tools write the same history."""
    if kind is Kind.REGISTRATION:
        return f"Registering artifact {artifact} version {version}"
    if kind is Kind.DEREGISTRATION:
        return f"Deregistering artifact {artifact} version {version}"
    if kind is Kind.ASSIGNMENT:
        return f"Assigning stage {stage} to artifact {artifact} version {version}"
    if kind is Kind.UNASSIGNMENT:
        return f"Unassigning stage '{stage}' to artifact '{artifact}' version '{version}'"
    return f"Deprecating artifact '{artifact}'"


_MESSAGE_VERSION_RE = re.compile(rf"\b(v{SEMVER_PATTERN})(?=['\s]|$)")
_TRAILER_RE = re.compile(rf"^Version: (v{SEMVER_PATTERN})\s*$", re.M)


def versions_in_message(message: str) -> list[str]:
    """Versions a tag message names, most explicit first: a ``Version: v1.2.0`` trailer
    (landmark adds one when a custom message leaves it ambiguous), then any ``v1.2.0``."""
    found = [m.group(1) for m in _TRAILER_RE.finditer(message)]
    found += [m.group(1) for m in _MESSAGE_VERSION_RE.finditer(message)]
    return list(dict.fromkeys(found))


def version_in_message(message: str) -> str | None:
    """The first version a message names (``... version v1.2.0``)."""
    found = versions_in_message(message)
    return found[0] if found else None


def with_version_trailer(message: str, version: str) -> str:
    """Make sure ``message`` resolves to ``version`` when its commit carries several."""
    if version_in_message(message) == version:
        return message
    return f"{message.rstrip()}\n\nVersion: {version}"
