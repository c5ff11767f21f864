"""LightGBM: boosters and scikit-learn wrappers in LightGBM's text model format.

The text format holds trees and parameters only, so loading runs no code. A wrapper
(``LGBMClassifier``...) is rebuilt from its parameters and class labels, recorded in the
metadata, around the booster read from the text file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from ...errors import ConfigError, InvalidInput
from ..adapter import Saved, SaveOptions, class_names, own_class, public_methods, require
from ..meta import ModelMeta
from .sklearn import check_methods

BOOSTER = "lightgbm.basic.Booster"
WRAPPER = "lightgbm.sklearn.LGBMModel"
FILE = "model.txt"
METHODS = ("predict", "predict_proba")


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def wrapper_class(path: str) -> Any:
    """The LightGBM estimator class named ``path``; anything else is refused, never imported."""
    lgb = require("lightgbm", "lightgbm")
    module, _, name = path.rpartition(".")
    cls = getattr(lgb.sklearn, name, None) if module == "lightgbm.sklearn" else None
    if not isinstance(cls, type) or not issubclass(cls, lgb.LGBMModel):
        raise InvalidInput(
            f"{path!r} is not a LightGBM estimator class; the model metadata is damaged, "
            "save the model again"
        )
    return cls


def _wrapper_state(model: Any) -> dict[str, Any]:
    """What the wrapper adds to its booster: parameters, objective and class labels."""
    if callable(model._objective):
        raise InvalidInput(
            "a LightGBM model with a custom objective function cannot be written in the text "
            "format; save model.booster_ instead, or use adapter='callable'"
        )
    params = model.get_params()
    dropped = sorted(k for k, v in params.items() if not _jsonable(v))
    state: dict[str, Any] = {
        "class": own_class(model, "lightgbm.sklearn"),
        # Only data that does not change predictions (random_state objects...) is dropped.
        "params": {k: v for k, v in params.items() if k not in dropped},
        "objective": model._objective,
        "n_features_in": int(model.n_features_in_),
        "feature_names": bool(model._fitted_with_feature_names),
    }
    if dropped:
        state["dropped_params"] = dropped
    classes = getattr(model, "_classes", None)
    if classes is not None:
        state["classes"] = classes.tolist()
        state["classes_dtype"] = str(classes.dtype)
    return state


def _rebuild(state: dict[str, Any], booster: Any) -> object:
    """A fitted wrapper around ``booster``, as ``fit`` would have left it."""
    cls = wrapper_class(str(state["class"]))
    model = cls(**dict(state.get("params") or {}))
    model._Booster = booster
    model._n_features = booster.num_feature()
    model._n_features_in = int(state["n_features_in"])
    model._fitted_with_feature_names = bool(state.get("feature_names"))
    model._objective = state.get("objective")
    model._best_iteration = booster.best_iteration
    model._best_score = {}
    if "classes" in state:
        import numpy as np
        from sklearn.preprocessing import LabelEncoder

        classes = np.asarray(state["classes"], dtype=state.get("classes_dtype"))
        encoder = LabelEncoder().fit(classes)
        model._le = encoder
        model._classes = encoder.classes_
        model._n_classes = len(encoder.classes_)
        model._class_map = dict(
            zip(encoder.classes_, encoder.transform(encoder.classes_), strict=True)
        )
    model.fitted_ = True
    return model


def _check_complete(path: Path) -> None:
    """Refuse a text model cut short before LightGBM reads it: its parser crashes the process
    on many truncated files (and reads the trees that are left from others). The Python
    package ends every file it writes with a ``pandas_categorical:`` line of JSON, after the
    trees' and the parameters' end markers. The loader turns the ValueError into an
    IntegrityError naming the file."""
    import mmap

    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            raise ValueError("the file is empty")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            end = len(data) - 1 if data[-1:] == b"\n" else len(data)
            last = data[data.rfind(b"\n", 0, end) + 1 : end]
            complete = (
                data.find(b"\nend of trees\n") >= 0
                and data.find(b"\nend of parameters\n") >= 0
                and last.startswith(b"pandas_categorical:")
            )
            if complete:
                try:
                    json.loads(last[len(b"pandas_categorical:") :])
                except ValueError:
                    complete = False
    if not complete:
        raise ValueError("the file is cut short or is not a LightGBM text model")


class LightGBMAdapter:
    name: ClassVar[str] = "lightgbm"
    framework: ClassVar[str] = "lightgbm"

    @classmethod
    def handles(cls, model: object) -> bool:
        names = class_names(model)
        return BOOSTER in names or WRAPPER in names

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        if options.format not in (None, "text"):
            raise InvalidInput(f"unknown LightGBM format {options.format!r}: use text")
        is_booster = BOOSTER in class_names(model)
        found = ("predict",) if is_booster else public_methods(model, METHODS)
        check_methods(model, options.methods, found)
        extra: dict[str, Any] = {}
        booster: Any = model
        if not is_booster:
            extra["sklearn"] = _wrapper_state(model)
            booster = model.booster_  # type: ignore[attr-defined]
        booster.save_model(str(directory / FILE))
        return Saved(
            files=(FILE,),
            format="text",
            safe=True,
            methods=options.methods or found,
            extra=extra,
        )

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        return None  # trees and parameters only

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        lgb = require("lightgbm", "lightgbm")
        _check_complete(directory / FILE)
        booster = lgb.Booster(model_file=str(directory / FILE))
        state = meta.extra.get("sklearn")
        if not state:
            return booster
        if not isinstance(state, dict):
            raise ConfigError(f"{directory}: malformed LightGBM wrapper settings; save again")
        try:
            return _rebuild(state, booster)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # The settings come from landmark.yaml, not the model file: say so.
            raise ConfigError(
                f"{directory}: malformed LightGBM wrapper settings in landmark.yaml "
                f"({type(e).__name__}: {' '.join(str(e).split())[:200]}); save the model again"
            ) from e

    def call(self, model: object, method: str, data: object) -> object:
        return getattr(model, method)(data)

    def requirements(self, model: object) -> list[str]:
        wrapper = BOOSTER not in class_names(model)
        return ["numpy", "scipy", *(["scikit-learn"] if wrapper else [])]
