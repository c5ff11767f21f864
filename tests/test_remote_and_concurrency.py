"""Remote URLs through the cached partial clone, pushing, and racing writers."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
from pathlib import Path

import pytest

import landmark
from landmark.errors import Conflict, GitError

from .conftest import Cli, GitRepo


def remote_tags(remote: Path) -> list[str]:
    out = subprocess.run(
        ["git", "tag", "-l"], cwd=remote, capture_output=True, text=True, check=True
    )
    return sorted(out.stdout.split())


def test_write_and_read_through_url(lm: Cli, repo: GitRepo, bare_remote: Path) -> None:
    url = f"file://{bare_remote}"
    lm("register", "churn", "-r", url)
    assert remote_tags(bare_remote) == ["churn@v0.0.1"]
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "-r", url)
    assert remote_tags(bare_remote) == ["churn#prod#1", "churn@v0.0.1"]
    data = json.loads(lm("show", "-r", url, "--json").stdout)
    assert data["churn"]["stage"]["prod"] == "v0.0.1"
    # The local clone knows nothing until it fetches: the URL really was used.
    assert repo.tags() == []
    caches = list((Path.home() / ".cache" / "landmark" / "repos").iterdir())
    assert len([c for c in caches if c.is_dir()]) == 1


def test_cache_is_reused_and_fetches_new_tags(lm: Cli, repo: GitRepo, bare_remote: Path) -> None:
    url = f"file://{bare_remote}"
    assert json.loads(lm("show", "-r", url, "--json").stdout) == {}
    lm("register", "churn")
    repo.git("push", "-q", "origin", "--tags")
    assert json.loads(lm("show", "-r", url, "--json").stdout)["churn"]["version"] == "v0.0.1"
    repo.git("push", "-q", "origin", ":refs/tags/churn@v0.0.1")
    assert json.loads(lm("show", "-r", url, "--json").stdout) == {}  # deleted upstream: pruned


def test_push_flag_and_failed_push_leaves_nothing(
    lm: Cli, repo: GitRepo, bare_remote: Path
) -> None:
    lm("register", "churn", "--push")
    assert remote_tags(bare_remote) == ["churn@v0.0.1"]
    repo.git("remote", "set-url", "origin", str(bare_remote) + "-gone")
    repo.commit()
    r = lm("register", "churn", "--push", ok=False)
    assert "could not push" in r.output
    assert repo.tags() == ["churn@v0.0.1"]  # the local tag was undone


def test_remote_failed_push_leaves_cache_clean(lm: Cli, repo: GitRepo, bare_remote: Path) -> None:
    url = f"file://{bare_remote}"
    lm("register", "churn", "-r", url)
    hook = bare_remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho denied >&2\nexit 1\n")
    hook.chmod(0o755)
    r = lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "-r", url, ok=False)
    assert "could not push" in r.output
    hook.unlink()
    data = json.loads(lm("show", "-r", url, "--json").stdout)
    assert data["churn"]["stage"] == {}
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "-r", url)
    assert "churn#prod#1" in remote_tags(bare_remote)


def _register(args: tuple[str, str]) -> str:
    path, version = args
    try:
        landmark.register("churn", repo=path, version=version)
        return "ok"
    except Conflict as e:
        return f"conflict: {e}"
    except GitError as e:
        return f"git: {e}"


def test_concurrent_register_exactly_one_wins(repo: GitRepo) -> None:
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        version = f"v1.0.{round_}"
        with ctx.Pool(4) as pool:
            results = pool.map(_register, [(str(repo.path), version)] * 4)
        assert results.count("ok") == 1, results
        assert all(r.startswith("conflict") for r in results if r != "ok"), results
        assert f"churn@{version}" in repo.tags()
        repo.commit()


def test_python_api(repo: GitRepo) -> None:
    e = landmark.register("churn", repo=repo.path)
    assert e.tag == "churn@v0.0.1" and e.name.version == "v0.0.1"
    a = landmark.assign("churn", "prod", repo=repo.path, version="v0.0.1")
    assert a.tag == "churn#prod#1"
    latest = landmark.latest("churn", repo=repo.path)
    assert latest is not None and latest.version == "v0.0.1"
    [found] = landmark.find("churn#prod", repo=repo.path)
    assert found.commit == repo.git("rev-parse", "HEAD")
    assert landmark.show(repo=repo.path)["churn"]["stage"] == {"prod": "v0.0.1"}
    assert [h["event"] for h in landmark.history(repo=repo.path)] == ["assignment", "registration"]
    assert landmark.stages(repo=repo.path) == ["prod"]
    assert landmark.doctor(repo=repo.path).ok


def _reject_pushes(remote: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho denied >&2\nexit 1\n")
    hook.chmod(0o755)


def _tag_ids(git_dir: Path) -> dict[str, str]:
    """Every tag ref and the object it points at (a tag object for an annotated tag)."""
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags"],
        cwd=git_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


DELETES = [
    ("deregister", "churn", "v0.0.1", "--delete"),
    ("unassign", "churn", "v0.0.1", "--stage", "prod", "--delete"),
    ("deprecate", "churn", "v0.0.1", "--delete"),
    ("deprecate", "churn", "v0.0.1", "prod", "--delete"),
    ("deprecate", "churn", "--delete"),
]


@pytest.mark.parametrize("command", DELETES, ids=lambda c: " ".join(c))
def test_failed_delete_push_keeps_local_tags(
    lm: Cli, repo: GitRepo, bare_remote: Path, command: tuple[str, ...]
) -> None:
    lm("register", "churn", "--push")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--push")
    before = _tag_ids(repo.path)
    upstream = _tag_ids(bare_remote)
    assert set(before) == {"churn@v0.0.1", "churn#prod#1"} and upstream == before
    _reject_pushes(bare_remote)
    r = lm(*command, "--push", ok=None)
    assert r.exit_code == 7, r.output
    assert "could not push" in r.output
    assert _tag_ids(repo.path) == before  # the same tag objects, not look-alikes
    assert _tag_ids(bare_remote) == upstream
    # Once the remote accepts pushes, the same command goes through on both sides.
    (bare_remote / "hooks" / "pre-receive").unlink()
    lm(*command, "--push")
    assert _tag_ids(repo.path) == _tag_ids(bare_remote) != before


@pytest.mark.parametrize("command", DELETES, ids=lambda c: " ".join(c))
def test_failed_delete_push_through_url_keeps_cache(
    lm: Cli, repo: GitRepo, bare_remote: Path, command: tuple[str, ...]
) -> None:
    url = f"file://{bare_remote}"
    lm("register", "churn", "-r", url)
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "-r", url)
    [cache] = [c for c in (Path.home() / ".cache" / "landmark" / "repos").iterdir() if c.is_dir()]
    before = _tag_ids(cache)
    upstream = _tag_ids(bare_remote)
    assert set(before) == {"churn@v0.0.1", "churn#prod#1"} and upstream == before
    _reject_pushes(bare_remote)
    r = lm(*command, "-r", url, ok=None)
    assert r.exit_code == 7, r.output
    assert _tag_ids(cache) == before
    assert _tag_ids(bare_remote) == upstream
