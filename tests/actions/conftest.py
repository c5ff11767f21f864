"""Fixtures for the action tests: the installed landmark, pushes that keep git's output, and
a local HTTP receiver for webhooks."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..conftest import GitRepo

LANDMARK = str(Path(sys.executable).parent / "landmark")


def push(repo: GitRepo, *refs: str) -> subprocess.CompletedProcess[str]:
    """``git push origin REFS...`` from ``repo``; the hook's lines come back on stderr."""
    return subprocess.run(
        ["git", "push", "origin", *refs], cwd=repo.path, capture_output=True, text=True
    )


def remote_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        line[len("remote: ") :].rstrip()
        for line in proc.stderr.splitlines()
        if line.startswith("remote: ")
    ]


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that answers ``statuses`` in turn (then 200)."""

    url: str
    statuses: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("", [500])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text("s3cret-key\n")
    os.chmod(path, 0o600)
    return path
