"""``landmark watch``: polling a remote URL, each new event acted on once, across restarts."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import landmark
from landmark.actions import journal
from landmark.actions.webhook import verify

from ..conftest import Cli, GitRepo
from .conftest import LANDMARK, Receiver, push


def record(out: Path) -> str:
    return f'echo "$LANDMARK_EVENT $LANDMARK_NAME $LANDMARK_VERSION $LANDMARK_STAGE" >> {shlex.quote(str(out))}'


def read(out: Path) -> list[str]:
    return out.read_text().splitlines() if out.exists() else []


def make_events(repo: GitRepo) -> list[str]:
    """Register and promote: returns the tags, in the order they were made."""
    tags = []
    repo.commit()
    repo.tick()
    tags.append(landmark.register("churn", repo=repo.path).tag)
    repo.tick()
    tags.append(landmark.assign("churn", "prod", repo=repo.path).tag)
    return tags


def test_once_acts_on_new_events_only_and_each_once(
    repo: GitRepo, bare_remote: Path, lm: Cli, tmp_path: Path
) -> None:
    url = f"file://{bare_remote}"
    out, state = tmp_path / "out.txt", tmp_path / "state.json"
    repo.tick()
    push(repo, landmark.register("churn", repo=repo.path).tag)
    args = ["watch", "-r", url, "--run", record(out), "--state", str(state), "--once"]
    first = lm(*args)
    assert "1 events already there" in first.output
    assert read(out) == []  # what was there before the first start counts as seen
    tags = make_events(repo)
    assert push(repo, *tags).returncode == 0
    lm(*args)
    assert read(out) == ["registration churn v0.0.2 ", "assignment churn v0.0.2 prod"]
    lm(*args)
    assert len(read(out)) == 2
    data = json.loads(state.read_text())
    assert data["pending"] is None and len(data["seen"]) == 3
    log = journal.read(state.with_suffix(".log"))
    assert [(r["source"], r["action"], r["tag"]) for r in log] == [
        ("watch", "run", tags[0]),
        ("watch", "run", tags[1]),
    ]


def test_from_start_filters_and_failures(
    repo: GitRepo, bare_remote: Path, lm: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    tags = make_events(repo)
    push(repo, *tags)
    cmd = record(out) + '; [ "$LANDMARK_STAGE" != prod ]'  # fails on prod
    result = lm(
        "watch", "-r", f"file://{bare_remote}", "--on", "assign:churn", "--run", cmd,
        "--state", str(tmp_path / "s.json"), "--once", "--from-start", ok=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert read(out) == ["assignment churn v0.0.1 prod"]
    assert "the command failed (exit 1)" in result.output


def test_state_files_are_not_shared(
    repo: GitRepo, bare_remote: Path, lm: Cli, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    lm("watch", "-r", str(repo.path), "--run", "true", "--state", str(state), "--once")
    other = lm(
        "watch", "-r", str(bare_remote), "--run", "true", "--state", str(state), "--once", ok=False
    )
    assert "belongs to" in other.output and other.exit_code == 2
    state.write_text("not json")
    broken = lm("watch", "-r", str(repo.path), "--run", "true", "--state", str(state), ok=False)
    assert "not a landmark watch state file" in broken.output
    bad = lm("watch", "--run", "true", "--interval", "0", ok=False)
    assert "--interval" in bad.output


def test_webhook_from_watch(
    repo: GitRepo, bare_remote: Path, lm: Cli, tmp_path: Path, receiver: Receiver, secret_file: Path
) -> None:
    state = tmp_path / "state.json"
    args = ["watch", "-r", f"file://{bare_remote}", "--webhook", receiver.url]
    args += ["--secret-file", str(secret_file), "--state", str(state), "--once"]
    lm(*args)
    tags = make_events(repo)
    push(repo, *tags)
    lm(*args)
    assert len(receiver.requests) == 3  # 500, then two deliveries
    bodies = [json.loads(body) for _, body in receiver.requests[1:]]
    assert [b["tag"] for b in bodies] == tags
    assert all(verify(b, b"s3cret-key", h["x-landmark-signature"]) for h, b in receiver.requests)
    log = journal.read(state.with_suffix(".log"))
    assert [(r["tag"], r["attempt"], r["status"]) for r in log] == [
        (tags[0], 1, 500),
        (tags[0], 2, 200),
        (tags[1], 1, 200),
    ]


def _wait(what: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_killed_and_restarted_acts_on_no_event_twice_and_misses_none(
    repo: GitRepo, bare_remote: Path, tmp_path: Path
) -> None:
    url = f"file://{bare_remote}"
    out, started, state = tmp_path / "out.txt", tmp_path / "started.txt", tmp_path / "state.json"
    repo.tick()
    push(repo, landmark.register("churn", repo=repo.path).tag)  # there before: not acted on
    batch = make_events(repo) + make_events(repo)
    repo.tick()
    batch.append(landmark.register("fraud", repo=repo.path).tag)
    slow = batch[2]
    # the action's last step is the append: a kill before it means it did not happen
    cmd = (
        f'echo "$LANDMARK_TAG" >> {shlex.quote(str(started))}; '
        'if [ "$LANDMARK_TAG" = "$SLOW_TAG" ] && [ -z "${LANDMARK_REDELIVERY:-}" ]; then sleep 60; fi; '
        f'echo "$LANDMARK_TAG" >> {shlex.quote(str(out))}'
    )
    env = {**os.environ, "SLOW_TAG": slow}
    argv = [LANDMARK, "watch", "-r", url, "--run", cmd, "--interval", "0.2", "--state", str(state)]
    log = (tmp_path / "watch.err").open("wb")
    proc = subprocess.Popen(argv, env=env, stderr=log, start_new_session=True)
    try:
        _wait(state.exists)
        assert push(repo, *batch).returncode == 0
        _wait(lambda: slow in read(started))
        assert read(out) == batch[:2]
        os.killpg(proc.pid, signal.SIGKILL)  # the watcher and the command it runs
        proc.wait()
        later = make_events(repo)  # pushed while nobody watches
        assert push(repo, *later).returncode == 0
        proc = subprocess.Popen(argv, env=env, stderr=log, start_new_session=True)
        _wait(lambda: len(read(out)) >= len(batch) + len(later))
        time.sleep(0.5)  # a few more rounds: nothing else may run
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    assert read(out) == batch + later
    assert read(started) == [*batch[:3], *batch[2:], *later]  # only the cut-short one again
    assert "acting again" in (tmp_path / "watch.err").read_text()


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_interval_must_be_positive(value: str, lm: Cli) -> None:
    assert "--interval" in lm("watch", "--run", "true", "--interval", value, ok=False).output
