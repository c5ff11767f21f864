"""Fixtures: real temporary git repos with an isolated HOME/config and fixed identity and dates."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from landmark.cli import cli

BASE_TIME = 1_700_000_000


class Clock:
    """Hands out strictly increasing git dates so event order is deterministic."""

    def __init__(self) -> None:
        self._ticks = itertools.count(1)

    def tick(self) -> str:
        return f"{BASE_TIME + next(self._ticks) * 10} +0000"


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Clock:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("LANDMARK_CACHE_DIR", raising=False)
    # dvc's global and system config levels (read by the cache and the remotes) stay inside
    # the sandbox: a machine's /etc/xdg/dvc/config must not leak into the tests.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(home / "dvc-system"))
    for var in ("XDG_CONFIG_DIRS", "DVC_GLOBAL_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    identity = {
        "GIT_AUTHOR_NAME": "Ada Tester",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Tester",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }
    for k, v in identity.items():
        monkeypatch.setenv(k, v)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[tag]\n\tgpgSign = false\n")
    clock = Clock()
    # Every git process (ours and the test's) reads its dates from here.
    monkeypatch.setenv("GIT_COMMITTER_DATE", clock.tick())
    monkeypatch.setenv("GIT_AUTHOR_DATE", clock.tick())
    import landmark.git

    monkeypatch.setattr(landmark.git, "_ENV", None)
    return clock


class GitRepo:
    """A work tree for tests: commit files, run git, advance the clock."""

    def __init__(self, path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.clock = clock
        self.monkeypatch = monkeypatch

    def tick(self) -> None:
        stamp = self.clock.tick()
        self.monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
        self.monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)
        import landmark.git

        self.monkeypatch.setattr(landmark.git, "_ENV", None)

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def commit(self, files: dict[str, str] | None = None, message: str = "change") -> str:
        self.tick()
        for name, text in (files or {f"file-{self.clock.tick()}.txt": "x"}).items():
            p = self.path / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def tags(self) -> list[str]:
        return sorted(t for t in self.git("tag", "-l").splitlines() if t)

    def status(self) -> str:
        return self.git("status", "--porcelain")


@pytest.fixture
def repo(tmp_path: Path, isolated_env: Clock, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    path = tmp_path / "repo"
    path.mkdir()
    r = GitRepo(path, isolated_env, monkeypatch)
    r.git("init", "-q")
    r.commit({"README.md": "hello\n"}, "initial")
    return r


@pytest.fixture
def bare_remote(tmp_path: Path, repo: GitRepo) -> Path:
    """A bare repo as origin of ``repo``, with everything pushed."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=remote, check=True)
    return remote


class Cli:
    """Runs ``landmark`` in-process through the same entry point the console script uses."""

    def __init__(self, cwd: Path, clock_repo: GitRepo) -> None:
        self.cwd = cwd
        self.repo = clock_repo

    def __call__(self, *args: str, ok: bool | None = True, tick: bool = True) -> Result:
        if tick:
            self.repo.tick()
        runner = CliRunner()
        old = os.getcwd()
        os.chdir(self.cwd)
        try:
            from landmark.cli import main

            result = runner.invoke(_Main(main), list(args), catch_exceptions=False)
        finally:
            os.chdir(old)
        if ok is True:
            assert result.exit_code == 0, f"landmark {' '.join(args)}: {result.output}"
        elif ok is False:
            assert result.exit_code != 0, f"landmark {' '.join(args)} should fail: {result.output}"
        return result


class _Main:
    """Adapts ``main(argv) -> code`` to CliRunner, which expects a click command."""

    def __init__(self, main: object) -> None:
        self.main_fn = main

    def main(self, args: list[str], **_: object) -> None:
        code = self.main_fn(args)  # type: ignore[operator]
        raise SystemExit(code)

    # CliRunner.invoke calls cli.main(args=..., prog_name=..., **extra)
    def __getattr__(self, name: str) -> object:
        return getattr(cli, name)


@pytest.fixture
def lm(repo: GitRepo) -> Cli:
    return Cli(repo.path, repo)


@pytest.fixture(scope="session")
def gto_bin() -> Iterator[str]:
    local = Path(__file__).resolve().parent.parent / ".venv-gto" / "bin" / "gto"
    path = os.environ.get("LANDMARK_GTO") or (str(local) if local.exists() else shutil.which("gto"))
    if not path or not Path(path).exists():
        pytest.fail("the real gto is required: run scripts/bootstrap (it installs .venv-gto)")
    yield path


def session_environment(home: Path, **extra: str) -> dict[str, str]:
    """The environment session-scoped fixtures run git, dvc and landmark with (the autouse
    ``isolated_env`` is per test): a fresh HOME and git config, a fixed identity, no GIT_,
    DVC_ or LANDMARK_ settings from outside, and ``extra``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[tag]\n\tgpgSign = false\n"
        "[user]\n\tname = Ada Tester\n\temail = ada@example.com\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_", "LANDMARK_"))}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        DVC_SYSTEM_CONFIG_DIR=str(home / "dvc-system"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_AUTHOR_NAME="Ada Tester",
        GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Ada Tester",
        GIT_COMMITTER_EMAIL="ada@example.com",
        **extra,
    )
    return env


CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser of its own


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module that uses it (the UI's browser tests, the plots
    report). Not per session: while Playwright's sync API is open it keeps an event loop
    running in the main thread, and every later test in that worker that calls
    ``asyncio.run`` would fail; two open at once fail the same way."""
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0:
            pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium needs root)")
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()
