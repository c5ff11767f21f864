"""log_model in a real git repo: save, track, annotate, DVCLive files, commit, register."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import landmark
from landmark import load_model, log_model, save_model
from landmark.errors import InvalidInput, NotFound
from landmark.yamlio import load as load_yaml

from ..conftest import Cli, GitRepo


def trained() -> tuple[LogisticRegression, np.ndarray]:
    X = np.random.default_rng(0).normal(size=(80, 3))
    return LogisticRegression().fit(X, X[:, 0] > 0), X


def dvc_yaml(repo: GitRepo, folder: str = "") -> dict[str, object]:
    path = repo.path / folder / "dvc.yaml"
    doc = load_yaml(path.read_bytes(), str(path))
    assert isinstance(doc, dict)
    return doc


def test_log_commit_and_register(repo: GitRepo, lm: Cli) -> None:
    model, X = trained()
    logged = log_model(
        model,
        "churn",
        metrics={"accuracy": 0.91, "loss": [0.7, 0.4, 0.3], "val": {"auc": 0.88}},
        params={"C": 1.0, "solver": "lbfgs", "features": ["a", "b", "c"]},
        sample_input=X[:5],
        description="Churn classifier",
        labels=["tabular", "prod-candidate"],
        commit=True,
        register=True,
        repo=repo.path,
    )
    assert logged.path == "models/churn"
    assert logged.version_name == "v0.0.1"
    assert logged.commit == repo.git("rev-parse", "HEAD")
    assert logged.meta.adapter == "sklearn" and logged.meta.safe
    # everything the log wrote is committed; the model bytes themselves are git-ignored
    assert repo.status() == ""
    committed = set(repo.git("show", "--name-only", "--format=", "HEAD").splitlines())
    assert committed == {
        ".dvc/config",  # made by this first log, as `dvc init` would
        ".dvc/.gitignore",
        "dvc.yaml",
        "models/.gitignore",
        "models/churn.dvc",
        "dvclive/churn/metrics.json",
        "dvclive/churn/params.yaml",
        "dvclive/churn/plots/metrics/loss.tsv",
    }
    assert "/churn" in (repo.path / "models" / ".gitignore").read_text().split()
    assert repo.git("log", "-1", "--format=%s") == "Log model churn"

    doc = dvc_yaml(repo)
    assert doc["artifacts"] == {
        "churn": {
            "path": "models/churn",
            "type": "model",
            "desc": "Churn classifier",
            "labels": ["tabular", "prod-candidate"],
        }
    }
    assert doc["metrics"] == ["dvclive/churn/metrics.json"]
    assert doc["params"] == ["dvclive/churn/params.yaml"]
    assert doc["plots"] == [{"dvclive/churn/plots/metrics": {"x": "step"}}]

    live = repo.path / "dvclive" / "churn"
    assert json.loads((live / "metrics.json").read_text()) == {
        "step": 2,
        "accuracy": 0.91,
        "loss": 0.3,
        "val": {"auc": 0.88},
    }
    assert (live / "plots/metrics/loss.tsv").read_text() == "step\tloss\n0\t0.7\n1\t0.4\n2\t0.3\n"
    assert load_yaml((live / "params.yaml").read_bytes(), "params.yaml") == {
        "C": 1.0,
        "solver": "lbfgs",
        "features": ["a", "b", "c"],
    }

    shown = lm("show", "--json").output
    assert json.loads(shown)["churn"]["version"] == "v0.0.1"
    assert "v0.0.1" in lm("show", "churn").output
    assert lm("describe", "churn@v0.0.1", "--path").output.strip() == "models/churn"
    loaded = load_model(repo.path / "models" / "churn")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_bumps_and_explicit_versions(repo: GitRepo) -> None:
    model, X = trained()
    first = log_model(model, "churn", commit=True, register="minor", repo=repo.path)
    assert first.version_name == "v0.1.0"  # the first version of a minor series
    repo.tick()
    model.set_params(C=0.5).fit(X, X[:, 0] > 0)
    second = log_model(model, "churn", commit=True, register="minor", repo=repo.path)
    assert second.version_name == "v0.2.0"
    repo.tick()
    third = log_model(
        model.set_params(C=0.1), "churn", commit=True, register="v1.0.0", repo=repo.path
    )
    assert third.version_name == "v1.0.0"
    assert repo.tags() == ["churn@v0.1.0", "churn@v0.2.0", "churn@v1.0.0"]
    assert len(repo.git("log", "--format=%H").splitlines()) == 4


def test_register_needs_commit_and_writes_nothing(repo: GitRepo) -> None:
    model, _ = trained()
    with pytest.raises(InvalidInput, match="register needs commit=True"):
        log_model(model, "churn", register=True, repo=repo.path)
    assert repo.status() == "" and not (repo.path / "models").exists()


def test_without_commit_files_are_left_for_the_user(repo: GitRepo) -> None:
    model, _ = trained()
    logged = log_model(model, "churn", metrics={"acc": 1}, repo=repo.path)
    assert logged.commit is None and logged.version is None
    assert set(logged.files) == {
        ".dvc/config",
        ".dvc/.gitignore",
        "models/churn.dvc",
        "models/.gitignore",
        "dvc.yaml",
        "dvclive/churn",
    }
    assert repo.git("rev-list", "--count", "HEAD") == "1"
    assert "?? dvc.yaml" in repo.status().splitlines()


def test_other_staged_changes_stay_out_of_the_commit(repo: GitRepo) -> None:
    (repo.path / "notes.txt").write_text("work in progress\n")
    repo.git("add", "notes.txt")
    model, _ = trained()
    log_model(model, "churn", commit=True, repo=repo.path)
    assert "notes.txt" not in repo.git("show", "--name-only", "--format=", "HEAD")
    assert repo.status() == "A  notes.txt"


def test_names_in_a_subfolder_use_that_folders_dvc_yaml(repo: GitRepo) -> None:
    model, _ = trained()
    logged = log_model(
        model, "teams/risk:scorer", metrics={"auc": 0.7}, commit=True, register=True, repo=repo.path
    )
    assert logged.path == "teams/risk/models/scorer"
    assert logged.version_name == "v0.0.1" and repo.tags() == [
        "teams/risk=scorer@v0.0.1"
    ]  # GTO writes ":" as "="
    doc = dvc_yaml(repo, "teams/risk")
    assert doc["artifacts"] == {"scorer": {"path": "models/scorer", "type": "model"}}
    assert doc["metrics"] == ["dvclive/scorer/metrics.json"]
    assert "plots" not in doc  # no series, no plots
    assert not (repo.path / "dvc.yaml").exists()


def test_an_already_saved_directory_is_used_in_place(repo: GitRepo) -> None:
    model, X = trained()
    save_model(model, repo.path / "artifacts" / "clf", X[:3])
    logged = log_model(repo.path / "artifacts" / "clf", "clf", commit=True, repo=repo.path)
    assert logged.path == "artifacts/clf"
    assert dvc_yaml(repo)["artifacts"] == {"clf": {"path": "artifacts/clf", "type": "model"}}
    assert (repo.path / "artifacts" / "clf.dvc").exists()


def test_a_folder_that_is_no_model_is_refused(repo: GitRepo) -> None:
    (repo.path / "stuff").mkdir()
    with pytest.raises(NotFound, match="not a landmark model directory"):
        log_model(repo.path / "stuff", "clf", repo=repo.path)


def test_existing_dvc_yaml_keeps_its_comments_and_entries(repo: GitRepo) -> None:
    repo.commit(
        {
            "dvc.yaml": "# project pipeline\nstages:\n  train:\n    cmd: python train.py\n"
            "metrics:\n  - eval/metrics.json\n"
        }
    )
    model, _ = trained()
    log_model(model, "churn", metrics={"acc": [0.1, 0.2]}, commit=True, repo=repo.path)
    text = (repo.path / "dvc.yaml").read_text()
    assert text.startswith("# project pipeline\nstages:\n")
    doc = dvc_yaml(repo)
    assert doc["metrics"] == ["eval/metrics.json", "dvclive/churn/metrics.json"]
    # logging again adds no duplicate entries
    repo.tick()
    log_model(model, "churn", metrics={"acc": [0.3]}, commit=True, repo=repo.path)
    assert dvc_yaml(repo)["metrics"] == ["eval/metrics.json", "dvclive/churn/metrics.json"]


def test_plots_images_and_points(repo: GitRepo, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 16
    (tmp_path / "roc.png").write_bytes(png)
    model, _ = trained()
    log_model(
        model,
        "churn",
        plots={
            "roc": tmp_path / "roc.png",
            "importance": [{"feature": "a", "weight": 0.5}, {"feature": "b", "weight": 0.2}],
        },
        repo=repo.path,
    )
    live = repo.path / "dvclive" / "churn" / "plots"
    assert (live / "images" / "roc.png").read_bytes() == png
    assert json.loads((live / "custom" / "importance.json").read_text())[0]["feature"] == "a"
    assert dvc_yaml(repo)["plots"] == [
        "dvclive/churn/plots/images/roc.png",
        "dvclive/churn/plots/custom/importance.json",
    ]


def test_bad_metric_values_are_refused(repo: GitRepo) -> None:
    model, _ = trained()
    with pytest.raises(InvalidInput, match="a series holds numbers only"):
        log_model(model, "churn", metrics={"loss": [0.1, "x"]}, repo=repo.path)
    with pytest.raises(InvalidInput, match=r"invalid metric name '\.\./up'"):
        log_model(model, "churn", metrics={"../up": 1}, repo=repo.path)


def test_top_level_names_are_lazy() -> None:
    assert landmark.log_model is log_model
    assert "log_model" in landmark.__all__ and "load_model" in landmark.__all__


def test_load_by_registry_ref(repo: GitRepo) -> None:
    model, X = trained()
    log_model(model, "churn", commit=True, register=True, repo=repo.path)
    landmark.assign("churn", "prod", version="v0.0.1", repo=repo.path)
    repo.tick()
    newer = LogisticRegression(C=0.01).fit(X, X[:, 0] > 0)
    log_model(newer, "churn", commit=True, register=True, repo=repo.path)
    by_version = load_model("churn@v0.0.1", repo=repo.path)
    assert by_version.native.C == 1.0
    assert load_model("churn#prod", repo=repo.path).native.C == 1.0
    assert load_model("churn@latest", repo=repo.path).native.C == 0.01
    # fetched once into the user cache, keyed by content
    assert by_version.path.parent.name == "models"
    assert load_model("churn@v0.0.1", repo=repo.path).path == by_version.path
    with pytest.raises(NotFound, match="not a model directory; from the registry, load NAME@"):
        load_model("churn")


def test_load_by_ref_from_a_remote_repo_url(
    repo: GitRepo, lm: Cli, bare_remote: Path, tmp_path: Path
) -> None:
    lm("remote", "add", "-d", "store", str(tmp_path / "objects"))
    model, X = trained()
    logged = log_model(model, "churn", commit=True, register=True, repo=repo.path)
    assert ".dvc/config" in logged.files  # not in git yet: committed with the model
    lm("push")
    repo.git("push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
    loaded = load_model("churn@v0.0.1", repo=f"file://{bare_remote}")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
