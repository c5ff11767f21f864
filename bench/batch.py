#!/usr/bin/env python3
"""Side-by-side batch scoring benchmark: ``landmark predict`` against ``mlflow models predict``
and the floor (one pandas script), on the same CSV file, in the same run.

Run it with ``.venv/bin/python bench/batch.py`` after ``scripts/bootstrap`` (which puts the
pinned mlflow into ``.venv-mlflow``). Plain stdlib here; every measurement is a fresh process
with its tool's own interpreter.

The data and the model
----------------------
A CSV of ``--rows`` rows (default 1,000,000) and eight numeric columns, drawn here by numpy
with a fixed seed, and a training set of 10,000 rows drawn the same way. Each tool's own
interpreter trains the same pipeline (StandardScaler + LogisticRegression) on the training
set and saves it its own way, because a pickle from one scikit-learn version is not meant to
be loaded by another:

* landmark: ``landmark.save_model(pipeline, DIR, sample_input=X.head(100))`` (skops);
* MLflow: ``mlflow.sklearn.save_model(pipeline, DIR, input_example=X.head(5))``;
* the floor: ``pickle.dump(pipeline)``, written by landmark's trainer.

What it measures
----------------
Wall-clock seconds of one fresh process each, start to exit, and its peak RSS (measured by a
small Python process that runs it and reads ``RUSAGE_CHILDREN``: a child forked from this
process would count this process's memory as its own):

* ``floor``: ``import pandas`` + ``pickle.load`` + ``pd.read_csv`` (the whole file) +
  ``predict`` + ``to_csv``: what a hand-written script takes, with no checks;
* ``landmark predict DIR -i in.csv -o out.csv`` with the default ``--chunk-rows`` and with
  ``--chunk-rows 10000``: signature checks per row, chunked, output renamed into place;
* ``mlflow models predict -m DIR -i in.csv -o out.json -t csv --env-manager local``.

Every tool's predictions are compared with the floor's, row by row. Targets (issue 13):
``landmark predict`` within 1.5x of the floor, at least 5x faster than ``mlflow models
predict``, and a peak memory bounded by the chunk size (below the floor's, which holds the
whole file). With ``bench/batch_spark.py`` present and pyspark importable, its rows (the same
file through ``landmark.spark_udf`` and MLflow's ``spark_udf``) are added to the table.

``--no-peer`` measures landmark and the floor alone. The exit status is 0 whatever the
figures; 1 when a tool fails or answers differently, 2 for a usage error (a missing venv).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness
from harness import CommandFailed, UsageError, log, run_in_workdir

REPO_ROOT = Path(__file__).resolve().parent.parent
LANDMARK_PY = REPO_ROOT / ".venv" / "bin" / "python"
LANDMARK_CLI = REPO_ROOT / ".venv" / "bin" / "landmark"
MLFLOW_PY = REPO_ROOT / ".venv-mlflow" / "bin" / "python"
MLFLOW_CLI = REPO_ROOT / ".venv-mlflow" / "bin" / "mlflow"

SEED = 20240612
TRAIN_ROWS = 10_000
SMALL_CHUNK = 10_000
TARGET_VS_FLOOR = 1.5
TARGET_VS_MLFLOW = 5.0
TIMEOUT_S = 1800
# What one chunk may hold at once, in multiples of its CSV text: the text, the parser's
# tokens, the parsed frame, the columns cast to the signature, the output frame, its Arrow
# table and the CSV bytes written. Memory that grows with the file, not the chunk, breaks it.
CHUNK_FACTOR = 8

ENV = {
    # No usage reports from MLflow: nothing outside this machine is reached, and a report
    # that times out would be counted against it.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "LANDMARK_NO_PROGRESS": "1",
    "PYTHONWARNINGS": "ignore",
}

MAKE_DATA = """
import sys
import numpy as np, pyarrow as pa, pyarrow.csv as pa_csv
rows, seed, train_rows = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
names = [f"f{i}" for i in range(8)]
weights = np.array([-1.2, 0.8, -0.3, 1.1, -0.2, 0.9, -0.1, -0.4])
def draw(n, rng):
    x = rng.normal(size=(n, 8)) * rng.uniform(0.5, 20, 8) + rng.uniform(-5, 50, 8)
    return x
