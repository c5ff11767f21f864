"""Turn an MLflow model directory (``MLmodel`` + files) into a landmark model directory.

MLflow is not needed: we read the ``MLmodel`` YAML, its signature (MLflow's column- or
tensor-based JSON) and the pins in ``requirements.txt`` / ``conda.yaml``, load the model with
its framework's safe loader where there is one, and save it with the landmark adapter. ONNX
files are copied byte for byte. Pickle-based flavours (scikit-learn's pickle and cloudpickle,
a pickled torch module) can run code when loaded, and converting means loading: they need
``trust=True``.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Conflict, InvalidInput, NotFound, UnsafeModel
from .meta import MethodSpec, ModelMeta, read_meta, write_meta
from .signature import Column, Signature

# In the order we pick them when a model has several.
SUPPORTED = ("onnx", "xgboost", "lightgbm", "pytorch", "sklearn")
MLMODEL = "MLmodel"

# MLflow column types -> pandas dtypes.
COLUMN_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


@dataclass(frozen=True)
class Imported:
    """What an import wrote, and what the user should know about it."""

    path: Path
    meta: ModelMeta
    flavor: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Native:
    """A model ready for ``save_model``, with the method MLflow's signature describes."""

    model: object
    method: str


# -- reading the MLflow directory ---------------------------------------------------------


