"""Filters, the event's variables and webhook deliveries (signing, bounded retries)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import landmark
from landmark.actions import journal
from landmark.actions.events import ActionEvent, action_events, parse_filter
from landmark.actions.journal import Journal
from landmark.actions.webhook import deliver, read_secret, safe_url, sign, verify
from landmark.errors import InvalidInput
from landmark.registry import Registry

from ..conftest import GitRepo
from .conftest import Receiver


def _event(kind: str, name: str = "churn", stage: str | None = None) -> ActionEvent:
    return ActionEvent(kind, name, "v1.0.0", stage, "t", "c" * 40, "", "", "", "")


@pytest.mark.parametrize(
    ("text", "event", "expected"),
    [
        ("assign:churn#prod", _event("assignment", stage="prod"), True),
        ("assign:churn#prod", _event("assignment", stage="staging"), False),
        ("assign:churn#prod", _event("registration"), False),
        ("assign:#prod", _event("assignment", "fraud", "prod"), True),
        ("assign:*#pr*", _event("assignment", "fraud", "prod"), True),
        ("register", _event("registration", "x"), True),
        ("registration:churn", _event("registration"), True),
        ("*:churn", _event("deprecation"), True),
        ("*:churn", _event("deprecation", "fraud"), False),
        ("unassign:dir/sub:churn", _event("unassignment", "dir/sub:churn", "prod"), True),
    ],
)
def test_filters(text: str, event: ActionEvent, expected: bool) -> None:
    assert parse_filter(text).matches(event) is expected


@pytest.mark.parametrize(
    "text", ["promote", "assign:churn#", "register:churn#prod", "assign:bad name", ":"]
)
def test_bad_filters(text: str) -> None:
    with pytest.raises(InvalidInput, match="--on"):
        parse_filter(text)


def test_events_carry_the_version_of_stage_tags(repo: GitRepo) -> None:
    repo.tick()
    landmark.register("churn", repo=repo.path)
    repo.tick()
    landmark.register("churn", repo=repo.path, version="v1.0.0")
    repo.tick()
    tag = landmark.assign("churn", "prod", version="v0.0.1", repo=repo.path).tag
    repo.tick()
    landmark.deprecate("churn", repo=repo.path)
    events = action_events(Registry(repo.path).state())
    assert [(e.event, e.version, e.stage) for e in events] == [
        ("registration", "v0.0.1", None),
        ("registration", "v1.0.0", None),
        ("assignment", "v0.0.1", "prod"),
        ("deprecation", None, None),
    ]
    env = events[2].env("/srv/repo")
    assert env["LANDMARK_TAG"] == tag and env["LANDMARK_STAGE"] == "prod"
    assert events[3].env("r")["LANDMARK_VERSION"] == ""
    body = json.loads(events[2].to_json("/srv/repo"))
    assert body["repo"] == "/srv/repo" and body["author"] == "Ada Tester"


def test_signatures_and_secrets(tmp_path: Path) -> None:
    body = b'{"a":1}'
    header = sign(body, b"k")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(body, b"k", header) and not verify(body + b" ", b"k", header)
    f = tmp_path / "s"
    f.write_text("  key  \nignored\n")
    assert read_secret(f) == b"key"
    f.write_text("\n")
    with pytest.raises(InvalidInput, match="empty"):
        read_secret(f)
    with pytest.raises(InvalidInput, match="secret-file"):
        read_secret(tmp_path / "missing")
    assert safe_url("https://u:p@example.com:8443/x") == "https://example.com:8443/x"


def test_retries_are_bounded_and_client_errors_final(receiver: Receiver, tmp_path: Path) -> None:
    log = tmp_path / "log"
    sleeps: list[float] = []
    receiver.statuses = [500, 502, 503, 500, 500]
    done = deliver(
        receiver.url, b"{}", b"k", event="registration", tag="t", journal=Journal(log),
        sleep=sleeps.append,
    )  # fmt: skip
    assert not done.ok and done.attempts == 4 and done.status == 500
    assert sleeps == [0.5, 1.0, 2.0]
    receiver.statuses = [400]
    done = deliver(receiver.url, b"{}", b"k", event="registration", tag="t", journal=Journal(log))
    assert not done.ok and done.attempts == 1 and done.status == 400
    unreachable = deliver(
        "http://127.0.0.1:9/", b"{}", b"k", event="e", tag="t", journal=Journal(log),
        attempts=2, sleep=sleeps.append,
    )  # fmt: skip
    assert unreachable.status is None and unreachable.error
    records = journal.read(log)
    assert [r["attempt"] for r in records] == [1, 2, 3, 4, 1, 1, 2]
