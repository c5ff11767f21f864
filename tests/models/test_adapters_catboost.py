"""CatBoost adapter: classifiers and regressors round-trip through the ``.cbm`` format."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import catboost
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_regression

from landmark import load_model, save_model
from landmark.errors import InvalidInput, SignatureError
from landmark.models.adapter import adapter_for
from landmark.models.meta import read_meta, write_meta

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned

QUIET = {"verbose": False, "allow_writing_files": False, "thread_count": 1}


def churn(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "tenure": rng.integers(0, 60, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "spend": rng.normal(50, 10, n),
        }
    )
    y = np.where((df["tenure"] < 20) & (df["plan"] == "basic"), "churn", "stay")
    return df, y


def test_classifier_with_categorical_column_round_trip(tmp_path: Path) -> None:
    df, y = churn(200, 0)
    model = catboost.CatBoostClassifier(iterations=20, depth=3, cat_features=["plan"], **QUIET)
    model.fit(df[:150], y[:150])
    assert adapter_for(model).name == "catboost"
    meta = save_model(model, tmp_path / "m", df[:10])
    assert (meta.adapter, meta.format, meta.safe) == ("catboost", "cbm", True)
    assert meta.extra["class"] == "catboost.core.CatBoostClassifier"
    loaded = load_model(tmp_path / "m")
    assert type(loaded.native) is catboost.CatBoostClassifier
    test = df[150:]
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    np.testing.assert_allclose(loaded.predict_proba(test), model.predict_proba(test))
    assert list(loaded.native.classes_) == ["churn", "stay"]
    with pytest.raises(
        SignatureError, match=r"column 'tenure' has dtype \w+, the model expects int64"
    ):
        loaded.predict(test.assign(tenure="long"))
    pins = {r.name.lower(): r.version for r in meta.requirements}
    assert pins["catboost"] == version("catboost") and pins["pandas"] == version("pandas")


def test_regressor_on_arrays(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=150, n_features=4, random_state=1)
    model = catboost.CatBoostRegressor(iterations=15, depth=2, **QUIET).fit(X[:120], y[:120])
    meta = save_model(model, tmp_path / "reg", X[:5])
    assert set(meta.methods) == {"predict"}
    loaded = load_model(tmp_path / "reg")
    np.testing.assert_allclose(loaded.predict(X[120:]), model.predict(X[120:]))
    with pytest.raises(SignatureError, match="has 1 dimensions, the model expects 2"):
        loaded.predict(X[120])


def test_only_catboost_classes_are_rebuilt(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=40, n_features=2, random_state=1)
    save_model(catboost.CatBoostRegressor(iterations=2, **QUIET).fit(X, y), tmp_path / "m")
    meta = read_meta(tmp_path / "m")
    write_meta(tmp_path / "m", meta.with_(extra={"class": "subprocess.Popen"}))
    with pytest.raises(InvalidInput, match="not a CatBoost model class"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_model_file_is_one_error(tmp_path: Path, how: str) -> None:
    X, y = make_regression(n_samples=40, n_features=2, random_state=1)
    save_model(catboost.CatBoostRegressor(iterations=3, **QUIET).fit(X, y), tmp_path / "m", X[:5])
    check_damage(tmp_path / "m", "model.cbm", how)


def test_unsigned_damage_and_a_missing_file(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=40, n_features=2, random_state=1)
    model = catboost.CatBoostRegressor(iterations=3, **QUIET).fit(X, y)
    save_model(model, tmp_path / "a", X[:5])
    check_unsigned(tmp_path / "a", "model.cbm")
    save_model(model, tmp_path / "b", X[:5])
    check_missing(tmp_path / "b", "model.cbm")
