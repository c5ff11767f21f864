"""What the side-by-side benchmarks share: running a tool's CLI as a timed fresh process in an
isolated environment, finding the executables, and the ``main`` around a benchmark (a work
folder removed afterwards, errors as one line and an exit status). Plain stdlib.

The scripts import it as ``harness`` (they run as ``python bench/NAME.py``, so this folder is
on ``sys.path``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IDENTITY_NAME = "Landmark Bench"
IDENTITY_EMAIL = "bench@landmark.invalid"


class CommandFailed(Exception):
    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited with {returncode}")
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr


class UsageError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def isolated_env(
    home: Path, environ: Mapping[str, str], drop: Iterable[str], **extra: str
) -> dict[str, str]:
    """The environment for git and the CLIs: ``environ`` without variables starting with one of
    ``drop`` (a GIT_DIR from a hook, a tool's own settings would make the figures depend on
    who runs the benchmark), a fresh HOME, a fixed identity, and ``extra``."""
    prefixes = tuple(drop)
    env = {key: value for key, value in environ.items() if not key.startswith(prefixes)}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=IDENTITY_NAME,
        GIT_AUTHOR_EMAIL=IDENTITY_EMAIL,
        GIT_COMMITTER_NAME=IDENTITY_NAME,
        GIT_COMMITTER_EMAIL=IDENTITY_EMAIL,
        **extra,
    )
    return env


def dvc_env(home: Path, site_cache: Path, **extra: str) -> dict[str, str]:
    """``isolated_env`` for git, landmark and dvc: dvc would otherwise try to send usage
    analytics, and keep its per-repo state database in /var/tmp/dvc, shared with every other
    dvc run on the machine."""
    return isolated_env(
        home,
        os.environ,
        ("GIT_", "DVC_", "LANDMARK_"),
        XDG_CACHE_HOME=str(home / ".cache"),
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(site_cache),
        **extra,
    )


def run(argv: Sequence[str], *, cwd: Path, env: dict[str, str], stdin: bytes | None = None) -> str:
    """Run a command to completion; its stdout, or CommandFailed with its stderr."""
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout.decode(errors="replace")


def timed(argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall-clock seconds of one fresh process, and its stdout."""
    started = time.perf_counter()
    out = run(argv, cwd=cwd, env=env)
    return time.perf_counter() - started, out


def secs(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def render(header: list[str], body: list[list[str]], left: set[int]) -> str:
    """A plain-text table: columns in ``left`` read left to right, the others line up on the
    right (figures)."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return " | ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body)])


@dataclass(frozen=True)
class Target:
    """What a figure should meet: at most ``max_s`` seconds, at least ``min_ratio`` times the
    peer's speed (either may be absent)."""

    max_s: float | None = None
    min_ratio: float | None = None

    def describe(self, peer: str) -> str:
        parts = []
        if self.min_ratio is not None:
            parts.append(f">={self.min_ratio:g}x {peer}")
        if self.max_s is not None:
            parts.append(f"<={self.max_s:g} s")
        return ", ".join(parts) or "-"

    def verdict(
        self,
        landmark: float | None,
        other: float | None,
        peer: str,
        words: tuple[str, str] = ("pass", "FAIL"),
    ) -> str:
        """``words[0]`` when met, ``words[1]`` when not; "-" without a target, "n/a" without
        landmark's figure, and a note when only the seconds could be checked."""
        met, missed = words
        if self.max_s is None and self.min_ratio is None:
            return "-"
        if landmark is None:
            return "n/a"
        if self.max_s is not None and landmark > self.max_s:
            return missed
        if self.min_ratio is not None:
            if other is None:
                return f"{met} (no {peer})"  # only the absolute part could be checked
            if other / landmark < self.min_ratio:
                return missed
        return met


def results_table(rows: Sequence[Mapping[str, Any]], first: str, peer: str) -> str:
    """The side-by-side table: ``first`` (the row's name), landmark's and the peer's seconds,
    their ratio, the target and the verdict, from rows with the keys ``first``,
    ``landmark_s``, ``{peer}_s``, ``ratio``, ``target`` and ``verdict``."""
    header = [first, "landmark (s)", f"{peer} (s)", f"{peer}/landmark", "target", "result"]
    body = [
        [
            r[first],
            secs(r["landmark_s"]),
            secs(r[f"{peer}_s"]),
            "n/a" if r["ratio"] is None else f"{r['ratio']:.1f}x",
            r["target"],
            r["verdict"],
        ]
        for r in rows
    ]
    return render(header, body, {0, 4, 5})


def resolve_exe(given: str | None, default: Path, fallback: str, label: str) -> Path:
    """The executable given on the command line, else ``default``, else ``fallback`` on PATH."""
    if given is not None:
        path = Path(given)
        found = path if path.is_file() else shutil.which(given)
        if not found:
            raise UsageError(f"{label}: {given} not found")
        return Path(found).absolute()
    if default.is_file():
        return default
    on_path = shutil.which(fallback)
    if on_path is None:
        raise UsageError(f"{label}: neither {default} nor `{fallback}` on PATH")
    return Path(on_path)


def run_in_workdir(
    args: argparse.Namespace,
    prefix: str,
    benchmark: Callable[[argparse.Namespace, Path], dict[str, Any]],
    failures: tuple[type[Exception], ...] = (),
) -> dict[str, Any] | int:
    """``benchmark(args, workdir)`` in ``--workdir`` or a temp folder (removed afterwards
    unless ``--keep``); the report, or the exit status after printing one line on stderr:
    2 for a usage error (a missing tool), 1 for a failed command or one of ``failures``."""
    if args.workdir is not None:
        workdir = args.workdir.absolute()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return benchmark(args, workdir)
    except UsageError as exc:
        print(
            f"error: {exc} (run scripts/bootstrap, or see --only-peer/--no-peer)", file=sys.stderr
        )
        return 2
    except CommandFailed as exc:
        print(f"error: {exc}\n{exc.stderr.rstrip()}", file=sys.stderr)
        return 1
    except failures as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.workdir is None:
            log(f"kept {workdir}")
