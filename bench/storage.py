#!/usr/bin/env python3
"""Side-by-side storage benchmark: landmark against the real dvc (the peer), plus the disk's floor.

Run it with ``.venv/bin/python bench/storage.py`` after ``scripts/bootstrap``. Plain stdlib.

What it does
------------
1. Builds two data sets in seconds: ONE file of ``--big-mib`` MiB (default 1024 = 1 GiB) and
   ``--small-count`` files of ``--small-kib`` KiB (default 20,000 x 1 KiB, in 20 folders),
   all random bytes (one random block, each chunk/file stamped with its number, so no two are
   alike and generating a GiB takes no longer than writing it).

2. For each tool and data set, in a fresh git repo of its own and against a local-directory
   remote of its own, times the tool's CLI as fresh processes (wall clock):

   * ``add``      ``landmark add big.bin`` / ``dvc add big.bin`` (``small`` for the folder);
   * ``status``   on the clean tree, right after the add;
   * ``push``     to the default remote (set with the tool's own ``remote add -d``);
   * ``checkout`` after deleting the workspace copies (the cache is still there);
   * ``pull``     in a fresh ``git clone`` of the repo, i.e. with no cache and no workspace
     copies, as a teammate would.

   Untimed set-up per repo: ``git init``, ``dvc init`` (dvc only: landmark needs none),
   ``remote add -d``, copying the data in, ``git commit`` and ``git clone``. Both tools run
   with their own defaults (jobs, link type: on this ext4 disk dvc copies, landmark links).

3. The physical floor in the same run: ``md5sum`` and ``cp`` of the big file, ``cp -r`` of the
   small files; and landmark's own md5 (``landmark.storage.hashing.file_md5``, timed inside
   the process) against ``md5sum`` on the same file, both warm, best of ``--md5-repeat``.

4. Cache policy. Before every timed step, dirty pages are written back (``sync``), so one
   step's writes are not paid by the next. Nothing is deleted until every step has been
   timed: what the run removes is renamed into a trash folder (see ``Trash``: ext4 makes file
   creation slow for a minute after a mass deletion, which would land on the next tool). By default (``--warm``) every step then runs with
   whatever the page cache holds, the same for both tools: data just written or read is in
   memory, as after a training run, and the figures are steady. With ``--cold`` (needs root;
   falls back to warm, and says so, where dropping is not allowed) the page cache is also
   dropped (``/proc/sys/vm/drop_caches``), so every step reads its data from disk; the tool's
   own code is then read back by an untimed run of the same command in a tiny repo where it
   has nothing to do (see ``Warmer``), so a step does not pay for loading Python modules off
   disk, which no daily user pays. On a virtual disk, cold small-file reads are dominated by
   the disk's latency, and the figures vary much more from run to run.

5. Prints a table (operation, landmark, dvc, dvc/landmark, target, verdict) and the floor to
   stdout; ``--json-out FILE`` writes the figures as JSON. Progress goes to stderr.

6. Checks correctness in passing: the bytes restored by ``checkout`` and ``pull`` equal the
   originals, for both tools; the pointer files both tools write are identical; both remotes
   hold the same object names.

``--repeat N`` runs every scenario N times (alternating which tool goes first) and keeps the
best time of each step. The exit status is 0 whatever the verdicts (this is a report, not a
test); 1 when a command fails (its stderr is printed) and 2 for a usage error such as a missing
binary. ``--no-peer`` measures landmark alone, ``--only-peer`` dvc alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import (
    log,
    render,
    resolve_exe,
    run,
    run_in_workdir,
    secs,
    timed,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

BIG_NAME = "big.bin"
SMALL_NAME = "small"
SMALL_FOLDERS = 20
STEPS = ("add", "status", "push", "checkout", "pull")
CHUNK = 64 * 1024 * 1024


class WrongBytes(Exception):
    pass


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return run(["git", "-C", str(repo), *args], cwd=repo, env=env)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    key: str  # "big" or "small"
    label: str  # how the table names it
    target: str  # the path given to add, relative to the repo root
    source: Path  # the pristine copy, never touched by a tool
    md5: str | None  # of the big file (the small files are compared byte for byte)


def make_big(path: Path, mib: int) -> str:
    """Write `mib` MiB of random bytes; return their md5. Each 64 MiB chunk is made unique."""
    block = bytearray(os.urandom(min(CHUNK, mib * 1024 * 1024)))
    digest = hashlib.md5()
    left = mib * 1024 * 1024
    with open(path, "wb") as f:
        for n in range(-(-left // len(block))):
            block[:8] = n.to_bytes(8, "little")  # getrandom is slow here: stamp, don't redraw
            piece = memoryview(block)[: min(len(block), left)]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def make_small(root: Path, count: int, kib: int) -> None:
    size = kib * 1024
    pool = os.urandom(size + 4096)
    for d in range(SMALL_FOLDERS):
        (root / f"d{d:02d}").mkdir(parents=True)
    for i in range(count):
        # A different window of the pool and the file's number: every file differs.
        start = (i * 97) % 4096
        data = i.to_bytes(8, "little") + pool[start + 8 : start + size]
        with open(root / f"d{i % SMALL_FOLDERS:02d}" / f"f{i:06d}.bin", "wb") as f:
            f.write(data)


def same_tree(a: Path, b: Path) -> str | None:
    """None when the two folders hold the same files with the same bytes, else the first difference."""
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        return f"{len(files_a)} files vs {len(files_b)}"
    for rel in files_a:
        if (a / rel).read_bytes() != (b / rel).read_bytes():
            return f"{rel}: different bytes"
    return None


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verify(ds: Dataset, root: Path) -> str | None:
    """None when `root` holds the data set's original bytes, else what is wrong."""
    restored = root / ds.target
    if ds.md5 is not None:
        if not restored.is_file():
            return f"{ds.target} is missing"
        got = file_md5(restored)
        return None if got == ds.md5 else f"{ds.target}: md5 {got}, expected {ds.md5}"
    if not restored.is_dir():
        return f"{ds.target} is missing"
    diff = same_tree(ds.source, restored)
    return None if diff is None else f"{ds.target}: {diff}"


