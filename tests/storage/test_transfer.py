"""Transfer conformance: the same push/pull/fetch/status/gc claims against every back end.

Each test runs once per back end: a local folder remote, fsspec's memory filesystem, and real
servers on 127.0.0.1 configured as a user would (``remote modify``, credentials in
``.dvc/config.local``): S3 (moto, through s3fs with ``endpointurl`` and keys), GCS
(gcp-storage-emulator, through gcsfs with ``endpointurl``), Azure (azurite, through adlfs with
a ``connection_string``) and SSH (asyncssh's SFTP server, through sshfs with ``port``, ``user``
and ``keyfile``, the server's key checked against ``~/.ssh/known_hosts``). Data is tracked in a real git repo, committed, and pulled into a fresh
``git clone`` as a teammate would.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from landmark.errors import IntegrityError
from landmark.storage import transfer
from landmark.storage.cache import repo_cache
from landmark.storage.stores import RemoteStore
from landmark.storage.workspace import add

from ..conftest import Cli, GitRepo
from .backends import Backend, copy_local_config, iter_files

_rng = random.Random(7)
MODEL = _rng.randbytes(300_000)
TREE = {
    "a.txt": b"alpha\n",
    "b.txt": b"beta\n",
    "same-as-a.txt": b"alpha\n",  # one object, two names
    "empty": b"",
    "sub/deep/w.bin": _rng.randbytes(40_000),
    "sub/c.csv": b"x,y\n1,2\n",
}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_data(root: Path) -> None:
    (root / "model.bin").write_bytes(MODEL)
    for rel, data in TREE.items():
        p = root / "data" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def track(repo: GitRepo, backend: Backend) -> None:
    """Data tracked, a remote configured, everything committed (data itself git-ignored)."""
    write_data(repo.path)
    add(repo.path, [repo.path / "model.bin", repo.path / "data"])
    backend.configure(repo.path)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "track data")


def clone(repo: GitRepo, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(repo.path), str(dest)], check=True)
    copy_local_config(repo.path, dest)
    return dest


def assert_restored(root: Path) -> None:
    assert (root / "model.bin").read_bytes() == MODEL
    for rel, data in TREE.items():
        assert (root / "data" / rel).read_bytes() == data, rel
    found = {p.relative_to(root / "data").as_posix() for p in iter_files(root / "data")}
    assert found == set(TREE)


def all_objects(repo: Path) -> set[str]:
    return set(repo_cache(repo).iter_hashes())


def assert_cache_sound(repo: Path) -> None:
    """Every file under the cache is a complete object whose bytes match its name."""
    cache = repo_cache(repo)
    base = cache.root / "files" / "md5"
    for path in iter_files(base):
        name = path.parent.name + path.name
        assert not path.name.startswith(".lmtmp-") or not name.endswith(".dir")
        if path.name.startswith("."):
            continue  # a hidden temp file, never an object
        data = path.read_bytes()
        want = name[:-4] if name.endswith(".dir") else name
        assert md5(data) == want, f"corrupt object {name} in the cache"


class Recording(RemoteStore):
    """Delegates to a real store and records the uploads, in order."""

    def __init__(self, inner: RemoteStore) -> None:
        self.inner = inner
        self.url = inner.url
        self.read_only = inner.read_only
        self.default_jobs = inner.default_jobs
        self.uploads: list[str] = []

    def exists(self, md5: str) -> bool:
        return self.inner.exists(md5)

    def exists_many(self, md5s: Iterable[str], jobs: int | None = None) -> set[str]:
        return self.inner.exists_many(md5s, jobs)

    def upload(self, local_path: str | Path, md5: str) -> int:
        size = self.inner.upload(local_path, md5)
        self.uploads.append(md5)
        return size

    def download(self, md5: str, dest_tmp: Path) -> int:
        return self.inner.download(md5, dest_tmp)

    def list_hashes(self) -> Iterable[str]:  # type: ignore[override]
        return self.inner.list_hashes()

    def remove(self, md5: str) -> None:
        self.inner.remove(md5)


def recording(repo: Path) -> Recording:
    return Recording(transfer.open_store(repo))


# -- push / pull ------------------------------------------------------------------------------------
def test_push_then_pull_in_fresh_clone_restores_bytes(
    repo: GitRepo, lm: Cli, backend: Backend, tmp_path: Path
) -> None:
    track(repo, backend)
    out = lm("push").output
    assert "Pushed 7 objects" in out  # 6 distinct files + the .dir
    assert backend.objects() == all_objects(repo.path)

    other = clone(repo, tmp_path / "clone")
    result = Cli(other, repo)("pull")
    assert "Restored model.bin" in result.output and "Restored data" in result.output
    assert_restored(other)
    assert all_objects(other) == all_objects(repo.path)
    assert_cache_sound(other)
    # Pulling again has nothing to do.
    assert "Everything is up to date" in Cli(other, repo)("pull").output


def test_only_missing_objects_are_sent(repo: GitRepo, backend: Backend) -> None:
    track(repo, backend)
    first = recording(repo.path)
    sel = transfer.select(repo.path)
    result = transfer.push(repo_cache(repo.path), first, sel.hashes, labels=sel.labels)
    assert sorted(first.uploads) == sorted(all_objects(repo.path))
    assert result.transferred == len(first.uploads) == 7

    again = recording(repo.path)
    result = transfer.push(repo_cache(repo.path), again, sel.hashes)
    assert again.uploads == [] and result.transferred == 0

    # One more file in the directory: that file and the new manifest, nothing else.
    (repo.path / "data" / "new.txt").write_bytes(b"new\n")
    add(repo.path, [repo.path / "data"])
    third = recording(repo.path)
    sel = transfer.select(repo.path)
    transfer.push(repo_cache(repo.path), third, sel.hashes)
    new_dir = next(h for h in sel.hashes if h.endswith(".dir"))
    assert third.uploads == [md5(b"new\n"), new_dir]


def test_directory_manifest_goes_last(repo: GitRepo, backend: Backend) -> None:
    track(repo, backend)
    store = recording(repo.path)
    sel = transfer.select(repo.path)
    transfer.push(repo_cache(repo.path), store, sel.hashes, jobs=4)
    dir_md5 = next(h for h in sel.hashes if h.endswith(".dir"))
    entries = {md5(d) for d in TREE.values()}
    position = store.uploads.index(dir_md5)
    assert entries <= set(store.uploads[:position])


def test_status_before_and_after(repo: GitRepo, backend: Backend, tmp_path: Path) -> None:
    track(repo, backend)
    before = transfer.status_repo(repo.path)
    assert {i.label: i.state for i in before.items} == {
        "model.bin": "not pushed",
        "data": "not pushed",
    }
    assert not before.in_sync

    transfer.push_repo(repo.path)
    after = transfer.status_repo(repo.path)
    assert after.in_sync and {i.state for i in after.items} == {"ok"}

    other = clone(repo, tmp_path / "clone")
    fresh = transfer.status_repo(other)
    assert {i.label: i.state for i in fresh.items} == {
        "model.bin": "not in cache",
        "data": "not in cache",
    }
    backend.delete(md5(MODEL))
    assert transfer.status_repo(other, [other / "model.bin"]).items[0].state == "missing"


def test_fetch_fills_the_cache_only(repo: GitRepo, backend: Backend, tmp_path: Path) -> None:
    track(repo, backend)
    transfer.push_repo(repo.path)
    other = clone(repo, tmp_path / "clone")
    result = transfer.fetch_repo(other, jobs=2)
    assert result.transferred == 7
    assert all_objects(other) == all_objects(repo.path)
    assert not (other / "model.bin").exists() and not (other / "data").exists()
    assert transfer.fetch_repo(other).transferred == 0


def test_targets_select_what_moves(
    repo: GitRepo, lm: Cli, backend: Backend, tmp_path: Path
) -> None:
    track(repo, backend)
    lm("push", "model.bin.dvc")
    assert backend.objects() == {md5(MODEL)}
    lm("push", "data")
    assert backend.objects() == all_objects(repo.path)

    other = clone(repo, tmp_path / "clone")
    Cli(other, repo)("pull", "data")
    assert not (other / "model.bin").exists()
    assert (other / "data" / "sub" / "c.csv").read_bytes() == TREE["sub/c.csv"]


def test_gc_remote_keeps_what_is_named(repo: GitRepo, backend: Backend) -> None:
    track(repo, backend)
    transfer.push_repo(repo.path)
    store = transfer.open_store(repo.path)
    dir_md5 = next(h for h in backend.objects() if h.endswith(".dir"))
    removed = transfer.gc_remote(store, {dir_md5}, cache=None)
    assert removed == [md5(MODEL)]
    assert backend.objects() == all_objects(repo.path) - {md5(MODEL)}
    # The manifest is read from the remote when the cache has none; .dir objects go first.
    removed = transfer.gc_remote(store, {md5(MODEL)})
    assert removed[0] == dir_md5 and md5(MODEL) not in removed
    assert backend.objects() == set()


# -- what the remote gets wrong ---------------------------------------------------------------------
def test_missing_object_on_remote_names_the_file(
    repo: GitRepo, lm: Cli, backend: Backend, tmp_path: Path
) -> None:
    track(repo, backend)
    lm("push")
    backend.delete(md5(TREE["sub/c.csv"]))
    other = clone(repo, tmp_path / "clone")
    result = Cli(other, repo)("pull", ok=False)
    assert result.exit_code == 3
    line = result.output.strip()
    assert "\n" not in line and "data/sub/c.csv" in line and "missing" in line
    assert not (other / "data").exists()  # nothing checked out half
    assert_cache_sound(other)


def test_corrupt_remote_object_is_refused(
    repo: GitRepo, lm: Cli, backend: Backend, tmp_path: Path
) -> None:
    track(repo, backend)
    lm("push")
    backend.write(md5(MODEL), MODEL[:-1] + b"!")
    other = clone(repo, tmp_path / "clone")
    result = Cli(other, repo)("pull", ok=False)
    assert result.exit_code == 9
    assert "model.bin" in result.output and "corrupt" in result.output
    assert not repo_cache(other).exists(md5(MODEL))
    assert not (other / "model.bin").exists()
    assert_cache_sound(other)
    leftovers = [p for p in iter_files(repo_cache(other).root) if p.name.startswith(".lmtmp-")]
    assert leftovers == []


def test_corrupt_remote_manifest_is_refused(
    repo: GitRepo, backend: Backend, tmp_path: Path
) -> None:
    track(repo, backend)
    transfer.push_repo(repo.path)
    dir_md5 = next(h for h in backend.objects() if h.endswith(".dir"))
    backend.write(dir_md5, b'[{"md5": "00000000000000000000000000000000", "relpath": "x"}]')
    other = clone(repo, tmp_path / "clone")
    with pytest.raises(IntegrityError, match="data"):
        transfer.pull_repo(other, [other / "data"])
    assert not repo_cache(other).exists(dir_md5)
    assert not (other / "data").exists()


def test_status_cloud_cli(repo: GitRepo, lm: Cli, backend: Backend, tmp_path: Path) -> None:
    track(repo, backend)
    out = lm("status", "-c").output
    assert "Remote " in out and "not pushed:" in out and "model.bin" in out
    assert lm("status", "-c", "-q", ok=False).exit_code == 1
    lm("push")
    out = lm("status", "--cloud").output
    assert f"Cache and remote {backend.url} are in sync" in out
    lm("status", "-c", "-q")

    other = clone(repo, tmp_path / "clone")
    teammate = Cli(other, repo)
    import json

    data = json.loads(teammate("status", "-r", "store", "--json").output)
    assert data["remote"]["in_sync"] is False
    assert {o["path"]: o["state"] for o in data["remote"]["outputs"]} == {
        "model.bin": "not in cache",
        "data": "not in cache",
    }


def test_large_object_is_verified_on_the_way_in(
    repo: GitRepo, backend: Backend, tmp_path: Path
) -> None:
    big = _rng.randbytes(3 * 1024 * 1024 + 17)  # larger than one copy chunk, not a multiple
    (repo.path / "big.bin").write_bytes(big)
    add(repo.path, [repo.path / "big.bin"])
    track(repo, backend)
    transfer.push_repo(repo.path)

    other = clone(repo, tmp_path / "clone")
    transfer.pull_repo(other, [other / "big.bin"])
    assert (other / "big.bin").read_bytes() == big

    backend.write(md5(big), big[:-1] + bytes([big[-1] ^ 1]))
    third = clone(repo, tmp_path / "third")
    with pytest.raises(IntegrityError, match=r"big\.bin"):
        transfer.pull_repo(third, [third / "big.bin"])
    assert not repo_cache(third).exists(md5(big))
    assert not (third / "big.bin").exists()
    assert_cache_sound(third)
