"""What an action sees of a registry event, and the ``--on`` filters that choose events.

A pushed tag's name and message are written by whoever could push: they reach a command only
through its environment and a webhook only as JSON, never through a shell command line.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from .. import gto_json, names
from ..errors import InvalidInput
from ..events import Event, Kind
from ..state import RegistryState

# --on takes the verbs of the commands that write the tags, or GTO's event labels.
VERBS = {
    "register": Kind.REGISTRATION,
    "deregister": Kind.DEREGISTRATION,
    "assign": Kind.ASSIGNMENT,
    "unassign": Kind.UNASSIGNMENT,
    "deprecate": Kind.DEPRECATION,
}
VERBS |= {k.label: k for k in Kind}


@dataclass(frozen=True)
class ActionEvent:
    """One registry event as commands (``LANDMARK_*`` variables) and webhooks (JSON) get it."""

    event: str  # GTO's label: registration, deregistration, assignment, unassignment, deprecation
    name: str
    version: str | None
    stage: str | None
    tag: str
    commit: str
    created_at: str
    author: str
    author_email: str
    message: str

    @classmethod
    def of(cls, e: Event, version: str | None) -> ActionEvent:
        return cls(
            event=e.kind.label,
            name=e.artifact,
            version=version,
            stage=e.name.stage,
            tag=e.tag,
            commit=e.commit,
            created_at=gto_json.iso(e.time) or "",
            author=e.author,
            author_email=e.author_email,
            message=e.message,
        )

    @property
    def kind(self) -> Kind:
        return VERBS[self.event]

    def env(self, repo: str) -> dict[str, str]:
        """The variables a command is given; empty strings for what the event lacks."""
        return {
            "LANDMARK_EVENT": self.event,
            "LANDMARK_NAME": self.name,
            "LANDMARK_VERSION": self.version or "",
            "LANDMARK_STAGE": self.stage or "",
            "LANDMARK_TAG": self.tag,
            "LANDMARK_COMMIT": self.commit,
            "LANDMARK_REPO": repo,
        }

    def to_json(self, repo: str) -> bytes:
        """A webhook's body: the event's fields and the repository, compact, keys sorted."""
        body = {**asdict(self), "repo": repo}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def describe(self) -> str:
        """``assignment churn v1.2.0 prod (churn#prod#3)``, for progress lines."""
        parts = [self.event, self.name, self.version or "", self.stage or ""]
        return " ".join(p for p in parts if p) + f" ({self.tag})"


def action_events(state: RegistryState, tags: Iterable[str] | None = None) -> list[ActionEvent]:
    """The events of ``tags`` (every event when None), in the registry's order: tag time,
    then GTO's kind priority, then the ``#N`` counter. Tags that are not registry events
    (lightweight, malformed, other tags) are left out."""
    wanted = None if tags is None else set(tags)
    chosen = [e for e in state.events if wanted is None or e.tag in wanted]
    if not chosen:
        return []
    index = gto_json.version_index(state)
    return [ActionEvent.of(e, _version(e, index)) for e in chosen]


def _version(e: Event, index: dict[str, str]) -> str | None:
    if e.kind is Kind.DEPRECATION:
        return None
    if e.kind in (Kind.REGISTRATION, Kind.DEREGISTRATION):
        return e.name.version
    return index.get(e.tag)


@dataclass(frozen=True)
class Filter:
    """``KIND[:NAME][#STAGE]``: an event kind (or ``*``) and optional name and stage globs."""

    kind: Kind | None  # None: any kind
    name: str | None = None
    stage: str | None = None

    def matches(self, e: ActionEvent) -> bool:
        if self.kind is not None and e.kind is not self.kind:
            return False
        if self.name is not None and not fnmatch.fnmatchcase(e.name, self.name):
            return False
        return self.stage is None or (
            e.stage is not None and fnmatch.fnmatchcase(e.stage, self.stage)
        )

    def text(self) -> str:
        kind = "*" if self.kind is None else self.kind.label
        rest = (self.name or "") + (f"#{self.stage}" if self.stage is not None else "")
        return f"{kind}:{rest}" if rest else kind


_GLOB_CHARS = set("*?[]")
_FILTER_HELP = (
    "use KIND[:NAME][#STAGE], KIND one of register, assign, unassign, deregister, deprecate "
    "or '*' (e.g. 'assign:churn#prod', 'register', '*:churn', 'assign:*#prod')"
)


def parse_filter(text: str) -> Filter:
    kind_text, _, rest = text.strip().partition(":")
    if kind_text in ("*", "any", ""):
        kind = None
    elif kind_text in VERBS:
        kind = VERBS[kind_text]
    else:
        raise InvalidInput(f"--on {text!r}: unknown event {kind_text!r}; {_FILTER_HELP}")
    if not kind_text and not rest:
        raise InvalidInput(f"--on {text!r}: empty filter; {_FILTER_HELP}")
    name_text, hash_, stage_text = rest.partition("#")
    name = _pattern(name_text, text, "name") if name_text not in ("", "*") else None
    stage = _pattern(stage_text, text, "stage") if hash_ and stage_text != "*" else None
    if hash_ and not stage_text:
        raise InvalidInput(f"--on {text!r}: a stage must follow '#'; {_FILTER_HELP}")
    if stage is not None and kind in (Kind.REGISTRATION, Kind.DEREGISTRATION, Kind.DEPRECATION):
        raise InvalidInput(f"--on {text!r}: {kind.label} events have no stage; {_FILTER_HELP}")
    return Filter(kind, name, stage)


def _pattern(value: str, text: str, what: str) -> str:
    """A name or stage, where glob characters may stand for the rest."""
    literal = "".join("a" if c in _GLOB_CHARS else c for c in value)
    ok = names.is_valid_artifact(literal) if what == "name" else names.is_valid_name(literal)
    if not ok:
        raise InvalidInput(f"--on {text!r}: invalid {what} {value!r}; {_FILTER_HELP}")
    return value


def parse_filters(texts: Sequence[str]) -> list[Filter]:
    return [parse_filter(t) for t in texts]


def selected(events: Iterable[ActionEvent], filters: Sequence[Filter]) -> list[ActionEvent]:
    """The events any filter matches; every event when there are no filters."""
    return [e for e in events if not filters or any(f.matches(e) for f in filters)]


__all__ = [
    "VERBS",
    "ActionEvent",
    "Filter",
    "action_events",
    "parse_filter",
    "parse_filters",
    "selected",
]
