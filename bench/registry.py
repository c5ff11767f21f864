#!/usr/bin/env python3
"""Side-by-side registry benchmark: landmark against the real gto (the peer).

Run it with ``.venv/bin/python bench/registry.py`` after ``scripts/bootstrap``. Plain stdlib.

What it does
------------
1. Builds synthetic GTO registries in seconds (not the hours ``gto register``/``gto assign``
   in a loop would take): commits through ``git fast-import``, the annotated tags as one
   pack written directly plus ``packed-refs`` (see ``build_repo`` for why):

   * ``repo-3k``: 200 models x 5 versions, each version registered (``model-007@v0.0.3``) and
     assigned to ``dev`` and ``prod`` (``model-007#dev#5``, ``model-007#prod#6``) =
     3,000 annotated tags.
   * ``repo-100k`` (``--big``, the default; ``--no-big`` skips it): 2,000 models x 20
     versions, each registered and assigned to ``dev``, every second one also to ``prod`` =
     exactly 100,000 annotated tags.

   Every version gets its own commit, and tagger timestamps are strictly increasing one second
   apart, so "latest" and history order never depend on tie-breaking. Refs are packed, as they
   are in a fresh clone. Git runs with a fixed identity and without the user's or system's
   configuration.

2. Times both CLIs as subprocesses (wall clock, best of N) in the same run: ``show``,
   ``show --json``, ``show model-042``, ``history``, ``history --json``, ``register``,
   ``assign`` and ``--help`` on ``repo-3k``; ``show`` and ``show --json`` on ``repo-100k``
   (landmark only, unless ``--gto-big``: gto needs many minutes there).

   Repeat policy: landmark gets ``--warmup`` (default 1) untimed runs, then the best of
   ``--repeat`` (default 3) timed runs, for every operation. gto gets the same for ``--help``,
   but every operation that loads the registry takes it 5-20 s on 3,000 tags, so there it gets
   ``--gto-warmup`` (default 0) and ``--gto-repeat`` (default 1) runs: its best-of-1 is plenty
   for a ratio of 100x and keeps the whole benchmark to a few minutes.

   ``register``/``assign`` run on two identical copies of ``repo-3k``, one per tool, so
   neither sees the other's tags. Before each register a fresh commit is made (untimed), then
   ``register model-042 HEAD --version v0.K.0`` and ``assign model-042 --version v0.K.0
   --stage staging`` are timed: a new version every run, so neither ever needs ``--force``.

3. Prints a table (operation, landmark, gto, gto/landmark, target, verdict) to stdout and,
   with ``--json-out FILE``, writes the figures as JSON. Progress goes to stderr.

4. Checks correctness in passing: both tools' ``show --json`` and ``history --json`` on the
   same repo must parse to equal JSON, and register/assign must create the same tag names.

The exit status is 0 whatever the verdicts (this is a report, not a test). It is 1 when a
command fails (its stderr is printed) and 2 for a usage error such as a missing binary.
``--only-peer`` measures gto alone (landmark shows n/a), for when landmark is not installed;
``--no-peer`` measures landmark alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import (
    IDENTITY_EMAIL,
    IDENTITY_NAME,
    Target,
    log,
    resolve_exe,
    run,
    run_in_workdir,
    timed,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

# Synthetic history lives in 2020, safely before the tags the timed register/assign create now.
EPOCH = 1_600_000_000
BENCH_MODEL = "model-042"
BENCH_STAGE = "staging"
# Every commit rewrites this one file. A file per model would be prettier, but fast-import
# re-hashes the whole tree per commit, and a 2,000-entry directory made the big repo take 70 s.
TRAINED_FILE = "trained.txt"


# --------------------------------------------------------------------------------------------
# Building the synthetic registries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoSpec:
    name: str
    models: int
    versions: int
    # Every version goes to dev; the 1st, (1 + prod_every)th... also to prod. With prod_every > 1
    # the latest version is then not in prod, so `show` has differing columns to get right.
    prod_every: int

    @property
    def tag_count(self) -> int:
        prods = -(-self.versions // self.prod_every)  # rounded up
        return self.models * (2 * self.versions + prods)

    def model_name(self, index: int) -> str:
        width = max(3, len(str(self.models - 1)))
        return f"model-{index:0{width}d}"


SMALL = RepoSpec("repo-3k", models=200, versions=5, prod_every=1)
BIG = RepoSpec("repo-100k", models=2000, versions=20, prod_every=2)
assert SMALL.tag_count == 3_000 and BIG.tag_count == 100_000


def isolated_env(home: Path) -> dict[str, str]:
    """The environment for git and both CLIs: a fixed identity and no outside configuration
    (inherited GIT_*, GTO_* or LANDMARK_* settings would make the runs depend on who starts
    the benchmark, so both tools run with their defaults)."""
    return harness.isolated_env(home, os.environ, ("GIT_", "GTO_", "LANDMARK_"))


def git(repo: Path, env: dict[str, str], *args: str, stdin: bytes | None = None) -> str:
    return run(["git", "-C", str(repo), *args], cwd=repo, env=env, stdin=stdin)


def list_tags(repo: Path, env: dict[str, str]) -> set[str]:
    out = git(repo, env, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags")
    return set(out.split())


def _data(payload: str) -> bytes:
    raw = payload.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


@dataclass(frozen=True)
class PlannedTag:
    name: str
    commit_mark: int  # the fast-import mark of the commit it annotates
    timestamp: int
    message: str


def plan_history(spec: RepoSpec) -> tuple[bytes, list[PlannedTag]]:
    """The commits of `spec` as a fast-import stream, and the tags to lay on them."""
    ident = f"{IDENTITY_NAME} <{IDENTITY_EMAIL}>"
    stream = [b"feature done\n"]
    tags: list[PlannedTag] = []
    clock = EPOCH
    counters = [0] * spec.models  # GTO's per-artifact assignment counter (the #N)
    mark = 0
    # Versions advance round by round over all models, so every model's history interleaves
    # with the others' as in a real shared registry.
    for v in range(1, spec.versions + 1):
        version = f"v0.0.{v}"
        for m in range(spec.models):
            name = spec.model_name(m)
            mark += 1
            clock += 1
            when = f"{ident} {clock} +0000"
            stream += [
                f"commit refs/heads/main\nmark :{mark}\nauthor {when}\ncommitter {when}\n".encode(),
                _data(f"Train {name} {version}\n"),
                f"M 100644 inline {TRAINED_FILE}\n".encode(),
                _data(f"{name} {version}\n"),
            ]
            message = f"Registering artifact {name} version {version}"
            tags.append(PlannedTag(f"{name}@{version}", mark, clock, message))
            for stage in ["dev"] if (v - 1) % spec.prod_every else ["dev", "prod"]:
                counters[m] += 1
                clock += 1
                message = f"Assigning stage {stage} to artifact {name} version {version}"
                tags.append(PlannedTag(f"{name}#{stage}#{counters[m]}", mark, clock, message))
    stream.append(b"done\n")
    return b"".join(stream), tags


OBJ_TAG = 4  # the object type number in git's pack format


def pack_file(objects: Sequence[tuple[int, bytes]]) -> bytes:
    """A version-2 packfile holding `objects` (type, body) whole, without deltas."""
    parts = [b"PACK", struct.pack(">II", 2, len(objects))]
    for kind, body in objects:
        # Entry header: type and size in a little-endian base-128 varint, 4 size bits first.
        size = len(body)
        header = bytearray()
        byte = (kind << 4) | (size & 0x0F)
        size >>= 4
        while size:
            header.append(byte | 0x80)
            byte = size & 0x7F
            size >>= 7
        header.append(byte)
        parts += [bytes(header), zlib.compress(body, 1)]
    content = b"".join(parts)
    return content + hashlib.sha1(content).digest()


def build_repo(path: Path, spec: RepoSpec, env: dict[str, str]) -> float:
    """Create `spec` at `path` (replacing whatever is there); return the seconds it took.

    Commits go through `git fast-import`, but the annotated tags do not: fast-import (like
    `git tag` or `update-ref`) writes one loose ref file per tag, and 100,000 of them plus the
    `pack-refs` to fold them took ~100 s here. Instead the tag objects are written straight
    into a pack (`git index-pack` checks and indexes it) and listed in `packed-refs`, which is
    also how a fresh clone stores them.
    """
    started = time.perf_counter()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    git(path, env, "init", "-q", "-b", "main")
    stream, planned = plan_history(spec)
    marks_file = path / ".git" / "bench-marks"
    git(path, env, "fast-import", "--quiet", "--done", f"--export-marks={marks_file}", stdin=stream)
    commits = dict(line.split() for line in marks_file.read_text().splitlines())
    marks_file.unlink()

    ident = f"{IDENTITY_NAME} <{IDENTITY_EMAIL}>"
    objects: list[tuple[int, bytes]] = []
    refs: list[tuple[str, str, str]] = []  # (ref name, tag object id, commit id)
    for tag in planned:
        commit = commits[f":{tag.commit_mark}"]
        body = (
            f"object {commit}\ntype commit\ntag {tag.name}\n"
            f"tagger {ident} {tag.timestamp} +0000\n\n{tag.message}\n"
        ).encode()
        oid = hashlib.sha1(b"tag %d\x00" % len(body) + body).hexdigest()
        objects.append((OBJ_TAG, body))
        refs.append((f"refs/tags/{tag.name}", oid, commit))
    git(path, env, "index-pack", "--stdin", "--strict", stdin=pack_file(objects))
    # `peeled fully-peeled` promises each annotated tag's `^commit` line, `sorted` the order.
    lines = ["# pack-refs with: peeled fully-peeled sorted \n"]
    lines += [f"{oid} {ref}\n^{commit}\n" for ref, oid, commit in sorted(refs)]
    (path / ".git" / "packed-refs").write_text("".join(lines))

    git(path, env, "reset", "-q", "--hard")  # fills the index and working tree
    found = len(list_tags(path, env))
    if found != spec.tag_count:
        raise RuntimeError(f"{spec.name}: built {found} tags, expected {spec.tag_count}")
    return time.perf_counter() - started


def make_fresh_commit(repo: Path, env: dict[str, str], serial: int) -> None:
    (repo / TRAINED_FILE).write_text(f"{BENCH_MODEL} retrain {serial}\n")
    git(repo, env, "commit", "-q", "-a", "-m", f"Retrain {BENCH_MODEL} ({serial})")


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    warmup: int
    repeat: int


@dataclass(frozen=True)
class Tool:
    name: str
    exe: Path
    quick: Policy  # for --help
    heavy: Policy  # for everything that loads the registry


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)
    stdout: str = ""  # from the last run, for the correctness checks

    @property
    def best(self) -> float:
        return min(self.runs)


def time_command(argv: Sequence[str], policy: Policy, *, cwd: Path, env: dict[str, str]) -> Timing:
    timing = Timing()
    for i in range(policy.warmup + policy.repeat):
        seconds, timing.stdout = timed(argv, cwd=cwd, env=env)
        if i >= policy.warmup:
            timing.runs.append(seconds)
    return timing


@dataclass
class WriteResult:
    register: Timing
    assign: Timing
    # Per round, the tag names each command created: {"register": [...], "assign": [...]}.
    created: list[dict[str, list[str]]]


def time_register_assign(tool: Tool, repo: Path, env: dict[str, str]) -> WriteResult:
    result = WriteResult(Timing(), Timing(), [])
    policy = tool.heavy
    exe = str(tool.exe)
    for i in range(policy.warmup + policy.repeat):
        # v0.K.0 sorts above every synthetic v0.0.x and is new in each round, so each register
        # is a fresh registration and each assign a first assignment (no --force needed).
        version = f"v0.{i + 1}.0"
        make_fresh_commit(repo, env, i)
        common = ["--version", version, "-r", str(repo)]
        before = list_tags(repo, env)
        reg_s, _ = timed([exe, "register", BENCH_MODEL, "HEAD", *common], cwd=repo.parent, env=env)
        registered = list_tags(repo, env)
        assign_s, _ = timed(
            [exe, "assign", BENCH_MODEL, "--stage", BENCH_STAGE, *common], cwd=repo.parent, env=env
        )
        assigned = list_tags(repo, env)
        result.created.append(
            {"register": sorted(registered - before), "assign": sorted(assigned - registered)}
        )
        if i >= policy.warmup:
            result.register.runs.append(reg_s)
            result.assign.runs.append(assign_s)
    return result


# --------------------------------------------------------------------------------------------
# Targets and report
# --------------------------------------------------------------------------------------------


NO_TARGET = Target()
SHOW_TARGET = Target(max_s=0.2, min_ratio=100)
WRITE_TARGET = Target(max_s=0.3)


@dataclass
class Row:
    op: str
    target: Target
    landmark: Timing | None = None
    gto: Timing | None = None

    def figures(self) -> dict[str, Any]:
        lm = self.landmark.best if self.landmark else None
        peer = self.gto.best if self.gto else None
        ratio = peer / lm if lm and peer else None
        return {
            "operation": self.op,
            "landmark_s": lm,
            "gto_s": peer,
            "ratio": ratio,
            "landmark_runs": self.landmark.runs if self.landmark else [],
            "gto_runs": self.gto.runs if self.gto else [],
            "target": self.target.describe("gto"),
            "verdict": self.target.verdict(lm, peer, "gto"),
        }


def first_difference(ours: Any, theirs: Any, path: str = "$") -> str | None:
    """Where two parsed JSON documents first differ (landmark's first), or None if equal."""
    if ours == theirs:
        return None
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(ours.keys() | theirs.keys()):
            if key not in theirs or key not in ours:
                return f"{path}.{key}: only in {'landmark' if key in ours else 'gto'}"
            found = first_difference(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} items vs {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
    return f"{path}: {ours!r:.60} vs {theirs!r:.60}"


def compare_json(landmark_out: str, gto_out: str) -> tuple[bool, str]:
    parsed = []
    for name, out in (("landmark", landmark_out), ("gto", gto_out)):
        try:
            parsed.append(json.loads(out))
        except json.JSONDecodeError as exc:
            return False, f"{name} printed invalid JSON: {exc}"
    diff = first_difference(*parsed)
    return diff is None, diff or "equal as parsed JSON"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark landmark against gto on synthetic registries.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--landmark", help="landmark executable (default: .venv/bin/landmark, PATH)")
    p.add_argument("--gto", help="gto executable (default: .venv-gto/bin/gto, PATH)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs (best is kept)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before timing")
    p.add_argument("--gto-repeat", type=int, default=1, help="gto timed runs on registry ops")
    p.add_argument("--gto-warmup", type=int, default=0, help="gto warm-up runs on registry ops")
    p.add_argument(
        "--big", action=argparse.BooleanOptionalAction, default=True, help="100k-tag repo"
    )
    p.add_argument("--gto-big", action="store_true", help="also time gto on the 100k repo")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--only-peer", action="store_true", help="time gto only")
    who.add_argument("--no-peer", action="store_true", help="time landmark only")
    p.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    p.add_argument("--json-out", type=Path, help="write the figures as JSON to this file")
    args = p.parse_args(argv)
    for name in ("repeat", "gto_repeat"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    landmark = gto = None
    if not args.only_peer:
        exe = resolve_exe(args.landmark, REPO_ROOT / ".venv/bin/landmark", "landmark", "landmark")
        both = Policy(args.warmup, args.repeat)
        landmark = Tool("landmark", exe, both, both)
    if not args.no_peer:
        exe = resolve_exe(args.gto, REPO_ROOT / ".venv-gto/bin/gto", "gto", "gto")
        gto = Tool(
            "gto", exe, Policy(args.warmup, args.repeat), Policy(args.gto_warmup, args.gto_repeat)
        )
    tools = [t for t in (landmark, gto) if t is not None]
    for tool in tools:
        log(f"{tool.name}: {tool.exe}")

    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = isolated_env(home)

    specs = [SMALL, BIG] if args.big and (landmark or args.gto_big) else [SMALL]
    build_s: dict[str, float] = {}
    for spec in specs:
        log(f"building {spec.name}: {spec.models} models, {spec.tag_count:,} tags ...")
        build_s[spec.name] = build_repo(workdir / spec.name, spec, env)
        log(f"built {spec.name} in {build_s[spec.name]:.2f} s")
    small = workdir / SMALL.name

    rows: list[Row] = []

    def measure(
        row: Row,
        cli_args: list[str],
        repo: Path | None,
        peer: bool = True,
        landmark_env: dict[str, str] | None = None,
    ) -> None:
        for tool in tools:
            if tool is gto and not peer:
                continue
            argv = [str(tool.exe), *cli_args] + (["-r", str(repo)] if repo else [])
            policy = tool.heavy if repo else tool.quick
            log(f"{row.op}: {tool.name} ({policy.warmup} warm-up + {policy.repeat} timed) ...")
            run_env = {**env, **landmark_env} if landmark_env and tool is not gto else env
            timing = time_command(argv, policy, cwd=workdir, env=run_env)
            setattr(row, tool.name, timing)
            log(f"{row.op}: {tool.name} best {timing.best:.3f} s")
        rows.append(row)

    measure(Row("--help", Target(max_s=0.15)), ["--help"], None)
    show_row = Row("show", SHOW_TARGET)
    measure(show_row, ["show"], small)
    measure(Row("show --json", SHOW_TARGET), ["show", "--json"], small)
    # Every call fully computed, as the first call after a tag or HEAD change is.
    no_replay = {"LANDMARK_NO_CACHE": "1"}
    uncached = Row("show, replay off", NO_TARGET)
    measure(uncached, ["show"], small, peer=False, landmark_env=no_replay)
    uncached.gto = show_row.gto
    measure(Row(f"show {BENCH_MODEL}", NO_TARGET), ["show", BENCH_MODEL], small)
    measure(Row("history", NO_TARGET), ["history"], small)
    measure(Row("history --json", NO_TARGET), ["history", "--json"], small)

    register, assign = Row("register", WRITE_TARGET), Row("assign", WRITE_TARGET)
    created: dict[str, list[dict[str, list[str]]]] = {}
    for tool in tools:
        copy = workdir / f"{SMALL.name}-{tool.name}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(small, copy, symlinks=True)
        log(
            f"register/assign: {tool.name} ({tool.heavy.warmup} warm-up + "
            f"{tool.heavy.repeat} timed) ..."
        )
        write = time_register_assign(tool, copy, env)
        setattr(register, tool.name, write.register)
        setattr(assign, tool.name, write.assign)
        created[tool.name] = write.created
        log(
            f"register/assign: {tool.name} best {write.register.best:.3f} / "
            f"{write.assign.best:.3f} s"
        )
    rows += [register, assign]

    if BIG in specs:
        big = workdir / BIG.name
        size = f"({BIG.tag_count // 1000}k tags)"
        measure(Row(f"show {size}", Target(max_s=3.0)), ["show"], big, peer=args.gto_big)
        measure(
            Row(f"show {size}, replay off", Target(max_s=3.0)),
            ["show"],
            big,
            peer=args.gto_big,
            landmark_env=no_replay,
        )
        measure(Row(f"show --json {size}", NO_TARGET), ["show", "--json"], big, args.gto_big)

    # Each check: what, ok (None where there is nothing to compare with), and the detail.
    checks: list[dict[str, Any]] = []
    for row in rows:
        if "--json" in row.op and row.landmark and row.gto:
            equal, detail = compare_json(row.landmark.stdout, row.gto.stdout)
            checks.append({"check": f"{row.op}: same output", "ok": equal, "detail": detail})
    for op in ("register", "assign"):
        # Round i used the same version with both tools, so the tag names must match.
        tags = {name: [r[op] for r in rounds] for name, rounds in created.items()}
        common = min(len(t) for t in tags.values())
        same = len({json.dumps(t[:common]) for t in tags.values()}) == 1
        detail = "; ".join(f"{name}: {', '.join(t[0]) or '(none)'}" for name, t in tags.items())
        ok = same if len(tags) == 2 else None
        checks.append({"check": f"{op}: same tags created", "ok": ok, "detail": detail})

    return {
        "repos": {s.name: {"tags": s.tag_count, "models": s.models} for s in specs},
        "build_s": build_s,
        "tools": {t.name: str(t.exe) for t in tools},
        "policy": {t.name: {"quick": vars(t.quick), "heavy": vars(t.heavy)} for t in tools},
        "results": [row.figures() for row in rows],
        "checks": checks,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_in_workdir(args, "landmark-bench-", benchmark)
    if isinstance(report, int):
        return report
    print(harness.results_table(report["results"], "operation", "gto"))
    print()
    for check in report["checks"]:
        mark = {True: "ok", False: "DIFFERENT", None: "(not compared)"}[check["ok"]]
        print(f"{check['check']}: {mark} - {check['detail']}")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
        log(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
