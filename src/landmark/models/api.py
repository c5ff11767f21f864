"""save_model and load_model: a model directory in, a checked, callable model out."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import (
    IntegrityError,
    InvalidInput,
    LandmarkError,
    NotFound,
    UnsafeModel,
    one_line,
)
from .adapter import Adapter, SaveOptions, adapter_for, get_adapter
from .meta import META_FILE, FileEntry, Framework, MethodSpec, ModelMeta, read_meta, write_meta
from .signature import Signature, infer, validate

PathLike = str | os.PathLike[str]
T = TypeVar("T")
_SAMPLE_ROWS = 100  # rows of the sample the methods run on to infer output signatures


def save_model(
    model: object,
    path: PathLike,
    sample_input: Any = None,
    *,
    methods: Sequence[str] | None = None,
    description: str | None = None,
    labels: Sequence[str] | None = None,
    adapter: str | None = None,
    format: str | None = None,
    options: dict[str, Any] | None = None,
) -> ModelMeta:
    """Write ``model`` to the directory ``path`` (replacing a model saved there before).

    The adapter is picked from the model's type unless named; ``format`` picks one of its
    formats (scikit-learn: ``skops`` by default, ``pickle``, ``joblib``). With a
    ``sample_input`` every method is run once on its first rows to record input and output
    signatures, which ``load_model`` then checks calls against.
    """
    from . import requirements as reqs

    target = Path(path)
    _check_target(target)
    chosen = get_adapter(adapter) if adapter else adapter_for(model)
    tmp = fresh_dir(target)
    try:
        saved = chosen.save(
            model,
            tmp,
            SaveOptions(
                format=format,
                methods=tuple(methods) if methods else None,
                sample_input=sample_input,
                options=dict(options or {}),
            ),
        )
        specs = _method_specs(chosen, model, saved.methods, sample_input, explicit=bool(methods))
        specs = _with_known(specs, saved.signatures)
        found = reqs.collect(
            [model] if sample_input is None else [model, sample_input],
            [chosen.framework, *chosen.requirements(model), *saved.requires],
        )
        meta = ModelMeta(
            adapter=chosen.name,
            framework=Framework(chosen.framework, _version(chosen.framework)),
            format=saved.format,
            safe=saved.safe,
            files=tuple(_entry(tmp, f) for f in saved.files),
            methods=specs,
            requirements=found.requirements,
            local_modules=found.local_modules,
            python=_python(),
            description=description or "",
            labels=tuple(labels or ()),
            created=_now(),
            extra=dict(saved.extra),
        )
        write_meta(tmp, meta)
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} is a file; save the model to a directory path")
    if target.is_dir() and any(target.iterdir()) and not (target / META_FILE).exists():
        raise InvalidInput(
            f"{target} is a folder with other files in it; save the model to a new or empty path"
        )


def fresh_dir(target: Path) -> Path:
    """An empty temporary folder next to ``target``, to be renamed into place when complete."""
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the model should not be
    return tmp


def _umask() -> int:
    """The process umask, read without changing it (os.umask would, for a moment)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def _replace_dir(new: Path, target: Path) -> None:
    """Move the finished directory into place; an old model there goes only after that."""
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _head(data: Any) -> Any:
    """The first rows of a batch; anything else unchanged."""
    if isinstance(data, (list, tuple)):
        return data[:_SAMPLE_ROWS]
    head = getattr(data, "head", None)
    if callable(head) and hasattr(data, "columns"):
        return head(_SAMPLE_ROWS)
    if hasattr(data, "shape") and hasattr(data, "__getitem__") and len(data.shape) > 0:
        try:
            return data[:_SAMPLE_ROWS]
        except (TypeError, IndexError, KeyError):
            return data
    return data


def _method_specs(
    adapter: Adapter,
    model: object,
    methods: Sequence[str],
    sample: Any,
    *,
    explicit: bool,
) -> dict[str, MethodSpec]:
    if sample is None:
        return {m: MethodSpec() for m in methods}
    # The whole sample gives the input signature (which columns had missing values); the
    # methods run on its first rows.
    in_sig = infer(sample)
    sample = _head(sample)
    specs: dict[str, MethodSpec] = {}
    first_error: tuple[str, Exception] | None = None
    for method in methods:
        try:
            out = adapter.call(model, method, sample)
        except Exception as e:  # the model's own code: any error means "cannot run on this"
            if explicit:
                raise InvalidInput(
                    f"calling {method} on sample_input failed: {type(e).__name__}: {e}"
                ) from e
            first_error = first_error or (method, e)
            continue
        specs[method] = MethodSpec(in_sig, infer(out))
    if not specs and first_error is not None:
        method, error = first_error
        raise InvalidInput(
            f"calling {method} on sample_input failed: {type(error).__name__}: {error}"
        ) from error
    return specs