rng = np.random.default_rng(seed)
scale = rng.normal(size=8)
train = draw(train_rows, np.random.default_rng(seed + 1))
z = (train - train.mean(0)) / train.std(0)
y = (z @ weights + np.random.default_rng(seed + 2).normal(size=train_rows) > 0).astype(np.int64)
cols = {n: train[:, i] for i, n in enumerate(names)} | {"label": y}
pa_csv.write_csv(pa.table(cols), "train.csv")
big = draw(rows, np.random.default_rng(seed + 3))
pa_csv.write_csv(pa.table({n: big[:, i] for i, n in enumerate(names)}), "in.csv")
pa_csv.write_csv(pa.table({n: big[:1000, i] for i, n in enumerate(names)}), "head.csv")
"""

TRAIN = """
import sys
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
data = pd.read_csv("train.csv")
X, y = data.drop(columns="label"), data["label"]
pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
"""

TRAIN_LANDMARK = (
    TRAIN
    + """
import pickle, landmark
landmark.save_model(pipe, "lm-model", sample_input=X.head(100))
with open("floor.pkl", "wb") as fh:
    pickle.dump(pipe, fh)
"""
)

TRAIN_MLFLOW = (
    TRAIN
    + """
import mlflow.sklearn
mlflow.sklearn.save_model(pipe, "ml-model", input_example=X.head(5))
"""
)

FLOOR = """
import pickle, sys, time
t0 = time.perf_counter()
import pandas as pd
with open("floor.pkl", "rb") as fh:
    pipe = pickle.load(fh)
t1 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
t2 = time.perf_counter()
df["prediction"] = pipe.predict(df)
t3 = time.perf_counter()
df.to_csv(sys.argv[2], index=False)
t4 = time.perf_counter()
print(f"import+load {t1 - t0:.2f} s, read {t2 - t1:.2f} s, predict {t3 - t2:.2f} s, "
      f"write {t4 - t3:.2f} s", file=sys.stderr)
"""

# Runs a command and prints its exit status and its peak RSS in KiB: forked from this small
# interpreter, the child's peak is its own (a child forked from a big process starts with
# that process's).
MEASURE = (
    "import resource, subprocess, sys; "
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
    "sys.stderr.buffer.write(p.stderr[-4000:]); "
    "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)

# Compares every tool's predictions with the floor's; prints the rows that differ.
COMPARE = """
import json, sys
import numpy as np, pandas as pd
floor = pd.read_csv("floor-out.csv", usecols=["prediction"])["prediction"].to_numpy()
result = {}
for name, path in json.loads(sys.argv[1]).items():
    if path.endswith(".csv"):
        got = pd.read_csv(path, usecols=["prediction"])["prediction"].to_numpy()
    else:  # mlflow models predict: {"predictions": [...]}
        with open(path) as fh:
            doc = json.load(fh)
        got = np.asarray(doc["predictions"] if isinstance(doc, dict) else doc).ravel()
    result[name] = int(len(got) != len(floor)) * len(floor) or int((got != floor).sum())
