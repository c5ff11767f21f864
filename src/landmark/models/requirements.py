"""A model's requirements: the installed distributions its classes come from, exact versions.

We walk the model object (its class hierarchy, attributes a few levels deep, pipeline steps,
the globals a function uses) and collect top-level module names, then map each to the
distribution that installs it. Nothing is imported and nothing runs in a subprocess:
``importlib.metadata.packages_distributions()`` reads every installed distribution (a quarter of
a second here), so we first try the distributions whose names the module suggests and read
only their file lists, and scan the module's own site folder only when that fails.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .meta import Requirement

# Import names that differ from the distribution's name (the common ones; others are found
# by scanning the module's site folder).
ALIASES = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "PyYAML",
    "google": "protobuf",
    "dateutil": "python-dateutil",
    "bs4": "beautifulsoup4",
    "attr": "attrs",
    "Crypto": "pycryptodome",
    "jwt": "PyJWT",
    "tensorflow_core": "tensorflow",
    "onnxruntime": "onnxruntime",
}
_MAX_OBJECTS = 20_000  # objects visited while walking a model
_MAX_DEPTH = 8  # attribute levels below the model
_CONTAINER_SAMPLE = 200  # elements of one list/dict looked at


@dataclass(frozen=True)
class Requirements:
    requirements: tuple[Requirement, ...]
    local_modules: tuple[str, ...]


# -- walking the model --------------------------------------------------------------------


def _type_modules(cls: type) -> Iterable[str]:
    for c in cls.__mro__:
        yield c.__module__


def modules_of(*objects: object) -> set[str]:
    """Full module names of the classes (and functions) an object graph is made of."""
    found: set[str] = set()
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(o, 0) for o in objects]
    while stack and len(seen) < _MAX_OBJECTS:
        obj, depth = stack.pop()
        if id(obj) in seen or obj is None:
            continue
        seen.add(id(obj))
        if isinstance(obj, (str, bytes, int, float, bool, complex)):
            continue
        if isinstance(obj, types.ModuleType):
            found.add(obj.__name__)
            continue
        if isinstance(obj, type):
            found.update(_type_modules(obj))
            continue
        if isinstance(obj, (types.FunctionType, types.MethodType)):
            found.update(_function_modules(obj, stack, depth))
            continue
        found.update(_type_modules(type(obj)))
        if depth >= _MAX_DEPTH or _is_leaf(obj):
            continue
        for child in _children(obj):
            stack.append((child, depth + 1))
    return found


def _is_leaf(obj: object) -> bool:
    """Arrays and frames: their class says enough; looking inside costs time."""
    top = type(obj).__module__.partition(".")[0]
    return top in ("numpy", "pandas", "scipy", "torch", "tensorflow", "jax", "pyarrow")


def _children(obj: object) -> Iterable[object]:
    if isinstance(obj, dict):
        items = list(obj.items())[:_CONTAINER_SAMPLE]
        return [x for kv in items for x in kv]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)[:_CONTAINER_SAMPLE]
    attrs = getattr(obj, "__dict__", None)
    values: list[object] = list(attrs.values()) if isinstance(attrs, dict) else []
    for slot in getattr(type(obj), "__slots__", ()) or ():
        if isinstance(slot, str) and hasattr(obj, slot):
            values.append(getattr(obj, slot))
    return values


def _function_modules(
    fn: types.FunctionType | types.MethodType, stack: list[tuple[object, int]], depth: int
) -> set[str]:
    """A function's module, and the modules of the globals and closure cells it uses."""
    if isinstance(fn, types.MethodType):
        stack.append((fn.__self__, depth + 1))
        fn = fn.__func__  # type: ignore[assignment]
    assert isinstance(fn, types.FunctionType)
    found = {fn.__module__} if fn.__module__ else set()
    code = fn.__code__
    names = set(code.co_names)
    for const in code.co_consts:  # nested functions and lambdas
        if isinstance(const, types.CodeType):
            names.update(const.co_names)
    for name in names:
        if name in fn.__globals__:
            stack.append((fn.__globals__[name], depth + 1))
    for cell in fn.__closure__ or ():
        with suppress(ValueError):  # an empty cell
            stack.append((cell.cell_contents, depth + 1))
    return found


