"""Fixtures for the storage tests: the pinned real dvc, run in the test's isolated environment."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .backends import AzureServer, Backend, GCSServer, S3Server, SSHServer, backend_for


@pytest.fixture(scope="session")
def dvc_bin() -> Iterator[str]:
    local = Path(__file__).resolve().parents[2] / ".venv-dvc" / "bin" / "dvc"
    path = os.environ.get("LANDMARK_DVC") or (str(local) if local.exists() else shutil.which("dvc"))
    if not path or not Path(path).exists():
        pytest.fail("the real dvc is required: run scripts/bootstrap (it installs .venv-dvc)")
    yield path


class Dvc:
    """Runs the real dvc CLI as a subprocess; a failing call fails the test with dvc's stderr."""

    def __init__(self, exe: str, site_cache: Path) -> None:
        self.exe = exe
        self.site_cache = site_cache

    def __call__(self, *args: str, cwd: Path) -> str:
        # os.environ already carries the isolated HOME and git identity of tests/conftest.py.
        # No analytics (nothing may reach the network) and dvc's per-repo state db kept in the
        # test's own temp dir rather than in /var/tmp/dvc, shared by every run on the machine.
        # A wide terminal: dvc wraps table rows (`remote list`) at the terminal's width.
        env = {
            **os.environ,
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(self.site_cache),
            "COLUMNS": "1000",
        }
        proc = subprocess.run(
            [self.exe, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"dvc {' '.join(args)} exited with {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        return proc.stdout


@pytest.fixture
def dvc(dvc_bin: str, tmp_path: Path) -> Dvc:
    return Dvc(dvc_bin, tmp_path / "dvc-site-cache")


# -- remotes for the transfer conformance tests (see backends.py) -------------------------------
@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1: one per test process (each xdist worker has its own)."""
    server = S3Server()
    yield server
    server.stop()
    # Run weakref callbacks of s3fs/aiobotocore objects now rather than while xdist stops the
    # worker (it interrupts the main thread, and a callback caught there prints a warning).
    gc.collect()


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    """gcp-storage-emulator on 127.0.0.1, one per test process."""
    server = GCSServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azure_server() -> Iterator[AzureServer]:
    """azurite's Blob service on 127.0.0.1, one per test process."""
    server = AzureServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """asyncssh's SSH/SFTP server on 127.0.0.1, one per test process."""
    server = SSHServer(tmp_path_factory.mktemp("ssh-keys"))
    yield server
    server.stop()


@pytest.fixture(params=["local", "memory", "s3", "gcs", "azure", "ssh"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    """Each kind of remote in turn; one on a server gets a fresh bucket (container, folder)
    on the session's server."""
    yield from backend_for(request, tmp_path, monkeypatch)
