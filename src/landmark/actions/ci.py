"""``landmark ci init``: CI workflow files that act on pushed registry tags.

A first job runs ``landmark check-ref "$TAG" --json`` and hands on the event's kind, name,
version, stage, tag and commit; a publish job (registrations) and a deploy job (stage
assignments, optionally only for some stages) then run the ``--run`` command with them as
``LANDMARK_*`` variables. The tag's name reaches the shell only through the CI system's own
variables (``GITHUB_REF_NAME``, ``CI_COMMIT_TAG``), never through an expression expanded into
a script: a pushed tag is untrusted input.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import names, yamlio
from ..atomic import write_atomic
from ..errors import Conflict, InvalidInput

SYSTEMS = {"github": ".github/workflows/landmark.yml", "gitlab": ".gitlab-ci.yml"}
DEFAULT_INSTALL = "python -m pip install landmark"
DEFAULT_RUN = (
    'echo "landmark: $LANDMARK_EVENT of $LANDMARK_NAME $LANDMARK_VERSION $LANDMARK_STAGE '
    '($LANDMARK_TAG at $LANDMARK_COMMIT): replace this with your command (ci init --run)"'
)
# Push filters for GitHub (its globs: '**' crosses '/', which monorepo names hold).
GITHUB_TAGS = (
    ("**@v*", "registrations and deregistrations: NAME@vX.Y.Z, NAME@vX.Y.Z#N, NAME@vX.Y.Z!"),
    ("**@deprecated*", "deprecations: NAME@deprecated, NAME@deprecated#N"),
    ("**#*", "stage assignments and unassignments: NAME#STAGE, NAME#STAGE#N, NAME#STAGE!#N"),
)
# The same choice for GitLab's rules (RE2); check-ref decides what the tag really is.
GITLAB_TAG_RE = r"/^[a-zA-Z0-9].*(@v[0-9]|@deprecated|#[a-zA-Z0-9])/"
OUTPUTS = ("event", "name", "version", "stage", "tag", "commit")

# check-ref's JSON -> the next jobs' values. GitHub: step outputs; GitLab: a dotenv report.
_READ_EVENT = """\
import json, os, sys
raw = os.environ["LANDMARK_CHECK"].strip()
e = json.loads(raw) if raw else {}
values = {
    "event": e.get("event") or "", "name": e.get("artifact") or "",
    "version": e.get("version") or "", "stage": e.get("stage") or "",
    "tag": e.get("tag") or "", "commit": e.get("commit_hexsha") or "",
}
for key, value in values.items():
    if "\\n" in value or "\\r" in value:
        sys.exit(f"landmark: the {key} holds a line break; refused")
if not values["event"]:
    print("landmark: " + sys.argv[1] + " is not a registry event; nothing to do")
else:
    print("landmark: " + " ".join(v for v in values.values() if v))
"""
_GITHUB_WRITE = """\
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.writelines(f"{k}={v}\\n" for k, v in values.items())
"""
_GITLAB_WRITE = """\
values["event"] = values["event"] or "none"
with open("landmark.env", "w") as out:
    out.writelines(f"LANDMARK_{k.upper()}={v}\\n" for k, v in values.items() if v)
