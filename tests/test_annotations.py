"""dvc.yaml and artifacts.yaml annotations: reading at any commit, editing in place."""

from __future__ import annotations

import json

from .conftest import Cli, GitRepo

DVC_YAML = """\
# pipeline and artifacts
stages:
  train:
    cmd: python train.py
artifacts:
  churn:  # the production model
    path: models/churn.pkl
    type: model
    desc: Churn classifier
    labels: [tabular]
"""


def test_annotate_preserves_comments_and_order(lm: Cli, repo: GitRepo) -> None:
    (repo.path / "dvc.yaml").write_text(DVC_YAML)
    lm(
        "annotate",
        "fraud",
        "--type",
        "model",
        "--path",
        "models/fraud.onnx",
        "--label",
        "a",
        "--label",
        "b",
    )
    text = (repo.path / "dvc.yaml").read_text()
    assert text.startswith(DVC_YAML)
    assert "fraud:" in text and "path: models/fraud.onnx" in text
    lm("annotate", "churn", "--description", "Churn v2")
    text = (repo.path / "dvc.yaml").read_text()
    assert (
        "# the production model" in text
        and "desc: Churn v2" in text
        and "path: models/churn.pkl" in text
    )
    lm("remove", "fraud")
    assert "fraud" not in (repo.path / "dvc.yaml").read_text()
    assert "# pipeline and artifacts" in (repo.path / "dvc.yaml").read_text()


def test_monorepo_annotation_goes_to_sub_dvc_yaml(lm: Cli, repo: GitRepo) -> None:
    lm("annotate", "nlp/bert:encoder", "--type", "model", "--path", "encoder.pt")
    assert "encoder:" in (repo.path / "nlp/bert/dvc.yaml").read_text()
    repo.commit()
    data = json.loads(lm("describe", "nlp/bert:encoder").stdout)
    assert data["path"] == "encoder.pt" and data["source"] == "nlp/bert/dvc.yaml"


def test_describe_at_version_commit(lm: Cli, repo: GitRepo) -> None:
    repo.commit({"dvc.yaml": DVC_YAML})
    lm("register", "churn")
    repo.commit({"dvc.yaml": DVC_YAML.replace("Churn classifier", "Better churn")})
    lm("register", "churn")
    assert lm("describe", "churn@v0.0.1", "--description").stdout.strip() == "Churn classifier"
    assert lm("describe", "churn@latest", "--description").stdout.strip() == "Better churn"
    assert lm("describe", "churn", "--path").stdout.strip() == "models/churn.pkl"
    first = repo.git("rev-list", "--max-parents=0", "HEAD")
    r = lm("describe", "churn", "--rev", first, ok=False)
    assert "not annotated" in r.output


def test_annotated_only_artifacts_show_as_unregistered(lm: Cli, repo: GitRepo) -> None:
    repo.commit(
        {"dvc.yaml": DVC_YAML, "artifacts.yaml": "legacy:\n  type: model\n  path: legacy.pkl\n"}
    )
    data = json.loads(lm("show", "--json").stdout)
    assert data["churn"] == {"version": None, "stage": {}, "registered": False, "active": True}
    assert data["legacy"]["registered"] is False
    assert "*churn" in lm("show").stdout


def test_broken_dvc_yaml_does_not_hide_the_registry(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    repo.commit({"dvc.yaml": "artifacts: [oops\n"})
    assert json.loads(lm("show", "--json").stdout)["churn"]["version"] == "v0.0.1"
    r = lm("doctor", ok=False)
    assert "dvc.yaml" in r.output
    r = lm("annotate", "x", "--type", "model", ok=False)
    assert "dvc.yaml" in r.output and "Traceback" not in r.output
