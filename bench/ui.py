#!/usr/bin/env python3
"""Web UI benchmark: ``landmark ui`` pages against MLflow's UI on the same data.

Run it with ``.venv/bin/python bench/ui.py`` after ``scripts/bootstrap`` (mlflow comes from
``.venv-mlflow``). Plain stdlib.

What it measures
----------------
Three registries, built in seconds (``bench/registry.py``'s builder: commits through
``git fast-import``, annotated tags packed directly):

* ``repo-3k``: 200 models x 5 versions, each registered and assigned to ``dev`` and ``prod``
  (3,000 tags) -- the models page (``/``, 50 rows a page; sorted by last change; a search).
* ``repo-20k``: one model with 20,000 versions, each assigned to ``dev``, every 1,000th to
  ``prod`` (40,020 tags) -- its page (``/models/model-000``: 20 versions and 50 events a
  page), a page deep in the versions, and one version picked by its deep link.
* ``repo-cmp``: one model with 10 versions, each commit holding ``dvc.yaml`` metrics and
  params -- ``/compare`` of the 10 versions.

Each page runs in a real ``landmark ui`` server on 127.0.0.1 (one per repository), asked over
HTTP by this script. Figures: **server** is the app's own time until the response starts
(its ``Server-Timing`` header), **wall** the client's time for the whole response, **cold** the
first request after start (the registry read and folded), **warm** the median of
``--repeat`` more (the parsed state is cached per refs stamp), **size** the body in bytes.
The JSON twin of each page is timed too.

MLflow (``--no-peer`` skips it): the same data registered through its Python API
(``MlflowClient`` on a SQLite store: 200 models x 5 versions with ``dev``/``prod`` aliases; one
model with ``--mlflow-versions`` versions, default 20,000; 10 runs with the same metrics and
params), then ``mlflow server`` on that store, timed (wall) on the REST calls its UI pages
make: the models list (``registered-models/search``, 25 a page), the model page's
``model-versions/search`` (25 a page, and every version at once: MLflow's registry pages
ask for all of a model's versions), and for compare, ``runs/get`` plus each metric's
``metrics/get-history`` for every run. Ratios are MLflow wall / landmark wall.

Targets: models page <= 100 ms, a 20,000-version model <= 200 ms, compare of 10 <= 200 ms
(landmark's warm server time). The exit status is 0 whatever the figures; 1 when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import harness
import registry as regbench
from harness import CommandFailed, log, run, run_in_workdir

REPO_ROOT = Path(__file__).resolve().parent.parent
LANDMARK = REPO_ROOT / ".venv" / "bin" / "landmark"
MLFLOW_PY = REPO_ROOT / ".venv-mlflow" / "bin" / "python"
MLFLOW = REPO_ROOT / ".venv-mlflow" / "bin" / "mlflow"
BIG = regbench.RepoSpec("repo-20k", models=1, versions=20_000, prod_every=1_000)
TARGETS_MS = {"models page": 100.0, "20,000-version model": 200.0, "compare 10 versions": 200.0}


# -- the compare repository -----------------------------------------------------------------
def build_compare_repo(path: Path, env: dict[str, str], versions: int = 10) -> None:
    """``churn`` at ``versions`` commits, each with its metrics and params in dvc.yaml."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    regbench.git(path, env, "init", "-q", "-b", "main")
    ident = f"{harness.IDENTITY_NAME} <{harness.IDENTITY_EMAIL}>"
    dvc_yaml = (
        "artifacts:\n  churn:\n    type: model\n    path: models/churn.pkl\n"
        "metrics:\n  - metrics.json\nparams:\n  - params.yaml\n"
    )
    stream = [b"feature done\n"]
    for i in range(1, versions + 1):
        when = f"{ident} {regbench.EPOCH + i * 10} +0000"
        metrics = json.dumps({"accuracy": 0.7 + i / 100, "loss": 0.5 - i / 50, "auc": 0.8})
        params = f"C: {1.0 / i}\npenalty: l2\nmax_iter: {100 * i}\n"
        stream.append(
            f"commit refs/heads/main\nmark :{i}\nauthor {when}\ncommitter {when}\n".encode()
        )
        stream.append(regbench._data(f"Train churn {i}"))
        for name, text in (
            ("dvc.yaml", dvc_yaml),
            ("metrics.json", metrics),
            ("params.yaml", params),
        ):
            stream += [f"M 100644 inline {name}\n".encode(), regbench._data(text)]
    stream.append(b"done\n")
    marks = path / ".git" / "bench-marks"
    regbench.git(
        path, env, "fast-import", "--quiet", "--done", f"--export-marks={marks}",
        stdin=b"".join(stream),
    )  # fmt: skip
    commits = dict(line.split() for line in marks.read_text().splitlines())
    for i in range(1, versions + 1):
        tag_env = {**env, "GIT_COMMITTER_DATE": f"{regbench.EPOCH + i * 10 + 5} +0000"}
        run(
            ["git", "tag", "-a", f"churn@v0.0.{i}", commits[f":{i}"], "-m",
             f"Registering artifact churn version v0.0.{i}"],
            cwd=path, env=tag_env,
        )  # fmt: skip
    regbench.git(path, env, "reset", "-q", "--hard")


