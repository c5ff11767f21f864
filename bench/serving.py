#!/usr/bin/env python3
"""Side-by-side serving benchmark: ``landmark serve`` against ``mlflow models serve`` and MLServer.

Run it with ``.venv/bin/python bench/serving.py`` after ``scripts/bootstrap --bench`` (which puts
the pinned MLServer into ``.venv-mlserver`` and installs ``wrk``; the pinned mlflow comes with a
plain ``scripts/bootstrap``). Plain stdlib here; every server runs as its own process with its
own interpreter, and all traffic goes to 127.0.0.1.

The model
---------
One scikit-learn pipeline, StandardScaler + LogisticRegression, on a synthetic tabular data set
of 2,000 rows with eight named numeric columns (a churn-like table). The rows are generated
here, with the standard library's seeded generator, and written to a JSON file; each tool's own
interpreter reads that file, trains the same pipeline on it and saves it its own way, because a
pickle from one scikit-learn version is not meant to be loaded by another:

* landmark: ``landmark.save_model(pipeline, DIR, sample_input=df.head())`` (skops format);
* MLflow: ``mlflow.sklearn.save_model(pipeline, DIR, input_example=df.head())``;
* MLServer: ``joblib.dump`` and a ``model-settings.json`` for ``mlserver_sklearn.SKLearnModel``.

Each trainer also predicts the 10,000 probe rows locally; every answer a server gives in the
checks below must equal its own trainer's predictions.

The servers
-----------
All bind 127.0.0.1 on a free port, one at a time (so they never compete for the cores), with
their defaults otherwise:

* ``landmark serve DIR --host 127.0.0.1 --port N --workers 1``, ready when ``GET /ready``
  answers 200; measured twice on the same process: REST (``POST /predict``, JSON records) and
  the Open Inference Protocol (``POST /v2/models/churn/infer``, one input per column,
  ``content_type: "pd"``);
* ``mlflow models serve -m DIR --env-manager local -h 127.0.0.1 -p N -w 1``, ready on
  ``GET /ping``; ``POST /invocations`` with ``{"dataframe_records": [...]}``;
* ``mlserver start DIR`` (settings.json: host, HTTP, gRPC and metrics ports), ready on
  ``GET /v2/models/churn/ready``; OIP as above. MLServer's default ``parallel_workers`` (1:
  inference runs in one worker process beside the HTTP process) is kept; ``--mlserver-workers
  0`` predicts in the HTTP process instead, which here starts about a second sooner and
  answers one request at a time about 1.5 ms sooner, but serves fewer requests per second
  under wrk.

Each server is stopped (SIGTERM to its process group, SIGKILL after 10 s) in a ``finally``.

Batching
--------
Two more systems are the same servers with adaptive batching on (``--no-batch`` leaves them
out), with the same settings for both, ``--batch ROWS:MS`` (default ``8:2``):

* ``landmark batched``: ``landmark serve ... --batch churn:ROWS:MS``, a batch of up to ROWS
  rows, the first request waiting at most MS ms for others; REST and OIP as above;
* ``mlserver batched``: ``"max_batch_size": ROWS, "max_batch_time": MS / 1000`` in the
  model's model-settings.json (MLServer counts requests, not rows, and its time is in
  seconds: for one-row requests the two are the same setting). OIP as above.

Why 8 rows: wrk keeps 8 requests in flight (``-c8``), so at most 8 one-row requests can wait
together; a larger batch would only ever be cut by the time limit, a smaller one would leave
requests for the next batch. Why 2 ms: landmark's default wait. MLServer makes a request
that comes alone wait the whole MS for company, so its sequential figures are about MS slower
than its plain ones; landmark waits only once it has seen company (requests queued, or a
last batch that merged several), so one caller at a time is answered as without batching. A request of 10,000 rows, larger than
ROWS, runs alone in landmark (it starts its own batch at once); in MLServer it counts as one
request, so alone on its connection it waits MS, then runs alone. Its answer is checked,
every row, as above.
MLflow has no batching: the batched table repeats its unbatched figures, and the batched
landmark REST column is set against them.

What it measures
----------------
* ``start to ready``: from spawning the process until the readiness endpoint answers 200
  (polled every 10 ms), the median of ``--starts`` starts (default 3); then, on the last start:
* ``1-row p50/p99``: ``--requests`` (default 1,000) sequential one-row requests on one
  keep-alive ``http.client`` connection, timed in this process around each request and
  response, after 50 untimed ones;
* ``8 conn answers``: 8 connections at once (as many as wrk keeps), each posting 24 requests
  of 1, 2 or 3 probe rows (192 requests, 384 rows, no row in two requests); every answer is
  compared with the trainer's predictions, row by row, since a batcher that merges requests
  must split the answer back to the right callers. Wrong rows and failed requests are
  counted and shown in the table (``ok (384)``, ``N/384 wrong``, ``N failed``) rather than
  ending the run; for the batched landmark the table also gives landmark's own count (from
  its ``/metrics``) of requests per call of the model in this check and under wrk;
* ``throughput``: ``wrk -t2 -c8 -d<--duration>s`` (default 10 s) posting the one-row body
  (a Lua script sets method, header and body); requests per second, and wrk's p99 under load;
* ``10,000 rows``: one request carrying the 10,000 probe rows, the median of 5 after an
  untimed one (whose predictions are checked, every row).

Two tables: unbatched and batched. Ratios are in landmark's favour: the peer's time over
landmark's, landmark's requests per second over the peer's. landmark's REST column is set
against MLflow (both JSON records), its OIP column against MLServer (same protocol, same
body); batched against batched (the batched landmark REST against the only MLflow there is).
The issue's targets: p50 <= 2 ms (every landmark column), start <= 2 s, throughput >= 5x
MLflow's and >= 2x MLServer's (in each table).

``--no-peer`` measures landmark alone, ``--only-peer`` the peers alone. The exit status is 0
whatever the figures; 1 when a server fails to start or answers wrongly (in the answers check
after the table is printed), 2 for a usage error (a missing venv, ``wrk`` or ``landmark
serve``). Every request loop is bounded in count and in time. ``--json-out FILE`` writes
every figure: the settings under ``config`` (``batch``: ROWS, MS and each tool's form of them,
null with ``--no-batch``), each column's under ``results`` ("landmark batched REST",
"landmark batched OIP", "mlserver batched OIP" beside the plain ones; ``check_*`` for the
answers check).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import harness
from harness import UsageError, log, run, run_in_workdir

REPO_ROOT = Path(__file__).resolve().parent.parent
LANDMARK_VENV = REPO_ROOT / ".venv"
MLFLOW_VENV = REPO_ROOT / ".venv-mlflow"
MLSERVER_VENV = REPO_ROOT / ".venv-mlserver"
HOST = "127.0.0.1"
WRK_CONNECTIONS = 8  # wrk -c8: requests in flight at once
MODEL_NAME = "churn"

TARGET_P50_MS = 2.0
TARGET_START_S = 2.0
TARGET_VS_MLFLOW = 5.0
TARGET_VS_MLSERVER = 2.0

SEED = 20240612
TRAIN_ROWS = 2_000
BIG_ROWS = 10_000
WARMUP_REQUESTS = 50
BIG_REPEAT = 5
READY_TIMEOUT_S = 180.0
READY_POLL_S = 0.01
STOP_GRACE_S = 10.0
REQUEST_TIMEOUT_S = 120.0
DEFAULT_BATCH = "8:2"
CHECK_ROUNDS = 24  # requests of each connection in the concurrent check
CHECK_SIZES = (1, 2, 3)  # rows of those requests, in turn
CHECK_BUDGET_S = 60.0

# Name, mean, spread: a churn-like table of eight numeric columns.
COLUMNS = (
    ("tenure_months", 30.0, 18.0),
    ("monthly_charges", 65.0, 25.0),
    ("total_charges", 2000.0, 1500.0),
    ("support_calls", 2.0, 1.5),
    ("data_usage_gb", 40.0, 20.0),
    ("late_payments", 1.0, 1.0),
    ("age", 45.0, 14.0),
    ("discount_pct", 10.0, 6.0),
)
WEIGHTS = (-1.2, 0.8, -0.3, 1.1, -0.2, 0.9, -0.1, -0.4)

TRAIN = """
import json, sys
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
spec = json.loads(open(sys.argv[1]).read())
out = sys.argv[2]
train = pd.DataFrame(spec["train"], columns=spec["columns"])
probe = pd.DataFrame(spec["probe"], columns=spec["columns"])
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(train, spec["labels"])
"""

SAVE = {
    "landmark": """
