"""Every loaded model answers ``predict``: its own, else ``__call__`` (what a server exposes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landmark import NotFound, load_model, save_model


def test_a_function_answers_predict_with_call(tmp_path: Path) -> None:
    def double(x: list[float]) -> list[float]:
        return [v * 2 for v in x]

    save_model(double, tmp_path / "f", sample_input=[1.0], methods=["__call__"])
    loaded = load_model(tmp_path / "f", trust=True)
    assert loaded.predict([1.0, 2.5]) == [2.0, 5.0] == loaded([1.0, 2.5])
    assert loaded.default_method == "__call__"
    assert loaded.endpoints == ("predict",)
    with pytest.raises(NotFound, match="no method 'predict_proba'"):
        loaded.method("predict_proba")


def test_a_model_with_predict_keeps_its_own(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(40, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    save_model(model, tmp_path / "m", sample_input=x)
    loaded = load_model(tmp_path / "m")
    assert loaded.default_method == "predict"
    assert loaded.endpoints[0] == "predict" and "predict_proba" in loaded.endpoints
    assert np.array_equal(loaded.predict(x), model.predict(x))