def objects_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


class PageCache:
    """Writes dirty pages back before each timed step and, when cold, drops the page cache."""

    def __init__(self, cold: bool) -> None:
        self.cold = cold and self._drop()

    @staticmethod
    def _drop() -> bool:
        os.sync()
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        except OSError:
            return False
        return True

    def settle(self) -> None:
        if self.cold:
            self._drop()
        else:
            os.sync()


@dataclass(frozen=True)
class Tool:
    name: str
    exe: Path

    @property
    def is_dvc(self) -> bool:
        return self.name == "dvc"


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float | None:
        return min(self.runs) if self.runs else None


@dataclass
class Scenario:
    """What one tool did to one data set in one repetition, for the checks."""

    tool: str
    dataset: str
    times: dict[str, float]
    pointer: str  # the .dvc file the add wrote
    remote_objects: list[str]
    # What was wrong with the bytes checkout and pull restored (None: identical).
    wrong: dict[str, str | None]


def new_repo(tool: Tool, repo: Path, remote: Path, env: dict[str, str]) -> None:
    """An empty git repo whose default remote is `remote`, set with the tool's own command."""
    repo.mkdir(parents=True)
    git(repo, env, "init", "-q", "-b", "main")
    if tool.is_dvc:
        run([str(tool.exe), "init", "-q"], cwd=repo, env=env)
    run([str(tool.exe), "remote", "add", "-d", "store", str(remote)], cwd=repo, env=env)