"""
_FETCH = """\
# A CI checkout may hold the pushed tag as a lightweight one (actions/checkout does):
# fetch the registry's annotated tags as they are upstream.
git fetch --quiet --force origin '+refs/tags/*:refs/tags/*'
"""


def _check_script(tag_var: str, writer: str, *, fetch: bool) -> str:
    return (
        "set -eu\n"
        + (_FETCH if fetch else "")
        + f'LANDMARK_CHECK=$(landmark check-ref "${tag_var}" --json)\n'
        + "export LANDMARK_CHECK\n"
        + f"python - \"${tag_var}\" <<'PY'\n"
        + _READ_EVENT
        + writer
        + "PY\n"
    )


@dataclass(frozen=True)
class Triggers:
    publish: bool
    deploy: bool
    stages: tuple[str, ...]  # empty: every stage

    @classmethod
    def parse(cls, on: Sequence[str]) -> Triggers:
        if not on:
            return cls(True, True, ())
        publish = deploy = False
        stages: list[str] = []
        any_stage = False
        for text in on:
            kind, sep, stage = text.strip().partition(":")
            if kind == "register" and not sep:
                publish = True
            elif kind == "assign":
                deploy = True
                if not sep or stage in ("", "*"):
                    any_stage = True
                elif names.is_valid_name(stage):
                    stages.append(stage)
                else:
                    raise InvalidInput(f"--on {text!r}: invalid stage {stage!r}")
            else:
                raise InvalidInput(f"--on {text!r}: use register, assign or assign:STAGE")
        return cls(publish, deploy, () if any_stage else tuple(dict.fromkeys(stages)))


def _block(text: str, indent: int) -> str:
    """``text`` as the lines of a YAML literal block, indented."""
    pad = " " * indent
    return "".join(f"{pad}{line}\n" if line.strip() else "\n" for line in text.splitlines())


def _clean_run(run: str | None) -> str:
    text = textwrap.dedent(run if run is not None else DEFAULT_RUN).strip("\n")
    if not text.strip():
        raise InvalidInput("--run: the command is empty")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise InvalidInput("--run: the command holds control characters")
    return "\n".join(line.rstrip() for line in text.splitlines())


def github(triggers: Triggers, run: str, install: str) -> str:
    patterns = "".join(f'      - "{p}"  # {why}\n' for p, why in GITHUB_TAGS)
    outputs = "".join(f"      {k}: ${{{{ steps.event.outputs.{k} }}}}\n" for k in OUTPUTS)
    env = "".join(
        f"      LANDMARK_{k.upper()}: ${{{{ needs.check.outputs.{k} }}}}\n" for k in OUTPUTS
    )
    setup = (
        "      - uses: actions/checkout@v4\n"
        "        with:\n"
        "          fetch-depth: 0\n"
        "      - name: Fetch the registry tags\n"
        "        run: |\n" + _block(_FETCH, 10) + "      - uses: actions/setup-python@v5\n"
        "        with:\n"
        '          python-version: "3.12"\n'
        "      - name: Install landmark\n"
        "        run: |\n" + _block(install, 10)
    )
    text = (
        "# Written by `landmark ci init github`: acts on pushed registry tags (GTO's grammar).\n"
        "# The check job asks `landmark check-ref` what the tag did; publish runs on\n"
        "# registrations, deploy on stage assignments, with LANDMARK_EVENT, LANDMARK_NAME,\n"
        "# LANDMARK_VERSION, LANDMARK_STAGE, LANDMARK_TAG and LANDMARK_COMMIT set.\n"
        "name: landmark\n"
        "on:\n"
        "  push:\n"
        "    tags:\n" + patterns + "permissions:\n"
        "  contents: read\n"
        "jobs:\n"
        "  check:\n"
        "    runs-on: ubuntu-latest\n"
        "    outputs:\n" + outputs + "    steps:\n" + setup + "      - name: Read the event\n"
        "        id: event\n"
        "        shell: bash\n"
        "        run: |\n"
        + _block(_check_script("GITHUB_REF_NAME", _GITHUB_WRITE, fetch=False), 10)
    )
    jobs = []
    if triggers.publish:
        jobs.append(("publish", "Publish", "needs.check.outputs.event == 'registration'"))
    if triggers.deploy:
        cond = "needs.check.outputs.event == 'assignment'"
        if triggers.stages:
            either = " || ".join(f"needs.check.outputs.stage == '{s}'" for s in triggers.stages)
            cond += f" && ({either})"
        jobs.append(("deploy", "Deploy", cond))
    for job, title, cond in jobs:
        text += (
            f"  {job}:\n"
            "    needs: check\n"
            f"    if: {cond}\n"
            "    runs-on: ubuntu-latest\n"
            "    env:\n" + env + "    steps:\n" + setup + f"      - name: {title}\n"
            "        shell: bash\n"
            "        run: |\n" + _block(run, 10)
        )
    return text


def gitlab(triggers: Triggers, run: str, install: str) -> str:
    text = (
        "# Written by `landmark ci init gitlab`: acts on pushed registry tags (GTO's grammar).\n"
        "# landmark-check asks `landmark check-ref` what the tag did and passes LANDMARK_EVENT,\n"
        "# LANDMARK_NAME, LANDMARK_VERSION, LANDMARK_STAGE, LANDMARK_TAG and LANDMARK_COMMIT\n"
        "# on as a dotenv report; landmark-publish acts on registrations, landmark-deploy on\n"
        "# stage assignments. Jobs use the default build and deploy stages; to keep another\n"
        "# pipeline, write this file elsewhere (-o) and `include:` it.\n"
        ".landmark:\n"
        "  image: python:3.12\n"
        "  rules:\n"
        f"    - if: '$CI_COMMIT_TAG =~ {GITLAB_TAG_RE}'\n"
        "  before_script:\n"
        "    - |\n" + _block(install, 6) + "\n"
        "landmark-check:\n"
        "  extends: .landmark\n"
        "  stage: build\n"
        "  script:\n"
        "    - |\n"
        + _block(_check_script("CI_COMMIT_TAG", _GITLAB_WRITE, fetch=True), 6)
        + "  artifacts:\n"
        "    reports:\n"
        "      dotenv: landmark.env\n"
    )
    jobs = []
    if triggers.publish:
        jobs.append(
            ("landmark-publish", '[ "${LANDMARK_EVENT:-}" = registration ]', "a registration")
        )
    if triggers.deploy:
        cond = '[ "${LANDMARK_EVENT:-}" = assignment ]'
        what = "a stage assignment"
        if triggers.stages:
            cond += f' && case "${{LANDMARK_STAGE:-}}" in {"|".join(triggers.stages)}) true;; *) false;; esac'
            what += " to " + " or ".join(triggers.stages)
        jobs.append(("landmark-deploy", cond, what))
    for job, cond, what in jobs:
        guard = (
            f"if ! {{ {cond}; }}; then\n"
            f'  echo "landmark: $CI_COMMIT_TAG is not {what}; nothing to do"\n'
            "  exit 0\n"
            "fi\n"
        )
        text += (
            "\n"
            f"{job}:\n"
            "  extends: .landmark\n"
            "  stage: deploy\n"
            "  needs:\n"
            "    - job: landmark-check\n"
            "      artifacts: true\n"
            "  script:\n"
            "    - |\n" + _block(guard, 6) + "    - |\n" + _block(run, 6)
        )
    return text


def render(
    system: str, on: Sequence[str] = (), run: str | None = None, install: str = DEFAULT_INSTALL
) -> str:
    if system not in SYSTEMS:
        raise InvalidInput(f"unknown CI system {system!r}: use {' or '.join(SYSTEMS)}")
    triggers = Triggers.parse(on)
    command = _clean_run(run)
    setup = _clean_run(install)
    text = (github if system == "github" else gitlab)(triggers, command, setup)
    _check_round_trip(system, text, command)
    return text


def _check_round_trip(system: str, text: str, command: str) -> None:
    """The command must come out of the YAML as it went in."""
    data: Any = yamlio.load(text, "the workflow")
    if system == "github":
        scripts = [s.get("run", "") for j in data["jobs"].values() for s in j["steps"]]
    else:
        scripts = [s for k, j in data.items() if k.startswith("landmark-") for s in j["script"]]
    if not any(s.strip() == command for s in scripts):
        raise InvalidInput("--run: this command cannot be written into the YAML file as is")


def init(
    system: str,
    output: Path,
    *,
    on: Sequence[str] = (),
    run: str | None = None,
    install: str = DEFAULT_INSTALL,
    force: bool = False,
) -> Path:
    """Write the workflow file, whole or not at all; an existing one only with ``force``."""
    text = render(system, on, run, install)
    if output.exists() and not force:
        raise Conflict(f"{output} exists: pass --force to replace it")
    if output.is_dir():
        raise InvalidInput(f"-o {output}: is a folder; give a file path")
    write_atomic(output, text.encode())
    return output


__all__ = ["DEFAULT_INSTALL", "SYSTEMS", "Triggers", "init", "render"]
