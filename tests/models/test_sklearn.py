"""scikit-learn round trips: train in the test, save, load, same predictions on held-out data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from landmark import load_model, save_model
from landmark.errors import InvalidInput, SignatureError, UnsafeModel
from landmark.models.meta import META_FILE, read_meta


def classification() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    return X[:150], y[:150], X[150:], y[150:]


def churn_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "tenure": rng.integers(0, 60, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "spend": rng.normal(50, 10, n),
        }
    )
    y = ((df["tenure"] < 12) & (df["plan"] == "basic")).to_numpy().astype(int)
    return df, y


def test_classifier_round_trip(tmp_path: Path) -> None:
    X, y, X_test, _ = classification()
    model = LogisticRegression().fit(X, y)
    meta = save_model(model, tmp_path / "clf", X[:10], description="demo", labels=["tabular"])
    assert meta.adapter == "sklearn" and meta.format == "skops" and meta.safe
    assert set(meta.methods) == {
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
    }
    loaded = load_model(tmp_path / "clf")
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test))
    assert loaded(X_test).tolist() == model.predict(X_test).tolist()  # first method
    spec = loaded.meta.methods["predict_proba"]
    assert spec.input.shape == (None, 5) and spec.input.dtype == "float64"
    assert spec.output.shape == (None, 2)
    assert loaded.meta.description == "demo" and loaded.meta.labels == ("tabular",)
    assert type(loaded.native) is LogisticRegression


def test_regressor_round_trip(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=120, n_features=4, random_state=1)
    model = Ridge().fit(X[:100], y[:100])
    save_model(model, tmp_path / "reg", X[:5])
    loaded = load_model(tmp_path / "reg")
    assert loaded.methods == ("predict",)
    np.testing.assert_allclose(loaded.predict(X[100:]), model.predict(X[100:]))


def test_tree_models_need_trust_as_skops_says(tmp_path: Path) -> None:
    # skops 0.16 leaves sklearn's Tree out of its trusted types: a crafted node array can
    # crash predict(). landmark records that and asks for trust, naming the type.
    X, y = make_regression(n_samples=120, n_features=4, random_state=1)
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(X[:100], y[:100])
    meta = save_model(model, tmp_path / "forest", X[:5])
    assert not meta.safe and "sklearn.tree._tree.Tree" in meta.extra["untrusted_types"]
    with pytest.raises(UnsafeModel, match=r"skops does not trust \(sklearn.tree._tree.Tree\)"):
        load_model(tmp_path / "forest")
    loaded = load_model(tmp_path / "forest", trust=True)
    np.testing.assert_allclose(loaded.predict(X[100:]), model.predict(X[100:]))


def test_pipeline_with_column_transformer_on_a_dataframe(tmp_path: Path) -> None:
    df, y = churn_frame(300, 0)
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["tenure", "spend"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    ).fit(df, y)
    meta = save_model(pipe, tmp_path / "pipe", df.head())
    assert meta.safe and "untrusted_types" not in meta.extra
    assert [c.name for c in meta.methods["predict"].input.columns] == ["tenure", "plan", "spend"]
    held_out, _ = churn_frame(50, 1)
    loaded = load_model(tmp_path / "pipe")
    np.testing.assert_array_equal(loaded.predict(held_out), pipe.predict(held_out))
    # columns in another order are put back in the signature's order
    np.testing.assert_array_equal(
        loaded.predict(held_out[["spend", "plan", "tenure"]]), pipe.predict(held_out)
    )
    with pytest.raises(SignatureError, match="missing column 'plan'"):
        loaded.predict(held_out.drop(columns="plan"))
    with pytest.raises(SignatureError, match="column 'tenure' has dtype"):
        loaded.predict(held_out.assign(tenure="long"))
    # the check can be skipped; then the model's own error surfaces
    with pytest.raises(ValueError):
        loaded.predict.__call__(held_out.drop(columns="plan"), check=False)


def test_metadata_file_is_readable_yaml_with_hashes(tmp_path: Path) -> None:
    X, y, _, _ = classification()
    save_model(LogisticRegression().fit(X, y), tmp_path / "m", X[:3])
    text = (tmp_path / "m" / META_FILE).read_text()
    assert text.startswith("landmark_model: 1\nadapter: sklearn\n")
    meta = read_meta(tmp_path / "m")
    [entry] = meta.files
    assert entry.path == "model.skops" and len(entry.md5) == 32
    assert entry.size == (tmp_path / "m" / "model.skops").stat().st_size
    assert meta.python.count(".") == 2 and meta.created.endswith("Z")


def test_without_sample_the_methods_check_nothing(tmp_path: Path) -> None:
    X, y, X_test, _ = classification()
    model = LogisticRegression().fit(X, y)
    meta = save_model(model, tmp_path / "m", methods=["predict"])
    assert list(meta.methods) == ["predict"]
    assert meta.methods["predict"].input.kind == "unknown"
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(X_test), model.predict(X_test))


def test_methods_the_model_lacks_are_refused(tmp_path: Path) -> None:
    X, y, _, _ = classification()
    with pytest.raises(InvalidInput, match="has no method 'transform'"):
        save_model(LogisticRegression().fit(X, y), tmp_path / "m", methods=["transform"])
    assert not (tmp_path / "m").exists()


def test_predict_proba_absent_when_the_estimator_cannot(tmp_path: Path) -> None:
    X, y, _, _ = classification()
    meta = save_model(SVC().fit(X, y), tmp_path / "svc", X[:4])
    assert "predict_proba" not in meta.methods and "decision_function" in meta.methods
    loaded = load_model(tmp_path / "svc")
    with pytest.raises(AttributeError, match=r"no attribute 'predict_proba' \(methods: predict"):
        loaded.predict_proba  # noqa: B018


def test_pickle_and_joblib_formats_need_trust(tmp_path: Path) -> None:
    X, y, X_test, _ = classification()
    model = LogisticRegression().fit(X, y)
    for fmt in ("pickle", "joblib"):
        meta = save_model(model, tmp_path / fmt, X[:3], format=fmt)
        assert meta.format == fmt and not meta.safe
        with pytest.raises(UnsafeModel, match=f"saved as {fmt}, which can run code"):
            load_model(tmp_path / fmt)
        loaded = load_model(tmp_path / fmt, trust=True)
        np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))


def test_saving_again_replaces_the_model(tmp_path: Path) -> None:
    X, y, _, _ = classification()
    save_model(LogisticRegression().fit(X, y), tmp_path / "m", X[:3], format="pickle")
    save_model(LogisticRegression(C=0.1).fit(X, y), tmp_path / "m", X[:3])
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [META_FILE, "model.skops"]
    assert load_model(tmp_path / "m").native.C == 0.1
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp folders left


def test_a_folder_with_other_files_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.csv").write_text("a\n")
    X, y, _, _ = classification()
    with pytest.raises(InvalidInput, match="folder with other files"):
        save_model(LogisticRegression().fit(X, y), tmp_path / "data")
    assert (tmp_path / "data" / "keep.csv").exists()


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    X, y, _, _ = classification()
    with pytest.raises(InvalidInput, match="unknown scikit-learn format 'onnx'"):
        save_model(LogisticRegression().fit(X, y), tmp_path / "m", format="onnx")
