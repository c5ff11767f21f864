"""Transfers under faults: remotes that fail midway or flake, processes killed mid-transfer,
missing credentials, buckets, back ends, read-only remotes.

Faults are injected around the real filesystem (memory, or s3fs talking to moto on
127.0.0.1) by :class:`Flaky`, which passes every call through to it except the ones it is told
to break; a killed transfer is a real process getting SIGKILL. After each fault the claim is
the same: nothing partial or corrupt is visible, and running the command again finishes the job
with the right bytes.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from landmark.errors import NotFound, RemoteError
from landmark.storage import remotes, transfer
from landmark.storage.cache import repo_cache
from landmark.storage.stores import FsspecStore
from landmark.storage.workspace import add

from ..conftest import Cli, GitRepo
from .backends import (
    Backend,
    S3Server,
    backend_for,
    iter_files,
    make_backend,
    scrub_aws_env,
)
from .test_transfer import (
    MODEL,
    TREE,
    all_objects,
    assert_cache_sound,
    assert_restored,
    clone,
    md5,
    track,
)


class Flaky:
    """An fsspec filesystem that breaks where ``fault(op, path, calls)`` returns an exception.

    ``calls`` counts earlier calls of the same operation. A failing download first writes half
    of the object to its destination, as a connection dropped mid-stream would.
    """

    def __init__(self, fs: Any, fault: Callable[[str, str, int], BaseException | None]) -> None:
        self.fs = fs
        self.fault = fault
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fs, name)

    def _check(self, op: str, path: str) -> BaseException | None:
        n = self.calls.get(op, 0)
        self.calls[op] = n + 1
        return self.fault(op, path, n)

    def get_file(self, rpath: str, lpath: str, **kw: Any) -> Any:
        err = self._check("get_file", rpath)
        if err is not None:
            data = bytes(self.fs.cat_file(rpath))
            Path(lpath).write_bytes(data[: len(data) // 2])
            raise err
        return self.fs.get_file(rpath, lpath, **kw)

    def put_file(self, lpath: str, rpath: str, **kw: Any) -> Any:
        err = self._check("put_file", rpath)
        if err is not None:
            raise err
        return self.fs.put_file(lpath, rpath, **kw)


@pytest.fixture(params=["memory", "s3"])
def fsspec_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    yield from backend_for(request, tmp_path, monkeypatch)


def flaky_store(repo: Path, fault: Callable[[str, str, int], BaseException | None]) -> FsspecStore:
    real = transfer.open_store(repo)
    assert isinstance(real, FsspecStore)
    return FsspecStore(Flaky(real.fs, fault), real.root, real.url, backoff=0.001)


def temp_files(root: Path) -> list[Path]:
    return [p for p in iter_files(root) if p.name.startswith(".lmtmp-")]


# -- remotes that fail --------------------------------------------------------------------------------
def test_remote_failing_midway_then_retry(
    repo: GitRepo, fsspec_backend: Backend, tmp_path: Path
) -> None:
    track(repo, fsspec_backend)
    transfer.push_repo(repo.path)
    other = clone(repo, tmp_path / "clone")
    sel = transfer.select(other)

    def dies_after_three(op: str, path: str, n: int) -> BaseException | None:
        return OSError(errno.EIO, "the disk behind the remote failed") if n >= 3 else None

    store = flaky_store(other, dies_after_three)
    with pytest.raises(RemoteError, match=r"failed to download.*run the command again"):
        transfer.fetch(repo_cache(other), store, sel.hashes, jobs=2, labels=sel.labels)
    cache = repo_cache(other)
    kept = len(all_objects(other))
    assert kept == 2  # the manifest was read (not stored), two files arrived, then it broke
    assert_cache_sound(other)
    assert temp_files(cache.root) == []
    # The directory's manifest is stored only once all its files are: not yet.
    dir_md5 = next(h for h in sel.hashes if h.endswith(".dir"))
    assert not cache.exists(dir_md5)

    report = transfer.pull_repo(other)
    assert report.fetched.transferred == len(all_objects(repo.path)) - kept
    assert_restored(other)
    assert_cache_sound(other)


def test_transient_errors_are_retried(
    repo: GitRepo, fsspec_backend: Backend, tmp_path: Path
) -> None:
    track(repo, fsspec_backend)
    failed: set[tuple[str, str]] = set()

    def first_try_drops(op: str, path: str, n: int) -> BaseException | None:
        if (op, path) in failed:
            return None
        failed.add((op, path))
        return ConnectionResetError(errno.ECONNRESET, "connection reset by peer")

    store = flaky_store(repo.path, first_try_drops)
    sel = transfer.select(repo.path)
    pushed = transfer.push(repo_cache(repo.path), store, sel.hashes, jobs=3)
    assert pushed.transferred == 7
    assert store.fs.calls["put_file"] == 14  # every upload failed once, then went through
    assert fsspec_backend.objects() == all_objects(repo.path)

    other = clone(repo, tmp_path / "clone")
    store = flaky_store(other, first_try_drops)
    fetched = transfer.fetch(repo_cache(other), store, sel.hashes, jobs=3)
    assert fetched.transferred == 7
    assert store.fs.calls["get_file"] == 14
    assert_cache_sound(other)


def test_persistent_transient_errors_give_up(repo: GitRepo, fsspec_backend: Backend) -> None:
    track(repo, fsspec_backend)

    def always(op: str, path: str, n: int) -> BaseException | None:
        return TimeoutError("timed out")

    store = flaky_store(repo.path, always)
    with pytest.raises(RemoteError, match=r"6 of 7 objects failed to upload.*timed out"):
        transfer.push(
            repo_cache(repo.path), store, [md5(MODEL), *transfer.select(repo.path).hashes]
        )
    assert store.fs.calls["put_file"] == 6 * store.retries  # the .dir was never attempted
    assert fsspec_backend.objects() == set()


def test_push_failing_midway_sends_no_manifest(repo: GitRepo, fsspec_backend: Backend) -> None:
    track(repo, fsspec_backend)
    victim = md5(TREE["sub/c.csv"])

    def refuses_one(op: str, path: str, n: int) -> BaseException | None:
        if path.endswith(victim[2:]):
            return PermissionError(errno.EACCES, "Access Denied")
        return None

    sel = transfer.select(repo.path)
    with pytest.raises(RemoteError, match=r"data/sub/c.csv.*access denied"):
        transfer.push(
            repo_cache(repo.path),
            flaky_store(repo.path, refuses_one),
            sel.hashes,
            labels=sel.labels,
        )
    dir_md5 = next(h for h in sel.hashes if h.endswith(".dir"))
    held = fsspec_backend.objects()
    assert dir_md5 not in held and victim not in held and md5(MODEL) in held
    states = {i.label: i.state for i in transfer.status_repo(repo.path).items}
    assert states == {"data": "not pushed", "model.bin": "ok"}

    again = transfer.push_repo(repo.path)
    assert again.transferred == 2  # the refused file, then the manifest
    assert transfer.status_repo(repo.path).in_sync


# -- processes killed midway ------------------------------------------------------------------------
SLOW_LINK = textwrap.dedent(
    """
    import hashlib, sys, time
    from pathlib import Path
    from landmark.storage import transfer
    from landmark.storage.cache import repo_cache
    from landmark.storage.stores import LocalStore

    class SlowLink(LocalStore):
        # a slow network: the real store, copying 64 KiB at a time with pauses
        def _copy(self, src, dest):
            size = 0
            with open(src, "rb") as s, open(dest, "xb") as d:
                while chunk := s.read(65536):
                    size += d.write(chunk)
                    d.flush()
                    print("chunk", flush=True)
                    time.sleep(0.05)
            return size

        def _copy_verified(self, src, dest, md5):
            size = self._copy(src, dest)
            assert hashlib.md5(Path(dest).read_bytes()).hexdigest() == md5.removesuffix(".dir")
            return size

    action, repo, remote = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    sel = transfer.select(repo)
    run = transfer.fetch if action == "fetch" else transfer.push
    run(repo_cache(repo), SlowLink(remote), sel.hashes, jobs=1, labels=sel.labels)
    print("done", flush=True)
    """
)


def kill_midway(tmp_path: Path, action: str, repo: Path, remote: Path) -> None:
    script = tmp_path / "slow_link.py"
    script.write_text(SLOW_LINK)
    proc = subprocess.Popen(
        [sys.executable, str(script), action, str(repo), str(remote)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    chunks = 0
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        chunks += line.startswith("chunk")
        assert not line.startswith("done"), "finished before it could be killed"
        if chunks >= 4 or time.monotonic() > deadline:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


BIG = MODEL * 4  # 1.2 MB: ~19 chunks on the slow link


def test_killed_pull_is_resumed(repo: GitRepo, tmp_path: Path) -> None:
    write_big(repo.path)
    store = tmp_path / "remote-store"
    remotes.add_remote(repo.path, "store", str(store), default=True)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "track")
    transfer.push_repo(repo.path)
    other = clone(repo, tmp_path / "clone")

    kill_midway(tmp_path, "fetch", other, store)
    cache = repo_cache(other)
    assert not cache.exists(md5(BIG))  # never visible half-written...
    leftovers = temp_files(cache.root)
    assert len(leftovers) == 1 and 0 < leftovers[0].stat().st_size < len(BIG)  # ...only hidden

    # Run again: everything arrives; the dead run's temp file is swept once it is stale.
    old = time.time() - transfer.STALE_TMP_S - 60
    os.utime(leftovers[0], (old, old))
    transfer.pull_repo(other)
    assert (other / "big.bin").read_bytes() == BIG
    assert_restored(other)
    assert temp_files(cache.root) == []
    assert_cache_sound(other)


def test_killed_push_is_resumed(repo: GitRepo, tmp_path: Path) -> None:
    write_big(repo.path)
    store = tmp_path / "remote-store"
    remotes.add_remote(repo.path, "store", str(store), default=True)

    kill_midway(tmp_path, "push", repo.path, store)
    remote_view = transfer.open_store(repo.path)
    assert md5(BIG) not in set(remote_view.list_hashes())
    assert len(temp_files(store)) == 1

    transfer.push_repo(repo.path)
    assert set(remote_view.list_hashes()) == all_objects(repo.path)
    assert (store / "files" / "md5" / md5(BIG)[:2] / md5(BIG)[2:]).read_bytes() == BIG
    # A remote's stale partial uploads go with remote garbage collection.
    transfer.gc_remote(remote_view, all_objects(repo.path))
    assert temp_files(store) == []
    assert set(remote_view.list_hashes()) == all_objects(repo.path)


def write_big(root: Path) -> None:
    """big.bin first in transfer order (its .dvc file sorts first), then the usual data."""
    from .test_transfer import write_data

    (root / "big.bin").write_bytes(BIG)
    write_data(root)
    add(root, [root / "big.bin", root / "model.bin", root / "data"])


# -- configuration faults ---------------------------------------------------------------------------
def test_missing_credentials_is_one_line(
    repo: GitRepo, lm: Cli, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    scrub_aws_env(monkeypatch)
    (repo.path / "model.bin").write_bytes(MODEL)
    add(repo.path, [repo.path / "model.bin"])
    bucket = s3_server.new_bucket()
    lm("remote", "add", "-d", "s3", f"s3://{bucket}/x")
    lm("remote", "modify", "s3", "endpointurl", s3_server.endpoint)
    result = lm("push", ok=False)
    assert result.exit_code == 8
    assert result.output.count("\n") == 1 and "no credentials" in result.output
    assert "AWS_ACCESS_KEY_ID" in result.output

    # With credentials from the environment it goes through.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert "Pushed 1 object" in lm("push").output


def test_missing_bucket_is_one_line(
    repo: GitRepo, lm: Cli, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scrub_aws_env(monkeypatch)
    backend = make_backend("s3", tmp_path, s3_server)
    track(repo, backend)
    remotes.modify_remote(repo.path, "store", "url", "s3://no-such-bucket-here/models")
    repo.git("commit", "-q", "-am", "point at a bucket that is not there")
    teammate = Cli(clone(repo, tmp_path / "clone"), repo)
    for run, command in ((lm, "push"), (teammate, "pull"), (teammate, "fetch")):
        result = run(command, ok=False)
        assert result.exit_code == 8, command
        assert result.output.count("\n") == 1, result.output
        assert "bucket does not exist" in result.output


def test_http_remote_is_read_only(repo: GitRepo, lm: Cli) -> None:
    (repo.path / "model.bin").write_bytes(MODEL)
    add(repo.path, [repo.path / "model.bin"])
    lm("remote", "add", "-d", "web", "https://models.invalid/store")
    result = lm("push", ok=False)
    assert result.exit_code == 8 and "read-only" in result.output


def test_missing_backend_names_the_extra(
    repo: GitRepo, lm: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo.path / "model.bin").write_bytes(MODEL)
    add(repo.path, [repo.path / "model.bin"])
    for scheme, module, extra in (("gs", "gcsfs", "gcs"), ("azure", "adlfs", "azure")):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
        lm("remote", "add", "-f", "-d", "cloud", f"{scheme}://bucket/models")
        result = lm("push", ok=False)
        assert result.exit_code == 10
        assert f"pip install 'landmark[{extra}]'" in result.output


def test_no_remote_configured(repo: GitRepo, lm: Cli) -> None:
    (repo.path / "model.bin").write_bytes(MODEL)
    add(repo.path, [repo.path / "model.bin"])
    result = lm("push", ok=False)
    assert result.exit_code == 5 and "landmark remote add -d" in result.output
    lm("remote", "add", "other", "../elsewhere")
    result = lm("pull", ok=False)
    assert "no default remote" in result.output and "-r/--remote" in result.output
    result = lm("push", "-r", "nope", ok=False)
    assert result.exit_code == 3 and "other" in result.output


# -- read-only HTTP remotes -------------------------------------------------------------------------
@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1 (python's own file server), as a web server
    in front of a pushed remote would be."""
    import functools
    import http.server
    import threading

    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/store"
    server.shutdown()
    server.server_close()


def test_pull_from_http_remote(repo: GitRepo, tmp_path: Path, http_root: tuple[Path, str]) -> None:
    served, url = http_root
    backend = make_backend("local", tmp_path, None)
    track(repo, backend)
    transfer.push_repo(repo.path)
    (backend.root).rename(served / "store")
    remotes.add_remote(repo.path, "web", url, default=True, force=True)
    repo.git("commit", "-q", "-am", "read from the web server")

    other = clone(repo, tmp_path / "clone")
    assert {i.state for i in transfer.status_repo(other).items} == {"not in cache"}
    transfer.pull_repo(other)
    assert_restored(other)
    assert_cache_sound(other)
    with pytest.raises(RemoteError, match="read-only"):
        transfer.push_repo(other)
    # A missing object is reported as missing, not as a server error.
    (served / "store" / "files" / "md5" / md5(MODEL)[:2] / md5(MODEL)[2:]).unlink()
    third = clone(repo, tmp_path / "third")
    with pytest.raises(NotFound, match=r"missing on .*: model\.bin"):
        transfer.fetch_repo(third)
