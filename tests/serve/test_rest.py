"""``landmark serve`` over REST: real server processes on 127.0.0.1, called with httpx."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import landmark

from ..churn import COLUMNS, frame
from .conftest import Served, run_serve, start


@pytest.fixture(scope="module")
def server(churn_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    where = tmp_path_factory.mktemp("rest")
    s = start([str(churn_dir), "--max-body-size", "200k"], where, where / "serve.log")
    yield s
    s.stop()


def test_predict_answers_what_the_local_model_does(server: Served, churn_dir: Path) -> None:
    local = landmark.load_model(churn_dir)
    x = frame(7, seed=3)
    with server.client() as c:
        r = c.post("/predict", json=x.to_dict(orient="records"))
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == local.predict(x).tolist()
        assert r.headers["x-model-version"] == "local"
        assert r.headers["x-model-name"] == "churn"
        proba = c.post("/predict_proba", json=x.to_dict(orient="list")).json()["predictions"]
        assert np.allclose(proba, local.predict_proba(x))


@pytest.mark.parametrize(
    "shape",
    ["records", "columns", "split", "mlflow_split", "rows", "inputs"],
)
def test_every_json_shape_of_a_table(server: Served, churn_dir: Path, shape: str) -> None:
    x = frame(3, seed=5)
    bodies = {
        "records": x.to_dict(orient="records"),
        "columns": x.to_dict(orient="list"),
        "split": {"columns": COLUMNS, "data": x.to_numpy().tolist()},
        "mlflow_split": {"dataframe_split": {"columns": COLUMNS, "data": x.to_numpy().tolist()}},
        "rows": x.to_numpy().tolist(),
        "inputs": {"inputs": x.to_dict(orient="records")},
    }
    with server.client() as c:
        r = c.post("/predict", json=bodies[shape])
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == landmark.load_model(churn_dir).predict(x).tolist()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ([{"tenure": 1, "charges": 2.0}], 422, ["missing columns", "age", "calls"]),
        ([{"tenure": "x", "charges": 2.0, "age": 1.0, "calls": 1}], 422, ["tenure"]),
        ([{"tenure": 1.5, "charges": 2.0, "age": 1.0, "calls": 1}], 422, ["tenure", "int64"]),
        ([{"tenure": 1, "charges": None, "age": 1.0, "calls": 1}], 422, ["charges"]),
        ([{"tenure": 1, "charges": 2.0, "age": 1.0, "calls": 1, "x": 0}], 422, ["unexpected", "x"]),
        ([], 422, ["no rows"]),
        ({"tenure": [1, 2], "charges": [1.0]}, 422, ["different lengths"]),
        ([[1, 2]], 422, ["row 0 has 2 values", "expected 4"]),
        ("not json", 422, ["not JSON"]),
    ],
)
def test_bad_input_is_a_422_naming_the_problem(
    server: Served, body: Any, status: int, words: list[str]
) -> None:
    with server.client() as c:
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        r = c.post("/predict", content=content)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert "\n" not in message
    for word in words:
        assert word in message


def test_unknown_method_size_limit_and_request_ids(server: Served) -> None:
    with server.client() as c:
        r = c.post("/fit", json=[])
        assert r.status_code == 404
        assert "predict_proba" in r.json()["error"]
        big = [frame(1).to_dict(orient="records")[0]] * 5000  # > 200k of JSON
        r = c.post("/predict", json=big)
        assert r.status_code == 413
        assert "limit" in r.json()["error"]
        r = c.get("/health", headers={"X-Request-Id": "abc-123"})
        assert r.headers["x-request-id"] == "abc-123"
        assert len(c.get("/health").headers["x-request-id"]) == 32


def test_routes_pick_by_path_and_method(server: Served) -> None:
    # The prediction routes are tried first; a route matching path and method still wins
    # over one that matches the path only.
    with server.client() as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert c.get("/metadata").json()["name"] == "churn"
        assert c.get("/predict").status_code == 405  # GET of a method: not allowed
        r = c.post("/health", json=[])  # POST of a name that is no method: rest's 404
        assert r.status_code == 404 and "predict_proba" in r.json()["error"]
        assert c.post("/v2/models/churn/ready", json={}).status_code == 405
        assert c.get("/v2/models/churn").json()["name"] == "churn"


def test_metadata_openapi_and_metrics(server: Served) -> None:
    with server.client() as c:
        meta = c.get("/metadata").json()
        assert meta["name"] == "churn"
        assert meta["adapter"] == "sklearn"
        assert meta["safety"]["safe"] is True
        assert set(meta["methods"]) >= {"predict", "predict_proba"}
        cols = [col["name"] for col in meta["methods"]["predict"]["input"]["columns"]]
        assert cols == COLUMNS
        assert any(r.startswith("scikit-learn") for r in meta["requirements"])
        assert meta["endpoints"]["predict"] == "/predict"

        doc = c.get("/openapi.json").json()
        assert doc["openapi"].startswith("3.")
        schema = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
        records = schema["schema"]["oneOf"][0]
        assert records["items"]["properties"]["tenure"] == {"type": "integer"}
        assert records["items"]["required"] == COLUMNS

        c.post("/predict", json=frame(2).to_dict(orient="records"))
        text = c.get("/metrics").text
    assert (
        'landmark_requests_total{code="200",method="predict",model="churn",version="local"}' in text
    )
    assert "landmark_request_duration_seconds_bucket" in text
    assert 'landmark_model_info{commit="",model="churn",stage="",version="local"} 1.0' in text
    assert "landmark_request_errors_total" in text


def test_access_log_is_json_lines(server: Served) -> None:
    with server.client() as c:
        c.post("/predict", json=frame(1).to_dict(orient="records"), headers={"X-Request-Id": "r1"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = [json.loads(x) for x in server.lines() if x.startswith("{")]
        hits = [r for r in records if r.get("request_id") == "r1"]
        if hits:
            break
        time.sleep(0.05)
    assert hits, server.lines()
    assert hits[0]["path"] == "/predict"
    assert hits[0]["status"] == 200
    assert hits[0]["version"] == "local"
    assert hits[0]["ms"] > 0


def test_client_returns_what_the_local_model_would(server: Served, churn_dir: Path) -> None:
    local = landmark.load_model(churn_dir)
    x = frame(11, seed=9)
    with landmark.Client(server.url) as client:
        got = client.predict(x)
        assert isinstance(got, np.ndarray)
        assert got.dtype == local.predict(x).dtype
        assert np.array_equal(got, local.predict(x))
        assert np.allclose(client.predict_proba(x), local.predict_proba(x))
        assert client.model().version is None
        assert "predict_proba" in dir(client.model())
        with pytest.raises(landmark.SignatureError, match="missing columns"):
            client.predict(x[["tenure"]])
        with pytest.raises(AttributeError, match="no method"):
            client.model().fit  # noqa: B018


def test_token_guards_everything_but_health(
    churn_dir: Path, server_factory: Any, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token-value\n")
    s = server_factory([str(churn_dir), "--token-file", str(token)])
    body = frame(1).to_dict(orient="records")
    with s.client() as c:
        assert c.get("/health").status_code == 200
        assert c.get("/ready").status_code == 200
        assert c.get("/v2/health/ready").status_code == 200
        for path in ("/metadata", "/metrics", "/openapi.json", "/v2/models/churn"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert "bearer token" in r.json()["error"]
        assert c.post("/predict", json=body).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert c.post("/predict", json=body, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret-token-value"}
        assert c.post("/predict", json=body, headers=right).status_code == 200
    with landmark.Client(s.url, token="s3cret-token-value") as client:
        assert client.predict(frame(2)).shape == (2,)


def test_several_models_in_one_process(
    churn_dir: Path, server_factory: Any, tmp_path: Path
) -> None:
    from ..churn import train

    other = tmp_path / "other"
    landmark.save_model(train(c=0.01), other, sample_input=frame(20))
    s = server_factory([str(churn_dir), str(other)])
    x = frame(4, seed=1)
    with s.client() as c:
        r = c.post("/predict", json=x.to_dict(orient="records"))
        assert r.status_code == 404
        assert "churn, other" in r.json()["error"]
        for name, path in (("churn", churn_dir), ("other", other)):
            r = c.post(f"/models/{name}/predict_proba", json=x.to_dict(orient="records"))
            assert r.status_code == 200
            assert r.headers["x-model-name"] == name
            assert np.allclose(r.json()["predictions"], landmark.load_model(path).predict_proba(x))
        models = c.get("/metadata").json()["models"]
        assert [m["name"] for m in models] == ["churn", "other"]
        assert models[1]["endpoints"]["predict"] == "/models/other/predict"
    with landmark.Client(s.url) as client:
        with pytest.raises(landmark.InvalidInput, match="serves 2 models"):
            client.predict(x)
        assert np.array_equal(
            client.model("other").predict(x), landmark.load_model(other).predict(x)
        )


def test_a_model_that_cannot_load_ends_the_process_with_one_line(tmp_path: Path) -> None:
    import cloudpickle  # noqa: F401  (the callable adapter writes cloudpickle)

    def score(x: Any) -> Any:
        return x

    unsafe = tmp_path / "unsafe"
    landmark.save_model(score, unsafe, methods=["__call__"])
    r = run_serve([str(unsafe)], tmp_path)
    assert r.returncode == 11, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "--trust" in lines[0]

    broken = tmp_path / "broken"
    landmark.save_model(score, broken, methods=["__call__"])
    meta = broken / "landmark.yaml"
    meta.write_text(meta.read_text().replace("methods:", "methods: [oops\n"))
    r = run_serve([str(broken), "--trust"], tmp_path)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr

    r = run_serve(["not-a-ref"], tmp_path)
    assert r.returncode == 2
    assert "neither a model directory nor a registry ref" in r.stderr


def test_sigterm_finishes_requests_in_flight(server_factory: Any, tmp_path: Path) -> None:
    slow = tmp_path / "slow"

    def score(x: Any) -> Any:
        import time as t

        t.sleep(1.5)
        return [v * 2 for v in x]

    landmark.save_model(score, slow, sample_input=[1.0, 2.0], methods=["__call__"])
    s = server_factory([str(slow), "--trust"])
    answer: dict[str, Any] = {}

    def call() -> None:
        with s.client() as c:
            r = c.post("/predict", json=[1.0, 2.0, 3.0])
            answer["status"] = r.status_code
            answer["body"] = r.json()

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.5)  # the request is in the model now
    code = s.stop(signal.SIGTERM)
    t.join(10)
    assert answer == {"status": 200, "body": {"predictions": [2.0, 4.0, 6.0]}}
    assert code == 0


def test_workers_share_one_port(churn_dir: Path, server_factory: Any) -> None:
    s = server_factory([str(churn_dir), "--workers", "2"])
    x = frame(2)
    with s.client() as c:
        for _ in range(20):
            r = c.post(
                "/predict", json=x.to_dict(orient="records"), headers={"Connection": "close"}
            )
            assert r.status_code == 200
    assert s.stop() == 0


def test_cuda_device_serves_torch_models_where_a_gpu_is(
    tmp_path: Path, server_factory: Any
) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine (the device check runs it where one is)")
    net = torch.nn.Sequential(torch.nn.Linear(4, 2))
    x = torch.randn(3, 4)
    path = tmp_path / "net"
    landmark.save_model(net, path, sample_input=x)
    s = server_factory([str(path), "--device", "cuda"])
    with s.client() as c:
        r = c.post("/predict", json=x.tolist())
        assert r.status_code == 200, r.text
        assert c.get("/metadata").json()["device"] == "cuda"
    with torch.no_grad():
        assert np.allclose(r.json()["predictions"], net(x).numpy(), atol=1e-5)


def test_cuda_device_is_refused_clearly_without_a_gpu(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    net = torch.nn.Sequential(torch.nn.Linear(4, 2))
    path = tmp_path / "net"
    landmark.save_model(net, path, sample_input=torch.randn(3, 4))
    r = run_serve([str(path), "--device", "cuda"], tmp_path)
    assert r.returncode == 3
    assert "no CUDA device" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
