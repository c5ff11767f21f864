"""log_model: save a model where the registry expects it, with its metrics, and register it.

One call does what a training script otherwise scripts by hand: the model directory under
``models/<name>`` (tracked by the object store, ignored by git), its ``artifacts:`` entry in
``dvc.yaml``, metrics/params/plots in DVCLive's layout under ``dvclive/<name>`` (listed in the
same ``dvc.yaml`` so ``dvc metrics show`` and Studio read them), then optionally a commit of
exactly those files and a registered version.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .. import names, yamlio
from ..errors import InvalidInput, RepoError
from .meta import ModelMeta, is_model_dir, read_meta

if TYPE_CHECKING:
    from ..events import Event
    from ..git import Repo

MODELS_DIR = "models"
LIVE_DIR = "dvclive"
BUMPS = ("major", "minor", "patch")


@dataclass(frozen=True)
class LoggedModel:
    """What ``log_model`` did; paths are relative to the repository root."""

    name: str
    path: str
    meta: ModelMeta
    files: tuple[str, ...]  # what a commit of this log holds
    live_dir: str | None = None
    commit: str | None = None
    version: Event | None = None  # the registration, when registered

    @property
    def version_name(self) -> str | None:
        return None if self.version is None else self.version.name.version


def log_model(
    model: object,
    name: str,
    *,
    metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    plots: Mapping[str, Any] | None = None,
    sample_input: Any = None,
    description: str | None = None,
    labels: Sequence[str] | None = None,
    register: bool | str = False,
    commit: bool = False,
    message: str | None = None,
    repo: str | os.PathLike[str] = ".",
    path: str | os.PathLike[str] | None = None,
    live_dir: str | None = None,
    format: str | None = None,
    methods: Sequence[str] | None = None,
    track: bool = True,
) -> LoggedModel:
    """Save (or adopt) a model as artifact ``name`` of the repo, with metrics; see the module.

    ``model`` is a model object, or the path of a directory saved by ``save_model`` (it is used
    in place unless ``path`` names another place). ``metrics`` values are numbers (or
    strings), or lists of numbers over steps (written as plots); names may contain ``/``.
    ``register`` is True (next patch, or v0.0.1), a bump (``"minor"``) or a version
    (``"v1.2.0"``), and needs ``commit=True``: a version points at a commit.
    """
    from ..git import Repo

    names.check_artifact(name)
    wanted = _registration(register)
    if wanted is not None and not commit:
        raise InvalidInput(
            "register needs commit=True (--commit): a version points at the commit holding the model"
        )
    plan = (
        plan_live(metrics=metrics, params=params, plots=plots)
        if metrics or params or plots
        else None
    )
    git_repo = Repo.open(repo)
    if git_repo.bare or git_repo.url is not None:
        raise RepoError(f"{repo} is not a local work tree: log a model in a clone")
    root = git_repo.path
    folder, last = names.split(name)
    base = root / folder if folder else root

    model_dir, meta = _place_model(
        model, root, base, last, path, sample_input, description, labels, format, methods
    )
    rel_model = model_dir.relative_to(root).as_posix()
    files: list[str] = []
    if track:
        files += _track(git_repo, model_dir)
    else:
        files.append(rel_model)

    from ..annotations import annotate

    dvc_yaml = (base / "dvc.yaml").relative_to(root).as_posix()
    annotate(
        root,
        name,
        type="model",
        path=_relative(model_dir, base),
        description=description if description is not None else (meta.description or None),
        labels=list(labels or meta.labels) or None,
    )
    files.append(dvc_yaml)

    live: str | None = None
    if plan is not None:
        live_path = base / (live_dir or f"{LIVE_DIR}/{last}")
        write_live(live_path, plan)
        register_live(
            base / "dvc.yaml", [(k, _relative(live_path / v, base)) for k, v in plan.entries]
        )
        live = live_path.relative_to(root).as_posix()
        files.append(live)

    sha: str | None = None
    event = None
    if commit:
        sha = git_repo.commit_paths(files, message or f"Log model {name}")
    if wanted is not None and sha is not None:
        event = _register(root, name, sha, wanted)
    return LoggedModel(name, rel_model, meta, tuple(files), live, sha, event)


def _registration(register: bool | str) -> dict[str, str] | None:
    """Keyword arguments for Registry.register, or None when not registering."""
    if register is False or register is None:
        return None
    if register is True:
        return {}
    text = str(register)
    if text in BUMPS:
        return {"bump": text}
    from ..versions import Version

    return {"version": str(Version.from_user(text))}


def _register(root: Path, name: str, sha: str, wanted: dict[str, str]) -> Event:
    from ..registry import Registry

    reg = Registry(root)
    bump = wanted.get("bump")
    if bump is not None:
        art = reg.state(annotations=False).artifact(name)
        if art is None or art.latest(registered_only=True) is None:
            # The first version of a bumped series: bump from v0.0.0.
            first = {"major": "v1.0.0", "minor": "v0.1.0", "patch": "v0.0.1"}[bump]
            return reg.register(name, sha, version=first)
    return reg.register(name, sha, version=wanted.get("version"), bump=bump)


def _relative(target: Path, base: Path) -> str:
    return PurePosixPath(os.path.relpath(target, base)).as_posix()


def _place_model(
    model: object,
    root: Path,
    base: Path,
    last: str,
    path: str | os.PathLike[str] | None,
    sample_input: Any,
    description: str | None,
    labels: Sequence[str] | None,
    format: str | None,
    methods: Sequence[str] | None,
) -> tuple[Path, ModelMeta]:
    """The model directory inside the repo (saved there, or an already saved one adopted)
    and its metadata."""
    saved_dir = Path(model) if isinstance(model, (str, os.PathLike)) else None
    if saved_dir is not None:
        if not is_model_dir(saved_dir):
            read_meta(saved_dir)  # raises NotFound with the explanation
        saved_dir = saved_dir.resolve()
        target = (root / path).resolve() if path is not None else saved_dir
    else:
        target = (root / path).resolve() if path is not None else base / MODELS_DIR / last
    try:
        target.relative_to(root)
    except ValueError:
        raise InvalidInput(f"{target} is outside the repository {root}") from None
    if target.resolve() == root.resolve():
        raise InvalidInput("the model path cannot be the repository root")
    if saved_dir is None:
        from .api import save_model

        return target, save_model(
            model,
            target,
            sample_input,
            methods=methods,
            description=description,
            labels=labels,
            format=format,
        )
    if target != saved_dir:
        from .api import _check_target, _replace_dir, fresh_dir

        _check_target(target)
        tmp = fresh_dir(target)
        try:
            shutil.copytree(saved_dir, tmp, dirs_exist_ok=True)
            _replace_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target, read_meta(target)


def _track(git_repo: Repo, model_dir: Path) -> list[str]:
    """Put the directory in the object store; the files git should hold for it: the pointer,
    the ignore file, and ``.dvc/config`` & co. while git does not hold them yet (a version's
    commit needs the config naming its remote)."""
    from ..storage import workspace

    root = git_repo.path
    report = workspace.track(root, [model_dir])
    files = list(report.dvcfiles)
    ignore = model_dir.parent / ".gitignore"
    if ignore.exists():
        files.append(ignore.relative_to(root).as_posix())
    setup = [p for p in (".dvc/config", ".dvc/.gitignore") if (root / p).exists()]
    if setup:
        known = git_repo.out("ls-files", "--", *setup).split()
        files += [p for p in setup if p not in known]
    return files


# -- DVCLive's layout ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values (JSON and YAML know no numpy)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and type(value).__module__.partition(".")[0] == "numpy":
        return _plain(tolist())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise InvalidInput(f"cannot log a {type(value).__name__}: use numbers, strings or lists")


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"loss": 1}}`` -> ``{"train/loss": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{full}/"))
        else:
            flat[full] = value
    return flat


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        node = tree
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _check_metric_name(name: str) -> None:
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") for p in parts) or "\\" in name or "\t" in name:
        raise InvalidInput(f"invalid metric name {name!r}: use words separated by '/'")


@dataclass(frozen=True)
class LivePlan:
    """The files of a DVCLive folder (relative path -> bytes) and their ``dvc.yaml`` entries."""

    files: Mapping[str, bytes]
    entries: tuple[tuple[str, str], ...]


def plan_live(
    *,
    metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    plots: Mapping[str, Any] | None = None,
) -> LivePlan:
    """What DVCLive would write; every value is checked here, before anything is written.

    A metric given as a list becomes ``plots/metrics/<name>.tsv`` (``step`` and the value per
    row) and its last value goes into ``metrics.json``, with ``step``.
    """
    files: dict[str, bytes] = {}
    entries: list[tuple[str, str]] = []
    if metrics:
        flat = _flatten(_plain(dict(metrics)))
        summary: dict[str, Any] = {}
        last_step: int | None = None
        for key, value in flat.items():
            _check_metric_name(key)
            if isinstance(value, list):
                if not value:
                    raise InvalidInput(f"metric {key!r} is an empty list")
                files[f"plots/metrics/{key}.tsv"] = _series(key, value)
                summary[key] = value[-1]
                last_step = max(last_step or 0, len(value) - 1)
            else:
                summary[key] = value
        doc = _nest(summary)
        if last_step is not None:
            doc = {"step": last_step, **doc}
        files["metrics.json"] = (json.dumps(doc, indent=4) + "\n").encode()
        entries.append(("metrics", "metrics.json"))
        if last_step is not None:
            entries.append(("plots", "plots/metrics"))
    if params:
        files["params.yaml"] = _yaml(_plain(dict(params))).encode()
        entries.append(("params", "params.yaml"))
    for key, value in (plots or {}).items():
        _check_metric_name(key)
        rel, data = _plot(key, value)
        files[rel] = data
        entries.append(("plots", rel))
    return LivePlan(files, tuple(dict.fromkeys(entries)))


def write_live(directory: Path, plan: LivePlan) -> None:
    """Write the folder afresh (as DVCLive does without ``resume``): no stale series stay."""
    from .api import _replace_dir, fresh_dir

    tmp = fresh_dir(directory)
    try:
        for rel, data in plan.files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
        _replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _series(key: str, values: list[Any]) -> bytes:
    column = key.rsplit("/", 1)[-1]
    rows = [f"step\t{column}"] + [f"{i}\t{_number(v, key)}" for i, v in enumerate(values)]
    return ("\n".join(rows) + "\n").encode()


def _number(value: Any, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"metric {key!r}: a series holds numbers only, not {value!r}")
    return repr(value)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg")


def _plot(key: str, value: Any) -> tuple[str, bytes]:
    """A plot: an image (file path, PNG bytes or a matplotlib figure) or data points."""
    if isinstance(value, (str, os.PathLike)):
        src = Path(value)
        if src.suffix.lower() not in IMAGE_SUFFIXES or not src.is_file():
            raise InvalidInput(
                f"plot {key!r}: {src} is not an image file ({', '.join(IMAGE_SUFFIXES)})"
            )
        return f"plots/images/{key}{src.suffix.lower()}", src.read_bytes()
    if isinstance(value, bytes):
        return f"plots/images/{key}.png", value
    savefig = getattr(value, "savefig", None)
    if callable(savefig):
        import io

        buf = io.BytesIO()
        savefig(buf, format="png")
        return f"plots/images/{key}.png", buf.getvalue()
    points = _plain(value)
    if not (isinstance(points, list) and points and all(isinstance(p, dict) for p in points)):
        raise InvalidInput(
            f"plot {key!r}: give an image file, PNG bytes, a figure, or a list of dicts"
        )
    return f"plots/custom/{key}.json", (json.dumps(points, indent=4) + "\n").encode()


def _yaml(data: Any) -> str:
    return yamlio.dump_text(data)


def register_live(dvc_yaml: Path, entries: Mapping[str, str] | Sequence[tuple[str, str]]) -> None:
    """List metrics/params/plots files in ``dvc.yaml`` (kept as it is otherwise)."""
    items = list(entries.items()) if isinstance(entries, Mapping) else list(entries)
    doc = yamlio.load_roundtrip(dvc_yaml)
    if doc is None:
        doc = yamlio.mapping()
    if not isinstance(doc, dict):
        from ..errors import ConfigError

        raise ConfigError(f"{dvc_yaml}: expected a mapping at the top; fix the file")
    for kind, rel in items:
        section = doc.get(kind)
        if section is None:
            section = doc[kind] = []
        if not isinstance(section, list):
            from ..errors import ConfigError

            raise ConfigError(f"{dvc_yaml}: '{kind}' must be a list; fix the file")
        existing = {next(iter(e)) if isinstance(e, dict) else str(e) for e in section}
        if rel in existing:
            continue
        if kind == "plots" and rel.endswith("plots/metrics"):
            entry = yamlio.mapping()
            entry[rel] = yamlio.mapping([("x", "step")])
            section.append(entry)
        else:
            section.append(rel)
    yamlio.dump_roundtrip(doc, dvc_yaml)


__all__ = ["LivePlan", "LoggedModel", "log_model", "plan_live", "register_live", "write_live"]
