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


# Whether skops files skops trusts by default are read by :func:`read_trusted` rather than by
# ``skops.io``. ``landmark serve`` turns it on (its start-up then never imports ``skops.io``),
# and so do batch scoring and Spark's workers while they load; elsewhere loading goes through
# skops itself.
_READ_TRUSTED = False


def read_trusted_files(on: bool = True) -> bool:
    """Read the skops files skops trusts by default without importing ``skops.io`` (the
    objects are the same; a file with anything else still goes to skops). Returns the
    previous setting, for a caller that turns it on only while it loads."""
    global _READ_TRUSTED
    before, _READ_TRUSTED = _READ_TRUSTED, on
    return before


def load_scorer(load: Callable[[], Any]) -> Any:
    """``load()`` with :func:`read_trusted_files` on, restored after: a process that scores
    (a batch file, a Spark worker) starts a second or more sooner."""
    before = read_trusted_files()
    try:
        return load()
    finally:
        read_trusted_files(before)
        _READ.clear()


# What :func:`skops_refused` read to give its verdict, for the :func:`load_skops` that follows
# it (a load judges the file, then loads it): the file's identity and the object built from
# it. One entry; taken by the load, so the file is read once and the object loaded is the one
# judged.
_READ: dict[tuple[Any, ...], Any] = {}


