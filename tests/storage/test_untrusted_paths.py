"""Crafted pointer files, manifests and symlinks (issue 10): nothing is written outside the work
tree (or ``get``'s output), nothing in ``.git``/``.dvc``, and ``add`` never loses data."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from landmark.storage import remotes, workspace
from landmark.storage.cache import repo_cache

from ..conftest import Cli, GitRepo
from .conftest import Dvc

DATA = b"hello world!\n"  # 13 bytes
MD5 = hashlib.md5(DATA).hexdigest()


def tree(top: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under ``top`` with its mode and content (a link's target)."""
    found: dict[str, tuple[int, bytes | str]] = {}
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                found[str(p)] = (st.st_mode, os.readlink(p))
            elif p.is_file():
                found[str(p)] = (st.st_mode, p.read_bytes())
            else:
                found[str(p)] = (st.st_mode, "")
    return found


def pointer(path: str, md5: str = MD5, size: int = 13) -> str:
    return f"outs:\n- md5: {md5}\n  size: {size}\n  hash: md5\n  path: {path}\n"


@pytest.fixture
def deep(tmp_path: Path, repo: GitRepo) -> tuple[Path, GitRepo, Cli]:
    """A repository at TOP/a/b/r (``repo`` is moved there) with DATA's object in its cache."""
    top = tmp_path / "TOP"
    root = top / "a" / "b" / "r"
    root.parent.mkdir(parents=True)
    repo.path.rename(root)
    repo.path = root
    (root / "f.txt").write_bytes(DATA)
    workspace.add(root, [root / "f.txt"])
    (root / "f.txt").unlink()
    (root / "f.txt.dvc").unlink()
    (top / "victim.txt").write_bytes(b"precious\n")
    return top, repo, Cli(root, repo)


def error_line(result: object) -> str:
    out = result.output.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    return out


def test_checkout_refuses_a_pointer_that_leaves_the_work_tree(
    deep: tuple[Path, GitRepo, Cli],
) -> None:
    top, repo, lm = deep
    (repo.path / "t.dvc").write_text(pointer("../../outside.txt"))
    repo.commit({}, "crafted")
    before = tree(top)
    for args in (["checkout"], ["checkout", "--force"], ["status"], ["pull"], ["push"]):
        result = lm(*args, ok=False)
        assert result.exit_code == 2, result.output
        assert "t.dvc" in error_line(result) and "../../outside.txt" in result.output
    assert not (top / "a" / "outside.txt").exists()
    assert tree(top) == before


def test_checkout_force_never_overwrites_a_file_outside(deep: tuple[Path, GitRepo, Cli]) -> None:
    top, repo, lm = deep
    (repo.path / "t.dvc").write_text(pointer("../../../victim.txt"))
    before = tree(top)
    assert lm("checkout", ok=False).exit_code == 2
    assert lm("checkout", "--force", ok=False).exit_code == 2
    assert (top / "victim.txt").read_bytes() == b"precious\n"
    assert tree(top) == before


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".git/hooks/pre-commit",
        ".GIT/config",
        ".dvc/config",
        "x/../.git/config",
        "/etc/passwd",
        ".",
    ],
)
def test_checkout_force_never_writes_into_git_or_dvc(
    deep: tuple[Path, GitRepo, Cli], path: str
) -> None:
    top, repo, lm = deep
    (repo.path / "t.dvc").write_text(pointer(path))
    before = tree(top)
    result = lm("checkout", "--force", ok=False)
    assert result.exit_code == 2
    error_line(result)
    assert tree(top) == before


def test_a_committed_symlink_cannot_carry_a_write_outside(
    deep: tuple[Path, GitRepo, Cli],
) -> None:
    top, repo, lm = deep
    (top / "elsewhere").mkdir()
    os.symlink("../../../elsewhere", repo.path / "out")  # committed: git tracks symlinks
    (repo.path / "t.dvc").write_text(pointer("out/f.txt"))
    repo.commit({}, "link")
    before = tree(top)
    result = lm("checkout", "--force", ok=False)
    assert result.exit_code == 2 and "symbolic link" in error_line(result)
    assert not (top / "elsewhere" / "f.txt").exists()
    assert tree(top) == before


