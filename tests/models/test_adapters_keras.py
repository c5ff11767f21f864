"""Keras adapter (Keras 3 on the torch backend): ``.keras`` files loaded in safe mode."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # no TensorFlow here; before keras is imported

from importlib.metadata import version as installed
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from landmark import load_model, save_model
from landmark.errors import SignatureError, UnsafeModel
from landmark.models.adapter import adapter_for
from landmark.models.meta import read_meta, write_meta
from landmark.models.signature import Signature

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned

# Keras' torch backend converts tensors the numpy-1 way; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def release(dist: str) -> str:
    """The installed version without a local label (torch's "+cpu"), as requirements pin it."""
    return installed(dist).split("+", 1)[0]


@pytest.fixture(scope="module")
def trained() -> tuple[Any, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 4)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype("int64")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X[:120], y[:120], epochs=3, batch_size=32, verbose=0)
    return model, X[:120], X[120:]


def test_round_trip_in_safe_mode(tmp_path: Path, trained: tuple) -> None:
    model, X, X_test = trained
    assert adapter_for(model).name == "keras"  # not torch, though it is a torch Module too
    meta = save_model(model, tmp_path / "m", X[:10])
    assert (meta.adapter, meta.format, meta.safe) == ("keras", "keras", True)
    assert [f.path for f in meta.files] == ["model.keras"]
    assert meta.extra["backend"] == "torch"
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded.native, keras.Model)
    np.testing.assert_allclose(
        loaded.predict(X_test), model.predict(X_test, verbose=0), rtol=1e-5, atol=1e-6
    )
    spec = meta.methods["predict"]
    # from the sample: no missing values in it, so none are accepted
    assert spec.input == Signature("ndarray", dtype="float32", shape=(None, 4), missing=False)
    assert spec.output == Signature("ndarray", dtype="float32", shape=(None, 2), missing=False)
    with pytest.raises(SignatureError, match="dimension 1 is 3, the model expects 4"):
        loaded.predict(X_test[:, :3])
    pins = {r.name.lower(): r.version for r in meta.requirements}
    assert pins["keras"] == release("keras") and pins["torch"] == release("torch")


def test_without_a_sample_the_graph_gives_the_signature(tmp_path: Path, trained: tuple) -> None:
    model, _, _ = trained
    meta = save_model(model, tmp_path / "m")
    spec = meta.methods["predict"]
    assert spec.input == Signature("ndarray", dtype="float32", shape=(None, 4))
    assert spec.output.shape == (None, 2)


def test_a_python_lambda_makes_the_model_unsafe(tmp_path: Path, trained: tuple) -> None:
    _, X, X_test = trained
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(1)]
    )
    meta = save_model(model, tmp_path / "lam", X[:5])
    assert not meta.safe
    with pytest.raises(UnsafeModel, match="pass trust=True"):
        load_model(tmp_path / "lam")
    loaded = load_model(tmp_path / "lam", trust=True)
    np.testing.assert_allclose(
        loaded.predict(X_test), model.predict(X_test, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_model_file_is_one_error(tmp_path: Path, trained: tuple, how: str) -> None:
    model, X, _ = trained
    save_model(model, tmp_path / "m", X[:5])
    check_damage(tmp_path / "m", "model.keras", how)


def test_unsigned_damage_and_a_missing_file(tmp_path: Path, trained: tuple) -> None:
    model, X, _ = trained
    save_model(model, tmp_path / "a", X[:5])
    check_unsigned(tmp_path / "a", "model.keras")
    save_model(model, tmp_path / "b", X[:5])
    check_missing(tmp_path / "b", "model.keras")


def test_a_lambda_is_found_in_the_file_whatever_the_metadata_claims(
    tmp_path: Path, trained: tuple
) -> None:
    _, X, _ = trained
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2.0), keras.layers.Dense(1)]
    )
    save_model(model, tmp_path / "lam", X[:5])
    meta = read_meta(tmp_path / "lam")
    write_meta(tmp_path / "lam", meta.with_(safe=True))  # an edited claim
    with pytest.raises(UnsafeModel, match="has a Lambda layer holding Python bytecode"):
        load_model(tmp_path / "lam")
