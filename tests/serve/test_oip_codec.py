"""The Open Inference Protocol codec: metadata, requests and responses, checked against the real
tritonclient (it builds the request bodies and parses the responses) and by fuzzing."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tritonclient.http as httpclient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tritonclient.utils import np_to_triton_dtype

from landmark.errors import InvalidInput, SignatureError
from landmark.models.signature import Column, Signature, infer, validate
from landmark.serve import oip

Client = httpclient.InferenceServerClient


# -- helpers ----------------------------------------------------------------------------------


def triton_input(name: str, arr: np.ndarray, *, binary: bool) -> httpclient.InferInput:
    tensor = httpclient.InferInput(name, list(arr.shape), np_to_triton_dtype(arr.dtype))
    tensor.set_data_from_numpy(arr, binary_data=binary)
    return tensor


def triton_body(
    inputs: list[httpclient.InferInput],
    outputs: list[httpclient.InferRequestedOutput] | None = None,
    **kwargs: Any,
) -> tuple[bytes, int | None]:
    body, header_length = Client.generate_request_body(inputs, outputs=outputs, **kwargs)
    return bytes(body), header_length


def decode(doc: Any, signature: Signature | None = None) -> oip.InferRequest:
    return oip.decode_request(
        json.dumps(doc).encode(), header_length=None, signature=signature or Signature()
    )


def parse(body: bytes, headers: dict[str, str]) -> Any:
    length = headers.get("Inference-Header-Content-Length")
    return Client.parse_response_body(body, header_length=None if length is None else int(length))


def one_line_error(excinfo: pytest.ExceptionInfo[InvalidInput], *parts: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and "\r" not in message, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    return message


ARRAY_SIG = Signature("ndarray", dtype="float32", shape=(None, 4))
CHURN = pd.DataFrame(
    {
        "age": np.array([31, 45, 27], dtype=np.int64),
        "tenure": np.array([12, 30, 2], dtype=np.int64),
        "income": np.array([52.5, 71.0, 38.25]),
        "city": ["Lyon", "Oslo", "Porto"],
        "member": [True, False, True],
    }
)
CHURN_SIG = infer(CHURN)


# -- datatypes and metadata -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("bool", "BOOL"),
        ("boolean", "BOOL"),
        ("uint8", "UINT8"),
        ("UInt16", "UINT16"),
        ("uint32", "UINT32"),
        ("uint64", "UINT64"),
        ("int8", "INT8"),
        ("int16", "INT16"),
        ("int32", "INT32"),
        ("int64", "INT64"),
        ("Int64", "INT64"),
        ("int", "INT64"),
        ("float16", "FP16"),
        ("float32", "FP32"),
        ("torch.float32", "FP32"),
        ("Float32", "FP32"),
        ("float64", "FP64"),
        ("float", "FP64"),
        ("<f4", "FP32"),
        (">i2", "INT16"),
        ("bfloat16", "BF16"),
        ("object", "BYTES"),
        ("str", "BYTES"),
        ("string", "BYTES"),
        ("string[pyarrow]", "BYTES"),
        ("category", "BYTES"),
        ("bytes", "BYTES"),
        ("<U5", "BYTES"),
        ("|S3", "BYTES"),
        ("datetime64[ns]", "BYTES"),
        ("datetime64[ns, UTC]", "BYTES"),
        ("complex128", "BYTES"),
        ("no such dtype", "BYTES"),
    ],
)
def test_datatype(dtype: str, expected: str) -> None:
    assert oip.datatype(dtype) == expected


def test_numpy_dtype_is_the_reverse() -> None:
    for name in ("BOOL", "UINT8", "UINT64", "INT8", "INT32", "INT64", "FP16", "FP32", "FP64"):
        assert oip.datatype(oip.numpy_dtype(name)) == name
    assert oip.numpy_dtype("BYTES") == "object"
    assert oip.numpy_dtype("BF16") == "float32"
    with pytest.raises(InvalidInput) as e:
        oip.numpy_dtype("FLOAT")
    one_line_error(e, '"FLOAT"', "FP32")


def test_tensors_of_each_signature_kind() -> None:
    assert oip.tensors(CHURN_SIG, default_name="x") == [
        {"name": "age", "datatype": "INT64", "shape": [-1]},
        {"name": "tenure", "datatype": "INT64", "shape": [-1]},
        {"name": "income", "datatype": "FP64", "shape": [-1]},
        {"name": "city", "datatype": "BYTES", "shape": [-1]},
        {"name": "member", "datatype": "BOOL", "shape": [-1]},
    ]
    assert oip.tensors(infer(np.zeros((2, 4), np.float32)), default_name="input-0") == [
        {"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}
    ]
    image = Signature("tensor", dtype="float16", shape=(None, 3, None, None))
    assert oip.tensors(image, default_name="pixels")[0] == {
        "name": "pixels",
        "datatype": "FP16",
        "shape": [-1, 3, -1, -1],
    }
    assert oip.tensors(infer(pd.Series([1.5, 2.5])), default_name="s") == [
        {"name": "s", "datatype": "FP64", "shape": [-1]}
    ]
    assert oip.tensors(Signature(), default_name="any") == [
        {"name": "any", "datatype": "BYTES", "shape": [-1]}
    ]
    assert oip.tensors(Signature("scalar", dtype="int"), default_name="n")[0]["shape"] == [1]
    assert oip.tensors(infer([1.0, 2.0]), default_name="v")[0] == {
        "name": "v",
        "datatype": "FP64",
        "shape": [-1],
    }
    fields = infer({"ids": np.zeros((1, 8), np.int64), "mask": np.zeros((1, 8), np.int8)})
    assert oip.tensors(fields, default_name="unused") == [
        {"name": "ids", "datatype": "INT64", "shape": [-1, 8]},
        {"name": "mask", "datatype": "INT8", "shape": [-1, 8]},
    ]


def test_model_metadata() -> None:
    outputs = infer(np.zeros(3, np.int64))
    doc = oip.model_metadata(
        "churn",
        versions=["v1.0.0", "v1.1.0"],
        platform="sklearn",
        inputs=CHURN_SIG,
        outputs=outputs,
        output_name="predict",
        parameters={"stage": "prod"},
    )
    assert doc == {
        "name": "churn",
        "versions": ["v1.0.0", "v1.1.0"],
        "platform": "sklearn",
        "inputs": oip.tensors(CHURN_SIG, default_name="input-0"),
        "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}],
        "parameters": {"stage": "prod", "content_type": "pd"},
    }
    plain = oip.model_metadata(
        "m", versions=[], platform="torch", inputs=ARRAY_SIG, outputs=ARRAY_SIG, output_name="y"
    )
    assert "parameters" not in plain
    assert plain["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]
    json.dumps(doc)  # plain JSON all through


# -- requests from tritonclient ---------------------------------------------------------------


SAMPLES = {
    "FP32": np.array([[0.5, -1.25], [3.0, 1e-8], [7.5, 2.0]], dtype=np.float32),
    "FP64": np.array([[0.1, -2.0], [math.pi, 1e300], [0.0, -0.0]], dtype=np.float64),
    "INT64": np.array([[1, -2], [2**62, -(2**63)], [0, 7]], dtype=np.int64),
    "BOOL": np.array([[True, False], [False, False], [True, True]]),
    "BYTES": np.array([["a", "é"], ["", "x y"], ["日本", "z"]], dtype=object),
}


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("name", list(SAMPLES))
def test_tritonclient_requests_decode(name: str, binary: bool) -> None:
    arr = SAMPLES[name]
    body, header_length = triton_body(
        [triton_input("input-0", arr, binary=binary)], request_id="req-1"
    )
    assert (header_length is not None) == binary
    sig = infer(arr)
    request = oip.decode_request(body, header_length=header_length, signature=sig)
    assert request.id == "req-1"
    assert request.data.shape == arr.shape
    assert request.data.dtype == arr.dtype
    assert request.data.tolist() == arr.tolist()
    assert request.data.flags.writeable
    assert request.binary_outputs is True  # tritonclient asks for binary when naming no output
    assert request.outputs == []
    validate(sig, request.data)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_bytes_of_a_bytes_model_stay_bytes(binary: bool) -> None:
    arr = np.array([b"\x00\xff", b"ok"], dtype=object)
    if not binary:
        arr = np.array([b"plain", b"ok"], dtype=object)  # JSON carries UTF-8 text only
    body, header_length = triton_body([triton_input("raw", arr, binary=binary)])
    sig = Signature("ndarray", dtype="|S2", shape=(None,))
    request = oip.decode_request(body, header_length=header_length, signature=sig)
    assert request.data.tolist() == arr.tolist()


def test_binary_bytes_stay_bytes_when_not_utf8_and_the_model_says_nothing() -> None:
    arr = np.array([b"\xff\xfe", b"ok"], dtype=object)
    body, header_length = triton_body([triton_input("raw", arr, binary=True)])
    request = oip.decode_request(body, header_length=header_length, signature=Signature())
    assert request.data.tolist() == [b"\xff\xfe", b"ok"]
    text = np.array([b"caf\xc3\xa9"], dtype=object)
    body, header_length = triton_body([triton_input("raw", text, binary=True)])
    request = oip.decode_request(body, header_length=header_length, signature=Signature())
    assert request.data.tolist() == ["café"]


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_pandas_request_one_input_per_column(binary: bool) -> None:
    """As MLServer's pandas codec sends it: one [rows, 1] input per column, content_type pd;
    the columns arrive in any order and come out in the model's."""
    columns = {
        "member": CHURN["member"].to_numpy().reshape(-1, 1),
        "city": CHURN["city"].to_numpy(dtype=object).reshape(-1, 1),
        "income": CHURN["income"].to_numpy().reshape(-1, 1),
        "tenure": CHURN["tenure"].to_numpy().astype(np.int32).reshape(-1, 1),  # INT32: widened
        "age": CHURN["age"].to_numpy().reshape(-1, 1),
    }
    inputs = [
        triton_input(n, a, binary=binary and i % 2 == 0) for i, (n, a) in enumerate(columns.items())
    ]
    outputs = [httpclient.InferRequestedOutput("predict", binary_data=True)]
    body, header_length = triton_body(
        inputs, outputs, request_id="r", parameters={"content_type": "pd"}
    )
    request = oip.decode_request(body, header_length=header_length, signature=CHURN_SIG)
    frame = request.data
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(CHURN.columns)
    assert frame["tenure"].dtype == np.int64
    assert frame.to_dict("list") == CHURN.to_dict("list")
    pd.testing.assert_frame_equal(validate(CHURN_SIG, frame), CHURN, check_dtype=False)
    assert request.outputs == ["predict"]
    assert request.binary_outputs == {"predict"}
    assert request.parameters["content_type"] == "pd"


