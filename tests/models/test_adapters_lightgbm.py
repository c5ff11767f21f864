"""LightGBM adapter: text model format for boosters and rebuilt scikit-learn wrappers."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression

from landmark import load_model, save_model
from landmark.errors import ConfigError, InvalidInput, SignatureError
from landmark.models.adapter import adapter_for
from landmark.models.meta import read_meta, write_meta

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned


def frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(n_samples=n, n_features=4, n_informative=2, random_state=seed)
    df = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
    return df, np.where(y == 1, "churn", "stay")


def test_classifier_with_string_labels_round_trip(tmp_path: Path) -> None:
    df, y = frame(200, 0)
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(df[:150], y[:150])
    assert adapter_for(model).name == "lightgbm"
    meta = save_model(model, tmp_path / "m", df[:10])
    assert (meta.adapter, meta.format, meta.safe) == ("lightgbm", "text", True)
    assert [f.path for f in meta.files] == ["model.txt"]
    assert meta.extra["sklearn"]["classes"] == ["churn", "stay"]
    loaded = load_model(tmp_path / "m")
    assert type(loaded.native) is lgb.LGBMClassifier
    test = df[150:]
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    np.testing.assert_allclose(loaded.predict_proba(test), model.predict_proba(test))
    assert list(loaded.native.classes_) == ["churn", "stay"]
    assert list(loaded.native.feature_names_in_) == ["f0", "f1", "f2", "f3"]
    spec = meta.methods["predict"].input
    assert spec.kind == "dataframe" and [c.dtype for c in spec.columns] == ["float64"] * 4
    with pytest.raises(
        SignatureError, match=r"column 'f2' has dtype \w+, the model expects float64"
    ):
        loaded.predict(test.assign(f2="x"))
    pins = {r.name.lower(): r.version for r in meta.requirements}
    assert pins["lightgbm"] == version("lightgbm") and pins["pandas"] == version("pandas")


def test_multiclass_on_arrays(tmp_path: Path) -> None:
    X, y = make_classification(
        n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=3
    )
    model = lgb.LGBMClassifier(n_estimators=8, verbose=-1).fit(X[:200], y[:200])
    save_model(model, tmp_path / "m", X[:5])
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(X[200:]), model.predict_proba(X[200:]))
    np.testing.assert_array_equal(loaded.predict(X[200:]), model.predict(X[200:]))
    with pytest.raises(SignatureError, match="dimension 1 is 5, the model expects 6"):
        loaded.predict(X[200:, :5])


def test_regressor_and_booster(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=150, n_features=3, random_state=4)
    reg = lgb.LGBMRegressor(n_estimators=10, verbose=-1).fit(X[:120], y[:120])
    save_model(reg, tmp_path / "reg", X[:5])
    np.testing.assert_allclose(load_model(tmp_path / "reg").predict(X[120:]), reg.predict(X[120:]))

    booster = lgb.train(
        {"objective": "regression", "verbose": -1}, lgb.Dataset(X[:120], y[:120]), 5
    )
    meta = save_model(booster, tmp_path / "booster", X[:5])
    assert "sklearn" not in meta.extra and set(meta.methods) == {"predict"}
    loaded = load_model(tmp_path / "booster")
    assert isinstance(loaded.native, lgb.Booster)
    np.testing.assert_allclose(loaded.predict(X[120:]), booster.predict(X[120:]))


def test_custom_objective_cannot_be_written_as_text(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=60, n_features=2, random_state=5)

    def squared(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return y_pred - y_true, np.ones_like(y_true)

    model = lgb.LGBMRegressor(n_estimators=3, objective=squared, verbose=-1).fit(X, y)
    with pytest.raises(InvalidInput, match="custom objective function"):
        save_model(model, tmp_path / "m", X[:5])
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_model_file_is_one_error(tmp_path: Path, how: str) -> None:
    df, y = frame(80, 1)
    model = lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(df, y)
    save_model(model, tmp_path / "m", df[:5])
    check_damage(tmp_path / "m", "model.txt", how)


def test_unsigned_damage_and_a_missing_file(tmp_path: Path) -> None:
    df, y = frame(80, 1)
    model = lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(df, y)
    save_model(model, tmp_path / "a", df[:5])
    check_unsigned(tmp_path / "a", "model.txt")
    save_model(model, tmp_path / "b", df[:5])
    check_missing(tmp_path / "b", "model.txt")


def test_damaged_wrapper_settings_are_a_config_error(tmp_path: Path) -> None:
    df, y = frame(80, 1)
    model = lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(df, y)
    save_model(model, tmp_path / "m", df[:5])
    meta = read_meta(tmp_path / "m")
    state = dict(meta.extra["sklearn"], params=["not", "a", "mapping"])
    write_meta(tmp_path / "m", meta.with_(extra={"sklearn": state}))
    with pytest.raises(ConfigError, match=r"malformed LightGBM wrapper settings in landmark\.yaml"):
        load_model(tmp_path / "m")
