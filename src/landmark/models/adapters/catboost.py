"""CatBoost: classifiers, regressors and rankers in CatBoost's binary ``.cbm`` format.

A ``.cbm`` file holds trees, feature settings and class labels only, so loading runs no code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ...errors import InvalidInput
from ..adapter import Saved, SaveOptions, class_names, own_class, public_methods, require
from ..meta import ModelMeta
from .sklearn import check_methods

BASE = "catboost.core.CatBoost"
FILE = "model.cbm"
METHODS = ("predict", "predict_proba")
CLASSES = ("CatBoost", "CatBoostClassifier", "CatBoostRegressor", "CatBoostRanker")


def model_class(path: str) -> Any:
    """The CatBoost model class named ``path``; anything else is refused, never imported."""
    catboost = require("catboost", "catboost")
    module, _, name = path.rpartition(".")
    if module != "catboost.core" or name not in CLASSES:
        raise InvalidInput(
            f"{path!r} is not a CatBoost model class; the model metadata is damaged, "
            "save the model again"
        )
    return getattr(catboost, name)


class CatBoostAdapter:
    name: ClassVar[str] = "catboost"
    framework: ClassVar[str] = "catboost"

    @classmethod
    def handles(cls, model: object) -> bool:
        return BASE in class_names(model)

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        if options.format not in (None, "cbm"):
            raise InvalidInput(f"unknown CatBoost format {options.format!r}: use cbm")
        found = public_methods(model, METHODS)
        check_methods(model, options.methods, found)
        model.save_model(str(directory / FILE), format="cbm")  # type: ignore[attr-defined]
        return Saved(
            files=(FILE,),
            format="cbm",
            safe=True,
            methods=options.methods or found,
            extra={"class": own_class(model, "catboost.core")},
        )

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        return None  # trees, feature settings and labels only

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        model = model_class(str(meta.extra.get("class") or f"catboost.core.{CLASSES[0]}"))()
        model.load_model(str(directory / FILE), format="cbm")
        return model

    def call(self, model: object, method: str, data: object) -> object:
        return getattr(model, method)(data)

    def requirements(self, model: object) -> list[str]:
        return ["numpy"]