def test_pd_content_type_without_a_dataframe_signature_gives_a_dataframe() -> None:
    request = decode(
        {
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": "a", "datatype": "INT64", "shape": [2], "data": [1, 2]},
                {"name": "b", "datatype": "BYTES", "shape": [2, 1], "data": [["x"], ["y"]]},
            ],
        }
    )
    assert isinstance(request.data, pd.DataFrame)
    assert request.data.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_mixed_json_and_binary_inputs_for_a_dict_model() -> None:
    ids = np.arange(16, dtype=np.int64).reshape(2, 8)
    mask = np.ones((2, 8), dtype=np.int8)
    body, header_length = triton_body(
        [triton_input("ids", ids, binary=True), triton_input("mask", mask, binary=False)]
    )
    sig = infer({"ids": ids, "mask": mask})
    request = oip.decode_request(body, header_length=header_length, signature=sig)
    assert set(request.data) == {"ids", "mask"}
    assert np.array_equal(request.data["ids"], ids)
    assert request.data["mask"].dtype == np.int8
    validate(sig, request.data)


def test_casting_into_the_models_dtypes() -> None:
    float_sig = Signature("ndarray", dtype="float32", shape=(None, 2))
    ints = decode(
        {"inputs": [{"name": "x", "datatype": "INT64", "shape": [1, 2], "data": [1, 2]}]}, float_sig
    )
    assert ints.data.dtype == np.float32 and ints.data.tolist() == [[1.0, 2.0]]
    wide = decode(
        {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 2], "data": [0.1, 2]}]},
        float_sig,
    )
    assert wide.data.dtype == np.float32
    int_sig = Signature("ndarray", dtype="int16", shape=(None,))
    whole = decode(
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [3.0, -4.0]}]}, int_sig
    )
    assert whole.data.dtype == np.int16 and whole.data.tolist() == [3, -4]
    narrow = decode(
        {"inputs": [{"name": "x", "datatype": "INT64", "shape": [2], "data": [3, -4]}]}, int_sig
    )
    assert narrow.data.dtype == np.int16
    with pytest.raises(SignatureError) as e:
        decode(
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [3.0, 4.5]}]},
            int_sig,
        )
    one_line_error(e, 'inputs[0] "x"', "FP32", "int16", "data[1] is 4.5", "whole number")
    with pytest.raises(SignatureError) as e:
        decode(
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [None]}]}, int_sig
        )
    one_line_error(e, "data[0] is NaN")
    with pytest.raises(SignatureError) as e:
        decode(
            {"inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": [40000]}]}, int_sig
        )
    one_line_error(e, 'inputs[0] "x"', "40000", "int16")


def test_json_null_and_nan_are_nan_in_float_tensors() -> None:
    request = decode(
        {"inputs": [{"name": "x", "datatype": "FP64", "shape": [3], "data": [1, None, 2.5]}]}
    )
    assert np.isnan(request.data[1]) and request.data[2] == 2.5
    body = b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [NaN, Infinity]}]}'
    request = oip.decode_request(body, header_length=None, signature=Signature())
    assert np.isnan(request.data[0]) and np.isinf(request.data[1])


