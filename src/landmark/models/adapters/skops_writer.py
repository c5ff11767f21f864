"""Write scikit-learn models as skops files without importing ``skops.io``.

Why: ``import skops.io`` builds its lists of trusted types at import time. That walks and imports
every public scikit-learn module (and, through scikit-learn's array-API shims, torch where it is
installed): seconds, on every first save in a process, against tens of milliseconds for the
save itself. Loading still goes through skops, whose type checks are the safety guard.

:func:`write` makes the file ``skops.io.dump`` makes (protocol 2: a zip of ``schema.json`` plus
one ``.npy``/``.npz``/``.bin`` member per array, sparse matrix or bytes object). It mirrors
skops' rules object by object: ``tests/test_skops_writer.py`` compares the two schema trees node
by node, and the array members byte for byte, over a catalogue of estimators. An object whose
rules it does not carry raises :class:`Unsupported`; the caller then uses skops itself.

:func:`untrusted_types` answers skops' ``get_untrusted_types`` for the nodes it can judge
exactly from skops' default lists, and returns ``None`` (ask skops) for any other.
"""

from __future__ import annotations

import io
import json
import sys
import uuid
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROTOCOL = 2


class Unsupported(Exception):
    """An object this writer has no rule for: fall back to ``skops.io.dump``."""


# -- naming, as skops names types and functions -------------------------------------------------
def _module_of(obj: Any) -> str:
    """The module an object (a class or a function) belongs to: its ``__module__``, else the
    first imported module holding it under its ``__name__`` (ufuncs of old numpy), else
    ``__main__``."""
    module = getattr(obj, "__module__", None)
    if module is not None:
        return str(module)
    name = obj.__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module_name, module_obj in list(sys.modules.items()):
            if module_name in ("__main__", "__mp_main__") or module_obj is None:
                continue
            try:
                if getattr(module_obj, name, None) is obj:
                    return module_name
            except (AttributeError, ImportError):
                continue
    return "__main__"


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# -- the writer ---------------------------------------------------------------------------------
Node = dict[str, Any]


class _Writer:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        import numpy

        self.np = numpy
        self.zf = zf
        self.names: set[str] = set()
        # Every object given a node stays referenced until the file is written: node ids are
        # ``id()`` values, and the loader shares one object between nodes with the same id.
        self.kept: dict[int, Any] = {}
        self.seen: list[tuple[str, str]] = []  # (loader, type name) of every node, for trust

    # One node. The rule is the first class in the MRO that has one, as functools'
    # singledispatch (which skops uses) picks it.
    def node(self, obj: Any) -> Node:
        self.kept.setdefault(id(obj), obj)
        rule = _rule_for(type(obj))
        res = rule(self, obj)
        res["__id__"] = id(obj)
        self.seen.append((res["__loader__"], f"{res['__module__']}.{res['__class__']}"))
        return res

    def member(self, name: str, data: bytes | memoryview) -> None:
        if name not in self.names:
            self.zf.writestr(name, data)
            self.names.add(name)


def _head(obj: Any, loader: str) -> Node:
    return {
        "__class__": type(obj).__name__,
        "__module__": _module_of(type(obj)),
        "__loader__": loader,
    }


def _dict(w: _Writer, obj: dict[Any, Any]) -> Node:
    res = _head(obj, "DictNode")
    key_types = w.node([type(key) for key in obj])
    content: dict[Any, Node] = {}
    for key, value in obj.items():
        if isinstance(value, property):
            continue
        if w.np.isscalar(key) and hasattr(key, "item"):
            key = key.item()
        content[key] = w.node(value)
    res["content"] = content
    res["key_types"] = key_types
    return res


def _defaultdict(w: _Writer, obj: Any) -> Node:
    res = _head(obj, "DefaultDictNode")
    res["content"] = {
        "main": w.node(dict(obj)),
        "default_factory": w.node(obj.default_factory),
    }
    return res


def _sequence(loader: str) -> Callable[[_Writer, Any], Node]:
    def rule(w: _Writer, obj: Any) -> Node:
        res = _head(obj, loader)
        res["content"] = [w.node(value) for value in obj]
        return res

    return rule


def _function(w: _Writer, obj: Any) -> Node:
    return {"__class__": obj.__name__, "__module__": _module_of(obj), "__loader__": "FunctionNode"}


