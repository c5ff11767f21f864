"""Registry behaviour through the CLI, in real temporary git repos."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Cli, GitRepo


def show(lm: Cli, *args: str) -> Any:
    return json.loads(lm("show", *args, "--json").stdout)


def test_register_bumps_and_first_version(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    assert repo.tags() == ["churn@v0.0.1"]
    repo.commit()
    lm("register", "churn", "--bump-minor")
    repo.commit()
    lm("register", "churn", "--bump-major")
    repo.commit()
    lm("register", "churn")
    repo.commit()
    lm("register", "churn", "--version", "3.0.0")  # accepted without the v, written with it
    assert repo.tags() == [
        "churn@v0.0.1",
        "churn@v0.1.0",
        "churn@v1.0.0",
        "churn@v1.0.1",
        "churn@v3.0.0",
    ]
    assert show(lm)["churn"]["version"] == "v3.0.0"
    msg = repo.git("tag", "-l", "--format=%(contents:subject)", "churn@v0.0.1")
    assert msg == "Registering artifact churn version v0.0.1"


def test_register_refuses_existing(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn", "--version", "v1.0.0")
    r = lm("register", "churn", ok=False)
    assert "already has churn@v1.0.0" in r.output
    repo.commit()
    r = lm("register", "churn", "--version", "v1.0.0", ok=False)
    assert "already exists" in r.output
    assert repo.tags() == ["churn@v1.0.0"]


def test_assign_latest_stage_and_force(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    assert "churn#prod#1" in repo.tags()
    r = lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", ok=False)
    assert "already in stage 'prod'" in r.output
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", "--force")
    assert "churn#prod#2" in repo.tags()
    repo.commit()
    lm("promote", "churn", "HEAD", "--stage", "prod")  # registers HEAD as v0.0.2 first
    state = show(lm)
    assert state["churn"] == {
        "version": "v0.0.2",
        "stage": {"prod": "v0.0.2"},
        "registered": True,
        "active": True,
    }
    both = show(lm, "--vs", "-1")
    assert both["churn"]["stage"]["prod"] == "v0.0.2, v0.0.1"
    semver = show(lm, "--vs", "-1", "--sort", "semver")
    assert semver["churn"]["stage"]["prod"] == "v0.0.2, v0.0.1"


def test_unassign_really_removes_the_stage(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    lm("unassign", "churn", "v0.0.1", "--stage", "prod")
    assert show(lm)["churn"]["stage"] == {}
    assert show(lm, "churn#prod") == []
    r = lm("unassign", "churn", "v0.0.1", "--stage", "prod", ok=False)
    assert "not assigned" in r.output


def test_deprecate_three_modes_and_revival(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "dev")
    lm("deprecate", "churn", "v0.0.1", "dev")  # unassign
    assert any(t.startswith("churn#dev!#") for t in repo.tags())
    lm("deprecate", "churn", "v0.0.1")  # deregister
    assert "churn@v0.0.1!" in repo.tags()
    assert show(lm)["churn"]["version"] is None
    lm("deprecate", "churn")  # deprecate the artifact
    assert "churn@deprecated" in repo.tags()
    assert "churn" not in show(lm)
    assert show(lm, "-d")["churn"]["active"] is False
    r = lm("deprecate", "churn", ok=False)
    assert "deprecated already" in r.output
    repo.commit()
    lm("register", "churn", "--version", "v1.0.0")
    assert show(lm)["churn"]["active"] is True


def test_delete_tags(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "dev")
    lm("unassign", "churn", "v0.0.1", "--stage", "dev", "--delete")
    assert repo.tags() == ["churn@v0.0.1"]
    lm("deregister", "churn", "v0.0.1", "--delete")
    assert repo.tags() == []


def test_monorepo_names(lm: Cli, repo: GitRepo) -> None:
    lm("register", "models/nlp:bert", "--version", "v1.0.0")
    assert repo.tags() == ["models/nlp=bert@v1.0.0"]
    assert "models/nlp:bert" in show(lm)
    lm("assign", "models/nlp:bert", "--version", "v1.0.0", "--stage", "prod")
    assert show(lm, "models/nlp:bert#prod")[0]["version"] == "v1.0.0"


def test_skip_registration(lm: Cli, repo: GitRepo) -> None:
    sha = repo.git("rev-parse", "HEAD")
    lm("assign", "churn", "--stage", "dev", "--sr")
    assert repo.tags() == ["churn#dev#1"]
    data = show(lm)
    assert data["churn"]["version"] is None
    assert data["churn"]["stage"]["dev"] == sha


def test_two_versions_on_one_commit(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn", "--version", "v1.0.0-rc.1")
    lm("register", "churn", "--version", "v1.0.0")
    lm("assign", "churn", "--version", "v1.0.0", "--stage", "prod")
    lm("assign", "churn", "--version", "v1.0.0-rc.1", "--stage", "staging")
    data = show(lm)["churn"]
    assert data["version"] == "v1.0.0"
    assert data["stage"] == {"prod": "v1.0.0", "staging": "v1.0.0-rc.1"}
    hist = json.loads(lm("history", "churn", "--json").stdout)
    assert [h["version"] for h in hist if h["event"] == "assignment"] == ["v1.0.0-rc.1", "v1.0.0"]


def test_malformed_and_lightweight_tags_are_skipped(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    repo.git("tag", "-a", "-m", "bad", "churn@created")
    repo.git("tag", "-a", "-m", "bad", "churn@v1")
    repo.git("tag", "churn@v9.9.9")  # lightweight
    repo.git("tag", "-a", "-m", "release", "v1.0.0")  # not ours at all
    assert show(lm)["churn"]["version"] == "v0.0.1"
    r = lm("doctor", ok=False)
    assert "churn@created" in r.output and "churn@v9.9.9" in r.output and "lightweight" in r.output
    assert "v1.0.0:" not in r.output


def test_doctor_ok_and_conflicts(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    assert "No problems found" in lm("doctor").output
    first = repo.git("rev-parse", "HEAD")
    repo.commit()
    repo.git("tag", "-a", "-m", "x", "churn@v0.0.1!#5", first)
    repo.git("tag", "-a", "-m", "x", "churn@v0.0.1#6")  # same version on another commit
    r = lm("doctor", ok=False)
    assert "registered on two commits" in r.output


def test_stage_order(lm: Cli, repo: GitRepo) -> None:
    repo.commit({".landmark.yaml": "stage_order: [dev, staging, prod]\n"})
    lm("register", "churn")
    r = lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod", ok=False)
    assert "comes after 'staging'" in r.output
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "dev")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "staging")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    lm("register", "other")
    lm("assign", "other", "--version", "v0.0.1", "--stage", "prod", "--force")
    assert show(lm)["other"]["stage"]["prod"] == "v0.0.1"


def test_config_allow_lists(lm: Cli, repo: GitRepo) -> None:
    repo.commit({".gto": "stages: [dev, prod]\ntypes: [model]\n"})
    lm("register", "churn")
    r = lm("assign", "churn", "--version", "v0.0.1", "--stage", "qa", ok=False)
    assert "not allowed" in r.output
    assert json.loads(lm("stages", "--json").stdout) == ["dev", "prod"]
    assert lm("stages", "--used").stdout == ""
    r = lm("annotate", "churn", "--type", "dataset", "--path", "x", ok=False)
    assert "type 'dataset' is not allowed" in r.output


def test_broken_config_is_one_clear_line(lm: Cli, repo: GitRepo) -> None:
    (repo.path / ".gto").write_text("stages: [dev\n")
    lm("register", "churn")  # registering does not need the config
    r = lm("assign", "churn", "--version", "v0.0.1", "--stage", "dev", ok=False)
    assert r.output.count("\n") == 1 and ".gto" in r.output
    assert "Traceback" not in r.output
    (repo.path / ".gto").write_text("stage: [dev]\n")
    r = lm("doctor", ok=False)
    assert "unknown key" in r.output


def test_check_ref_and_history(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    assert lm("check-ref", "churn#prod#1", "--stage").stdout.strip() == "prod"
    assert lm("check-ref", "churn#prod#1", "--version").stdout.strip() == "v0.0.1"
    assert lm("check-ref", "churn@v0.0.1", "--event").stdout.strip() == "registration"
    data = json.loads(lm("check-ref", "refs/tags/churn@v0.0.1", "--json").stdout)
    assert data["event"] == "registration" and data["version"] == "v0.0.1"
    assert lm("check-ref", "nope").stdout == ""
    hist = json.loads(lm("history", "--json").stdout)
    assert [h["event"] for h in hist] == ["assignment", "registration"]
    asc = json.loads(lm("history", "--json", "--asc").stdout)
    assert asc == hist[::-1]
    table = lm("history").stdout
    assert "churn#prod#1" in table and "╒" in table
    assert "churn@v0.0.1" in lm("history", "--plain").stdout


def test_show_outputs(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    lm("assign", "churn", "--version", "v0.0.1", "--stage", "prod")
    assert "v0.0.1" in lm("show").stdout
    assert lm("show", "--name").stdout.split() == ["churn"]
    assert lm("show", "churn", "--version").stdout.split() == ["v0.0.1"]
    assert lm("show", "churn@latest", "--ref").stdout.split() == ["churn@v0.0.1"]
    assert lm("show", "churn#prod", "--version").stdout.split() == ["v0.0.1"]
    assert "Nothing found" in lm("show", "churn#dev").stdout


@pytest.mark.parametrize(
    "args",
    [
        ["register", "-bad-"],
        ["register", "churn", "--version", "1.0"],
        ["register", "churn", "nope-ref"],
        ["register", "churn", "--bump-minor", "--bump-major"],
        ["register", "churn", "--version", "v1.0.0", "--bump-minor"],
        ["assign", "churn", "--stage", "bad stage"],
        ["assign", "churn", "--version", "v9.9.9", "--stage", "prod"],
        ["assign", "churn", "HEAD", "--stage", "prod", "--sr", "--version", "v1.0.0"],
        ["assign", "churn"],
        ["unassign", "churn", "v0.0.1", "--stage", "prod"],
        ["unassign", "ghost", "v0.0.1", "--stage", "prod"],
        ["deregister", "ghost", "v0.0.1"],
        ["deprecate", "ghost"],
        ["show", "ghost"],
        ["show", "churn@v1"],
        ["show", "--json", "--plain"],
        ["show", "--sort", "random"],
        ["show", "--av", "-5"],
        ["history", "ghost"],
        ["describe", "ghost"],
        ["register", "churn", "--simple", "maybe"],
        ["stages", "--allowed", "--used"],
        ["remove", "ghost"],
        ["annotate", "churn"],
        ["annotate", "churn", "--type", "model", "--label", "bad label"],
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(lm: Cli, repo: GitRepo, args: list[str]) -> None:
    before_tags, before_status = repo.tags(), repo.status()
    r = lm(*args, ok=False)
    assert "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert lines, "an error must say something"
    assert any("rror" in line for line in lines)
    assert repo.tags() == before_tags
    assert repo.status() == before_status


def test_not_a_repo_and_unreachable_url(lm: Cli, tmp_path: pytest.TempPathFactory) -> None:
    r = lm("show", "-r", str(tmp_path), ok=False)
    assert "not a git repository" in r.output
    r = lm("show", "-r", "/does/not/exist", ok=False)
    assert "does not exist" in r.output
    r = lm("show", "-r", "file:///does/not/exist.git", ok=False)
    assert "cannot read repository" in r.output
    assert r.exit_code == 6


def test_empty_repo(lm: Cli, tmp_path: pytest.TempPathFactory) -> None:
    import subprocess

    empty = tmp_path / "empty"  # type: ignore[operator]
    subprocess.run(["git", "init", "-q", str(empty)], check=True)
    assert lm("show", "-r", str(empty)).stdout.strip() == "Nothing found in the current workspace"
    r = lm("register", "churn", "-r", str(empty), ok=False)
    assert "no commits" in r.output


def test_help_lists_commands(lm: Cli) -> None:
    out = lm("--help").stdout
    for cmd in [
        "register",
        "assign (promote)",
        "unassign",
        "deregister",
        "deprecate",
        "show",
        "history",
        "check-ref",
        "stages",
        "describe",
        "annotate",
        "remove",
        "doctor",
    ]:
        assert cmd in out
