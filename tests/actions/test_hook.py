"""The post-receive hook, end to end: real pushes to a bare repo with the hook installed."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

import landmark
from landmark.actions import hook as hooks
from landmark.actions import journal
from landmark.actions.act import Action
from landmark.actions.webhook import verify
from landmark.errors import Conflict, InvalidInput

from ..conftest import Cli, GitRepo
from .conftest import Receiver, push, remote_lines

FIELDS = ("EVENT", "NAME", "VERSION", "STAGE", "TAG", "COMMIT", "REPO")


def recorder(out: Path) -> str:
    """A command that appends one line of the event's variables to ``out``."""
    fmt = "|".join(["%s"] * len(FIELDS)) + "\\n"
    args = " ".join(f'"$LANDMARK_{f}"' for f in FIELDS)
    return f"printf '{fmt}' {args} >> {shlex.quote(str(out))}"


def lines(out: Path) -> list[list[str]]:
    return [line.split("|") for line in out.read_text().splitlines()] if out.exists() else []


def test_one_tag_runs_the_command_once_with_the_event(
    repo: GitRepo, bare_remote: Path, lm: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    result = lm("hook", "install", "post-receive", "-r", str(bare_remote), "--run", recorder(out))
    assert "Installed" in result.output
    script = bare_remote / "hooks" / "post-receive"
    assert script.stat().st_mode & 0o111
    repo.tick()
    event = landmark.register("churn", repo=repo.path)
    proc = push(repo, event.tag)
    assert proc.returncode == 0, proc.stderr
    head = repo.git("rev-parse", "HEAD")
    assert lines(out) == [
        ["registration", "churn", "v0.0.1", "", "churn@v0.0.1", head, str(bare_remote)]
    ]
    said = remote_lines(proc)
    assert any("churn@v0.0.1: the command succeeded" in line for line in said)
    log = journal.read(bare_remote / "landmark" / "hooks.log")
    assert [(r["action"], r["tag"], r["exit"]) for r in log] == [("run", "churn@v0.0.1", 0)]
    # a second push of other refs runs nothing again
    repo.commit()
    assert push(repo, "HEAD:refs/heads/main").returncode == 0
    assert len(lines(out)) == 1


def test_two_tags_in_one_push_run_twice_in_tag_order(
    repo: GitRepo, bare_remote: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    hooks.install(str(bare_remote), Action.make(recorder(out), None, None, ()))
    repo.tick()
    reg = landmark.register("churn", repo=repo.path)
    repo.tick()
    # assigned to prod: this tag's name sorts before the registration's, time orders it after
    assign = landmark.assign("churn", "prod", version="v0.0.1", repo=repo.path)
    proc = push(repo, assign.tag, reg.tag)
    assert proc.returncode == 0, proc.stderr
    got = lines(out)
    assert [(r[0], r[4]) for r in got] == [
        ("registration", "churn@v0.0.1"),
        ("assignment", assign.tag),
    ]
    assert got[1][1:4] == ["churn", "v0.0.1", "prod"]


def test_filters_choose_events(repo: GitRepo, bare_remote: Path, lm: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    lm(
        "hook", "install", "post-receive", "-r", str(bare_remote),
        "--on", "assign:churn#prod", "--on", "deprecate:fraud", "--run", recorder(out),
    )  # fmt: skip
    tags = []
    for name in ("churn", "fraud"):
        repo.tick()
        tags.append(landmark.register(name, repo=repo.path).tag)
        for stage in ("staging", "prod"):
            repo.tick()
            tags.append(landmark.assign(name, stage, version="v0.0.1", repo=repo.path).tag)
    repo.tick()
    tags.append(landmark.deprecate("fraud", repo=repo.path).tag)  # type: ignore[union-attr]
    assert push(repo, *tags).returncode == 0
    assert [(r[0], r[1], r[3]) for r in lines(out)] == [
        ("assignment", "churn", "prod"),
        ("deprecation", "fraud", ""),
    ]


def test_a_failing_command_is_shown_to_the_pusher_and_logged(
    repo: GitRepo, bare_remote: Path, tmp_path: Path
) -> None:
    cmd = 'echo "building $LANDMARK_NAME"; echo "no space left on device" >&2; exit 3'
    hooks.install(str(bare_remote), Action.make(cmd, None, None, ()))
    repo.tick()
    event = landmark.register("churn", repo=repo.path)
    proc = push(repo, event.tag)
    assert proc.returncode == 0  # the tag is in: post-receive cannot undo it
    said = remote_lines(proc)
    assert "building churn" in said
    assert "no space left on device" in said
    assert any("churn@v0.0.1: the command failed (exit 3)" in line for line in said)
    (record,) = journal.read(bare_remote / "landmark" / "hooks.log")
    assert record["ok"] is False and record["exit"] == 3
    assert "no space left on device" in record["output"]


def test_deleted_and_lightweight_tags_are_ignored(
    repo: GitRepo, bare_remote: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    hooks.install(str(bare_remote), Action.make(recorder(out), None, None, ()))
    repo.tick()
    event = landmark.register("churn", repo=repo.path)
    assert push(repo, event.tag).returncode == 0
    assert push(repo, f":refs/tags/{event.tag}").returncode == 0
    repo.git("tag", "fraud@v1.0.0")  # lightweight: not an event
    proc = push(repo, "fraud@v1.0.0")
    assert len(lines(out)) == 1
    assert any("fraud@v1.0.0: not an annotated registry tag" in line for line in remote_lines(proc))


def test_untrusted_tag_messages_never_reach_a_shell(
    repo: GitRepo, bare_remote: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    pwned = tmp_path / "pwned"
    hooks.install(str(bare_remote), Action.make(recorder(out), None, None, ()))
    repo.tick()
    message = f"$(touch {pwned}) `touch {pwned}` version v0.0.1"
    event = landmark.register("churn", repo=repo.path, message=message)
    assert push(repo, event.tag).returncode == 0
    assert len(lines(out)) == 1
    assert not pwned.exists()


def test_an_existing_hook_is_refused_or_chained(
    repo: GitRepo, bare_remote: Path, lm: Cli, tmp_path: Path
) -> None:
    script = bare_remote / "hooks" / "post-receive"
    seen = tmp_path / "theirs.txt"
    script.write_text(f"#!/bin/sh\ncat >> {shlex.quote(str(seen))}\n")
    script.chmod(0o755)
    out = tmp_path / "out.txt"
    result = lm(
        "hook", "install", "post-receive", "-r", str(bare_remote), "--run", "true", ok=False
    )
    assert "--chain" in result.output and result.exit_code == 4
    assert "landmark" not in script.read_text()
    assert not (bare_remote / "landmark").exists()
    lm("hook", "install", "post-receive", "-r", str(bare_remote), "--chain", "--run", recorder(out))
    assert (bare_remote / "hooks" / "post-receive.chained").exists()
    # installing again (new settings) keeps the chain
    lm("hook", "install", "post-receive", "-r", str(bare_remote), "--run", recorder(out))
    assert "post-receive.chained" in script.read_text()
    repo.tick()
    event = landmark.register("churn", repo=repo.path)
    assert push(repo, event.tag).returncode == 0
    assert f"refs/tags/{event.tag}" in seen.read_text()
    assert [r[4] for r in lines(out)] == [event.tag]


def test_install_errors_are_one_line(repo: GitRepo, bare_remote: Path, lm: Cli) -> None:
    for args, words in [
        (["--on", "promote:churn"], "unknown event"),
        (["--on", "register:churn#prod"], "no stage"),
        ([], "--run"),
        (["--webhook", "ftp://x"], "http"),
        (["--webhook", "http://127.0.0.1:1/"], "--secret-file"),
    ]:
        run = ["--run", "true"] if args and not args[0].startswith("--webhook") else []
        result = lm(
            "hook", "install", "post-receive", "-r", str(bare_remote), *run, *args, ok=False
        )
        assert result.exit_code == 2, result.output
        assert words in result.output and len(result.output.strip().splitlines()) == 1
    assert not (bare_remote / "hooks" / "post-receive").exists()
    with pytest.raises(InvalidInput, match="URL"):
        hooks.install("https://example.com/repo.git", Action.make("true", None, None, ()))


def test_hook_run_outside_a_repo_with_settings(bare_remote: Path) -> None:
    from landmark.errors import ConfigError

    zero = "0" * 40
    with pytest.raises(ConfigError, match="hook install"):
        hooks.run(str(bare_remote), [f"{zero} {'1' * 40} refs/tags/churn@v0.0.1"], say=print)
    assert hooks.run(str(bare_remote), [f"{zero} {zero} refs/heads/main"], say=print) == 0


def test_webhook_from_the_hook_is_signed_retried_and_logged(
    repo: GitRepo, bare_remote: Path, receiver: Receiver, secret_file: Path
) -> None:
    hooks.install(str(bare_remote), Action.make(None, receiver.url, str(secret_file), ("assign",)))
    repo.tick()
    reg = landmark.register("churn", repo=repo.path)
    repo.tick()
    assign = landmark.assign("churn", "prod", version="v0.0.1", repo=repo.path)
    proc = push(repo, reg.tag, assign.tag)
    assert proc.returncode == 0
    assert len(receiver.requests) == 2  # the first answered 500, the second 200
    headers, body = receiver.requests[-1]
    assert verify(body, b"s3cret-key", headers["x-landmark-signature"])
    assert headers["x-landmark-delivery"] == receiver.requests[0][0]["x-landmark-delivery"]
    data = json.loads(body)
    assert (data["event"], data["name"], data["version"], data["stage"], data["tag"]) == (
        "assignment", "churn", "v0.0.1", "prod", assign.tag,
    )  # fmt: skip
    log = journal.read(bare_remote / "landmark" / "hooks.log")
    assert [(r["attempt"], r["status"], r["ok"]) for r in log] == [(1, 500, False), (2, 200, True)]
    assert any("webhook delivered (HTTP 200, attempt 2)" in line for line in remote_lines(proc))


def test_pushed_tags_reads_gits_lines() -> None:
    zero, a, b = "0" * 40, "a" * 40, "b" * 40
    got = hooks.pushed_tags(
        [f"{zero} {a} refs/tags/x@v1.0.0", f"{a} {zero} refs/tags/gone", f"{a} {b} refs/heads/main",
         f"{a} {b} refs/tags/y#prod#2", "garbage"]
    )  # fmt: skip
    assert got == ["x@v1.0.0", "y#prod#2"]


def test_conflicting_flags(bare_remote: Path) -> None:
    with pytest.raises(InvalidInput):
        hooks.install(str(bare_remote), Action.make("true", None, None, ()), chain=True, force=True)
    hooks.install(str(bare_remote), Action.make("true", None, None, ()))
    (bare_remote / "hooks" / "post-receive").write_text("#!/bin/sh\n")
    with pytest.raises(Conflict):
        hooks.install(str(bare_remote), Action.make("true", None, None, ()))
    assert subprocess.run(["true"]).returncode == 0
