#!/usr/bin/env python3
"""Side-by-side model packaging benchmark: landmark.log_model against mlflow.sklearn.log_model.

Run it with ``.venv/bin/python bench/packaging.py`` after ``scripts/bootstrap`` (which puts the
pinned mlflow into ``.venv-mlflow``). Plain stdlib here; each measurement runs in its own
process with the tool's own interpreter.

What it measures
----------------
The same small scikit-learn model (StandardScaler + LogisticRegression on 1,000 x 20 floats,
trained in the measuring process before its clock starts), with the same two metrics and two
params, in every process:

* ``log`` -- a fresh process: ``import landmark`` + ``landmark.log_model(...)`` into a fresh
  git repo (save in skops format, track, annotate in dvc.yaml, DVCLive files; the first call
  in the process, so it includes every import landmark makes), against
  ``import mlflow`` + a run in a local ``file:`` tracking store with ``log_params``,
  ``log_metrics`` and ``mlflow.sklearn.log_model(..., input_example=...)``. This is what a
  training script pays.
* ``log+register`` -- the same with a commit and a registered version
  (``commit=True, register=True``) against ``registered_model_name=`` in MLflow.
* ``log (in-process, 2nd)`` -- a second log call in the same process, imports already paid.
* ``load+predict`` -- a fresh process: import, ``landmark.load_model(dir)`` against
  ``mlflow.pyfunc.load_model(uri)``, then one ``predict``.

Each figure is the median of ``--repeat`` (default 3) fresh processes. The clocks start after
training; ``import sklearn`` and the training are not counted for either tool. Ratios are
MLflow / landmark. The exit status is 0 whatever the figures; 1 when a measuring process fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LANDMARK_PY = REPO_ROOT / ".venv" / "bin" / "python"
MLFLOW_PY = REPO_ROOT / ".venv-mlflow" / "bin" / "python"
TARGET_LOG_S = 0.3

TRAIN = """
import json, sys, time
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
X = rng.normal(size=(1000, 20))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
metrics = {"accuracy": float(model.score(X, y)), "loss": 0.25}
params = {"C": 1.0, "max_iter": 100}
where = sys.argv[1]
"""

LANDMARK_LOG = (
    TRAIN
    + """
register = sys.argv[2] == "register"
t0 = time.perf_counter()
import landmark
t1 = time.perf_counter()
landmark.log_model(model, "clf", metrics=metrics, params=params, sample_input=X[:5],
                   commit=register, register=register, repo=where)
t2 = time.perf_counter()
model.set_params(logisticregression__C=0.5).fit(X, y)
t3 = time.perf_counter()
landmark.log_model(model, "clf", metrics=metrics, params=params, sample_input=X[:5],
                   commit=register, register="patch" if register else False, repo=where)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t0, "second": t4 - t3}))
"""
)

MLFLOW_LOG = (
    TRAIN
    + """
register = sys.argv[2] == "register"
import os, warnings
warnings.filterwarnings("ignore")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps the file store behind a flag
t0 = time.perf_counter()
import mlflow, mlflow.sklearn
t1 = time.perf_counter()
mlflow.set_tracking_uri("file:" + where + "/mlruns")

def log():
    with mlflow.start_run():
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(
            model, name="clf", input_example=X[:5],
            registered_model_name="clf" if register else None,
        )
    return info.model_uri

uri = log()
t2 = time.perf_counter()
model.set_params(logisticregression__C=0.5).fit(X, y)
t3 = time.perf_counter()
log()
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t0, "second": t4 - t3, "uri": uri}))
"""
)

LANDMARK_LOAD = (
    TRAIN
    + """
t0 = time.perf_counter()
import landmark
m = landmark.load_model(where)
t1 = time.perf_counter()
m.predict(X)
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "predict": t2 - t1, "total": t2 - t0}))
"""
)

SKOPS_IMPORT = (
    TRAIN
    + """
t0 = time.perf_counter()
import skops.io
t1 = time.perf_counter()
print(json.dumps({"skops": t1 - t0, "torch": "torch" in sys.modules}))
"""
)

MLFLOW_LOAD = (
    TRAIN
    + """
