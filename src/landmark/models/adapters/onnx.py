"""ONNX: a ``ModelProto`` (or an ``.onnx`` file, copied byte for byte) run by onnxruntime.

An ONNX file is a graph of standard operators and weights: loading runs no code. The input and
output names, element types and shapes come from the graph itself, so the model's signature is
known without a sample.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, ClassVar, cast

from ...errors import InvalidInput, SignatureError
from ..adapter import Saved, SaveOptions, class_names, require
from ..meta import MethodSpec, ModelMeta
from ..signature import Signature

PROTO = "onnx.onnx_ml_pb2.ModelProto"
FILE = "model.onnx"
METHOD = "predict"
_PROVIDERS = ["CPUExecutionProvider"]


def _is_onnx_path(model: object) -> bool:
    return isinstance(model, (str, PurePath)) and os.fspath(model).endswith(".onnx")


def _value_signature(value_info: Any, np: Any, helper: Any) -> Signature:
    """A graph input or output as an ``ndarray`` signature; non-tensors check nothing."""
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        return Signature("unknown", type=f"onnx {kind}")
    tensor = value_info.type.tensor_type
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    shape: tuple[int | None, ...] | None = None
    if tensor.HasField("shape"):
        shape = tuple(
            int(d.dim_value) if d.WhichOneof("value") == "dim_value" else None
            for d in tensor.shape.dim
        )
    return Signature("ndarray", dtype=str(dtype), shape=shape)


def graph_signature(proto: Any) -> MethodSpec:
    """Inputs and outputs of the graph: one array, or a dict of arrays by name."""
    import numpy as np
    from onnx import helper

    weights = {t.name for t in proto.graph.initializer}

    def group(values: list[Any]) -> Signature:
        sigs = [(v.name, _value_signature(v, np, helper)) for v in values]
        if len(sigs) == 1:
            return sigs[0][1]
        return Signature("dict", fields=tuple(sigs))

    # Older exporters list weights among the inputs too: they are not fed by the caller.
    inputs = [v for v in proto.graph.input if v.name not in weights]
    return MethodSpec(group(inputs), group(list(proto.graph.output)))


def _external_files(proto: Any) -> list[str]:
    """Relative paths of the weight files an ONNX model keeps beside itself."""
    from onnx.external_data_helper import uses_external_data

    found: list[str] = []
    for tensor in proto.graph.initializer:
        if uses_external_data(tensor):
            for entry in tensor.external_data:
                if entry.key == "location" and entry.value not in found:
                    found.append(entry.value)
    return found


class OnnxAdapter:
    name: ClassVar[str] = "onnx"
    framework: ClassVar[str] = "onnxruntime"

    @classmethod
    def handles(cls, model: object) -> bool:
        return _is_onnx_path(model) or PROTO in class_names(model)

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        if options.format not in (None, "onnx"):
            raise InvalidInput(f"unknown ONNX format {options.format!r}: use onnx")
        if options.methods and tuple(options.methods) != (METHOD,):
            raise InvalidInput(f"an ONNX model has one method, {METHOD!r}")
        onnx = require("onnx", "onnx")
        files = [FILE]
        if isinstance(model, (str, PurePath)) and _is_onnx_path(model):
            source = Path(model)
            if not source.is_file():
                raise InvalidInput(f"{source} is not a file")
            proto = onnx.load(str(source), load_external_data=False)
            shutil.copyfile(source, directory / FILE)
            for rel in _external_files(proto):
                target = directory / rel
                if Path(rel).is_absolute() or ".." in Path(rel).parts:
                    raise InvalidInput(f"{source}: external data path {rel!r} leaves its folder")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source.parent / rel, target)
                files.append(rel)
        else:
            proto = model
            onnx.save_model(proto, str(directory / FILE))
        opsets = {op.domain or "ai.onnx": int(op.version) for op in proto.opset_import}
        return Saved(
            files=tuple(files),
            format="onnx",
            safe=True,
            methods=(METHOD,),
            extra={"ir_version": int(proto.ir_version), "opsets": opsets},
            signatures={METHOD: graph_signature(proto)},
        )

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        return None  # standard operators and weights only

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        ort = require("onnxruntime", "onnx")
        return ort.InferenceSession(str(directory / FILE), providers=_PROVIDERS)

    def call(self, model: object, method: str, data: object) -> object:
        session: Any = model
        if not callable(getattr(model, "run", None)):
            # save_model runs the model it was given (a ModelProto or a path) on the sample.
            ort = require("onnxruntime", "onnx")
            source = (
                cast(Any, model).SerializeToString() if PROTO in class_names(model) else str(model)
            )
            session = ort.InferenceSession(source, providers=_PROVIDERS)
        names = [i.name for i in session.get_inputs()]
        if isinstance(data, Mapping):
            feeds = dict(data)
        elif len(names) == 1:
            feeds = {names[0]: data}
        else:
            raise SignatureError(
                f"the ONNX model takes {len(names)} inputs: pass a dict with keys "
                + ", ".join(repr(n) for n in names)
            )
        outputs = session.run(None, feeds)
        out_names = [o.name for o in session.get_outputs()]
        if len(outputs) == 1:
            return outputs[0]
        return dict(zip(out_names, outputs, strict=True))

    def requirements(self, model: object) -> list[str]:
        return ["numpy"]