class Warmer:
    """Re-reads a tool's code after the page cache is dropped, so only the data starts cold.

    Each timed step is preceded by the same command in a tiny repo of the tool's own where it
    has nothing to do (the file is tracked, pushed and present): that imports the same modules
    and starts git as the timed step will, without touching the benchmark's data.
    """

    def __init__(self, tool: Tool, base: Path, env: dict[str, str]) -> None:
        self.tool, self.env, self.repo = tool, env, base / "repo"
        remove(base)
        new_repo(tool, self.repo, base / "remote", env)
        (self.repo / "tiny.bin").write_bytes(b"warm-up\n")
        for argv in (["add", "tiny.bin"], ["push"]):
            run([str(tool.exe), *argv], cwd=self.repo, env=env)
        git(self.repo, env, "add", "-A")
        git(self.repo, env, "commit", "-q", "-m", "warm-up")

    def warm(self, step: str) -> None:
        argv = ["add", "tiny.bin"] if step == "add" else [step]
        run([str(self.tool.exe), *argv], cwd=self.repo, env=self.env)


def run_scenario(
    tool: Tool,
    ds: Dataset,
    base: Path,
    env: dict[str, str],
    cache: PageCache,
    warmer: Warmer | None,
) -> Scenario:
    remove(base)
    repo, remote, clone = base / "repo", base / "remote", base / "clone"
    exe = str(tool.exe)
    new_repo(tool, repo, remote, env)
    copy_in(ds.source, repo / ds.target)
    times: dict[str, float] = {}

    def step(name: str, argv: list[str], where: Path) -> None:
        cache.settle()
        if warmer is not None:
            warmer.warm(name)
        log(f"{ds.label}: {tool.name} {name} ...")
        times[name], _ = timed([exe, *argv], cwd=where, env=env)
        log(f"{ds.label}: {tool.name} {name} {times[name]:.3f} s")

    step("add", ["add", ds.target], repo)
    pointer = (repo / f"{ds.target}.dvc").read_text()
    step("status", ["status"], repo)
    step("push", ["push"], repo)
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", f"track {ds.target}")

    remove(repo / ds.target)
    step("checkout", ["checkout"], repo)
    wrong = {"checkout": verify(ds, repo)}

    run(["git", "clone", "-q", str(repo), str(clone)], cwd=base, env=env)
    step("pull", ["pull"], clone)
    wrong["pull"] = verify(ds, clone)
    for name, problem in wrong.items():
        if problem:
            log(f"{ds.label}: {tool.name} {name} restored wrong bytes: {problem}")
    return Scenario(tool.name, ds.key, times, pointer, objects_under(remote), wrong)


def copy_in(source: Path, dest: Path) -> None:
    # A real copy (never a link to the source), so each tool starts from its own bytes.
    if source.is_dir():
        shutil.copytree(source, dest)
    else:
        shutil.copyfile(source, dest)