import os, warnings
warnings.filterwarnings("ignore")
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
t0 = time.perf_counter()
import mlflow, mlflow.pyfunc
mlflow.set_tracking_uri("file:" + sys.argv[2] + "/mlruns")
m = mlflow.pyfunc.load_model(where)
t1 = time.perf_counter()
m.predict(X)
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "predict": t2 - t1, "total": t2 - t0}))
"""
)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Landmark Bench",
    "GIT_AUTHOR_EMAIL": "bench@landmark.invalid",
    "GIT_COMMITTER_NAME": "Landmark Bench",
    "GIT_COMMITTER_EMAIL": "bench@landmark.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    # No usage reports from MLflow: nothing outside this machine is reached, and a report
    # that times out would be counted against it.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(python: Path, code: str, *args: str, cwd: Path) -> dict[str, float | str]:
    env = {**os.environ, **GIT_ENV}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(
        [str(python), "-c", code, *args], cwd=cwd, capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(1)
    result: dict[str, float | str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, env=env)
    (path / "README.md").write_text("bench\n")
    subprocess.run(["git", "add", "README.md"], cwd=path, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=path, check=True, env=env)
    return path


def median(rows: list[dict[str, float | str]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--no-peer", action="store_true", help="measure landmark alone")
    parser.add_argument("--json-out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    peer = not args.no_peer
    if peer and not MLFLOW_PY.exists():
        progress(f"{MLFLOW_PY} is missing: run scripts/bootstrap, or pass --no-peer")
        return 2

    work = Path(tempfile.mkdtemp(prefix="landmark-bench-packaging-"))
    figures: dict[str, dict[str, float]] = {}
    try:
        lm: dict[str, list[dict[str, float | str]]] = {"log": [], "register": []}
        ml: dict[str, list[dict[str, float | str]]] = {"log": [], "register": []}
        lm_load: list[dict[str, float | str]] = []
        skops: list[dict[str, float | str]] = []
        ml_load: list[dict[str, float | str]] = []
        for i in range(args.repeat):
            for mode in ("log", "register"):
                progress(f"[{i + 1}/{args.repeat}] landmark {mode}")
                repo = git_repo(work / f"lm-{mode}-{i}")
                lm[mode].append(run(LANDMARK_PY, LANDMARK_LOG, str(repo), mode, cwd=work))
                if peer:
                    progress(f"[{i + 1}/{args.repeat}] mlflow {mode}")
                    store = work / f"ml-{mode}-{i}"
                    store.mkdir()
                    ml[mode].append(run(MLFLOW_PY, MLFLOW_LOG, str(store), mode, cwd=store))
            progress(f"[{i + 1}/{args.repeat}] load")
            lm_load.append(
                run(LANDMARK_PY, LANDMARK_LOAD, str(work / "lm-log-0" / "models" / "clf"), cwd=work)
            )
            skops.append(run(LANDMARK_PY, SKOPS_IMPORT, str(work), cwd=work))
            if peer:
                uri = str(ml["log"][0]["uri"])
                ml_load.append(run(MLFLOW_PY, MLFLOW_LOAD, uri, str(work / "ml-log-0"), cwd=work))

        rows = [
            ("import", median(lm["log"], "import"), peer and median(ml["log"], "import")),
            (
                "log (fresh process)",
                median(lm["log"], "first"),
                peer and median(ml["log"], "first"),
            ),
            (
                "log+register (fresh process)",
                median(lm["register"], "first"),
                peer and median(ml["register"], "first"),
            ),
            (
                "log (in-process, 2nd)",
                median(lm["log"], "second"),
                peer and median(ml["log"], "second"),
            ),
            (
                "log+register (in-process, 2nd)",
                median(lm["register"], "second"),
                peer and median(ml["register"], "second"),
            ),
            ("load (fresh process)", median(lm_load, "load"), peer and median(ml_load, "load")),
            (
                "predict (first call)",
                median(lm_load, "predict"),
                peer and median(ml_load, "predict"),
            ),
        ]
        skops_s = median(skops, "skops")
        skops_torch = any(r["torch"] for r in skops)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'operation':32} {'landmark':>10} {'mlflow':>10} {'mlflow/landmark':>16}")
    for name, ours, theirs in rows:
        figures[name] = {"landmark": ours, "mlflow": float(theirs) if peer else float("nan")}
        other = f"{float(theirs):9.3f}s" if peer else f"{'n/a':>10}"
        ratio = f"{float(theirs) / ours:15.1f}x" if peer and ours > 0 else f"{'n/a':>16}"
        print(f"{name:32} {ours:9.3f}s {other} {ratio}")
    first = figures["log (fresh process)"]["landmark"]
    second = figures["log (in-process, 2nd)"]["landmark"]
    for label, value in (("in a fresh process", first), ("once imports are paid", second)):
        verdict = "met" if value <= TARGET_LOG_S else "missed"
        print(f"target: log_model <= {TARGET_LOG_S} s {label} -> {verdict} ({value:.3f} s)")
    print(
        f"for scale: importing skops.io takes {skops_s:.3f} s here (it imports every "
        "scikit-learn module to list its trusted types"
        + (", and through sklearn.externals.array_api_compat, torch" if skops_torch else "")
        + "); landmark writes skops files without it, and pays it on load"
    )
    print("(medians of fresh processes; sklearn/numpy imports and training are not counted)")
    figures["skops.io import"] = {"landmark": skops_s, "mlflow": float("nan")}
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
