"""``landmark ci init``: the files pass the official schemas (check-jsonschema's vendored
copies), and their shell steps, run with the variables GitHub and GitLab set, hand the event
on to the publish and deploy jobs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import landmark
from landmark import yamlio
from landmark.actions import ci

from ..conftest import Cli, GitRepo
from .conftest import push

CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")
SCHEMAS = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
VARIANTS: list[tuple[str, ...]] = [
    (),
    ("register",),
    ("assign",),
    ("assign:prod", "assign:staging"),
]
RECORD = (
    'env | grep "^LANDMARK_" | sort > "$RECORD_TO"; echo "$LANDMARK_EVENT" >> "$RECORD_TO.jobs"'
)
REGISTRY_TAGS = [
    "churn@v1.2.3", "churn@v1.2.3#4", "churn@v1.2.3!", "churn@v1.2.3!#5", "churn#prod",
    "churn#prod#6", "churn#prod!", "churn#prod!#7", "churn@deprecated", "churn@deprecated#8",
    "dir/sub=churn@v1.0.0-rc.1", "dir/sub=churn#prod#2",
]  # fmt: skip
OTHER_TAGS = ["v1.0.0", "release-2024", "1.2.3"]


def test_files_pass_the_official_schemas(tmp_path: Path, lm: Cli) -> None:
    for system in SCHEMAS:
        files = []
        for i, on in enumerate(VARIANTS):
            path = tmp_path / system / f"{i}.yml"
            args = [a for o in on for a in ("--on", o)]
            lm("ci", "init", system, "-o", str(path), *args, "--run", "make deploy\necho done")
            files.append(str(path))
        proc = subprocess.run(
            [CHECK_JSONSCHEMA, "--builtin-schema", SCHEMAS[system], *files],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_init_writes_at_the_top_and_refuses_to_overwrite(repo: GitRepo, lm: Cli) -> None:
    (repo.path / "sub").mkdir()
    result = lm("ci", "init", "github")
    target = repo.path / ".github" / "workflows" / "landmark.yml"
    assert target.exists() and str(target) in result.output
    target.write_text("mine\n")
    again = lm("ci", "init", "github", ok=False)
    assert again.exit_code == 4 and "--force" in again.output
    assert target.read_text() == "mine\n"
    lm("ci", "init", "github", "--force", "--on", "register")
    assert "publish:" in target.read_text() and "deploy:" not in target.read_text()
    bad = lm("ci", "init", "gitlab", "--on", "unassign", ok=False)
    assert bad.exit_code == 2 and not (repo.path / ".gitlab-ci.yml").exists()
    bad = lm("ci", "init", "gitlab", "--on", "assign:pr od", ok=False)
    assert "invalid stage" in bad.output
    assert not list(repo.path.glob(".*.tmp"))


def _glob_re(pattern: str) -> re.Pattern[str]:
    """GitHub's filter globs: '**' any characters, '*' any but '/'."""
    out = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
    return re.compile(f"^{out}$")


def test_the_triggers_match_registry_tags_only() -> None:
    github = [_glob_re(p) for p, _ in ci.GITHUB_TAGS]
    gitlab = re.compile(ci.GITLAB_TAG_RE.strip("/"))
    for tag in REGISTRY_TAGS:
        assert any(p.match(tag) for p in github), tag
        assert gitlab.search(tag), tag
    for tag in OTHER_TAGS:
        assert not any(p.match(tag) for p in github), tag
        assert not gitlab.search(tag), tag


# -- running the steps --------------------------------------------------------------------


