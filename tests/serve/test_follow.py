"""Serving by stage: --follow swaps versions with no failed request; --shadow; killed loads."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import landmark

from ..churn import frame, train
from ..conftest import GitRepo
from .conftest import LANDMARK


def _log(repo: GitRepo, model: Any, version: str, track: bool = True) -> None:
    repo.tick()
    landmark.log_model(
        model,
        "churn",
        track=track,
        sample_input=frame(20),
        commit=True,
        register=version,
        repo=repo.path,
        message=f"churn {version}",
    )


def _flipped() -> Any:
    """A model that answers the opposite of train()'s on most rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = frame(400)
    y = ((x.tenure / 72 + x.calls / 10 - x.charges / 140) <= 0.6).astype("int64")
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)


@pytest.fixture
def registry(repo: GitRepo) -> GitRepo:
    _log(repo, train(), "v1.0.0")
    _log(repo, _flipped(), "v2.0.0")
    repo.tick()
    landmark.assign("churn", "prod", version="v1.0.0", repo=repo.path)
    return repo


def _wait(check: Any, timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


def test_follow_swaps_to_the_new_version_with_no_failed_request(
    registry: GitRepo, server_factory: Any
) -> None:
    s = server_factory(["churn#prod", "--follow", "--interval", "0.2"], cwd=registry.path)
    x = frame(5, seed=7)
    body = x.to_dict(orient="records")
    seen: list[tuple[int, str | None, Any]] = []
    stop = threading.Event()

    def client() -> None:
        with s.client() as c:
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    r = c.post("/predict", json=body)
                    seen.append((r.status_code, r.headers.get("x-model-version"), r.json()))
                except httpx.HTTPError as e:
                    seen.append((0, None, str(e)))

    t = threading.Thread(target=client)
    t.start()
    try:
        _wait(lambda: len(seen) > 20, what="first answers")
        registry.tick()
        landmark.assign("churn", "prod", version="v2.0.0", repo=registry.path)
        _wait(lambda: any(v == "v2.0.0" for _, v, _ in seen), what="the swap")
        count = len(seen)
        _wait(lambda: len(seen) > count + 20, what="answers after the swap")
    finally:
        stop.set()
        t.join(30)
    assert all(status == 200 for status, _, _ in seen), [x for x in seen if x[0] != 200][:3]
    versions = [v for _, v, _ in seen]
    first_new = versions.index("v2.0.0")
    assert set(versions[:first_new]) == {"v1.0.0"} and set(versions[first_new:]) == {"v2.0.0"}
    old = landmark.load_model(train_dir(registry, "v1.0.0")).predict(x).tolist()
    new = landmark.load_model(train_dir(registry, "v2.0.0")).predict(x).tolist()
    assert old != new
    assert seen[0][2]["predictions"] == old and seen[-1][2]["predictions"] == new
    with s.client() as c:
        meta = c.get("/metadata").json()
        metrics = c.get("/metrics").text
    assert meta["version"] == "v2.0.0" and meta["stage"] == "prod"
    assert meta["commit"] == registry.git("rev-list", "-n1", "churn@v2.0.0").strip()
    info = [line for line in metrics.splitlines() if line.startswith("landmark_model_info{")]
    assert len(info) == 1 and 'version="v2.0.0"} 1.0' in info[0] and 'stage="prod"' in info[0]
    events = [json.loads(line) for line in s.lines() if '"event"' in line]
    assert [e["event"] for e in events if e.get("event") in ("loaded", "swapped")] == [
        "loaded",
        "swapped",
    ]


def train_dir(repo: GitRepo, version: str) -> Path:
    from landmark.models.api import fetch

    return fetch(f"churn@{version}", repo.path)


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    registry: GitRepo, server_factory: Any
) -> None:
    def score(x: Any) -> Any:  # cloudpickle: refused without --trust
        return [0] * len(x)

    _log(registry, score, "v3.0.0")
    s = server_factory(["churn#prod", "--follow", "--interval", "0.2"], cwd=registry.path)
    registry.tick()
    landmark.assign("churn", "prod", version="v3.0.0", repo=registry.path)
    with s.client() as c:
        note = _wait(lambda: c.get("/metadata").json().get("note"), what="the failed load's report")
        assert "v3.0.0 failed to load" in note and "--trust" in note
        r = c.post("/predict", json=frame(2).to_dict(orient="records"))
        assert r.status_code == 200 and r.headers["x-model-version"] == "v1.0.0"
        assert c.get("/ready").status_code == 200
        assert 'outcome="failed"' in c.get("/metrics").text


