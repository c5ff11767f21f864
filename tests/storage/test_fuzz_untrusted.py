"""Fuzzing what a cloned repository controls (issue 10): random pointer files, ``.dir``
manifests, ``dvc.lock`` files and tag names, run through the commands that read or write from
them inside a sandbox. Whatever they say:

- nothing outside the work tree changes, nor git's config and hooks;
- only the error tree's exit codes come out (never 70, the "unexpected" one), on one line;
- a command that fails leaves the work tree as it found it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landmark.storage import remotes

from ..conftest import Cli, GitRepo

DATA = b"hello world!\n"
MD5 = hashlib.md5(DATA).hexdigest()
ERROR_CODES = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot(top: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, bytes | str]]:
    found: dict[str, tuple[int, bytes | str]] = {}
    for dirpath, dirs, files in os.walk(top):
        here = Path(dirpath)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in dirs + files:
            p = here / name
            if p in skip:
                continue
            st = p.lstat()
            if p.is_symlink():
                found[str(p)] = (st.st_mode, os.readlink(p))
            elif p.is_file():
                found[str(p)] = (st.st_mode, p.read_bytes())
            else:
                found[str(p)] = (st.st_mode, "")
    return found


class Sandbox:
    """TOP/outside.txt, TOP/elsewhere/ and a repository at TOP/a/b/r with a local remote."""

    def __init__(self, tmp_path: Path, repo: GitRepo) -> None:
        self.top = tmp_path / "TOP"
        self.root = self.top / "a" / "b" / "r"
        self.root.parent.mkdir(parents=True)
        repo.path.rename(self.root)
        repo.path = self.root
        self.repo = repo
        self.lm = Cli(self.root, repo)
        (self.top / "outside.txt").write_bytes(b"precious\n")
        (self.top / "elsewhere").mkdir()
        self.storage = self.top / "storage"
        remotes.add_remote(self.root, "store", str(self.storage), default=True, cwd=self.root)
        os.symlink("../../../elsewhere", self.root / "link")  # a committed symlink out
        (self.root / ".gitignore").write_text("/t\n/d\n/sub\n")
        repo.commit({}, "sandbox")

    def put(self, data: bytes, md5: str | None = None) -> str:
        """An object in the cache and on the remote; its hash."""
        md5 = md5 or hashlib.md5(data).hexdigest()
        for base in (self.root / ".dvc" / "cache", self.storage):
            p = base / "files" / "md5" / md5[:2] / md5[2:]
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.exists():
                p.chmod(0o644)
            p.write_bytes(data)
        return md5

    def outside(self) -> dict[str, tuple[int, bytes | str]]:
        """Everything outside the work tree, plus git's config and hooks."""
        state = snapshot(self.top, skip=(self.root,))
        git = self.root / ".git"
        state.update(snapshot(git / "hooks"))
        state["config"] = (0, (git / "config").read_bytes())
        return state

    def work_tree(self) -> dict[str, tuple[int, bytes | str]]:
        return snapshot(self.root, skip=(self.root / ".git", self.root / ".dvc"))

    def reset(self, keep: set[str]) -> None:
        """Back to the committed files: remove whatever the last example wrote."""
        for p in self.root.iterdir():
            if p.name in keep or p.name in (".git", ".dvc"):
                continue
            if p.is_dir() and not p.is_symlink():
                for sub in p.rglob("*"):
                    if not sub.is_symlink():
                        sub.chmod(0o755 if sub.is_dir() else 0o644)
                shutil.rmtree(p)
            else:
                p.unlink()
        self.repo.git("checkout", "-q", "--", ".")

    def run(self, *args: str, cwd: Path | None = None) -> int:
        """Run one command; ``doctor`` reports problems over several lines by design."""
        before_out, before_tree = self.outside(), self.work_tree()
        result = (Cli(cwd, self.repo) if cwd else self.lm)(*args, ok=None, tick=False)
        out = result.output.strip()
        assert result.exit_code in ERROR_CODES, f"landmark {' '.join(args)}: {out}"
        assert "Traceback" not in out
        if result.exit_code != 0:
            assert args[0] == "doctor" or len(out.splitlines()) == 1, out
            assert self.work_tree() == before_tree, f"landmark {' '.join(args)} failed: {out}"
        assert self.outside() == before_out, f"landmark {' '.join(args)} wrote outside"
        return int(result.exit_code)


@pytest.fixture
def sandbox(tmp_path: Path, repo: GitRepo) -> Sandbox:
    return Sandbox(tmp_path, repo)


# -- strategies ---------------------------------------------------------------------------------
PARTS = st.sampled_from(
    ["..", ".", "", ".git", ".GIT", ".dvc", "hooks", "config", "a", "t", "d", "sub", "link",
     "x.txt", "outside.txt", "elsewhere", "ok", "~", "\\", "..\\..", " ", "C:"]
)  # fmt: skip


@st.composite
def paths(draw: st.DrawFn, absolute: str) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=20))
    parts = draw(st.lists(PARTS, min_size=1, max_size=5))
    text = "/".join(parts)
    return (absolute + "/" + text) if draw(st.booleans()) and draw(st.booleans()) else text


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), st.integers(-5, 10**12), st.text(max_size=12), st.just(MD5)
    )


