"""``landmark build docker``: a Dockerfile and its build context; no daemon is needed to
write them (``docker build``, ``podman build`` or ``buildah`` builds them later).

The context::

    Dockerfile
    requirements.txt      the model's pins, then landmark[serve] (a wheel under wheels/)
    wheels/               landmark-*.whl where landmark runs from a source tree or a wheel
                          file (see landmark.build.wheel); else landmark comes from the index
    model/NAME/           the model directory, copied file by file (md5s checked)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .files import check_output, copy_model, staged_dir
from .source import Model
from .wheel import landmark

PORT = 8080
UID = 10001
BUILD = "/tmp/landmark-build"


@dataclass(frozen=True)
class Built:
    path: Path
    base: str
    requirements: tuple[str, ...]
    landmark: str  # the wheel's file name, or the requirement


def _quoted(value: str) -> str:
    """A double-quoted Dockerfile word: no variable is expanded in it."""
    return json.dumps(value, ensure_ascii=False).replace("$", "\\$")


def _exec_form(args: list[str]) -> str:
    return json.dumps(args, ensure_ascii=False)


def dockerfile(model: Model, base: str, requirements: str, trust: bool) -> str:
    entry = ["landmark", "serve", f"/models/{model.name}", "--host", "0.0.0.0", "--port", str(PORT)]
    entry += ["--trust"] if trust else []
    probe = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{PORT}/health', timeout=4)"
    )
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# Written by landmark build docker: {model.label}.",
        f"# Build: docker build -t {model.name}:{model.version or 'latest'} .",
        f"FROM {base}",
        *(f"LABEL {key}={_quoted(value)}" for key, value in model.labels().items()),
        "ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 "
        "PIP_DISABLE_PIP_VERSION_CHECK=1",
        f"RUN groupadd --system --gid {UID} landmark && useradd --system --uid {UID} "
        "--gid landmark --create-home --home-dir /home/landmark landmark",
        "# Dependencies first: a new model version rebuilds only the last layers.",
        f"COPY {requirements} {BUILD}/{requirements}",
        f"COPY wheels/ {BUILD}/wheels/",
        f"RUN python -m pip install --no-input -r {BUILD}/{requirements} && rm -rf {BUILD}",
        "# The model's files stay root's: the server reads them and cannot change them.",
        "COPY model/ /models/",
        f"USER {UID}:{UID}",
        "WORKDIR /home/landmark",
        f"EXPOSE {PORT}",
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 "
        f"CMD {_exec_form(['python', '-c', probe])}",
        "# Inside the container the server binds every interface (0.0.0.0), or the published",
        "# port could not reach it; the host decides what is exposed (docker run -p ...).",
        "# Arguments after the image name go to landmark serve (--workers 2, --batch '*', ...).",
        f"ENTRYPOINT {_exec_form(entry)}",
    ]
    return "\n".join(lines) + "\n"


def build_docker(
    model: Model,
    out: Path,
    *,
    force: bool = False,
    trust: bool = False,
    python: str | None = None,
    report: Callable[[str], None] | None = None,
) -> Built:
    """Write the Dockerfile and build context of ``model`` to the folder ``out``."""
    from ..errors import InvalidInput

    model.check_trusted(trust, "an image")
    target = check_output(out, model.directory, force=force, is_dir=True)
    version = python or model.python
    if python is not None and not _is_minor(python):
        raise InvalidInput(f"--python {python!r}: give a version like 3.11")
    if not version:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        if report:
            report(f"note: {model.directory} records no Python version; using {version}")
    base = f"python:{version}-slim"
    pins = model.pins()
    if model.meta.local_modules and report:
        report(
            "note: the model imports local modules that the image does not hold: "
            + ", ".join(model.meta.local_modules)
        )
    with staged_dir(target) as tmp:
        copy_model(model.directory, model.meta, tmp / "model" / model.name)
        lm = landmark(tmp / "wheels")
        if lm.wheel is not None:
            own = f"landmark[serve] @ file://{BUILD}/wheels/{lm.wheel.name}"
            shown = lm.wheel.name
        else:
            own = shown = lm.requirement()
            (tmp / "wheels").mkdir(exist_ok=True)
            (tmp / "wheels" / "README").write_text(
                f"landmark comes from the package index: {own}\n"
            )
        requirements = [*pins, own]
        (tmp / "requirements.txt").write_text("\n".join(requirements) + "\n")
        (tmp / "Dockerfile").write_text(dockerfile(model, base, "requirements.txt", trust))
        (tmp / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    return Built(target, base, tuple(requirements), shown)


def _is_minor(text: str) -> bool:
    major, _, minor = text.partition(".")
    return major == "3" and minor.isdigit() and len(minor) <= 2


__all__ = ["Built", "build_docker", "dockerfile"]
