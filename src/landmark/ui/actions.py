"""The UI's writes: register, assign, unassign, deprecate, each planned before it is made.

A request without ``confirm`` returns the registry's write plan (the exact tags, commits and
messages); a request with ``confirm`` (the tag name the plan showed) plans again and writes
only when the plan still creates that tag, so what the dialog showed is what git gets. Tag
messages are the CLI's defaults plus a line saying the tag came through the web UI; the
tagger is git's configured identity. A repository with a remote gets the tag pushed (the
registry removes it again when the push fails).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import gto_json, names
from ..errors import Conflict, InvalidInput, LandmarkError, one_line
from ..events import Event
from ..plans import Plan
from ..registry import Deleted, Registry
from .catalog import Source, check_version_text

ACTIONS = ("register", "assign", "unassign", "deprecate")
UI_NOTE = "Made through the landmark web UI."

Json = dict[str, Any]


def _field(form: Mapping[str, Any], key: str) -> str | None:
    value = form.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be text")
    value = value.strip()
    return value or None


def _required(form: Mapping[str, Any], key: str) -> str:
    value = _field(form, key)
    if value is None:
        raise InvalidInput(f"{key} is required")
    return value


def has_remote(reg: Registry) -> bool:
    """Whether the tag goes to a remote: a URL always; a clone when it has ``origin``."""
    if reg.repo.url:
        return True
    try:
        return "origin" in reg.repo.out("remote").split()
    except LandmarkError:
        return False


def _plan(
    reg: Registry, action: str, name: str, form: Mapping[str, Any], message: str | None
) -> Plan:
    """The plan of ``action`` with ``form``'s fields, through the registry's own checks."""
    names.check_artifact(name)
    version = _field(form, "version")
    version = check_version_text(version) if version else None
    if action == "register":
        bump = _field(form, "bump")
        if bump is not None and bump not in ("major", "minor", "patch"):
            raise InvalidInput(f"bump must be major, minor or patch, not {one_line(bump, 40)!r}")
        ref = _field(form, "ref") or "HEAD"
        return reg.register(
            name, ref, version=version, bump=None if version else bump, message=message,
            dry_run=True,
        )  # fmt: skip
    if action == "assign":
        stage = names.check_stage(_required(form, "stage"))
        if version is None:
            raise InvalidInput("version is required: the version to give the stage")
        return reg.assign(name, stage, version=version, message=message, dry_run=True)
    if action == "unassign":
        stage = names.check_stage(_required(form, "stage"))
        if version is None:
            raise InvalidInput("version is required: the version to take the stage from")
        return reg.unassign(name, stage, version=version, message=message, dry_run=True)
    if action == "deprecate":
        return reg.deprecate(name, message=message, dry_run=True)
    raise InvalidInput(f"unknown action {one_line(action, 40)!r}: {', '.join(ACTIONS)}")


def plan(source: Source, action: str, name: str, form: Mapping[str, Any]) -> Plan:
    """The exact plan a confirmed request writes: the CLI's tag, its message plus the UI note."""
    reg = source.registry
    first = _plan(reg, action, name, form, None)
    if len(first.create) != 1:  # every UI action creates one tag
        raise InvalidInput(f"{action} here would not create one tag; use the CLI for this")
    message = f"{first.create[0].message.rstrip()}\n\n{UI_NOTE}"
    return _plan(reg, action, name, form, message)


def plan_dict(p: Plan, source: Source) -> Json:
    return {
        "action": p.action,
        "artifact": p.artifact,
        "version": p.version,
        "stage": p.stage,
        "create": [{"tag": t.name, "commit": t.commit, "message": t.message} for t in p.create],
        "delete": list(p.delete),
        "push": has_remote(source.registry),
        "lines": p.lines(),
    }


def perform(source: Source, action: str, name: str, form: Mapping[str, Any]) -> Json:
    """Plan, or (with ``confirm``) write what the plan says; the JSON the page shows."""
    p = plan(source, action, name, form)
    confirm = _field(form, "confirm")
    if confirm is None:
        return {"plan": plan_dict(p, source), "done": False}
    wanted = p.create[0]
    if confirm != wanted.name:
        raise Conflict(
            f"the registry changed since the dialog was shown: this would now create "
            f"{wanted.name}, not {one_line(confirm, 80)}; review it again"
        )
    reg = source.registry
    push = has_remote(reg)
    result = _write(reg, p, push)
    return {
        "plan": plan_dict(p, source),
        "done": True,
        "created": gto_json.event_dict(result, p.version, full=False),
        "pushed": push,
    }


def _write(reg: Registry, p: Plan, push: bool) -> Event:
    """Write the plan through the registry (its locks, its undo when a push fails)."""
    tag = p.create[0]
    kind = p.action
    result: Event | Deleted
    if kind == "register":
        result = reg.register(
            p.artifact, tag.commit, version=p.version, message=tag.message, push=push
        )
    elif kind == "assign":
        assert p.stage is not None
        result = reg.assign(p.artifact, p.stage, version=p.version, message=tag.message, push=push)
    elif kind == "unassign":
        assert p.stage is not None
        result = reg.unassign(
            p.artifact, p.stage, version=p.version, message=tag.message, push=push
        )
    else:
        result = reg.deprecate(p.artifact, tag.commit, message=tag.message, push=push)
    if not isinstance(result, Event) or result.tag != tag.name:  # pragma: no cover - raced
        got = result.tag if isinstance(result, Event) else ", ".join(result.tags)
        raise Conflict(f"the registry changed while writing: created {got}, not {tag.name}")
    return result


__all__ = ["ACTIONS", "UI_NOTE", "has_remote", "perform", "plan", "plan_dict"]
