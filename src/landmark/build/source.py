"""The model an image is built from: its directory, metadata and registry coordinates."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput, NotFound, one_line
from ..models.meta import ModelMeta

_SLUG = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$")
_DIST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@dataclass(frozen=True)
class Model:
    """A model to package, with what the registry says about it (None for a plain folder)."""

    name: str  # the folder name under /models (and the name it is served as)
    directory: Path
    meta: ModelMeta
    version: str | None = None
    stage: str | None = None
    commit: str | None = None
    source: str | None = None  # the repository's URL, where it has one
    safe: bool = True
    unsafe_reason: str = ""

    def check_trusted(self, trust: bool, what: str) -> None:
        """UnsafeModel unless the model is safe or ``trust``: ``what`` is the thing built
        (``an image``, ``a folder``), which then serves it with --trust."""
        if not self.safe and not trust:
            from ..errors import UnsafeModel

            raise UnsafeModel(
                f"{self.label} {self.unsafe_reason or 'can run code when loaded'}; pass --trust "
                f"to build {what} that serves it with --trust"
            )

    @property
    def label(self) -> str:
        """``churn v1.2.0 (prod)``: for messages."""
        parts = [self.name, self.version or "(folder)"]
        if self.stage:
            parts.append(f"({self.stage})")
        return " ".join(parts)

    @property
    def python(self) -> str:
        """``3.11`` from the recorded Python version; empty when none is recorded."""
        text = self.meta.python.strip()
        if not text:
            return ""
        found = re.match(r"^(3\.\d{1,2})(\.\d+)?([abcr][a-z]*\d*)?\+?$", text)
        if found is None:
            raise InvalidInput(
                f"{self.directory}: landmark.yaml records python {one_line(text, 40)!r}, "
                "not a version like 3.11.7"
            )
        return found.group(1)

    def created(self) -> str:
        """The image's creation time: SOURCE_DATE_EPOCH where set, else when the model was
        saved, so the same model gives the same image."""
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        if epoch:
            if not epoch.isdigit():
                raise InvalidInput(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))
        if _STAMP.match(self.meta.created):
            return self.meta.created
        return "1970-01-01T00:00:00Z"

    def pins(self) -> list[str]:
        """``name==version`` for each requirement the model records (landmark aside: the
        build adds its own), refused when a value could be more than a pin in a
        requirements file (an option, a URL, a marker)."""
        pins = []
        for r in self.meta.requirements:
            if not _DIST.match(r.name) or not _PIN.match(r.version):
                raise InvalidInput(
                    f"{self.directory}: landmark.yaml lists the requirement "
                    f"{one_line(repr(f'{r.name}=={r.version}'), 80)}, not a pinned distribution"
                )
            if r.name.lower().replace("_", "-") != "landmark":
                pins.append(f"{r.name}=={r.version}")
        return pins

    def labels(self) -> dict[str, str]:
        """OCI annotation keys and landmark's own, for the image config or a Dockerfile."""
        found = {
            "org.opencontainers.image.title": self.name,
            "org.opencontainers.image.created": self.created(),
            "org.opencontainers.image.description": one_line(self.meta.description, 300),
            "org.opencontainers.image.version": self.version or "",
            "org.opencontainers.image.revision": self.commit or "",
            "org.opencontainers.image.source": self.source or "",
            "ai.landmark.model.name": self.name,
            "ai.landmark.model.version": self.version or "",
            "ai.landmark.model.stage": self.stage or "",
            "ai.landmark.model.commit": self.commit or "",
            "ai.landmark.model.adapter": one_line(self.meta.adapter, 80),
            "ai.landmark.model.safe": "true" if self.safe else "false",
        }
        return {k: v for k, v in found.items() if v}


def _source(repo: str) -> str | None:
    """The repository's URL for the image's labels, without any password or token in it."""
    if "://" in repo:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(repo)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    if re.match(r"^[\w.-]+@[\w.-]+:", repo):  # git@host:path
        return repo
    return None


def check_name(name: str) -> str:
    if not _SLUG.match(name):
        raise InvalidInput(
            f"--name {name!r}: use letters, digits, '.', '-' and '_', starting and ending "
            "with a letter or digit"
        )
    return name


def resolve(ref: str, repo: str = ".", name: str | None = None, *, judge: bool = True) -> Model:
    """The model that ``ref`` names: a model directory, or NAME#STAGE / NAME@VERSION /
    NAME@latest in ``repo`` (fetched into the cache at the version it names now).

    ``judge`` asks the model's adapter whether loading the files would run code (the
    verdict ``landmark serve`` goes by); it imports the framework's loader.
    """
    from ..models.api import fetch, safety
    from ..models.meta import read_meta
    from ..names import is_valid_artifact, parse_shortcut
    from .files import scan

    path = Path(ref).expanduser()
    version = stage = commit = None
    if path.is_dir():
        directory = path.resolve()
        served = name or directory.name
    else:
        art = ref.partition("@")[0].partition("#")[0]
        if not is_valid_artifact(art) or ("@" not in ref and "#" not in ref):
            raise NotFound(
                f"{ref!r} is neither a model directory nor a registry ref: build NAME#STAGE, "
                "NAME@v1.2.3, NAME@latest or a folder saved by landmark.save_model"
            )
        parse_shortcut(ref)
        from ..registry import Registry
        from ..storage.get import resolve as resolve_ref

        art, version, commit = resolve_ref(Registry(repo), ref)
        stage = ref.partition("#")[2].partition("#")[0] or None
        directory = fetch(f"{art}@{version}" if version else ref, repo)
        served = name or art.rpartition(":")[2].replace("/", "-")
    if not _SLUG.match(served):
        raise InvalidInput(
            f"{served!r} cannot name the model's folder in the image; give one with --name"
        )
    scan(directory)  # refuses links and special files before landmark.yaml is read
    meta = read_meta(directory)
    verdict = safety(directory, meta) if judge else None
    return Model(
        name=served,
        directory=directory,
        meta=meta,
        version=version,
        stage=stage,
        commit=commit,
        source=_source(repo),
        safe=verdict.safe if verdict is not None else meta.safe,
        unsafe_reason=verdict.reason if verdict is not None else "",
    )


__all__ = ["Model", "check_name", "resolve"]
