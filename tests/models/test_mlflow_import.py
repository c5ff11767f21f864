"""import-mlflow: real MLflow model directories (written by mlflow itself) become landmark ones."""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import mlflow.lightgbm
import mlflow.onnx
import mlflow.pytorch
import mlflow.sklearn
import mlflow.xgboost
import numpy as np
import onnx
import pandas as pd
import pytest
import torch
import xgboost as xgb
from mlflow.models import infer_signature
from onnx import TensorProto, helper
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from landmark import load_model
from landmark.errors import Conflict, InvalidInput, SignatureError, UnsafeModel
from landmark.models.mlflow_import import import_mlflow
from landmark.models.signature import Column, Signature

from ..conftest import Cli, GitRepo

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def pin(*dists: str) -> list[str]:
    """Explicit pins: mlflow would otherwise spend seconds inferring them in a subprocess."""
    return [f"{d}=={version(d).partition('+')[0]}" for d in dists]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=200, n_features=4, n_informative=2, random_state=0)
    return X[:150], y[:150], X[150:]


def churn() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"age": rng.integers(18, 80, 80), "spend": rng.normal(50, 10, 80)})
    return df, (df["age"] > 40).to_numpy().astype(int)


def test_sklearn_cloudpickle_needs_trust_then_becomes_skops(tmp_path: Path, data: tuple) -> None:
    X, y, X_test = data
    model = LogisticRegression().fit(X, y)
    src = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(
        model,
        src,
        serialization_format="cloudpickle",
        signature=infer_signature(X, model.predict(X)),
        pip_requirements=pin("scikit-learn", "cloudpickle"),
    )
    with pytest.raises(UnsafeModel, match="cloudpickle format, which can run code"):
        import_mlflow(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()

    imported = import_mlflow(src, tmp_path / "out", trust=True)
    meta = imported.meta
    assert imported.flavor == "sklearn"
    assert (meta.adapter, meta.format, meta.safe) == ("sklearn", "skops", True)
    assert meta.methods["predict"].input == Signature("ndarray", dtype="float64", shape=(None, 4))
    assert meta.methods["predict"].output == Signature("ndarray", dtype="int64", shape=(None,))
    # mlflow adds itself to the pins it writes
    assert meta.extra["mlflow"]["requirements"] == [
        f"mlflow=={version('mlflow-skinny')}",
        *pin("scikit-learn", "cloudpickle"),
    ]
    loaded = load_model(tmp_path / "out")  # no trust needed any more
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test))
    with pytest.raises(SignatureError, match="dimension 1 is 3, the model expects 4"):
        loaded.predict(X_test[:, :3])


def test_sklearn_skops_with_a_column_signature(tmp_path: Path) -> None:
    df, y = churn()
    model = LogisticRegression().fit(df, y)
    src = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(
        model,
        src,
        serialization_format="skops",
        signature=infer_signature(df, model.predict(df)),
        pip_requirements=pin("scikit-learn", "skops"),
    )
    meta = import_mlflow(src, tmp_path / "out").meta  # skops trusts a LogisticRegression
    assert meta.methods["predict"].input == Signature(
        "dataframe", columns=(Column("age", "int64"), Column("spend", "float64"))
    )
    loaded = load_model(tmp_path / "out")
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    with pytest.raises(SignatureError, match="missing column 'spend'"):
        loaded.predict(df[["age"]])


def test_xgboost_with_an_old_pin_says_what_it_used(tmp_path: Path, data: tuple) -> None:
    X, y, X_test = data
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    src = tmp_path / "mlflow-model"
    mlflow.xgboost.save_model(model, src, pip_requirements=["xgboost==1.7.6"])
    imported = import_mlflow(src, tmp_path / "out")
    assert (imported.meta.adapter, imported.meta.safe) == ("xgboost", True)
    assert any(
        n.startswith(f"MLflow pinned xgboost==1.7.6; it was converted with {version('xgboost')}")
        for n in imported.notes
    )
    loaded = load_model(tmp_path / "out")
    assert type(loaded.native) is xgb.XGBClassifier
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test))