def test_nested_and_flat_data_are_the_same() -> None:
    nested = decode(
        {"inputs": [{"name": "x", "datatype": "INT32", "shape": [2, 2], "data": [[1, 2], [3, 4]]}]}
    )
    flat = decode(
        {"inputs": [{"name": "x", "datatype": "INT32", "shape": [2, 2], "data": [1, 2, 3, 4]}]}
    )
    assert nested.data.tolist() == flat.data.tolist() == [[1, 2], [3, 4]]
    assert nested.data.dtype == np.int32


def test_other_signature_kinds() -> None:
    series = decode(
        {"inputs": [{"name": "s", "datatype": "FP64", "shape": [2, 1], "data": [1.5, 2.5]}]},
        infer(pd.Series([0.5])),
    )
    assert series.data.shape == (2,)
    scalar = decode(
        {"inputs": [{"name": "n", "datatype": "INT64", "shape": [1], "data": [7]}]},
        Signature("scalar", dtype="int"),
    )
    assert scalar.data == 7 and type(scalar.data) is int
    texts = decode(
        {"inputs": [{"name": "t", "datatype": "BYTES", "shape": [2], "data": ["hi", "yo"]}]},
        infer(["a", "b"]),
    )
    assert validate(infer(["a", "b"]), texts.data) == ["hi", "yo"]
    bf16 = np.array([1.0, -2.5, 3.140625], dtype=np.float32)
    raw = (bf16.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "b",
                    "datatype": "BF16",
                    "shape": [3],
                    "parameters": {"binary_data_size": 6},
                }
            ]
        }
    ).encode()
    request = oip.decode_request(header + raw, header_length=len(header), signature=Signature())
    assert request.data.tolist() == bf16.tolist()


def test_dataframe_pandas_dtypes_and_dates() -> None:
    sample = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "flag": pd.array([True, None], dtype="boolean"),
            "when": pd.to_datetime(["2024-01-02", "2024-03-04"]),
            "kind": pd.Categorical(["a", "b"]),
        }
    )
    sig = infer(sample)
    request = decode(
        {
            "inputs": [
                {"name": "n", "datatype": "INT64", "shape": [2], "data": [5, 6]},
                {"name": "flag", "datatype": "BOOL", "shape": [2], "data": [False, True]},
                {
                    "name": "when",
                    "datatype": "BYTES",
                    "shape": [2],
                    "data": ["2025-05-06", "2025-07-08T09:10"],
                },
                {"name": "kind", "datatype": "BYTES", "shape": [2], "data": ["b", "a"]},
            ]
        },
        sig,
    )
    frame = validate(sig, request.data)
    assert str(frame["n"].dtype) == "Int64" and str(frame["flag"].dtype) == "boolean"
    assert frame["when"].tolist() == [pd.Timestamp("2025-05-06"), pd.Timestamp("2025-07-08 09:10")]
    assert frame["kind"].tolist() == ["b", "a"]
    with pytest.raises(SignatureError) as e:
        decode(
            {
                "inputs": [
                    {"name": "n", "datatype": "INT64", "shape": [1], "data": [5]},
                    {"name": "flag", "datatype": "BOOL", "shape": [1], "data": [True]},
                    {"name": "when", "datatype": "BYTES", "shape": [1], "data": ["last week"]},
                    {"name": "kind", "datatype": "BYTES", "shape": [1], "data": ["a"]},
                ]
            },
            sig,
        )
    one_line_error(e, 'inputs[2] "when"', "ISO 8601")


