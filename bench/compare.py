#!/usr/bin/env python3
"""Side-by-side compare benchmark: ``landmark compare``/``landmark experiments`` against the real
dvc's ``exp show`` (the peer) on the same repositories.

Run it with ``.venv/bin/python bench/compare.py`` after ``scripts/bootstrap``. Plain stdlib.

What it does
------------
1. ``versions``: a repo of ``--versions`` (default 50) commits laid out as ``log_model`` writes
   them (see ``src/landmark/models/log.py``): ``dvc.yaml`` with ``artifacts: churn: {type:
   model, path: models/churn}``, ``metrics: [dvclive/churn/metrics.json]`` and ``params:
   [dvclive/churn/params.yaml]``; the model's pointer ``models/churn.dvc``; ``.dvc/config``.
   Every commit changes the metrics (nested ones too) and the params (a nested one and a list
   too), and is registered with ``landmark register churn --version v0.0.N``. Timed:
   ``landmark compare churn --versions --json`` against ``dvc exp show --json -n N``, which
   reads the same N first-parent commits from HEAD (plus the work tree, which it cannot be
   told to skip: ``--hide-workspace`` only hides the row in the table).

2. ``experiments``: a DVC pipeline (stage ``train``: ``cmd: python train.py``, params
   ``train.lr`` and ``train.epochs`` from ``params.yaml``, metrics ``metrics.json`` with
   ``cache: false``), its baseline reproduced by ``dvc repro`` and committed, then
   ``--experiments`` (default 50) real experiments, one ``dvc exp run -n lr-NN -S
   train.lr=...`` after the other in the work tree (the queue's celery workers are no faster
   on two cores and less predictable). That takes about 2 s an experiment. Timed: ``landmark
   experiments --json`` against ``dvc exp show --json``.

3. Timing: every command is a fresh process in an isolated environment (fresh HOME, no GIT_,
   DVC_ or LANDMARK_ settings, dvc's analytics off and its site cache in the work folder).
   ``--warmup`` (default 1) untimed runs, then ``--runs`` (default 5) timed runs; the figure is
   the median. The two tools take turns run by run, so a burst of load from elsewhere lands on
   both. dvc is timed as a user meets it: warm, with its own experiment cache
   (``.dvc/tmp/exps/cache``) filled by the warm-up run. landmark is timed both ways a user
   meets it: "computed" (``LANDMARK_NO_CACHE=1``: every run reads the repository afresh, as
   the first call after a change does) and "repeated": ``cli/replay.py`` replays the saved
   output of ``compare`` and ``experiments`` while the refs naming their commits (tags,
   branches, ``refs/exps``) are unchanged. The two outputs are checked to be equal.

4. Prints a table (case, landmark, dvc, dvc/landmark, target, verdict), with a first row of
   ``--help`` for each tool: what any command costs before it reads anything (the interpreter
   and the CLI's imports), the floor under the other rows. Then the load average
   before and after (two cores, shared with whoever else is running tests: a high load means
   noisy figures); ``--json-out FILE`` writes the figures as JSON. Progress goes to stderr.

5. Checks in passing that both tools report the same numbers: for every version, landmark's
   metrics and params for the version's commit equal dvc's for that commit, flattened as DVC
   shows them ("train.loss"), and equal what the benchmark wrote; both list 50 experiments, and
   each experiment's metrics and params agree between the tools (by commit).

The exit status is 0 whatever the verdicts (this is a report, not a test); 1 when a command
fails (its stderr is printed) and 2 for a usage error such as a missing binary. ``--no-peer``
measures landmark alone (the experiments are still made with dvc: only it makes them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import Target, log, resolve_exe, run, run_in_workdir, secs, timed

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL = "churn"
LIVE = f"dvclive/{MODEL}"
METRICS_FILE = f"{LIVE}/metrics.json"
PARAMS_FILE = f"{LIVE}/params.yaml"
EPOCH = 1_600_000_000  # commit dates: one a minute from here, so the order never ties

VERSIONS_DVC_YAML = f"""artifacts:
  {MODEL}:
    path: models/{MODEL}
    type: model
