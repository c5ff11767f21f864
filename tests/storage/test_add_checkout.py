"""``landmark add``, ``checkout`` and ``status`` on real temporary git repositories."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from landmark.storage import workspace
from landmark.storage.cache import repo_cache
from landmark.storage.dvcfile import read_dvcfile
from landmark.storage.hashing import file_md5

from ..conftest import Cli, GitRepo

HOUR_AGO = time.time() - 3600


def write(root: Path, rel: str, data: bytes, mode: int | None = None) -> Path:
    """A file whose mtime is well in the past, so the stat cache may vouch for it."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mode is not None:
        path.chmod(mode)
    os.utime(path, (HOUR_AGO, HOUR_AGO))
    return path


def make_data(root: Path) -> None:
    write(root, "model.bin", b"weights" * 1000)
    write(root, "data/a.txt", b"a\n")
    write(root, "data/sub/b.txt", b"b\n")
    write(root, "data/sub/c.txt", b"a\n")  # same bytes as a.txt: one object


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file outside .git (and dvc's scratch folder .dvc/tmp), with its bytes."""
    return {
        rel: p.read_bytes()
        for p in root.rglob("*")
        if p.is_file()
        for rel in (p.relative_to(root).as_posix(),)
        if not rel.startswith((".git/", ".dvc/tmp/"))
    }


def set_cache_type(root: Path, kind: str) -> None:
    (root / ".dvc").mkdir(exist_ok=True)
    (root / ".dvc" / "config").write_text(f"[cache]\n    type = {kind}\n")


def one_line_error(result: object) -> str:
    err = result.stderr  # type: ignore[attr-defined]
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return str(err)


# -- add ----------------------------------------------------------------------------------------
def test_add_file_and_folder(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    out = lm("add", "model.bin", "data").output
    assert "Added model.bin, data" in out and "git add model.bin.dvc data.dvc .gitignore" in out

    (model,) = read_dvcfile(repo.path / "model.bin.dvc")
    assert (model.path, model.md5, model.size, model.nfiles) == (
        "model.bin",
        file_md5(repo.path / "model.bin"),
        7000,
        None,
    )
    (data,) = read_dvcfile(repo.path / "data.dvc")
    assert data.is_dir and data.nfiles == 3 and data.size == 6
    cache = repo_cache(repo.path)
    manifest = cache.read_manifest(data.md5)
    assert [e.relpath for e in manifest] == ["a.txt", "sub/b.txt", "sub/c.txt"]
    # three files, two distinct contents, a manifest and the model: four objects
    assert len(list(cache.iter_hashes())) == 4
    for md5 in cache.iter_hashes():
        assert stat.S_IMODE(cache.path(md5).stat().st_mode) == 0o444
    assert (repo.path / ".gitignore").read_text() == "/model.bin\n/data\n"
    # .dvc/ is made as dvc init makes it, so git and dvc both see a dvc repository
    assert (repo.path / ".dvc" / ".gitignore").read_text() == "/config.local\n/tmp\n/cache\n"
    assert {".dvc/config", ".dvc/.gitignore"} <= set(out.split())
    assert repo.git("status", "--porcelain", "--untracked-files=all").splitlines() == [
        "?? .dvc/.gitignore",
        "?? .dvc/config",
        "?? .gitignore",
        "?? data.dvc",
        "?? model.bin.dvc",
    ]


def test_hardlinks_share_the_inode_and_the_cache_is_read_only(repo: GitRepo, lm: Cli) -> None:
    set_cache_type(repo.path, "hardlink")
    make_data(repo.path)
    report = workspace.track(repo.path, [repo.path / "model.bin", repo.path / "data"])
    # four files linked; a.txt and sub/c.txt share one object
    assert report.links == {"hardlink": 4} and report.stored == 3
    cache = repo_cache(repo.path)
    for rel in ("model.bin", "data/a.txt", "data/sub/c.txt"):
        ws = repo.path / rel
        obj = cache.path(file_md5(ws))
        assert ws.stat().st_ino == obj.stat().st_ino
        assert stat.S_IMODE(obj.stat().st_mode) == 0o444


def test_copy_link_type_keeps_the_work_tree_writable(repo: GitRepo, lm: Cli) -> None:
    set_cache_type(repo.path, "copy")
    make_data(repo.path)
    report = workspace.track(repo.path, [repo.path / "model.bin"])
    assert report.links == {"copy": 1}
    ws = repo.path / "model.bin"
    obj = repo_cache(repo.path).path(report.outputs[0].md5)
    assert ws.stat().st_ino != obj.stat().st_ino
    assert obj.read_bytes() == ws.read_bytes()
    assert stat.S_IMODE(ws.stat().st_mode) == 0o644
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444
    (repo.path / "model.bin").unlink()
    lm("checkout")
    assert stat.S_IMODE(ws.stat().st_mode) == 0o644 and ws.read_bytes() == obj.read_bytes()


def test_default_link_kind_is_the_best_this_filesystem_has(repo: GitRepo) -> None:
    make_data(repo.path)
    report = workspace.track(repo.path, [repo.path / "model.bin"])
    ((kind, count),) = report.links.items()
    assert count == 1 and kind in ("reflink", "hardlink", "copy")
    ws = repo.path / "model.bin"
    obj = repo_cache(repo.path).path(report.outputs[0].md5)
    assert (ws.stat().st_ino == obj.stat().st_ino) == (kind == "hardlink")


def test_executable_file_keeps_its_mode(repo: GitRepo, lm: Cli) -> None:
    write(repo.path, "run.sh", b"#!/bin/sh\necho hi\n", mode=0o755)
    lm("add", "run.sh")
    assert "isexec: true" in (repo.path / "run.sh.dvc").read_text()
    assert os.access(repo.path / "run.sh", os.X_OK)
    (repo.path / "run.sh").unlink()
    lm("checkout")
    assert os.access(repo.path / "run.sh", os.X_OK)


def test_readd_unchanged_reads_nothing_and_rewrites_nothing(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    first = workspace.track(repo.path, [repo.path / "data"])
    assert first.hashed == 3
    pointer = repo.path / "data.dvc"
    before = (pointer.read_bytes(), pointer.stat().st_mtime_ns)
    again = workspace.track(repo.path, [repo.path / "data"])
    assert (again.hashed, again.stored, again.files) == (0, 0, 3)
    assert (pointer.read_bytes(), pointer.stat().st_mtime_ns) == before
    assert (repo.path / ".gitignore").read_text() == "/data\n"

    # one changed file is the only one read again
    path = repo.path / "data" / "sub" / "b.txt"
    path.unlink()  # a hard link to the cache is replaced, not written through
    write(repo.path, "data/sub/b.txt", b"changed\n")
    third = workspace.track(repo.path, [repo.path / "data"])
    assert (third.hashed, third.stored) == (1, 1)
    assert third.outputs[0].md5 != first.outputs[0].md5


def test_stat_cache_survives_a_damaged_file(repo: GitRepo) -> None:
    make_data(repo.path)
    workspace.track(repo.path, [repo.path / "data"])
    stats = repo.path / ".dvc" / "tmp" / "landmark-stats"
    stats.write_bytes(b"\x00garbage")
    assert workspace.track(repo.path, [repo.path / "data"]).hashed == 3
    assert workspace.track(repo.path, [repo.path / "data"]).hashed == 0


def test_gitignore_is_updated_beside_the_path_and_keeps_its_lines(repo: GitRepo, lm: Cli) -> None:
    write(repo.path, "models/churn/model.pkl", b"pickle")
    (repo.path / "models" / "churn" / ".gitignore").write_text("*.log\n# keep me")
    lm("add", "models/churn/model.pkl")
    assert (repo.path / "models/churn/.gitignore").read_text() == "*.log\n# keep me\n/model.pkl\n"
    assert (repo.path / "models/churn/model.pkl.dvc").exists()
    (out,) = read_dvcfile(repo.path / "models/churn/model.pkl.dvc")
    assert out.path == "model.pkl"
    lm("add", "models/churn/model.pkl")
    assert (repo.path / "models/churn/.gitignore").read_text().count("/model.pkl") == 1
    # git now ignores the data and sees the pointer
    assert repo.git("check-ignore", "models/churn/model.pkl") == "models/churn/model.pkl"


def test_add_from_a_subfolder_and_odd_names(repo: GitRepo, lm: Cli) -> None:
    write(repo.path, "sub/#weird [1].bin", b"x")
    Cli(repo.path / "sub", repo)("add", "#weird [1].bin")
    assert (repo.path / "sub" / "#weird [1].bin.dvc").exists()
    ignored = repo.git("check-ignore", "sub/#weird [1].bin")
    assert ignored == "sub/#weird [1].bin"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["nothere.bin"], 3, "does not exist"),
        (["../outside.bin"], 2, "outside the repository"),
        (["README.md"], 4, "tracked by git"),
        (["data/a.txt"], 4, "inside data, tracked by data.dvc"),
        (["model.bin", "nothere.bin"], 3, "does not exist"),
        (["data", "data/sub"], 2, "data/sub is inside data"),
        ([".git/config"], 2, "inside .git"),
        (["model.bin.dvc"], 2, "pointer file"),
    ],
)
def test_bad_paths_fail_on_one_line_and_write_nothing(
    repo: GitRepo, lm: Cli, args: list[str], code: int, words: str
) -> None:
    make_data(repo.path)
    (repo.path.parent / "outside.bin").write_bytes(b"x")
    if args[0].startswith("data/a"):
        lm("add", "data")
    if args[0].endswith(".dvc"):
        lm("add", "model.bin")
    before = snapshot(repo.path)
    result = lm("add", *args, ok=False)
    assert result.exit_code == code
    assert words in one_line_error(result)
    assert snapshot(repo.path) == before