@pytest.fixture
def checkout(repo: GitRepo, bare_remote: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Tags pushed to origin, then a CI-like clone in which each tag is lightweight (as
    actions/checkout leaves the pushed one). Returns the clone and the tags by role."""
    repo.tick()
    reg = landmark.register("churn", repo=repo.path)
    repo.tick()
    staging = landmark.assign("churn", "staging", version="v0.0.1", repo=repo.path)
    repo.tick()
    prod = landmark.assign("churn", "prod", version="v0.0.1", repo=repo.path)
    repo.tick()
    repo.git("tag", "-a", "-m", "a release", "v1.0.0")
    tags = {"register": reg.tag, "staging": staging.tag, "prod": prod.tag, "other": "v1.0.0"}
    assert push(repo, *tags.values()).returncode == 0
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", str(bare_remote), str(clone)], check=True)
    for tag in tags.values():
        subprocess.run(
            ["git", "tag", "-f", tag, f"{tag}^{{commit}}"],
            cwd=clone,
            check=True,
            capture_output=True,
        )
    return clone, tags


def _env(extra: dict[str, str], tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANDMARK_", "GITHUB_", "CI_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["RECORD_TO"] = str(tmp / "record.env")
    return {**env, **extra}


def _bash(script: str, env: dict[str, str], cwd: Path, tmp: Path) -> None:
    path = tmp / "step.sh"
    path.write_text(script)
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _recorded(tmp: Path) -> tuple[list[str], dict[str, str]]:
    jobs_file = tmp / "record.env.jobs"
    jobs = jobs_file.read_text().split() if jobs_file.exists() else []
    rec = tmp / "record.env"
    values = (
        dict(line.split("=", 1) for line in rec.read_text().splitlines()) if rec.exists() else {}
    )
    for f in (jobs_file, rec):
        f.unlink(missing_ok=True)
    return jobs, values


def _github_if(cond: str, outputs: dict[str, str]) -> bool:
    """The conditions ci.py writes: terms joined by '&&', each a comparison or a
    parenthesised '||' of comparisons."""

    def compare(term: str) -> bool:
        m = re.fullmatch(r"needs\.check\.outputs\.(\w+) == '([^']*)'", term.strip())
        assert m, term
        return outputs.get(m[1], "") == m[2]

    result = True
    for term in cond.split(" && "):
        term = term.strip()
        if term.startswith("("):
            result = result and any(compare(t) for t in term.strip("()").split(" || "))
        else:
            result = result and compare(term)
    return result


def _subst(value: str, outputs: dict[str, str], scope: str) -> str:
    return re.sub(rf"\$\{{\{{ {scope}\.(\w+) \}}\}}", lambda m: outputs.get(m[1], ""), value)


def run_github(
    wf: dict[str, Any], tag: str, clone: Path, tmp: Path
) -> tuple[dict[str, str], list[str], dict[str, str]]:
    check = wf["jobs"]["check"]
    out_file = tmp / "github_output"
    out_file.write_text("")
    env = _env(
        {
            "GITHUB_REF_NAME": tag,
            "GITHUB_REF": f"refs/tags/{tag}",
            "GITHUB_REF_TYPE": "tag",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_OUTPUT": str(out_file),
            "RUNNER_TEMP": str(tmp),
        },
        tmp,
    )
    for step in check["steps"]:
        if "run" in step and step.get("name") != "Install landmark":
            _bash(step["run"], env, clone, tmp)
    step_out = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
    outputs = {k: _subst(v, step_out, "steps.event.outputs") for k, v in check["outputs"].items()}
    for name, job in wf["jobs"].items():
        if name == "check" or not _github_if(job["if"], outputs):
            continue
        job_env = {k: _subst(v, outputs, "needs.check.outputs") for k, v in job["env"].items()}
        for step in job["steps"]:
            if "run" in step and step.get("name") != "Install landmark":
                _bash(step["run"], {**env, **job_env}, clone, tmp)
    jobs, recorded = _recorded(tmp)
    return outputs, jobs, recorded


def run_gitlab(
    wf: dict[str, Any], tag: str, clone: Path, tmp: Path
) -> tuple[dict[str, str], list[str], dict[str, str]]:
    sha = subprocess.run(
        ["git", "rev-parse", f"{tag}^{{commit}}"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    env = _env(
        {"CI_COMMIT_TAG": tag, "CI_COMMIT_REF_NAME": tag, "CI_COMMIT_SHA": sha, "CI": "true"}, tmp
    )
    rule = wf[".landmark"]["rules"][0]["if"]
    regex = re.fullmatch(r"\$CI_COMMIT_TAG =~ /(.*)/", rule)
    assert regex
    if not re.search(regex[1], tag):
        return {}, [], {}
    check = wf["landmark-check"]
    assert wf[".landmark"]["before_script"] == ["python -m pip install landmark\n"]
    _bash("\n".join(check["script"]), env, clone, tmp)
    dotenv = clone / check["artifacts"]["reports"]["dotenv"]
    passed = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
    for name, job in wf.items():
        if name.startswith("landmark-") and name != "landmark-check":
            assert job["needs"] == [{"job": "landmark-check", "artifacts": True}]
            _bash("\n".join(job["script"]), {**env, **passed}, clone, tmp)
    jobs, recorded = _recorded(tmp)
    return passed, jobs, recorded


@pytest.mark.parametrize("system", ["github", "gitlab"])
def test_the_steps_hand_the_event_to_the_jobs(
    system: str, checkout: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    clone, tags = checkout
    head = subprocess.run(
        ["git", "rev-parse", f"{tags['prod']}^{{commit}}"],
        cwd=clone,
        capture_output=True,
        text=True,
    ).stdout.strip()
    wf = yamlio.load(ci.render(system, ("register", "assign:prod"), RECORD), "workflow")
    runner = run_github if system == "github" else run_gitlab

    outputs, jobs, rec = runner(wf, tags["register"], clone, tmp_path)
    assert jobs == ["registration"]
    assert rec["LANDMARK_NAME"] == "churn" and rec["LANDMARK_VERSION"] == "v0.0.1"
    assert rec["LANDMARK_TAG"] == tags["register"] and rec["LANDMARK_COMMIT"] == head
    assert rec.get("LANDMARK_STAGE", "") == ""

    outputs, jobs, rec = runner(wf, tags["prod"], clone, tmp_path)
    assert jobs == ["assignment"]
    assert (rec["LANDMARK_NAME"], rec["LANDMARK_VERSION"], rec["LANDMARK_STAGE"]) == (
        "churn",
        "v0.0.1",
        "prod",
    )
    assert rec["LANDMARK_TAG"] == tags["prod"] and rec["LANDMARK_EVENT"] == "assignment"

    outputs, jobs, rec = runner(wf, tags["staging"], clone, tmp_path)
    assert jobs == []  # deploy runs for prod only
    got = outputs.get("stage") or outputs.get("LANDMARK_STAGE")
    assert got == "staging"

    outputs, jobs, rec = runner(wf, tags["other"], clone, tmp_path)
    assert jobs == []
    assert (outputs.get("event") or outputs.get("LANDMARK_EVENT", "")) in ("", "none")


def test_the_command_comes_out_as_it_went_in() -> None:
    cmd = 'if [ -n "$LANDMARK_STAGE" ]; then\n  landmark build venv "$LANDMARK_NAME@$LANDMARK_VERSION" -o out  # build\nfi'
    for system in SCHEMAS:
        text = ci.render(system, (), cmd)
        assert cmd in [s.strip() for s in _scripts(yamlio.load(text, "w"))]
    with pytest.raises(landmark.errors.InvalidInput):
        ci.render("github", (), "echo \x1b[31m")


def _scripts(wf: dict[str, Any]) -> list[str]:
    if "jobs" in wf:
        return [s.get("run", "") for j in wf["jobs"].values() for s in j["steps"]]
    return [s for k, j in wf.items() if k.startswith("landmark-") for s in j["script"]]
