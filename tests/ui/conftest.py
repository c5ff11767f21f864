"""A real registry, real ``landmark ui`` servers on 127.0.0.1 and one real Chromium, built once
per test session (per xdist worker) in an isolated HOME with a fixed identity."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..conftest import session_environment
from ..serve.conftest import Served as Server

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
LANDMARK = str(Path(sys.executable).parent / "landmark")
TOKEN = "ui-test-token-0123456789"


@dataclass
class World:
    """The session's repository, its bare remote, and the environment its git runs in."""

    repo: Path
    remote: Path
    env: dict[str, str]

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=cwd or self.repo, env=self.env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def landmark(self, *args: str) -> str:
        proc = subprocess.run(
            [LANDMARK, *args], cwd=self.repo, env=self.env, capture_output=True, text=True
        )
        assert proc.returncode == 0, f"landmark {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    def tags(self, where: Path | None = None) -> set[str]:
        return set(self.git("tag", "-l", cwd=where).split())


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("ui")
    env = session_environment(base / "home", PYTHONUNBUFFERED="1")
    repo, remote = base / "repo", base / "remote.git"
    proc = subprocess.run(
        [sys.executable, str(HERE / "build_repo.py"), str(repo), str(remote)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return World(repo, remote, env)


def _start(world: World, log: Path, *extra: str) -> Server:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [LANDMARK, "ui", "-r", str(world.repo), "--port", "0", "--interval", "1", *extra],
            cwd=world.repo,
            env=world.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        text = log.read_text()
        if "listening on " in text:
            url = text.rsplit("listening on ", 1)[1].split()[0]
            return Server(proc, log, url)
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"landmark ui did not start: {text}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The UI with actions allowed (``--token-file``)."""
    folder = tmp_path_factory.mktemp("ui-server")
    token_file = folder / "token"
    token_file.write_text(TOKEN + "\n")
    served = _start(world, folder / "log", "--token-file", str(token_file))
    yield served
    served.stop()


@pytest.fixture(scope="session")
def readonly(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same repository, read-only (no token file)."""
    served = _start(world, tmp_path_factory.mktemp("ui-readonly") / "log")
    yield served
    served.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots land here (git-ignored), kept after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
