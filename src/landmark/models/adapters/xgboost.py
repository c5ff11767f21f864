"""XGBoost: boosters and scikit-learn wrappers in XGBoost's own UBJSON or JSON model format.

Both formats are data only (trees and parameters), so loading runs no code from the file. The
wrapper class is recorded by name and rebuilt only if it is one of XGBoost's own estimators.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ...errors import InvalidInput
from ..adapter import Saved, SaveOptions, class_names, own_class, public_methods, require
from ..meta import ModelMeta
from .sklearn import check_methods

BOOSTER = "xgboost.core.Booster"
WRAPPER = "xgboost.sklearn.XGBModel"
FILES = {"ubj": "model.ubj", "json": "model.json"}
METHODS = ("predict", "predict_proba")


def wrapper_class(path: str) -> Any:
    """The XGBoost estimator class named ``path``; anything else is refused, never imported."""
    xgb = require("xgboost", "xgboost")
    module, _, name = path.rpartition(".")
    cls = getattr(xgb.sklearn, name, None) if module == "xgboost.sklearn" else None
    if not isinstance(cls, type) or not issubclass(cls, xgb.XGBModel):
        raise InvalidInput(
            f"{path!r} is not an XGBoost estimator class; the model metadata is damaged, "
            "save the model again"
        )
    return cls


class XGBoostAdapter:
    name: ClassVar[str] = "xgboost"
    framework: ClassVar[str] = "xgboost"

    @classmethod
    def handles(cls, model: object) -> bool:
        names = class_names(model)
        return BOOSTER in names or WRAPPER in names

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        fmt = options.format or "ubj"
        if fmt not in FILES:
            raise InvalidInput(f"unknown XGBoost format {fmt!r}: use ubj (default) or json")
        is_booster = BOOSTER in class_names(model)
        found = ("predict",) if is_booster else public_methods(model, METHODS)
        check_methods(model, options.methods, found)
        # save_model picks the format from the file's extension.
        model.save_model(str(directory / FILES[fmt]))  # type: ignore[attr-defined]
        return Saved(
            files=(FILES[fmt],),
            format=fmt,
            safe=True,
            methods=options.methods or found,
            extra={"class": own_class(model, "xgboost.core" if is_booster else "xgboost.sklearn")},
        )

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        if meta.format not in FILES:
            raise InvalidInput(f"{directory}: unknown XGBoost format {meta.format!r}")
        return None  # trees and parameters only

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        if meta.format not in FILES:
            raise InvalidInput(f"{directory}: unknown XGBoost format {meta.format!r}")
        path = str(directory / FILES[meta.format])
        xgb = require("xgboost", "xgboost")
        cls_path = str(meta.extra.get("class") or BOOSTER)
        if cls_path == BOOSTER:
            booster = xgb.Booster()
            booster.load_model(path)
            return booster
        model = wrapper_class(cls_path)()
        model.load_model(path)
        return model

    def call(self, model: object, method: str, data: object) -> object:
        if BOOSTER in class_names(model):
            xgb = require("xgboost", "xgboost")
            # A Booster only predicts on a DMatrix; it keeps pandas' column names.
            matrix = data if isinstance(data, xgb.DMatrix) else xgb.DMatrix(data)
            return getattr(model, method)(matrix)
        return getattr(model, method)(data)

    def requirements(self, model: object) -> list[str]:
        wrapper = BOOSTER not in class_names(model)
        return ["numpy", "scipy", *(["scikit-learn"] if wrapper else [])]
