"""landmark.spark_udf on a real Spark: local[2] in this process, local-cluster in another."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import landmark
from landmark.errors import InvalidInput, NotFound, SignatureError, UnsafeModel

from ..churn import COLUMNS, frame, train
from ..conftest import GitRepo
from .conftest import ClusterJob, java_missing


def scored(spark: Any, column: Any, rows: int = 1000, seed: int = 1, parts: int = 8) -> Any:
    """``column`` over a Spark copy of frame(rows), in the pandas frame's row order."""
    data = frame(rows, seed).reset_index(names="id")
    df = spark.createDataFrame(data).repartition(parts)
    out = df.select("id", column.alias("out")).orderBy("id").toPandas()
    return data.drop(columns="id"), out["out"]


def test_predict_matches_the_local_model(spark: Any, model_dir: Path) -> None:
    udf = landmark.spark_udf(spark, model_dir)
    assert udf.result_type.simpleString() == "bigint"
    data, out = scored(spark, udf(*COLUMNS))
    expected = landmark.load_model(model_dir).predict(data)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.to_numpy(), expected)


def test_predict_proba_is_an_array_column(spark: Any, model_dir: Path) -> None:
    udf = landmark.spark_udf(spark, model_dir, method="predict_proba")
    assert udf.result_type.simpleString() == "array<double>"
    data, out = scored(spark, udf(*COLUMNS))
    expected = landmark.load_model(model_dir).predict_proba(data)
    np.testing.assert_allclose(np.stack(out.to_numpy()), expected, rtol=0, atol=1e-12)


def test_a_struct_and_names_in_any_order(spark: Any, model_dir: Path) -> None:
    import pyspark.sql.functions as F

    udf = landmark.spark_udf(spark, model_dir)
    expected = landmark.load_model(model_dir).predict(frame(300, 2))
    for column in (
        udf(F.struct(*reversed(COLUMNS))),  # fields by name, whatever their order
        udf(*reversed(COLUMNS)),  # every argument a signature column: by name
        udf(),  # the signature's own columns
    ):
        _, out = scored(spark, column, rows=300, seed=2, parts=3)
        np.testing.assert_array_equal(out.to_numpy(), expected)


def test_positional_columns_with_other_names(spark: Any, model_dir: Path) -> None:
    import pyspark.sql.functions as F

    udf = landmark.spark_udf(spark, model_dir, result_type="double")
    renamed = [F.col(c).alias(f"x{i}") for i, c in enumerate(COLUMNS)]
    data, out = scored(spark, udf(*renamed), rows=200, parts=2)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.to_numpy(), landmark.load_model(model_dir).predict(data))


def test_doubles_are_cast_to_the_model_integers(spark: Any, model_dir: Path) -> None:
    import pyspark.sql.functions as F

    udf = landmark.spark_udf(spark, model_dir)
    data, out = scored(spark, udf(F.col("tenure").cast("double"), *COLUMNS[1:]), rows=200)
    np.testing.assert_array_equal(out.to_numpy(), landmark.load_model(model_dir).predict(data))
    with pytest.raises(Exception, match="column 'tenure' has nulls"):
        scored(spark, udf(F.lit(None).cast("double"), *COLUMNS[1:]), rows=20, parts=1)


def test_a_wrong_column_count_fails_on_the_driver(spark: Any, model_dir: Path) -> None:
    udf = landmark.spark_udf(spark, model_dir)
    with pytest.raises(SignatureError, match=r"takes 4 columns \(tenure, charges, age, calls\)"):
        udf("tenure", "charges", "age")
    with pytest.raises(SignatureError, match="called with 5"):
        udf(*COLUMNS, "tenure")


def test_refused_on_the_driver(spark: Any, tmp_path: Path, model_dir: Path) -> None:
    pickled = tmp_path / "pickled"
    landmark.save_model(train(), pickled, sample_input=frame(20), format="pickle")
    with pytest.raises(UnsafeModel):
        landmark.spark_udf(spark, pickled)
    assert landmark.spark_udf(spark, pickled, trust=True).loads == 0
    with pytest.raises(NotFound, match="no method 'transform'"):
        landmark.spark_udf(spark, model_dir, method="transform")
    with pytest.raises(InvalidInput, match="result_type must be"):
        landmark.spark_udf(spark, model_dir, result_type=3)


def test_a_registry_ref(spark: Any, repo: GitRepo) -> None:
    logged = landmark.log_model(
        train(seed=5), "churn", sample_input=frame(20), commit=True, register=True, repo=repo.path
    )
    landmark.assign("churn", "prod", version=logged.version_name, repo=repo.path)
    by_stage = landmark.spark_udf(spark, "churn#prod", repo=repo.path)
    by_version = landmark.spark_udf(spark, f"churn@{logged.version_name}", repo=repo.path)
    assert by_stage.key == by_version.key  # the same bytes: one archive
    data, out = scored(spark, by_stage(*COLUMNS), rows=500)
    local = landmark.load_model("churn#prod", repo=repo.path)
    np.testing.assert_array_equal(out.to_numpy(), local.predict(data))
    with pytest.raises(NotFound):
        landmark.spark_udf(spark, "churn#staging", repo=repo.path)


def test_loaded_once_per_worker_from_the_shipped_archive(
    spark: Any, tmp_path: Path, model_dir: Path
) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    landmark.save_model(train(seed=9), copy, sample_input=frame(20))  # new content, new key
    udf = landmark.spark_udf(spark, copy)
    expected = landmark.load_model(copy).predict(frame(1000, 1))
    shutil.rmtree(copy)  # the workers have only the archive
    for _ in range(3):  # 3 jobs x 8 tasks on 2 cores
        _, out = scored(spark, udf(*COLUMNS))
        np.testing.assert_array_equal(out.to_numpy(), expected)
    assert 1 <= udf.loads <= 2  # one load per Python worker, not per task or batch


def test_local_cluster(cluster_job: ClusterJob | None, model_dir: Path) -> None:
    """Two executor JVMs with their own Python workers, in a fresh process (one SparkContext
    a process; this one has local[2]) started with the session (see conftest.ClusterJob)."""
    if cluster_job is None:
        pytest.skip(str(java_missing()))
    got = cluster_job.result()
    data = frame(2000, seed=3)
    local = landmark.load_model(model_dir)
    assert got["ids"] == list(range(2000))
    np.testing.assert_array_equal(got["label"], local.predict(data))
    np.testing.assert_allclose(got["proba"], local.predict_proba(data), rtol=0, atol=1e-12)
    assert got["executors"] == 2
    assert got["driver_jvm"] not in got["jvms"]  # scored in the executors' JVMs
    assert 1 <= len(got["jvms"]) <= 2
    assert 2 <= got["loads"] <= 4  # two models, at most once in each executor's worker
    assert got["label_type"] == "bigint"
