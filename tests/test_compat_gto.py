"""landmark against the real, pinned GTO (1.10): both read the same tags the same way.

Three groups of tests:

1. landmark writes, gto reads: scenarios built with the landmark CLI, then every read command
   (``show``, ``show NAME``, shortcuts, ``--vs``/``--av``/``--sort``, ``history``, ``check-ref``
   for every registry tag, ``stages``) run by both tools and compared as parsed JSON.
2. gto writes, landmark reads: the same kind of scenarios written with gto's CLI.
3. Where landmark deliberately does better than gto (gto-compat.md, "Where GTO fails"): only
   landmark's behaviour is asserted; gto's failure is recorded to show why.

Timing. gto writes tags through scmrepo's dulwich backend, whose ``tag_create`` stamps the
tagger date with ``int(time.time())``: it ignores GIT_COMMITTER_DATE (only the time-zone offset
is taken from it), so tags gto writes carry the *wall clock*, with one-second resolution, and
two gto writes within the same second tie (and ties between events of one kind have no
defined order). ``Compat.gto_write`` therefore makes each gto write wait until the wall clock has
entered a new second since the previous one, which keeps every gto-written event strictly
ordered; ``test_gto_tagger_date_is_wall_clock`` pins this finding down. landmark writes through ``git tag -a`` and honours the test clock
(``repo.tick()``), so landmark-written events are 10 s apart in 2023; a test that mixes both
writers moves landmark's clock to the wall clock first (``Compat.clock_to_wall``).

Speed. Starting gto costs ~0.6 s, nearly all of it imports. Read-only commands are therefore
run in batches: one process of gto's own interpreter (from the shebang of ``gto_bin``) imports
``gto.cli`` once and calls its ``app`` for each command line, as the ``gto`` console script
does; nothing is written between the commands of a batch. Each write runs in a process of its
own the same way, whose import overlaps the wait for the next second. Commands expected to
crash run the ``gto`` executable itself; so does everything when ``gto_bin`` is not a Python
script. ``test_gto_tagger_date_is_wall_clock`` checks that a batch prints what the executable
prints.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Cli, GitRepo

pytestmark = pytest.mark.compat

Argv = tuple[str, ...]
SHOW: Argv = ("show", "--json")
HISTORY: Argv = ("history", "--json")

# Runs one gto write the way the console script does, but only once the wall clock has reached
# a given second: the import (~0.6 s) overlaps the wait, and the tag gets a second of its own.
_WRITE_DRIVER = r"""
import sys, time
from gto.cli import app

not_before = int(sys.argv[1])
while int(time.time()) < not_before:
    time.sleep(0.01)
sys.argv = ["gto", *sys.argv[2:]]
sys.exit(app(prog_name="gto"))
"""

# Runs several gto command lines in one interpreter, the way the console script runs one.
_BATCH_DRIVER = r"""
import contextlib, io, json, sys
from gto.cli import app