def test_unassigned_stage_keeps_serving_or_marks_not_ready(
    registry: GitRepo, server_factory: Any
) -> None:
    registry.tick()
    landmark.assign("churn", "staging", version="v2.0.0", repo=registry.path)
    keep = server_factory(["churn#staging", "--follow", "--interval", "0.2"], cwd=registry.path)
    strict = server_factory(
        ["churn#staging", "--follow", "--interval", "0.2", "--unready-when-unassigned"],
        cwd=registry.path,
    )
    registry.tick()
    landmark.unassign("churn", "staging", version="v2.0.0", repo=registry.path)
    body = frame(1).to_dict(orient="records")
    with strict.client() as c:
        _wait(lambda: c.get("/ready").status_code == 503, what="not ready")
        r = c.post("/predict", json=body)
        assert r.status_code == 503 and "staging" in r.json()["error"]
    with keep.client() as c:
        _wait(lambda: c.get("/metadata").json().get("note"), what="the follower's note")
        assert c.get("/ready").status_code == 200
        assert c.post("/predict", json=body).headers["x-model-version"] == "v2.0.0"
    registry.tick()
    landmark.assign("churn", "staging", version="v2.0.0", repo=registry.path)
    with strict.client() as c:
        _wait(lambda: c.get("/ready").status_code == 200, what="ready again")


def test_follow_a_remote_url(repo: GitRepo, server_factory: Any, tmp_path: Path) -> None:
    # Models committed to git itself: a URL's clone has all it needs.
    _log(repo, train(), "v1.0.0", track=False)
    _log(repo, _flipped(), "v2.0.0", track=False)
    repo.tick()
    landmark.assign("churn", "prod", version="v1.0.0", repo=repo.path)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("push", "-q", str(remote), "HEAD:refs/heads/main", "--tags")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    s = server_factory(
        ["churn#prod", "-r", f"file://{remote}", "--follow", "--interval", "0.3"], cwd=elsewhere
    )
    with s.client() as c:
        assert c.get("/metadata").json()["version"] == "v1.0.0"
        repo.tick()
        landmark.assign("churn", "prod", version="v2.0.0", repo=repo.path)
        repo.git("push", "-q", str(remote), "--tags")
        _wait(lambda: c.get("/metadata").json()["version"] == "v2.0.0", what="the remote's move")


def test_shadow_runs_off_the_response_path_and_records_disagreement(
    registry: GitRepo, server_factory: Any, tmp_path: Path
) -> None:
    registry.tick()
    landmark.assign("churn", "shadow", version="v2.0.0", repo=registry.path)
    log = tmp_path / "predictions.jsonl"
    s = server_factory(
        ["churn#prod", "--shadow", "churn#shadow", "--log-predictions", str(log)],
        cwd=registry.path,
    )
    x = frame(6, seed=11)
    with s.client() as c:
        for i in range(5):
            r = c.post(
                "/predict", json=x.to_dict(orient="records"), headers={"X-Request-Id": f"q{i}"}
            )
            assert r.headers["x-model-version"] == "v1.0.0"
        meta = c.get("/metadata").json()
        assert meta["shadow"]["version"] == "v2.0.0"
        text = _wait(
            lambda: (t := c.get("/metrics").text) and "landmark_shadow_rows_total{" in t and t,
            what="shadow metrics",
        )
        _wait(lambda: _value(c.get("/metrics").text, "landmark_shadow_rows_total") == 30)
        text = c.get("/metrics").text
    prod = landmark.load_model(train_dir(registry, "v1.0.0")).predict(x)
    shadow = landmark.load_model(train_dir(registry, "v2.0.0")).predict(x)
    differ = int((prod != shadow).sum())
    assert differ > 0
    assert _value(text, "landmark_shadow_disagreements_total") == 5 * differ
    assert "landmark_shadow_duration_seconds_count" in text
    records = _wait(lambda: len(log.read_text().splitlines()) == 5 and log.read_text().splitlines())
    first = json.loads(records[0])
    assert first["version"] == "v1.0.0" and first["shadow_version"] == "v2.0.0"
    assert first["prediction"] == prod.tolist() and first["shadow_prediction"] == shadow.tolist()
    assert first["disagreements"] == differ
    assert first["inputs"][0]["tenure"] == int(x.tenure[0])
    assert {json.loads(r)["request_id"] for r in records} == {f"q{i}" for i in range(5)}


def _value(text: str, name: str) -> float:
    m = re.search(rf"^{name}{{[^}}]*}} ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else -1.0


SLOW = """
import time

class Slow:
    def __call__(self, x):
        return x

    def __setstate__(self, state):
        time.sleep(60)  # loading takes a minute
"""


def test_a_model_killed_mid_load_never_serves(tmp_path: Path) -> None:
    import types

    module = types.ModuleType("slow_model_for_test")
    exec(SLOW, module.__dict__)
    model = module.Slow()
    model.__dict__["x"] = 1  # a state, so that __setstate__ runs when loaded
    path = tmp_path / "slow"
    landmark.save_model(model, path, sample_input=[1.0], methods=["__call__"])
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*LANDMARK, "serve", str(path), "--trust", "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        time.sleep(4)  # well into the load
        assert proc.poll() is None
        assert "listening on" not in log.read_text()  # nothing answers while loading
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert "listening on" not in log.read_text()
    assert proc.returncode == -signal.SIGKILL