def test_a_symlinked_folder_inside_a_tracked_folder_is_not_written_through(
    deep: tuple[Path, GitRepo, Cli],
) -> None:
    top, repo, lm = deep
    root = repo.path
    (root / "d" / "sub").mkdir(parents=True)
    (root / "d" / "sub" / "x.txt").write_bytes(DATA)
    (root / "d" / "y.txt").write_bytes(b"y\n")
    workspace.add(root, [root / "d"])
    for p in (root / "d" / "sub" / "x.txt", root / "d" / "y.txt"):
        p.unlink()
    (root / "d" / "sub").rmdir()
    (top / "elsewhere").mkdir()
    os.symlink(str(top / "elsewhere"), root / "d" / "sub")
    before = tree(top)
    result = lm("checkout", "--force", ok=False)
    assert result.exit_code == 2 and "symbolic link" in error_line(result)
    assert tree(top) == before  # y.txt was not written either: nothing half-applied


# -- manifests -------------------------------------------------------------------------------
def put_object(storage: Path, md5: str, data: bytes) -> None:
    p = storage / "files" / "md5" / md5[:2] / md5[2:]
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def crafted_manifest_repo(repo: GitRepo, lm: Cli, storage: Path, relpath: str) -> None:
    """A registered artifact ``evil`` whose ``.dir`` manifest on the remote names ``relpath``."""
    root = repo.path
    rows = [{"md5": MD5, "relpath": "ok.txt"}, {"md5": MD5, "relpath": relpath}]
    data = json.dumps(rows).encode()
    dir_md5 = hashlib.md5(data).hexdigest() + ".dir"
    put_object(storage, MD5, DATA)
    put_object(storage, dir_md5, data)
    remotes.add_remote(root, "store", str(storage), default=True, cwd=root)
    (root / "models.dvc").write_text(
        f"outs:\n- md5: {dir_md5}\n  size: 26\n  nfiles: 2\n  hash: md5\n  path: models\n"
    )
    (root / "dvc.yaml").write_text("artifacts:\n  evil:\n    type: model\n    path: models\n")
    repo.commit({}, "evil")
    lm("register", "evil", "--version", "v0.0.1")


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "git"])
def test_pull_and_get_refuse_manifest_entries_that_escape(
    tmp_path: Path, repo: GitRepo, lm: Cli, kind: str
) -> None:
    sandbox = tmp_path / "sandbox"
    target = sandbox / "evil-abs"
    relpath = {"dotdot": "../../evil", "absolute": str(target), "git": ".git/config"}[kind]
    crafted_manifest_repo(repo, lm, tmp_path / "storage", relpath)
    clone = sandbox / "x" / "clone"
    clone.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    before = tree(sandbox)
    result = Cli(clone, repo)("pull", ok=False)
    assert result.exit_code == 2, result.output
    assert relpath in error_line(result)
    after = tree(sandbox)
    new = {p for p in after if p not in before and "/.dvc/" not in p}
    assert new == set(), new  # the work tree got nothing (not even ok.txt); nothing escaped
    assert not (sandbox / "evil").exists() and not target.exists()

    out = sandbox / "got" / "out"
    result = Cli(sandbox, repo)(
        "get", "evil@v0.0.1", "-r", str(repo.path), "-o", str(out), ok=False
    )
    assert result.exit_code == 2, result.output
    error_line(result)
    assert not out.exists() and not (sandbox / "evil").exists() and not target.exists()
    assert not list((sandbox / "got").iterdir())  # no half-built folder left


def test_manifest_entry_listed_as_file_and_folder_is_refused(
    tmp_path: Path, repo: GitRepo, lm: Cli
) -> None:
    crafted_manifest_repo(repo, lm, tmp_path / "storage", "ok.txt/inner")
    result = lm("pull", ok=False)
    assert result.exit_code == 2 and "both a file and a folder" in error_line(result)
    assert not (repo.path / "models").exists()


