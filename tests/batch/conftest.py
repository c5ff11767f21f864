"""Models saved by landmark.save_model and input files in every format, for the batch tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ..churn import frame, train

LANDMARK = [str(Path(sys.executable).parent / "landmark")]


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