def _type(w: _Writer, obj: Any) -> Node:
    return {"__class__": obj.__name__, "__module__": _module_of(obj), "__loader__": "TypeNode"}


def _partial(w: _Writer, obj: Any) -> Node:
    _, _, (func, args, kwds, namespace) = obj.__reduce__()
    return {
        "__class__": "partial",
        "__module__": _module_of(type(obj)),
        "__loader__": "PartialNode",
        "content": {
            "func": w.node(func),
            "args": w.node(args),
            "kwds": w.node(kwds),
            "namespace": w.node(namespace),
        },
    }


def _slice(w: _Writer, obj: slice) -> Node:
    res = _head(obj, "SliceNode")
    res["content"] = {"start": obj.start, "stop": obj.stop, "step": obj.step}
    return res


def _method(w: _Writer, obj: Any) -> Node:
    owner = obj.__self__
    return {
        "__class__": type(owner).__name__,
        "__module__": _module_of(obj),
        "__loader__": "MethodNode",
        "content": {"func": obj.__func__.__name__, "obj": w.node(owner)},
    }


def _bytes(loader: str) -> Callable[[_Writer, Any], Node]:
    def rule(w: _Writer, obj: Any) -> Node:
        name = f"{uuid.uuid4()}.bin"
        w.member(name, bytes(obj))
        res = _head(obj, loader)
        res["file"] = name
        return res

    return rule


def _object(w: _Writer, obj: Any) -> Node:
    try:
        text = json.dumps(obj)
    except Exception:
        pass
    else:
        return {
            "__class__": "str",
            "__module__": "builtins",
            "__loader__": "JsonNode",
            "content": text,
            "is_json": True,
        }
    reduced = obj.__reduce__()
    if len(reduced) >= 2 and reduced[0] is type(obj) and all(item is None for item in reduced[2:]):
        res = _head(obj, "ConstructorFromReduceNode")
        res["content"] = w.node(reduced[1])
        return res
    res = _head(obj, "ObjectNode")
    if hasattr(obj, "__getstate__"):
        attrs = obj.__getstate__()
    elif hasattr(obj, "__dict__"):
        attrs = obj.__dict__
    else:
        return res
    res["content"] = w.node(attrs)
    return res


def _ndarray(w: _Writer, obj: Any) -> Node:
    np = w.np
    res = _head(obj, "NdArrayNode")
    if obj.dtype == object:
        items = w.node(obj.tolist())
        res["content"] = items["content"]
        res["type"] = "json"
        res["shape"] = w.node(obj.shape)
        return res
    buffer = io.BytesIO()
    try:
        np.save(buffer, obj, allow_pickle=False)
    except ValueError as e:
        raise Unsupported(f"numpy arrays of dtype {obj.dtype}") from e
    name = f"{id(obj)}.npy"
    w.member(name, buffer.getbuffer())
    res.update(type="numpy", file=name)
    return res


def _masked(w: _Writer, obj: Any) -> Node:
    res = _head(obj, "MaskedArrayNode")
    res["content"] = {"data": w.node(obj.data), "mask": w.node(obj.mask)}
    return res


def _dtype(w: _Writer, obj: Any) -> Node:
    return {
        "__class__": "dtype",
        "__module__": "numpy",
        "__loader__": "DTypeNode",
        "content": w.node(w.np.ndarray(0, dtype=obj)),
    }


def _random_state(w: _Writer, obj: Any) -> Node:
    res = _head(obj, "RandomStateNode")
    res["content"] = w.node(obj.get_state(legacy=False))
    return res


def _generator(w: _Writer, obj: Any) -> Node:
    bit_generator = w.node(obj.bit_generator.state)
    seed_seq = w.node(obj.bit_generator.seed_seq.state)
    res = _head(obj, "RandomGeneratorNode")
    res["content"] = {"bit_generator": bit_generator, "seed_seq": seed_seq}
    # skops also checks the bit generator the state names: keep it for the trust verdict
    w.seen.append(("BitGenerator", f"numpy.random.{obj.bit_generator.state['bit_generator']}"))
    return res


def _sparse(w: _Writer, obj: Any) -> Node:
    from scipy.sparse import save_npz

    res = _head(obj, "SparseMatrixNode")
    buffer = io.BytesIO()
    save_npz(buffer, obj)
    name = f"{id(obj)}.npz"
    w.member(name, buffer.getbuffer())
    res["type"] = "scipy"
    res["file"] = name
    return res


