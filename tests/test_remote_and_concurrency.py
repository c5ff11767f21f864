"""Remote URLs through the cached partial clone, pushing, and racing writers."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
from pathlib import Path

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