# -- timing ---------------------------------------------------------------------------------
def fetch(url: str, accept: str = "text/html") -> tuple[float, float | None, int, int]:
    """(wall ms, server ms from Server-Timing, status, body bytes) of one GET."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            body = response.read()
            status, timing = response.status, response.headers.get("server-timing")
    except urllib.error.HTTPError as e:
        body, status, timing = e.read(), e.code, e.headers.get("server-timing")
    wall = (time.perf_counter() - started) * 1000
    server = float(timing.split("dur=")[1]) if timing and "dur=" in timing else None
    return wall, server, status, len(body)


def measure(url: str, repeat: int, accept: str = "text/html") -> dict[str, Any]:
    cold = fetch(url, accept)
    if cold[2] != 200:
        raise RuntimeError(f"GET {url} answered {cold[2]}")
    warm = [fetch(url, accept) for _ in range(repeat)]
    return {
        "cold_server_ms": cold[1],
        "cold_wall_ms": cold[0],
        "server_ms": statistics.median(w[1] or 0.0 for w in warm),
        "wall_ms": statistics.median(w[0] for w in warm),
        "bytes": warm[-1][3],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{url} never answered: {log_path.read_text()[-2000:]}"
                ) from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def with_landmark(
    repo: Path, env: dict[str, str], workdir: Path, body: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    log_path = workdir / f"ui-{repo.name}.log"
    port = free_port()
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [str(LANDMARK), "ui", "-r", str(repo), "--port", str(port), "--interval", "60"],
            cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        # /stamp reads no registry: the first page request below is the cold one.
        wait_for(f"http://127.0.0.1:{port}/stamp", proc, log_path)
        return body(f"http://127.0.0.1:{port}")
    finally:
        stop(proc)


# -- MLflow ---------------------------------------------------------------------------------
MLFLOW_FILL = r"""
import sys, time
from mlflow import MlflowClient
db, big = sys.argv[1], int(sys.argv[2])
uri = "sqlite:///" + db
c = MlflowClient(tracking_uri=uri, registry_uri=uri)
for m in range(200):
    name = f"model-{m:03d}"
    c.create_registered_model(name)
    for v in range(1, 6):
        c.create_model_version(name, source=f"/models/{name}/{v}", run_id=None)
    c.set_registered_model_alias(name, "dev", "5")
    c.set_registered_model_alias(name, "prod", "5")
c.create_registered_model("model-000-big")
started = time.time()
for v in range(1, big + 1):
    c.create_model_version("model-000-big", source=f"/models/big/{v}", run_id=None)
    if v % 2000 == 0:
        print(f"{v} versions, {time.time() - started:.0f} s", file=sys.stderr, flush=True)
exp = c.create_experiment("churn")
runs = []
for i in range(1, 11):
    r = c.create_run(exp)
    for k, val in (("accuracy", 0.7 + i / 100), ("loss", 0.5 - i / 50), ("auc", 0.8)):
        c.log_metric(r.info.run_id, k, val)
    for k, val in (("C", 1.0 / i), ("penalty", "l2"), ("max_iter", 100 * i)):
        c.log_param(r.info.run_id, k, str(val))
    runs.append(r.info.run_id)
