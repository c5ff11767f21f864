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

What it measures
----------------
* ``start to ready``: from spawning the process until the readiness endpoint answers 200
  (polled every 10 ms), the median of ``--starts`` starts (default 3);
* ``1-row p50/p99``: ``--requests`` (default 1,000) sequential one-row requests on one
  keep-alive ``http.client`` connection, timed in this process around each request and
  response, after 50 untimed ones;
* ``throughput``: ``wrk -t2 -c8 -d<--duration>s`` (default 10 s) posting the one-row body
  (a Lua script sets method, header and body); requests per second, and wrk's p99 under load;
* ``10,000 rows``: one request carrying the 10,000 probe rows, the median of 5 after an
  untimed one (whose predictions are checked, every row).

Ratios are in landmark's favour: the peer's time over landmark's, landmark's requests per
second over the peer's. landmark's REST column is set against MLflow (both JSON records), its
OIP column against MLServer (same protocol, same body). The issue's targets: p50 <= 2 ms,
start <= 2 s, throughput >= 5x MLflow's and >= 2x MLServer's.

``--no-peer`` measures landmark alone, ``--only-peer`` the peers alone. The exit status is 0
whatever the figures; 1 when a server fails to start or answers wrongly, 2 for a usage error
(a missing venv, ``wrk`` or ``landmark serve``). Every request loop is bounded in count and
in time.
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

    def argv(self, workdir: Path) -> list[str]:
        port = str(self.ports["http"])
        bin_dir = self.venv / "bin"
        if self.tool == "landmark":
            return [
                str(bin_dir / "landmark"), "serve", str(self.model_dir),
                "--host", HOST, "--port", port, "--workers", "1",
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
    cwd = workdir / f"{server.tool}-cwd"
    cwd.mkdir(exist_ok=True)
    log_path = workdir / f"{server.tool}-{attempt}.log"
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
                    f"{server.tool} exited with {proc.returncode} before it was ready:\n"
                    + running.tail()
                )
            if ready(server.ports["http"], server.ready_path):
                return running, time.perf_counter() - started
            if time.perf_counter() - started > READY_TIMEOUT_S:
                raise ServerFailed(
                    f"{server.tool} not ready after {READY_TIMEOUT_S:.0f} s:\n" + running.tail()
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
        wrong = sum(a != b for a, b in zip(got, expected, strict=False)) + abs(
            len(got) - len(expected)
        )
        raise ServerFailed(
            f"{tool} {api.label}: {wrong} of {len(expected)} predictions differ from its "
            f"trainer's ({len(got)} answered)"
        )


def sequential(server: Server, api: Api, body: bytes, count: int) -> dict[str, Any]:
    """``count`` one-row requests, one after the other on one keep-alive connection."""
    conn = http.client.HTTPConnection(HOST, server.ports["http"], timeout=REQUEST_TIMEOUT_S)
    budget = 60.0 + count * 0.2  # 200 ms a request, far above any of the peers
    samples: list[float] = []
    try:
        status, data = post(conn, api.path, body)
        check(server.tool, api, status, data, server.expected[:1])
        for _ in range(WARMUP_REQUESTS):
            post(conn, api.path, body)
        began = time.monotonic()
        for _ in range(count):
            t0 = time.perf_counter_ns()
            status, data = post(conn, api.path, body)
            t1 = time.perf_counter_ns()
            if status != 200:
                raise ServerFailed(f"{server.tool} {api.label} answered {status}: {data[:300]!r}")
            samples.append((t1 - t0) / 1e6)
            if time.monotonic() - began > budget:
                log(
                    f"{server.tool} {api.label}: stopped after {len(samples)} requests ({budget:.0f} s)"
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
        check(server.tool, api, status, data, server.expected)
        times = []
        for _ in range(BIG_REPEAT):
            t0 = time.perf_counter_ns()
            status, data = post(conn, api.path, body)
            t1 = time.perf_counter_ns()
            if status != 200:
                raise ServerFailed(f"{server.tool} {api.label} answered {status} to 10,000 rows")
            times.append((t1 - t0) / 1e6)
    finally:
        conn.close()
    return {"big_ms": statistics.median(times), "big_body_bytes": len(body)}


def throughput(
    server: Server, api: Api, body: bytes, wrk: Path, duration: int, workdir: Path
) -> dict[str, Any]:
    text = body.decode()
    level = 1  # a Lua long string; level 0 would end at the "]]" closing a JSON list
    while f"]{'=' * level}]" in text:
        level += 1
    script = workdir / f"wrk-{server.tool}-{api.label}.lua"
    script.write_text(WRK_SCRIPT.format(body=f"[{'=' * level}[{text}]{'=' * level}]"))
    url = f"http://{HOST}:{server.ports['http']}{api.path}"
    argv = [str(wrk), "-t2", "-c8", f"-d{duration}s", "--timeout", "10s", "-s", str(script), url]
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
        log(f"{server.tool} {api.label}: wrk counted {errors} errors ({bad_status} non-2xx)")
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
            log(f"{server.tool}: ready in {seconds:.3f} s on port {server.ports['http']}")
            starts.append(seconds)
        assert running is not None
        for api in server.apis:
            log(f"{server.tool} {api.label}: {args.requests} sequential one-row requests")
            figures: dict[str, Any] = {
                "start_s": statistics.median(starts),
                "starts_s": starts,
            }
            small = api.body(columns, one_row)
            figures.update(sequential(server, api, small, args.requests))
            log(f"{server.tool} {api.label}: wrk, 8 connections, {args.duration} s")
            figures.update(throughput(server, api, small, wrk, args.duration, workdir))
            log(f"{server.tool} {api.label}: one request of {BIG_ROWS:,} rows")
            figures.update(big_request(server, api, api.body(columns, all_rows)))
            if running.proc.poll() is not None:
                raise ServerFailed(f"{server.tool} exited during the run:\n{running.tail()}")
            results[f"{server.tool} {api.label}"] = figures
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
    if not args.no_peer:
        if not (MLFLOW_VENV / "bin" / "mlflow").is_file():
            raise UsageError(f"{MLFLOW_VENV}/bin/mlflow is missing (scripts/bootstrap installs it)")
        if not (MLSERVER_VENV / "bin" / "mlserver").is_file():
            raise UsageError(
                f"{MLSERVER_VENV}/bin/mlserver is missing: run scripts/bootstrap --bench"
            )
        chosen.append(Server("mlflow", MLFLOW_VENV, "/ping", [MLFLOW_RECORDS]))
        ready = f"/v2/models/{MODEL_NAME}/ready"
        chosen.append(
            Server("mlserver", MLSERVER_VENV, ready, [OIP], mlserver_workers=args.mlserver_workers)
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
    for server in servers:
        train(server, data_path, workdir)
    results: dict[str, dict[str, Any]] = {}
    for server in servers:
        results.update(measure(server, args, wrk, data, workdir))
    return {
        "config": {
            "requests": args.requests,
            "duration_s": args.duration,
            "starts": args.starts,
            "mlserver_parallel_workers": args.mlserver_workers,
            "wrk": "-t2 -c8",
            "columns": data["columns"],
            "train_rows": TRAIN_ROWS,
            "big_rows": BIG_ROWS,
        },
        "results": results,
    }


# --- the report ----------------------------------------------------------------------------

ROWS = (
    # label, key, format, lower is better
    ("start to ready (s)", "start_s", "{:.2f}", True),
    ("1-row p50 (ms)", "p50_ms", "{:.2f}", True),
    ("1-row p99 (ms)", "p99_ms", "{:.2f}", True),
    ("8 conn (req/s)", "rps", "{:,.0f}", False),
    ("8 conn p99 (ms)", "loaded_p99_ms", "{:.1f}", True),
    (f"{BIG_ROWS:,} rows (ms)", "big_ms", "{:,.1f}", True),
)
# The landmark column each peer is set against: the same protocol.
PAIRS = (
    ("mlflow REST", "landmark REST", "vs mlflow"),
    ("mlserver OIP", "landmark OIP", "vs mlserver"),
)
TITLES = {
    "landmark REST": "landmark",
    "landmark OIP": "landmark OIP",
    "mlflow REST": "mlflow",
    "mlserver OIP": "mlserver",
}


def ratio(ours: float, theirs: float, lower_is_better: bool) -> float:
    if lower_is_better:
        return theirs / ours if ours > 0 else math.inf
    return ours / theirs if theirs > 0 else math.inf


def print_table(results: dict[str, dict[str, Any]]) -> None:
    systems = [name for name in TITLES if name in results]
    pairs = [(p, o, t) for p, o, t in PAIRS if p in results and o in results]
    head = f"{'':22}" + "".join(f"{TITLES[s]:>14}" for s in systems)
    head += "".join(f"{title:>13}" for _, _, title in pairs)
    print(head)
    for label, key, fmt, lower in ROWS:
        cells = []
        for name in systems:
            same_process = (
                key == "start_s" and name == "landmark OIP" and "landmark REST" in results
            )
            cells.append(f"{'(same)' if same_process else fmt.format(results[name][key]):>14}")
        line = f"{label:22}" + "".join(cells)
        for peer, ours, _ in pairs:
            line += f"{ratio(results[ours][key], results[peer][key], lower):12.1f}x"
        print(line)
    if pairs:
        print(
            "(ratios in landmark's favour: peer time / landmark time, landmark req/s / peer "
            "req/s; landmark REST against mlflow, landmark OIP against mlserver)"
        )
    verdicts = targets(results)
    for text, met, value in verdicts:
        print(f"target: {text} -> {'met' if met else 'missed'} ({value})")
    errors = {name: r["wrk_errors"] for name, r in results.items() if r.get("wrk_errors")}
    if errors:
        print(f"wrk counted errors: {errors}")


def targets(results: dict[str, dict[str, Any]]) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for name in ("landmark REST", "landmark OIP"):
        if name in results:
            p50 = results[name]["p50_ms"]
            out.append(
                (
                    f"1-row p50 <= {TARGET_P50_MS:g} ms, {name}",
                    p50 <= TARGET_P50_MS,
                    f"{p50:.2f} ms",
                )
            )
    if "landmark REST" in results:
        start_s = results["landmark REST"]["start_s"]
        out.append(
            (f"start <= {TARGET_START_S:g} s", start_s <= TARGET_START_S, f"{start_s:.2f} s")
        )
    for (peer, ours, _), goal in zip(PAIRS, (TARGET_VS_MLFLOW, TARGET_VS_MLSERVER), strict=True):
        if peer in results and ours in results:
            x = ratio(results[ours]["rps"], results[peer]["rps"], False)
            tool = peer.split()[0]
            out.append((f"throughput >= {goal:g}x {tool}'s", x >= goal, f"{x:.1f}x"))
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
    print_table(report["results"])
    print(f"(one run: {report['config']['wall_s']:.0f} s on this machine)")
    if load_before > 0.5:
        # The figures share the cores with whatever else runs: say so next to them.
        print(
            f"note: the 1-minute load average was {load_before:.1f} at the start; figures are noisy"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