class Trash:
    """Where the run puts what it deletes until no step is left to time.

    Deleting tens of thousands of files just before a timed step slows that step down, in the
    kernel: for about a minute ext4 will not reuse a freed inode, and to skip one it reads the
    inode table, so every file created next pays a scan of the recent deletions (``perf``
    showed ``recently_deleted`` under ``ext4_new_inode`` as most of a pull's time after the
    bench had just removed the previous scenario's 80,000 files). That cost belongs to the
    benchmark's clean-up, not to the tool that happens to run next, so deletions here are
    renames into this folder, emptied when every step has been timed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def discard(self, path: Path) -> None:
        if not path.exists() and not path.is_symlink():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path.rename(self.root / f"{self.count:05d}-{path.name}")

    def empty(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


TRASH = Trash(Path(tempfile.gettempdir()) / "landmark-bench-trash")  # set per run in benchmark()


def remove(path: Path) -> None:
    TRASH.discard(path)


def runs_of(
    repeat: int,
    fn: Callable[[], float],
    cache: PageCache,
    prepare: Callable[[], None] | None = None,
) -> list[float]:
    """`repeat` timings of `fn`, each after `prepare` (untimed) and a settled page cache."""
    runs = []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        cache.settle()
        runs.append(fn())
    return runs


def measure_floor(
    big: Dataset | None,
    small: Dataset | None,
    workdir: Path,
    env: dict[str, str],
    python: Path | None,
    repeat: int,
    cache: PageCache,
) -> dict[str, Any]:
    """md5sum/cp/cp -r on the sources; landmark's file_md5 against md5sum (both warm)."""
    floor: dict[str, Any] = {}
    scratch = workdir / "floor"

    def wall(argv: list[str]) -> float:
        seconds, _ = timed(argv, cwd=workdir, env=env)
        return seconds

    def fresh_scratch() -> None:
        # The last copy goes to the trash (see Trash), untimed.
        remove(scratch)
        scratch.mkdir()

    if big is not None:
        path = str(big.source)
        log("floor: md5sum / cp of the big file ...")
        floor["md5sum_big"] = runs_of(repeat, lambda: wall(["md5sum", path]), cache)
        cp_big = ["cp", path, str(scratch / BIG_NAME)]
        floor["cp_big"] = runs_of(repeat, lambda: wall(cp_big), cache, fresh_scratch)
        out = run(["md5sum", path], cwd=workdir, env=env).split()[0]
        if out != big.md5:
            raise WrongBytes(f"md5sum says {out}, the generator {big.md5}")
        if python is not None:
            # Hashing speed, not disk speed: both warm, interleaved, each best of `repeat`.
            code = (
                "import sys, time\nfrom pathlib import Path\n"
                "from landmark.storage.hashing import file_md5\n"
                "t = time.perf_counter(); h = file_md5(Path(sys.argv[1]))\n"
                "print(h, time.perf_counter() - t)\n"
            )
            log("md5: landmark file_md5 against md5sum, warm ...")
            wall(["md5sum", path])  # warms the page cache
            ours: list[float] = []
            theirs: list[float] = []
            for _ in range(repeat):
                digest, seconds = run([str(python), "-c", code, path], cwd=workdir, env=env).split()
                if digest != big.md5:
                    raise WrongBytes(f"file_md5 says {digest}, expected {big.md5}")
                ours.append(float(seconds))
                theirs.append(wall(["md5sum", path]))
            floor["md5_landmark_warm"] = ours
            floor["md5sum_big_warm"] = theirs
    if small is not None:
        log("floor: cp -r of the small files ...")

        cp_small = ["cp", "-r", str(small.source), str(scratch / SMALL_NAME)]
        floor["cp_r_small"] = runs_of(repeat, lambda: wall(cp_small), cache, fresh_scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    return floor


# --------------------------------------------------------------------------------------------
# Targets and report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    min_ratio: float | None = None  # how many times faster than dvc

    def describe(self) -> str:
        return "-" if self.min_ratio is None else f">={self.min_ratio:g}x dvc"

    def verdict(self, landmark: float | None, dvc: float | None) -> str:
        if self.min_ratio is None:
            return "-"
        if landmark is None:
            return "n/a"
        if dvc is None:
            return "n/a (no dvc)"
        return "pass" if dvc / landmark >= self.min_ratio else "FAIL"


def target_for(dataset: str, step: str) -> Target:
    if dataset == "small":
        return Target(min_ratio=5)
    if step == "add":
        return Target(min_ratio=3)
    return Target()


def render_floor(rows: list[dict[str, Any]]) -> str:
    header = ["floor", "seconds", "compared with", "ratio", "target", "result"]
    body = [
        [
            r["measure"],
            secs(r["s"]),
            r.get("versus", "-"),
            "-" if r.get("ratio") is None else f"{r['ratio']:.2f}x",
            r.get("target", "-"),
            r.get("verdict", "-"),
        ]
        for r in rows
    ]
    return render(header, body, {0, 2, 4, 5})


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def python_of(exe: Path) -> Path | None:
    """The interpreter of a console script (its shebang), to import landmark for file_md5."""
    try:
        first = exe.read_bytes()[:256].split(b"\n", 1)[0]
    except OSError:
        return None
    if first.startswith(b"#!") and b"python" in first:
        return Path(first[2:].decode().strip().split()[0])
    return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark landmark's storage commands against dvc, with the disk's floor.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--landmark", help="landmark executable (default: .venv/bin/landmark, PATH)")
    p.add_argument("--dvc", help="dvc executable (default: .venv-dvc/bin/dvc, PATH)")
    p.add_argument("--big-mib", type=int, default=1024, help="size of the one big file")
    p.add_argument("--small-count", type=int, default=20_000, help="number of small files")
    p.add_argument("--small-kib", type=int, default=1, help="size of each small file")
    p.add_argument("--big", action=argparse.BooleanOptionalAction, default=True, help="big file")
    p.add_argument(
        "--small", action=argparse.BooleanOptionalAction, default=True, help="small files"
    )
    p.add_argument("--repeat", type=int, default=1, help="runs of every scenario (best is kept)")
    p.add_argument("--md5-repeat", type=int, default=3, help="runs of each floor measure")
    cache = p.add_mutually_exclusive_group()
    cache.add_argument(
        "--cold",
        dest="cold",
        action="store_true",
        default=False,
        help="drop the page cache before every timed step (needs root; else warm)",
    )
    cache.add_argument("--warm", dest="cold", action="store_false", help="keep the page cache")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--only-peer", action="store_true", help="time dvc only")
    who.add_argument("--no-peer", action="store_true", help="time landmark only")
    p.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir and every repo")
    p.add_argument("--json-out", type=Path, help="write the figures as JSON to this file")
    args = p.parse_args(argv)
    for name in ("repeat", "md5_repeat", "big_mib", "small_count", "small_kib"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if not (args.big or args.small):
        p.error("nothing to do: --no-big and --no-small")
    return args


def size_label(mib: int) -> str:
    return f"{mib // 1024} GiB file" if mib % 1024 == 0 else f"{mib} MiB file"


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    global TRASH
    TRASH = Trash(workdir / "trash")
    tools: list[Tool] = []
    if not args.only_peer:
        exe = resolve_exe(args.landmark, REPO_ROOT / ".venv/bin/landmark", "landmark", "landmark")
        tools.append(Tool("landmark", exe))
    if not args.no_peer:
        tools.append(
            Tool("dvc", resolve_exe(args.dvc, REPO_ROOT / ".venv-dvc/bin/dvc", "dvc", "dvc"))
        )
    for tool in tools:
        log(f"{tool.name}: {tool.exe}")
    dvc_version = None
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = harness.dvc_env(home, workdir / "dvc-site-cache")
    if not args.no_peer:
        dvc_version = run([str(tools[-1].exe), "--version"], cwd=workdir, env=env).strip()

    data = workdir / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    datasets: list[Dataset] = []
    if args.big:
        started = time.perf_counter()
        digest = make_big(data / BIG_NAME, args.big_mib)
        log(f"made {BIG_NAME} ({args.big_mib} MiB) in {time.perf_counter() - started:.2f} s")
        datasets.append(Dataset("big", size_label(args.big_mib), BIG_NAME, data / BIG_NAME, digest))
    if args.small:
        started = time.perf_counter()
        make_small(data / SMALL_NAME, args.small_count, args.small_kib)
        log(f"made {args.small_count:,} files in {time.perf_counter() - started:.2f} s")
        label = f"{args.small_count:,} x {args.small_kib} KiB"
        datasets.append(Dataset("small", label, SMALL_NAME, data / SMALL_NAME, None))

    cache = PageCache(args.cold)
    if args.cold and not cache.cold:
        log("cannot drop the page cache here (needs root): every step runs warm")
    log(f"page cache: {'dropped before every timed step (code re-read)' if cache.cold else 'warm'}")

    warmers: dict[str, Warmer | None] = {
        t.name: Warmer(t, workdir / f"warm-{t.name}", env) if cache.cold else None for t in tools
    }
    scenarios: list[Scenario] = []
    for rep in range(args.repeat):
        order = tools if rep % 2 == 0 else tools[::-1]
        for ds in datasets:
            for tool in order:
                base = workdir / f"{tool.name}-{ds.key}"
                scenarios.append(run_scenario(tool, ds, base, env, cache, warmers[tool.name]))
                if not args.keep:
                    remove(base)

    by_key = {d.key: d for d in datasets}
    python = None
    if not args.only_peer:
        python = python_of(tools[0].exe) or Path(sys.executable)
    floor = measure_floor(
        by_key.get("big"), by_key.get("small"), workdir, env, python, args.md5_repeat, cache
    )
    TRASH.empty()  # nothing left to time

    rows: list[dict[str, Any]] = []
    for ds in datasets:
        for step in STEPS:
            runs = {
                t.name: [
                    s.times[step] for s in scenarios if s.tool == t.name and s.dataset == ds.key
                ]
                for t in tools
            }
            lm, peer = Timing(runs.get("landmark", [])).best, Timing(runs.get("dvc", [])).best
            target = target_for(ds.key, step)
            rows.append(
                {
                    "operation": f"{ds.label}: {step}",
                    "landmark_s": lm,
                    "dvc_s": peer,
                    "ratio": peer / lm if lm and peer else None,
                    "landmark_runs": runs.get("landmark", []),
                    "dvc_runs": runs.get("dvc", []),
                    "target": target.describe(),
                    "verdict": target.verdict(lm, peer),
                }
            )

    floor_rows: list[dict[str, Any]] = []
    if "md5sum_big" in floor:
        big_label = by_key["big"].label
        floor_rows.append({"measure": f"md5sum, {big_label}", "s": min(floor["md5sum_big"])})
        floor_rows.append({"measure": f"cp, {big_label}", "s": min(floor["cp_big"])})
    if "md5_landmark_warm" in floor:
        ours, theirs = min(floor["md5_landmark_warm"]), min(floor["md5sum_big_warm"])
        ratio = ours / theirs
        floor_rows.append({"measure": "md5sum (warm)", "s": theirs})
        floor_rows.append(
            {
                "measure": "landmark file_md5 (warm)",
                "s": ours,
                "versus": "md5sum (warm)",
                "ratio": ratio,
                "target": "<=1.10x md5sum",
                "verdict": "pass" if ratio <= 1.10 else "FAIL",
            }
        )
    if "cp_r_small" in floor:
        floor_rows.append(
            {"measure": f"cp -r, {by_key['small'].label}", "s": min(floor["cp_r_small"])}
        )

    checks: list[dict[str, Any]] = []
    for s in scenarios:
        for name, problem in s.wrong.items():
            checks.append(
                {
                    "check": f"{s.tool} {s.dataset}: {name} restores the original bytes",
                    "ok": problem is None,
                    **({"detail": problem} if problem else {}),
                }
            )
    if len(tools) == 2:
        for ds in datasets:
            mine = next(s for s in scenarios if s.dataset == ds.key and s.tool == "landmark")
            theirs = next(s for s in scenarios if s.dataset == ds.key and s.tool == "dvc")
            checks.append(
                {"check": f"{ds.key}: same .dvc file", "ok": mine.pointer == theirs.pointer}
            )
            checks.append(
                {
                    "check": f"{ds.key}: same objects in both remotes",
                    "ok": mine.remote_objects == theirs.remote_objects,
                    "detail": f"{len(mine.remote_objects)} vs {len(theirs.remote_objects)}",
                }
            )

    return {
        "datasets": {d.key: d.label for d in datasets},
        "tools": {t.name: str(t.exe) for t in tools},
        "dvc_version": dvc_version,
        "page_cache": "cold" if cache.cold else "warm",
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "results": rows,
        "floor": floor_rows,
        "floor_runs": floor,
        "checks": checks,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_in_workdir(args, "landmark-bench-storage-", benchmark, (WrongBytes,))
    if isinstance(report, int):
        return report
    print(
        f"page cache: {report['page_cache']}; {report['cpus']} CPUs; "
        f"best of {report['repeat']}; {report['dvc_version'] and 'dvc ' + report['dvc_version']}"
    )
    print(harness.results_table(report["results"], "operation", "dvc"))
    print()
    print(render_floor(report["floor"]))
    print()
    for check in report["checks"]:
        mark = {True: "ok", False: "DIFFERENT"}[check["ok"]]
        detail = f" - {check['detail']}" if "detail" in check else ""
        print(f"{check['check']}: {mark}{detail}")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
        log(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