print(" ".join(runs))
"""


def mlflow_figures(
    workdir: Path, env: dict[str, str], versions: int, repeat: int
) -> dict[str, Any]:
    db = workdir / "mlflow.sqlite"
    log(f"mlflow: registering 1,000 + {versions:,} versions through its API (minutes)")
    started = time.perf_counter()
    runs = run([str(MLFLOW_PY), "-c", MLFLOW_FILL, str(db), str(versions)], cwd=workdir, env=env)
    run_ids = runs.split()
    log(f"mlflow: filled in {time.perf_counter() - started:.0f} s; starting its server")
    port = free_port()
    log_path = workdir / "mlflow-server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [str(MLFLOW), "server", "--backend-store-uri", f"sqlite:///{db}", "--host",
             "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow"
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc, log_path)
        big = "filter=name%3D%27model-000-big%27"
        out = {
            "models page": measure(f"{base}/registered-models/search?max_results=25", repeat, "application/json"),
            "20,000-version model": measure(f"{base}/model-versions/search?{big}&max_results=25", repeat, "application/json"),
            "20,000-version model, all versions": measure(
                f"{base}/model-versions/search?{big}&max_results={versions}", max(1, repeat // 3), "application/json"
            ),
        }  # fmt: skip

        def compare_once() -> float:
            t0 = time.perf_counter()
            for rid in run_ids:
                fetch(f"{base}/runs/get?run_id={rid}", "application/json")
                for key in ("accuracy", "loss", "auc"):
                    fetch(
                        f"{base}/metrics/get-history?run_id={rid}&metric_key={key}",
                        "application/json",
                    )
            return (time.perf_counter() - t0) * 1000

        cold = compare_once()
        warm = [compare_once() for _ in range(repeat)]
        out["compare 10 versions"] = {"cold_wall_ms": cold, "wall_ms": statistics.median(warm)}
        return out
    finally:
        stop(proc)


# -- the benchmark --------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=9, help="warm requests per page (median)")
    p.add_argument("--no-peer", action="store_true", help="skip MLflow")
    p.add_argument(
        "--mlflow-versions", type=int, default=20_000, help="versions of MLflow's big model"
    )
    p.add_argument("--workdir", type=Path, help="work here (kept) instead of a temp folder")
    p.add_argument("--keep", action="store_true", help="keep the temp folder")
    p.add_argument("--json-out", type=Path, help="also write the figures as JSON")
    return p.parse_args(argv)


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if not LANDMARK.is_file():
        raise harness.UsageError(f"{LANDMARK} not found")
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = harness.isolated_env(home, os.environ, ("GIT_", "LANDMARK_", "MLFLOW_"))
    small, big, cmp_repo = workdir / "repo-3k", workdir / "repo-20k", workdir / "repo-cmp"
    log(f"building repo-3k ({regbench.build_repo(small, regbench.SMALL, env):.1f} s)")
    log(f"building repo-20k ({regbench.build_repo(big, BIG, env):.1f} s)")
    build_compare_repo(cmp_repo, env)
    ours: dict[str, dict[str, Any]] = {}
    r = args.repeat

    def models(url: str) -> dict[str, Any]:
        return {
            "models page": measure(f"{url}/", r),
            "models page, JSON": measure(f"{url}/", r, "application/json"),
            "models page, sorted by last change": measure(f"{url}/?sort=-updated", r),
            "models page, search": measure(f"{url}/?q=model-04", r),
        }

    def model(url: str) -> dict[str, Any]:
        page = f"{url}/models/model-000"
        return {
            "20,000-version model": measure(page, r),
            "20,000-version model, JSON": measure(page, r, "application/json"),
            "20,000-version model, versions page 500": measure(f"{page}?vafter=v0.0.10000", r),
            "20,000-version model, one version": measure(f"{page}?version=v0.0.123", r),
        }

    def compare(url: str) -> dict[str, Any]:
        refs = ",".join(f"churn@v0.0.{i}" for i in range(1, 11))
        return {
            "compare 10 versions": measure(f"{url}/compare?refs={refs}", r),
            "compare 10 versions, JSON": measure(
                f"{url}/compare?refs={refs}", r, "application/json"
            ),
        }

    log("timing landmark ui")
    ours |= with_landmark(small, env, workdir, models)
    ours |= with_landmark(big, env, workdir, model)
    ours |= with_landmark(cmp_repo, env, workdir, compare)
    peer: dict[str, Any] = {}
    if not args.no_peer:
        if not MLFLOW.is_file():
            raise harness.UsageError(f"{MLFLOW} not found")
        peer = mlflow_figures(workdir, env, args.mlflow_versions, r)
    report(ours, peer)
    doc = {"landmark": ours, "mlflow": peer, "targets_ms": TARGETS_MS}
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def report(ours: dict[str, Any], peer: dict[str, Any]) -> None:
    head = f"{'page':44} {'server':>8} {'cold':>8} {'wall':>8} {'bytes':>9} {'mlflow':>9} {'ratio':>7}  target"
    print(head)
    print("-" * len(head))
    for name, f in ours.items():
        theirs = peer.get(name, {}).get("wall_ms")
        ratio = f"{theirs / f['wall_ms']:.1f}x" if theirs else ""
        target = TARGETS_MS.get(name)
        verdict = (
            ""
            if target is None
            else ("ok" if f["server_ms"] <= target else "MISSED") + f" (<= {target:.0f})"
        )
        print(
            f"{name:44} {_ms(f['server_ms']):>8} {_ms(f['cold_server_ms']):>8} "
            f"{_ms(f['wall_ms']):>8} {f['bytes']:>9} {_ms(theirs):>9} {ratio:>7}  {verdict}"
        )
    for name, f in peer.items():
        if name not in ours:
            print(
                f"{'mlflow: ' + name:44} {'':>8} {'':>8} {'':>8} {f.get('bytes', 0):>9} {_ms(f['wall_ms']):>9}"
            )
    print("server: landmark's Server-Timing (median, warm); cold: the first request's; wall and")
    print("mlflow: client-side medians in ms; ratio: mlflow wall / landmark wall.")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = run_in_workdir(args, "landmark-bench-ui-", benchmark, (RuntimeError, CommandFailed))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
