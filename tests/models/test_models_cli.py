"""The model commands: describe-model and log-model, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression

from landmark import save_model
from landmark.models.meta import read_meta

from ..conftest import Cli, GitRepo


def saved(where: Path, fmt: str | None = None) -> Path:
    df = pd.DataFrame({"age": [20, 30, 40, 50], "score": [0.1, 0.9, 0.4, 0.8]})
    model = LogisticRegression().fit(df, [0, 1, 0, 1])
    save_model(model, where, df, description="test model", format=fmt)
    return where


def test_describe_model_prints_methods_requirements_and_safety(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "m")
    out = lm("describe-model", "m").output
    assert "adapter:       sklearn (scikit-learn " in out
    assert "safe:          yes" in out
    assert "  predict(DataFrame[age: int64, score: float64]) -> ndarray[int64, (*,)]" in out
    assert (
        "  predict_proba(DataFrame[age: int64, score: float64]) -> ndarray[float64, (*, 2)]" in out
    )
    assert "  pandas==" in out and "  scikit-learn==" in out
    assert "description:   test model" in out


def test_describe_model_json_is_the_metadata(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "m")
    doc = json.loads(lm("describe-model", "m", "--json").output)
    safety = doc.pop("safety")
    assert doc == read_meta(repo.path / "m").to_dict()
    assert safety == {"safe": True, "claimed": True, "files_safe": True, "reason": None}


def test_describe_model_says_when_trust_is_needed(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "m", fmt="pickle")
    out = lm("describe-model", "m").output
    assert "format:        pickle" in out
    assert "safe:          no: loading can run code, load it with --trust / trust=True" in out


def test_describe_model_of_a_plain_folder_fails_in_one_line(lm: Cli, repo: GitRepo) -> None:
    (repo.path / "empty").mkdir()
    result = lm("describe-model", "empty", ok=False)
    assert result.exit_code == 3
    assert result.output.strip().count("\n") == 0
    assert "not a landmark model directory" in result.output


def test_log_model_with_metrics_params_commit_and_register(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "models" / "clf")
    (repo.path / "m.json").write_text('{"accuracy": 0.8, "loss": [0.5, 0.4]}')
    (repo.path / "p.yaml").write_text("C: 1.0\nsolver: lbfgs\n")
    out = lm(
        "log-model", "models/clf", "clf", "--metrics", "m.json", "--params", "p.yaml",
        "--commit", "--register", "minor", "--label", "tabular",
    ).output  # fmt: skip
    assert "Logged clf: models/clf (sklearn, scikit-learn " in out
    assert "Metrics and params in dvclive/clf" in out
    assert "Created git tag 'clf@v0.1.0' that registers version" in out
    assert repo.tags() == ["clf@v0.1.0"]
    assert json.loads((repo.path / "dvclive/clf/metrics.json").read_text())["loss"] == 0.4
    status = repo.status().splitlines()
    assert status == ["?? m.json", "?? p.yaml"]  # the inputs, not part of the log
    assert "clf" in json.loads(lm("show", "--json").output)


def test_log_model_register_flag_without_value(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "models" / "clf")
    out = lm("log-model", "models/clf", "clf", "--register", "--commit").output
    assert "clf@v0.0.1" in out


def test_log_model_register_without_commit_is_one_line_exit_2(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "models" / "clf")
    result = lm("log-model", "models/clf", "clf", "--register", ok=False)
    assert result.exit_code == 2
    assert result.output.startswith("error: register needs commit=True (--commit)")
    assert result.output.count("\n") == 1
    assert repo.status() == "?? models/"


def test_log_model_without_commit_says_what_to_add(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "models" / "clf")
    out = lm("log-model", "models/clf", "clf").output
    assert "To commit: git add models/clf.dvc" in out and "dvc.yaml" in out


def test_help_imports_no_model_framework() -> None:
    code = (
        "import sys\n"
        "from landmark.cli import main\n"
        "main(['--help'])\n"
        "heavy = [m for m in ('numpy', 'pandas', 'sklearn', 'skops', 'landmark.models.api')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_log_model_values_file_must_be_a_mapping(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "models" / "clf")
    (repo.path / "m.json").write_text("[1, 2]")
    result = lm("log-model", "models/clf", "clf", "--metrics", "m.json", ok=False)
    assert result.exit_code == 2 and "metrics must be a mapping" in result.output


def test_describe_model_by_registry_ref(lm: Cli, repo: GitRepo) -> None:
    saved(repo.path / "models" / "clf")
    lm("log-model", "models/clf", "clf", "--commit", "--register", "v1.0.0")
    out = lm("describe-model", "clf@v1.0.0").output
    assert out.startswith("model:         clf@v1.0.0\nadapter:       sklearn")
    result = lm("describe-model", "clf@v9.9.9", ok=False)
    assert result.exit_code == 3 and "matches no registered version" in result.output