results = []
for argv in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(argv, prog_name="gto")
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Exception as e:  # an uncaught crash: report it like the interpreter would
            err.write(f"{type(e).__name__}: {e}")
            code = 1
    results.append({"rc": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
with open(sys.argv[1], "w") as f:  # not stdout: gto's logging handler holds the real one
    json.dump(results, f)
"""


@dataclass(frozen=True)
class Outcome:
    """What one command printed, and its exit status."""

    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None


def _interpreter(gto_bin: str) -> str | None:
    """The Python that runs the ``gto`` console script (from its shebang), if it has one."""
    try:
        with open(gto_bin, "rb") as f:
            first = f.readline(512).decode()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("#!"):
        return None
    python = first[2:].strip().split(" ")[0]
    return python if "python" in Path(python).name and Path(python).exists() else None


def _dump(data: Any) -> list[str]:
    return json.dumps(data, indent=2, sort_keys=True).splitlines()


def _diff(argv: Argv, gto: Any, landmark: Any) -> str:
    lines = difflib.unified_diff(_dump(gto), _dump(landmark), "gto", "landmark", lineterm="", n=4)
    return f"$ {' '.join(argv)}\n" + "\n".join(lines)


class Compat:
    """Runs the same commands through gto and landmark on one repo, and compares them."""

    def __init__(self, repo: GitRepo, lm: Cli, gto_bin: str) -> None:
        self.repo = repo
        self.lm = lm
        self.gto_bin = gto_bin
        self.python = _interpreter(gto_bin)
        self._last_write = 0

    # -- gto ---------------------------------------------------------------------------------
    def gto(self, *args: str, ok: bool | None = True, _argv: Sequence[str] = ()) -> Outcome:
        """One run of the real ``gto`` executable in the repo, with the test's environment."""
        proc = subprocess.run(
            [*(_argv or [self.gto_bin]), *args], cwd=self.repo.path, capture_output=True,
            text=True, env=dict(os.environ), timeout=120,
        )  # fmt: skip
        out = Outcome(proc.returncode, proc.stdout, proc.stderr)
        if ok is True:
            assert out.ok, f"gto {' '.join(args)} failed:\n{out.stdout}{out.stderr}"
        elif ok is False:
            assert not out.ok, f"gto {' '.join(args)} should fail:\n{out.stdout}"
        return out

    def gto_write(self, *args: str) -> Outcome:
        """A gto write, in a wall-clock second of its own (gto stamps tags with ``time.time()``)."""
        not_before = self._last_write + 1
        try:
            if self.python is None:
                while int(time.time()) < not_before:
                    time.sleep(0.02)
                return self.gto(*args)
            return self.gto(*args, _argv=[self.python, "-c", _WRITE_DRIVER, str(not_before)])
        finally:
            self._last_write = int(time.time())

    def gto_reads(self, argvs: Sequence[Argv]) -> list[Outcome]:
        """Read-only gto commands, batched into one process (see the module docstring)."""
        if self.python is None:
            return [self.gto(*argv, ok=None) for argv in argvs]
        results = self.repo.path.parent / "gto-batch.json"
        proc = subprocess.run(
            [self.python, "-c", _BATCH_DRIVER, str(results)],
            input=json.dumps([list(a) for a in argvs]), cwd=self.repo.path, capture_output=True,
            text=True, env=dict(os.environ), timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, f"gto batch driver crashed:\n{proc.stderr}"
        return [Outcome(r["rc"], r["stdout"], r["stderr"]) for r in json.loads(results.read_text())]

    # -- landmark ----------------------------------------------------------------------------
    def landmark(self, *args: str) -> Outcome:
        result = self.lm(*args, ok=None, tick=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def clock_to_wall(self) -> None:
        """Make landmark's next tag date a wall-clock second after gto's last write."""
        while int(time.time()) <= self._last_write:
            time.sleep(0.02)
        now = int(time.time())
        self._last_write = now
        stamp = f"{now} +0000"
        self.repo.monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
        self.repo.monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)
        import landmark.git

        self.repo.monkeypatch.setattr(landmark.git, "_ENV", None)

    # -- both --------------------------------------------------------------------------------
    def compare(self, *argvs: Argv) -> dict[Argv, Any]:
        """Run each command line with both tools; same success, and equal JSON when it works.

        Every mismatch is collected before failing, each shown as a unified diff.
        Returns gto's parsed output of each command line (None where gto failed).
        """
        gto_out = self.gto_reads(argvs)
        problems: list[str] = []
        parsed: dict[Argv, Any] = {}
        for argv, g in zip(argvs, gto_out, strict=True):
            lm_out = self.landmark(*argv)
            parsed[argv] = None
            if not g.ok:
                if lm_out.ok:
                    problems.append(
                        f"$ {' '.join(argv)}\ngto failed ({g.stderr.strip()}) but landmark "
                        f"printed:\n{lm_out.stdout}"
                    )
                continue
            parsed[argv] = g.json()
            if not lm_out.ok:
                problems.append(f"$ {' '.join(argv)}\nlandmark failed: {lm_out.stderr.strip()}")
            elif g.json() != lm_out.json():
                problems.append(_diff(argv, g.json(), lm_out.json()))
        assert not problems, "landmark differs from gto:\n\n" + "\n\n".join(problems)
        return parsed

    def compare_all(
        self,
        names: Iterable[str] = (),
        refs: Iterable[str] = (),
        extra: Iterable[Argv] = (),
        skip: Collection[Argv] = (),
    ) -> dict[Argv, Any]:
        """The standard battery: every read command, per artifact, and check-ref on every tag.

        ``skip`` leaves out command lines where gto is known to be wrong (each use says why).
        """
        argvs: list[Argv] = [
            ("show", "--json"),
            ("show", "--json", "-d"),
            ("show", "--json", "--vs", "-1", "--sort", "semver"),
            ("show", "--json", "--vs", "-1"),
            ("show", "--json", "--av", "1"),
            ("show", "--json", "--ro"),
            ("history", "--json"),
            ("history", "--json", "--asc"),
            ("stages", "--json"),
            ("stages", "--json", "--used"),
        ]
        for name in names:
            argvs += [*_versions_of(name), ("show", f"{name}@latest", "--json")]
            argvs += [("history", name, "--json"), ("history", name, "--json", "--asc")]
        argvs += [("show", ref, "--json") for ref in refs]
        argvs += [("check-ref", tag, "--json") for tag in self.repo.tags()]
        argvs += list(extra)
        return self.compare(*(a for a in argvs if a not in skip))


def _versions_of(name: str) -> list[Argv]:
    """``show NAME`` with the options that change which versions and stages it lists."""
    return [
        ("show", name, "--json"),
        ("show", name, "--json", "-d"),
        ("show", name, "--json", "--ro"),
        ("show", name, "--json", "--av", "1"),
        ("show", name, "--json", "--vs", "-1", "--sort", "semver"),
    ]


@pytest.fixture
def compat(repo: GitRepo, lm: Cli, gto_bin: str) -> Compat:
    return Compat(repo, lm, gto_bin)


def _registry_tags(repo: GitRepo) -> list[str]:
    return [t for t in repo.tags() if "@" in t or "#" in t]


# =============================================================================================
# 1. landmark writes, gto reads
# =============================================================================================


def test_lm_bumps_and_assignments(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")  # v0.0.1
    repo.commit({"model.pkl": "2"})
    lm("register", "churn")  # patch -> v0.0.2
    repo.commit({"model.pkl": "3"})
    lm("register", "churn", "--bump-minor")  # v0.1.0
    repo.commit({"model.pkl": "4"})
    lm("register", "churn", "--bump-major")  # v1.0.0
    repo.commit({"model.pkl": "5"})
    lm("register", "churn", "--bump-patch")  # v1.0.1
    lm("assign", "churn", "--version", "v0.1.0", "--stage", "prod")
    lm("assign", "churn", "--version", "v1.0.0", "--stage", "staging", "--simple", "true")
    lm("assign", "churn", "--version", "v1.0.0", "--stage", "prod")
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "dev")
    lm("assign", "churn", "--version", "v1.0.1", "--stage", "dev", "-m", "my own message")

    assert _registry_tags(repo) == sorted(
        [
            "churn@v0.0.1", "churn@v0.0.2", "churn@v0.1.0", "churn@v1.0.0", "churn@v1.0.1",
            "churn#prod#1", "churn#staging", "churn#prod#2", "churn#dev#3", "churn#dev#4",
        ]
    )  # fmt: skip
    show = compat.compare_all(["churn"], refs=["churn#prod", "churn#dev", "churn@v0.1.0"])[SHOW]
    assert show["churn"] == {
        "version": "v1.0.1",
        "stage": {"prod": "v1.0.0", "staging": "v1.0.0", "dev": "v1.0.1"},
        "registered": True,
        "active": True,
    }


def test_lm_prereleases_and_build_metadata(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn", "--version", "v1.0.0-rc.1")
    repo.commit({"model.pkl": "2"})
    lm("register", "churn", "--version", "1.0.0-rc.2")  # landmark accepts no 'v' as input
    repo.commit({"model.pkl": "3"})
    lm("register", "churn", "--version", "v1.0.0")
    repo.commit({"model.pkl": "4"})
    lm("register", "churn", "--version", "v1.1.0-alpha+build.7")
    repo.commit({"model.pkl": "5"})
    lm("register", "churn", "--version", "v0.9.0+exp.sha.5114f85")  # older, registered later
    lm("assign", "churn", "--version", "v1.0.0-rc.2", "--stage", "prod")
    lm("assign", "churn", "--version", "v1.0.0-rc.1", "--stage", "prod")
    lm("assign", "churn", "--version", "v1.1.0-alpha+build.7", "--stage", "staging")
    lm("assign", "churn", "--version", "v0.9.0+exp.sha.5114f85", "--stage", "staging")

    assert "churn@v1.0.0-rc.2" in repo.tags()
    show = compat.compare_all(
        ["churn"], refs=["churn#prod", "churn#staging", "churn@v1.1.0-alpha+build.7"]
    )[SHOW]
    assert show["churn"]["version"] == "v1.1.0-alpha+build.7"
    assert show["churn"]["stage"] == {"prod": "v1.0.0-rc.1", "staging": "v0.9.0+exp.sha.5114f85"}


def test_lm_force_reassign(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")
    repo.commit({"model.pkl": "2"})
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", ok=False)
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--force")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--force", "--simple", "true")

    assert "churn#prod#3" in repo.tags()
    assert "churn#prod" in repo.tags()
    show = compat.compare_all(["churn"], refs=["churn#prod"])[SHOW]
    assert show["churn"]["stage"] == {"prod": "v0.0.1"}


def test_lm_unassign_two_ways(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")
    repo.commit({"model.pkl": "2"})
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "staging")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "dev", "--simple", "true")
    lm("deprecate", "churn", "v0.0.2", "prod")  # prod falls back to v0.0.1
    lm("unassign", "churn", "v0.0.2", "--stage", "staging")
    lm("unassign", "churn", "v0.0.1", "--stage", "dev", "--simple", "true")

    assert {"churn#prod!#4", "churn#staging!#5", "churn#dev!"} <= set(repo.tags())
    show = compat.compare_all(["churn"], refs=["churn#prod", "churn#staging", "churn#dev"])[SHOW]
    assert show["churn"]["stage"] == {"prod": "v0.0.1"}


def test_lm_deregister(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")
    repo.commit({"model.pkl": "2"})
    lm("register", "churn")
    repo.commit({"model.pkl": "3"})
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.3", "--stage", "prod")
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    lm("deregister", "churn", "v0.0.3")
    lm("deprecate", "churn", "v0.0.2")  # GTO's spelling of deregister
    lm("deregister", "churn", "v0.0.1", "--simple", "false")

    assert {"churn@v0.0.3!", "churn@v0.0.2!", "churn@v0.0.1!#3"} <= set(repo.tags())
    show = compat.compare_all(["churn"], refs=["churn#prod"])[SHOW]
    assert show["churn"]["version"] is None


def test_lm_deregister_then_bump(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    """A deregistered latest is skipped by the bump; its version name can't be reused."""
    lm("register", "churn", "--version", "v1.0.0")
    repo.commit({"model.pkl": "2"})
    lm("register", "churn", "--version", "v2.0.0")
    lm("deregister", "churn", "v2.0.0")
    repo.commit({"model.pkl": "3"})
    lm("register", "churn", "--version", "v2.0.0", ok=False)
    lm("register", "churn")  # patch of the latest *active* version: v1.0.1
    lm("assign", "churn", "--version", "v1.0.1", "--stage", "prod")

    assert "churn@v1.0.1" in repo.tags()
    compat.compare_all(["churn"], refs=["churn#prod", "churn@v2.0.0"])


def test_lm_deprecate_and_revive(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    lm("register", "fraud")
    lm("deprecate", "churn")
    lm("deprecate", "churn", ok=False)  # deprecated already

    assert "churn@deprecated" in repo.tags()
    show = compat.compare_all(["churn", "fraud"])[SHOW]
    assert set(show) == {"fraud"}

    repo.commit({"model.pkl": "2"})
    lm("register", "churn")  # revives it
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    lm("deprecate", "churn", "--force")  # a second deprecation is counted
    repo.commit({"model.pkl": "3"})
    lm("register", "churn", "--bump-minor")

    assert "churn@deprecated#3" in repo.tags()
    show = compat.compare_all(["churn"], refs=["churn#prod"])[SHOW]
    assert show["churn"]["version"] == "v0.1.0"
    assert show["churn"]["active"] is True


def test_lm_monorepo_names(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "models/churn:model")
    lm("register", "models:churn")
    repo.commit({"models/churn/model.pkl": "2"})
    lm("register", "models/churn:model", "--bump-major")
    lm("assign", "models/churn:model", "--version", "v1.0.0", "--stage", "prod")
    lm("assign", "models/churn:model", "--version", "v0.0.1", "--stage", "dev")
    lm("assign", "models:churn", "--version", "v0.0.1", "--stage", "prod")

    assert {
        "models/churn=model@v1.0.0", "models/churn=model#prod#1", "models/churn=model#dev#2",
        "models=churn#prod#1",
    } <= set(repo.tags())  # fmt: skip
    show = compat.compare_all(
        ["models/churn:model", "models:churn"],
        refs=["models/churn:model#prod", "models/churn:model@v0.0.1", "models:churn#prod"],
    )[SHOW]
    assert set(show) == {"models/churn:model", "models:churn"}


# gto keeps two pseudo-versions per stage tag on an unregistered commit (see
# test_stage_on_unregistered_commit), so it lists such a commit several times in ``show NAME``
# and counts its stages separately for ``--av``. landmark lists it once: those command lines
# are compared there, not here.
def _listing(name: str, *shortcuts: str) -> set[Argv]:
    return {*_versions_of(name), *(("show", f"{name}{s}", "--json") for s in shortcuts)}


def test_lm_skip_registration(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")
    first = repo.commit({"model.pkl": "2"})
    lm("assign", "churn", "HEAD", "--stage", "dev", "--skip-registration")
    second = repo.commit({"model.pkl": "3"})
    lm("assign", "churn", "HEAD", "--stage", "dev", "--sr", "--simple", "true")
    lm("assign", "churn", first, "--stage", "staging", "--sr")
    lm("assign", "nlp", "HEAD", "--stage", "prod", "--sr")  # an artifact with no version at all

    tags = set(repo.tags())
    assert {"churn#dev#1", "churn#dev", "churn#staging#2", "nlp#prod#1"} <= tags
    assert not any(t.startswith("churn@v0.0.2") for t in tags)
    show = compat.compare_all(
        ["churn", "nlp"],
        refs=["churn#dev", "churn#staging", "nlp#prod"],
        skip=_listing("churn", "#dev", "#staging")
        | _listing("nlp", "#prod")
        | {("show", "--json", "--av", "1")},
    )[SHOW]
    assert show["churn"]["stage"] == {"dev": second, "staging": first, "prod": None}
    assert show["nlp"] == {
        "version": None,
        "stage": {"dev": None, "staging": None, "prod": second},
        "registered": True,
        "active": True,
    }


def test_lm_assign_registers_the_commit(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    """``assign NAME REF`` on an unregistered commit registers it first (two tags)."""
    lm("register", "churn")
    repo.commit({"model.pkl": "2"})
    lm("assign", "churn", "HEAD", "--stage", "prod")  # registers v0.0.2 first
    repo.commit({"model.pkl": "3"})
    lm("assign", "churn", "HEAD", "--stage", "prod", "--version", "v1.0.0")

    assert {"churn@v0.0.2", "churn@v1.0.0", "churn#prod#1", "churn#prod#2"} <= set(repo.tags())
    compat.compare_all(["churn"], refs=["churn#prod"])


def test_lm_several_artifacts(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")
    lm("register", "fraud", "--version", "v2.3.4")
    repo.commit({"model.pkl": "2"})
    lm("register", "churn")
    lm("register", "nlp")
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    lm("assign", "fraud", "--version", "v2.3.4", "--stage", "staging")
    lm("assign", "nlp", "--version", "v0.0.1", "--stage", "prod")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "staging")
    lm("deprecate", "nlp")
    lm("deprecate", "fraud")
    lm("assign", "fraud", "--version", "v2.3.4", "--stage", "prod")  # any later event revives

    show = compat.compare_all(
        ["churn", "fraud", "nlp"],
        refs=["churn#staging", "fraud#staging", "fraud#prod"],
    )[SHOW]
    assert set(show) == {"churn", "fraud"}


def test_lm_queries_that_find_nothing(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    """Unknown names, versions and stages, and ``-r`` from elsewhere: same answers (or both fail)."""
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    compat.compare(
        ("show", "-r", str(repo.path), "--json"),
        ("history", "-r", str(repo.path), "churn", "--json"),
        ("show", "nope", "--json"),
        ("show", "nope#prod", "--json"),
        ("show", "churn@v9.9.9", "--json"),
        ("show", "churn#nostage", "--json"),
        ("check-ref", "nope", "--json"),
        ("check-ref", "churn@v9.9.9", "--json"),
    )
    # Deliberate difference: gto prints [] for an unknown name; landmark says so (exit 3).
    r = lm("history", "nope", "--json", ok=False)
    assert r.exit_code == 3 and "artifact 'nope' not found" in r.output


def test_lm_config_stages(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    """A ``.gto`` allow-list: ``show`` lists every allowed stage, ``stages`` the allowed ones."""
    repo.commit({".gto": "stages: [dev, staging, prod]\ntypes: [model, dataset]\n"})
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "dev")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "qa", ok=False)

    show = compat.compare_all(
        ["churn"], refs=["churn#dev", "churn#prod"], extra=[("stages", "--json", "--allowed")]
    )[SHOW]
    assert show["churn"]["stage"] == {"dev": "v0.0.1", "staging": None, "prod": None}


def test_lm_artifacts_yaml(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    """gto's legacy index: read at each version's commit (enrichments) and at HEAD (listing)."""
    repo.commit(
        {
            "artifacts.yaml": (
                "churn:\n  type: model\n  path: models/churn.pkl\n  description: Churn model\n"
                "  labels: [tabular, prod]\n"
                "segment:\n  type: dataset\n  path: data/segment.csv\n"
                "gone:\n  type: model\n"
            )
        }
    )
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    repo.commit(
        {
            "artifacts.yaml": (
                "churn:\n  type: model\n  path: models/churn-v2.pkl\n  virtual: false\n"
                "  custom: {owner: ada, metrics: [0.9, 0.8]}\n"
                "segment:\n  type: dataset\n  path: data/segment.csv\n  virtual: true\n"
                "empty: {}\n"
            )
        }
    )
    lm("register", "churn")

    show = compat.compare_all(
        ["churn", "segment", "empty"], refs=["churn#prod", "churn@v0.0.1", "churn@v0.0.2"]
    )[SHOW]
    assert {n: d["registered"] for n, d in show.items()} == {
        "churn": True, "segment": False, "empty": False,
    }  # fmt: skip


# =============================================================================================
# 2. gto writes, landmark reads
# =============================================================================================


def test_gto_tagger_date_is_wall_clock(repo: GitRepo, compat: Compat) -> None:
    """gto ignores GIT_COMMITTER_DATE for its tags: see the module docstring."""
    before = int(time.time())
    compat.gto_write("register", "churn")
    after = int(time.time())
    stamp = int(repo.git("for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/churn@v0.0.1"))
    assert before <= stamp <= after
    assert abs(stamp - int(os.environ["GIT_COMMITTER_DATE"].split()[0])) > 3600
    # The batch driver prints what the gto executable prints.
    argvs: list[Argv] = [("show", "churn", "--json"), ("show", "nope", "--json")]
    direct = [compat.gto(*argv, ok=None) for argv in argvs]
    assert compat.gto_reads(argvs) == direct
    assert [o.ok for o in direct] == [True, False]
    compat.compare_all(["churn"])


def test_gto_lifecycle(repo: GitRepo, compat: Compat) -> None:
    g = compat.gto_write
    g("register", "churn")  # v0.0.1
    repo.commit({"model.pkl": "2"})
    g("register", "churn", "--bump-minor")  # v0.1.0
    repo.commit({"model.pkl": "3"})
    g("register", "churn", "--bump-major")  # v1.0.0
    g("assign", "churn", "--version", "v0.1.0", "--stage", "prod")
    g("assign", "churn", "--version", "v1.0.0", "--stage", "prod")
    g("assign", "churn", "--version", "v0.1.0", "--stage", "prod", "--force")
    g("assign", "churn", "--version", "v1.0.0", "--stage", "staging", "--simple", "true")
    g("assign", "churn", "--version", "v0.0.1", "--stage", "dev")
    g("deprecate", "churn", "v0.1.0", "prod")  # unassign: prod falls back to v1.0.0
    g("deprecate", "churn", "v0.0.1")  # deregister

    compat.compare_all(["churn"], refs=["churn#prod", "churn#staging", "churn#dev"])

    g("deprecate", "churn")
    compat.compare(("show", "--json"), ("show", "--json", "-d"), ("history", "churn", "--json"))
    repo.commit({"model.pkl": "4"})
    g("register", "churn")  # revival: v1.0.1
    compat.compare_all(["churn"], refs=["churn#prod"])


def test_gto_prereleases_monorepo_skip_registration(repo: GitRepo, compat: Compat) -> None:
    g = compat.gto_write
    g("register", "dir/sub:model", "--version", "v1.0.0-rc.1")
    repo.commit({"dir/sub/model.pkl": "2"})
    g("register", "dir/sub:model", "--version", "v1.0.0+build.4")
    g("assign", "dir/sub:model", "--version", "v1.0.0-rc.1", "--stage", "prod")
    g("assign", "dir/sub:model", "--version", "v1.0.0+build.4", "--stage", "staging")
    repo.commit({"dir/sub/model.pkl": "3"})
    g("assign", "dir/sub:model", "HEAD", "--stage", "dev", "--sr")
    g("assign", "churn", "HEAD", "--stage", "prod")  # registers v0.0.1, then assigns
    repo.commit({"model.pkl": "4"})
    g("assign", "churn", "HEAD", "--stage", "prod", "--version", "v3.0.0-pre.2+build.4")

    assert {
        "dir/sub=model@v1.0.0+build.4", "dir/sub=model#dev#3", "churn@v0.0.1", "churn#prod#1",
        "churn@v3.0.0-pre.2+build.4", "churn#prod#2",
    } <= set(repo.tags())  # fmt: skip
    compat.compare_all(
        ["dir/sub:model", "churn"],
        refs=["dir/sub:model#prod", "dir/sub:model#staging", "churn#prod", "churn@v0.0.1"],
        skip=_listing("dir/sub:model", "#dev"),
    )


def test_same_operations_write_the_same_tags(
    repo: GitRepo, lm: Cli, compat: Compat, tmp_path: Path
) -> None:
    """The same commands through gto (here) and landmark (in a clone): the same tag names,
    targets and messages, counters included."""
    for i in range(4):
        repo.commit({"model.pkl": str(i)})
    twin = tmp_path / "twin"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(twin)], check=True)
    operations: list[Argv] = [
        ("register", "churn", "HEAD~3"),
        ("register", "churn", "HEAD~2", "--bump-minor"),
        ("register", "dir/sub:model", "HEAD~3", "--version", "v1.2.3-rc.1+b.5"),
        ("assign", "churn", "--version", "v0.0.1", "--stage", "prod"),
        ("assign", "churn", "HEAD~1", "--stage", "staging"),  # registers v0.1.1 first
        ("assign", "churn", "HEAD", "--stage", "dev", "--sr"),
        ("assign", "churn", "--version", "v0.1.0", "--stage", "prod", "--simple", "true"),
        ("assign", "dir/sub:model", "--version", "v1.2.3-rc.1+b.5", "--stage", "prod"),
        ("deprecate", "churn", "v0.0.1", "prod"),
        ("deprecate", "churn", "v0.1.0"),
        ("deprecate", "dir/sub:model"),
    ]
    for op in operations:
        compat.gto_write(*op)
        lm(*op, "-r", str(twin))

    def tags(path: Path) -> dict[str, tuple[str, str]]:
        fmt = "%(refname:strip=2)%00%(*objectname)%00%(contents)%00"
        out = subprocess.run(
            ["git", "for-each-ref", f"--format={fmt}", "refs/tags"],
            cwd=path, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        fields = out.split("\0")
        return {
            fields[i].strip(): (fields[i + 1], fields[i + 2].strip())
            for i in range(0, len(fields) - 2, 3)
        }

    assert tags(twin) == tags(repo.path)
    assert sorted(tags(repo.path)) == [
        "churn#dev#3", "churn#prod", "churn#prod!#4", "churn#prod#1", "churn#staging#2",
        "churn@v0.0.1", "churn@v0.1.0", "churn@v0.1.0!", "churn@v0.1.1",
        "dir/sub=model#prod#1", "dir/sub=model@deprecated", "dir/sub=model@v1.2.3-rc.1+b.5",
    ]  # fmt: skip


def test_mixed_writers_share_counters(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    """landmark continues gto's counters, and gto continues landmark's."""
    compat.gto_write("register", "churn")
    compat.gto_write("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    repo.commit({"model.pkl": "2"})
    compat.clock_to_wall()
    lm("register", "churn", tick=False)
    compat.clock_to_wall()
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "prod", tick=False)
    compat.gto_write("assign", "churn", "--version", "v0.0.1", "--stage", "staging")
    compat.clock_to_wall()
    lm("deprecate", "churn", "v0.0.1", "prod", tick=False)
    compat.gto_write("deprecate", "churn", "v0.0.2", "prod")

    assert {
        "churn#prod#1",
        "churn#prod#2",
        "churn#staging#3",
        "churn#prod!#4",
        "churn#prod!#5",
    } <= (set(repo.tags()))
    compat.compare_all(["churn"], refs=["churn#prod", "churn#staging"])


# =============================================================================================
# 3. Where landmark deliberately does better than gto
# =============================================================================================


def _doctor(lm: Cli) -> tuple[int, str]:
    result = lm("doctor", ok=None, tick=False)
    return result.exit_code, result.output


def test_malformed_and_lightweight_tags(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    assert compat.landmark("doctor").ok

    # Tags both tools ignore: a lightweight look-alike, near misses of the grammar, a release.
    repo.tick()
    repo.git("tag", "churn@v9.9.9")
    repo.git("tag", "-a", "churn@v1.0", "-m", "not SemVer")
    repo.git("tag", "-a", "churn#prod!!", "-m", "two bangs")
    repo.git("tag", "-a", "v1.0.0", "-m", "a plain release tag")
    good = compat.compare_all(["churn"], refs=["churn#prod"])

    # A tag gto parses half-way and then crashes on: every gto read command fails.
    repo.git("tag", "-a", "foo@created", "-m", "not a registry event")
    broken = compat.gto("show", "--json", ok=False)
    assert "'action'" in broken.stdout + broken.stderr

    # landmark: everything else is still there, exactly as gto showed it before.
    assert compat.landmark(*SHOW).json() == good[SHOW]
    assert compat.landmark(*HISTORY).json() == good[HISTORY]
    assert [v["version"] for v in compat.landmark("show", "churn", "--json").json()] == ["v0.0.1"]
    assert compat.landmark("check-ref", "churn@v9.9.9", "--json").stdout.strip() == ""

    code, text = _doctor(lm)
    assert code != 0
    for tag in ("foo@created", "churn@v9.9.9", "churn@v1.0", "churn#prod!!"):
        assert f"{tag}:" in text, text
    assert "v1.0.0:" not in text  # not registry-shaped: not worth a warning


def test_two_versions_on_one_commit(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    lm("register", "churn", "--version", "v1.0.0-rc.1")
    lm("assign", "churn", "--version", "v1.0.0-rc.1", "--stage", "staging")
    lm("register", "churn", "--version", "v1.0.0")  # the final release, same commit
    lm("assign", "churn", "--version", "v1.0.0", "--stage", "prod")

    show = compat.landmark("show", "--json").json()
    assert show["churn"] == {
        "version": "v1.0.0",
        "stage": {"staging": "v1.0.0-rc.1", "prod": "v1.0.0"},
        "registered": True,
        "active": True,
    }
    prod = compat.landmark("show", "churn#prod", "--json").json()
    assert [v["version"] for v in prod] == ["v1.0.0"]
    assert [s["stage"] for s in prod[0]["stages"]] == ["prod"]
    staging = compat.landmark("show", "churn#staging", "--json").json()
    assert [v["version"] for v in staging] == ["v1.0.0-rc.1"]
    history = compat.landmark("history", "churn", "--json").json()
    assert [(e["ref"], e["version"]) for e in history] == [
        ("churn#prod#2", "v1.0.0"),
        ("churn@v1.0.0", "v1.0.0"),
        ("churn#staging#1", "v1.0.0-rc.1"),
        ("churn@v1.0.0-rc.1", "v1.0.0-rc.1"),
    ]
    # gto refuses to read such a repo at all.
    broken = compat.gto("show", "--json", ok=False)
    assert "Multiple versions are not allowed on the same Git commit" in broken.stderr


def test_two_versions_on_one_commit_custom_message(repo: GitRepo, lm: Cli) -> None:
    """``-m`` replaces the message that names the version: the assignment must still land on
    the version asked for (or be refused), never silently on the other one."""
    lm("register", "churn", "--version", "v1.0.0-rc.1")
    lm("register", "churn", "--version", "v1.0.0")
    result = lm("assign", "churn", "--version", "v1.0.0-rc.1", "--stage", "dev", "-m", "ship it",
                ok=None)  # fmt: skip
    if result.exit_code == 0:
        show = lm("show", "--json", tick=False).stdout
        assert json.loads(show)["churn"]["stage"] == {"dev": "v1.0.0-rc.1"}


def test_stage_on_unregistered_commit(repo: GitRepo, lm: Cli, compat: Compat) -> None:
    """gto files each stage tag on an unregistered commit under two new pseudo-versions of its
    own (``index_tag`` and ``Artifact.add_event`` each call ``find_version(create_new=True)``,
    which skips "discovered" versions), so ``show NAME`` lists the commit twice per stage tag,
    and an unassignment never cancels the assignment it follows. landmark keeps one version per
    commit, and an unassignment removes the stage (as gto-compat.md requires)."""
    lm("register", "churn")
    sha = repo.commit({"model.pkl": "2"})
    lm("assign", "churn", "HEAD", "--stage", "dev", "--sr")
    lm("assign", "churn", "HEAD", "--stage", "staging", "--sr")

    listing = compat.landmark("show", "churn", "--json").json()
    assert [v["version"] for v in listing] == ["v0.0.1", sha]
    assert listing[1]["discovered"] is True
    assert sorted(s["stage"] for s in listing[1]["stages"]) == ["dev", "staging"]
    assert compat.landmark("show", "--json", "--av", "1").json()["churn"]["stage"] == {
        "dev": sha, "staging": None,
    }  # fmt: skip

    lm("unassign", "churn", "--ref", sha, "--stage", "dev")
    show = compat.landmark("show", "--json").json()
    assert show["churn"]["stage"] == {"staging": sha}
    assert [v["version"] for v in compat.landmark("show", "churn#dev", "--json").json()] == []

    # What gto makes of the same tags, for the record.
    gto_listing, gto_show = (o.json() for o in compat.gto_reads([
        ("show", "churn", "--json"), ("show", "--json")
    ]))  # fmt: skip
    assert [v["version"] for v in gto_listing].count(sha) == 6
    assert gto_show["churn"]["stage"]["dev"] == sha  # the unassignment did nothing