def test_pointer_hash_that_is_not_an_md5_is_refused(deep: tuple[Path, GitRepo, Cli]) -> None:
    top, repo, lm = deep
    (repo.path / "t.dvc").write_text(
        "outs:\n- md5: ../../../../victim.txt\n  size: 1\n  hash: md5\n  path: t\n"
    )
    before = tree(top)
    for args in (["checkout", "--force"], ["status"], ["gc", "-f", "--no-registry"]):
        result = lm(*args, ok=False)
        assert result.exit_code == 2, result.output
        error_line(result)
    assert tree(top) == before


# -- add and symlinks ------------------------------------------------------------------------
def test_add_keeps_a_file_reached_through_a_symlink(repo: GitRepo, lm: Cli) -> None:
    root = repo.path
    (root / "d").mkdir()
    (root / "d" / "real.txt").write_text("precious\n")
    os.symlink("real.txt", root / "d" / "inner")
    lm("add", "d")
    assert (root / "d" / "real.txt").read_text() == "precious\n"
    assert os.readlink(root / "d" / "inner") == "real.txt"
    assert (root / "d" / "inner").read_text() == "precious\n"
    cache = repo_cache(root)
    for md5 in cache.iter_hashes():
        obj = Path(cache.ospath(md5))
        assert obj.is_file() and not obj.is_symlink()
    assert lm("status", "-q").exit_code == 0


def test_add_never_touches_a_file_outside_the_repo(tmp_path: Path, repo: GitRepo, lm: Cli) -> None:
    root = repo.path
    outside = tmp_path / "outside.txt"
    outside.write_text("mine\n")
    outside.chmod(0o644)
    (root / "d").mkdir()
    os.symlink(str(outside), root / "d" / "out")
    hard = tmp_path / "hard-outside.txt"
    hard.write_text("shared inode\n")
    hard.chmod(0o664)
    os.link(hard, root / "d" / "hard.txt")
    lm("add", "d")
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644 and outside.read_text() == "mine\n"
    assert stat.S_IMODE(hard.stat().st_mode) == 0o664 and hard.stat().st_nlink == 2
    assert (root / "d" / "out").is_symlink()
    cache = repo_cache(root)
    for md5 in cache.iter_hashes():
        ost = os.lstat(cache.ospath(md5))
        assert stat.S_ISREG(ost.st_mode)
        assert ost.st_ino not in (outside.stat().st_ino, hard.stat().st_ino)
    # a fresh checkout elsewhere gets regular files with the linked content
    (root / "d" / "out").unlink()
    (root / "d" / "hard.txt").unlink()
    lm("checkout")
    assert (root / "d" / "out").read_text() == "mine\n" and not (root / "d" / "out").is_symlink()
    assert outside.read_text() == "mine\n" and hard.read_text() == "shared inode\n"


@pytest.mark.compat
def test_symlinks_give_the_same_folder_hash_as_dvc(tmp_path: Path, repo: GitRepo, dvc: Dvc) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "z.txt").write_text("z\n")
    (tmp_path / "victim.txt").write_text("outside\n")
    peer = tmp_path / "peer"
    peer.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=peer, check=True)
    dvc("init", "-q", cwd=peer)
    for top in (repo.path, peer):
        d = top / "d"
        d.mkdir()
        (d / "real.txt").write_text("precious\n")
        os.symlink("real.txt", d / "inner")
        os.symlink(str(tmp_path / "victim.txt"), d / "out")
        os.symlink(str(elsewhere), d / "sub")  # a folder link: left out by both
    [ours] = workspace.add(repo.path, [repo.path / "d"])
    dvc("add", "-q", "d", cwd=peer)
    theirs = (peer / "d.dvc").read_text()
    assert f"md5: {ours.md5}" in theirs and "nfiles: 3" in theirs
    assert (tmp_path / "victim.txt").read_text() == "outside\n"
