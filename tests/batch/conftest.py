"""Models saved by landmark.save_model and input files in every format, for the batch tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

LANDMARK = [str(Path(sys.executable).parent / "landmark")]
COLUMNS = ["tenure", "charges", "age", "calls"]


def frame(n: int, seed: int = 0) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, n).astype("int64"),
            "charges": rng.normal(70, 20, n),
            "age": rng.normal(40, 12, n),
            "calls": rng.integers(0, 10, n).astype("int64"),
        }
    )


def train(seed: int = 0) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = frame(400, seed)
    y = ((x.tenure / 72 + x.calls / 10 - x.charges / 140) > 0.6).astype("int64")
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)


def write(df: Any, path: Path) -> Path:
    """``df`` as CSV, Parquet or JSON lines, by the extension of ``path``."""
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        with open(path, "w") as fh:
            for record in df.to_dict("records"):
                fh.write(json.dumps(record) + "\n")
    return path


def read(path: Path) -> Any:
    import pandas as pd

    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True)


@pytest.fixture(scope="session")
def pipe() -> Any:
    return train()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, pipe: Any) -> Path:
    import landmark

    path = tmp_path_factory.mktemp("models") / "churn"
    landmark.save_model(pipe, path, sample_input=frame(50))
    return path


@pytest.fixture(scope="session")
def model(model_dir: Path) -> Any:
    import landmark

    return landmark.load_model(model_dir)


@pytest.fixture
def rows() -> Any:
    """60 rows to score, with an id column the model does not take (it is passed through)."""
    df = frame(60, seed=1)
    df.insert(0, "id", [f"c{i}" for i in range(60)])
    return df
