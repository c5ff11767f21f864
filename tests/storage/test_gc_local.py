"""Garbage collection of the local cache: what is kept, what goes, and the ``gc`` command."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from landmark.storage.cache import ObjectCache, repo_cache
from landmark.storage.dvcfile import read_dvcfile
from landmark.storage.gc import closure, gc, keep_hashes
from landmark.storage.hashing import DirEntry, manifest_bytes, manifest_hash

from ..conftest import Cli, GitRepo


def put(cache: ObjectCache, data: bytes) -> str:
    md5 = hashlib.md5(data).hexdigest()
    cache.put_bytes(data, md5)
    return md5


def put_dir(cache: ObjectCache, files: dict[str, bytes]) -> str:
    entries = [DirEntry(rel, put(cache, data)) for rel, data in files.items()]
    data = manifest_bytes(entries)
    md5 = manifest_hash(data)
    cache.put_bytes(data, md5)
    return md5


def test_gc_keeps_the_closure_of_what_is_kept(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    kept_file = put(cache, b"model v2")
    old_file = put(cache, b"model v1")
    kept_dir = put_dir(cache, {"a": b"shared", "b/c": b"only in the kept dir"})
    old_dir = put_dir(cache, {"a": b"shared", "z": b"only in the old dir"})
    only_old = hashlib.md5(b"only in the old dir").hexdigest()
    shared = hashlib.md5(b"shared").hexdigest()

    needed, unknown = closure(cache, {kept_file, kept_dir})
    assert shared in needed and only_old not in needed and unknown == []

    preview = gc(cache, {kept_file, kept_dir}, dry_run=True)
    assert preview.dry_run and set(preview.removed) == {old_file, old_dir, only_old}
    assert cache.exists(old_file)  # a dry run removes nothing

    old_manifest = cache.path(old_dir).stat().st_size
    result = gc(cache, {kept_file, kept_dir})
    assert set(result.removed) == {old_file, old_dir, only_old}
    assert result.freed == len(b"model v1") + len(b"only in the old dir") + old_manifest
    assert result.kept == 4
    assert set(cache.iter_hashes()) == {kept_file, kept_dir, shared} | {
        hashlib.md5(b"only in the kept dir").hexdigest()
    }
    # nothing left to do the second time
    assert gc(cache, {kept_file, kept_dir}).removed == ()


def test_gc_reports_kept_directories_it_cannot_see_into(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    stray = put(cache, b"stray")
    absent_dir = "f" * 32 + ".dir"
    result = gc(cache, {absent_dir})
    assert result.unknown_dirs == (absent_dir,) and result.removed == (stray,)


def test_gc_removes_stale_partial_objects_but_not_fresh_ones(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    fresh = cache.open_tmp("ab" * 16)
    fresh.write_bytes(b"being downloaded right now")
    stale = cache.open_tmp("cd" * 16)
    stale.write_bytes(b"left by a killed download")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    gc(cache, set())
    assert fresh.exists() and not stale.exists()


def test_keep_hashes_from_pointer_files_and_dvc_lock(repo: GitRepo, lm: Cli) -> None:
    (repo.path / "model.bin").write_bytes(b"weights")
    (repo.path / "data").mkdir()
    (repo.path / "data" / "x").write_bytes(b"x")
    lm("add", "model.bin", "data")
    (model,) = read_dvcfile(repo.path / "model.bin.dvc")
    (data,) = read_dvcfile(repo.path / "data.dvc")
    (repo.path / "sub").mkdir()
    (repo.path / "sub" / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train:\n    cmd: x\n    outs:\n"
        f"    - path: out.bin\n      hash: md5\n      md5: {'9' * 32}\n      size: 1\n"
    )
    assert keep_hashes(repo.path) == {model.md5, data.md5, "9" * 32}
    assert keep_hashes(repo.path, workspace=False, extra=["1" * 32]) == {"1" * 32}


def test_gc_command_keeps_the_work_tree_and_removes_the_rest(repo: GitRepo, lm: Cli) -> None:
    (repo.path / "model.bin").write_bytes(b"weights v1")
    lm("add", "model.bin")
    (v1,) = read_dvcfile(repo.path / "model.bin.dvc")
    (repo.path / "model.bin").unlink()
    (repo.path / "model.bin").write_bytes(b"weights v2")
    lm("add", "model.bin")
    (v2,) = read_dvcfile(repo.path / "model.bin.dvc")
    cache = repo_cache(repo.path)
    assert cache.exists(v1.md5) and cache.exists(v2.md5)

    out = lm("gc", "--dry-run").output
    assert "Would remove 1 object" in out and cache.exists(v1.md5)
    # without --force it asks; with no one to answer, nothing is removed
    result = lm("gc", ok=False)
    assert result.exit_code == 1 and cache.exists(v1.md5)
    out = lm("gc", "-f").output
    assert "Removed 1 object (10 B); kept 1 object" in out
    assert not cache.exists(v1.md5) and cache.exists(v2.md5)
    assert (repo.path / "model.bin").read_bytes() == b"weights v2"

    result = lm("gc", "--no-workspace", "-f", ok=False)
    assert result.exit_code == 2 and "nothing would be kept" in result.stderr
    assert cache.exists(v2.md5)


def test_gc_keeps_registered_versions_and_refs(repo: GitRepo, lm: Cli, tmp_path: Path) -> None:
    """Registered, non-deprecated versions keep their bytes after the work tree moved on."""
    (repo.path / "dvc.yaml").write_text("artifacts:\n  m:\n    type: model\n    path: model.bin\n")
    versions = {}
    for n in (1, 2, 3):
        target = repo.path / "model.bin"
        if target.exists():
            target.unlink()
        target.write_bytes(f"weights v{n}".encode())
        lm("add", "model.bin")
        (out,) = read_dvcfile(repo.path / "model.bin.dvc")
        versions[n] = out.md5
        repo.commit(message=f"v{n}")
        if n < 3:
            lm("register", "m", "--version", f"v{n}.0.0")
    cache = repo_cache(repo.path)
    storage = tmp_path / "storage"
    lm("remote", "add", "-d", "s", str(storage))
    lm("push")
    lm("gc", "-f")  # v3 is the work tree's, v1 and v2 are registered: nothing goes
    assert all(cache.exists(h) for h in versions.values())
    lm("deregister", "m", "v1.0.0")
    out = lm("gc", "-f").output
    assert "Removed 1 object" in out
    assert not cache.exists(versions[1]) and cache.exists(versions[2])
    # --no-registry keeps only the work tree (and --ref versions)
    lm("gc", "-f", "--no-registry", "--ref", "m@v2.0.0")
    assert cache.exists(versions[2])
    lm("deprecate", "m")
    lm("gc", "-f", "-c")
    assert not cache.exists(versions[2]) and cache.exists(versions[3])
    remote_objects = {
        p.parent.name + p.name for p in (storage / "files" / "md5").rglob("*") if p.is_file()
    }
    assert remote_objects == {versions[3]}
    result = lm("gc", "-f", "--ref", "m@v9.0.0", ok=False)
    assert result.exit_code == 3