metrics:
  - {METRICS_FILE}
params:
  - {PARAMS_FILE}
"""
# What log_model writes for a model directory tracked in the object store.
POINTER = """outs:
- md5: e1f6a2ec3e4d08605d476461c576a788.dir
  size: 844
  nfiles: 2
  hash: md5
  path: {name}
"""

PIPELINE_DVC_YAML = """stages:
  train:
    cmd: python train.py
    deps:
      - train.py
    params:
      - train.lr
      - train.epochs
    metrics:
      - metrics.json:
          cache: false
"""
# Stdlib only (it runs under whichever `python` is first on PATH): params.yaml is dvc's to
# rewrite, but the two lines it holds for train stay `  key: value`.
TRAIN_PY = """import json
import re

text = open("params.yaml").read()
lr = float(re.search(r"^\\s+lr:\\s*(\\S+)", text, re.M).group(1))
epochs = int(re.search(r"^\\s+epochs:\\s*(\\S+)", text, re.M).group(1))
score = lr * epochs / (1 + lr * epochs)
metrics = {"acc": round(score, 6), "loss": round(1 - score, 6), "train": {"steps": epochs * 10}}
with open("metrics.json", "w") as f:
    json.dump(metrics, f, indent=4)
"""


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return run(["git", "-C", str(repo), *args], cwd=repo, env=env)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as DVC shows them: ``{"train": {"loss": 1}}`` -> ``{"train.loss": 1}``;
    lists and empty mappings stay values."""
    if not isinstance(data, Mapping):
        return {prefix.rstrip("."): data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# --------------------------------------------------------------------------------------------
# Building the repositories
# --------------------------------------------------------------------------------------------


def version_values(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metrics and params the n-th version (1-based) was trained with, nested."""
    lr = round(0.001 * n, 6)
    metrics = {
        "acc": round(0.70 + 0.004 * n + 0.001 * (n % 7), 6),
        "auc": round(0.75 + 0.003 * n, 6),
        "f1": round(0.60 + 0.005 * n - 0.002 * (n % 3), 6),
        "train": {"loss": round(1.0 / (1 + n), 6), "steps": 100 * n},
    }
    params = {
        "lr": lr,
        "n_estimators": 50 + 10 * n,
        "features": ["tenure", "plan", "charges"][: 1 + n % 3],
        "tree": {"depth": 3 + n % 5, "criterion": "gini" if n % 2 else "entropy"},
    }
    return metrics, params


def params_yaml(params: Mapping[str, Any]) -> str:
    """The params as block YAML (the shape of ``version_values``: scalars, lists, one level of
    nesting), as log_model writes it."""
    lines: list[str] = []
    for key, value in params.items():
        if isinstance(value, Mapping):
            lines.append(f"{key}:")
            lines += [f"  {k}: {json.dumps(v)}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  - {json.dumps(v)}" for v in value]
        else:
            lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def commit_env(env: dict[str, str], n: int) -> dict[str, str]:
    stamp = f"{EPOCH + 60 * n} +0000"
    return {**env, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def build_versions(repo: Path, count: int, landmark: Path, env: dict[str, str]) -> dict[str, str]:
    """The registered-versions repo; {version: commit}."""
    repo.mkdir(parents=True)
    git(repo, env, "init", "-q", "-b", "main")
    (repo / ".dvc").mkdir()
    (repo / ".dvc/config").write_text("")
    (repo / ".dvc/.gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (repo / "models").mkdir()
    (repo / "models/.gitignore").write_text(f"/{MODEL}\n")
    (repo / f"models/{MODEL}.dvc").write_text(POINTER.format(name=MODEL))
    (repo / "dvc.yaml").write_text(VERSIONS_DVC_YAML)
    (repo / LIVE).mkdir(parents=True)
    commits: dict[str, str] = {}
    for n in range(1, count + 1):
        metrics, params = version_values(n)
        (repo / METRICS_FILE).write_text(json.dumps(metrics, indent=4) + "\n")
        (repo / PARAMS_FILE).write_text(params_yaml(params))
        git(repo, env, "add", "-A")
        run(
            ["git", "-C", str(repo), "commit", "-q", "-m", f"Log model {MODEL} ({n})"],
            cwd=repo,
            env=commit_env(env, n),
        )
        version = f"v0.0.{n}"
        run([str(landmark), "register", MODEL, "--version", version], cwd=repo, env=env)
        commits[version] = git(repo, env, "rev-parse", "HEAD").strip()
    return commits


def build_experiments(
    repo: Path, count: int, dvc: Path, env: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The pipeline repo with `count` experiments; {name: the lr it was run with}."""
    repo.mkdir(parents=True)
    git(repo, env, "init", "-q", "-b", "main")
    run([str(dvc), "init", "-q"], cwd=repo, env=env)
    (repo / "dvc.yaml").write_text(PIPELINE_DVC_YAML)
    (repo / "params.yaml").write_text("train:\n  lr: 0.01\n  epochs: 10\n")
    (repo / "train.py").write_text(TRAIN_PY)
    run([str(dvc), "repro", "-q"], cwd=repo, env=env)
    git(repo, env, "add", "-A")
    run(
        ["git", "-C", str(repo), "commit", "-q", "-m", "Baseline"], cwd=repo, env=commit_env(env, 0)
    )
    made: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for n in range(1, count + 1):
        name, lr = f"lr-{n:02d}", round(0.002 * n, 6)
        run([str(dvc), "exp", "run", "-q", "-n", name, "-S", f"train.lr={lr}"], cwd=repo, env=env)
        made[name] = {"lr": lr}
        if n % 10 == 0 or n == count:
            log(f"experiments: {n}/{count} made ({time.perf_counter() - started:.0f} s)")
    return made


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)
    stdout: str = ""  # from the last run, for the checks

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None


def time_turns(
    commands: Mapping[str, list[str]], cwd: Path, env: dict[str, str], warmup: int, runs: int
) -> dict[str, Timing]:
    """Each command ``warmup + runs`` times, taking turns; {name: Timing}."""
    timings = {name: Timing() for name in commands}
    for i in range(warmup + runs):
        for name, argv in commands.items():
            seconds, timings[name].stdout = timed(argv, cwd=cwd, env=env)
            if i >= warmup:
                timings[name].runs.append(seconds)
    return timings


def fmt_runs(runs: Sequence[float]) -> str:
    return " ".join(f"{r:.3f}" for r in runs)


# --------------------------------------------------------------------------------------------
# Reading both tools' output
# --------------------------------------------------------------------------------------------


def files_flat(section: Any) -> dict[str, dict[str, Any]]:
    """{file: flattened values} from landmark's {file: {key: value}} or dvc's
    {file: {"data": {...}}} (a file dvc could not read has no "data": left out)."""
    if not isinstance(section, Mapping):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for path, values in section.items():
        if isinstance(values, Mapping) and set(values) <= {"data", "error"}:
            if "data" not in values:
                continue
            values = values["data"]
        out[path] = flatten(values)
    return out


def results_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics and params of one revision, in one shape for both tools."""
    data = entry.get("data", entry)  # dvc nests them under "data"
    return {"metrics": files_flat(data.get("metrics")), "params": files_flat(data.get("params"))}


def dvc_commits(show: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{commit: results} for the baseline rows of ``dvc exp show --json`` (not the work tree)."""
    return {row["rev"]: results_of(row) for row in show if row.get("rev") != "workspace"}


def dvc_experiments(show: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{commit: results} for the experiments of ``dvc exp show --json``."""
    found: dict[str, dict[str, Any]] = {}
    for row in show:
        for exp in row.get("experiments") or []:
            for rev in exp.get("revs") or []:
                found[rev["rev"]] = {"name": rev.get("name") or exp.get("name"), **results_of(rev)}
    return found


def landmark_revisions(out: Any) -> list[dict[str, Any]]:
    """The revisions of ``landmark compare --json``."""
    rows = out.get("revisions") if isinstance(out, Mapping) else None
    if not isinstance(rows, list):
        raise WrongOutput("landmark compare --json: no list of revisions")
    return rows


def landmark_experiments(out: Any) -> list[dict[str, Any]]:
    """The experiments of ``landmark experiments --json``, without the baseline rows."""
    if not isinstance(out, list):
        raise WrongOutput("landmark experiments --json: not a list")
    return [row for row in out if row.get("experiment")]


class WrongOutput(Exception):
    pass


def parse(out: str, what: str) -> Any:
    try:
        return json.loads(out)
    except json.JSONDecodeError as exc:
        raise WrongOutput(f"{what} printed invalid JSON: {exc}") from exc


def first_difference(ours: Any, theirs: Any, path: str) -> str | None:
    """Where landmark's results first differ from the other's, or None."""
    if ours == theirs:
        return None
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(ours.keys() | theirs.keys()):
            if key not in ours or key not in theirs:
                side = "landmark" if key in ours else "the other"
                return f"{path}.{key}: only in {side}"
            found = first_difference(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
    return f"{path}: {ours!r:.60} vs {theirs!r:.60}"


def expected_version(n: int) -> dict[str, Any]:
    metrics, params = version_values(n)
    return {"metrics": {METRICS_FILE: flatten(metrics)}, "params": {PARAMS_FILE: flatten(params)}}


def check_versions(
    lm_out: str | None, dvc_out: str | None, commits: dict[str, str]
) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    by_commit: dict[str, dict[str, Any]] = {}
    if lm_out is not None:
        rows = landmark_revisions(parse(lm_out, "landmark compare"))
        by_commit = {row.get("rev", ""): results_of(row) for row in rows}
        wrong = None
        for n, (version, sha) in enumerate(commits.items(), 1):
            if sha not in by_commit:
                wrong = f"{version} ({sha[:8]}) missing"
            else:
                wrong = first_difference(by_commit[sha], expected_version(n), f"{MODEL}@{version}")
            if wrong:
                break
        checks.append(
            {
                "check": f"landmark: {len(rows)} revisions, values as written",
                "ok": len(rows) == len(commits) and wrong is None,
                "detail": wrong or f"all {len(commits)} versions",
            }
        )
    if dvc_out is not None:
        theirs = dvc_commits(parse(dvc_out, "dvc exp show"))
        missing = [v for v, sha in commits.items() if sha not in theirs]
        checks.append(
            {
                "check": f"dvc: {len(theirs)} commits read",
                "ok": not missing,
                "detail": f"missing {', '.join(missing[:5])}" if missing else "all versions",
            }
        )
        if lm_out is not None:
            wrong = None
            for version, sha in commits.items():
                if sha in by_commit and sha in theirs:
                    wrong = first_difference(by_commit[sha], theirs[sha], f"{MODEL}@{version}")
                    if wrong:
                        break
            checks.append(
                {
                    "check": "agree (landmark vs dvc, same commits)",
                    "ok": wrong is None,
                    "detail": wrong or f"all {len(commits)} versions",
                }
            )
    return checks


def count_check(tool: str, names: set[str], made: Mapping[str, Any]) -> dict[str, Any]:
    missing = sorted(set(made) - names)
    return {
        "check": f"{tool}: {len(names)} experiments",
        "ok": len(names) == len(made) and not missing,
        "detail": f"missing {', '.join(missing[:5])}" if missing else f"all {len(made)} made",
    }


def check_experiments(
    lm_out: str | None, dvc_out: str | None, made: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Both list every experiment made; both give the same name and results for each, and the
    same results for the baseline commit (matched by commit)."""
    checks: list[dict[str, Any]] = []
    ours: dict[str, dict[str, Any]] = {}
    theirs: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}  # commit -> experiment name, as dvc gives it
    if lm_out is not None:
        rows = parse(lm_out, "landmark experiments")
        exps = landmark_experiments(rows)
        checks.append(count_check("landmark", {str(r.get("name")) for r in exps}, made))
        ours = {r.get("rev", ""): {"name": r.get("name"), **results_of(r)} for r in rows}
    if dvc_out is not None:
        show = parse(dvc_out, "dvc exp show")
        found = dvc_experiments(show)
        checks.append(count_check("dvc", {e["name"] for e in found.values()}, made))
        names = {sha: e.pop("name") for sha, e in found.items()}
        theirs = {**dvc_commits(show), **found}
    if ours and theirs:
        wrong = None
        for sha, results in theirs.items():
            label = names.get(sha, f"baseline {sha[:8]}")
            mine = dict(ours.get(sha, {}))
            name = mine.pop("name", None)
            if not mine:
                wrong = f"{label}: not listed by landmark"
            elif sha in names and name != label:
                wrong = f"{label}: landmark names it {name!r}"
            else:
                wrong = first_difference(mine, results, label)
            if wrong:
                break
        checks.append(
            {
                "check": "agree (landmark vs dvc, same experiments)",
                "ok": wrong is None,
                "detail": wrong or f"all {len(names)} experiments and the baseline",
            }
        )
    return checks


# --------------------------------------------------------------------------------------------
# Targets and report
# --------------------------------------------------------------------------------------------


def row(case: str, target: Target, lm: Timing | None, dvc: Timing | None) -> dict[str, Any]:
    lm_s = lm.median if lm else None
    dvc_s = dvc.median if dvc else None
    return {
        "case": case,
        "landmark_s": lm_s,
        "dvc_s": dvc_s,
        "ratio": dvc_s / lm_s if lm_s and dvc_s else None,
        "landmark_runs": lm.runs if lm else [],
        "dvc_runs": dvc.runs if dvc else [],
        "target": target.describe("dvc"),
        "verdict": target.verdict(lm_s, dvc_s, "dvc", ("met", "missed")),
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark landmark compare/experiments against dvc exp show.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--landmark", help="landmark executable (default: .venv/bin/landmark, PATH)")
    p.add_argument("--dvc", help="dvc executable (default: .venv-dvc/bin/dvc, PATH)")
    p.add_argument("--runs", type=int, default=5, help="timed runs (the median is kept)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before timing")
    p.add_argument("--versions", type=int, default=50, help="registered versions to compare")
    p.add_argument("--experiments", type=int, default=50, help="dvc experiments to list")
    p.add_argument(
        "--cases",
        choices=("all", "versions", "experiments"),
        default="all",
        help="which cases to run",
    )
    p.add_argument("--no-peer", action="store_true", help="time landmark only")
    p.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    p.add_argument("--json-out", type=Path, help="write the figures as JSON to this file")
    args = p.parse_args(argv)
    for name in ("runs", "versions", "experiments"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must be at least 0")
    return args


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    load_before = load()
    landmark = resolve_exe(args.landmark, REPO_ROOT / ".venv/bin/landmark", "landmark", "landmark")
    needs_dvc = not args.no_peer or args.cases in ("all", "experiments")
    dvc = (
        resolve_exe(args.dvc, REPO_ROOT / ".venv-dvc/bin/dvc", "dvc", "dvc") if needs_dvc else None
    )
    log(f"landmark: {landmark}")
    if dvc is not None:
        log(f"dvc: {dvc}")

    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    # The pipeline's `python` is this interpreter, whoever runs the benchmark.
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python").exists():
        (bin_dir / "python").symlink_to(sys.executable)
    env = harness.dvc_env(
        home, workdir / "dvc-site-cache", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    )
    dvc_version = run([str(dvc), "--version"], cwd=workdir, env=env).strip() if dvc else None
    landmark_version = run([str(landmark), "--version"], cwd=workdir, env=env).strip()

    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    build_s: dict[str, float] = {}

    def measure(
        case: str,
        target: Target,
        lm_args: list[str],
        dvc_args: list[str],
        repo: Path,
        replayed: bool = False,
    ) -> tuple[str, str | None]:
        """Time both tools on `repo`, add the row; their stdout (dvc's None without it).

        With `replayed`, landmark is timed twice: every run computed afresh
        (LANDMARK_NO_CACHE=1: what the first call after a change costs) and as a repeated
        call, which replays the saved output while the refs are unchanged (cli/replay.py)."""
        commands = {"landmark": [str(landmark), *lm_args]}
        if replayed:
            commands["landmark, computed"] = ["env", "LANDMARK_NO_CACHE=1", str(landmark), *lm_args]
        if dvc is not None and not args.no_peer:
            commands["dvc"] = [str(dvc), *dvc_args]
        log(f"{case}: {', '.join(commands)} ({args.warmup} warm-up + {args.runs} timed, in turns)")
        t = time_turns(commands, repo, env, args.warmup, args.runs)
        for name, timing in t.items():
            log(f"{case}: {name} median {secs(timing.median)} s (runs {fmt_runs(timing.runs)})")
        if replayed:
            rows.append(row(f"{case}, computed", target, t["landmark, computed"], t.get("dvc")))
            if t["landmark, computed"].stdout != t["landmark"].stdout:
                raise harness.UsageError(
                    f"{case}: the replayed output differs from the computed one"
                )
            rows.append(row(f"{case}, repeated (replayed)", target, t["landmark"], t.get("dvc")))
        else:
            rows.append(row(case, target, t["landmark"], t.get("dvc")))
        return t["landmark"].stdout, t["dvc"].stdout if "dvc" in t else None

    # What any command costs before it reads anything: the interpreter and the CLI's imports.
    measure("start-up (--help)", Target(), ["--help"], ["--help"], workdir)

    if args.cases in ("all", "versions"):
        n = args.versions
        repo = workdir / "versions"
        log(f"versions: building {n} registered versions ...")
        started = time.perf_counter()
        commits = build_versions(repo, n, landmark, env)
        build_s["versions"] = time.perf_counter() - started
        log(f"versions: built in {build_s['versions']:.1f} s")
        outs = measure(
            f"compare {n} versions (metrics+params)",
            Target(max_s=0.5, min_ratio=10),
            ["compare", MODEL, "--versions", "--json", "-r", str(repo)],
            ["exp", "show", "--json", "-n", str(n)],
            repo,
            replayed=True,
        )
        checks += check_versions(*outs, commits)

    if args.cases in ("all", "experiments"):
        assert dvc is not None
        n = args.experiments
        repo = workdir / "experiments"
        log(f"experiments: building a pipeline and {n} dvc experiments (about {2 * n} s) ...")
        started = time.perf_counter()
        made = build_experiments(repo, n, dvc, env)
        build_s["experiments"] = time.perf_counter() - started
        log(f"experiments: built in {build_s['experiments']:.1f} s")
        outs = measure(
            f"experiments ({n})",
            Target(min_ratio=10),
            ["experiments", "--json", "-r", str(repo)],
            ["exp", "show", "--json"],
            repo,
            replayed=True,
        )
        checks += check_experiments(*outs, made)

    return {
        "tools": {"landmark": landmark_version, "dvc": dvc_version},
        "runs": args.runs,
        "warmup": args.warmup,
        "load_before": load_before,
        "load_after": load(),
        "cores": os.cpu_count(),
        "build_s": build_s,
        "results": rows,
        "checks": checks,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_in_workdir(args, "landmark-bench-compare-", benchmark, (WrongOutput,))
    if isinstance(report, int):
        return report
    print(harness.results_table(report["results"], "case", "dvc"))
    print()
    print(
        f"median of {report['runs']} runs after {report['warmup']} warm-up; "
        f"load average (1/5/15 min) before {report['load_before']}, after "
        f"{report['load_after']}, on {report['cores']} cores"
    )
    for check in report["checks"]:
        mark = {True: "yes", False: "NO"}[check["ok"]]
        print(f"{check['check']}: {mark} - {check['detail']}")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
        log(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