def _with_known(
    specs: dict[str, MethodSpec], known: Mapping[str, MethodSpec]
) -> dict[str, MethodSpec]:
    """The adapter's own signatures (read from the format) over the ones from the sample."""
    merged = dict(specs)
    for name, spec in known.items():
        inferred = specs.get(name, MethodSpec())
        merged[name] = MethodSpec(
            spec.input if spec.input.kind != "unknown" else inferred.input,
            spec.output if spec.output.kind != "unknown" else inferred.output,
        )
    return merged


def _entry(directory: Path, rel: str) -> FileEntry:
    import hashlib

    path = directory / rel
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return FileEntry(rel, digest.hexdigest(), path.stat().st_size)


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _python() -> str:
    import platform

    return platform.python_version()


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- loading -------------------------------------------------------------------------------


class Method:
    """One method of a loaded model: checks its input against the signature, then calls it."""

    def __init__(self, model: LoadedModel, name: str) -> None:
        self.model = model
        self.name = name
        self.spec: MethodSpec = model.meta.methods[name]

    @property
    def input(self) -> Signature:
        return self.spec.input

    @property
    def output(self) -> Signature:
        return self.spec.output

    def __call__(self, data: Any, *, check: bool = True) -> Any:
        if check:
            data = validate(self.spec.input, data)
        return self.model.adapter.call(self.model.native, self.name, data)

    def __repr__(self) -> str:
        return f"<{self.name}({self.spec.input.describe()}) -> {self.spec.output.describe()}>"


