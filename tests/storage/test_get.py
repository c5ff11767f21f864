"""`landmark get` by registry reference: versions, stages, latest; clones, Git URLs, git files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from landmark.storage import remotes, transfer, workspace
from landmark.storage.gc import registry_roots
from landmark.storage.get import get, show_url

from ..conftest import Cli, GitRepo

DVC_YAML = """artifacts:
  churn:
    type: model
    path: models/churn.bin
  features:
    type: dataset
    path: data/features
  notes:
    type: doc
    path: docs/notes.txt
  tokenizer:
    type: model
    path: data/features/vocab.txt
"""


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def project(repo: GitRepo, lm: Cli, tmp_path: Path) -> tuple[GitRepo, Path]:
    """v0.0.1 and v0.0.2 of churn (DVC-tracked, pushed), a tracked folder, a git file."""
    root = repo.path
    storage = tmp_path / "storage"
    remotes.add_remote(root, "store", str(storage), default=True, cwd=root)
    write(root / "dvc.yaml", DVC_YAML.encode())
    write(root / "docs" / "notes.txt", b"read me\n")
    write(root / "models" / "churn.bin", b"model one")
    write(root / "data" / "features" / "vocab.txt", b"a b c")
    write(root / "data" / "features" / "sub" / "x.csv", b"1,2\n")
    workspace.add(root, [root / "models/churn.bin", root / "data/features"])
    transfer.push_repo(root)
    repo.commit(message="v1")
    lm("register", "churn", "--version", "v0.0.1")
    lm("register", "features", "--version", "v1.0.0")
    lm("register", "notes", "--version", "v1.0.0")
    lm("register", "tokenizer", "--version", "v1.0.0")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    # Workspace files may be hardlinks into the cache: write a new file, never edit in place.
    (root / "models" / "churn.bin").unlink()
    write(root / "models" / "churn.bin", b"model two, larger")
    workspace.add(root, [root / "models/churn.bin"])
    transfer.push_repo(root)
    repo.commit(message="v2")
    lm("register", "churn", "--version", "v0.0.2")
    return repo, storage


def drop_cache(root: Path) -> None:
    import shutil

    cache = root / ".dvc" / "cache"
    for p in cache.rglob("*"):
        if p.is_file():
            p.chmod(0o644)
    shutil.rmtree(cache)


def test_get_by_version_stage_and_latest(project: tuple[GitRepo, Path], tmp_path: Path) -> None:
    repo, _ = project
    out = tmp_path / "out"
    assert get("churn@v0.0.1", repo=repo.path, out=out / "a").read_bytes() == b"model one"
    assert get("churn#prod", repo=repo.path, out=out / "b").read_bytes() == b"model one"
    assert get("churn@latest", repo=repo.path, out=out / "c").read_bytes() == b"model two, larger"
    # Private, writable copies: editing one never touches the cache.
    (out / "a").write_bytes(b"changed")
    assert get("churn@v0.0.1", repo=repo.path, out=out / "d").read_bytes() == b"model one"


def test_get_fetches_from_the_remote_when_the_cache_lacks_it(
    project: tuple[GitRepo, Path], tmp_path: Path
) -> None:
    repo, _ = project
    drop_cache(repo.path)
    got = get("churn@v0.0.1", repo=repo.path, out=tmp_path / "m.bin")
    assert got.read_bytes() == b"model one"


def test_directories_files_inside_them_and_git_files(
    project: tuple[GitRepo, Path], tmp_path: Path
) -> None:
    repo, _ = project
    drop_cache(repo.path)
    folder = get("features@v1.0.0", repo=repo.path, out=tmp_path / "features")
    assert (folder / "vocab.txt").read_bytes() == b"a b c"
    assert (folder / "sub" / "x.csv").read_bytes() == b"1,2\n"
    inner = get("tokenizer@v1.0.0", repo=repo.path, out=tmp_path / "vocab.txt")
    assert inner.read_bytes() == b"a b c"
    notes = get("notes@v1.0.0", repo=repo.path, out=tmp_path / "notes.txt")
    assert notes.read_bytes() == b"read me\n"


def test_from_a_git_url_without_a_clone(
    project: tuple[GitRepo, Path], bare_remote: Path, tmp_path: Path
) -> None:
    repo, storage = project
    # A Git URL's .dvc/config must name a remote reachable from anywhere: an absolute path.
    remotes.modify_remote(repo.path, "store", "url", str(storage))
    repo.commit(message="absolute remote")
    repo.git("push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
    url = f"file://{bare_remote}"
    out = tmp_path / "from-url.bin"
    assert get("churn#prod", repo=url, out=out).read_bytes() == b"model one"
    expected = f"{storage}/files/md5/"
    assert show_url("churn@v0.0.2", repo=url).startswith(expected)


@pytest.mark.usefixtures("project")
def test_stage_taken_away_is_gone(lm: Cli, tmp_path: Path) -> None:
    lm("unassign", "churn", "v0.0.1", "--stage", "prod")
    result = lm("get", "churn#prod", "-o", str(tmp_path / "x"), ok=False)
    assert result.exit_code == 3
    assert "no version of 'churn' is in stage 'prod'" in result.output
    assert not (tmp_path / "x").exists()


def test_cli_errors_leave_nothing(project: tuple[GitRepo, Path], lm: Cli, tmp_path: Path) -> None:
    repo, storage = project
    dest = tmp_path / "m.bin"
    dest.write_bytes(b"mine")
    result = lm("get", "churn@v0.0.1", "-o", str(dest), ok=False)
    assert result.exit_code == 2 and "--force" in result.output
    assert dest.read_bytes() == b"mine"
    lm("get", "churn@v0.0.1", "-o", str(dest), "--force")
    assert dest.read_bytes() == b"model one"
    for bad, code in (("churn", 2), ("churn@v9.9.9", 3), ("nope@v1.0.0", 3), ("Bad Name@v1", 2)):
        result = lm("get", bad, "-o", str(tmp_path / "never"), ok=False)
        assert result.exit_code == code, (bad, result.output)
        assert len(result.output.strip().splitlines()) == 1
    # A remote that lost the object: a clear error and no partial file.
    drop_cache(repo.path)
    for p in storage.rglob("*"):
        if p.is_file():
            p.chmod(0o644)
            p.unlink()
    result = lm("get", "churn@v0.0.2", "-o", str(tmp_path / "lost.bin"), ok=False)
    assert result.exit_code == 3, result.output
    assert "models/churn.bin" in result.output
    assert not (tmp_path / "lost.bin").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lost")] == []


def test_show_url(project: tuple[GitRepo, Path], lm: Cli) -> None:
    _, storage = project
    out = lm("get", "churn@v0.0.1", "--show-url").output.strip()
    md5 = hashlib.md5(b"model one").hexdigest()
    assert out == f"{storage}/files/md5/{md5[:2]}/{md5[2:]}"
    git_out = lm("get", "notes@v1.0.0", "--show-url").output
    assert "git: docs/notes.txt" in git_out


def test_retention_keeps_registered_versions(project: tuple[GitRepo, Path], lm: Cli) -> None:
    from landmark.registry import Registry

    repo, _ = project
    kept = registry_roots(Registry(repo.path))
    versions = {what for what, _ in kept.reasons}
    assert versions == {"churn@v0.0.1", "churn@v0.0.2", "features@v1.0.0", "tokenizer@v1.0.0"}
    assert "notes@v1.0.0" in kept.skipped  # git-tracked: nothing in the cache to keep
    lm("deprecate", "churn")
    kept = registry_roots(Registry(repo.path))
    assert {what for what, _ in kept.reasons} == {"features@v1.0.0", "tokenizer@v1.0.0"}
