"""PyTorch: ``torch.export`` programs (default), TorchScript, safetensors weights, or pickle.

- ``export`` (``model.pt2``, the default with a sample input): the traced graph and weights,
  loaded by ``torch.export.load``; the batch dimension is kept dynamic. Safe.
- ``torchscript`` (``model.pt``, the default without one): ``torch.jit.script``, falling back
  to ``torch.jit.trace`` on the sample. TorchScript code runs in its own interpreter, not as
  Python. Safe.
- ``safetensors`` (``model.safetensors``): weights only, plus the import path of the module's
  class and its JSON constructor arguments (``options={"init_kwargs": {...}}``). Loading
  imports that (installed) class, builds it and fills in the weights. Safe.
- ``pickle`` (``model.pth``): ``torch.save`` of the whole module; unpickling can run code, so
  it needs ``trust=True``.
"""

from __future__ import annotations

import importlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ...errors import ConfigError, InvalidInput, UnsafeModel
from ..adapter import Saved, SaveOptions, class_modules, class_names, require
from ..meta import ModelMeta

MODULE = "torch.nn.modules.module.Module"
SCRIPTED = "torch.jit._script.ScriptModule"
EXPORTED = "torch.export.exported_program.ExportedProgram"
FILES = {
    "export": "model.pt2",
    "torchscript": "model.pt",
    "safetensors": "model.safetensors",
    "pickle": "model.pth",
}
METHOD = "__call__"
PICKLED = "is a torch pickle, which can run code when loaded"


def _torch() -> Any:
    return require("torch", "torch")


def _tensor(torch: Any, value: Any) -> Any:
    """numpy arrays become tensors (sharing memory); anything else is passed as it is."""
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
        return torch.from_numpy(value)
    return value


def _is_arg_tuple(torch: Any, data: Any) -> bool:
    """A tuple or list of tensors/arrays: the positional inputs of a multi-input module."""
    return (
        isinstance(data, (tuple, list))
        and len(data) > 0
        and all(isinstance(_tensor(torch, x), torch.Tensor) for x in data)
    )


def _example_args(torch: Any, sample: Any) -> tuple[Any, ...]:
    if sample is None:
        raise InvalidInput(
            "torch.export needs a sample input to trace the model: pass sample_input=, or "
            "format='torchscript' or 'safetensors'"
        )
    args = tuple(sample) if _is_arg_tuple(torch, sample) else (sample,)
    tensors = tuple(_tensor(torch, a) for a in args)
    if not all(isinstance(t, torch.Tensor) for t in tensors):
        raise InvalidInput(
            "the sample input of a torch model must be a tensor, an array, or a tuple of them"
        )
    return tensors


def _two_rows(t: Any) -> Any:
    """A batch of one makes torch.export fix the batch size to 1: trace two rows instead."""
    if t.dim() > 0 and t.shape[0] == 1:
        return t.expand(2, *t.shape[1:]).contiguous()
    return t