import landmark
landmark.save_model(model, out, sample_input=train.head())
""",
    "mlflow": """
import warnings
warnings.filterwarnings("ignore")
import mlflow.sklearn
mlflow.sklearn.save_model(model, out, input_example=train.head())
""",
    "mlserver": """
import os, joblib
os.makedirs(out)
joblib.dump(model, os.path.join(out, "model.joblib"))
settings = {
    "name": spec["name"],
    "implementation": "mlserver_sklearn.SKLearnModel",
    "parameters": {"uri": "./model.joblib", "version": "v1"},
}
with open(os.path.join(out, "model-settings.json"), "w") as f:
    json.dump(settings, f)
""",
}

REPORT = """
print(json.dumps([int(p) for p in model.predict(probe)]))
"""

WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK-RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class ServerFailed(Exception):
    pass


# --- the data set and the request bodies ---------------------------------------------------


def make_data() -> dict[str, Any]:
    """Training rows and labels, and the probe rows (the first is the one-row request),
    rounded to 3 decimals so that every interpreter reads exactly the same floats."""
    rng = random.Random(SEED)

    def row() -> list[float]:
        return [round(rng.gauss(mean, spread), 3) for _, mean, spread in COLUMNS]

    train = [row() for _ in range(TRAIN_ROWS)]
    labels = []
    for values in train:
        z = sum(
            w * (v - mean) / spread
            for w, v, (_, mean, spread) in zip(WEIGHTS, values, COLUMNS, strict=True)
        )
        labels.append(int(z + rng.gauss(0.0, 1.0) > 0.0))
    probe = [row() for _ in range(BIG_ROWS)]
    return {
        "name": MODEL_NAME,
        "columns": [name for name, _, _ in COLUMNS],
        "train": train,
        "labels": labels,
        "probe": probe,
    }


def records(columns: list[str], rows: list[list[float]]) -> list[dict[str, float]]:
    return [dict(zip(columns, values, strict=True)) for values in rows]


def oip_body(columns: list[str], rows: list[list[float]]) -> bytes:
    inputs = [
        {"name": name, "shape": [len(rows)], "datatype": "FP64", "data": [r[i] for r in rows]}
        for i, name in enumerate(columns)
    ]
    return json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs}).encode()


def predictions_of(payload: Any) -> list[Any]:
    """The predictions in a REST (``{"predictions": [...]}``) or OIP answer."""
    if isinstance(payload, dict) and "predictions" in payload:
        return list(payload["predictions"])
    if isinstance(payload, dict) and "outputs" in payload:
        return list(payload["outputs"][0]["data"])
    raise ValueError(f"no predictions in {str(payload)[:200]}")


# --- the systems under test ----------------------------------------------------------------


@dataclass
class Api:
    """One way of asking a server for predictions."""

    label: str
    path: str
    body: Callable[[list[str], list[list[float]]], bytes]


REST_RECORDS = Api("REST", "/predict", lambda cols, rows: json.dumps(records(cols, rows)).encode())
MLFLOW_RECORDS = Api(
    "REST",
    "/invocations",
    lambda cols, rows: json.dumps({"dataframe_records": records(cols, rows)}).encode(),
)
OIP = Api("OIP", f"/v2/models/{MODEL_NAME}/infer", oip_body)


@dataclass(frozen=True)
class Batch:
    """Adaptive batching, the same for both tools that have it: up to ``rows`` one-row
    requests in one call of the model, the first waiting at most ``ms`` for the others."""

    rows: int
    ms: float

    def landmark_arg(self) -> str:
        return f"{MODEL_NAME}:{self.rows}:{self.ms:g}"

    def mlserver_settings(self) -> dict[str, Any]:
        return {"max_batch_size": self.rows, "max_batch_time": self.ms / 1000}


def parse_batch(text: str) -> Batch:
    rows, sep, ms = text.partition(":")
    try:
        batch = Batch(int(rows), float(ms))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write ROWS:MS, e.g. 8:2") from None
    if not sep or not 2 <= batch.rows <= 1024 or not 0 < batch.ms <= 1000:
        # MLServer turns batching off below 2 requests or at 0 s: it would not be measured.
        raise argparse.ArgumentTypeError(f"{text!r}: ROWS must be 2..1024 and MS 0..1000 (not 0)")
    return batch


@dataclass
class Server:
    tool: str  # "landmark", "mlflow", "mlserver"
    venv: Path
    ready_path: str
    apis: list[Api]
    model_dir: Path = Path()
    expected: list[int] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    mlserver_workers: int = 1
    batch: Batch | None = None

    @property
    def name(self) -> str:
        """The system: the tool, and "batched" when adaptive batching is on."""
        return f"{self.tool} batched" if self.batch else self.tool

    def argv(self, workdir: Path) -> list[str]:
        port = str(self.ports["http"])
        bin_dir = self.venv / "bin"
        if self.tool == "landmark":
            batching = ["--batch", self.batch.landmark_arg()] if self.batch else []
            return [
                str(bin_dir / "landmark"), "serve", str(self.model_dir),
                "--host", HOST, "--port", port, "--workers", "1", *batching,
            ]  # fmt: skip
        if self.tool == "mlflow":
            return [
                str(bin_dir / "mlflow"), "models", "serve", "-m", str(self.model_dir),
                "--env-manager", "local", "-h", HOST, "-p", port, "-w", "1",
            ]  # fmt: skip
        root = workdir / "mlserver-root"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir()
        shutil.copytree(self.model_dir, root / MODEL_NAME)
        if self.batch:
            model_settings = root / MODEL_NAME / "model-settings.json"
            doc = json.loads(model_settings.read_text())
            doc.update(self.batch.mlserver_settings())
            model_settings.write_text(json.dumps(doc))
        settings = {
            "host": HOST,
            "http_port": self.ports["http"],
            "grpc_port": self.ports["grpc"],
            "metrics_port": self.ports["metrics"],
            "parallel_workers": self.mlserver_workers,
        }
        (root / "settings.json").write_text(json.dumps(settings))
        return [str(bin_dir / "mlserver"), "start", str(root)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(workdir: Path, venv: Path) -> dict[str, str]:
    env = harness.isolated_env(
        workdir / "home",
        os.environ,
        ("LANDMARK_", "MLFLOW_", "MLSERVER_", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV"),
        # No usage reports: nothing outside this machine is reached.
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        VIRTUAL_ENV=str(venv),
    )
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    log_file: BinaryIO
    log_path: Path

    def tail(self, lines: int = 15) -> str:
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").rstrip().splitlines()
        return "\n".join(text[-lines:])


def start(server: Server, workdir: Path, attempt: int) -> tuple[Running, float]:
    """Spawn the server and wait until its readiness endpoint answers 200: the process, and
    the seconds from spawn to ready."""
    server.ports = {"http": free_port()}
    if server.tool == "mlserver":
        server.ports.update(grpc=free_port(), metrics=free_port())
    argv = server.argv(workdir)
    slug = server.name.replace(" ", "-")
    cwd = workdir / f"{slug}-cwd"
    cwd.mkdir(exist_ok=True)
    log_path = workdir / f"{slug}-{attempt}.log"
    log_file = log_path.open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=server_env(workdir, server.venv),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() reaches its workers too
    )
    running = Running(proc, log_file, log_path)
    try:
        while True:
            if proc.poll() is not None:
                raise ServerFailed(
                    f"{server.name} exited with {proc.returncode} before it was ready:\n"
                    + running.tail()
                )
            if ready(server.ports["http"], server.ready_path):
                return running, time.perf_counter() - started
            if time.perf_counter() - started > READY_TIMEOUT_S:
                raise ServerFailed(
                    f"{server.name} not ready after {READY_TIMEOUT_S:.0f} s:\n" + running.tail()
                )
            time.sleep(READY_POLL_S)
    except BaseException:
        stop(running)
        raise


def ready(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2.0)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def stop(running: Running) -> None:
    """SIGTERM to the server's process group, SIGKILL to what is left after the grace."""
    proc = running.proc
    try:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and group_alive(proc.pid):
            proc.poll()  # reap the leader so that it stops counting as alive
            time.sleep(0.05)
        if group_alive(proc.pid):
            log(f"process group {proc.pid} still alive after {STOP_GRACE_S:.0f} s: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_GRACE_S)
    finally:
        running.log_file.close()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the measurements ----------------------------------------------------------------------


def post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def check(tool: str, api: Api, status: int, data: bytes, expected: list[int]) -> None:
    if status != 200:
        raise ServerFailed(f"{tool} {api.label} answered {status}: {data[:300]!r}")
    got = [int(p) for p in predictions_of(json.loads(data))]
    if got != expected:
        wrong = wrong_rows(got, expected)
        raise ServerFailed(
            f"{tool} {api.label}: {wrong} of {len(expected)} predictions differ from its "
            f"trainer's ({len(got)} answered)"
        )


def wrong_rows(got: list[int], expected: list[int]) -> int:
    """Rows answered wrongly: those that differ, and those missing or extra."""
    return sum(a != b for a, b in zip(got, expected, strict=False)) + abs(len(got) - len(expected))


def sequential(server: Server, api: Api, body: bytes, count: int) -> dict[str, Any]:
    """``count`` one-row requests, one after the other on one keep-alive connection."""
    conn = http.client.HTTPConnection(HOST, server.ports["http"], timeout=REQUEST_TIMEOUT_S)
    budget = 60.0 + count * 0.2  # 200 ms a request, far above any of the peers
    samples: list[float] = []
    try:
        status, data = post(conn, api.path, body)
        check(server.name, api, status, data, server.expected[:1])
        for _ in range(WARMUP_REQUESTS):
            post(conn, api.path, body)
        began = time.monotonic()
        for _ in range(count):
            t0 = time.perf_counter_ns()
            status, data = post(conn, api.path, body)
            t1 = time.perf_counter_ns()
            if status != 200:
                raise ServerFailed(f"{server.name} {api.label} answered {status}: {data[:300]!r}")
            samples.append((t1 - t0) / 1e6)
            if time.monotonic() - began > budget:
                log(
                    f"{server.name} {api.label}: stopped after {len(samples)} requests ({budget:.0f} s)"
                )
                break
    finally:
        conn.close()
    ordered = sorted(samples)
    return {
        "requests": len(samples),
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)],
        "mean_ms": statistics.fmean(ordered),
    }