def _identity(path: Path) -> tuple[Any, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _judged(path: Path) -> bool:
    """Whether :func:`read_trusted` reads the file; what it built is kept for the load."""
    read, obj = read_trusted(path)
    _READ.clear()
    key = _identity(path)
    if read and key is not None:
        _READ[key] = obj
    return read


def _read_trusted_once(path: Path) -> tuple[bool, Any]:
    """:func:`read_trusted`, or what :func:`_judged` just read of the same file."""
    key = _identity(path)
    if key is not None and key in _READ:
        return True, _READ.pop(key)
    _READ.clear()
    return read_trusted(path)


class _Ask(Exception):
    """The file holds something :func:`read_trusted` does not read: ask skops."""


_LOADERS = {
    "DictNode",
    "ListNode",
    "SetNode",
    "TupleNode",
    "JsonNode",
    "NdArrayNode",
    "ObjectNode",
    "TypeNode",
    "SliceNode",
    "BytesNode",
    "BytearrayNode",
}


def read_trusted(path: Path) -> tuple[bool, Any]:
    """``(True, object)`` for a skops file whose every node is of a type skops trusts by
    default and of a kind read here, loaded as ``skops.io.load`` would load it; ``(False,
    None)`` for any other file (then skops judges and loads it). Importing ``skops.io``
    builds its trust lists by importing every public scikit-learn module (a second or more):
    a server with a plain pipeline never needs it. The verdicts are skops' own default lists
    as ``skops_writer`` carries them (its tests check them against skops); the construction
    mirrors skops' nodes of protocol 2 (``tests/serve`` compares the two)."""
    import json
    import zipfile

    from . import skops_writer

    if skops_writer._release(skops_writer.skops_version()) != skops_writer.FIRST_SKOPS:
        return False, None  # another skops: its own rules
    try:
        with zipfile.ZipFile(path) as zf:
            schema = json.loads(zf.read("schema.json"))
            protocol = schema.get("protocol")
            if type(protocol) is not int or protocol != skops_writer.PROTOCOL:
                return False, None
            return True, _Reader(zf, skops_writer).node(schema)
    except (_Ask, RecursionError, LookupError, TypeError, ValueError, AttributeError, OSError):
        return False, None  # and skops says what it makes of the file
    except (ImportError, zipfile.BadZipFile):
        return False, None


class _Reader:
    def __init__(self, zf: Any, rules: Any) -> None:
        self.zf = zf
        self.rules = rules
        self.lists = rules._Lists()
        self.memo: dict[Any, Any] = {}
        self.busy: set[Any] = set()

    def node(self, state: Any) -> Any:
        if not isinstance(state, dict):
            raise _Ask
        saved = state.get("__id__")
        if saved is not None and saved in self.memo:  # one object shared, as skops shares it
            return self.memo[saved]
        if saved is not None and saved in self.busy:
            raise _Ask  # a cycle: skops makes of it what it makes
        loader, module, name = state["__loader__"], state["__module__"], state["__class__"]
        if loader not in _LOADERS or not isinstance(module, str) or not isinstance(name, str):
            raise _Ask
        if loader == "ObjectNode" and module.startswith("sklearn."):
            if not all(part.isidentifier() for part in module.split(".")):
                raise _Ask
            import importlib

            importlib.import_module(module)  # scikit-learn's own module, to judge the class
        if self.rules._judge(loader, f"{module}.{name}", self.lists) is not True:
            raise _Ask
        if saved:
            self.busy.add(saved)
        obj = getattr(self, loader)(state, module, name)
        if saved:
            self.memo[saved] = obj
            self.busy.discard(saved)
        return obj

    @staticmethod
    def _type(module: str, name: str) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)

    def DictNode(self, state: Any, module: str, name: str) -> Any:
        key_types = self.node(state["key_types"])
        content = {k: self.node(v) for k, v in state["content"].items()}
        out = self._type(module, name)()
        for k_type, (key, value) in zip(key_types, content.items(), strict=False):
            out[k_type(key)] = value
        return out

    def ListNode(self, state: Any, module: str, name: str) -> Any:
        return self._type(module, name)([self.node(v) for v in state["content"]])

    SetNode = ListNode

    def TupleNode(self, state: Any, module: str, name: str) -> Any:
        items = [self.node(v) for v in state["content"]]
        cls = self._type(module, name)
        content = tuple(items)
        bases = cls.__bases__
        fields = getattr(cls, "_fields", None)
        if (
            len(bases) == 1
            and bases[0] is tuple
            and isinstance(fields, tuple)
            and all(isinstance(n, str) for n in fields)
        ):
            return cls(*content)
        return content

    def JsonNode(self, state: Any, module: str, name: str) -> Any:
        import json

        return json.loads(state["content"])

    def NdArrayNode(self, state: Any, module: str, name: str) -> Any:
        import io

        import numpy as np

        kind = state["type"]
        if kind == "numpy":
            content = np.load(io.BytesIO(self.zf.read(state["file"])), allow_pickle=False)
            if f"{module}.{name}" != "numpy.ndarray":
                content = self._type(module, name)(content)
            return content
        if kind != "json":
            raise _Ask
        items = [self.node(o) for o in state["content"]]
        shape = self.node(state["shape"])
        if len(shape) == 1:
            out = np.ndarray(shape=len(items), dtype="O")
            for i, v in enumerate(items):
                out[i] = v
            return out
        return np.array(items, dtype="O")

    def ObjectNode(self, state: Any, module: str, name: str) -> Any:
        content = state.get("content")
        attrs = None if content is None else self.node(content)
        cls = self._type(module, name)
        instance = cls.__new__(cls)
        if content is None:
            return instance
        if attrs is not None:
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(attrs)
            else:
                instance.__dict__.update(attrs)
        return instance

    def TypeNode(self, state: Any, module: str, name: str) -> Any:
        return self._type(module, name)

    def SliceNode(self, state: Any, module: str, name: str) -> Any:
        c = state["content"]
        return slice(c["start"], c["stop"], c["step"])

    def BytesNode(self, state: Any, module: str, name: str) -> Any:
        return self.zf.read(state["file"])

    def BytearrayNode(self, state: Any, module: str, name: str) -> Any:
        return bytearray(list(self.zf.read(state["file"])))


def skops_refused(
    path: Path, also_trusted: Callable[[str], bool] = lambda name: False
) -> str | None:
    """Why loading the skops file at ``path`` needs trust (the types skops does not trust by
    default and ``also_trusted`` does not accept), or None; read from the file itself."""
    if _READ_TRUSTED and _judged(path):
        return None
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
    if _READ_TRUSTED:
        read, obj = _read_trusted_once(path)
        if read:
            return obj
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
