"""Remote back ends for the conformance tests: a local folder, fsspec memory, and real
servers on 127.0.0.1 reached through the same fsspec clients users get: S3 (moto's server,
through s3fs), GCS (gcp-storage-emulator, through gcsfs), Azure Blob Storage (Microsoft's
azurite, through adlfs) and SSH/SFTP (asyncssh's server, through sshfs).

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
from landmark.storage.stores import FsspecStore, LocalStore, RemoteStore, open_remote

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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GCSServer:
    """gcp-storage-emulator (the GCS JSON API, objects in memory) on a free port of
    127.0.0.1, in a thread of this process."""

    def __init__(self) -> None:
        from gcp_storage_emulator.server import create_server

        logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
        self._server = create_server("127.0.0.1", 0, in_memory=True)
        self._server.start()
        httpd = self._server._api._httpd
        # A client that hangs up early is no error of the test's: don't print tracebacks.
        httpd.handle_error = lambda request, address: None
        port = httpd.server_address[1]
        self.endpoint = f"http://127.0.0.1:{port}"

    def new_bucket(self) -> str:
        import gcsfs.core

        name = f"lm-{uuid.uuid4().hex[:16]}"
        gcsfs.core.GCSFileSystem(
            endpoint_url=self.endpoint, token="anon", skip_instance_cache=True
        ).mkdir(name)
        return name

    def stop(self) -> None:
        self._server.stop()


# The storage emulator's well-known development account (public, in Microsoft's docs).
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE = Path(__file__).resolve().parents[2] / ".tools/azurite/node_modules/.bin/azurite-blob"


class AzureServer:
    """azurite's Blob service (in memory) on a free port of 127.0.0.1, as a child process."""

    def __init__(self) -> None:
        import socket
        import subprocess
        import time

        exe = os.environ.get("LANDMARK_AZURITE", str(AZURITE))
        if not os.access(exe, os.X_OK):
            raise RuntimeError(f"azurite is not installed at {exe}: run scripts/bootstrap")
        port = free_port()
        self._proc = subprocess.Popen(
            [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
             "--silent", "--skipApiVersionCheck", "--loose"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                    self.stop()
                    raise RuntimeError(f"azurite did not start: {err}") from None
                time.sleep(0.1)
        self.connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={AZURE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURE_ACCOUNT};"
        )

    def new_container(self) -> str:
        import adlfs

        name = f"lm-{uuid.uuid4().hex[:16]}"
        adlfs.AzureBlobFileSystem(
            connection_string=self.connection_string, skip_instance_cache=True
        ).mkdir(name)
        return name

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except Exception:
            self._proc.kill()
            self._proc.wait()


class SSHServer:
    """asyncssh's SSH server with its SFTP subsystem (serving this machine's files) on a free
    port of 127.0.0.1, on an event loop in a thread of this process. Only the key made for
    this run is let in; clients check the server's key against ``known_hosts``."""

    def __init__(self, keydir: Path) -> None:
        import asyncio
        import threading

        import asyncssh

        client_key = asyncssh.generate_private_key("ssh-ed25519")
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.keyfile = keydir / "id_ed25519"
        self.keyfile.write_bytes(client_key.export_private_key())
        self.keyfile.chmod(0o600)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())

        self._connections: list[Any] = []

        async def listen() -> Any:
            return await asyncssh.listen(
                "127.0.0.1", 0, server_host_keys=[host_key],
                authorized_client_keys=authorized, sftp_factory=True,
                acceptor=self._connections.append,
            )  # fmt: skip

        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(timeout=30)
        self.port = int(self._server.sockets[0].getsockname()[1])
        public = host_key.export_public_key().decode().split()
        self.known_hosts_line = f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n"

    def stop(self) -> None:
        import asyncio

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()
            for conn in self._connections:  # the clients' sessions end with them
                conn.close()
                await conn.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)


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

    # options a user keeps in the git-ignored config.local (credentials), not in .dvc/config
    private: frozenset[str] = frozenset()

    def configure(self, repo: Path, name: str = "store", default: bool = True) -> None:
        """``remote add`` and a ``remote modify`` per option, as a user would set it up."""
        remotes.add_remote(repo, name, self.url, default=default, cwd=repo)
        for option, value in self.options():
            level = "local" if option in self.private else "repo"
            remotes.modify_remote(repo, name, option, value, level=level)

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
    private = frozenset({"access_key_id", "secret_access_key"})

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


class GCSBackend(Backend):
    kind = "gcs"

    def __init__(self, server: GCSServer) -> None:
        self.server = server
        self.url = f"gs://{server.new_bucket()}/models"

    def options(self) -> tuple[tuple[str, str], ...]:
        return (("endpointurl", self.server.endpoint), ("allow_anonymous_login", "true"))


class AzureBackend(Backend):
    kind = "azure"
    private = frozenset({"connection_string"})  # it holds the account key

    def __init__(self, server: AzureServer) -> None:
        self.server = server
        self.url = f"azure://{server.new_container()}/models"

    def options(self) -> tuple[tuple[str, str], ...]:
        return (("connection_string", self.server.connection_string),)


class SSHBackend(Backend):
    kind = "ssh"
    private = frozenset({"keyfile"})

    def __init__(self, server: SSHServer, root: Path) -> None:
        import getpass

        self.server = server
        self.user = getpass.getuser()
        self.url = f"ssh://127.0.0.1{root}"
        # The user's own known_hosts (HOME is the test's): the server's key is checked.
        ssh_dir = Path.home() / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        with open(ssh_dir / "known_hosts", "a") as f:
            f.write(server.known_hosts_line)

    def options(self) -> tuple[tuple[str, str], ...]:
        return (
            ("port", str(self.server.port)),
            ("user", self.user),
            ("keyfile", str(self.server.keyfile)),
        )


SERVERS = {"s3": "s3_server", "gcs": "gcs_server", "azure": "azure_server", "ssh": "ssh_server"}


def make_backend(kind: str, tmp_path: Path, server: Any = None) -> Backend:
    if kind == "local":
        return LocalBackend(tmp_path / "remote-store")
    if kind == "memory":
        return MemoryBackend()
    if kind == "gcs":
        return GCSBackend(server)
    if kind == "azure":
        return AzureBackend(server)
    if kind == "ssh":
        return SSHBackend(server, tmp_path / "ssh-store")
    return S3Backend(server)


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
    """The body of the backend fixtures: ``request.param`` names the kind; a server-backed
    one gets a fresh bucket (container, folder) on the session's server; closed afterwards."""
    scrub_aws_env(monkeypatch)
    fixture = SERVERS.get(request.param)
    server = request.getfixturevalue(fixture) if fixture else None
    b = make_backend(request.param, tmp_path, server)
    yield b
    b.close()
