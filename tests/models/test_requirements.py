"""Requirements: exact versions of what the model is made of, nothing unrelated, no imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from landmark import save_model
from landmark.models.requirements import collect, distribution_of, modules_of


def frame(n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=n), "kind": rng.choice(["a", "b"], n)})
    return df, (df["x"] > 0).to_numpy().astype(int)


def pipeline_on_frame() -> tuple[Pipeline, pd.DataFrame]:
    df, y = frame()
    prep = ColumnTransformer([("n", StandardScaler(), ["x"]), ("c", OneHotEncoder(), ["kind"])])
    return make_pipeline(prep, LogisticRegression()).fit(df, y), df


def pinned(*names: str) -> dict[str, str]:
    return {metadata.distribution(n).metadata["Name"]: metadata.version(n) for n in names}


def test_pipeline_on_a_dataframe_lists_exactly_its_stack(tmp_path: Path) -> None:
    model, df = pipeline_on_frame()
    meta = save_model(model, tmp_path / "m", df.head())
    found = {r.name: r.version for r in meta.requirements}
    assert found == pinned("scikit-learn", "numpy", "scipy", "pandas", "skops")
    assert meta.local_modules == ()
    assert meta.framework.name == "scikit-learn"
    assert meta.framework.version == metadata.version("scikit-learn")


def test_pandas_only_when_used(tmp_path: Path) -> None:
    X = np.random.default_rng(1).normal(size=(40, 3))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, X[:, 0] > 0)
    meta = save_model(model, tmp_path / "m", X[:5])
    assert [r.name for r in meta.requirements] == ["numpy", "scikit-learn", "scipy", "skops"]


def test_pickle_format_needs_no_skops(tmp_path: Path) -> None:
    X = np.random.default_rng(1).normal(size=(40, 3))
    meta = save_model(LogisticRegression().fit(X, X[:, 0] > 0), tmp_path / "m", format="pickle")
    assert [r.name for r in meta.requirements] == ["numpy", "scikit-learn", "scipy"]


def test_nothing_is_imported_and_no_process_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    model, df = pipeline_on_frame()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("requirements must not start a process")

    monkeypatch.setattr(subprocess, "Popen", forbidden)
    before = set(sys.modules)
    found = collect([model, df], ["scikit-learn", "numpy", "scipy"])
    new = {m.partition(".")[0] for m in set(sys.modules) - before}
    assert new <= set(sys.stdlib_module_names), new
    assert {r.name for r in found.requirements} == {"scikit-learn", "numpy", "scipy", "pandas"}


def test_a_users_own_module_is_reported_as_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "churnfeatures.py").write_text(
        textwrap.dedent(
            """
            from sklearn.base import BaseEstimator, TransformerMixin

            class Clip(TransformerMixin, BaseEstimator):
                def fit(self, X, y=None):
                    return self

                def transform(self, X):
                    return X.clip(-1, 1)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "churnfeatures", raising=False)
    import churnfeatures  # type: ignore[import-not-found]

    X = np.random.default_rng(2).normal(size=(30, 2))
    model = make_pipeline(churnfeatures.Clip(), LogisticRegression()).fit(X, X[:, 0] > 0)
    meta = save_model(model, tmp_path / "m", X[:3])
    assert meta.local_modules == ("churnfeatures",)
    assert "churnfeatures" not in {r.name for r in meta.requirements}
    # skops does not know the class either: loading it needs trust
    assert not meta.safe and meta.extra["untrusted_types"] == ["churnfeatures.Clip"]


def test_functions_bring_the_modules_they_use() -> None:
    import json

    def score(rows: list[float]) -> str:
        return json.dumps(np.asarray(rows).tolist())

    found = collect([score])
    assert [r.name for r in found.requirements] == ["numpy"]
    assert found.local_modules == ("tests",)  # the test module itself, by reference

    def lam(x: object) -> object:
        return pd.Series(x)

    assert [r.name for r in collect([lam]).requirements] == ["pandas"]


def test_module_names_map_to_distribution_names() -> None:
    assert distribution_of("sklearn") == ("scikit-learn", metadata.version("scikit-learn"))
    assert distribution_of("_pytest") == ("pytest", metadata.version("pytest"))
    assert distribution_of("ruamel") == ("ruamel.yaml", metadata.version("ruamel.yaml"))
    assert distribution_of("surely_not_installed_anywhere") is None


def test_modules_of_walks_pipeline_steps() -> None:
    model, _ = pipeline_on_frame()
    mods = modules_of(model)
    assert "sklearn.preprocessing._encoders" in mods  # OneHotEncoder inside the ColumnTransformer
    assert "sklearn.linear_model._logistic" in mods
    assert any(m.startswith("numpy") for m in mods)