@st.composite
def out_rows(draw: st.DrawFn, absolute: str, dir_md5: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "md5": draw(st.sampled_from([MD5, dir_md5, "../../outside.txt", "x" * 32]) | scalars()),
        "size": draw(st.sampled_from([13, 0]) | scalars()),
        "hash": draw(st.sampled_from(["md5", "md5-dos2unix"]) | scalars()),
        "path": draw(st.sampled_from(["t", "d", "sub/t"]) | paths(absolute) | scalars()),
    }
    if draw(st.booleans()):
        row["nfiles"] = draw(scalars())
    if draw(st.booleans()):
        row["isexec"] = draw(scalars())
    for key in draw(st.lists(st.sampled_from(list(row)), max_size=2)):
        row.pop(key, None)
    return row


@st.composite
def manifests(draw: st.DrawFn, absolute: str) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=60))
    rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "md5": st.sampled_from([MD5, MD5 + ".dir", "zz"]) | scalars(),
                    "relpath": st.sampled_from(["ok.txt", "sub/x"]) | paths(absolute) | scalars(),
                }
            ),
            max_size=4,
        )
    )
    return json.dumps(rows).encode()


def render(data: Any, as_text: bool) -> str:
    """JSON (which YAML reads) or a text dvc-like layout that the fast parser may take."""
    if not as_text or not isinstance(data, dict) or not isinstance(data.get("outs"), list):
        return json.dumps(data)
    lines = ["outs:"]
    for row in data["outs"]:
        for i, (k, v) in enumerate(row.items()):
            lines.append(f"{'- ' if i == 0 else '  '}{k}: {v}")
    return "\n".join(lines) + "\n"


# -- the tests ----------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_random_pointer_files_and_manifests(sandbox: Sandbox, data: st.DataObject) -> None:
    sandbox.reset({"README.md", ".gitignore", "link"})
    absolute = str(sandbox.top)
    sandbox.put(DATA)
    manifest = data.draw(manifests(absolute))
    dir_md5 = sandbox.put(manifest, hashlib.md5(manifest).hexdigest() + ".dir")
    rows = data.draw(st.lists(out_rows(absolute, dir_md5), max_size=3))
    doc: Any = {"outs": rows} if data.draw(st.integers(0, 5)) else data.draw(scalars())
    where = data.draw(st.sampled_from(["t.dvc", "sub/t.dvc", "dvc.lock"]))
    if where == "dvc.lock":
        doc = {"schema": "2.0", "stages": {"train": {"cmd": "x", "outs": rows}}}
    text = render(doc, data.draw(st.booleans()))
    if data.draw(st.integers(0, 9)) == 0:
        text = data.draw(st.text(max_size=80))
    target = sandbox.root / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    for args in (
        ("status",),
        ("checkout",),
        ("checkout", "--force"),
        ("pull", "--force"),
        ("push",),
        ("gc", "-f", "--no-registry"),
    ):
        sandbox.run(*args)


NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
TAG = st.one_of(
    st.builds(
        lambda n, v: f"{n}@{v}",
        NAME,
        st.from_regex(r"v?[0-9]{1,3}(\.[0-9x]{1,3}){0,3}", fullmatch=True),
    ),
    st.builds(lambda n, s, c: f"{n}#{s}#{c}", NAME, NAME, st.integers(-2, 99)),
    st.builds(lambda n, s: f"{n}#{s}", NAME, st.text("abc!#@-_.", max_size=6)),
    st.builds(lambda n: f"{n}@deprecated", NAME),
    st.text("abcv0.1#@-_!", min_size=1, max_size=16),
)


def valid_ref(tag: str) -> bool:
    proc = subprocess.run(["git", "check-ref-format", f"refs/tags/{tag}"], capture_output=True)
    return proc.returncode == 0


@FUZZ
@given(
    tags=st.lists(
        st.tuples(
            TAG,
            # a message git can be given: no NUL, no lone surrogates (not encodable)
            st.text(
                st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=60
            ),
            st.booleans(),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_random_tags_never_crash_the_readers(
    sandbox: Sandbox, tags: list[tuple[str, str, bool]]
) -> None:
    made = []
    for name, message, annotated in tags:
        if not valid_ref(name) or name in made:
            continue
        args = ["tag", "-a", "-m", message or "x", name] if annotated else ["tag", name]
        proc = subprocess.run(["git", *args], cwd=sandbox.root, capture_output=True)
        if proc.returncode == 0:
            made.append(name)
    (sandbox.root / "dvc.yaml").write_text(
        "artifacts:\n" + "".join(f"  {t.split('@')[0].split('#')[0]}:\n    path: t\n" for t in made)
    )
    try:
        for args in (
            ("show",),
            ("show", "--json"),
            ("history",),
            ("doctor",),
            ("stages", "--used"),
            *[("check-ref", t) for t in made],
            *[("show", t) for t in made],
            *[("get", t, "-o", "got") for t in made],
        ):
            sandbox.run(*args)
    finally:
        for t in made:
            sandbox.repo.git("tag", "-d", t, check=False)
        (sandbox.root / "dvc.yaml").unlink()
        shutil.rmtree(sandbox.root / "got", ignore_errors=True)
        (sandbox.root / "got").unlink(missing_ok=True)