def test_requested_outputs_and_binary_flags() -> None:
    tensor = {"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}
    plain = decode({"inputs": [tensor]}, ARRAY_SIG)
    assert plain.outputs == [] and plain.binary_outputs is False and plain.id is None
    every = decode({"inputs": [tensor], "parameters": {"binary_data_output": True}}, ARRAY_SIG)
    assert every.binary_outputs is True
    some = decode(
        {
            "inputs": [tensor],
            "parameters": {"binary_data_output": True},
            "outputs": [
                {"name": "predict"},
                {"name": "proba", "parameters": {"binary_data": False}},
            ],
        },
        ARRAY_SIG,
    )
    assert some.outputs == ["predict", "proba"] and some.binary_outputs == {"predict"}
    body, header_length = triton_body(
        [triton_input("x", np.zeros((1, 4), np.float32), binary=False)],
        [httpclient.InferRequestedOutput("proba", binary_data=False)],
    )
    json_out = oip.decode_request(body, header_length=header_length, signature=ARRAY_SIG)
    assert json_out.outputs == ["proba"] and json_out.binary_outputs == set()


# -- responses read by tritonclient -----------------------------------------------------------


RESULTS = {
    "FP32": np.array([[0.25, 0.75], [1.0, 0.0]], dtype=np.float32),
    "FP64": np.array([0.1, 1e-300, -7.5]),
    "FP16": np.array([0.5, 65504.0], dtype=np.float16),
    "INT64": np.array([3, -(2**63), 2**63 - 1]),
    "UINT8": np.array([[0, 255]], dtype=np.uint8),
    "BOOL": np.array([True, False, True]),
}


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("name", list(RESULTS))
def test_responses_parse_in_tritonclient(name: str, binary: bool) -> None:
    result = RESULTS[name]
    body, headers = oip.encode_response(
        model_name="churn",
        model_version="v1.0.0",
        request_id="req-9",
        result=result,
        output_name="predict",
        binary=binary,
    )
    if binary:
        assert headers["Content-Type"] == "application/octet-stream"
        assert int(headers["Inference-Header-Content-Length"]) < len(body)
    else:
        assert headers == {"Content-Type": "application/json"}
        json.loads(body)
    parsed = parse(body, headers)
    out = parsed.as_numpy("predict")
    assert out.dtype == result.dtype
    assert out.shape == result.shape
    assert out.tolist() == result.tolist()
    response = parsed.get_response()
    assert response["model_name"] == "churn" and response["model_version"] == "v1.0.0"
    assert response["id"] == "req-9"
    assert response["outputs"][0]["datatype"] == name


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_text_outputs(binary: bool) -> None:
    result = ["yes", "nö", "", None]
    body, headers = oip.encode_response(
        model_name="m",
        model_version=None,
        request_id=None,
        result=result,
        output_name="label",
        binary=binary,
    )
    parsed = parse(body, headers)
    out = parsed.as_numpy("label")
    assert "model_version" not in parsed.get_response() and "id" not in parsed.get_response()
    if binary:
        assert out.tolist() == [b"yes", "nö".encode(), b"", b""]  # binary cannot say "missing"
    else:
        assert out.tolist() == ["yes", "nö", "", None]
    raw = np.array([b"\xff", b"ok"], dtype=object)
    body, headers = oip.encode_response(
        model_name="m",
        model_version=None,
        request_id=None,
        result=raw,
        output_name="b",
        binary=True,
    )
    assert parse(body, headers).as_numpy("b").tolist() == [b"\xff", b"ok"]


def test_nan_and_infinity_in_outputs() -> None:
    result = np.array([1.5, np.nan, np.inf, -np.inf], dtype=np.float32)
    body, headers = oip.encode_response(
        model_name="m", model_version=None, request_id=None, result=result, output_name="y"
    )
    doc = json.loads(body, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert doc["outputs"][0]["data"] == [1.5, None, None, None]
    out = parse(body, headers).as_numpy("y")
    assert out[0] == 1.5 and np.isnan(out[1:]).all()
    body, headers = oip.encode_response(
        model_name="m",
        model_version=None,
        request_id=None,
        result=result,
        output_name="y",
        binary=True,
    )
    exact = parse(body, headers).as_numpy("y")
    assert exact[0] == 1.5 and np.isnan(exact[1]) and exact[2] == np.inf and exact[3] == -np.inf


def test_dataframe_result_gives_one_output_per_column_and_requested_filters() -> None:
    result = pd.DataFrame(
        {
            "label": ["a", "b"],
            "score": [0.9, 0.1],
            "n": pd.array([1, None], dtype="Int64"),
            "when": pd.to_datetime(["2024-01-02", None]),
        }
    )
    body, headers = oip.encode_response(
        model_name="m",
        model_version="v2",
        request_id="x",
        result=result,
        output_name="ignored",
        binary={"score"},
    )
    parsed = parse(body, headers)
    response = parsed.get_response()
    assert response["parameters"] == {"content_type": "pd"}
    assert [o["name"] for o in response["outputs"]] == ["label", "score", "n", "when"]
    assert parsed.as_numpy("label").tolist() == ["a", "b"]
    assert parsed.as_numpy("score").tolist() == [0.9, 0.1]
    n = parsed.as_numpy("n")
    assert n.dtype == np.float64 and n[0] == 1.0 and np.isnan(n[1])
    assert parsed.as_numpy("when").tolist()[0].startswith("2024-01-02T00:00")
    assert parsed.as_numpy("when").tolist()[1] is None
    body, headers = oip.encode_response(
        model_name="m",
        model_version="v2",
        request_id="x",
        result=result,
        output_name="ignored",
        requested=["score", "label"],
    )
    assert [o["name"] for o in json.loads(body)["outputs"]] == ["score", "label"]


def test_series_list_scalar_and_ragged_results() -> None:
    def encoded(result: Any) -> Any:
        body, headers = oip.encode_response(
            model_name="m", model_version=None, request_id=None, result=result, output_name="y"
        )
        return parse(body, headers).as_numpy("y")

    assert encoded(pd.Series([1, 2, 3])).tolist() == [1, 2, 3]
    assert encoded([0.5, 1.5]).tolist() == [0.5, 1.5]
    assert encoded(np.float64(2.5)).tolist() == [2.5]
    assert encoded(7).tolist() == [7]
    ragged = encoded([[1, 2], [3]])
    assert ragged.tolist() == ["[1, 2]", "[3]"]
    records = encoded([{"label": "POSITIVE", "score": 0.99}])
    assert json.loads(records[0]) == {"label": "POSITIVE", "score": 0.99}
    with pytest.raises(TypeError):
        encoded(None)
    with pytest.raises(TypeError):
        encoded(np.array([1 + 2j]))


def test_round_trip_through_tritonclient_both_ways() -> None:
    """A client's tensor reaches the model intact and the model's answer reaches the client."""
    arr = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    body, header_length = triton_body(
        [triton_input("x", arr, binary=True)],
        [httpclient.InferRequestedOutput("predict", binary_data=True)],
        request_id="abc",
    )
    request = oip.decode_request(body, header_length=header_length, signature=ARRAY_SIG)
    result = request.data.sum(axis=1)
    out, headers = oip.encode_response(
        model_name="m",
        model_version="v1",
        request_id=request.id,
        result=result,
        output_name="predict",
        binary=request.binary_outputs,
        requested=request.outputs,
    )
    parsed = parse(out, headers)
    assert parsed.get_response()["id"] == "abc"
    assert np.array_equal(parsed.as_numpy("predict"), arr.sum(axis=1))


# -- every error a request can make -----------------------------------------------------------


def tensor(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not ...}


def column(
    name: str, datatype: str, data: list[Any], shape: list[int] | None = None
) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape or [len(data)], "data": data}


GOOD_COLUMNS = [
    column("age", "INT64", [31]),
    column("tenure", "INT64", [12]),
    column("income", "FP64", [52.5]),
    column("city", "BYTES", ["Lyon"]),
    column("member", "BOOL", [True]),
]


def with_column(index: int, replacement: dict[str, Any]) -> dict[str, Any]:
    cols = list(GOOD_COLUMNS)
    cols[index] = replacement
    return {"inputs": cols}


JSON_ERRORS: list[tuple[str, Any, Signature, tuple[str, ...]]] = [
    ("array body", [1, 2], ARRAY_SIG, ("request body", "JSON object")),
    ("id", {"id": 5, "inputs": [tensor()]}, ARRAY_SIG, ("id:", "string")),
    ("parameters", {"parameters": [], "inputs": [tensor()]}, ARRAY_SIG, ("parameters:", "object")),
    ("no inputs", {}, ARRAY_SIG, ("inputs:", "non-empty list", "nothing")),
    ("empty inputs", {"inputs": []}, ARRAY_SIG, ("inputs:", "an empty list")),
    ("input not object", {"inputs": [5]}, ARRAY_SIG, ("inputs[0]:", "object")),
    ("no name", {"inputs": [tensor(name=...)]}, ARRAY_SIG, ("inputs[0]: name:",)),
    ("empty name", {"inputs": [tensor(name="")]}, ARRAY_SIG, ("inputs[0]: name:",)),
    (
        "datatype",
        {"inputs": [tensor(datatype="FLOAT")]},
        ARRAY_SIG,
        ('inputs[0] "x": datatype "FLOAT"', "FP32"),
    ),
    ("no datatype", {"inputs": [tensor(datatype=...)]}, ARRAY_SIG, ('inputs[0] "x": datatype',)),
    (
        "shape text",
        {"inputs": [tensor(shape="1,4")]},
        ARRAY_SIG,
        ('inputs[0] "x": shape:', "sizes"),
    ),
    ("shape negative", {"inputs": [tensor(shape=[-1, 4])]}, ARRAY_SIG, ('"x": shape:',)),
    ("shape bool", {"inputs": [tensor(shape=[True, 4])]}, ARRAY_SIG, ('"x": shape:',)),
    ("shape float", {"inputs": [tensor(shape=[1.0, 4])]}, ARRAY_SIG, ('"x": shape:',)),
    (
        "shape dims",
        {"inputs": [tensor(shape=[1] * 40, data=[1])]},
        Signature(),
        ('"x": shape has 40 dimensions',),
    ),
    (
        "shape huge",
        {"inputs": [tensor(shape=[2**40, 2**40])]},
        Signature(),
        ('"x": shape', "too large"),
    ),
    (
        "no rows",
        {"inputs": [tensor(shape=[0, 4], data=[])]},
        ARRAY_SIG,
        ('"x": shape [0, 4] has no rows',),
    ),
    ("no data", {"inputs": [tensor(data=...)]}, ARRAY_SIG, ('inputs[0] "x": no data',)),
    (
        "count",
        {"inputs": [tensor(shape=[2, 4])]},
        ARRAY_SIG,
        ('"x": data has 4 values, shape [2, 4] holds 8',),
    ),
    ("count huge", {"inputs": [tensor(shape=[10**12])]}, Signature(), ("data has 4 values",)),
    (
        "number",
        {"inputs": [tensor(data=[1, "2", 3, 4])]},
        ARRAY_SIG,
        ('"x": data[1] is "2", expected a number',),
    ),
    (
        "number bool",
        {"inputs": [tensor(data=[True, False, True, True])]},
        ARRAY_SIG,
        ("data[0] is true",),
    ),
    (
        "number object",
        {"inputs": [tensor(data=[1, {"a": 1}, 3, 4])]},
        ARRAY_SIG,
        ("data[1]", "expected a number"),
    ),
    (
        "huge number",
        {"inputs": [tensor(data=[1, 10**400, 3, 4])]},
        ARRAY_SIG,
        ("data[1] is 1000", "out of range for FP32"),
    ),
    (
        "integer",
        {"inputs": [tensor(datatype="INT64", data=[1, 1.5, 3, 4])]},
        Signature(),
        ("data[1] is 1.5, expected an integer (INT64)",),
    ),
    (
        "integer null",
        {"inputs": [tensor(datatype="INT32", data=[1, None, 3, 4])]},
        Signature(),
        ("data[1] is null",),
    ),
    (
        "range",
        {"inputs": [tensor(datatype="UINT8", data=[1, 300, 3, 4])]},
        Signature(),
        ("data[1] is 300, out of range for UINT8",),
    ),
    (
        "range negative",
        {"inputs": [tensor(datatype="UINT64", data=[1, -1, 3, 4])]},
        Signature(),
        ("data[1] is -1, out of range",),
    ),
    (
        "range int64",
        {"inputs": [tensor(datatype="INT64", data=[2**63, 1, 3, 4])]},
        Signature(),
        ("data[0]", "out of range for INT64"),
    ),
    (
        "bool",
        {"inputs": [tensor(datatype="BOOL", data=[True, 1, True, True])]},
        Signature(),
        ("data[1] is 1, expected true or false",),
    ),
    (
        "bytes",
        {"inputs": [tensor(datatype="BYTES", data=["a", 5, "c", "d"])]},
        Signature(),
        ("data[1] is 5, expected a string",),
    ),
    (
        "input parameters",
        {"inputs": [tensor(parameters=[1])]},
        ARRAY_SIG,
        ('"x": parameters: expected an object',),
    ),
    (
        "binary without header",
        {"inputs": [tensor(data=..., parameters={"binary_data_size": 16})]},
        ARRAY_SIG,
        ('"x": parameters.binary_data_size is set', "Inference-Header-Content-Length"),
    ),
    (
        "data and binary",
        {"inputs": [tensor(parameters={"binary_data_size": 16})]},
        ARRAY_SIG,
        ('"x": has both data and parameters.binary_data_size',),
    ),
    (
        "twice",
        {"inputs": [tensor(), tensor()]},
        ARRAY_SIG,
        ('inputs[1] "x": given twice (also inputs[0])',),
    ),
    (
        "outputs",
        {"inputs": [tensor()], "outputs": {"name": "y"}},
        ARRAY_SIG,
        ("outputs: expected a list",),
    ),
    (
        "output not object",
        {"inputs": [tensor()], "outputs": ["y"]},
        ARRAY_SIG,
        ("outputs[0]: expected an object",),
    ),
    (
        "output name",
        {"inputs": [tensor()], "outputs": [{"name": 3}]},
        ARRAY_SIG,
        ("outputs[0]: name:",),
    ),
    (
        "output twice",
        {"inputs": [tensor()], "outputs": [{"name": "y"}, {"name": "y"}]},
        ARRAY_SIG,
        ('outputs[1] "y": requested twice',),
    ),
    (
        "output parameters",
        {"inputs": [tensor()], "outputs": [{"name": "y", "parameters": 1}]},
        ARRAY_SIG,
        ('outputs[0] "y": parameters: expected an object',),
    ),
    (
        "binary_data",
        {"inputs": [tensor()], "outputs": [{"name": "y", "parameters": {"binary_data": "yes"}}]},
        ARRAY_SIG,
        ('outputs[0] "y": parameters.binary_data: expected true or false',),
    ),
    (
        "binary_data_output",
        {"inputs": [tensor()], "parameters": {"binary_data_output": 1}},
        ARRAY_SIG,
        ("parameters.binary_data_output: expected true or false",),
    ),
    # against the signature
    (
        "array shape",
        {"inputs": [tensor(shape=[2, 2])]},
        ARRAY_SIG,
        ('inputs[0] "x": shape [2, 2] does not match the model\'s [-1, 4]',),
    ),
    ("array rank", {"inputs": [tensor(shape=[4])]}, ARRAY_SIG, ('"x": shape [4] does not match',)),
    (
        "array dtype",
        {"inputs": [tensor(datatype="BYTES", data=["a", "b", "c", "d"])]},
        ARRAY_SIG,
        ('inputs[0] "x": datatype BYTES does not match the model\'s float32 input', "send FP32"),
    ),
    (
        "bool into float",
        {"inputs": [tensor(datatype="BOOL", data=[True] * 4)]},
        ARRAY_SIG,
        ("datatype BOOL does not match the model's float32 input",),
    ),
    (
        "two inputs",
        {"inputs": [tensor(), tensor(name="y")]},
        ARRAY_SIG,
        ('inputs: 2 inputs ("x", "y"), the model takes one', "content_type"),
    ),
    (
        "scalar",
        {"inputs": [tensor()]},
        Signature("scalar", dtype="float"),
        ('"x": shape [1, 4]: the model takes one value',),
    ),
    (
        "series",
        {"inputs": [tensor()]},
        Signature("series", dtype="float32"),
        ('"x": shape [1, 4]: a series',),
    ),
    (
        "dict missing",
        {"inputs": [tensor()]},
        Signature("dict", fields=(("ids", ARRAY_SIG), ("mask", ARRAY_SIG))),
        ('inputs: missing "ids", "mask"',),
    ),
    (
        "dict extra",
        {"inputs": [tensor(name="ids"), tensor(name="mask"), tensor()]},
        Signature("dict", fields=(("ids", ARRAY_SIG), ("mask", ARRAY_SIG))),
        ('inputs[2] "x": not an input of the model',),
    ),
    (
        "columns missing",
        {"inputs": GOOD_COLUMNS[1:4]},
        CHURN_SIG,
        ('inputs: missing columns "age", "member"', 'the model takes "age", "tenure"'),
    ),
    (
        "column missing",
        {"inputs": GOOD_COLUMNS[:4]},
        CHURN_SIG,
        ('inputs: missing column "member"',),
    ),
    (
        "column extra",
        {"inputs": [*GOOD_COLUMNS, column("zip", "INT64", [1])]},
        CHURN_SIG,
        ('inputs[5] "zip": is not a column of the model',),
    ),
    (
        "columns extra",
        {"inputs": [*GOOD_COLUMNS, column("zip", "INT64", [1]), column("x", "INT64", [1])]},
        CHURN_SIG,
        ('inputs[5] "zip", inputs[6] "x": are not columns',),
    ),
    (
        "column rows",
        with_column(2, column("income", "FP64", [1.0, 2.0])),
        CHURN_SIG,
        ('inputs[2] "income": 2 rows, inputs[0] "age" has 1',),
    ),
    (
        "column shape",
        with_column(1, column("tenure", "INT64", [1, 2], shape=[1, 2])),
        CHURN_SIG,
        ('inputs[1] "tenure": shape [1, 2]: a column has shape [rows] or [rows, 1]',),
    ),
    (
        "column float",
        with_column(1, column("tenure", "FP32", [1.5])),
        CHURN_SIG,
        ('inputs[1] "tenure": datatype FP32 does not match the model\'s int64 column',),
    ),
    (
        "column text",
        with_column(1, column("tenure", "BYTES", ["12"])),
        CHURN_SIG,
        (
            'inputs[1] "tenure": datatype BYTES does not match the model\'s int64 column (send INT64)',
        ),
    ),
    (
        "column bool",
        with_column(1, column("tenure", "BOOL", [True])),
        CHURN_SIG,
        ('"tenure": datatype BOOL does not match',),
    ),
    (
        "column not text",
        with_column(3, column("city", "INT64", [5])),
        CHURN_SIG,
        ('inputs[3] "city": datatype INT64 does not match the model\'s str column (send BYTES)',),
    ),
    (
        "column not bool",
        with_column(4, column("member", "INT64", [1])),
        CHURN_SIG,
        ('inputs[4] "member": datatype INT64 does not match the model\'s bool column (send BOOL)',),
    ),
    (
        "column range",
        with_column(0, column("age", "UINT64", [2**64 - 1])),
        CHURN_SIG,
        ('inputs[0] "age": value 18446744073709551615 does not fit the model\'s int64 column',),
    ),
    (
        "column no rows",
        with_column(0, column("age", "INT64", [], shape=[0])),
        CHURN_SIG,
        ('inputs[0] "age": shape [0] has no rows',),
    ),
]


@pytest.mark.parametrize(
    ("case", "doc", "sig", "parts"), JSON_ERRORS, ids=[c[0] for c in JSON_ERRORS]
)
def test_json_request_errors(case: str, doc: Any, sig: Signature, parts: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as e:
        oip.decode_request(json.dumps(doc).encode(), header_length=None, signature=sig)
    one_line_error(e, *parts)


def binary_request(
    tensors: list[dict[str, Any]], payload: bytes, *, extra: int = 0
) -> tuple[bytes, int]:
    header = json.dumps({"inputs": tensors}).encode()
    return header + payload, len(header) + extra


def bin_tensor(name: str, datatype: str, shape: list[int], size: Any) -> dict[str, Any]:
    return {
        "name": name,
        "datatype": datatype,
        "shape": shape,
        "parameters": {"binary_data_size": size},
    }


def length_prefixed(*items: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(i)) + i for i in items)


BINARY_ERRORS: list[tuple[str, bytes, int | None, tuple[str, ...]]] = [
    ("not json", b"{", None, ("request body: not valid JSON",)),
    ("not utf8", b'{"a": "\xff"}', None, ("request body: not UTF-8",)),
    ("deep", b"[" * 100_000, None, ("request body: JSON nested too deeply",)),
    ("empty", b"", None, ("request body: not valid JSON",)),
    (
        "digits",
        b'{"inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": ['
        + b"7" * 5000
        + b"]}]}",
        None,
        ("request body: not valid JSON",),
    ),
    (
        "header past end",
        b"{}",
        3,
        ("Inference-Header-Content-Length: 3 is not within the body's 2 bytes",),
    ),
    ("header zero", b"{}", 0, ("Inference-Header-Content-Length: 0",)),
    ("header negative", b"{}", -5, ("Inference-Header-Content-Length: -5",)),
    (
        "fixed size",
        *binary_request([bin_tensor("x", "FP32", [1, 4], 12)], bytes(12)),
        ('inputs[0] "x": parameters.binary_data_size 12 does not hold 4 FP32 values (16 bytes)',),
    ),
    (
        "past end",
        *binary_request([bin_tensor("x", "FP32", [1, 4], 16)], bytes(8)),
        (
            'inputs[0] "x": parameters.binary_data_size 16 runs past the end of the body (8 bytes left)',
        ),
    ),
    (
        "trailing",
        *binary_request([bin_tensor("x", "FP32", [1, 4], 16)], bytes(20)),
        (
            "binary data: the inputs' parameters.binary_data_size add up to 16 bytes, the body carries 20",
        ),
    ),
    (
        "unclaimed",
        *binary_request([tensor()], bytes(3)),
        ("binary data:", "add up to 0 bytes", "carries 3"),
    ),
    (
        "size text",
        *binary_request([bin_tensor("x", "FP32", [1, 4], "16")], bytes(16)),
        ('"x": parameters.binary_data_size: expected a number of bytes, got "16"',),
    ),
    (
        "size negative",
        *binary_request([bin_tensor("x", "FP32", [1, 4], -1)], b""),
        ('"x": parameters.binary_data_size: expected a number',),
    ),
    (
        "bytes prefix",
        *binary_request([bin_tensor("s", "BYTES", [2], 7)], length_prefixed(b"a") + b"\x01\x00"),
        ('inputs[0] "s": binary BYTES element 1 has a cut-off length prefix',),
    ),
    (
        "bytes overrun",
        *binary_request([bin_tensor("s", "BYTES", [1], 6)], struct.pack("<I", 9) + b"ab"),
        ('"s": binary BYTES element 0 claims 9 bytes, 2 are left',),
    ),
    (
        "bytes few",
        *binary_request([bin_tensor("s", "BYTES", [3], 10)], length_prefixed(b"ab", b"")),
        ('"s": binary data holds 2 BYTES elements, shape [3] holds 3',),
    ),
    (
        "bytes many",
        *binary_request([bin_tensor("s", "BYTES", [1], 10)], length_prefixed(b"ab", b"")),
        ('"s": binary data holds more than the 1 BYTES elements',),
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "header_length", "parts"), BINARY_ERRORS, ids=[c[0] for c in BINARY_ERRORS]
)
def test_body_and_binary_errors(
    case: str, body: bytes, header_length: int | None, parts: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInput) as e:
        oip.decode_request(body, header_length=header_length, signature=ARRAY_SIG)
    one_line_error(e, *parts)


def test_binary_text_that_is_not_utf8_for_a_text_column() -> None:
    city = np.array([b"\xffLyon"], dtype=object)
    inputs = [
        triton_input(c["name"], np.array(c["data"]), binary=False)
        for c in GOOD_COLUMNS
        if c["name"] != "city"
    ]
    inputs.insert(3, triton_input("city", city, binary=True))
    body, header_length = triton_body(inputs)
    with pytest.raises(SignatureError) as e:
        oip.decode_request(body, header_length=header_length, signature=CHURN_SIG)
    one_line_error(e, 'inputs[3] "city": element 0 is not UTF-8 text')


def test_response_errors() -> None:
    with pytest.raises(InvalidInput) as e:
        oip.encode_response(
            model_name="m",
            model_version=None,
            request_id=None,
            result=np.zeros(2),
            output_name="predict",
            requested=["predict", "proba"],
        )
    one_line_error(e, 'outputs[1] "proba": the model has no such output (it gives "predict")')
    with pytest.raises(InvalidInput) as e:
        oip.encode_response(
            model_name="m",
            model_version=None,
            request_id=None,
            result=np.array([b"ok", b"\xff"], dtype=object),
            output_name="raw",
        )
    one_line_error(e, 'outputs "raw": element 1 is not UTF-8 text', "binary_data true")


def test_names_in_messages_stay_on_one_line() -> None:
    with pytest.raises(InvalidInput) as e:
        decode({"inputs": [tensor(name="a\nb" + "c" * 200, datatype="NOPE")]})
    message = one_line_error(e, r'"a\nbccc', '...": datatype "NOPE"')
    assert len(message) < 240


# -- fuzzing: nothing but InvalidInput comes out ----------------------------------------------


SIGNATURES = [
    Signature(),
    ARRAY_SIG,
    CHURN_SIG,
    Signature("series", dtype="float64"),
    Signature("scalar", dtype="int"),
    Signature("ndarray", dtype="|S4", shape=(None,)),
    Signature("dict", fields=(("x", ARRAY_SIG), ("y", Signature("ndarray", dtype="int8")))),
    Signature("dataframe", columns=(Column("x", "Int64"), Column("when", "datetime64[ns]"))),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
names = st.sampled_from(["x", "y", "age", "tenure", "city", "member", "income", "when", ""])
datatypes = st.sampled_from([*oip._NUMPY, "FLOAT", "", 3])
shapes = st.lists(st.integers(min_value=-1, max_value=4), max_size=3) | json_values
input_docs = st.fixed_dictionaries(
    {},
    optional={
        "name": names | json_values,
        "datatype": datatypes,
        "shape": shapes,
        "data": json_values
        | st.lists(
            st.integers(-300, 300) | st.floats() | st.text(max_size=2) | st.booleans(), max_size=8
        ),
        "parameters": st.fixed_dictionaries(
            {},
            optional={
                "binary_data_size": st.integers(-2, 40) | json_values,
                "content_type": st.just("pd"),
            },
        )
        | json_values,
    },
)
request_docs = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=3) | json_values,
        "inputs": st.lists(input_docs, max_size=4) | json_values,
        "outputs": st.lists(
            st.fixed_dictionaries({"name": names}, optional={"parameters": json_values}), max_size=2
        )
        | json_values,
        "parameters": st.fixed_dictionaries(
            {}, optional={"content_type": st.just("pd"), "binary_data_output": json_values}
        )
        | json_values,
    },
)


