"""The synthetic churn table and the pipeline trained on it, shared by the serving, batch and
Spark tests (numeric columns of two dtypes; a StandardScaler + LogisticRegression pipeline)."""

from __future__ import annotations

from typing import Any

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


def train(c: float = 1.0, seed: int = 0) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = frame(400, seed)
    y = ((x.tenure / 72 + x.calls / 10 - x.charges / 140) > 0.6).astype("int64")
    return make_pipeline(StandardScaler(), LogisticRegression(C=c)).fit(x, y)