def _reduced(w: _Writer, obj: Any, loader: str) -> Node:
    res = _head(obj, loader)
    reduced = obj.__reduce__()
    args = w.node(reduced[1])
    if len(reduced) == 3:
        attrs = reduced[2]
    elif hasattr(obj, "__getstate__"):
        attrs = obj.__getstate__() or {}
    elif hasattr(obj, "__dict__"):
        attrs = obj.__dict__
    else:
        attrs = {}
    if not isinstance(attrs, (dict, tuple)):
        raise Unsupported(f"objects of type {type(obj).__name__}")
    res["__reduce__"] = {"args": args}
    res["content"] = w.node(attrs)
    return res


def _tree(w: _Writer, obj: Any) -> Node:
    return _reduced(w, obj, "TreeNode")


def _loss(w: _Writer, obj: Any) -> Node:
    reduced = obj.__reduce__()
    if reduced[0] is type(obj):
        return _reduced(w, obj, "LossNode")
    if reduced[1][0] is not type(obj):
        raise Unsupported(f"the __reduce__ output of {type(obj).__name__}")
    res = _head(obj, "LossNode")
    if len(reduced) == 3:
        res["__reduce__"] = {"args": w.node(())}
        res["content"] = w.node(reduced[2])
    else:
        res["__reduce__"] = {"args": w.node(reduced[1][2])}
        res["content"] = w.node({})
    return res


def _unsupported(w: _Writer, obj: Any) -> Node:
    raise Unsupported(f"objects of type {type(obj).__name__}")


# The rules, by ``module.QualName`` of a class in the MRO: matching by name needs no import of
# the scikit-learn or scipy modules that define them (a model holding one has imported it).
RULES: dict[str, Callable[[_Writer, Any], Node]] = {
    "builtins.dict": _dict,
    "collections.defaultdict": _defaultdict,
    "builtins.list": _sequence("ListNode"),
    "builtins.set": _sequence("SetNode"),
    "builtins.tuple": _sequence("TupleNode"),
    "builtins.bytes": _bytes("BytesNode"),
    "builtins.bytearray": _bytes("BytearrayNode"),
    "builtins.slice": _slice,
    "builtins.function": _function,
    "builtins.method": _method,
    "functools.partial": _partial,
    "builtins.type": _type,
    "builtins.builtin_function_or_method": _type,
    "numpy.generic": _ndarray,
    "numpy.ndarray": _ndarray,
    "numpy.ma.MaskedArray": _masked,
    "numpy.ufunc": _function,
    "numpy._ArrayFunctionDispatcher": _function,
    "numpy.dtype": _dtype,
    "numpy.random.mtrand.RandomState": _random_state,
    "numpy.random._generator.Generator": _generator,
    "scipy.sparse._matrix.spmatrix": _sparse,
    "scipy.sparse._base.sparray": _sparse,
    "scipy.special._ufunc_tools._UFuncWrapper": _function,
    "sklearn.tree._tree.Tree": _tree,
    "sklearn._loss._loss.CyLossFunction": _loss,
    "sklearn._loss._loss.CyHalfMultinomialLoss": _loss,
    "sklearn.linear_model._sgd_fast.LossFunction": _loss,
    # skops has no rule for these, or refuses them: let it say so.
    "sklearn.cluster._birch.Birch": _unsupported,
    "sklearn.covariance._graph_lasso._DictWithDeprecatedKeys": _unsupported,
    "operator.attrgetter": _unsupported,
    "operator.itemgetter": _unsupported,
    "operator.methodcaller": _unsupported,
    "zoneinfo.ZoneInfo": _unsupported,
    "builtins.object": _object,
}

_RULE_CACHE: dict[type, Callable[[_Writer, Any], Node]] = {}


def _rule_for(cls: type) -> Callable[[_Writer, Any], Node]:
    rule = _RULE_CACHE.get(cls)
    if rule is None:
        for base in cls.__mro__:
            rule = RULES.get(_qualified(base))
            if rule is not None:
                break
        else:  # every MRO ends in object
            rule = _object
        _RULE_CACHE[cls] = rule
    return rule


