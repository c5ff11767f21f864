"""scikit-learn: skops by default (loads without running code, checks its trusted types).

``format="pickle"`` or ``"joblib"`` are there for estimators skops cannot write; they can run
code when loaded, so the model is marked unsafe and loading needs ``trust=True``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from ...errors import InvalidInput, UnsafeModel
from ..adapter import Saved, SaveOptions, class_names, code_format, public_methods, require
from ..meta import ModelMeta

METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "score_samples",
)
FILES = {"skops": "model.skops", "pickle": "model.pkl", "joblib": "model.joblib"}


def check_methods(model: object, requested: tuple[str, ...] | None, found: tuple[str, ...]) -> None:
    for name in requested or ():
        if not callable(getattr(model, name, None)):
            raise InvalidInput(
                f"{type(model).__name__} has no method {name!r} "
                f"(it has {', '.join(found) or 'none of the usual ones'})"
            )


def write_skops(model: object, target: Path) -> list[str]:
    """Write ``model`` as a skops file; return the types skops will not trust by default.

    landmark's own writer makes the file skops makes without importing ``skops.io`` (seconds
    per process); what it has no rule for, or cannot judge, goes to skops itself."""
    require("skops", "sklearn", "skops")
    from . import skops_writer

    try:
        seen = skops_writer.write(model, target)
    except skops_writer.Unsupported:
        sio = skops_io()
        sio.dump(model, target)
        return sorted(sio.get_untrusted_types(file=target))
    untrusted = skops_writer.untrusted_types(seen)
    if untrusted is None:
        sio = skops_io()
        untrusted = sorted(sio.get_untrusted_types(file=target))
    return untrusted


_COMPAT = "sklearn.externals.array_api_compat."
_BACKENDS = ("torch", "cupy", "dask", "jax", "paddle")


class _UnloadedBackends:
    """A meta-path finder that refuses sklearn's array-API wrappers of frameworks the process
    has not imported. skops lists sklearn's estimators when first imported, and that walk
    imports every sklearn package, ``array_api_compat.torch`` (so all of torch, seconds) among
    them; the walk skips packages that fail to import, and none of them holds an estimator."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.startswith(_COMPAT):
            backend = name[len(_COMPAT) :].partition(".")[0]
            if backend in _BACKENDS and backend not in sys.modules:
                raise ImportError(f"{name} skipped while skops lists sklearn's estimators")


def skops_io() -> Any:
    """``skops.io``, imported without importing frameworks it never needs."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    finder = _UnloadedBackends()
    sys.meta_path.insert(0, finder)
    try:
        return require("skops.io", "sklearn", "skops")
    finally:
        sys.meta_path.remove(finder)


def skops_refused(
    path: Path, also_trusted: Callable[[str], bool] = lambda name: False
) -> str | None:
    """Why loading the skops file at ``path`` needs trust (the types skops does not trust by
    default and ``also_trusted`` does not accept), or None; read from the file itself."""
    sio = skops_io()
    refused = [t for t in sio.get_untrusted_types(file=path) if not also_trusted(t)]
    if not refused:
        return None
    shown = ", ".join(refused[:3]) + (" ..." if len(refused) > 3 else "")
    return f"holds types skops does not trust ({shown})"


def load_skops(
    path: Path,
    trust: bool,
    also_trusted: Callable[[str], bool] = lambda name: False,
    advice: str = "load with trust=True (--trust) only if you trust its source",
) -> object:
    """Load a skops file; types skops does not trust by default (and ``also_trusted`` does
    not accept) are refused with an UnsafeModel unless ``trust``."""
    sio = skops_io()
    refused = skops_refused(path, also_trusted)
    if refused and not trust:
        raise UnsafeModel(f"{path} {refused}; {advice}")
    untrusted = list(sio.get_untrusted_types(file=path))
    return sio.load(path, trusted=untrusted or None)


class SklearnAdapter:
    name: ClassVar[str] = "sklearn"
    framework: ClassVar[str] = "scikit-learn"

    @classmethod
    def handles(cls, model: object) -> bool:
        return "sklearn.base.BaseEstimator" in class_names(model)

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        fmt = options.format or "skops"
        if fmt not in FILES:
            raise InvalidInput(
                f"unknown scikit-learn format {fmt!r}: use skops (default), pickle or joblib"
            )
        found = public_methods(model, METHODS)
        check_methods(model, options.methods, found)
        target = directory / FILES[fmt]
        extra: dict[str, Any] = {}
        safe = fmt == "skops"
        if fmt == "skops":
            # Types outside skops' default list (a user's own estimator class) need trust to
            # load: record them, and call the model unsafe.
            untrusted = write_skops(model, target)
            if untrusted:
                extra["untrusted_types"] = untrusted
                safe = False
        elif fmt == "pickle":
            import pickle

            with open(target, "wb") as fh:
                pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            joblib = require("joblib", "sklearn")
            joblib.dump(model, target)
        return Saved(
            files=(target.name,),
            format=fmt,
            safe=safe,
            methods=options.methods or found,
            extra=extra,
            requires=("skops",) if fmt == "skops" else ("joblib",) if fmt == "joblib" else (),
        )

    def _path(self, directory: Path, meta: ModelMeta) -> Path:
        if meta.format not in FILES:
            raise InvalidInput(f"{directory}: unknown scikit-learn format {meta.format!r}")
        return directory / FILES[meta.format]

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        path = self._path(directory, meta)
        if meta.format == "skops":
            return skops_refused(path)
        return code_format(meta.format)

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        fmt = meta.format
        path = self._path(directory, meta)
        if fmt == "skops":
            return load_skops(path, trust)
        # The metadata's ``safe`` flag could have been edited: refuse here too.
        if not trust:
            raise UnsafeModel(
                f"{path} is a {fmt} file, which can run code when loaded; "
                "load with trust=True (--trust) only if you trust its source"
            )
        if fmt == "pickle":
            import pickle

            with open(path, "rb") as fh:
                return pickle.load(fh)
        joblib = require("joblib", "sklearn")
        return joblib.load(path)

    def call(self, model: object, method: str, data: object) -> object:
        return getattr(model, method)(data)

    def requirements(self, model: object) -> list[str]:
        return ["scikit-learn", "numpy", "scipy"]
