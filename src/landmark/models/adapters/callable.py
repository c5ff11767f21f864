"""Any Python callable or object with ``predict``: cloudpickle, so never safe to load untrusted.

cloudpickle writes functions and classes from ``__main__`` or a notebook by value, so such a
model loads where its source file is absent; classes from importable modules are written by
reference and need those modules (``local_modules`` in the metadata says which).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ...errors import UnsafeModel
from ..adapter import Saved, SaveOptions, code_format, public_methods, require
from ..meta import ModelMeta
from .sklearn import check_methods

METHODS = ("predict", "predict_proba", "decision_function", "transform")
FILE = "model.cloudpickle"


class CallableAdapter:
    name: ClassVar[str] = "callable"
    framework: ClassVar[str] = "cloudpickle"

    @classmethod
    def handles(cls, model: object) -> bool:
        return callable(model) or callable(getattr(model, "predict", None))

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        found = public_methods(model, METHODS)
        if callable(model) and not isinstance(model, type):
            found = (*found, "__call__")
        check_methods(model, options.methods, found)
        cloudpickle = require("cloudpickle", "callable")
        with open(directory / FILE, "wb") as fh:
            cloudpickle.dump(model, fh)
        return Saved(
            files=(FILE,),
            format="cloudpickle",
            safe=False,
            methods=options.methods or found,
            requires=("cloudpickle",),
        )

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        return code_format("cloudpickle")

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        path = directory / FILE
        if not trust:
            raise UnsafeModel(
                f"{path} is a cloudpickle file, which can run code when loaded; "
                "load with trust=True (--trust) only if you trust its source"
            )
        # cloudpickle files are read by the standard unpickler.
        import pickle

        with open(path, "rb") as fh:
            return pickle.load(fh)

    def call(self, model: object, method: str, data: object) -> object:
        fn = model if method == "__call__" else getattr(model, method)
        return fn(data)  # type: ignore[operator]

    def requirements(self, model: object) -> list[str]:
        return []
