"""The adapter interface and the one table of adapters (built in, then entry-point plugins).

An adapter knows one framework: whether an object is one of its models (cheaply, by the names
in the object's class hierarchy, never importing the framework), how to write it in the
framework's native or safe format, how to load it back and how to call its methods.
Adapter modules import their framework inside methods only.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..errors import InvalidInput, MissingDependency, NotFound
from .meta import MethodSpec, ModelMeta

ENTRY_POINT_GROUP = "landmark.adapters"

# Order matters: the first adapter whose ``handles`` is true wins, so frameworks that also
# ship scikit-learn wrappers (XGBoost, LightGBM, CatBoost) come before ``sklearn``, and the
# generic ``callable`` is last. Entry-point adapters are tried before ``sklearn``.
ADAPTERS: dict[str, str] = {
    "xgboost": "landmark.models.adapters.xgboost:XGBoostAdapter",
    "lightgbm": "landmark.models.adapters.lightgbm:LightGBMAdapter",
    "catboost": "landmark.models.adapters.catboost:CatBoostAdapter",
    "torch": "landmark.models.adapters.torch:TorchAdapter",
    "onnx": "landmark.models.adapters.onnx:OnnxAdapter",
    "keras": "landmark.models.adapters.keras:KerasAdapter",
    "transformers": "landmark.models.adapters.transformers:TransformersAdapter",
    "sklearn": "landmark.models.adapters.sklearn:SklearnAdapter",
    "callable": "landmark.models.adapters.callable:CallableAdapter",
}
GENERIC = ("sklearn", "callable")  # tried after plugins


@dataclass(frozen=True)
class SaveOptions:
    """What the caller asked for; ``format`` None means the adapter's default (safe) format."""

    format: str | None = None
    methods: tuple[str, ...] | None = None
    sample_input: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Saved:
    """What an adapter wrote: files relative to the model directory, and how to read them."""

    files: tuple[str, ...]
    format: str
    safe: bool
    methods: tuple[str, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()  # distributions needed to read the format (skops, joblib...)
    # Signatures the format itself records (an ONNX graph's inputs and outputs): they win
    # over those inferred from the sample input, and stand in when there is none.
    signatures: Mapping[str, MethodSpec] = field(default_factory=dict)


class Adapter(Protocol):
    name: ClassVar[str]
    framework: ClassVar[str]  # the distribution whose version is recorded

    @classmethod
    def handles(cls, model: object) -> bool: ...

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved: ...

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object: ...

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        """What in the saved files would run code when loaded, judged from the format and the
        files themselves (never from ``meta.safe``), as a predicate ("is saved as pickle,
        which can run code when loaded"); None when loading runs none. ``load`` refuses, and
        ``describe-model`` reports, by this same judgement."""
        ...

    def call(self, model: object, method: str, data: object) -> object: ...

    def requirements(self, model: object) -> list[str]: ...


# -- helpers for adapters ----------------------------------------------------------------


def class_names(obj: object) -> set[str]:
    """``module.QualName`` of every class in ``type(obj)``'s MRO (``obj`` itself if a class)."""
    cls = obj if isinstance(obj, type) else type(obj)
    return {f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__}


def class_modules(obj: object) -> set[str]:
    """Top-level package names of every class in the MRO (``sklearn``, ``xgboost``...)."""
    cls = obj if isinstance(obj, type) else type(obj)
    return {c.__module__.partition(".")[0] for c in cls.__mro__}


def require(module: str, extra: str, what: str | None = None) -> Any:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        raise MissingDependency(
            f"{what or top} is not installed: pip install 'landmark[{extra}]'"
        ) from e


def own_class(model: object, module: str) -> str:
    """``module.QualName`` of the first class in the model's MRO defined in ``module`` (a
    framework's): a user's subclass is recorded, and rebuilt, as the class it extends."""
    for cls in type(model).__mro__:
        if cls.__module__ == module:
            return f"{cls.__module__}.{cls.__qualname__}"
    raise InvalidInput(f"{type(model).__qualname__} extends no class of {module}")


def code_format(fmt: str) -> str:
    """The verdict on a format that runs code when loaded (an adapter's own format name)."""
    return f"is saved as {fmt}, which can run code when loaded"


def public_methods(model: object, candidates: tuple[str, ...]) -> tuple[str, ...]:
    """The candidate method names the model really has (``hasattr`` honours sklearn's
    ``available_if``: ``predict_proba`` of an SVC without probabilities is absent)."""
    found = []
    for name in candidates:
        try:
            ok = callable(getattr(model, name))
        except AttributeError:
            ok = False
        if ok:
            found.append(name)
    return tuple(found)


# -- the table ---------------------------------------------------------------------------

_plugins: dict[str, str] | None = None
_instances: dict[str, Adapter] = {}


def _entry_points() -> dict[str, str]:
    global _plugins
    if _plugins is None:
        from importlib.metadata import entry_points

        _plugins = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return _plugins


def _spec(name: str) -> str | None:
    return ADAPTERS.get(name) or _entry_points().get(name)


def _load(name: str, spec: str) -> Adapter:
    module_name, _, attr = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise MissingDependency(f"adapter {name!r} ({spec}) cannot be imported: {e}") from e
    instance: Adapter = cls()
    return instance


def get_adapter(name: str) -> Adapter:
    """The adapter registered under ``name`` (built in or an entry point)."""
    if name not in _instances:
        spec = _spec(name)
        if spec is None:
            known = ", ".join(names())
            raise NotFound(f"no model adapter named {name!r} (known: {known})")
        _instances[name] = _load(name, spec)
    return _instances[name]


def names() -> list[str]:
    """Adapter names in the order ``adapter_for`` tries them."""
    specific = [n for n in ADAPTERS if n not in GENERIC]
    plugins = [n for n in _entry_points() if n not in ADAPTERS]
    return specific + plugins + list(GENERIC)


def _available(name: str) -> bool:
    """False for a built-in adapter whose module is not written (yet) in this install."""
    spec = _spec(name)
    if spec is None:
        return False
    try:
        return importlib.util.find_spec(spec.partition(":")[0]) is not None
    except ModuleNotFoundError:
        return False


def adapter_for(model: object) -> Adapter:
    """The first adapter that handles ``model``; InvalidInput when none does."""
    for name in names():
        if name in ADAPTERS and not _available(name):
            continue
        adapter = get_adapter(name)
        if type(adapter).handles(model):
            return adapter
    raise InvalidInput(
        f"no model adapter handles {type(model).__module__}.{type(model).__qualname__}; "
        "pass adapter='callable' for any Python callable"
    )


__all__ = [
    "ADAPTERS",
    "ENTRY_POINT_GROUP",
    "Adapter",
    "SaveOptions",
    "Saved",
    "adapter_for",
    "class_modules",
    "class_names",
    "code_format",
    "get_adapter",
    "names",
    "own_class",
    "public_methods",
    "require",
]
