"""What log_model writes, read by the real dvc: metrics, params, plots and the tracked model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from landmark import log_model

from ..conftest import GitRepo
from ..storage.conftest import Dvc, dvc, dvc_bin  # noqa: F401 (fixtures)

pytestmark = pytest.mark.compat


def test_dvc_reads_what_log_model_wrote(repo: GitRepo, dvc: Dvc) -> None:  # noqa: F811
    dvc("init", "-q", cwd=repo.path)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "dvc init")
    X = np.random.default_rng(0).normal(size=(50, 2))
    model = LogisticRegression().fit(X, X[:, 0] > 0)
    log_model(
        model,
        "churn",
        metrics={"accuracy": 0.9, "train": {"loss": [0.6, 0.5, 0.2]}},
        params={"C": 1.0, "solver": "lbfgs"},
        commit=True,
        repo=repo.path,
    )
    metrics = json.loads(dvc("metrics", "show", "--json", cwd=repo.path))
    [workspace] = metrics.values()
    data = workspace["data"]["dvclive/churn/metrics.json"]["data"]
    assert data == {"step": 2, "accuracy": 0.9, "train": {"loss": 0.2}}
    params = json.loads(dvc("params", "diff", "--all", "--json", cwd=repo.path))
    assert params["dvclive/churn/params.yaml"]["solver"]["new"] == "lbfgs"
    assert params["dvclive/churn/params.yaml"]["C"]["new"] == 1.0
    plots = json.loads(dvc("plots", "show", "--json", "--split", cwd=repo.path))["data"]
    [plot] = plots["dvclive/churn/plots/metrics/train/loss.tsv"]
    points = plot["anchor_definitions"]["<DVC_METRIC_DATA>"]
    assert [(int(p["step"]), float(p["loss"])) for p in points] == [(0, 0.6), (1, 0.5), (2, 0.2)]
    assert plot["anchor_definitions"]["<DVC_METRIC_X_LABEL>"] == "step"
    # the model directory is tracked as dvc would track it: nothing to commit or to check out
    assert "up to date" in dvc("status", cwd=repo.path)
