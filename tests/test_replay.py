"""Saved outputs of read-only commands: replayed only while every input is unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
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


def _prove_replayed(entries: list[Path], run_show: Callable[[], str]) -> None:
    """The next ``show`` prints the saved entry: doctor it, check, restore it."""
    import marshal

    [entry] = entries
    kept = entry.read_bytes()
    entry.write_bytes(marshal.dumps((0, b"from the cache\n", b"")))
    assert run_show() == "from the cache\n"
    entry.write_bytes(kept)


def test_linked_worktree(lm: Cli, registry: GitRepo, tmp_path: Path) -> None:
    """A worktree has its own HEAD and saved outputs; the tags are shared with the main one."""
    wt = tmp_path / "wt"
    registry.git("worktree", "add", "-q", "-b", "side", str(wt))
    gitdir = Path(registry.git("-C", str(wt), "rev-parse", "--absolute-git-dir"))
    assert gitdir.parent.name == "worktrees"

    def show_wt() -> str:
        return run(registry, "show", cwd=wt)

    def fresh_wt() -> str:
        return run(registry, "show", cache=False, cwd=wt)

    assert show_wt() == fresh_wt()
    entries = sorted((gitdir / "landmark" / "replay").iterdir())
    assert saved(registry) == []  # the main worktree's folder is not used
    _prove_replayed(entries, show_wt)
    # A tag made from the main worktree is seen from the linked one...
    lm("register", "churn", "--bump-minor")
    assert "v0.1.0" in show_wt()
    assert show_wt() == fresh_wt()
    # ...and after packing, from either side.
    registry.git("pack-refs", "--all")
    registry.tick()
    registry.git("tag", "-d", "churn@v0.1.0")
    assert "v0.1.0" not in show_wt()
    assert show_wt() == fresh_wt()
    # The linked worktree's HEAD is its own: a commit there changes only its `show`.
    main_before = run(registry, "show")
    (wt / "dvc.yaml").write_text("artifacts:\n  fraud:\n    type: model\n    path: m.pkl\n")
    registry.git("-C", str(wt), "add", "dvc.yaml")
    registry.tick()
    registry.git("-C", str(wt), "commit", "-q", "-m", "fraud")
    assert "fraud" in show_wt()
    assert show_wt() == fresh_wt()
    assert run(registry, "show") == main_before == fresh(registry, "show")


def test_packed_refs_rewritten_at_once(lm: Cli, registry: GitRepo) -> None:
    """``pack-refs --all`` twice in a row, to a file of the same size, is still a change."""
    repo = registry
    repo.git("tag", "-a", "-m", "by hand", "churn#qa#3", "HEAD")
    repo.git("pack-refs", "--all")
    first = run(repo, "show", "churn")
    assert "qa" in first and run(repo, "show", "churn") == first
    assert not list((repo.path / ".git" / "refs" / "tags").iterdir())  # all packed
    size = (repo.path / ".git" / "packed-refs").stat().st_size
    repo.git("tag", "-d", "churn#qa#3")
    repo.git("tag", "-a", "-m", "by hand", "churn#qb#3", "HEAD")
    repo.git("pack-refs", "--all")
    assert (repo.path / ".git" / "packed-refs").stat().st_size == size
    second = run(repo, "show", "churn")
    assert "qb" in second and "qa" not in second
    assert second == fresh(repo, "show", "churn")
    # HEAD's branch, packed and then moved: a loose ref again.
    repo.commit({"dvc.yaml": "artifacts:\n  fraud:\n    type: model\n    path: m.pkl\n"})
    assert "fraud" in run(repo, "show")


def _reftable_supported() -> bool:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["git", "init", "-q", "--ref-format=reftable", tmp], capture_output=True
        )
        return proc.returncode == 0


def test_reftable_layout_is_computed_not_replayed(registry: GitRepo) -> None:
    """Where the refs are in reftable files, only git reads them: no replay, same output."""
    from landmark import gitrefs
    from landmark.cli import replay

    (registry.path / ".git" / "reftable").mkdir()  # what marks a reftable repository
    assert gitrefs.refs_stamp(str(registry.path / ".git"), str(registry.path / ".git")) is None
    assert replay.fingerprint(["show", "-r", str(registry.path)]) is None
    assert run(registry, "show") == fresh(registry, "show")
    assert saved(registry) == []


@pytest.mark.skipif(not _reftable_supported(), reason="this git has no reftable format")
def test_reftable_repository(tmp_path: Path, isolated_env: object) -> None:
    path = tmp_path / "rt"
    subprocess.run(["git", "init", "-q", "--ref-format=reftable", str(path)], check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=path, check=True)
    subprocess.run(
        ["git", "tag", "-a", "-m", "Registering artifact churn version v0.0.1", "churn@v0.0.1"],
        cwd=path,
        check=True,
    )
    proc = subprocess.run([LANDMARK, "show"], cwd=path, capture_output=True, text=True)
    assert proc.returncode == 0 and "churn" in proc.stdout
    assert not (path / ".git" / "landmark" / "replay").exists()


def test_compare_and_experiments_follow_branches_and_experiment_refs(
    lm: Cli, repo: GitRepo
) -> None:
    """compare replays only what commits hold: a moved branch, a new experiment ref or a new
    tag gives a full run; a compare of the work tree (named, or by default) is never saved."""
    repo.commit({"dvc.yaml": "metrics: [m.json]\n", "m.json": '{"acc": 1}'})
    repo.git("branch", "cand")
    lm("register", "m")
    args = ("compare", "m@v0.0.1", "cand", "--json")
    first = run(repo, *args)
    assert run(repo, *args) == first == fresh(repo, *args)
    assert len(saved(repo)) == 1
    repo.git("checkout", "-q", "cand")
    repo.commit({"m.json": '{"acc": 2}'})
    repo.git("checkout", "-q", "main")
    moved = run(repo, *args)
    assert '"acc": 2' in moved and moved == fresh(repo, *args)
    exp = repo.git("rev-parse", "cand")
    head = repo.git("rev-parse", "HEAD")
    repo.git("update-ref", f"refs/exps/{head[:2]}/{head[2:]}/try", exp)
    listed = run(repo, "experiments", "--json")
    assert '"try"' in listed and listed == fresh(repo, "experiments", "--json")
    repo.git("update-ref", f"refs/exps/{head[:2]}/{head[2:]}/again", exp)
    assert '"again"' in run(repo, "experiments", "--json")
    count = len(saved(repo))
    (repo.path / "m.json").write_text('{"acc": 3}')
    for line in (("compare", "m@v0.0.1", "workspace", "--json"), ("compare", "--json")):
        assert '"acc": 3' in run(repo, *line)
        (repo.path / "m.json").write_text('{"acc": 4}')
        assert '"acc": 4' in run(repo, *line)
        (repo.path / "m.json").write_text('{"acc": 3}')
    assert len(saved(repo)) == count
