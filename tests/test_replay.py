"""Saved outputs of read-only commands: replayed only while every input is unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Cli, GitRepo

LANDMARK = str(Path(sys.executable).with_name("landmark"))


def run(repo: GitRepo, *args: str, cache: bool = True, cwd: Path | None = None) -> str:
    env = dict(os.environ)
    env.pop("LANDMARK_NO_CACHE", None)
    if not cache:
        env["LANDMARK_NO_CACHE"] = "1"
    proc = subprocess.run(
        [LANDMARK, *args], cwd=cwd or repo.path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def saved(repo: GitRepo) -> list[Path]:
    folder = repo.path / ".git" / "landmark" / "replay"
    return (
        sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []
    )


def fresh(repo: GitRepo, *args: str) -> str:
    return run(repo, *args, cache=False)


@pytest.fixture
def registry(lm: Cli, repo: GitRepo) -> GitRepo:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "dev")
    return repo


def test_a_repeated_query_is_replayed(registry: GitRepo) -> None:
    first = run(registry, "show")
    assert "churn" in first
    [entry] = saved(registry)
    # Prove the second call reads the saved output: doctor the entry, then restore it.
    import marshal

    code, out, err = marshal.loads(entry.read_bytes())
    assert out.decode() == first and code == 0
    entry.write_bytes(marshal.dumps((0, b"from the cache\n", b"")))
    assert run(registry, "show") == "from the cache\n"
    entry.write_bytes(marshal.dumps((code, out, err)))
    assert run(registry, "show") == first
    # Other arguments are other entries.
    assert run(registry, "show", "--json") == fresh(registry, "show", "--json")
    assert len(saved(registry)) == 2


def test_every_input_change_is_seen(lm: Cli, registry: GitRepo) -> None:
    repo = registry
    queries = [("show",), ("show", "churn"), ("history",), ("stages",)]

    def check() -> None:
        for q in queries:
            assert run(repo, *q) == fresh(repo, *q), q

    check()
    lm("register", "churn", "--bump-minor")  # a new loose tag
    check()
    repo.git("pack-refs", "--all")  # tags move to packed-refs
    check()
    repo.tick()
    repo.git("tag", "-a", "-m", "by hand", "churn#prod#3", "HEAD")
    check()
    repo.git("tag", "-d", "churn#prod#3")
    check()
    # Annotations come from HEAD's tree: a new commit changes `show`.
    repo.commit({"dvc.yaml": "artifacts:\n  fraud:\n    type: model\n    path: m.pkl\n"})
    assert "fraud" in run(repo, "show")
    check()
    # The work tree's stage config is read as it is, committed or not.
    (repo.path / ".gto").write_text("stages: [dev, prod]\n")
    check()
    (repo.path / ".gto").write_text("stages: [dev, prod, qa]\n")
    check()


def test_subfolder_and_repo_option(registry: GitRepo, tmp_path: Path) -> None:
    sub = registry.path / "sub"
    sub.mkdir()
    expected = fresh(registry, "show")
    assert run(registry, "show", cwd=sub) == expected
    assert run(registry, "show", "-r", str(registry.path), cwd=tmp_path) == expected
    assert run(registry, "show", f"--repo={registry.path}", cwd=tmp_path) == expected


def test_failures_are_never_saved(registry: GitRepo) -> None:
    proc = subprocess.run(
        [LANDMARK, "show", "nope"], cwd=registry.path, capture_output=True, text=True
    )
    assert proc.returncode == 3
    assert saved(registry) == []


def test_bypass(registry: GitRepo) -> None:
    fresh(registry, "show")
    assert saved(registry) == []
