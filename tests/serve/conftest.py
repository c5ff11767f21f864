"""Real ``landmark serve`` processes on 127.0.0.1 for the serving tests, and their models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..churn import frame, train

LANDMARK = [str(Path(sys.executable).parent / "landmark")]


class Served:
    """One server process: its URL, its log, and a clean stop."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, url: str) -> None:
        self.proc = proc
        self.log = log
        self.url = url

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def start(
    args: list[str], cwd: Path, log: Path, *, ready: bool = True, timeout: float = 60
) -> Served:
    """``landmark serve ARGS --port 0``; returns once it listens (and answers /ready)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*LANDMARK, "serve", *args, "--host", "127.0.0.1", "--port", "0"],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + timeout
    url = None
    while url is None:
        if proc.poll() is not None:
            raise AssertionError(f"landmark serve exited {proc.returncode}: {log.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"landmark serve did not listen: {log.read_text()}")
        for line in log.read_text().splitlines():
            if "listening on " in line:
                url = line.rsplit("listening on ", 1)[1].strip()
        time.sleep(0.05)
    served = Served(proc, log, url)
    if ready:
        with served.client() as c:
            while True:
                try:
                    if c.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    served.stop(signal.SIGKILL)
                    raise AssertionError(f"never ready: {log.read_text()}")
                time.sleep(0.05)
    return served


def run_serve(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``landmark serve`` expected to fail before it listens."""
    return subprocess.run(
        [*LANDMARK, "serve", *args, "--port", "0"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def churn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scikit-learn pipeline saved with its signature (skops: safe)."""
    import landmark

    path = tmp_path_factory.mktemp("models") / "churn"
    landmark.save_model(train(), path, sample_input=frame(20))
    return path


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def make(args: list[str], cwd: Path | None = None, **kw: Any) -> Served:
        log = tmp_path / f"serve-{len(started)}.log"
        s = start(args, cwd or tmp_path, log, **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop(signal.SIGKILL, timeout=10)