def big_request(server: Server, api: Api, body: bytes) -> dict[str, Any]:
    conn = http.client.HTTPConnection(HOST, server.ports["http"], timeout=REQUEST_TIMEOUT_S)
    try:
        status, data = post(conn, api.path, body)
        check(server.name, api, status, data, server.expected)
        times = []
        for _ in range(BIG_REPEAT):
            t0 = time.perf_counter_ns()
            status, data = post(conn, api.path, body)
            t1 = time.perf_counter_ns()
            if status != 200:
                raise ServerFailed(f"{server.name} {api.label} answered {status} to 10,000 rows")
            times.append((t1 - t0) / 1e6)
    finally:
        conn.close()
    return {"big_ms": statistics.median(times), "big_body_bytes": len(body)}


def concurrent_check(
    server: Server, api: Api, columns: list[str], probe: list[list[float]], conns: int
) -> dict[str, Any]:
    """``conns`` connections at once (as many as wrk keeps), each posting ``CHECK_ROUNDS``
    requests of 1, 2 or 3 probe rows (no two requests share a row), every answer compared with
    the trainer's, row by row: what a batcher merges it must split back to the right callers.
    Wrong answers are counted, not raised, so that the table shows them."""
    jobs: list[list[tuple[bytes, list[int]]]] = []
    at = 0
    for c in range(conns):
        jobs.append([])
        for r in range(CHECK_ROUNDS):
            size = CHECK_SIZES[(c + r) % len(CHECK_SIZES)]
            rows = probe[at : at + size]
            jobs[-1].append((api.body(columns, rows), server.expected[at : at + size]))
            at += size
    counts = {"check_requests": 0, "check_rows": 0, "check_wrong_rows": 0, "check_failed": 0}
    first_failure: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(conns, timeout=CHECK_BUDGET_S)
    deadline = time.monotonic() + CHECK_BUDGET_S

    def client(job: list[tuple[bytes, list[int]]]) -> None:
        conn = http.client.HTTPConnection(HOST, server.ports["http"], timeout=CHECK_BUDGET_S)
        try:
            gate.wait()
            for body, expected in job:
                if time.monotonic() > deadline:
                    return
                wrong, failed, why = 0, 0, ""
                try:
                    status, data = post(conn, api.path, body)
                    if status != 200:
                        failed, why = 1, f"status {status}: {data[:200]!r}"
                    else:
                        got = [int(p) for p in predictions_of(json.loads(data))]
                        wrong = wrong_rows(got, expected)
                except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as e:
                    failed, why = 1, f"{type(e).__name__}: {e}"
                    conn.close()  # a fresh connection for the next request
                with lock:
                    counts["check_requests"] += 1
                    counts["check_rows"] += len(expected)
                    counts["check_wrong_rows"] += wrong
                    counts["check_failed"] += failed
                    if why and not first_failure:
                        first_failure.append(why)
        except threading.BrokenBarrierError:
            return
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 5.0)
    if any(thread.is_alive() for thread in threads):
        log(f"{server.name} {api.label}: the concurrent check ran past {CHECK_BUDGET_S:.0f} s")
    with lock:
        result: dict[str, Any] = dict(counts)
    if result["check_wrong_rows"] or result["check_failed"]:
        log(
            f"{server.name} {api.label}: concurrent check: {result['check_wrong_rows']} of "
            f"{result['check_rows']} rows wrong, {result['check_failed']} of "
            f"{result['check_requests']} requests failed"
            + (f" (first: {first_failure[0]})" if first_failure else "")
        )
        if first_failure:
            result["check_first_failure"] = first_failure[0]
    return result