def _only_invalid_input(body: bytes, header_length: int | None, sig: Signature) -> None:
    try:
        oip.decode_request(body, header_length=header_length, signature=sig)
    except InvalidInput as e:
        assert "\n" not in str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=request_docs,
    payload=st.binary(max_size=48),
    sig=st.sampled_from(SIGNATURES),
    with_header=st.booleans(),
)
def test_fuzz_structured_requests(
    doc: Any, payload: bytes, sig: Signature, with_header: bool
) -> None:
    header = json.dumps(doc).encode()
    if with_header:
        _only_invalid_input(header + payload, len(header), sig)
    else:
        _only_invalid_input(header, None, sig)


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=200),
    header_length=st.none() | st.integers(-3, 210),
    sig=st.sampled_from(SIGNATURES),
)
def test_fuzz_random_bytes(body: bytes, header_length: int | None, sig: Signature) -> None:
    _only_invalid_input(body, header_length, sig)


@settings(max_examples=200, deadline=None)
@given(doc=json_values, sig=st.sampled_from(SIGNATURES))
def test_fuzz_random_json(doc: Any, sig: Signature) -> None:
    _only_invalid_input(json.dumps(doc).encode(), None, sig)


WIDTHS = {"BOOL": 1, "BF16": 2, "BYTES": 0} | {
    k: np.dtype(v).itemsize for k, v in oip._NUMPY.items() if k not in ("BOOL", "BF16", "BYTES")
}
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats()
    | st.sampled_from([0, 1, -1, 2.0, 255, 2**63, "2024-01-01", "Lyon"])
    | st.text(max_size=3)
)


