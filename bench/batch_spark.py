#!/usr/bin/env python3
"""Spark batch scoring: ``landmark.spark_udf`` against ``mlflow.pyfunc.spark_udf`` on
``local[2]``, on the same CSV, in the same run.

``run(csv_path, rows)`` is what ``bench/batch.py`` calls (its ``in.csv`` of eight numeric
columns, with ``train.csv`` beside it); ``python bench/batch_spark.py --rows N`` draws such
files itself and prints the rows and the ratio.

Each side is one fresh process with its tool's own interpreter (``.venv`` and
``.venv-mlflow``): it trains the same pipeline (StandardScaler + LogisticRegression) on
``train.csv``, saves it its own way (landmark: skops; MLflow: ``mlflow.sklearn.save_model``),
starts Spark on ``local[2]`` (same settings both sides: 2 GiB driver, the CSV read in about
eight partitions with an explicit all-double schema, Arrow batches of 10,000 rows), and then
times, from the UDF's creation to the last file written::

    udf = landmark.spark_udf(spark, DIR)            # or mlflow.pyfunc.spark_udf(spark, DIR,
    spark.read.csv(...).withColumn("prediction", udf(*columns)).write.parquet(OUT)  # "long")

That includes the model reaching the Python workers and their first load. Both then read
their output back and count the predictions that differ from their own pipeline's
``predict`` on the same rows (not timed).

MLflow's venv has no pyspark of its own: its process imports the same pyspark 4.3.0 (and
py4j) as ``.venv``, through a folder of links put on its ``PYTHONPATH``, so both sides run the
same Spark. Nothing is installed and nothing is downloaded (no ``spark.jars.packages``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LANDMARK_PY = REPO_ROOT / ".venv" / "bin" / "python"
MLFLOW_PY = REPO_ROOT / ".venv-mlflow" / "bin" / "python"
TIMEOUT_S = 1800
WHAT = {
    "landmark": "spark landmark.spark_udf local[2]",
    "mlflow": "spark mlflow.pyfunc.spark_udf local[2]",
}
ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PYTHONWARNINGS": "ignore",
    "SPARK_LOCAL_IP": "127.0.0.1",
    "SPARK_LOCAL_HOSTNAME": "localhost",
}
LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
"""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the driver of the benchmark (landmark's interpreter) ----------------------------------


def run(csv_path: Path, rows: int) -> list[dict[str, Any]]:
    """Score ``csv_path`` (``train.csv`` beside it trains the model) with each tool's Spark
    UDF; one row per tool: ``what``, ``seconds``, ``rows_differing``."""
    csv_path = Path(csv_path).absolute()
    train = csv_path.with_name("train.csv")
    if not train.is_file():
        raise FileNotFoundError(f"{train} is missing: it trains the model")
    import pyspark

    pyspark_dir = Path(pyspark.__file__).parent
    work = Path(tempfile.mkdtemp(prefix="landmark-bench-spark-"))
    conf = work / "conf"
    conf.mkdir()
    (conf / "log4j2.properties").write_text(LOG4J)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_SUBMIT_ARGS", "PYTHONPATH")}
    env.update(ENV, SPARK_HOME=str(pyspark_dir), SPARK_CONF_DIR=str(conf))
    results = []
    try:
        for tool, python in (("landmark", _landmark_python()), ("mlflow", MLFLOW_PY)):
            if not python.is_file():
                log(f"{WHAT[tool]}: skipped, {python} is missing (run scripts/bootstrap)")
                continue
            side = dict(env, PYSPARK_PYTHON=str(python), PYSPARK_DRIVER_PYTHON=str(python))
            if tool == "mlflow":
                side["PYTHONPATH"] = str(_pyspark_links(work / "pyspark-links", pyspark_dir))
            log(f"{WHAT[tool]} ({rows:,} rows)")
            out = work / tool
            out.mkdir()
            argv = [str(python), __file__, "--worker", tool, str(csv_path), str(train), str(out)]
            proc = subprocess.run(
                argv, cwd=out, env=side, capture_output=True, text=True, timeout=TIMEOUT_S
            )
            if proc.returncode != 0:
                raise RuntimeError(
                    f"{WHAT[tool]} exited with {proc.returncode}:\n{proc.stderr[-4000:]}"
                )
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            log(f"  {got['seconds']:.2f}s, of which {got['setup']:.2f}s making the UDF")
            if got["rows"] != rows:
                raise RuntimeError(f"{WHAT[tool]} wrote {got['rows']:,} rows, not {rows:,}")
            results.append(
                {
                    "what": WHAT[tool],
                    "seconds": got["seconds"],
                    "rows_differing": got["rows_differing"],
                }
            )
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return results


def _landmark_python() -> Path:
    return LANDMARK_PY if LANDMARK_PY.is_file() else Path(sys.executable)


def _pyspark_links(folder: Path, pyspark_dir: Path) -> Path:
    """A folder holding links to this venv's pyspark and py4j, for MLflow's interpreter."""
    import py4j

    folder.mkdir()
    (folder / "pyspark").symlink_to(pyspark_dir)
    (folder / "py4j").symlink_to(Path(py4j.__file__).parent)
    return folder


# -- one side (its tool's interpreter) -----------------------------------------------------


def worker(tool: str, csv_path: Path, train_path: Path, out: Path) -> dict[str, Any]:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = pd.read_csv(train_path)
    x, y = data.drop(columns="label"), data["label"]
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    model_dir = out / "model"
    if tool == "landmark":
        import landmark

        landmark.save_model(pipe, model_dir, sample_input=x.head(100))
    else:
        import mlflow.sklearn

        mlflow.sklearn.save_model(pipe, str(model_dir), input_example=x.head(5))

    spark = _spark(csv_path)
    try:
        from pyspark.sql.types import DoubleType, StructField, StructType

        with open(csv_path) as fh:
            columns = fh.readline().strip().split(",")
        schema = StructType([StructField(c, DoubleType(), False) for c in columns])
        started = time.perf_counter()
        if tool == "landmark":
            udf = landmark.spark_udf(spark, model_dir)
        else:
            import mlflow.pyfunc

            udf = mlflow.pyfunc.spark_udf(
                spark, str(model_dir), result_type="long", env_manager="local"
            )
        setup = time.perf_counter() - started
        df = spark.read.csv(str(csv_path), header=True, schema=schema)
        df.withColumn("prediction", udf(*columns)).write.parquet(str(out / "scored"))
        seconds = time.perf_counter() - started
    finally:
        spark.stop()

    scored = pd.read_parquet(out / "scored")  # part files in order: the CSV's row order
    expected = pipe.predict(pd.read_csv(csv_path))
    differing = int((scored["prediction"].to_numpy() != expected).sum())
    return {"seconds": seconds, "setup": setup, "rows": len(scored), "rows_differing": differing}


def _spark(csv_path: Path) -> Any:
    from pyspark.sql import SparkSession

    size = os.path.getsize(csv_path)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("landmark-bench-spark")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.files.maxPartitionBytes", str(max(1 << 20, size // 8)))
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


# -- standalone: draw the files, run, print ----------------------------------------------


def draw(folder: Path, rows: int, seed: int = 20240612, train_rows: int = 10_000) -> Path:
    """``in.csv`` (eight numeric columns) and ``train.csv`` (the same and a label)."""
    import numpy as np
    import pandas as pd

    def sample(n: int, rng: Any) -> Any:
        loc = np.random.default_rng(seed).uniform(-5, 50, 8)
        scale = np.random.default_rng(seed + 1).uniform(0.5, 20, 8)
        return rng.normal(size=(n, 8)) * scale + loc

    names = [f"f{i}" for i in range(8)]
    weights = np.array([-1.2, 0.8, -0.3, 1.1, -0.2, 0.9, -0.1, -0.4])
    train = sample(train_rows, np.random.default_rng(seed + 2))
    z = (train - train.mean(0)) / train.std(0)
    noise = np.random.default_rng(seed + 3).normal(size=train_rows)
    labelled = pd.DataFrame(train, columns=names).assign(label=(z @ weights + noise > 0) * 1)
    labelled.to_csv(folder / "train.csv", index=False)
    pd.DataFrame(sample(rows, np.random.default_rng(seed + 4)), columns=names).to_csv(
        folder / "in.csv", index=False
    )
    return folder / "in.csv"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--worker"]:
        # This folder holds bench/packaging.py: off the path, or it hides the real packaging.
        here = Path(__file__).resolve().parent
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
        tool, csv_path, train_path, out = args[1:5]
        print(json.dumps(worker(tool, Path(csv_path), Path(train_path), Path(out))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows to score")
    parser.add_argument("--json-out", type=Path, help="write the rows here as JSON")
    opts = parser.parse_args(args)
    with tempfile.TemporaryDirectory(prefix="landmark-bench-spark-data-") as folder:
        log(f"writing {opts.rows:,} rows of 8 numeric columns")
        csv_path = draw(Path(folder), opts.rows)
        rows = run(csv_path, opts.rows)
    print(f"{opts.rows:,} CSV rows, 8 numeric columns, StandardScaler + LogisticRegression")
    for r in rows:
        rate = opts.rows / r["seconds"] if r["seconds"] > 0 else 0.0
        print(f"{r['what']:42}{r['seconds']:9.2f}s{rate:12,.0f} rows/s")
        if r["rows_differing"]:
            print(f"  !! {r['rows_differing']:,} predictions differ from the pipeline's")
    by_name = {r["what"]: r["seconds"] for r in rows}
    ours, theirs = by_name.get(WHAT["landmark"]), by_name.get(WHAT["mlflow"])
    if ours and theirs:
        verdict = "met" if ours <= theirs else "MISSED"
        print(f"landmark / mlflow: {ours / theirs:.2f}x (target: not slower, {verdict})")
    if opts.json_out:
        opts.json_out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