class LoadedModel:
    """A loaded model: ``.meta``, ``.native`` (the framework's object) and its methods
    (``.predict(data)``, ``.predict_proba(data)``, ``model(data)`` for ``__call__``...)."""

    def __init__(self, path: Path, meta: ModelMeta, native: object, adapter: Adapter) -> None:
        self.path = path
        self.meta = meta
        self.native = native
        self.adapter = adapter

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.meta.methods)

    @property
    def default_method(self) -> str:
        """The method ``predict`` answers with: the model's own ``predict``, else ``__call__``,
        else its first method."""
        methods = self.meta.methods
        if not methods:
            raise NotFound("the model records no methods; save it again with methods=[...]")
        if "predict" in methods:
            return "predict"
        return "__call__" if "__call__" in methods else next(iter(methods))

    def method(self, name: str) -> Method:
        if name == "predict" and "predict" not in self.meta.methods:
            return Method(self, self.default_method)
        if name not in self.meta.methods:
            raise NotFound(
                f"the model has no method {name!r} (it has {', '.join(self.methods) or 'none'})"
            )
        return Method(self, name)

    def call(self, method: str, data: Any, *, check: bool = True) -> Any:
        return self.method(method)(data, check=check)

    def __getattr__(self, name: str) -> Method:
        meta = self.__dict__.get("meta")
        if meta is not None and name in meta.methods:
            return Method(self, name)
        if meta is not None and name == "predict" and meta.methods:
            return Method(self, self.default_method)  # every model answers predict
        raise AttributeError(
            f"{type(self).__name__} has no attribute {name!r}"
            + (f" (methods: {', '.join(meta.methods)})" if meta is not None else "")
        )

    def __call__(self, data: Any, *, check: bool = True) -> Any:
        """``__call__`` when the model has it, else its first method (usually ``predict``)."""
        if not self.meta.methods:
            raise NotFound("the model records no methods; save it again with methods=[...]")
        name = "__call__" if "__call__" in self.meta.methods else next(iter(self.meta.methods))
        return self.call(name, data, check=check)

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The methods a server exposes: ``predict`` first (see :attr:`default_method`), then
        the others; ``__call__`` is served as ``predict`` only."""
        if not self.meta.methods:
            return ()
        rest = [m for m in self.meta.methods if m not in ("predict", "__call__")]
        return ("predict", *rest)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.meta.methods, *self.endpoints})

    def __repr__(self) -> str:
        return (
            f"<LoadedModel {self.meta.adapter} ({self.meta.framework.name} "
            f"{self.meta.framework.version}) methods={list(self.meta.methods)} from {self.path}>"
        )


def load_model(
    path_or_ref: PathLike,
    *,
    trust: bool = False,
    repo: PathLike | None = None,
    rev: str | None = None,
    verify: bool = True,
) -> LoadedModel:
    """Load a model directory, or a registry ref (``churn@v1.2.0``, ``churn#prod``).

    Models whose files can run code when loaded (pickle, joblib, cloudpickle, types skops
    does not trust...) are refused with UnsafeModel unless ``trust=True``; the adapter judges
    that from the files, whatever ``landmark.yaml`` claims. ``verify`` checks every file's
    size and md5 first. A file the framework cannot read is an IntegrityError naming it.
    """
    directory = _resolve(path_or_ref, repo, rev)
    meta = read_meta(directory)
    adapter = get_adapter(meta.adapter)
    if not meta.safe and not trust:  # refused before anything is read
        raise UnsafeModel(_unsafe_message(directory, _claimed_reason(meta)))
    if verify:
        verify_files(directory, meta)
    if not trust:
        reason = guarded(directory, meta, lambda: _runs_code(adapter, directory, meta))
        if reason is not None:
            raise UnsafeModel(_unsafe_message(directory, reason))
    native = guarded(directory, meta, lambda: adapter.load(directory, meta, trust))
    return LoadedModel(directory, meta, native, adapter)


def _unsafe_message(directory: Path, reason: str) -> str:
    return (
        f"model {directory} {_line(reason, 300)}; "
        "pass trust=True (--trust) only if you trust its source"
    )


def _claimed_reason(meta: ModelMeta) -> str:
    """Why ``landmark.yaml`` calls the model unsafe, in its own words."""
    what = meta.extra.get("untrusted_types")
    if isinstance(what, list) and what:
        return f"holds types skops does not trust ({', '.join(map(str, what[:3]))})"
    return f"is saved as {_line(meta.format, 60)}, which can run code when loaded"


def _runs_code(adapter: Adapter, directory: Path, meta: ModelMeta) -> str | None:
    judge = getattr(adapter, "runs_code", None)
    if judge is None:  # a plugin written before adapters judged their files: its claim
        return None if meta.safe else _claimed_reason(meta)
    reason: str | None = judge(directory, meta)
    return reason


def guarded(directory: Path, meta: ModelMeta, step: Callable[[], T]) -> T:
    """Run an adapter's step on the model's files. landmark's own errors (UnsafeModel,
    MissingDependency, ...) pass unchanged; any other exception is the framework failing on
    a corrupt, truncated or foreign file (BadZipFile, LightGBMError, RuntimeError, ...): one
    IntegrityError naming the file, or NotFound for a file that is not there."""
    try:
        return step()
    except LandmarkError:
        raise
    except FileNotFoundError as e:
        missing = _line(str(e.filename)) if e.filename else _subject(directory, meta)
        raise NotFound(
            f"{missing}: no such file, though {META_FILE} names it; fetch or save the model again"
        ) from e
    except Exception as e:  # every framework raises its own kinds: this is the one place
        kind = meta.adapter if meta.adapter == meta.format else f"{meta.adapter} {meta.format}"
        raise IntegrityError(
            f"{_subject(directory, meta)}: not a valid {_line(kind, 60)} file "
            f"({_reason(e)}); re-save the model"
        ) from e


_line = one_line  # a value from any file, on one line and short


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    # C++ libraries' log prefix, "[19:03:32] /src/common/json.cc:409: ", says nothing here.
    first = re.sub(r"^\[[\d:]+\] \S+:\d+: ", "", text[0]) if text else ""
    if len(first.split()) < 2:  # KeyError('config.json'), EOFError(): the type says more
        first = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return _line(first)


def _subject(directory: Path, meta: ModelMeta) -> str:
    """The model file an error is about: its one file, or the folder holding its files."""
    paths = [f.path for f in meta.files]
    if len(paths) == 1:
        return str(directory / paths[0])
    if paths:
        common = os.path.commonpath([os.path.dirname(p) or "." for p in paths])
        if common not in ("", "."):
            return str(directory / common)
    return str(directory)


def verify_files(directory: Path, meta: ModelMeta) -> None:
    """IntegrityError when a model file is missing, truncated or changed since it was saved."""
    for f in meta.files:
        path = directory / f.path
        try:
            if not path.is_file():
                what = "is not a file" if path.exists() else "is missing"
                raise IntegrityError(f"{path} {what}; fetch or save the model again")
            changed = path.stat().st_size != f.size or _entry(directory, f.path).md5 != f.md5
        except OSError as e:
            raise IntegrityError(
                f"{path} cannot be read ({_line(e.strerror or str(e))}); "
                "fetch or save the model again"
            ) from e
        if changed:
            raise IntegrityError(
                f"{path} does not match the md5 in {META_FILE}; fetch or save the model again"
            )


def _resolve(path_or_ref: PathLike, repo: PathLike | None, rev: str | None) -> Path:
    """A local model directory, or a registry ref fetched into the cache."""
    text = os.fspath(path_or_ref)
    path = Path(text).expanduser()
    if path.is_dir() and rev is None:
        return path
    from ..names import is_valid_artifact

    name = text.partition("@")[0].partition("#")[0]
    if not is_valid_artifact(name):
        raise NotFound(f"{text} is neither a model directory nor a registry ref like churn#prod")
    if rev is None and "@" not in text and "#" not in text:
        raise NotFound(
            f"{text} is not a model directory; from the registry, load NAME@latest, "
            "NAME@v1.2.3 or NAME#stage"
        )
    return fetch(text, repo or ".", rev)


def fetch(ref: str, repo: PathLike, rev: str | None = None) -> Path:
    """The model directory a registry ref names, in the user cache (fetched once per content).

    The cache key is the DVC output's hash (or the commit and path of a git-tracked model),
    so a stage moving to another version fetches that version, and refs naming the same
    bytes share one copy. Files are checked against ``landmark.yaml`` when loaded.
    """
    import hashlib

    from ..git import cache_root
    from ..registry import Registry
    from ..storage import get as storage

    reg = Registry(repo)
    located = storage.locate(reg, ref, rev)
    if located.output is not None:
        key = located.output.md5.replace(".dir", "") + (
            "-" + hashlib.md5(located.inner.encode()).hexdigest()[:12] if located.inner else ""
        )
    else:
        key = f"{located.commit}-{hashlib.md5(located.path.encode()).hexdigest()[:12]}"
    dest = cache_root() / "models" / key
    if not (dest / META_FILE).is_file():
        storage.get(ref, repo=repo, out=dest, rev=rev, force=True)
        if not (dest / META_FILE).is_file():
            raise NotFound(
                f"{ref} ({located.path} at {located.commit[:7]}) is not a landmark model "
                f"directory (no {META_FILE}); log it with landmark.log_model"
            )
    return dest


def describe(path_or_ref: PathLike, *, repo: PathLike | None = None) -> ModelMeta:
    """The metadata of a saved model, without loading it."""
    return read_meta(_resolve(path_or_ref, repo, None))


@dataclass(frozen=True)
class Safety:
    """Whether loading a model runs code from its files: the adapter's verdict, read from the
    format and the files (as ``load_model`` judges them), beside what ``landmark.yaml`` claims.
    ``reason`` says what would run code ("is saved as pickle, which can run code when
    loaded"), or that the files could not be judged."""

    safe: bool  # what load_model goes by: both the files and the claim say safe
    claimed: bool  # landmark.yaml's ``safe``
    files_safe: bool  # the adapter's verdict on the files
    reason: str = ""

    @property
    def disagrees(self) -> bool:
        return self.claimed != self.files_safe


@dataclass(frozen=True)
class Description:
    """What ``describe-model`` shows: the model directory, its metadata and its safety."""

    path: Path
    meta: ModelMeta
    safety: Safety


def safety(directory: Path, meta: ModelMeta) -> Safety:
    """The adapter's verdict on the files in ``directory``; files it cannot judge (a corrupt
    file, an adapter or framework not installed) count as unsafe, with the reason."""
    try:
        adapter = get_adapter(meta.adapter)
        reason = guarded(directory, meta, lambda: _runs_code(adapter, directory, meta))
    except LandmarkError as e:
        reason = f"cannot be checked ({_line(str(e))})"
    files_safe = reason is None
    if reason is None and not meta.safe:
        reason = f"is marked unsafe in {META_FILE}"
    return Safety(meta.safe and files_safe, meta.safe, files_safe, reason or "")


def describe_model(path_or_ref: PathLike, *, repo: PathLike | None = None) -> Description:
    """A saved model's metadata and the adapter's safety verdict on its files, without
    loading it (a registry ref is fetched first)."""
    directory = _resolve(path_or_ref, repo, None)
    meta = read_meta(directory)
    return Description(directory, meta, safety(directory, meta))


__all__ = [
    "Description",
    "LoadedModel",
    "Method",
    "Safety",
    "describe",
    "describe_model",
    "guarded",
    "load_model",
    "safety",
    "save_model",
    "verify_files",
]
