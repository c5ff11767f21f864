"""``landmark compare``, ``experiments``, ``lineage`` and ``register --from-exp`` as a user
runs them: the formats, the choices of revisions, remotes, and bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from ..conftest import Cli, GitRepo
from .conftest import Project


@pytest.fixture
def logged(repo: GitRepo, lm: Cli) -> GitRepo:
    """Three versions logged with DVCLive-layout metrics and params; v0.0.2 in prod."""
    import landmark

    for i, (acc, lr) in enumerate(((0.7, 0.1), (0.8, 0.2), (0.75, 0.3))):
        repo.tick()
        landmark.log_model(
            lambda x: x,
            "churn",
            metrics={"acc": acc, "train": {"loss": [1.0, 0.5, 1 - acc]}},
            params={"lr": lr, "depth": 4},
            repo=repo.path,
            commit=True,
            register=f"v0.0.{i + 1}",
            track=False,
            format="cloudpickle",
        )
    lm("assign", "churn", "--version", "v0.0.2", "--stage", "prod")
    return repo


def test_versions_table_json_csv_md(logged: GitRepo, lm: Cli) -> None:
    doc = json.loads(lm("compare", "churn", "--versions", "--json").output)
    assert [r["label"] for r in doc["revisions"]] == [
        "churn@v0.0.1",
        "churn@v0.0.2",
        "churn@v0.0.3",
    ]
    acc = next(r for r in doc["metrics"] if r["key"] == "acc")
    assert acc["values"] == [0.7, 0.8, 0.75]
    assert acc["deltas"][0] is None and acc["deltas"][1] == pytest.approx(0.1)
    assert doc["revisions"][1]["stages"] == ["prod"]
    assert any(r["key"] == "train.loss" for r in doc["metrics"])
    depth = next(r for r in doc["params"] if r["key"] == "depth")
    assert depth["differs"] is False

    table = lm("compare", "churn", "--versions").output
    assert "churn@v0.0.2" in table and "0.8 (+0.1)" in table

    rows = list(csv.reader(io.StringIO(lm("compare", "churn", "--versions", "--csv").output)))
    assert rows[0] == ["", "churn@v0.0.1", "churn@v0.0.2", "churn@v0.0.3"]
    assert ["acc", "0.7", "0.8 (+0.1)", "0.75 (+0.05)"] in rows

    md = lm("compare", "churn#prod", "churn@latest", "--md", "--diff-only").output
    lines = md.strip().splitlines()
    assert lines[0].startswith("| ") and lines[1].startswith("| --- ")
    assert any(line.startswith("| acc |") for line in lines)
    assert not any(line.startswith("| depth |") for line in lines)  # the same in both


def test_sort_transpose_and_stage(logged: GitRepo, lm: Cli) -> None:
    doc = json.loads(lm("compare", "churn", "--versions", "--sort", "acc", "--json").output)
    assert [r["version"] for r in doc["revisions"]] == ["v0.0.2", "v0.0.3", "v0.0.1"]
    doc = json.loads(lm("compare", "churn", "--versions", "--sort", "lr", "--asc", "--json").output)
    assert [r["version"] for r in doc["revisions"]] == ["v0.0.1", "v0.0.2", "v0.0.3"]
    rows = list(csv.reader(io.StringIO(lm("compare", "churn", "--versions", "-t", "--csv").output)))
    assert rows[0][0] == "revision" and "acc" in rows[0]
    assert [r[0] for r in rows[1:]] == ["churn@v0.0.1", "churn@v0.0.2", "churn@v0.0.3"]
    doc = json.loads(lm("compare", "churn", "--stage", "prod", "--json").output)
    assert [(r["label"], r["version"]) for r in doc["revisions"]] == [("churn#prod", "v0.0.2")]


def test_head_against_the_work_tree_by_default(logged: GitRepo, lm: Cli) -> None:
    metrics = logged.path / "dvclive" / "churn" / "metrics.json"
    doc = json.loads(metrics.read_text())
    doc["acc"] = 0.99
    metrics.write_text(json.dumps(doc))
    out = json.loads(lm("compare", "--json").output)
    assert [r["label"] for r in out["revisions"]] == ["HEAD", "workspace"]
    acc = next(r for r in out["metrics"] if r["key"] == "acc")
    assert acc["values"] == [0.75, 0.99]
    assert out["revisions"][0]["version"] == "v0.0.3"  # HEAD is a registered version


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope@v1.0.0"], "artifact 'nope' not found"),
        (["churn@v9.9.9"], "nothing matches"),
        (["not-a-rev"], "neither a git revision nor an artifact"),
        (["churn", "--versions", "--sort", "nope"], "no metric or param 'nope'"),
        (["churn@latest", "--json", "--md"], "give one of"),
        (["exp:none"], "no experiment named 'none'"),
    ],
)
def test_bad_input_is_one_line(logged: GitRepo, lm: Cli, args: list[str], message: str) -> None:
    result = lm("compare", *args, ok=False)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_experiments_from_a_remote_url(project_copy: Project, tmp_path: Path) -> None:
    p = project_copy
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env=p.env)
    p.git("remote", "add", "origin", str(remote))
    p.git("push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
    p.dvc("exp", "push", "origin", "--all-commits")
    url = f"file://{remote}"
    rows = json.loads(p.landmark("experiments", "-r", url, "--json").stdout)
    assert {r["name"] for r in rows if r["experiment"]} == {"fast", "slow", "deep"}
    doc = json.loads(p.landmark("compare", "-r", url, "churn@v1.1.0", "exp:fast", "--json").stdout)
    assert [r["label"] for r in doc["revisions"]] == ["churn@v1.1.0", "fast"]
    assert p.landmark("compare", "-r", url, "workspace", ok=False).stderr.startswith("error: ")


def test_register_from_an_experiment_and_push(project_copy: Project, tmp_path: Path) -> None:
    p = project_copy
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env=p.env)
    p.git("remote", "add", "origin", str(remote))
    p.git("push", "-q", "origin", "HEAD:refs/heads/main")
    exp_rev = p.git("rev-parse", "refs/exps/" + p.v2[:2] + "/" + p.v2[2:] + "/deep")
    out = p.landmark("register", "churn", "--from-exp", "deep", "--bump-minor", "--push").stdout
    assert "churn@v1.2.0" in out and "Pushed experiment ref" in out
    assert p.git("rev-parse", "churn@v1.2.0^{commit}") == exp_rev
    remote_refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)"],
        cwd=remote, env=p.env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "refs/tags/churn@v1.2.0" in remote_refs
    assert f"refs/exps/{p.v2[:2]}/{p.v2[2:]}/deep {exp_rev}" in remote_refs
    shown = json.loads(p.landmark("experiments", "--json").stdout)
    assert next(r for r in shown if r["name"] == "deep")["registered"] == ["churn@v1.2.0"]
    # Bad input: an unknown experiment, both REF and --from-exp; no tag is left behind.
    before = p.git("tag", "-l")
    err = p.landmark("register", "churn", "--from-exp", "nope", ok=False).stderr
    assert err.startswith("error: no experiment named 'nope'")
    err = p.landmark("register", "churn", "HEAD~1", "--from-exp", "deep", ok=False).stderr
    assert "either REF or --from-exp" in err
    assert p.git("tag", "-l") == before


def test_plots_report_and_images(project: Project, tmp_path: Path) -> None:
    report, svgs, pngs = tmp_path / "report.html", tmp_path / "svg", tmp_path / "png"
    out = project.landmark(
        "plots", "churn", "--versions", "exp:fast",
        "-o", str(report), "--svg", str(svgs), "--png", str(pngs),
    ).stdout  # fmt: skip
    assert "1 plots of 3 revisions" in out
    html = report.read_text()
    assert html.count("<svg") >= 1 and "<script" not in html.lower()
    for label in ("churn@v1.0.0", "churn@v1.1.0", "fast"):
        assert label in html
    (svg,) = svgs.iterdir()
    assert svg.read_text().lstrip().startswith("<svg")
    (png,) = pngs.iterdir()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    err = project.landmark("plots", "churn@v1.0.0", ok=False).stderr
    assert err.startswith("error: say where to write")
    assert not (tmp_path / "nothing").exists()


def test_a_partial_clone_fetches_the_files_it_reads_in_one_go(
    logged: GitRepo, lm: Cli, bare_remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a URL landmark keeps a blobless clone; the files compare reads are fetched in
    one request, not one request per file (each would be a round trip to the server)."""
    logged.git("push", "-q", "origin", "--tags")
    subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=bare_remote, check=True)
    url = f"file://{bare_remote}"
    local = json.loads(lm("compare", "churn", "--versions", "--json").output)
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    remote = json.loads(lm("compare", "-r", url, "churn", "--versions", "--json").output)
    assert remote["metrics"] == local["metrics"] and remote["params"] == local["params"]
    served = [
        line for line in trace.read_text().splitlines()
        if '"event":"start"' in line and "git-upload-pack" in line
    ]  # fmt: skip
    assert 1 <= len(served) <= 3, len(served)  # clone, then the files; not one per file