print(json.dumps(result))
"""


def timed_peak(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Seconds, peak RSS (MiB) and the tail of stderr of one fresh process."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    seconds = time.perf_counter() - started
    code, kib = proc.stdout.split()
    if code != "0":
        raise CommandFailed(argv, int(code), proc.stderr)
    return seconds, int(kib) >> 10, proc.stderr.strip()


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    peer = not args.no_peer
    for path, what in ((LANDMARK_PY, "landmark's venv"), (LANDMARK_CLI, "landmark")):
        if not path.exists():
            raise UsageError(f"{what}: {path} is missing")
    if peer and not MLFLOW_CLI.exists():
        raise UsageError(f"{MLFLOW_CLI} is missing")
    env = {**os.environ, **ENV}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    log(f"writing {args.rows:,} rows of 8 numeric columns")
    harness.run(
        [str(LANDMARK_PY), "-c", MAKE_DATA, str(args.rows), str(SEED), str(TRAIN_ROWS)],
        cwd=workdir,
        env=env,
    )
    csv_path = workdir / "in.csv"
    log("training (landmark's venv)")
    harness.run([str(LANDMARK_PY), "-c", TRAIN_LANDMARK], cwd=workdir, env=env)
    if peer:
        log("training (mlflow's venv)")
        harness.run([str(MLFLOW_PY), "-c", TRAIN_MLFLOW], cwd=workdir, env=env)

    results: list[dict[str, Any]] = []
    outputs: dict[str, str] = {}

    def measure(what: str, argv: list[str], output: str | None) -> None:
        log(what)
        seconds, peak, err = timed_peak(argv, workdir, env)
        row = {"what": what, "seconds": seconds, "peak_rss_mib": peak}
        if what == "floor":
            row["detail"] = err.splitlines()[-1] if err else ""
        results.append(row)
        if output is not None:
            outputs[what] = output

    measure("floor", [str(LANDMARK_PY), "-c", FLOOR, "in.csv", "floor-out.csv"], None)
    lm = [str(LANDMARK_CLI), "predict", "lm-model", "-i", "in.csv"]
    # What each process holds before the rows count: the same commands on 1,000 rows.
    baseline = {
        "floor": timed_peak(
            [str(LANDMARK_PY), "-c", FLOOR, "head.csv", "floor-head.csv"], workdir, env
        )[1],
        "landmark": timed_peak(
            [str(LANDMARK_CLI), "predict", "lm-model", "-i", "head.csv", "-o", "lm-head.csv"],
            workdir,
            env,
        )[1],
    }
    chunks = [args.chunk_rows] + ([SMALL_CHUNK] if args.chunk_rows != SMALL_CHUNK else [])
    for chunk in chunks:
        out = f"lm-out-{chunk}.csv"
        measure(
            f"landmark predict --chunk-rows {chunk}",
            [*lm, "-o", out, "--chunk-rows", str(chunk)],
            out,
        )
    if peer:
        measure(
            "mlflow models predict",
            [str(MLFLOW_CLI), "models", "predict", "-m", "ml-model", "-i", "in.csv",
             "-o", "ml-out.json", "-t", "csv", "--env-manager", "local"],
            "ml-out.json",
        )  # fmt: skip
    log("comparing predictions with the floor's")
    differ = json.loads(
        harness.run([str(LANDMARK_PY), "-c", COMPARE, json.dumps(outputs)], cwd=workdir, env=env)
    )
    for row in results:
        row["rows_differing"] = differ.get(row["what"], 0)
    spark_rows, spark_note = spark(csv_path, args.rows)
    results.extend(spark_rows)
    return {
        "config": {
            "rows": args.rows,
            "chunk_rows": args.chunk_rows,
            "train_rows": TRAIN_ROWS,
            "row_bytes": csv_path.stat().st_size / (args.rows + 1),
        },
        "baseline_rss_mib": baseline,
        "results": results,
        "spark": spark_note,
    }


def spark(csv_path: Path, rows: int) -> tuple[list[dict[str, Any]], str]:
    """The rows of bench/batch_spark.py's ``run``, or none and why."""
    module_path = Path(__file__).with_name("batch_spark.py")
    if not module_path.is_file():
        return [], f"skipped: {module_path.name} is not there"
    if importlib.util.find_spec("pyspark") is None:
        return [], f"skipped: pyspark is not importable by {sys.executable}"
    spec = importlib.util.spec_from_file_location("batch_spark", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log("spark (bench/batch_spark.py)")
    found: list[dict[str, Any]] = list(module.run(csv_path, rows))
    return found, f"measured by {module_path.name}"


def print_table(report: dict[str, Any]) -> list[tuple[str, bool, str]]:
    results = report["results"]
    by_name = {r["what"]: r for r in results}
    floor = by_name["floor"]["seconds"]
    print(f"{report['config']['rows']:,} CSV rows, 8 numeric columns, StandardScaler + "
          "LogisticRegression")  # fmt: skip
    print(f"{'':40}{'seconds':>10}{'peak RSS':>11}{'vs floor':>10}{'rows/s':>12}")
    for r in results:
        peak = f"{r['peak_rss_mib']:,} MiB" if "peak_rss_mib" in r else ""
        rate = report["config"]["rows"] / r["seconds"] if r["seconds"] > 0 else 0
        print(
            f"{r['what'][:39]:40}{r['seconds']:9.2f}s{peak:>11}{r['seconds'] / floor:9.2f}x"
            f"{rate:12,.0f}"
        )
        if r.get("rows_differing"):
            print(f"  !! {r['rows_differing']:,} predictions differ from the floor's")
    if by_name["floor"].get("detail"):
        print(f"floor: {by_name['floor']['detail']}")
    print(f"spark: {report['spark']}")
    ours = by_name[f"landmark predict --chunk-rows {report['config']['chunk_rows']}"]
    verdicts = [
        (
            f"within {TARGET_VS_FLOOR:g}x of the floor",
            ours["seconds"] <= TARGET_VS_FLOOR * floor,
            f"{ours['seconds'] / floor:.2f}x",
        )
    ]
    mlflow = by_name.get("mlflow models predict")
    if mlflow is not None:
        x = mlflow["seconds"] / ours["seconds"]
        verdicts.append(
            (f">= {TARGET_VS_MLFLOW:g}x faster than mlflow models predict", x >= TARGET_VS_MLFLOW,
             f"{x:.1f}x")
        )  # fmt: skip
    base = report["baseline_rss_mib"]
    grown = ours["peak_rss_mib"] - base["landmark"]
    floor_grown = by_name["floor"]["peak_rss_mib"] - base["floor"]
    chunk_mib = report["config"]["chunk_rows"] * report["config"]["row_bytes"] / (1 << 20)
    budget = CHUNK_FACTOR * chunk_mib
    small = by_name.get(f"landmark predict --chunk-rows {SMALL_CHUNK}")
    smaller = (
        f", {small['peak_rss_mib'] - base['landmark']:+,} MiB at --chunk-rows {SMALL_CHUNK:,}"
        if small is not None and small is not ours
        else ""
    )
    verdicts.append(
        (
            f"peak memory bounded by the chunk size (growth over start-up <= {CHUNK_FACTOR}x "
            "the chunk's CSV bytes)",
            grown <= budget,
            f"{grown:+,} MiB over {base['landmark']:,} MiB at --chunk-rows "
            f"{report['config']['chunk_rows']:,}, a {chunk_mib:.0f} MiB chunk{smaller}; "
            f"the floor: {floor_grown:+,} MiB over {base['floor']:,} MiB",
        )
    )
    for text, met, value in verdicts:
        print(f"target: {text} -> {'met' if met else 'missed'} ({value})")
    return verdicts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV to score")
    p.add_argument(
        "--chunk-rows", type=int, default=100_000, help="landmark predict's --chunk-rows"
    )
    p.add_argument("--no-peer", action="store_true", help="landmark and the floor only")
    p.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (data, models)")
    p.add_argument("--json-out", type=Path, help="write the figures as JSON to this file")
    args = p.parse_args(argv)
    if not 1_000 <= args.rows <= 100_000_000 or args.chunk_rows < 1:
        p.error("--rows must be 1000..100000000 and --chunk-rows at least 1")
    began = time.monotonic()
    load_before = os.getloadavg()[0]
    report = run_in_workdir(args, "landmark-bench-batch-", benchmark, (subprocess.TimeoutExpired,))
    if isinstance(report, int):
        return report
    report["config"]["wall_s"] = time.monotonic() - began
    report["config"]["load_1min_before"] = load_before
    verdicts = print_table(report)
    report["targets"] = [{"target": t, "met": m, "value": v} for t, m, v in verdicts]
    print(f"(one run: {report['config']['wall_s']:.0f} s on this machine)")
    if load_before > 0.5:
        print(
            f"note: the 1-minute load average was {load_before:.1f} at the start; figures are noisy"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    wrong = [r["what"] for r in report["results"] if r.get("rows_differing")]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
