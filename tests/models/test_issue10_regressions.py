"""Issue 10, part 5, in the form it was reported: each case is one landmark error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from landmark import load_model, save_model
from landmark.errors import SignatureError, UnsafeModel
from landmark.models.meta import read_meta, write_meta

from ..conftest import Cli, GitRepo


def _frame(age: object = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": pd.array([20, 30, 40, 50], dtype="Int64") if age is None else age,
            "score": [0.1, 0.9, 0.4, 0.8],
        }
    )


@pytest.fixture
def model(tmp_path: Path) -> Path:
    df = _frame()
    save_model(LogisticRegression().fit(df.astype(float), [0, 1, 0, 1]), tmp_path / "m", df)
    return tmp_path / "m"


def _one_line(error: pytest.ExceptionInfo[SignatureError]) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def test_pd_na_in_a_nullable_column_is_one_signature_error(model: Path) -> None:
    loaded = load_model(model)
    bad = _frame(pd.array([20, pd.NA, 40, 50], dtype="Int64"))
    with pytest.raises(SignatureError) as e:
        loaded.predict(bad)
    assert "column 'age' has 1 missing value" in _one_line(e)


def test_nan_is_refused_where_the_sample_had_none(model: Path) -> None:
    bad = _frame().astype({"score": float})
    bad.loc[2, "score"] = np.nan
    with pytest.raises(SignatureError) as e:
        load_model(model).predict(bad)
    assert "column 'score' has 1 missing value" in _one_line(e)


def test_missing_values_are_allowed_where_the_sample_had_some(tmp_path: Path) -> None:
    df = pd.DataFrame({"age": [20.0, np.nan, 40.0, 50.0], "score": [0.1, 0.9, 0.4, 0.8]})
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(SimpleImputer(), LogisticRegression()).fit(df, [0, 1, 0, 1])
    save_model(pipe, tmp_path / "m", df)
    # (skops does not trust the imputer's numpy.dtype: trust is about safety, not this test.)
    assert len(load_model(tmp_path / "m", trust=True).predict(df)) == 4


def test_a_duplicated_column_is_one_signature_error(model: Path) -> None:
    bad = pd.concat([_frame(), _frame()[["score"]]], axis=1)
    with pytest.raises(SignatureError) as e:
        load_model(model).predict(bad)
    assert "duplicated column 'score'" in _one_line(e)


def test_an_empty_frame_is_refused_before_the_model_runs(model: Path) -> None:
    with pytest.raises(SignatureError) as e:
        load_model(model).predict(_frame().iloc[:0])
    assert "no rows" in _one_line(e)


def test_describe_model_reports_the_files_verdict_not_the_claim(
    lm: Cli, repo: GitRepo, tmp_path: Path
) -> None:
    df = _frame().astype(float)
    save_model(LogisticRegression().fit(df, [0, 1, 0, 1]), repo.path / "m", df, format="pickle")
    meta = read_meta(repo.path / "m")
    write_meta(repo.path / "m", meta.with_(safe=True))  # an edited landmark.yaml
    out = lm("describe-model", "m").output
    assert "safe:          no (landmark.yaml claims yes" in out
    assert "safe:          yes" not in out
    doc = json.loads(lm("describe-model", "m", "--json").output)
    assert doc["safe"] is False and doc["safety"]["claimed"] is True
    with pytest.raises(UnsafeModel):
        load_model(repo.path / "m")