def skops_version() -> str:
    import skops  # the package root only holds its version: cheap

    return str(skops.__version__)


# The skops release whose format and default trust lists these rules follow (protocol 2).
# Older releases may not read protocol 2 files; newer ones read them (skops keeps every old
# protocol's loaders), and still judge trust themselves on load.
FIRST_SKOPS = (0, 16)


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = ""
        for c in piece:  # the leading digits: "0rc1" is 0
            if not c.isdigit():
                break
            digits += c
        parts.append(int(digits or 0))
    return tuple(parts)


def write(obj: Any, path: Path) -> list[tuple[str, str]]:
    """Write ``obj`` to ``path`` as a skops file; return the (loader, type) of every node.

    Raises :class:`Unsupported` for an object outside the rules, or an installed skops older
    than the one they follow (nothing is left at ``path``).
    """
    version = skops_version()
    if _release(version) < FIRST_SKOPS:
        raise Unsupported(f"skops {version} predates the format written here")
    buffer = io.BytesIO()
    try:
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
            w = _Writer(zf)
            state = w.node(obj)
            state["protocol"] = PROTOCOL
            state["_skops_version"] = version
            zf.writestr("schema.json", json.dumps(state, indent=2))
    except (TypeError, ValueError, RecursionError) as e:
        # json keys or values skops could not write either, or a cycle: let skops report it
        raise Unsupported(str(e)) from e
    Path(path).write_bytes(buffer.getbuffer())
    return w.seen


# -- trust, as skops' default lists judge it ----------------------------------------------------
PRIMITIVES = {"builtins.int", "builtins.float", "builtins.str", "builtins.bool"}
CONTAINERS = {"builtins.list", "builtins.set", "builtins.map", "builtins.tuple"}
# Private scikit-learn types skops trusts by name (loss and link functions, the histogram binner).
SKLEARN_INTERNAL = (
    {
        "sklearn._loss.link." + n
        for n in (
            "HalfLogitLink",
            "IdentityLink",
            "Interval",
            "LogitLink",
            "LogLink",
            "MultinomialLogit",
        )
    }
    | {
        "sklearn._loss.loss." + n
        for n in (
            "AbsoluteError",
            "ExponentialLoss",
            "HalfBinomialLoss",
            "HalfGammaLoss",
            "HalfMultinomialLoss",
            "HalfPoissonLoss",
            "HalfSquaredError",
            "HuberLoss",
            "PinballLoss",
        )
    }
    | {"sklearn.ensemble._hist_gradient_boosting.binning._BinMapper"}
)
ALLOWED_LOSSES = {
    "sklearn.linear_model._sgd_fast." + n
    for n in (
        "EpsilonInsensitive",
        "Hinge",
        "ModifiedHuber",
        "SquaredEpsilonInsensitive",
        "SquaredHinge",
        "Huber",
        "Log",
        "SquaredLoss",
    )
} | {
    "sklearn._loss._loss." + n
    for n in (
        "CyAbsoluteError",
        "CyExponentialLoss",
        "CyHalfBinomialLoss",
        "CyHalfGammaLoss",
        "CyHalfMultinomialLoss",
        "CyHalfPoissonLoss",
        "CyHalfSquaredError",
        "CyHalfTweedieLoss",
        "CyHalfTweedieLossIdentity",
        "CyHuberLoss",
        "CyPinballLoss",
    )
}
SKLEARN_IGNORED_PARTS = {
    "tests",
    "externals",
    "setup",
    "conftest",
    "experimental",
    "estimator_checks",
}


def numpy_type_names() -> set[str]:
    """``module.name`` of numpy's scalar types, as skops lists them."""
    import numpy

    names = set()
    for t in numpy.sctypeDict.values():
        name = f"{_module_of(t)}.{t.__name__}"
        if name.startswith("numpy"):
            names.add(name)
    return names


def _resolve(type_name: str) -> Any:
    """The class named ``module.Name``, from imported modules only (None if not there)."""
    module, _, name = type_name.rpartition(".")
    return getattr(sys.modules.get(module), name, None)


