"""ONNX adapter: graphs run by onnxruntime, signatures read from the graph itself."""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from landmark import load_model, save_model
from landmark.errors import SignatureError
from landmark.models.adapter import adapter_for
from landmark.models.signature import Signature

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned


def logistic_graph(model: LogisticRegression) -> onnx.ModelProto:
    """The trained multinomial logistic regression written out as an ONNX graph."""
    weights = model.coef_.T.astype(np.float32)
    bias = model.intercept_.astype(np.float32)
    n_in, n_out = weights.shape
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["Z"]),
            helper.make_node("Add", ["Z", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
        ],
        "logistic",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", n_in])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_out]),
        ],
        [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "B")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return proto


@pytest.fixture(scope="module")
def trained() -> tuple[LogisticRegression, onnx.ModelProto, np.ndarray]:
    X, y = make_classification(
        n_samples=200, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    model = LogisticRegression(max_iter=500).fit(X[:150], y[:150])
    return model, logistic_graph(model), X[150:].astype(np.float32)


def test_round_trip_with_the_graph_signature(tmp_path: Path, trained: tuple) -> None:
    sk, proto, X_test = trained
    assert adapter_for(proto).name == "onnx"
    meta = save_model(proto, tmp_path / "m")  # no sample: the graph says it all
    assert (meta.adapter, meta.format, meta.safe) == ("onnx", "onnx", True)
    assert meta.extra["opsets"] == {"ai.onnx": 17}
    spec = meta.methods["predict"]
    assert spec.input == Signature("ndarray", dtype="float32", shape=(None, 4))
    assert spec.output == Signature(
        "dict",
        fields=(
            ("label", Signature("ndarray", dtype="int64", shape=(None,))),
            ("probabilities", Signature("ndarray", dtype="float32", shape=(None, 3))),
        ),
    )
    loaded = load_model(tmp_path / "m")
    out = loaded.predict(X_test)
    np.testing.assert_array_equal(out["label"], sk.predict(X_test))
    np.testing.assert_allclose(out["probabilities"], sk.predict_proba(X_test), rtol=1e-4)
    pins = {r.name.lower(): r.version for r in meta.requirements}
    assert pins["onnxruntime"] == version("onnxruntime") and "numpy" in pins
    assert meta.framework.name == "onnxruntime"


def test_a_sample_input_runs_the_graph_for_the_output(tmp_path: Path, trained: tuple) -> None:
    sk, proto, X_test = trained
    source = tmp_path / "exported.onnx"
    onnx.save_model(proto, str(source))
    for model in (proto, source):
        meta = save_model(model, tmp_path / "m", X_test[:5])
        spec = meta.methods["predict"]
        assert spec.input == Signature("ndarray", dtype="float32", shape=(None, 4))
        assert [name for name, _ in spec.output.fields] == ["label", "probabilities"]
        out = load_model(tmp_path / "m").predict(X_test)
        np.testing.assert_array_equal(out["label"], sk.predict(X_test))


def test_bad_inputs_name_dtype_and_shape(tmp_path: Path, trained: tuple) -> None:
    _, proto, X_test = trained
    save_model(proto, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    with pytest.raises(SignatureError, match="dtype float64, the model expects float32"):
        loaded.predict(X_test.astype(np.float64))
    with pytest.raises(SignatureError, match="dimension 1 is 3, the model expects 4"):
        loaded.predict(X_test[:, :3])


def test_an_onnx_file_is_copied_byte_for_byte(tmp_path: Path, trained: tuple) -> None:
    sk, proto, X_test = trained
    source = tmp_path / "exported.onnx"
    onnx.save_model(proto, str(source))
    meta = save_model(source, tmp_path / "m")
    assert meta.files[0].md5 == hashlib.md5(source.read_bytes()).hexdigest()
    out = load_model(tmp_path / "m").predict(X_test)
    np.testing.assert_array_equal(out["label"], sk.predict(X_test))


def test_several_inputs_are_a_dict(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"])],
        "add",
        [
            helper.make_tensor_value_info("a", TensorProto.DOUBLE, [None, 2]),
            helper.make_tensor_value_info("b", TensorProto.DOUBLE, [None, 2]),
        ],
        [helper.make_tensor_value_info("sum", TensorProto.DOUBLE, [None, 2])],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    meta = save_model(proto, tmp_path / "add")
    assert meta.methods["predict"].input.kind == "dict"
    loaded = load_model(tmp_path / "add")
    a, b = np.ones((3, 2)), np.full((3, 2), 2.0)
    np.testing.assert_array_equal(loaded.predict({"a": a, "b": b}), a + b)
    with pytest.raises(SignatureError, match="missing key 'b'"):
        loaded.predict({"a": a})


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_model_file_is_one_error(tmp_path: Path, trained: tuple, how: str) -> None:
    _, proto, _ = trained
    save_model(proto, tmp_path / "m")
    check_damage(tmp_path / "m", "model.onnx", how)


def test_unsigned_damage_and_a_missing_file(tmp_path: Path, trained: tuple) -> None:
    _, proto, _ = trained
    save_model(proto, tmp_path / "a")
    check_unsigned(tmp_path / "a", "model.onnx")
    save_model(proto, tmp_path / "b")
    check_missing(tmp_path / "b", "model.onnx")
