"""Models to package, a registry with versions and stages, and a real OCI registry
(Debian's docker-registry) on 127.0.0.1 for the push tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import landmark

from ..conftest import GitRepo
from ..serve.conftest import frame, train

REGISTRY_BIN = "/usr/bin/docker-registry"


def need(tool: str) -> str:
    """The tool's path; the test is skipped (saying how to get it) where it is missing."""
    path = shutil.which(tool) or (REGISTRY_BIN if tool == "docker-registry" else None)
    if not path or not Path(path).exists():
        pytest.skip(f"{tool} is not installed: scripts/bootstrap installs it (apt-get {tool})")
    return path


@pytest.fixture(scope="session")
def churn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scikit-learn pipeline saved with its signature (skops: safe)."""
    path = tmp_path_factory.mktemp("models") / "churn"
    landmark.save_model(train(), path, sample_input=frame(20), description='Churn $HOME "x"')
    return path


@pytest.fixture(scope="session")
def pickled_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same pipeline as a pickle: loading it runs code, so serving needs --trust."""
    path = tmp_path_factory.mktemp("models") / "pickled"
    landmark.save_model(train(), path, sample_input=frame(20), format="pickle")
    return path


@pytest.fixture
def registry(repo: GitRepo) -> GitRepo:
    """churn v1.0.0 (in prod) and v1.1.0, logged and committed in ``repo``."""
    for version, c in (("v1.0.0", 1.0), ("v1.1.0", 0.5)):
        repo.tick()
        landmark.log_model(
            train(c),
            "churn",
            sample_input=frame(20),
            commit=True,
            register=version,
            repo=repo.path,
            message=f"churn {version}",
        )
    repo.tick()
    landmark.assign("churn", "prod", version="v1.0.0", repo=repo.path)
    return repo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    def __init__(self, host: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.host = host
        self.proc = proc
        self.log = log

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(f"http://{self.host}{path}", timeout=10, **kw)


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry serving a temporary folder on 127.0.0.1:PORT, stopped at the end."""
    binary = need("docker-registry")
    root = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = root / "registry.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    reg = Registry(f"127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"docker-registry exited {proc.returncode}: {log.read_text()}")
        try:
            if reg.get("/v2/").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"docker-registry did not start: {log.read_text()}")
        time.sleep(0.05)
    yield reg
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