def public_sklearn_estimator(cls: Any) -> bool:
    """Whether scikit-learn's ``all_estimators()`` lists ``cls`` (skops trusts exactly those),
    judged without walking scikit-learn: a concrete ``BaseEstimator`` subclass, exported under
    its own public name by the public package above the module that defines it."""
    base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
    if not isinstance(cls, type) or base is None or not issubclass(cls, base):
        return False
    name, module = cls.__name__, cls.__module__
    if cls is base or name.startswith("_") or not module.startswith("sklearn."):
        return False
    if getattr(cls, "__abstractmethods__", None):
        return False
    parts = module.split(".")
    public = []
    for part in parts:
        if part.startswith("_"):
            break
        public.append(part)
    if len(public) < 2 or any(p in SKLEARN_IGNORED_PARTS for p in public):
        return False
    return getattr(sys.modules.get(".".join(public)), name, None) is cls


# What skops' loaders trust by default, judged by type name alone.
TRUSTED_BY_LOADER = {
    "DictNode": {"builtins.dict", "collections.OrderedDict"},
    "ListNode": {"builtins.list"},
    "SetNode": {"builtins.set"},
    "TupleNode": {"builtins.tuple"},
    "BytesNode": {"builtins.bytes"},
    "BytearrayNode": {"builtins.bytearray"},
    "RandomStateNode": {"numpy.random.mtrand.RandomState"},
    "RandomGeneratorNode": {"numpy.random._generator.Generator"},
    "MaskedArrayNode": {"numpy.ma.core.MaskedArray"},
}
ALWAYS_TRUSTED = {"JsonNode", "SliceNode"}
# Loaders whose default list is empty: skops never trusts them without being told.
NEVER_TRUSTED = {"TreeNode", "ConstructorFromReduceNode", "DTypeNode", "PartialNode"}


class _Lists:
    """The default lists computed from numpy, built on first use."""

    def __init__(self) -> None:
        self._numpy_types: set[str] | None = None
        self._ufuncs: set[str] | None = None

    def numpy_types(self) -> set[str]:
        if self._numpy_types is None:
            self._numpy_types = numpy_type_names()
        return self._numpy_types

    def numpy_ufuncs(self) -> set[str]:
        if self._ufuncs is None:
            import numpy

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = (getattr(numpy, attr, None) for attr in dir(numpy))
                self._ufuncs = {
                    f"{_module_of(f)}.{f.__name__}" for f in found if isinstance(f, numpy.ufunc)
                }
        return self._ufuncs


def _judge(loader: str, name: str, lists: _Lists) -> bool | None:
    """True: trusted; False: not trusted; None: not judged here."""
    if loader in ALWAYS_TRUSTED:
        return True
    if loader in TRUSTED_BY_LOADER:
        return name in TRUSTED_BY_LOADER[loader]
    if loader in NEVER_TRUSTED:
        return False
    if loader == "NdArrayNode":
        return name == "numpy.ndarray" or name in lists.numpy_types()
    if loader == "TypeNode":
        return name in PRIMITIVES or name in CONTAINERS or name in lists.numpy_types()
    if loader == "BitGenerator":  # the bit generator a Generator node names
        import numpy.random

        cls = getattr(numpy.random, name.rpartition(".")[2], None)
        return (
            isinstance(cls, type)
            and issubclass(cls, numpy.random.BitGenerator)
            and cls is not numpy.random.BitGenerator
        )
    if loader == "FunctionNode":
        # numpy's public ufuncs are trusted; scipy's list is not carried here
        return True if name in lists.numpy_ufuncs() else None
    if loader == "LossNode":
        return True if name in ALLOWED_LOSSES else None
    if loader == "ObjectNode":
        if name in SKLEARN_INTERNAL:
            return True
        if not name.startswith("sklearn."):
            return False  # skops' default list holds scikit-learn's types only
        cls = _resolve(name)
        base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
        if not isinstance(cls, type) or base is None:
            return None
        # the list holds exactly what all_estimators() finds (tests check the rule against it)
        return public_sklearn_estimator(cls)
    return None


def untrusted_types(seen: list[tuple[str, str]]) -> list[str] | None:
    """The types skops' default lists do not trust among the written nodes, or ``None`` when a
    node is one whose judgement this module does not carry (then ask skops)."""
    lists = _Lists()
    untrusted: set[str] = set()
    for loader, name in seen:
        verdict = _judge(loader, name, lists)
        if verdict is None:
            return None
        if not verdict:
            untrusted.add(name)
    return sorted(untrusted)
