"""landmark build docker: the Dockerfile's instructions, the context's files, refusals."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from landmark.models.meta import read_meta

from ..conftest import Cli, GitRepo


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each line that is not a comment (continuations joined)."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def labels(dockerfile: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for word, rest in instructions(dockerfile):
        if word == "LABEL":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                # shlex keeps a backslash before '$' in double quotes; Docker drops it (and
                # expands an unescaped $NAME)
                assert "$" not in value.replace("\\$", ""), value
                found[key] = value.replace("\\$", "$")
    return found


def one(dockerfile: Path, word: str) -> str:
    hits = [rest for w, rest in instructions(dockerfile) if w == word]
    assert len(hits) == 1, f"{word}: {hits}"
    return hits[0]


def test_context_from_a_folder(lm: Cli, churn_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    result = lm("build", "docker", str(churn_dir), "-o", str(out))
    assert "FROM python:" in result.output
    df = out / "Dockerfile"
    meta = read_meta(churn_dir)
    major_minor = ".".join(meta.python.split(".")[:2])
    assert one(df, "FROM") == f"python:{major_minor}-slim"
    assert one(df, "EXPOSE") == "8080"
    entry = json.loads(one(df, "ENTRYPOINT"))
    assert entry == ["landmark", "serve", "/models/churn", "--host", "0.0.0.0", "--port", "8080"]
    health = one(df, "HEALTHCHECK")
    assert "CMD [" in health
    probe = json.loads(health[health.index("CMD ") + 4 :])
    assert probe[0] == "python" and "http://127.0.0.1:8080/health" in probe[-1]
    user = one(df, "USER")
    assert user.split(":")[0] not in ("0", "root")
    words = [w for w, _ in instructions(df)]
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    assert words.index("USER") < words.index("ENTRYPOINT")
    # the copy instructions bring the requirements, the wheel and the model to where RUN and
    # ENTRYPOINT expect them
    copies = [rest.split() for w, rest in instructions(df) if w == "COPY"]
    assert ["model/", "/models/"] in copies
    run = " ".join(rest for w, rest in instructions(df) if w == "RUN")
    assert "pip install" in run and "/tmp/landmark-build/requirements.txt" in run

    found = labels(df)
    assert found["org.opencontainers.image.title"] == "churn"
    assert found["ai.landmark.model.name"] == "churn"
    assert found["ai.landmark.model.safe"] == "true"
    assert found["org.opencontainers.image.created"] == meta.created
    # the description is from the model's files: quoted so that nothing in it is expanded
    assert found["org.opencontainers.image.description"] == 'Churn $HOME "x"'
    assert "\\$HOME" in df.read_text()
    assert "ai.landmark.model.version" not in found  # a folder has no registry version

    reqs = (out / "requirements.txt").read_text().splitlines()
    assert reqs[:-1] == [f"{r.name}=={r.version}" for r in meta.requirements]
    wheels = sorted((out / "wheels").glob("landmark-*.whl"))
    assert len(wheels) == 1
    assert reqs[-1] == f"landmark[serve] @ file:///tmp/landmark-build/wheels/{wheels[0].name}"
    import zipfile

    with zipfile.ZipFile(wheels[0]) as zf:
        names = zf.namelist()
        assert "landmark/build/docker.py" in names
        assert not any("__pycache__" in n for n in names)
    for f in [*meta.files, "landmark.yaml"]:
        rel = f if isinstance(f, str) else f.path
        assert (out / "model" / "churn" / rel).read_bytes() == (churn_dir / rel).read_bytes()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".ctx.")]


def test_labels_from_a_registry_ref(registry: GitRepo, lm: Cli, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    lm("build", "docker", "churn#prod", "-o", str(out))
    found = labels(out / "Dockerfile")
    commit = registry.git("rev-list", "-n1", "churn@v1.0.0")
    assert found["ai.landmark.model.name"] == "churn"
    assert found["ai.landmark.model.version"] == "v1.0.0"
    assert found["ai.landmark.model.stage"] == "prod"
    assert found["ai.landmark.model.commit"] == commit
    assert found["org.opencontainers.image.version"] == "v1.0.0"
    assert found["org.opencontainers.image.revision"] == commit
    entry = json.loads(one(out / "Dockerfile", "ENTRYPOINT"))
    assert entry[2] == "/models/churn"
    assert (out / "model" / "churn" / "landmark.yaml").is_file()

    latest = tmp_path / "latest"
    lm("build", "docker", "churn@latest", "-o", str(latest), "--name", "churn-next")
    found = labels(latest / "Dockerfile")
    assert found["ai.landmark.model.version"] == "v1.1.0"
    assert "ai.landmark.model.stage" not in found
    assert json.loads(one(latest / "Dockerfile", "ENTRYPOINT"))[2] == "/models/churn-next"


def test_output_folder_is_refused_unless_forced(lm: Cli, churn_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = lm("build", "docker", str(churn_dir), "-o", str(out), ok=False)
    assert result.exit_code == 2
    assert "--force" in result.output and len(result.output.strip().splitlines()) == 1
    assert (out / "keep.txt").read_text() == "mine"
    lm("build", "docker", str(churn_dir), "-o", str(out), "--force")
    assert not (out / "keep.txt").exists() and (out / "Dockerfile").is_file()
    # the model folder itself, or a folder holding it, is never an output
    inside = lm("build", "docker", str(churn_dir), "-o", str(churn_dir / "ctx"), ok=False)
    assert "outside the model directory" in inside.output
    above = lm("build", "docker", str(churn_dir), "-o", str(churn_dir.parent), "--force", ok=False)
    assert "outside the model directory" in above.output
    assert (churn_dir / "landmark.yaml").is_file()


def test_unsafe_model_needs_trust(lm: Cli, pickled_dir: Path, tmp_path: Path) -> None:
    result = lm("build", "docker", str(pickled_dir), "-o", str(tmp_path / "a"), ok=False)
    assert result.exit_code == 11 and "--trust" in result.output
    assert not (tmp_path / "a").exists()
    lm("build", "docker", str(pickled_dir), "-o", str(tmp_path / "b"), "--trust")
    df = tmp_path / "b" / "Dockerfile"
    assert json.loads(one(df, "ENTRYPOINT"))[-1] == "--trust"
    assert labels(df)["ai.landmark.model.safe"] == "false"


def test_python_override_and_bad_values(lm: Cli, churn_dir: Path, tmp_path: Path) -> None:
    lm("build", "docker", str(churn_dir), "-o", str(tmp_path / "a"), "--python", "3.12")
    assert one(tmp_path / "a" / "Dockerfile", "FROM") == "python:3.12-slim"
    bad = lm(
        "build", "docker", str(churn_dir), "-o", str(tmp_path / "b"), "--python", "3.x", ok=False
    )
    assert bad.exit_code == 2 and not (tmp_path / "b").exists()
    missing = lm("build", "docker", "nope#prod", "-o", str(tmp_path / "c"), ok=False)
    assert missing.exit_code != 0 and len(missing.output.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requirements", [{"name": "--index-url", "version": "1"}]),
        ("requirements", [{"name": "numpy", "version": "1.0 ; evil"}]),
        ("python", "3.11\nRUN curl evil"),
    ],
)
def test_crafted_metadata_is_refused(
    lm: Cli, churn_dir: Path, tmp_path: Path, field: str, value: object
) -> None:
    import shutil

    from landmark.yamlio import load

    model = tmp_path / "churn"
    shutil.copytree(churn_dir, model)
    doc = dict(load((model / "landmark.yaml").read_text(), "landmark.yaml"))
    doc[field] = value
    (model / "landmark.yaml").write_text(json.dumps(doc))  # JSON is YAML
    result = lm("build", "docker", str(model), "-o", str(tmp_path / "ctx"), ok=False)
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "ctx").exists()
