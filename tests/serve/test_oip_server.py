"""``landmark serve`` over the Open Inference Protocol v2: real servers on 127.0.0.1, called
with ``tritonclient.http`` (JSON and binary tensors) and with raw httpx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import landmark

from ..churn import COLUMNS, frame
from .conftest import Served, start

httpclient = pytest.importorskip("tritonclient.http")

DATATYPES = {"tenure": "INT64", "charges": "FP64", "age": "FP64", "calls": "INT64"}


@pytest.fixture(scope="module")
def server(churn_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    where = tmp_path_factory.mktemp("oip")
    s = start([str(churn_dir)], where, where / "serve.log")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def local(churn_dir: Path) -> Any:
    return landmark.load_model(churn_dir)


@pytest.fixture
def triton(server: Served) -> Any:
    client = httpclient.InferenceServerClient(server.url.removeprefix("http://"))
    yield client
    client.close()


def _inputs(df: Any, *, binary: bool) -> list[Any]:
    inputs = []
    for name in COLUMNS:
        values = df[name].to_numpy()
        tensor = httpclient.InferInput(name, list(values.shape), DATATYPES[name])
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    return inputs


def _body(df: Any, **extra: Any) -> dict[str, Any]:
    """An OIP JSON request with one input per column."""
    return {
        "inputs": [
            {
                "name": name,
                "shape": [len(df)],
                "datatype": DATATYPES[name],
                "data": df[name].tolist(),
            }
            for name in COLUMNS
        ],
        **extra,
    }


# -- tritonclient ------------------------------------------------------------------------------


def test_tritonclient_health_and_metadata(triton: Any) -> None:
    assert triton.is_server_live()
    assert triton.is_server_ready()
    assert triton.is_model_ready("churn")
    assert triton.is_model_ready("churn", model_version="local")
    assert not triton.is_model_ready("nope")

    server_meta = triton.get_server_metadata()
    assert server_meta["name"] == "landmark"
    assert server_meta["version"] == landmark.__version__
    assert "binary_data" in server_meta["extensions"]

    meta = triton.get_model_metadata("churn")
    assert meta["name"] == "churn"
    assert "local" in meta["versions"]
    assert meta["platform"].startswith("sklearn")
    assert [(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]] == [
        (name, DATATYPES[name], [-1]) for name in COLUMNS
    ]
    assert meta["parameters"]["content_type"] == "pd"
    assert [t["name"] for t in meta["outputs"]] == ["predict"]
    assert meta["outputs"][0]["shape"][0] == -1
    assert triton.get_model_metadata("churn", model_version="local") == meta


@pytest.mark.parametrize("binary_in", [False, True], ids=["json-in", "binary-in"])
@pytest.mark.parametrize("binary_out", [False, True], ids=["json-out", "binary-out"])
def test_tritonclient_infer_answers_what_the_local_model_does(
    triton: Any, local: Any, binary_in: bool, binary_out: bool
) -> None:
    x = frame(9, seed=4)
    result = triton.infer(
        "churn",
        _inputs(x, binary=binary_in),
        outputs=[httpclient.InferRequestedOutput("predict", binary_data=binary_out)],
        request_id="req-1",
        parameters={"content_type": "pd"},
    )
    got = result.as_numpy("predict")
    expected = local.predict(x)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)
    response = result.get_response()
    assert response["model_name"] == "churn"
    assert response["model_version"] == "local"
    assert response["id"] == "req-1"
    out = response["outputs"][0]
    assert out["name"] == "predict"
    assert out["shape"] == [9]
    assert ("binary_data_size" in out.get("parameters", {})) is binary_out
    assert ("data" in out) is not binary_out


def test_tritonclient_without_request_parameters_uses_the_signature(
    triton: Any, local: Any
) -> None:
    x = frame(5, seed=8)
    # no outputs named: tritonclient asks for every output in binary
    result = triton.infer("churn", _inputs(x, binary=True), model_version="local")
    assert np.array_equal(result.as_numpy("predict"), local.predict(x))


def test_tritonclient_errors_name_the_problem(triton: Any) -> None:
    from tritonclient.utils import InferenceServerException

    x = frame(3)
    with pytest.raises(InferenceServerException, match="not served here"):
        triton.infer("churn", _inputs(x, binary=False), model_version="v9.9.9")
    with pytest.raises(InferenceServerException, match='missing column "calls"'):
        triton.infer("churn", _inputs(x, binary=True)[:3])


# -- raw HTTP ----------------------------------------------------------------------------------


def test_a_request_without_content_type_works(server: Served, local: Any) -> None:
    x = frame(4, seed=2)
    with server.client() as c:
        r = c.post("/v2/models/churn/infer", content=json.dumps(_body(x, id="abc")).encode())
    assert r.status_code == 200, r.text
    assert "content-type" not in {k.lower() for k in r.request.headers}
    doc = r.json()
    assert doc["id"] == "abc"
    assert doc["model_version"] == "local"
    assert doc["outputs"][0]["data"] == local.predict(x).tolist()
    assert r.headers["x-model-version"] == "local"


def test_binary_request_and_binary_output_over_raw_http(server: Served, local: Any) -> None:
    x = frame(6, seed=7)
    header: dict[str, Any] = {"inputs": [], "outputs": [{"name": "predict"}]}
    header["parameters"] = {"binary_data_output": True}
    chunks = []
    for name in COLUMNS:
        raw = x[name].to_numpy().tobytes()
        header["inputs"].append(
            {
                "name": name,
                "shape": [len(x)],
                "datatype": DATATYPES[name],
                "parameters": {"binary_data_size": len(raw)},
            }
        )
        chunks.append(raw)
    head = json.dumps(header).encode()
    with server.client() as c:
        r = c.post(
            "/v2/models/churn/infer",
            content=head + b"".join(chunks),
            headers={"Inference-Header-Content-Length": str(len(head))},
        )
    assert r.status_code == 200, r.text
    size = int(r.headers["inference-header-content-length"])
    doc = json.loads(r.content[:size])
    out = doc["outputs"][0]
    assert out["parameters"]["binary_data_size"] == len(r.content) - size
    dtype = {"INT64": "<i8", "INT32": "<i4", "FP64": "<f8", "BOOL": "?"}[out["datatype"]]
    got = np.frombuffer(r.content[size:], dtype=dtype)
    assert np.array_equal(got, local.predict(x))


def test_version_segment_takes_the_served_label(server: Served, local: Any) -> None:
    x = frame(3, seed=1)
    with server.client() as c:
        r = c.post("/v2/models/churn/versions/local/infer", json=_body(x))
        assert r.status_code == 200, r.text
        assert r.json()["outputs"][0]["data"] == local.predict(x).tolist()

        r = c.post("/v2/models/churn/versions/v1.0.0/infer", json=_body(x))
        assert r.status_code == 404
        message = r.json()["error"]
        assert "v1.0.0" in message and "serving local" in message

        meta = c.get("/v2/models/churn/versions/local")
        assert meta.status_code == 200
        assert meta.json()["name"] == "churn"
        assert [t["name"] for t in meta.json()["inputs"]] == COLUMNS
        assert c.get("/v2/models/churn/versions/nope").status_code == 404
        assert c.get("/v2/models/churn/versions/local/ready").json() == {
            "name": "churn",
            "ready": True,
        }
        assert c.get("/v2/models/churn/versions/nope/ready").status_code == 404


def test_bad_requests_are_422_naming_the_input(server: Served) -> None:
    x = frame(3)
    wrong = _body(x)
    wrong["inputs"][1] = {"name": "charges", "shape": [3], "datatype": "BYTES", "data": ["a"] * 3}
    fractional = _body(x)
    fractional["inputs"][0] = {
        "name": "tenure",
        "shape": [3],
        "datatype": "FP64",
        "data": [1.5, 2.0, 3.0],
    }
    with server.client() as c:
        r = c.post("/v2/models/churn/infer", json=wrong)
        assert r.status_code == 422, r.text
        message = r.json()["error"]
        assert '"charges"' in message and "BYTES" in message and "FP64" in message

        r = c.post("/v2/models/churn/infer", json=fractional)
        assert r.status_code == 422, r.text
        assert '"tenure"' in r.json()["error"]

        body = json.dumps(_body(x)).encode()
        for bad in ("abc", "-1", str(len(body) + 10), "0"):
            r = c.post(
                "/v2/models/churn/infer",
                content=body,
                headers={"Inference-Header-Content-Length": bad},
            )
            assert r.status_code == 422, (bad, r.text)
            assert "Inference-Header-Content-Length" in r.json()["error"]

        r = c.post("/v2/models/churn/infer", content=b"{not json")
        assert r.status_code == 422
        assert "not valid JSON" in r.json()["error"]

        r = c.post("/v2/models/churn/infer", json={"inputs": []})
        assert r.status_code == 422
        assert "inputs" in r.json()["error"]


def test_unknown_model_is_404(server: Served) -> None:
    with server.client() as c:
        for method, path in (
            ("GET", "/v2/models/nope"),
            ("GET", "/v2/models/nope/ready"),
            ("GET", "/v2/models/nope/versions/local"),
            ("POST", "/v2/models/nope/infer"),
        ):
            r = c.request(method, path, json=_body(frame(1)) if method == "POST" else None)
            assert r.status_code == 404, (path, r.text)
            assert "nope" in r.json()["error"]


def test_server_and_readiness_endpoints(server: Served) -> None:
    with server.client() as c:
        v2 = c.get("/v2").json()
        assert v2["name"] == "landmark" and "binary_data" in v2["extensions"]
        assert c.get("/v2/health/live").json() == {"live": True}
        r = c.get("/v2/health/ready")
        assert r.status_code == 200 and r.json() == {"ready": True}
        r = c.get("/v2/models/churn/ready")
        assert r.status_code == 200 and r.json() == {"name": "churn", "ready": True}


# -- a registry ref: the version segment takes the version and the stage ---------------------


def test_registry_ref_version_segment_takes_version_stage_and_latest(
    repo: Any, tmp_path: Path, server_factory: Any
) -> None:
    from ..churn import train

    model = train()
    logged = landmark.log_model(
        model, "churn", sample_input=frame(20), commit=True, register=True, repo=repo.path
    )
    assert logged.version_name == "v0.0.1"
    repo.tick()
    landmark.assign("churn", "prod", version="v0.0.1", repo=repo.path)
    s = server_factory(["churn#prod"], cwd=repo.path)
    x = frame(5, seed=6)
    expected = model.predict(x).tolist()
    with s.client() as c:
        for version in ("prod", "v0.0.1", "0.0.1"):
            r = c.post(f"/v2/models/churn/versions/{version}/infer", json=_body(x))
            assert r.status_code == 200, (version, r.text)
            doc = r.json()
            assert doc["model_version"] == "v0.0.1"
            assert doc["outputs"][0]["data"] == expected
            assert c.get(f"/v2/models/churn/versions/{version}").status_code == 200
            assert c.get(f"/v2/models/churn/versions/{version}/ready").status_code == 200
        meta = c.get("/v2/models/churn").json()
        assert {"prod", "v0.0.1", "0.0.1"} <= set(meta["versions"])
        r = c.post("/v2/models/churn/versions/staging/infer", json=_body(x))
        assert r.status_code == 404
        assert "serving v0.0.1, stage prod" in r.json()["error"]
    triton = httpclient.InferenceServerClient(s.url.removeprefix("http://"))
    try:
        result = triton.infer("churn", _inputs(x, binary=True), model_version="prod")
        assert result.as_numpy("predict").tolist() == expected
        assert result.get_response()["model_version"] == "v0.0.1"
    finally:
        triton.close()

    newest = server_factory(["churn@latest"], cwd=repo.path)
    commit = repo.git("rev-list", "-n1", "churn@v0.0.1")
    with newest.client() as c:
        for version in ("latest", "v0.0.1", commit, commit[:7]):
            r = c.post(f"/v2/models/churn/versions/{version}/infer", json=_body(x))
            assert r.status_code == 200, (version, r.text)
            assert r.json()["outputs"][0]["data"] == expected
        r = c.post("/v2/models/churn/versions/prod/infer", json=_body(x))
        assert r.status_code == 404, r.text