def test_add_outside_any_repository(tmp_path: Path, repo: GitRepo) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "f").write_bytes(b"x")
    result = Cli(lonely, repo)("add", "f", ok=False)
    assert result.exit_code == 6 and "not inside a git or dvc repository" in one_line_error(result)
    assert sorted(os.listdir(lonely)) == ["f"]


# -- checkout -----------------------------------------------------------------------------------
def test_checkout_restores_what_is_missing_only(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    lm("add", "model.bin", "data")
    tree = snapshot(repo.path)
    (repo.path / "model.bin").unlink()
    (repo.path / "data" / "sub" / "b.txt").unlink()
    kept = (repo.path / "data" / "a.txt").stat().st_ino
    out = lm("checkout").output
    assert "Restored data" in out and "Restored model.bin" in out
    assert snapshot(repo.path) == tree
    assert (repo.path / "data" / "a.txt").stat().st_ino == kept  # untouched
    assert lm("checkout").output.strip() == "Everything is up to date"


def test_checkout_refuses_to_overwrite_changes_unless_forced(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    lm("add", "model.bin", "data")
    tree = snapshot(repo.path)
    (repo.path / "model.bin").unlink()
    write(repo.path, "model.bin", b"retrained")
    write(repo.path, "data/new.txt", b"untracked")
    result = lm("checkout", ok=False)
    assert result.exit_code == 4
    assert "--force" in one_line_error(result)
    assert (repo.path / "model.bin").read_bytes() == b"retrained"

    # only the named target: the other output is left as it is
    result = lm("checkout", "model.bin.dvc", ok=False)
    assert "model.bin has changes" in one_line_error(result)
    lm("checkout", "--force", "model.bin")
    assert (repo.path / "model.bin").read_bytes() == tree["model.bin"]
    assert (repo.path / "data" / "new.txt").exists()

    lm("checkout", "--force")
    assert snapshot(repo.path) == tree


def test_checkout_a_path_inside_a_tracked_folder(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    lm("add", "data")
    (repo.path / "data" / "a.txt").unlink()
    (repo.path / "data" / "sub" / "b.txt").unlink()
    lm("checkout", "data/sub")
    assert (repo.path / "data" / "sub" / "b.txt").read_bytes() == b"b\n"
    assert not (repo.path / "data" / "a.txt").exists()


def test_checkout_without_the_objects_says_to_pull(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    lm("add", "model.bin", "data")
    cache = repo_cache(repo.path)
    for md5 in list(cache.iter_hashes()):
        if not md5.endswith(".dir"):
            cache.remove(md5)
    (repo.path / "model.bin").unlink()
    before = snapshot(repo.path)
    result = lm("checkout", ok=False)
    assert result.exit_code == 3
    assert "landmark pull" in one_line_error(result)
    assert snapshot(repo.path) == before
    result = lm("checkout", "nothing-like-it", ok=False)
    assert result.exit_code == 3 and "not tracked" in one_line_error(result)


def test_checkout_in_a_fresh_clone_from_a_shared_cache(
    repo: GitRepo, lm: Cli, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-cache"
    (repo.path / ".dvc").mkdir()
    (repo.path / ".dvc" / "config").write_text(f"[cache]\n    dir = {shared}\n")
    make_data(repo.path)
    lm("add", "model.bin", "data")
    tree = snapshot(repo.path)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "track")
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.path), str(clone))
    Cli(clone, repo)("checkout")
    assert snapshot(clone) == tree


# -- status -------------------------------------------------------------------------------------
def test_status_names_what_differs(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    write(repo.path, "other.bin", b"other")
    lm("add", "model.bin", "data", "other.bin")
    assert "up to date" in lm("status").output
    lm("status", "-q")

    (repo.path / "model.bin").unlink()
    (repo.path / "data" / "a.txt").unlink()
    write(repo.path, "data/a.txt", b"edited\n")
    repo_cache(repo.path).remove(read_dvcfile(repo.path / "other.bin.dvc")[0].md5)
    out = lm("status").output
    assert "missing:" in out and "model.bin  (model.bin.dvc)" in out
    assert "modified:" in out and "data  (data.dvc)" in out
    assert "not in cache: other.bin" in out and "landmark pull" in out
    # Plain `status` is answered without click; with an option it goes through click: the
    # same report either way, for the whole tree and for targets.
    assert lm("status", "--root", ".").output == out
    targets = ("data", "model.bin")
    assert lm("status", *targets).output == lm("status", "--root", ".", *targets).output
    assert lm("status", "-q", ok=False).exit_code == 1
    rows = {r["path"]: r for r in json.loads(lm("status", "--json").output)["outputs"]}
    assert rows["model.bin"]["workspace"] == "missing"
    assert rows["data"]["workspace"] == "modified"
    assert rows["other.bin"]["workspace"] == "ok" and len(rows["other.bin"]["missing_objects"]) == 1

    local = workspace.status_local(repo.path, [repo.path / "data"])
    assert [o.path for o in local.outputs] == ["data"] and not local.clean
    # the objects a remote status needs: the files, then the manifest
    assert local.hashes()[-1].endswith(".dir") and len(local.hashes()) == 3


def test_status_of_an_untracked_path_is_one_clear_line(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    lm("add", "model.bin")
    for extra in ([], ["--root", "."]):  # without click, and through it
        result = lm("status", *extra, "nothing.bin", ok=False)
        assert result.exit_code == 3
        assert one_line_error(result) == (
            "error: nothing.bin is not tracked: no .dvc file or dvc.lock lists it\n"
        )


def test_status_counts_pipeline_outputs_from_dvc_lock(repo: GitRepo, lm: Cli) -> None:
    make_data(repo.path)
    lm("add", "model.bin")
    (model,) = read_dvcfile(repo.path / "model.bin.dvc")
    (repo.path / "model.bin.dvc").unlink()
    (repo.path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n"
        f"    - path: model.bin\n      hash: md5\n      md5: {model.md5}\n      size: {model.size}\n"
    )
    (row,) = workspace.status_local(repo.path).outputs
    assert (row.source, row.path, row.workspace) == ("dvc.lock", "model.bin", "ok")
    (repo.path / "model.bin").unlink()
    lm("checkout")
    assert (repo.path / "model.bin").read_bytes() == b"weights" * 1000


def test_a_change_through_a_hard_link_is_caught(repo: GitRepo, lm: Cli) -> None:
    """Root ignores the read-only mode: writing into a hard-linked file changes the cached
    object too. It must not pass for the tracked bytes."""
    set_cache_type(repo.path, "hardlink")
    make_data(repo.path)
    lm("add", "data")
    path = repo.path / "data" / "a.txt"
    path.chmod(0o644)
    with open(path, "ab") as f:
        f.write(b"more")
    out = lm("status").output
    assert "modified:" in out and "not in cache: data" in out
    result = lm("checkout", "--force", ok=False)
    assert "landmark pull" in one_line_error(result)
    lm("add", "data")
    assert "up to date" in lm("status").output


def test_outputs_may_not_overlap(repo: GitRepo, lm: Cli) -> None:
    """dvc's rule: one place declares an output, and none is inside another."""
    make_data(repo.path)
    lm("add", "data/sub/b.txt")
    result = lm("add", "data", ok=False)
    assert result.exit_code == 4
    assert "holds data/sub/b.txt, tracked by data/sub/b.txt.dvc" in one_line_error(result)
    (repo.path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n"
        f"    - path: model.bin\n      hash: md5\n      md5: {'a' * 32}\n      size: 1\n"
    )
    result = lm("add", "model.bin", ok=False)
    assert "model.bin is already an output in dvc.lock" in one_line_error(result)
    assert not (repo.path / "model.bin.dvc").exists()


def test_symlink_link_type(repo: GitRepo, lm: Cli) -> None:
    set_cache_type(repo.path, "symlink")
    make_data(repo.path)
    lm("add", "model.bin", "data")
    cache = repo_cache(repo.path)
    ws = repo.path / "model.bin"
    assert ws.is_symlink() and ws.resolve() == cache.path(file_md5(ws)).resolve()
    assert "0 hashed" in lm("add", "model.bin").output  # a link we made may be added again
    ws.unlink()
    (repo.path / "data" / "a.txt").unlink()
    lm("checkout")
    assert ws.is_symlink() and ws.read_bytes() == b"weights" * 1000
    assert (repo.path / "data" / "a.txt").read_bytes() == b"a\n"
    assert "up to date" in lm("status").output


def _data_state(root: Path) -> str:
    local = workspace.status_local(root, [root / "data"])
    (row,) = local.outputs
    return "missing objects" if row.missing_objects else row.workspace


def test_a_folder_found_as_tracked_is_vouched_for_whole(repo: GitRepo, lm: Cli) -> None:
    """``add`` records the folder (digest of every file's path, size, mtime, inode); a status
    whose walk matches answers from it, with the manifest's objects, the same as a full
    comparison would."""
    make_data(repo.path)
    lm("add", "data")
    stats = workspace.StatCache(repo.path)
    recorded = stats.folder("data")
    assert recorded is not None
    assert recorded.dir_md5 == read_dvcfile(repo.path / "data.dvc")[0].md5
    assert [rel for rel, _ in recorded.pairs()] == ["a.txt", "sub/b.txt", "sub/c.txt"]
    full = workspace.status_local(repo.path, [repo.path / "data"])
    assert _data_state(repo.path) == "ok"
    # the same objects as the full path lists (it is what a remote status sends)
    assert full.hashes()[-1] == recorded.dir_md5 and len(full.hashes()) == 3


@pytest.mark.parametrize(
    "change",
    ["edit same size", "touch", "new file", "remove file", "replace inode", "object gone"],
)
def test_a_recorded_folder_never_hides_a_change(repo: GitRepo, lm: Cli, change: str) -> None:
    make_data(repo.path)
    lm("add", "data")
    assert workspace.StatCache(repo.path).folder("data") is not None
    a = repo.path / "data" / "a.txt"
    if change == "edit same size":
        a.unlink()  # a hard link to the cache object: write a new file
        write(repo.path, "data/a.txt", b"z\n")
        os.utime(a, (HOUR_AGO + 5, HOUR_AGO + 5))
        expected = "modified"
    elif change == "touch":
        os.utime(a, (HOUR_AGO + 5, HOUR_AGO + 5))  # same bytes: still as tracked
        expected = "ok"
    elif change == "new file":
        write(repo.path, "data/sub/new.txt", b"new\n")
        expected = "modified"
    elif change == "remove file":
        (repo.path / "data" / "sub" / "b.txt").unlink()
        expected = "modified"
    elif change == "replace inode":
        data = a.read_bytes()
        a.unlink()
        write(repo.path, "data/a.txt", data)  # same bytes and mtime, new inode
        expected = "ok"
    else:
        repo_cache(repo.path).remove(file_md5(repo.path / "data" / "sub" / "b.txt"))
        expected = "missing objects"
    assert _data_state(repo.path) == expected
    assert _data_state(repo.path) == expected  # and again, from whatever was recorded
    if expected == "ok":
        assert workspace.StatCache(repo.path).folder("data") is not None


def _no_listing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the cache listings status makes (it should make none for a vouched folder)."""
    calls: list[int] = []
    real = workspace.ObjectCache.existing

    def counting(self: workspace.ObjectCache, hashes: object) -> set[str]:
        calls.append(1)
        return real(self, hashes)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace.ObjectCache, "existing", counting)
    return calls


def test_add_vouches_for_the_objects_it_wrote(
    repo: GitRepo, lm: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``add`` backdates and signs the cache folders it wrote to: the next status takes the
    folder and its objects on trust without listing the cache, and still sees a change."""
    make_data(repo.path)
    lm("add", "data")
    record = workspace.StatCache(repo.path).folder("data")
    assert record is not None and record.objects
    calls = _no_listing(monkeypatch)
    assert _data_state(repo.path) == "ok"
    assert calls == []
    # An object removed now stamps its folder: listed again, and reported.
    repo_cache(repo.path).remove(file_md5(repo.path / "data" / "sub" / "b.txt"))
    assert _data_state(repo.path) == "missing objects"
    assert calls == [1]


def test_a_cache_folder_changed_within_the_racy_window_is_not_signed(
    repo: GitRepo, lm: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fan-out folder stamped too recently could change again in the same clock tick
    unseen: the cache is listed every time until it settles."""
    make_data(repo.path)
    lm("add", "data")
    cache = repo_cache(repo.path)
    soon = time.time() + 30  # newer than any run's start, as a change during it is
    folder = os.path.dirname(cache.ospath(file_md5(repo.path / "data" / "a.txt")))
    os.utime(folder, (soon, soon))
    calls = _no_listing(monkeypatch)
    assert _data_state(repo.path) == "ok"
    assert _data_state(repo.path) == "ok"
    assert calls == [1, 1]
    assert not workspace.StatCache(repo.path).folder("data").objects  # type: ignore[union-attr]


def test_status_signs_the_cache_once_it_has_settled(
    repo: GitRepo, lm: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record without a signature (objects fetched later, say) is signed by the first
    status that finds every object, and the next one lists nothing."""
    make_data(repo.path)
    lm("add", "data")
    stats = workspace.StatCache(repo.path)
    stats.vouch_objects("data", None)
    stats.save()
    assert not workspace.StatCache(repo.path).folder("data").objects  # type: ignore[union-attr]
    calls = _no_listing(monkeypatch)
    assert _data_state(repo.path) == "ok"
    assert _data_state(repo.path) == "ok"
    assert calls == [1]


def test_a_folder_with_fresh_files_is_not_vouched_for(repo: GitRepo, lm: Cli) -> None:
    """Files changed within the racy window could change again in the same clock tick
    without a new mtime: such a folder is compared in full every time."""
    make_data(repo.path)
    soon = time.time() + 30  # newer than any run's start, as a file written during it is
    os.utime(repo.path / "data" / "sub" / "b.txt", (soon, soon))  # bytes no other file has
    lm("add", "data")
    assert workspace.StatCache(repo.path).folder("data") is None
    assert _data_state(repo.path) == "ok"