@st.composite
def coherent_requests(draw: st.DrawFn) -> tuple[bytes, int | None]:
    """Well-formed requests (names, shapes and sizes agree) with any datatypes and values."""
    rows = draw(st.integers(1, 3))
    inputs: list[dict[str, Any]] = []
    payload = b""
    chosen = draw(st.lists(names.filter(bool), min_size=1, max_size=6, unique=True))
    for name in chosen:
        dt = draw(st.sampled_from(list(oip._NUMPY)))
        shape = draw(st.sampled_from([[rows], [rows, 1], [rows, 4], [rows, 2, 2]]))
        count = math.prod(shape)
        if draw(st.booleans()):
            if dt == "BYTES":
                items = draw(st.lists(st.binary(max_size=3), min_size=count, max_size=count))
                raw = length_prefixed(*items)
            else:
                size = count * WIDTHS[dt]
                raw = draw(st.binary(min_size=size, max_size=size))
            inputs.append(bin_tensor(name, dt, shape, len(raw)))
            payload += raw
        else:
            data = draw(st.lists(scalars, min_size=count, max_size=count))
            inputs.append({"name": name, "datatype": dt, "shape": shape, "data": data})
    doc: dict[str, Any] = {"inputs": inputs}
    if draw(st.booleans()):
        doc["parameters"] = {"content_type": "pd"}
    header = json.dumps(doc).encode()
    if not payload and draw(st.booleans()):
        return header, None
    return header + payload, len(header)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=coherent_requests(), sig=st.sampled_from([*SIGNATURES, infer(SAMPLES["BYTES"])]))