def read_mlmodel(source: Path) -> dict[str, Any]:
    from .. import yamlio

    path = source / MLMODEL
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError) as e:
        raise NotFound(
            f"{source} is not an MLflow model directory (no {MLMODEL} file); point to the "
            "folder that holds MLmodel"
        ) from e
    doc = yamlio.load(data, str(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("flavors"), dict):
        raise ConfigError(f"{path}: no 'flavors' mapping; is this an MLflow model?")
    return doc


def pick_flavor(doc: Mapping[str, Any], source: Path) -> str:
    flavors = [str(f) for f in doc["flavors"]]
    for flavor in SUPPORTED:
        if flavor in flavors:
            return flavor
    found = ", ".join(f for f in flavors if f != "python_function") or "none"
    raise InvalidInput(
        f"{source}: MLflow flavor {found} cannot be imported; supported flavors: "
        + ", ".join(sorted(SUPPORTED))
    )


def pins(source: Path) -> list[str]:
    """``requirements.txt`` lines, or the pip section of ``conda.yaml``."""
    req = source / "requirements.txt"
    if req.is_file():
        lines = req.read_text(encoding="utf-8").splitlines()
        return [
            line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")
        ]
    conda = source / "conda.yaml"
    if conda.is_file():
        from .. import yamlio

        doc = yamlio.load(conda.read_bytes(), str(conda))
        for dep in (doc or {}).get("dependencies") or []:
            if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                return [str(x) for x in dep["pip"]]
    return []


def _pinned_versions(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        name, sep, ver = line.partition("==")
        if sep and name.strip() and not name.startswith("-"):
            found[name.strip().lower().replace("_", "-")] = ver.strip()
    return found


# -- signatures ---------------------------------------------------------------------------


def _tensor_sig(spec: Mapping[str, Any], kind: str) -> Signature:
    tensor = spec.get("tensor-spec") or {}
    dtype = str(tensor.get("dtype", "")) or None
    shape = tensor.get("shape")
    dims = None if shape is None else tuple(None if int(d) < 0 else int(d) for d in shape)
    if kind == "tensor" and dtype == "object":
        return Signature()
    return Signature(kind, dtype=dtype, shape=dims)


def convert_signature(text: Any, *, tensor_kind: str = "ndarray") -> Signature:
    """MLflow's schema JSON as a landmark signature; ``unknown`` when it says nothing."""
    if not text:
        return Signature()
    try:
        specs = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as e:
        raise ConfigError(f"{MLMODEL}: signature is not valid JSON ({e})") from e
    if not isinstance(specs, list) or not specs:
        return Signature()
    if all(isinstance(s, dict) and s.get("type") == "tensor" for s in specs):
        if len(specs) == 1 and not specs[0].get("name"):
            return _tensor_sig(specs[0], tensor_kind)
        return Signature(
            "dict",
            fields=tuple(
                (str(s.get("name", i)), _tensor_sig(s, tensor_kind)) for i, s in enumerate(specs)
            ),
        )
    columns = []
    for s in specs:
        if not isinstance(s, dict):
            return Signature()
        kind = s.get("type")
        dtype = COLUMN_DTYPES.get(kind, "object") if isinstance(kind, str) else "object"
        columns.append((s.get("name"), dtype))
    if all(name is not None for name, _ in columns):
        return Signature("dataframe", columns=tuple(Column(str(n), d) for n, d in columns))
    dtypes = {d for _, d in columns}
    if len(dtypes) == 1:  # unnamed columns of one type: a 2-d array
        return Signature("ndarray", dtype=dtypes.pop(), shape=(None, len(columns)))
    return Signature()


# -- loading each flavour -----------------------------------------------------------------


def _file(source: Path, conf: Mapping[str, Any], key: str) -> Path:
    rel = conf.get(key)
    if not isinstance(rel, str) or not rel:
        raise ConfigError(f"{source / MLMODEL}: the flavor names no {key!r}")
    path = (source / rel).resolve()
    if not path.is_relative_to(source.resolve()):
        raise ConfigError(f"{source / MLMODEL}: {key} {rel!r} points outside the model folder")
    if not path.exists():
        raise NotFound(f"{path} is missing from the MLflow model; copy the whole folder")
    return path


def _unsafe(path: Path, what: str) -> UnsafeModel:
    return UnsafeModel(
        f"{path} is {what}, which can run code when loaded, and converting it means loading it; "
        "pass --trust (trust=True) only if you trust its source"
    )


def _unpickle(path: Path) -> object:
    # cloudpickle writes standard pickles: the standard unpickler reads them.
    import pickle

    with open(path, "rb") as fh:
        return pickle.load(fh)


def _skops(path: Path, trust: bool, also_trusted: Callable[[str], bool]) -> object:
    from .adapters.sklearn import load_skops

    return load_skops(
        path, trust, also_trusted, "pass --trust (trust=True) only if you trust its source"
    )


def _sklearn(source: Path, conf: Mapping[str, Any], trust: bool) -> _Native:
    path = _file(source, conf, "pickled_model")
    fmt = str(conf.get("serialization_format") or "cloudpickle")
    if fmt == "skops":
        return _Native(_skops(path, trust, lambda t: False), "predict")
    if not trust:
        raise _unsafe(path, f"a scikit-learn model in {fmt} format")
    return _Native(_unpickle(path), "predict")


def _xgboost(source: Path, conf: Mapping[str, Any], trust: bool) -> _Native:
    from .adapter import require
    from .adapters.xgboost import wrapper_class

    path = _file(source, conf, "data")
    cls_path = str(conf.get("model_class") or "xgboost.core.Booster")
    xgb = require("xgboost", "xgboost")
    model = xgb.Booster() if cls_path == "xgboost.core.Booster" else wrapper_class(cls_path)()
    model.load_model(str(path))  # XGBoost's own formats are data only
    return _Native(model, "predict")


def _lightgbm(source: Path, conf: Mapping[str, Any], trust: bool) -> _Native:
    from .adapter import require

    path = _file(source, conf, "data")
    if str(conf.get("model_class")) == "lightgbm.basic.Booster" or path.suffix in (".lgb", ".txt"):
        lgb = require("lightgbm", "lightgbm")
        return _Native(lgb.Booster(model_file=str(path)), "predict")
    fmt = str(conf.get("serialization_format") or "pickle")
    if fmt == "skops":
        # LightGBM's own classes rebuild from data (a booster reads its text model).
        def lightgbm_type(name: str) -> bool:
            return name.startswith("lightgbm.") or name == "collections.OrderedDict"

        return _Native(_skops(path, trust, lightgbm_type), "predict")
    if not trust:
        raise _unsafe(path, f"a LightGBM model in {fmt} format")
    return _Native(_unpickle(path), "predict")


def _onnx(source: Path, conf: Mapping[str, Any], trust: bool) -> _Native:
    # The onnx adapter copies an .onnx file as it is: no load, same bytes, same hash.
    return _Native(_file(source, conf, "data"), "predict")


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in n for n in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _pytorch(source: Path, conf: Mapping[str, Any], trust: bool) -> _Native:
    import warnings

    from .adapter import require

    data = _file(source, conf, "model_data")
    torch = require("torch", "torch")
    exported = data / "model.pt2"
    if exported.is_file():
        return _Native(torch.export.load(str(exported)), "__call__")
    pickled = data / "model.pth"
    if not pickled.is_file():
        raise NotFound(f"{data} has neither model.pt2 nor model.pth; copy the whole folder")
    if _is_torchscript(pickled):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return _Native(torch.jit.load(str(pickled), map_location="cpu"), "__call__")
    if not trust:
        raise _unsafe(pickled, "a pickled torch module")
    module = torch.load(str(pickled), map_location="cpu", weights_only=False)
    return _Native(module, "__call__")


LOADERS: dict[str, Callable[[Path, Mapping[str, Any], bool], _Native]] = {
    "sklearn": _sklearn,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "onnx": _onnx,
    "pytorch": _pytorch,
}


# -- the import ---------------------------------------------------------------------------


def _with_mlflow_signature(
    meta: ModelMeta, method: str, inputs: Signature, outputs: Signature
) -> dict[str, MethodSpec]:
    """MLflow's signature where landmark knows none: its input for every method (they all
    take the same data), its output for the one method MLflow calls."""
    methods = dict(meta.methods)
    for name, spec in methods.items():
        methods[name] = MethodSpec(
            spec.input if spec.input.kind != "unknown" else inputs,
            spec.output if spec.output.kind != "unknown" or name != method else outputs,
        )
    return methods


def _version_notes(meta: ModelMeta, pinned: dict[str, str]) -> list[str]:
    notes = []
    for req in meta.requirements:
        want = pinned.get(req.name.lower().replace("_", "-"))
        if want is not None and want != req.version.partition("+")[0]:
            notes.append(
                f"MLflow pinned {req.name}=={want}; it was converted with {req.version}, "
                "which the new metadata records"
            )
    return notes


def import_mlflow(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    trust: bool = False,
    description: str | None = None,
    labels: list[str] | None = None,
) -> Imported:
    """Write the MLflow model at ``source`` as a landmark model directory at ``target``."""
    from .api import fresh_dir, save_model

    src = Path(source)
    out = Path(target)
    doc = read_mlmodel(src)
    flavor = pick_flavor(doc, src)
    conf = doc["flavors"][flavor] or {}
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise Conflict(f"{out} already exists; pass another output path or remove it first")
    if out.resolve() == src.resolve():
        raise InvalidInput("the output path must differ from the MLflow model directory")
    native = LOADERS[flavor](src, conf, trust)
    notes: list[str] = []
    if conf.get("code"):
        notes.append(
            f"the MLflow model ships code in {conf['code']!r}: it was not imported; keep it "
            "importable wherever the model is loaded"
        )
    tensor_kind = "tensor" if flavor == "pytorch" else "ndarray"
    sig = doc.get("signature") or {}
    inputs = convert_signature(sig.get("inputs"), tensor_kind=tensor_kind)
    outputs = convert_signature(sig.get("outputs"), tensor_kind=tensor_kind)
    requirement_lines = pins(src)

    work = fresh_dir(out)
    try:
        staged = work / "model"
        try:
            save_model(native.model, staged, description=description, labels=labels)
        except InvalidInput:
            # A pickled module TorchScript cannot compile (and with no sample to trace): it
            # stays a pickle, which the caller already trusted.
            if flavor != "pytorch" or not trust:
                raise
            notes.append("torch.jit.script could not compile the module: kept as a torch pickle")
            save_model(
                native.model, staged, description=description, labels=labels, format="pickle"
            )
        meta = read_meta(staged)
        extra = dict(meta.extra)
        extra["mlflow"] = {
            "flavor": flavor,
            "model_uuid": doc.get("model_uuid"),
            "run_id": doc.get("run_id"),
            "mlflow_version": doc.get("mlflow_version"),
            "created": doc.get("utc_time_created"),
            "requirements": requirement_lines,
        }
        meta = meta.with_(
            methods=_with_mlflow_signature(meta, native.method, inputs, outputs), extra=extra
        )
        write_meta(staged, meta)
        notes += _version_notes(meta, _pinned_versions(requirement_lines))
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(staged, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Imported(out, meta, flavor, tuple(notes))


__all__ = ["SUPPORTED", "Imported", "convert_signature", "import_mlflow", "pick_flavor"]