class _Eval:
    """Puts a module in eval mode for tracing and gives it back in the mode it was in."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.training = bool(getattr(model, "training", False))

    def __enter__(self) -> None:
        if self.training:
            self.model.eval()

    def __exit__(self, *exc: object) -> None:
        if self.training:
            self.model.train(True)


def _class_path(model: object) -> str:
    cls = type(model)
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        raise InvalidInput(
            f"format='safetensors' records the import path of {cls.__qualname__}, which is "
            "defined in a script or a function: move the class to an importable module, or "
            "use format='export' with a sample input"
        )
    return f"{cls.__module__}:{cls.__qualname__}"


def import_module_class(path: str, torch: Any) -> Any:
    """The ``torch.nn.Module`` subclass named ``module:QualName`` (nothing else is accepted)."""
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise InvalidInput(f"bad module class path {path!r}; save the model again")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise InvalidInput(
            f"cannot import {module_name} for the model class {qualname}: {e}; install or "
            "put the module on the path"
        ) from e
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type) or not issubclass(obj, torch.nn.Module):
        raise InvalidInput(f"{path} is not a torch.nn.Module class; save the model again")
    return obj


class TorchAdapter:
    name: ClassVar[str] = "torch"
    framework: ClassVar[str] = "torch"

    @classmethod
    def handles(cls, model: object) -> bool:
        names = class_names(model)
        if EXPORTED in names:
            return True
        # Keras 3 layers on the torch backend are torch modules too: they belong to keras.
        return MODULE in names and "keras" not in class_modules(model)

    # -- saving -----------------------------------------------------------------------

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        torch = _torch()
        names = class_names(model)
        sample = options.sample_input
        if EXPORTED in names:
            fmt = options.format or "export"
            if fmt != "export":
                raise InvalidInput("an ExportedProgram can only be saved as format='export'")
        elif SCRIPTED in names:
            fmt = options.format or "torchscript"
        else:
            fmt = options.format or ("export" if sample is not None else "torchscript")
        if fmt not in FILES:
            raise InvalidInput(
                f"unknown torch format {fmt!r}: use export, torchscript, safetensors or pickle"
            )
        if options.methods and tuple(options.methods) != (METHOD,):
            raise InvalidInput(f"a torch model is saved with one method, {METHOD!r}")
        path = directory / FILES[fmt]
        extra: dict[str, Any] = {}
        requires: tuple[str, ...] = ()
        if fmt == "export":
            self._export(torch, model, sample, path)
        elif fmt == "torchscript":
            self._script(torch, model, sample, path)
        elif fmt == "safetensors":
            extra = self._weights(model, options, path)
            requires = ("safetensors",)
        else:
            torch.save(model, path)
        return Saved(
            files=(path.name,),
            format=fmt,
            safe=fmt != "pickle",
            methods=(METHOD,),
            extra=extra,
            requires=requires,
        )

    def _export(self, torch: Any, model: Any, sample: Any, path: Path) -> None:
        if EXPORTED in class_names(model):
            torch.export.save(model, str(path))
            return
        args = tuple(_two_rows(t) for t in _example_args(torch, sample))
        auto = torch.export.Dim.AUTO
        dynamic = tuple({0: auto} if t.dim() > 0 else None for t in args)
        try:
            with _Eval(model), torch.no_grad():
                program = torch.export.export(model, args, dynamic_shapes=dynamic)
        except Exception as e:  # torch raises many kinds for code it cannot trace
            raise InvalidInput(
                f"torch.export could not trace the model ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); try format='torchscript' "
                "or 'safetensors'"
            ) from e
        torch.export.save(program, str(path))

    def _script(self, torch: Any, model: Any, sample: Any, path: Path) -> None:
        # TorchScript is deprecated in favour of torch.export but still loads everywhere.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if SCRIPTED in class_names(model):
                scripted = model
            else:
                try:
                    with _Eval(model):
                        scripted = torch.jit.script(model)
                except Exception as e:
                    if sample is None:
                        raise InvalidInput(
                            f"torch.jit.script failed ({type(e).__name__}); pass sample_input= "
                            "to trace the model, or use format='safetensors'"
                        ) from e
                    args = _example_args(torch, sample)
                    with _Eval(model), torch.no_grad():
                        scripted = torch.jit.trace(model, args)
            torch.jit.save(scripted, str(path))

    def _weights(self, model: Any, options: SaveOptions, path: Path) -> dict[str, Any]:
        storage = require("safetensors.torch", "torch", "safetensors")
        kwargs = dict(options.options.get("init_kwargs") or {})
        try:
            json.dumps(kwargs, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"init_kwargs must be JSON values: {e}") from e
        extra: dict[str, Any] = {"class": _class_path(model), "init_kwargs": kwargs}
        storage.save_model(model, str(path))
        return extra

    # -- loading ----------------------------------------------------------------------

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        if meta.format not in FILES:
            raise InvalidInput(f"{directory}: unknown torch format {meta.format!r}")
        return PICKLED if meta.format == "pickle" else None

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        fmt = meta.format
        if fmt not in FILES:
            raise InvalidInput(f"{directory}: unknown torch format {fmt!r}")
        path = directory / FILES[fmt]
        torch = _torch()
        if fmt == "export":
            return torch.export.load(str(path)).module()
        if fmt == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return torch.jit.load(str(path), map_location="cpu").eval()
        if fmt == "safetensors":
            storage = require("safetensors.torch", "torch", "safetensors")
            cls = import_module_class(str(meta.extra.get("class", "")), torch)
            kwargs = meta.extra.get("init_kwargs") or {}
            if not isinstance(kwargs, Mapping):
                raise InvalidInput(f"{directory}: init_kwargs must be a mapping; save again")
            try:
                model = cls(**kwargs)
            except TypeError as e:  # the arguments come from landmark.yaml
                raise ConfigError(
                    f"{directory}: init_kwargs in landmark.yaml do not fit {cls.__qualname__} "
                    f"({' '.join(str(e).split())[:200]}); save the model again"
                ) from e
            storage.load_model(model, str(path), strict=True, device="cpu")
            return model.eval()
        # The metadata's ``safe`` flag could have been edited: refuse here too.
        if not trust:
            raise UnsafeModel(
                f"{path} {PICKLED}; load with trust=True (--trust) only if you trust its source"
            )
        return torch.load(str(path), map_location="cpu", weights_only=False).eval()

    def call(self, model: object, method: str, data: Any) -> object:
        torch = _torch()
        fn: Any = model if method == METHOD else getattr(model, method)
        if EXPORTED in class_names(model):  # a program runs through its module
            fn = model.module()  # type: ignore[attr-defined]
        with torch.no_grad():
            if _is_arg_tuple(torch, data):
                return fn(*(_tensor(torch, x) for x in data))
            if isinstance(data, Mapping):
                return fn(**{k: _tensor(torch, v) for k, v in data.items()})
            return fn(_tensor(torch, data))

    def requirements(self, model: object) -> list[str]:
        return ["torch"]
