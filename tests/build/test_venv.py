"""landmark build venv: the folder serves the model with its own venv, moved or not."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import landmark
from landmark.build import build_venv, resolve
from landmark.models.meta import read_meta

from ..conftest import Cli
from ..serve.conftest import frame


@pytest.fixture(scope="session")
def venv_dir(tmp_path_factory: pytest.TempPathFactory, churn_dir: Path) -> Path:
    """One build per test session (tens of seconds: pip installs numpy, scipy, pandas,
    scikit-learn and the serving stack from pip's index and cache). Not byte-compiled,
    which saves a third of the time; the default compiles."""
    out = tmp_path_factory.mktemp("venv-build") / "churn-venv"
    started = time.monotonic()
    build_venv(resolve(str(churn_dir)), out, compile=False)
    print(f"venv build: {time.monotonic() - started:.1f}s")
    return out


class Server:
    def __init__(self, script: Path, log: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
        # nothing from the test's environment may leak in: no PATH to the dev venv either
        env["PATH"] = "/usr/bin:/bin"
        env["PYTHONPATH"] = "/nonexistent-path-that-would-break-imports"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(script), "--port", "0", *args], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        self.log = log
        deadline = time.monotonic() + 90
        self.url = ""
        while not self.url:
            if self.proc.poll() is not None:
                raise AssertionError(f"bin/serve exited {self.proc.returncode}: {log.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"bin/serve did not listen: {log.read_text()}")
            for line in log.read_text().splitlines():
                if "landmark serve: listening on " in line:
                    self.url = line.rsplit(" ", 1)[1].strip()
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


@pytest.fixture
def serve_folder(tmp_path: Path) -> Iterator[object]:
    started: list[Server] = []

    def start(folder: Path, *args: str) -> Server:
        s = Server(folder / "bin" / "serve", tmp_path / f"serve-{len(started)}.log", *args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_folder_layout(venv_dir: Path, churn_dir: Path) -> None:
    assert sorted(p.name for p in venv_dir.iterdir()) == ["bin", "model", "venv"]
    assert os.access(venv_dir / "bin" / "serve", os.X_OK)
    for f in read_meta(churn_dir).files:
        assert (venv_dir / "model" / "churn" / f.path).read_bytes() == (
            churn_dir / f.path
        ).read_bytes()
    py = venv_dir / "venv" / "bin" / "python"
    pins = {r.name for r in read_meta(churn_dir).requirements}
    listed = subprocess.run(
        [str(py), "-I", "-c", "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert pins | {"landmark", "starlette", "uvicorn"} <= set(listed)
    # self-contained: the dev venv's site-packages are not on the path
    cfg = (venv_dir / "venv" / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    # the scripts name the final folder, not the temporary one it was built in
    assert ".tmp" not in cfg
    for script in (venv_dir / "venv" / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            assert ".churn-venv." not in script.read_text(errors="replace")


def test_serves_the_model(
    venv_dir: Path, churn_dir: Path, serve_folder: object, tmp_path: Path
) -> None:
    server = serve_folder(venv_dir, "--threads", "2")  # type: ignore[operator]
    x = frame(25, seed=3)
    want = landmark.load_model(churn_dir).predict(x)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/health").status_code == 200
        got = c.post("/predict", json=x.to_dict(orient="records"))
        assert got.status_code == 200, got.text
        assert np.array_equal(np.asarray(got.json()["predictions"]), want)
        meta = c.get("/metadata").json()
        assert meta["name"] == "churn"
    assert server.stop() == 0


def test_moved_folder_still_serves(venv_dir: Path, serve_folder: object, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "churn"
    moved.parent.mkdir()
    shutil.copytree(venv_dir, moved, symlinks=True)
    server = serve_folder(moved)  # type: ignore[operator]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/predict", json=frame(2).to_dict(orient="records")).status_code == 200


def test_refusals_write_nothing(
    lm: Cli, churn_dir: Path, pickled_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "v"
    unsafe = lm("build", "venv", str(pickled_dir), "-o", str(out), ok=False)
    assert unsafe.exit_code == 11 and "--trust" in unsafe.output
    out.mkdir()
    (out / "x").write_text("mine")
    busy = lm("build", "venv", str(churn_dir), "-o", str(out), ok=False)
    assert busy.exit_code == 2 and (out / "x").read_text() == "mine"
    # pip failing (an index with nothing in it) is one line, and the folder is not made
    empty = tmp_path / "empty"
    empty.mkdir()
    fresh = tmp_path / "w"
    failed = lm(
        "build", "venv", str(churn_dir), "-o", str(fresh), "--no-compile",
        "--pip-arg=--no-index", f"--pip-arg=--find-links={empty}", ok=False,
    )  # fmt: skip
    errors = [ln for ln in failed.output.splitlines() if ln.startswith("error:")]
    assert failed.exit_code == 1 and len(errors) == 1 and "pip install failed" in errors[0]
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "repo", "v"]