# -- modules to distributions -------------------------------------------------------------


def _name_version(dist: metadata.Distribution) -> tuple[str, str] | None:
    """Name and version from the METADATA header, read without the email parser
    (which ``dist.metadata`` runs over the whole file, long descriptions included)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.splitlines():
        if not line:
            break
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
    if version:
        # A local label (torch's "+cpu") names a build from some private index; the release
        # it is built from is what a requirements file can pin and an index can serve.
        version = version.split("+", 1)[0]
    return (name, version) if name and version else None


def _is_stdlib(top: str) -> bool:
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def _provides(dist: metadata.Distribution, top: str) -> bool:
    text = dist.read_text("top_level.txt")
    if text is not None:
        return top in text.split()
    for f in dist.files or ():
        first = f.parts[0] if f.parts else ""
        if (
            first == top
            or first == f"{top}.py"
            or (first.startswith(f"{top}.") and "/" not in str(f))
        ):
            return True
    return False


def _module_folder(top: str) -> Path | None:
    """The folder holding an (imported or importable) top-level module, found without importing."""
    mod = sys.modules.get(top)
    origin = getattr(mod, "__file__", None) if mod is not None else None
    if origin is None:
        from importlib.util import find_spec

        try:
            spec = find_spec(top)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        origin = spec.origin
        if origin is None and spec.submodule_search_locations:
            origin = next(iter(spec.submodule_search_locations), None)
            return Path(origin).parent if origin else None
    if origin is None or origin in ("built-in", "frozen"):
        return None
    path = Path(origin)
    return path.parent.parent if path.name.startswith("__init__.") else path.parent


@lru_cache(maxsize=32)
def _folder_index(folder: str) -> dict[str, str]:
    """top-level module -> distribution for every distribution installed in one folder."""
    index: dict[str, str] = {}
    for dist in metadata.distributions(path=[folder]):
        found = _name_version(dist)
        if found is None:
            continue
        name = found[0]
        text = dist.read_text("top_level.txt")
        tops = (
            text.split()
            if text is not None
            else {f.parts[0].removesuffix(".py") for f in dist.files or () if f.parts}
        )
        for top in tops:
            index.setdefault(top, name)
    return index


@lru_cache(maxsize=512)
def distribution_of(top: str) -> tuple[str, str] | None:
    """(distribution name, installed version) providing a top-level module, or None."""
    candidates = [ALIASES.get(top), top, top.replace("_", "-")]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            dist = metadata.distribution(candidate)
        except metadata.PackageNotFoundError:
            continue
        if _provides(dist, top):
            return _name_version(dist)
    folder = _module_folder(top)
    if folder is None:
        return None
    name = _folder_index(str(folder)).get(top)
    return None if name is None else installed(name)


@lru_cache(maxsize=256)
def installed(name: str) -> tuple[str, str] | None:
    """(canonical name, version) of an installed distribution, or None."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    return _name_version(dist)


# -- the whole answer ----------------------------------------------------------------------


def collect(objects: Iterable[object], distributions: Iterable[str] = ()) -> Requirements:
    """Requirements of the objects' modules plus named distributions (an adapter's needs).

    Modules from the standard library and landmark itself are left out; modules that no
    installed distribution provides are reported as local modules.
    """
    pinned: dict[str, Requirement] = {}
    for name in distributions:
        found = installed(name)
        if found is not None:
            pinned.setdefault(found[0].lower(), Requirement(*found))
    local: set[str] = set()
    for module in sorted(modules_of(*objects)):
        top = module.partition(".")[0]
        if not top or _is_stdlib(top) or top in ("landmark", "builtins"):
            continue
        if top == "__main__":
            local.add(module)
            continue
        found = distribution_of(top)
        if found is None:
            local.add(top)
        else:
            pinned.setdefault(found[0].lower(), Requirement(*found))
    return Requirements(
        requirements=tuple(sorted(pinned.values(), key=lambda r: r.name.lower())),
        local_modules=tuple(sorted(local)),
    )


def lines(reqs: Iterable[Requirement]) -> str:
    """A requirements.txt body."""
    return "".join(f"{r}\n" for r in reqs)


__all__ = ["Requirements", "collect", "distribution_of", "installed", "lines", "modules_of"]
