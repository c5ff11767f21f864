"""Keras: models in the ``.keras`` zip format (JSON config + weights), loaded in safe mode.

``safe_mode=True`` refuses Python lambdas, whose bytecode is stored in the config; a model with
such a ``Lambda`` layer is marked unsafe and needs ``trust=True``. Everything else in the file
is configuration and weights. Custom layer classes must be registered
(``keras.saving.register_keras_serializable``) by importing their module before loading.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from ...errors import InvalidInput, UnsafeModel
from ..adapter import Saved, SaveOptions, class_names, require
from ..meta import MethodSpec, ModelMeta
from ..signature import Signature

MODELS = (
    "keras.src.models.model.Model",  # Keras 3
    "keras.src.engine.training.Model",  # Keras 2.13+
    "keras.engine.training.Model",  # Keras 2
    "tf_keras.src.engine.training.Model",  # tf-keras
)
FILE = "model.keras"
METHOD = "predict"
LAMBDA = "has a Lambda layer holding Python bytecode, which runs when loaded"
BACKENDS = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}


def keras_module() -> Any:
    """Import Keras; with no backend chosen and no TensorFlow (Keras' default) installed, use
    torch when it is, rather than fail."""
    if "keras" not in sys.modules and "KERAS_BACKEND" not in os.environ:
        from importlib.util import find_spec

        home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
        if (
            not (home / "keras.json").exists()
            and find_spec("tensorflow") is None
            and find_spec("torch") is not None
        ):
            os.environ["KERAS_BACKEND"] = "torch"
    return require("keras", "keras")


def _lambdas(node: Any) -> Iterator[str]:
    """Names of layers whose config holds Python bytecode (``__lambda__``)."""
    if isinstance(node, dict):
        if node.get("class_name") == "__lambda__":
            yield "lambda"
        for value in node.values():
            yield from _lambdas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _lambdas(value)


def _code_in_config(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return any(True for _ in _lambdas(config))


def _tensor_signature(tensors: Any) -> Signature:
    try:
        items = list(tensors)
    except TypeError:
        return Signature()
    sigs = [
        Signature(
            "ndarray",
            dtype=str(t.dtype),
            shape=tuple(None if d is None else int(d) for d in t.shape),
        )
        for t in items
    ]
    if len(sigs) == 1:
        return sigs[0]
    return (
        Signature("list", item=sigs[0]) if sigs and all(s == sigs[0] for s in sigs) else Signature()
    )


def _graph_signature(model: Any) -> MethodSpec | None:
    """The functional graph's input and output shapes (subclassed models have none)."""
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        return None
    if not inputs or not outputs:
        return None
    return MethodSpec(_tensor_signature(inputs), _tensor_signature(outputs))


class KerasAdapter:
    name: ClassVar[str] = "keras"
    framework: ClassVar[str] = "keras"

    @classmethod
    def handles(cls, model: object) -> bool:
        names = class_names(model)
        return any(m in names for m in MODELS)

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        if options.format not in (None, "keras"):
            raise InvalidInput(f"unknown Keras format {options.format!r}: use keras")
        if options.methods and tuple(options.methods) != (METHOD,):
            raise InvalidInput(f"a Keras model is saved with one method, {METHOD!r}")
        keras = keras_module()
        path = directory / FILE
        model.save(str(path))  # type: ignore[attr-defined]
        unsafe = _code_in_config(path)
        signatures: dict[str, MethodSpec] = {}
        if options.sample_input is None:
            # Without a sample, the graph's declared inputs are the best we know.
            spec = _graph_signature(model)
            if spec is not None:
                signatures[METHOD] = spec
        return Saved(
            files=(FILE,),
            format="keras",
            safe=not unsafe,
            methods=(METHOD,),
            extra={"backend": str(keras.backend.backend())},
            signatures=signatures,
        )

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        return LAMBDA if _code_in_config(directory / FILE) else None

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        path = directory / FILE
        # Judged from the file, not the metadata's ``safe`` flag, which could have been edited.
        unsafe = _code_in_config(path)
        if unsafe and not trust:
            raise UnsafeModel(
                f"{path} {LAMBDA}; load with trust=True (--trust) only if you trust its source"
            )
        keras = keras_module()
        # safe_mode stays on unless the caller trusted an unsafe model: then the lambdas load.
        return keras.saving.load_model(str(path), safe_mode=not (unsafe and trust))

    def call(self, model: object, method: str, data: object) -> object:
        if method == METHOD:
            return model.predict(data, verbose=0)  # type: ignore[attr-defined]
        return getattr(model, method)(data)

    def requirements(self, model: object) -> list[str]:
        keras = sys.modules.get("keras")
        backend = str(keras.backend.backend()) if keras is not None else ""
        return ["numpy", *([BACKENDS[backend]] if backend in BACKENDS else [])]