def test_lightgbm_booster_and_skops_wrapper(tmp_path: Path, data: tuple) -> None:
    X, y, X_test = data
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 5)
    mlflow.lightgbm.save_model(booster, tmp_path / "b", pip_requirements=pin("lightgbm"))
    import_mlflow(tmp_path / "b", tmp_path / "b-out")
    np.testing.assert_allclose(
        load_model(tmp_path / "b-out").predict(X_test), booster.predict(X_test)
    )

    clf = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    mlflow.lightgbm.save_model(clf, tmp_path / "c", pip_requirements=pin("lightgbm"))
    meta = import_mlflow(tmp_path / "c", tmp_path / "c-out").meta
    assert (meta.adapter, meta.format, meta.safe) == ("lightgbm", "text", True)
    loaded = load_model(tmp_path / "c-out")
    np.testing.assert_allclose(loaded.predict_proba(X_test), clf.predict_proba(X_test))


def test_onnx_is_copied_with_its_hash(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["X"], ["Y"])],
        "relu",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 3])],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    src = tmp_path / "mlflow-model"
    mlflow.onnx.save_model(proto, src, pip_requirements=pin("onnx", "onnxruntime"))
    meta = import_mlflow(src, tmp_path / "out").meta
    md5 = hashlib.md5((src / "model.onnx").read_bytes()).hexdigest()
    assert [(f.path, f.md5) for f in meta.files] == [("model.onnx", md5)]
    assert meta.methods["predict"].input == Signature("ndarray", dtype="float32", shape=(None, 3))
    x = np.array([[-1.0, 0.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "out").predict(x), np.maximum(x, 0))


def test_pytorch_exported_and_pickled(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x = torch.randn(5, 3)
    with torch.no_grad():
        want = net(x)
    mlflow.pytorch.save_model(net, tmp_path / "pt2", input_example=x.numpy(), pip_requirements=[])
    meta = import_mlflow(tmp_path / "pt2", tmp_path / "pt2-out").meta
    assert (meta.format, meta.safe) == ("export", True)
    spec = meta.methods["__call__"]
    assert spec.input == Signature("tensor", dtype="float32", shape=(None, 3))
    torch.testing.assert_close(load_model(tmp_path / "pt2-out")(x), want)

    mlflow.pytorch.save_model(
        net, tmp_path / "pkl", serialization_format="pickle", pip_requirements=[]
    )
    with pytest.raises(UnsafeModel, match="a pickled torch module"):
        import_mlflow(tmp_path / "pkl", tmp_path / "pkl-out")
    meta = import_mlflow(tmp_path / "pkl", tmp_path / "pkl-out", trust=True).meta
    assert (meta.format, meta.safe) == ("torchscript", True)  # safe from now on
    torch.testing.assert_close(load_model(tmp_path / "pkl-out")(x), want)


def test_unknown_flavor_lists_the_supported_ones(tmp_path: Path) -> None:
    src = tmp_path / "custom"
    src.mkdir()
    (src / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: my_loader\n  prophet:\n    data: m\n"
    )
    with pytest.raises(
        InvalidInput,
        match="MLflow flavor prophet cannot be imported; supported flavors: "
        "lightgbm, onnx, pytorch, sklearn, xgboost",
    ):
        import_mlflow(src, tmp_path / "out")


def test_an_existing_output_is_not_overwritten(tmp_path: Path, data: tuple) -> None:
    X, y, _ = data
    src = tmp_path / "mlflow-model"
    mlflow.xgboost.save_model(xgb.XGBClassifier(n_estimators=2).fit(X, y), src, pip_requirements=[])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="already exists"):
        import_mlflow(src, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_cli_import_mlflow(lm: Cli, repo: GitRepo, data: tuple) -> None:
    X, y, X_test = data
    model = LogisticRegression().fit(X, y)
    src = repo.path / "mlruns-model"
    mlflow.sklearn.save_model(
        model, src, serialization_format="pickle", pip_requirements=pin("scikit-learn")
    )
    refused = lm("import-mlflow", "mlruns-model", "-o", "churn", ok=False)
    assert refused.exit_code == 11 and refused.output.count("\n") == 1
    assert "pass --trust (trust=True) only if you trust its source" in refused.output
    out = lm("import-mlflow", "mlruns-model", "-o", "churn", "--trust").output
    assert out.startswith("Imported MLflow sklearn model mlruns-model to churn (sklearn, ")
    assert "skops, safe)" in out
    loaded = load_model(repo.path / "churn")
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    missing = lm("import-mlflow", "nowhere", ok=False)
    assert missing.exit_code == 3 and "no MLmodel file" in missing.output