def test_fuzz_well_formed_requests(request: tuple[bytes, int | None], sig: Signature) -> None:
    body, header_length = request
    _only_invalid_input(body, header_length, sig)


@settings(max_examples=150, deadline=None)
@given(
    arr=hnp.arrays(
        dtype=st.sampled_from(
            [
                np.bool_,
                np.uint8,
                np.uint64,
                np.int8,
                np.int32,
                np.int64,
                np.float16,
                np.float32,
                np.float64,
            ]
        ),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    ),
    binary_in=st.booleans(),
    binary_out=st.booleans(),
)
def test_property_arrays_survive_both_directions(
    arr: np.ndarray, binary_in: bool, binary_out: bool
) -> None:
    body, header_length = triton_body([triton_input("x", arr, binary=binary_in)])
    request = oip.decode_request(body, header_length=header_length, signature=infer(arr))
    assert request.data.dtype == arr.dtype
    assert np.array_equal(request.data, arr, equal_nan=arr.dtype.kind == "f")
    out, headers = oip.encode_response(
        model_name="m",
        model_version=None,
        request_id=None,
        result=request.data,
        output_name="y",
        binary=binary_out,
    )
    back = parse(out, headers).as_numpy("y")
    assert back.dtype == arr.dtype and back.shape == arr.shape
    expected = arr
    if not binary_out and arr.dtype.kind == "f":  # JSON: infinities come back as NaN
        expected = np.where(np.isinf(arr), np.nan, arr).astype(arr.dtype)
    assert np.array_equal(back, expected, equal_nan=arr.dtype.kind == "f")


