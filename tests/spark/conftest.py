"""One Spark session for the whole folder (local[2], on the machine's Java), and the models.

Spark is started with a clean configuration of our own: an empty ``SPARK_CONF_DIR`` but for a
log4j2 file at WARN, no ``spark.jars.packages`` (so nothing is resolved or downloaded), the
driver on 127.0.0.1, small memory, and this interpreter for the Python workers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..churn import frame, train

# pyspark 4.3 on pandas 3: its own deprecation notes, and toPandas' notice when a task failed
QUIET = (
    "ignore:PySpark does not yet fully support pandas:FutureWarning",
    "ignore:The copy keyword is deprecated",
    "ignore:toPandas attempted Arrow optimization:UserWarning",
)
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


def java_missing() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return None
    return None if shutil.which("java") else "Spark needs Java: no java on PATH and no JAVA_HOME"


def spark_env(conf_dir: Path) -> dict[str, str]:
    """The variables the driver (and through it every JVM and Python worker) starts with."""
    import pyspark

    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "log4j2.properties").write_text(LOG4J)
    # SPARK_HOME is the pyspark package folder, seen through links: local-cluster's workers
    # write their executors' folders to SPARK_HOME/work, which must not be the venv.
    home = conf_dir.parent / "spark-home"
    if not home.is_dir():
        home.mkdir()
        for entry in Path(pyspark.__file__).parent.iterdir():
            if entry.name != "work":
                (home / entry.name).symlink_to(entry)
    return {
        "SPARK_HOME": str(home),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_HOSTNAME": "localhost",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


def start(master: str, app: str) -> Any:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "512m")
        .config("spark.executor.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            for rule in QUIET:
                item.add_marker(pytest.mark.filterwarnings(rule))


class ClusterJob:
    """cluster_job.py on local-cluster, started in its own process before the local[2]
    session so that the two overlap; ``result()`` waits for it."""

    def __init__(self, model_dir: Path, work: Path) -> None:
        self.out = work / "out.json"
        self.log = work / "job.log"
        job = Path(__file__).with_name("cluster_job.py")
        env = {k: v for k, v in os.environ.items() if k != "PYSPARK_SUBMIT_ARGS"}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-W", "ignore::FutureWarning", str(job), str(model_dir),
                 str(work / "conf"), str(self.out)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip

    def result(self, timeout: float = 300) -> dict[str, Any]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        assert code == 0, f"cluster_job.py exited with {code}:\n{self.log.read_text()[-4000:]}"
        result: dict[str, Any] = json.loads(self.out.read_text())
        return result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def cluster_job(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> Iterator[ClusterJob | None]:
    """The local-cluster job, when a collected test needs it (None otherwise)."""
    wanted = any(
        "cluster_job" in getattr(item, "fixturenames", ()) for item in request.session.items
    )
    if not wanted or java_missing():
        yield None
        return
    job = ClusterJob(model_dir, tmp_path_factory.mktemp("cluster"))
    try:
        yield job
    finally:
        job.stop()


@pytest.fixture(scope="session")
def spark(
    tmp_path_factory: pytest.TempPathFactory, cluster_job: ClusterJob | None
) -> Iterator[Any]:
    reason = java_missing()
    if reason:
        pytest.skip(reason)
    saved = dict(os.environ)
    os.environ.pop("PYSPARK_SUBMIT_ARGS", None)  # nothing of the caller's: no --packages
    os.environ.update(spark_env(tmp_path_factory.mktemp("spark") / "conf"))
    session = start("local[2]", "landmark-tests")
    try:
        yield session
    finally:
        session.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import landmark

    path = tmp_path_factory.mktemp("models") / "churn"
    landmark.save_model(train(), path, sample_input=frame(20))
    return path
