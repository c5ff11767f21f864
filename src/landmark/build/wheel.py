"""landmark itself for an image or a venv: a wheel of this installation, or a pinned name.

The choice, in order:

1. landmark runs from a source tree (an editable or local-folder install, as
   ``scripts/bootstrap`` makes): ``pip wheel --no-deps`` of a copy of that tree's
   ``pyproject.toml``, ``README.md`` and ``src/``, so the image runs exactly the code that
   built it, uncommitted edits included. The copy keeps ``build/`` and ``*.egg-info`` out
   of the tree.
2. landmark was installed from a wheel file that is still on disk: that file.
3. Otherwise: ``landmark[serve]==VERSION`` from the package index pip is configured with.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import LandmarkError, one_line

DIST = "landmark"


@dataclass(frozen=True)
class Landmark:
    """How to install landmark: a wheel file (copied into the build), or a requirement."""

    version: str
    wheel: Path | None = None

    def requirement(self, extra: str = "serve") -> str:
        return f"{DIST}[{extra}]=={self.version}"


def _origin() -> tuple[Path | None, bool]:
    """The folder or file landmark was installed from, and whether it is a source tree."""
    try:
        dist = metadata.distribution(DIST)
        text = dist.read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None, False
    if not text:
        return None, False
    try:
        doc = json.loads(text)
        url = urlsplit(doc["url"])
    except (ValueError, KeyError, TypeError):
        return None, False
    if url.scheme != "file":
        return None, False
    path = Path(unquote(url.path))
    if "dir_info" in doc:
        return (path, True) if (path / "pyproject.toml").is_file() else (None, False)
    return (path, False) if path.is_file() and path.suffix == ".whl" else (None, False)


# Wheels built in this process, by the source files they were built from: a second build
# of unchanged sources copies the wheel (a test session or a script building several images).
_BUILT: dict[str, Path] = {}
_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "setup.py", "setup.cfg")


def _fingerprint(tree: Path) -> str:
    import hashlib

    digest = hashlib.sha256(str(tree).encode())
    paths = [tree / n for n in _SOURCES if (tree / n).is_file()]
    if (tree / "src").is_dir():
        paths += sorted(
            p for p in (tree / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for p in paths:
        st = p.stat()
        digest.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _build(tree: Path, dest: Path) -> Path:
    key = _fingerprint(tree)
    cached = _BUILT.get(key)
    if cached is not None and cached.is_file():
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / cached.name
        shutil.copy2(cached, target)
        return target
    work = Path(tempfile.mkdtemp(prefix="landmark-wheel-"))
    try:
        copy = work / "src-tree"
        copy.mkdir()
        for name in _SOURCES:
            if (tree / name).is_file():
                shutil.copy2(tree / name, copy / name)
        if (tree / "src").is_dir():
            shutil.copytree(
                tree / "src",
                copy / "src",
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
                symlinks=True,
            )
        out = work / "wheels"
        # Without build isolation pip needs no index: setuptools is taken from this
        # environment when it has it.
        isolated = importlib.util.find_spec("setuptools") is None
        cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-input"]
        cmd += [] if isolated else ["--no-build-isolation"]
        proc = subprocess.run(
            [*cmd, "--wheel-dir", str(out), str(copy)], capture_output=True, text=True
        )
        wheels = sorted(out.glob("landmark-*.whl")) if out.is_dir() else []
        if proc.returncode != 0 or len(wheels) != 1:
            last = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            raise LandmarkError(
                f"building landmark's wheel from {tree} failed: "
                f"{one_line(last[-1] if last else f'exit {proc.returncode}')}"
            )
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / wheels[0].name
        shutil.copy2(wheels[0], target)
        keep = Path(tempfile.mkdtemp(prefix="landmark-wheel-cache-")) / wheels[0].name
        shutil.copy2(wheels[0], keep)
        _BUILT[key] = keep
        _forget_at_exit(keep.parent)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _forget_at_exit(folder: Path) -> None:
    import atexit

    atexit.register(shutil.rmtree, folder, ignore_errors=True)


def landmark(dest: Path) -> Landmark:
    """landmark for the build, with a wheel put into ``dest`` where there is one to use."""
    version = metadata.version(DIST)
    origin, is_tree = _origin()
    if origin is None:
        return Landmark(version)
    if is_tree:
        return Landmark(version, _build(origin, dest))
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / origin.name
    shutil.copy2(origin, target)
    return Landmark(version, target)


__all__ = ["Landmark", "landmark"]
