"""Safety: code-running formats load only with trust; a crafted pickle never runs without it."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from landmark import load_model, save_model
from landmark.errors import IntegrityError, UnsafeModel
from landmark.models.meta import read_meta, write_meta


class Explode:
    """Unpickling this creates a file: the stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def plant(
    directory: Path, filename: str, adapter: str, fmt: str, payload: bytes, *, safe: bool
) -> None:
    """A model directory whose file is attacker-made; ``safe`` is what the metadata claims."""
    directory.mkdir()
    (directory / filename).write_bytes(payload)
    (directory / "landmark.yaml").write_text(
        "landmark_model: 1\n"
        f"adapter: {adapter}\n"
        "framework: {name: x, version: '1'}\n"
        f"format: {fmt}\n"
        f"safe: {'true' if safe else 'false'}\n"
        f"files: [{{path: {filename}, md5: {hashlib.md5(payload).hexdigest()}, size: {len(payload)}}}]\n"
        "methods: {predict: {}}\n"
    )


@pytest.mark.parametrize(
    ("adapter", "fmt", "filename"),
    [
        ("sklearn", "pickle", "model.pkl"),
        ("sklearn", "joblib", "model.joblib"),
        ("callable", "cloudpickle", "model.cloudpickle"),
    ],
)
@pytest.mark.parametrize("claims_safe", [False, True])
def test_a_malicious_pickle_never_runs_without_trust(
    tmp_path: Path, adapter: str, fmt: str, filename: str, claims_safe: bool
) -> None:
    marker = tmp_path / "pwned"
    plant(tmp_path / "m", filename, adapter, fmt, pickle.dumps(Explode(marker)), safe=claims_safe)
    # Even metadata edited to claim ``safe: true`` does not get the file unpickled.
    with pytest.raises(UnsafeModel, match="which can run code when loaded") as info:
        load_model(tmp_path / "m")
    assert "\n" not in str(info.value) and "trust=True (--trust)" in str(info.value)
    assert info.value.exit_code == 11
    assert not marker.exists()
    # With trust the pickle is loaded, and does what it was made to do: trust is the gate.
    load_model(tmp_path / "m", trust=True)
    assert marker.exists()


class Homemade(ClassifierMixin, BaseEstimator):
    """An estimator class skops does not know: loading it must be trusted."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> Homemade:
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.mean_ > 0.5)


def test_skops_file_with_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    X = np.zeros((4, 2))
    meta = save_model(Homemade().fit(X, np.array([1, 1, 0, 1])), tmp_path / "m", X)
    assert not meta.safe
    untrusted = f"{__name__}.Homemade"
    assert meta.extra["untrusted_types"] == [untrusted]
    with pytest.raises(UnsafeModel, match=f"skops does not trust \\({untrusted}\\)"):
        load_model(tmp_path / "m")
    # the adapter checks the file itself, not just the metadata's flag
    write_meta(tmp_path / "m", read_meta(tmp_path / "m").with_(safe=True, extra={}))
    with pytest.raises(UnsafeModel, match=f"holds types skops does not trust \\({untrusted}\\)"):
        load_model(tmp_path / "m")
    assert load_model(tmp_path / "m", trust=True).predict(X).tolist() == [True] * 4


def test_changed_model_files_are_caught(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(20, 2))
    save_model(LogisticRegression().fit(X, X[:, 0] > 0), tmp_path / "m", X)
    path = tmp_path / "m" / "model.skops"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"does not match the md5 in landmark\.yaml"):
        load_model(tmp_path / "m")
    path.unlink()
    with pytest.raises(IntegrityError, match=r"model\.skops is missing"):
        load_model(tmp_path / "m")


def test_callable_models_are_never_safe(tmp_path: Path) -> None:
    def double(rows: list[float]) -> list[float]:
        return [2 * r for r in rows]

    meta = save_model(double, tmp_path / "f", [1.0, 2.0])
    assert meta.adapter == "callable" and meta.format == "cloudpickle" and not meta.safe
    assert list(meta.methods) == ["__call__"]
    assert "cloudpickle" in {r.name for r in meta.requirements}
    with pytest.raises(UnsafeModel, match="saved as cloudpickle"):
        load_model(tmp_path / "f")
    model = load_model(tmp_path / "f", trust=True)
    assert model([1, 2.5]) == [2.0, 5.0]  # ints cast to the float the sample had
