"""The git gateway's file half: where a repository is, and a stamp that follows its refs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from landmark import gitrefs
from landmark.git import Repo

from .conftest import GitRepo


def stamp(repo: GitRepo, where: Path | None = None) -> bytes:
    found = gitrefs.locate(str(where or repo.path))
    assert found is not None
    _, git_dir, common = found
    result = gitrefs.refs_stamp(git_dir, common)
    assert result is not None
    return result


def test_locate_matches_git(repo: GitRepo, tmp_path: Path) -> None:
    sub = repo.path / "a" / "b"
    sub.mkdir(parents=True)
    git_dir = str(repo.path / ".git")
    assert gitrefs.locate(str(sub)) == (str(repo.path), git_dir, git_dir)
    # A linked worktree: its own git dir, the main one's common dir.
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "--detach", str(wt))
    own = repo.git("-C", str(wt), "rev-parse", "--absolute-git-dir")
    common = repo.git("-C", str(wt), "rev-parse", "--path-format=absolute", "--git-common-dir")
    assert gitrefs.locate(str(wt)) == (str(wt), own, common)
    assert gitrefs.common_dir(own) == common == git_dir
    # A bare repository, where it was asked for only.
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    assert gitrefs.locate(str(bare)) == (None, str(bare), str(bare))
    assert gitrefs.locate(str(bare / "refs")) is None
    assert gitrefs.locate(str(tmp_path / "missing")) is None


def test_stamp_follows_tags_and_head(repo: GitRepo) -> None:
    seen = {stamp(repo)}
    assert stamp(repo) in seen  # nothing changed, same stamp

    def changed() -> None:
        now = stamp(repo)
        assert now not in seen
        seen.add(now)

    repo.git("tag", "-a", "-m", "m", "a@v1.0.0")
    changed()
    repo.git("tag", "light")
    changed()
    repo.git("pack-refs", "--all")
    changed()
    repo.git("tag", "-d", "light")  # a packed tag: packed-refs is rewritten
    changed()
    repo.git("tag", "-f", "-a", "-m", "again", "a@v1.0.0")  # moved in place
    changed()
    repo.commit()  # HEAD's branch moves (it was packed: a loose ref again)
    changed()
    repo.git("checkout", "-q", "-b", "other")  # same commit, other branch: HEAD's text
    changed()
    repo.git("checkout", "-q", "--detach")
    changed()
    repo.git("branch", "unrelated")  # not a tag, not HEAD
    assert stamp(repo) in seen
    # Tags in folders (artifacts of a monorepo path look like this to git).
    repo.git("tag", "-a", "-m", "m", "dir/sub=model@v1.0.0")
    changed()


def test_stamp_in_a_linked_worktree(repo: GitRepo, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    main, linked = stamp(repo), stamp(repo, wt)
    repo.git("tag", "-a", "-m", "m", "a@v1.0.0")  # tags are shared
    assert stamp(repo) != main and stamp(repo, wt) != linked
    main, linked = stamp(repo), stamp(repo, wt)
    repo.tick()
    repo.git("-C", str(wt), "commit", "-q", "--allow-empty", "-m", "side")  # its HEAD only
    assert stamp(repo) == main and stamp(repo, wt) != linked


def test_reftable_asks_git(repo: GitRepo) -> None:
    """Without files to read (reftable), Repo.refs_stamp asks git, and still follows tags."""
    (repo.path / ".git" / "reftable").mkdir()
    assert gitrefs.uses_reftable(str(repo.path / ".git"))
    r = Repo.open(repo.path)
    before = r.refs_stamp()
    assert before.startswith(b"show-ref\0")
    repo.git("tag", "-a", "-m", "m", "a@v1.0.0")
    assert r.refs_stamp() != before
    assert b"refs/tags/a@v1.0.0" in r.refs_stamp()
