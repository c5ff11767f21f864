"""Run by test_local_cluster in a fresh process (one SparkContext a process): scores a model
on ``local-cluster[2,1,1024]`` (two executor JVMs, each with its own Python workers) and writes
what it saw as JSON.

The model directory is copied, the UDF made from the copy, and the copy removed before any
task runs: the executors can only have the model from the archive Spark shipped them.

    python cluster_job.py MODEL_DIR CONF_DIR OUT.json
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.churn import COLUMNS, frame
from tests.spark.conftest import spark_env, start


def main(model_dir: str, conf_dir: str, out: str) -> None:
    os.environ.pop("PYSPARK_SUBMIT_ARGS", None)
    os.environ.update(spark_env(Path(conf_dir)))
    import pyspark.sql.functions as F

    import landmark

    spark = start("local-cluster[2,1,1024]", "landmark-cluster-test")
    try:
        copy = Path(tempfile.mkdtemp()) / "model"
        shutil.copytree(model_dir, copy)
        predict = landmark.spark_udf(spark, copy)
        proba = landmark.spark_udf(spark, copy, method="predict_proba")
        shutil.rmtree(copy.parent)
        data = frame(2000, seed=3).reset_index(names="id")
        df = spark.createDataFrame(data).repartition(8)
        rows = (
            df.select(
                "id",
                predict(*COLUMNS).alias("label"),
                proba(F.struct(*reversed(COLUMNS))).alias("proba"),
                F.expr("java_method('java.lang.ProcessHandle', 'current')").alias("jvm"),
            )
            .orderBy("id")
            .collect()
        )
        result = {
            "ids": [r["id"] for r in rows],
            "label": [r["label"] for r in rows],
            "proba": [list(r["proba"]) for r in rows],
            "jvms": sorted({r["jvm"] for r in rows}),
            "driver_jvm": str(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()),
            "executors": spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1,
            "loads": predict.loads + proba.loads,
            "label_type": predict.result_type.simpleString(),
        }
        Path(out).write_text(json.dumps(result))
    finally:
        spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
