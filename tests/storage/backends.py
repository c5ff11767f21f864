"""Remote back ends for the conformance tests: a local folder, fsspec memory, and a real
S3-compatible server (moto's, on 127.0.0.1) reached through s3fs.

Each :class:`Backend` configures a remote in a repository the way a user would (``remote add``
and ``remote modify``, credentials in ``.dvc/config.local``) and can look at or damage what the
remote holds through the store's own filesystem, so tests can check what arrived and plant
faults without knowing the back end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from landmark.storage import remotes
from landmark.storage.fs import FsspecStore, LocalStore, RemoteStore, open_remote

S3_KEY, S3_SECRET = "landmark-test-key", "landmark-test-secret"
REGION = "us-east-1"


class S3Server:
    """moto's S3 server on a free port of 127.0.0.1, in this process (one per xdist worker)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"lm-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self._server.stop()


def scrub_aws_env(monkeypatch: Any) -> None:
    """No credentials or settings from the machine, and no instance-metadata lookups."""
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


class Backend:
    """One kind of remote: how to configure it, and a view of what it holds."""

    kind = ""
    url = ""

    def configure(self, repo: Path, name: str = "store", default: bool = True) -> None:
        remotes.add_remote(repo, name, self.url, default=default, cwd=repo)

    _view: RemoteStore | None = None

    def store(self) -> RemoteStore:
        """A store of its own on the remote, to look at it (one: a new S3 client costs time)."""
        if self._view is None:
            self._view = open_remote(remotes.Remote("view", self.url, self.options()))
        return self._view

    def options(self) -> tuple[tuple[str, str], ...]:
        return ()

    def objects(self) -> set[str]:
        return set(self.store().list_hashes())

    def write(self, md5: str, data: bytes) -> None:
        """Replace what the remote holds for ``md5`` (to plant a corrupt object)."""
        store = self.store()
        if isinstance(store, LocalStore):
            path = Path(store.ospath(md5))
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            path.write_bytes(data)
        else:
            assert isinstance(store, FsspecStore)
            store.fs.pipe_file(store.rpath(md5), data)

    def read(self, md5: str) -> bytes:
        store = self.store()
        if isinstance(store, LocalStore):
            return Path(store.ospath(md5)).read_bytes()
        assert isinstance(store, FsspecStore)
        return bytes(store.fs.cat_file(store.rpath(md5)))

    def delete(self, md5: str) -> None:
        self.store().remove(md5)

    def close(self) -> None:
        pass


class LocalBackend(Backend):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)


class MemoryBackend(Backend):
    kind = "memory"

    def __init__(self) -> None:
        self.url = f"memory://lm-{uuid.uuid4().hex[:12]}"

    def close(self) -> None:
        import fsspec

        with contextlib.suppress(FileNotFoundError):
            fsspec.filesystem("memory").rm("/" + self.url.split("://", 1)[1], recursive=True)


class S3Backend(Backend):
    kind = "s3"

    def __init__(self, server: S3Server) -> None:
        self.server = server
        self.bucket = server.new_bucket()
        self.url = f"s3://{self.bucket}/models"

    def options(self) -> tuple[tuple[str, str], ...]:
        return (
            ("endpointurl", self.server.endpoint),
            ("access_key_id", S3_KEY),
            ("secret_access_key", S3_SECRET),
            ("region", REGION),
        )

    def configure(self, repo: Path, name: str = "store", default: bool = True) -> None:
        super().configure(repo, name, default)
        remotes.modify_remote(repo, name, "endpointurl", self.server.endpoint)
        # Credentials go where a user keeps them: the git-ignored config.local.
        remotes.modify_remote(repo, name, "access_key_id", S3_KEY, level="local")
        remotes.modify_remote(repo, name, "secret_access_key", S3_SECRET, level="local")
        remotes.modify_remote(repo, name, "region", REGION)


def make_backend(kind: str, tmp_path: Path, s3: S3Server | None) -> Backend:
    if kind == "local":
        return LocalBackend(tmp_path / "remote-store")
    if kind == "memory":
        return MemoryBackend()
    assert s3 is not None
    return S3Backend(s3)


def copy_local_config(src_repo: Path, dest_repo: Path) -> None:
    """A teammate's clone sets up its own credentials: here, the same config.local."""
    local = src_repo / ".dvc" / "config.local"
    if local.exists():
        shutil.copy(local, dest_repo / ".dvc" / "config.local")


def iter_files(root: Path) -> Iterator[Path]:
    for dirpath, _, files in os.walk(root):
        for f in files:
            yield Path(dirpath) / f


def backend_for(request: Any, tmp_path: Path, monkeypatch: Any) -> Iterator[Backend]:
    """The body of the backend fixtures: ``request.param`` names the kind; an S3 one gets a
    fresh bucket on the session's server; closed afterwards."""
    scrub_aws_env(monkeypatch)
    server = request.getfixturevalue("s3_server") if request.param == "s3" else None
    b = make_backend(request.param, tmp_path, server)
    yield b
    b.close()