def test_float_into_int64_at_the_edge() -> None:
    sig = Signature("ndarray", dtype="int64", shape=(None,))
    doc = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [2], "data": [2.0**62, 2.0**63]}]}
    with pytest.raises(SignatureError) as e:
        decode(doc, sig)
    one_line_error(e, "data[1] is 9.223372036854776e+18, not a whole number that fits")


def test_mixed_nesting_is_a_wrong_element() -> None:
    with pytest.raises(InvalidInput) as e:
        decode({"inputs": [tensor(data=[1, [2, 3], 4, 5])]}, ARRAY_SIG)
    one_line_error(e, 'inputs[0] "x": data[1] is [2, 3], expected a number')
    nested = decode({"inputs": [tensor(datatype="BYTES", data=[["a", "b"], "c", ["d"]])]})
    assert nested.data.tolist() == [["a", "b", "c", "d"]]  # nesting is only ever flattened


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["a", "b", "c", "tenure", "0", "é"]), min_size=1, max_size=4, unique=True
    ),
    st.sampled_from(["float64", "float32", "int64", "int8", "uint16", "bool", "mixed"]),
    st.integers(1, 5),
    st.randoms(use_true_random=False),
)
def test_columns_become_the_frame_pandas_makes_of_them(
    names: list[str], dtype: str, rows: int, rnd: Any
) -> None:
    """oip._frame (one block, a cached column Index) equals ``pd.DataFrame(columns)``."""
    import pandas as pd

    from landmark.serve import oip

    choices = ["float64", "int64", "bool", "object"]
    columns = {}
    for name in names:
        kind = rnd.choice(choices) if dtype == "mixed" else dtype
        values = [rnd.randint(-3, 3) for _ in range(rows)]
        columns[name] = np.array(values if kind != "object" else [str(v) for v in values]).astype(
            kind
        )
    for _ in range(2):  # the second time, with the Index made the first
        got = oip._frame(dict(columns))
        want = pd.DataFrame(dict(columns), copy=False)
        pd.testing.assert_frame_equal(got, want, check_column_type=True)
        assert got.columns.dtype == want.columns.dtype


_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["1.5", "a", ""]),
    st.lists(st.integers(-3, 3), max_size=2),
)


@st.composite
def _plain_requests(draw: Any) -> tuple[Signature, list[Any]]:
    """A dataframe signature and inputs near the plain case (one JSON input per column, its
    own datatype, numbers), with one or more of them changed now and then."""
    names = draw(
        st.lists(st.sampled_from(["a", "b", "tenure", "é"]), min_size=1, max_size=3, unique=True)
    )
    dtypes = [
        draw(st.sampled_from(["float64"] * 4 + ["int64"] * 4 + ["float32", "bool", "float"]))
        for _ in names
    ]
    sig = Signature(
        "dataframe", columns=tuple(Column(n, d) for n, d in zip(names, dtypes, strict=True))
    )
    rows = draw(st.integers(1, 4))
    inputs: list[Any] = []
    for name, dtype in zip(names, dtypes, strict=True):
        wire = {"float64": "FP64", "int64": "INT64", "float32": "FP32", "bool": "BOOL"}.get(
            dtype, "FP64"
        )
        if draw(st.integers(0, 19)) == 0:
            wire = draw(st.sampled_from(["FP64", "INT64", "FP32", "INT32", "BOOL", "BYTES"]))
        plain = st.integers(-(2**40), 2**40) if wire == "INT64" else st.floats(-1e6, 1e6)
        element = _VALUES if draw(st.integers(0, 9)) == 0 else plain
        data = draw(st.lists(element, min_size=rows, max_size=rows))
        item: dict[str, Any] = {"name": name, "shape": [rows], "datatype": wire, "data": data}
        change = draw(st.integers(0, 29))
        if change == 0:
            item["shape"] = [rows, 1]
        elif change == 1:
            item["shape"] = [rows + 1]
        elif change == 2:
            item["parameters"] = {}
        elif change == 3:
            del item["shape"]
        elif change == 4:
            item["name"] = draw(st.sampled_from(["a", "zz", 3]))
        inputs.append(item)
    if draw(st.integers(0, 9)) == 0:
        inputs = inputs[::-1] + inputs[:1]
    return sig, draw(st.permutations(inputs))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plain_requests())
def test_plain_columns_read_as_the_general_path_reads_them(
    case: tuple[Signature, list[Any]],
) -> None:
    """The fast path for plain JSON columns gives the general path's frame, or leaves the
    request to it (which then reads it or refuses it with its own message)."""
    sig, inputs = case
    body = json.dumps({"inputs": inputs}).encode()
    fast = oip._plain_columns(json.loads(body)["inputs"], sig)
    real = oip._plain_columns
    try:
        oip._plain_columns = lambda raw, sig: None  # type: ignore[assignment]
        general: Any = oip.decode_request(body, header_length=None, signature=sig).data
    except (InvalidInput, SignatureError) as e:
        general = e
    finally:
        oip._plain_columns = real  # type: ignore[assignment]
    if fast is None:
        return
    assert not isinstance(general, Exception), (
        f"fast path read what the general path refuses: {general}"
    )
    pd.testing.assert_frame_equal(fast, general, check_column_type=True)
    assert fast.columns.dtype == general.columns.dtype
    assert list(fast.dtypes) == list(general.dtypes)
    # and decode_request takes the fast path's frame
    pd.testing.assert_frame_equal(
        oip.decode_request(body, header_length=None, signature=sig).data, fast
    )


def test_plain_columns_take_the_common_request() -> None:
    sig = Signature("dataframe", columns=(Column("tenure", "int64"), Column("charges", "float64")))
    inputs = [
        {"name": "charges", "shape": [2], "datatype": "FP64", "data": [70.5, 3]},
        {"name": "tenure", "shape": [2], "datatype": "INT64", "data": [12, 30]},
    ]
    got = oip._plain_columns(inputs, sig)
    assert got is not None
    assert list(got.columns) == ["tenure", "charges"]
    assert got["charges"].tolist() == [70.5, 3.0] and got["tenure"].dtype == np.int64
