"""XGBoost adapter: boosters and sklearn wrappers round-trip through XGBoost's own formats."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import make_classification, make_regression

from landmark import load_model, save_model
from landmark.errors import InvalidInput, SignatureError
from landmark.models.adapter import adapter_for
from landmark.models.meta import read_meta, write_meta

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=200, n_features=5, n_informative=3, random_state=0)
    return X[:150], y[:150], X[150:]


def test_classifier_round_trip_in_ubj(tmp_path: Path, data: tuple[np.ndarray, ...]) -> None:
    X, y, X_test = data
    model = xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(X, y)
    assert adapter_for(model).name == "xgboost"  # before the scikit-learn adapter
    meta = save_model(model, tmp_path / "m", X[:10])
    assert (meta.adapter, meta.format, meta.safe) == ("xgboost", "ubj", True)
    assert [f.path for f in meta.files] == ["model.ubj"]
    assert set(meta.methods) == {"predict", "predict_proba"}
    loaded = load_model(tmp_path / "m")
    assert type(loaded.native) is xgb.XGBClassifier
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test))
    spec = meta.methods["predict_proba"]
    assert (spec.input.kind, spec.input.dtype, spec.input.shape) == (
        "ndarray",
        "float64",
        (None, 5),
    )
    assert spec.output.shape == (None, 2)
    with pytest.raises(SignatureError, match="dimension 1 is 4, the model expects 5"):
        loaded.predict(X_test[:, :4])


def test_requirements_pin_xgboost_and_what_the_wrapper_needs(
    tmp_path: Path, data: tuple[np.ndarray, ...]
) -> None:
    X, y, _ = data
    meta = save_model(xgb.XGBClassifier(n_estimators=2).fit(X, y), tmp_path / "m", X[:5])
    pins = {r.name.lower(): r.version for r in meta.requirements}
    assert pins["xgboost"] == version("xgboost")
    assert pins["numpy"] == version("numpy")
    assert pins["scikit-learn"] == version("scikit-learn")
    assert meta.framework.name == "xgboost" and meta.framework.version == version("xgboost")


def test_regressor_on_a_dataframe_in_json(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=120, n_features=3, random_state=2)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    model = xgb.XGBRegressor(n_estimators=10, max_depth=2).fit(df[:100], y[:100])
    meta = save_model(model, tmp_path / "reg", df[:10], format="json")
    assert meta.format == "json" and (tmp_path / "reg" / "model.json").is_file()
    loaded = load_model(tmp_path / "reg")
    np.testing.assert_allclose(loaded.predict(df[100:]), model.predict(df[100:]), rtol=1e-6)
    with pytest.raises(SignatureError, match=r"missing column 'c'"):
        loaded.predict(df[["a", "b"]])


def test_booster_predicts_on_arrays(tmp_path: Path, data: tuple[np.ndarray, ...]) -> None:
    X, y, X_test = data
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), 5
    )
    meta = save_model(booster, tmp_path / "b", X[:5])
    assert meta.extra["class"] == "xgboost.core.Booster" and meta.methods.keys() == {"predict"}
    loaded = load_model(tmp_path / "b")
    assert isinstance(loaded.native, xgb.Booster)
    np.testing.assert_allclose(loaded.predict(X_test), booster.predict(xgb.DMatrix(X_test)))


def test_a_damaged_class_name_is_refused_not_imported(
    tmp_path: Path, data: tuple[np.ndarray, ...]
) -> None:
    X, y, _ = data
    save_model(xgb.XGBClassifier(n_estimators=2).fit(X, y), tmp_path / "m")
    meta = read_meta(tmp_path / "m")
    write_meta(tmp_path / "m", meta.with_(extra={"class": "os.system"}))
    with pytest.raises(InvalidInput, match=r"'os\.system' is not an XGBoost estimator class"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_a_damaged_model_file_is_one_error(
    tmp_path: Path, data: tuple[np.ndarray, ...], fmt: str, how: str
) -> None:
    X, y, _ = data
    save_model(xgb.XGBClassifier(n_estimators=2).fit(X, y), tmp_path / "m", X[:5], format=fmt)
    check_damage(tmp_path / "m", f"model.{fmt}", how)


def test_unsigned_damage_and_a_missing_file(tmp_path: Path, data: tuple[np.ndarray, ...]) -> None:
    X, y, _ = data
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=y), 2)
    save_model(booster, tmp_path / "a", X[:5])
    check_unsigned(tmp_path / "a", "model.ubj")
    save_model(booster, tmp_path / "b", X[:5])
    check_missing(tmp_path / "b", "model.ubj")