def batch_counters(server: Server) -> tuple[float, float] | None:
    """landmark's own count of batches and of the requests merged into them (its /metrics),
    or None for a server without them."""
    if server.tool != "landmark" or server.batch is None:
        return None
    conn = http.client.HTTPConnection(HOST, server.ports["http"], timeout=10.0)
    try:
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
        if resp.status != 200:
            return None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    merged = batches = 0.0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            if name.startswith("landmark_batch_requests_sum"):
                merged += float(value.split()[0])
            elif name.startswith("landmark_batch_requests_count"):
                batches += float(value.split()[0])
    return merged, batches


def merged_per_batch(
    figures: dict[str, Any],
    key: str,
    before: tuple[float, float] | None,
    after: tuple[float, float] | None,
) -> None:
    """How many requests each call of the model served between two ``batch_counters``."""
    if before is not None and after is not None and after[1] > before[1]:
        figures[key] = (after[0] - before[0]) / (after[1] - before[1])


def throughput(
    server: Server, api: Api, body: bytes, wrk: Path, duration: int, workdir: Path
) -> dict[str, Any]:
    text = body.decode()
    level = 1  # a Lua long string; level 0 would end at the "]]" closing a JSON list
    while f"]{'=' * level}]" in text:
        level += 1
    script = workdir / f"wrk-{server.name.replace(' ', '-')}-{api.label}.lua"
    script.write_text(WRK_SCRIPT.format(body=f"[{'=' * level}[{text}]{'=' * level}]"))
    url = f"http://{HOST}:{server.ports['http']}{api.path}"
    argv = [
        str(wrk),
        "-t2",
        f"-c{WRK_CONNECTIONS}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, stdin=subprocess.DEVNULL
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK-RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise ServerFailed(f"wrk failed ({proc.returncode}): {proc.stderr.strip()}")
    reqs, dur_us, connect, read, write, bad_status, timeouts, p50_us, p99_us = map(
        int, line.split()[1:]
    )
    errors = connect + read + write + bad_status + timeouts
    if errors:
        log(f"{server.name} {api.label}: wrk counted {errors} errors ({bad_status} non-2xx)")
    return {
        "rps": reqs / (dur_us / 1e6),
        "wrk_requests": reqs,
        "wrk_errors": errors,
        "loaded_p50_ms": p50_us / 1e3,
        "loaded_p99_ms": p99_us / 1e3,
    }


# --- the run -------------------------------------------------------------------------------


def train(server: Server, data_path: Path, workdir: Path) -> None:
    python = server.venv / "bin" / "python"
    server.model_dir = workdir / "models" / server.tool / MODEL_NAME
    server.model_dir.parent.mkdir(parents=True, exist_ok=True)
    code = TRAIN + SAVE[server.tool] + REPORT
    log(f"training and saving the pipeline with {python}")
    try:
        out = run(
            [str(python), "-c", code, str(data_path), str(server.model_dir)],
            cwd=workdir,
            env=server_env(workdir, server.venv),
        )
    except harness.CommandFailed as exc:
        raise ServerFailed(
            f"training with {python} exited with {exc.returncode}:\n{exc.stderr.rstrip()[-3000:]}"
        ) from None
    server.expected = json.loads(out.strip().splitlines()[-1])


def measure(
    server: Server, args: argparse.Namespace, wrk: Path, data: dict[str, Any], workdir: Path
) -> dict[str, dict[str, Any]]:
    columns = data["columns"]
    one_row, all_rows = data["probe"][:1], data["probe"]
    starts: list[float] = []
    running: Running | None = None
    results: dict[str, dict[str, Any]] = {}
    try:
        for attempt in range(args.starts):
            if running is not None:
                stop(running)
                running = None
            running, seconds = start(server, workdir, attempt)
            log(f"{server.name}: ready in {seconds:.3f} s on port {server.ports['http']}")
            starts.append(seconds)
        assert running is not None
        for api in server.apis:
            log(f"{server.name} {api.label}: {args.requests} sequential one-row requests")
            figures: dict[str, Any] = {
                "start_s": statistics.median(starts),
                "starts_s": starts,
            }
            small = api.body(columns, one_row)
            figures.update(sequential(server, api, small, args.requests))
            log(f"{server.name} {api.label}: {WRK_CONNECTIONS} connections, answers checked")
            before = batch_counters(server)
            figures.update(concurrent_check(server, api, columns, data["probe"], WRK_CONNECTIONS))
            merged_per_batch(figures, "check_requests_per_batch", before, batch_counters(server))
            log(f"{server.name} {api.label}: wrk, {WRK_CONNECTIONS} connections, {args.duration} s")
            before = batch_counters(server)
            figures.update(throughput(server, api, small, wrk, args.duration, workdir))
            merged_per_batch(figures, "wrk_requests_per_batch", before, batch_counters(server))
            log(f"{server.name} {api.label}: one request of {BIG_ROWS:,} rows")
            figures.update(big_request(server, api, api.body(columns, all_rows)))
            if running.proc.poll() is not None:
                raise ServerFailed(f"{server.name} exited during the run:\n{running.tail()}")
            results[f"{server.name} {api.label}"] = figures
    finally:
        if running is not None:
            stop(running)
    return results


def landmark_serves(exe: Path) -> bool:
    if not exe.is_file():
        return False
    proc = subprocess.run(
        [str(exe), "serve", "--help"], capture_output=True, stdin=subprocess.DEVNULL, timeout=60
    )
    return proc.returncode == 0


def servers_for(args: argparse.Namespace) -> list[Server]:
    chosen: list[Server] = []
    if not args.only_peer:
        if not landmark_serves(LANDMARK_VENV / "bin" / "landmark"):
            raise UsageError(
                f"`{LANDMARK_VENV}/bin/landmark serve --help` fails: this landmark has no "
                "server yet (--only-peer measures the peers alone)"
            )
        chosen.append(Server("landmark", LANDMARK_VENV, "/ready", [REST_RECORDS, OIP]))
        if args.batch:
            chosen.append(
                Server("landmark", LANDMARK_VENV, "/ready", [REST_RECORDS, OIP], batch=args.batch)
            )
    if not args.no_peer:
        if not (MLFLOW_VENV / "bin" / "mlflow").is_file():
            raise UsageError(f"{MLFLOW_VENV}/bin/mlflow is missing (scripts/bootstrap installs it)")
        if not (MLSERVER_VENV / "bin" / "mlserver").is_file():
            raise UsageError(
                f"{MLSERVER_VENV}/bin/mlserver is missing: run scripts/bootstrap --bench"
            )
        chosen.append(Server("mlflow", MLFLOW_VENV, "/ping", [MLFLOW_RECORDS]))
        ready = f"/v2/models/{MODEL_NAME}/ready"
        workers = args.mlserver_workers
        chosen.append(Server("mlserver", MLSERVER_VENV, ready, [OIP], mlserver_workers=workers))
        if args.batch:
            chosen.append(
                Server(
                    "mlserver",
                    MLSERVER_VENV,
                    ready,
                    [OIP],
                    mlserver_workers=workers,
                    batch=args.batch,
                )
            )
    return chosen


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    found = shutil.which("wrk")
    if found is None:
        raise UsageError(
            "`wrk` is not on PATH: run scripts/bootstrap --bench (apt-get install wrk)"
        )
    wrk = Path(found)
    servers = servers_for(args)
    data = make_data()
    data_path = workdir / "data.json"
    data_path.write_text(json.dumps(data))
    trained: dict[str, Server] = {}
    for server in servers:
        if server.tool in trained:  # the batched server serves the plain one's model
            server.model_dir = trained[server.tool].model_dir
            server.expected = trained[server.tool].expected
        else:
            train(server, data_path, workdir)
            trained[server.tool] = server
    results: dict[str, dict[str, Any]] = {}
    for server in servers:
        results.update(measure(server, args, wrk, data, workdir))
    return {
        "config": {
            "requests": args.requests,
            "duration_s": args.duration,
            "starts": args.starts,
            "mlserver_parallel_workers": args.mlserver_workers,
            "batch": None
            if args.batch is None
            else {
                "rows": args.batch.rows,
                "ms": args.batch.ms,
                "landmark": f"--batch {args.batch.landmark_arg()}",
                "mlserver": args.batch.mlserver_settings(),
                "mlflow": None,  # it has no batching: its unbatched figures stand
            },
            "wrk": f"-t2 -c{WRK_CONNECTIONS}",
            "check": {"connections": WRK_CONNECTIONS, "rounds": CHECK_ROUNDS, "rows": CHECK_SIZES},
            "columns": data["columns"],
            "train_rows": TRAIN_ROWS,
            "big_rows": BIG_ROWS,
        },
        "results": results,
    }


# --- the report ----------------------------------------------------------------------------

ROWS = (
    # label, key, format, lower is better (then "8 conn answers": the concurrent check)
    ("start to ready (s)", "start_s", "{:.2f}", True),
    ("1-row p50 (ms)", "p50_ms", "{:.2f}", True),
    ("1-row p99 (ms)", "p99_ms", "{:.2f}", True),
    ("8 conn (req/s)", "rps", "{:,.0f}", False),
    ("8 conn p99 (ms)", "loaded_p99_ms", "{:.1f}", True),
    (f"{BIG_ROWS:,} rows (ms)", "big_ms", "{:,.1f}", True),
)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[tuple[str, str], ...]  # system and API (a key of the results), its title
    # Peer, the landmark column set against it (the same protocol), title, throughput target.
    pairs: tuple[tuple[str, str, str, float], ...]


TABLES = (
    Table(
        "unbatched",
        (
            ("landmark REST", "landmark"),
            ("landmark OIP", "landmark OIP"),
            ("mlflow REST", "mlflow"),
            ("mlserver OIP", "mlserver"),
        ),
        (
            ("mlflow REST", "landmark REST", "vs mlflow", TARGET_VS_MLFLOW),
            ("mlserver OIP", "landmark OIP", "vs mlserver", TARGET_VS_MLSERVER),
        ),
    ),
    Table(
        "batched",
        (
            ("landmark batched REST", "lm batch"),
            ("landmark batched OIP", "lm b OIP"),
            ("mlflow REST", "mlflow"),  # it has no batching: the same figures as above
            ("mlserver batched OIP", "mlsrv batch"),
        ),
        (
            ("mlflow REST", "landmark batched REST", "vs mlflow", TARGET_VS_MLFLOW),
            ("mlserver batched OIP", "landmark batched OIP", "vs mlsrv b", TARGET_VS_MLSERVER),
        ),
    ),
)


def ratio(ours: float, theirs: float, lower_is_better: bool) -> float:
    if lower_is_better:
        return theirs / ours if ours > 0 else math.inf
    return ours / theirs if theirs > 0 else math.inf


def answers_cell(figures: dict[str, Any]) -> str:
    """The concurrent check, in a cell: "ok (ROWS)", or what went wrong."""
    if figures.get("check_failed"):
        return f"{figures['check_failed']} failed"
    if figures.get("check_wrong_rows"):
        return f"{figures['check_wrong_rows']}/{figures['check_rows']} wrong"
    return f"ok ({figures.get('check_rows', 0)})"


def wrong_answers(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: r for name, r in results.items() if r.get("check_wrong_rows") or r.get("check_failed")
    }


def table_title(table: Table, config: dict[str, Any]) -> str:
    batch = config.get("batch")
    if table.title != "batched" or not batch:
        return "unbatched (every server as it comes)"
    mlserver = ", ".join(f"{k} {v:g}" for k, v in batch["mlserver"].items())
    return f"batched: landmark {batch['landmark']}; MLServer {mlserver}; mlflow has no batching"


def print_table(report: dict[str, Any]) -> None:
    results: dict[str, dict[str, Any]] = report["results"]
    for table in TABLES:
        if table.title == "batched" and not any("batched" in name for name in results):
            continue
        systems = [(name, title) for name, title in table.columns if name in results]
        pairs = [pair for pair in table.pairs if pair[0] in results and pair[1] in results]
        if not systems:
            continue
        print(table_title(table, report["config"]))
        head = f"{'':22}" + "".join(f"{title:>14}" for _, title in systems)
        head += "".join(f"{title:>13}" for _, _, title, _ in pairs)
        print(head)
        for label, key, fmt, lower in ROWS:
            cells = []
            for name, _ in systems:
                same_process = (
                    key == "start_s"
                    and name.endswith(" OIP")
                    and name.replace(" OIP", " REST") in results
                )
                value = "(same)" if same_process else fmt.format(results[name][key])
                cells.append(f"{value:>14}")
            line = f"{label:22}" + "".join(cells)
            for peer, ours, _, _ in pairs:
                line += f"{ratio(results[ours][key], results[peer][key], lower):12.1f}x"
            print(line)
        print(
            f"{'8 conn answers':22}"
            + "".join(f"{answers_cell(results[n]):>14}" for n, _ in systems)
        )
        if pairs:
            titles = dict(table.columns)
            against = ", ".join(
                f"{titles[ours]} against {titles[peer]}" for peer, ours, _, _ in pairs
            )
            print(
                "(ratios in landmark's favour: peer time / landmark time, landmark req/s / peer "
                f"req/s;\n {against})"
            )
        merged = [
            f"{name.removeprefix('landmark batched ')} {r['wrk_requests_per_batch']:.1f} in wrk, "
            f"{r.get('check_requests_per_batch', math.nan):.1f} in the check"
            for name, _ in systems
            if "wrk_requests_per_batch" in (r := results[name])
        ]
        if merged:
            print(f"(requests per model call, landmark's count: {'; '.join(merged)})")
        for text, met, value in targets(table, results):
            print(f"target: {text} -> {'met' if met else 'missed'} ({value})")
        print()
    errors = {name: r["wrk_errors"] for name, r in results.items() if r.get("wrk_errors")}
    if errors:
        print(f"wrk counted errors: {errors}")
    for name, r in wrong_answers(results).items():
        print(
            f"WRONG ANSWERS: {name}: {r['check_wrong_rows']} of {r['check_rows']} rows wrong and "
            f"{r['check_failed']} of {r['check_requests']} requests failed with "
            f"{WRK_CONNECTIONS} connections at once; its wrk figures count such answers"
            + (
                f" (first failure: {r['check_first_failure']})"
                if "check_first_failure" in r
                else ""
            )
        )


def targets(table: Table, results: dict[str, dict[str, Any]]) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for name, _ in table.columns:
        if name.startswith("landmark") and name in results:
            p50 = results[name]["p50_ms"]
            out.append(
                (
                    f"1-row p50 <= {TARGET_P50_MS:g} ms, {name}",
                    p50 <= TARGET_P50_MS,
                    f"{p50:.2f} ms",
                )
            )
    if table.title == "unbatched" and "landmark REST" in results:
        start_s = results["landmark REST"]["start_s"]
        out.append(
            (f"start <= {TARGET_START_S:g} s", start_s <= TARGET_START_S, f"{start_s:.2f} s")
        )
    for peer, ours, _, goal in table.pairs:
        if peer in results and ours in results:
            x = ratio(results[ours]["rps"], results[peer]["rps"], False)
            out.append((f"throughput >= {goal:g}x {peer}'s, {ours}", x >= goal, f"{x:.1f}x"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=1000, help="sequential one-row requests")
    p.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    p.add_argument("--starts", type=int, default=3, help="starts of each server (median kept)")
    p.add_argument(
        "--mlserver-workers", type=int, default=1, help="MLServer's parallel_workers (default 1)"
    )
    who = p.add_mutually_exclusive_group()
    who.add_argument("--no-peer", action="store_true", help="measure landmark only")
    who.add_argument("--only-peer", action="store_true", help="measure mlflow and MLServer only")
    batching = p.add_mutually_exclusive_group()
    batching.add_argument(
        "--batch",
        type=parse_batch,
        default=parse_batch(DEFAULT_BATCH),
        metavar="ROWS:MS",
        help=f"adaptive batching of the batched landmark and MLServer (default {DEFAULT_BATCH})",
    )
    batching.add_argument(
        "--no-batch", dest="batch", action="store_const", const=None, help="no batched servers"
    )
    p.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (models, server logs)")
    p.add_argument("--json-out", type=Path, help="write the figures as JSON to this file")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= 1_000_000 or not 1 <= args.duration <= 600 or args.starts < 1:
        p.error("--requests must be 1..1000000, --duration 1..600 s, --starts at least 1")
    if not 0 <= args.mlserver_workers <= 16:
        p.error("--mlserver-workers must be 0..16")

    began = time.monotonic()
    load_before = os.getloadavg()[0]
    report = run_in_workdir(
        args, "landmark-bench-serving-", benchmark, (ServerFailed, subprocess.TimeoutExpired)
    )
    if isinstance(report, int):
        return report
    report["config"]["wall_s"] = time.monotonic() - began
    report["config"]["load_1min_before"] = load_before
    print_table(report)
    print(f"(one run: {report['config']['wall_s']:.0f} s on this machine)")
    if load_before > 0.5:
        # The figures share the cores with whatever else runs: say so next to them.
        print(
            f"note: the 1-minute load average was {load_before:.1f} at the start; figures are noisy"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if wrong_answers(report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
