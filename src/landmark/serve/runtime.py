"""What a server serves: refs resolved to versions, loaded models, and the slot each lives in.

A :class:`Source` is what the user named (``churn#prod``, ``churn@v1.2.0``, ``churn@latest``
or a model directory, in a local repo or at a URL). :func:`resolve` says which version it
names now; :func:`load` fetches and loads that version into a :class:`Served` (immutable).
A :class:`Slot` holds the one ``Served`` that answers a model's requests and is swapped by
assigning one attribute: a request reads it once and keeps that version to the end, so a
swap never fails or delays a request.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from ..models.api import LoadedModel, Safety
    from ..models.signature import Signature


@dataclass(frozen=True)
class Source:
    """A model as named on the command line."""

    ref: str  # churn#prod, churn@v1.2.0, churn@latest, or a directory
    repo: str = "."  # a path in a work tree, or a Git URL
    directory: Path | None = None  # set when ``ref`` is a model directory
    name: str = ""

    @classmethod
    def parse(cls, ref: str, repo: str = ".", name: str | None = None) -> Source:
        from ..names import is_valid_artifact, parse_shortcut

        path = Path(ref).expanduser()
        if path.is_dir():
            return cls(ref, repo, path.resolve(), name or path.resolve().name)
        art = ref.partition("@")[0].partition("#")[0]
        if not is_valid_artifact(art) or ("@" not in ref and "#" not in ref):
            raise InvalidInput(
                f"{ref!r} is neither a model directory nor a registry ref: serve NAME#STAGE, "
                "NAME@v1.2.3, NAME@latest or a folder saved by landmark.save_model"
            )
        parse_shortcut(ref)  # a malformed version or stage is an error now
        return cls(ref, repo, None, name or art)

    @property
    def stage(self) -> str | None:
        return self.ref.partition("#")[2] or None if self.directory is None else None

    @property
    def follows(self) -> bool:
        """A ref whose version can change: a stage or ``@latest``."""
        return self.directory is None and ("#" in self.ref or self.ref.endswith("@latest"))


@dataclass(frozen=True)
class Target:
    """The version a source names right now."""

    version: str | None
    commit: str | None


@dataclass(frozen=True)
class Served:
    """One loaded version of a model: what answers its requests."""

    source: Source
    version: str | None
    commit: str | None
    directory: Path
    model: LoadedModel
    device: str = "cpu"
    loaded_at: float = field(default_factory=time.time)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def label(self) -> str:
        """The version as metrics and headers show it."""
        return self.version or (self.commit[:12] if self.commit else "local")

    @cached_property
    def safety(self) -> Safety:
        from ..models.api import safety

        return safety(self.directory, self.model.meta)

    def signature(self, method: str) -> tuple[Signature, Signature]:
        m = self.model.method(method)
        return m.input, m.output

    def call(self, method: str, data: Any) -> Any:
        """Run one method on already-checked input (a worker thread calls this)."""
        m = self.model.method(method)
        if self.device != "cpu":
            return _on_device(self, m.name, data)
        return self.model.adapter.call(self.model.native, m.name, data)

    def check(self, method: str, data: Any) -> Any:
        from ..models.signature import validate

        return validate(self.model.method(method).input, data)


class _Registries:
    """One Registry per repo location, shared by every source and follower in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Any] = {}

    def get(self, repo: str) -> Any:
        from ..registry import Registry

        with self._lock:
            reg = self._open.get(repo)
            if reg is None:
                reg = self._open[repo] = Registry(repo, refresh_interval=0)
            return reg


REGISTRIES = _Registries()


def resolve(source: Source, *, refresh: bool = False) -> Target:
    """The version ``source`` names now; ``refresh`` reads the tags again (fetching a URL)."""
    if source.directory is not None:
        return Target(None, None)
    from ..storage.get import resolve as resolve_ref

    reg = REGISTRIES.get(source.repo)
    if refresh:
        reg.refresh()
    _, version, commit = resolve_ref(reg, source.ref)
    return Target(version, commit)


def load(
    source: Source,
    target: Target | None = None,
    *,
    trust: bool = False,
    device: str = "cpu",
) -> Served:
    """Fetch and load the version ``target`` (default: the one ``source`` names now)."""
    from ..models.adapters.sklearn import read_trusted_files
    from ..models.api import fetch, load_model

    read_trusted_files()  # plain skops files without importing skops.io (seconds at start)
    if source.directory is not None:
        directory = source.directory
        target = Target(None, None)
    else:
        target = target or resolve(source)
        ref = f"{source.name}@{target.version}" if target.version else source.ref
        directory = fetch(ref, source.repo)
    model = load_model(directory, trust=trust)
    if not model.meta.methods:
        raise InvalidInput(f"{directory} records no methods to serve; save it with methods=[...]")
    if device != "cpu":
        _to_device(model, device)
    return Served(source, target.version, target.commit, directory, model, device)


def _to_device(model: LoadedModel, device: str) -> None:
    if model.meta.adapter != "torch":
        raise InvalidInput(
            f"--device {device} serves PyTorch models only; {model.meta.adapter} runs on the CPU"
        )
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise NotFound(f"--device {device}: torch sees no CUDA device on this machine")
    try:
        model.native = model.native.to(device)  # type: ignore[attr-defined]
    except (RuntimeError, AttributeError) as e:
        raise InvalidInput(f"cannot move the model to {device}: {e}") from None


def _on_device(served: Served, method: str, data: Any) -> Any:
    import torch

    def move(x: Any) -> Any:
        return torch.as_tensor(x).to(served.device) if not isinstance(x, str) else x

    moved = (
        {k: move(v) for k, v in data.items()}
        if isinstance(data, dict)
        else tuple(move(x) for x in data)
        if isinstance(data, tuple)
        else move(data)
    )
    out = served.model.adapter.call(served.model.native, method, moved)
    return out.cpu() if hasattr(out, "cpu") else out


class Slot:
    """The served version of one model name, and what follows it."""

    def __init__(self, served: Served, *, shadow: Slot | None = None) -> None:
        self.current = served
        self.shadow = shadow
        self.ready = True
        self.note = ""  # why not ready, or what the follower last saw
        self.failed: str | None = None  # a version that failed to load (not retried)

    @property
    def name(self) -> str:
        return self.current.name

    def swap(self, served: Served) -> Served:
        old, self.current = self.current, served  # one store: atomic for every reader
        self.ready = True
        self.failed = None
        self.note = ""
        return old


def env_device() -> str:
    return os.environ.get("LANDMARK_SERVE_DEVICE", "cpu")
