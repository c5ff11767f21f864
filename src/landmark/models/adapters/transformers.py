"""Hugging Face transformers pipelines: ``save_pretrained`` into a folder, loaded from it alone.

Weights are written as safetensors and tokenizers as JSON, so loading runs no code from the
files. Loading passes ``local_files_only=True`` and never trusts remote code: nothing is
downloaded. A pipeline that ships its own Python code (a custom pipeline or model class) or
pickled weights is marked unsafe and needs ``trust=True``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from ...errors import InvalidInput, UnsafeModel
from ..adapter import Saved, SaveOptions, class_names, require
from ..meta import ModelMeta

PIPELINE = "transformers.pipelines.base.Pipeline"
FOLDER = "pipeline"
METHOD = "__call__"
# Files that unpickle when read, or are Python code that transformers would import.
CODE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".py")


def _runs_code(folder: Path) -> list[str]:
    """What in a saved pipeline folder could run code when it is loaded."""
    found = sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in CODE_SUFFIXES
    )
    config = folder / "config.json"
    if config.is_file():
        doc = json.loads(config.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and (doc.get("auto_map") or doc.get("custom_pipelines")):
            found.append("config.json (auto_map / custom_pipelines: remote code)")
    return found


def _verdict(code: list[str]) -> str:
    return f"has files that can run code when loaded ({', '.join(code[:3])})"


class TransformersAdapter:
    name: ClassVar[str] = "transformers"
    framework: ClassVar[str] = "transformers"

    @classmethod
    def handles(cls, model: object) -> bool:
        return PIPELINE in class_names(model)

    def save(self, model: object, directory: Path, options: SaveOptions) -> Saved:
        if options.format not in (None, "pretrained"):
            raise InvalidInput(f"unknown transformers format {options.format!r}: use pretrained")
        if options.methods and tuple(options.methods) != (METHOD,):
            raise InvalidInput(f"a transformers pipeline is saved with one method, {METHOD!r}")
        pipe: Any = model
        task = getattr(pipe, "task", None)
        if not task:
            raise InvalidInput(
                "the pipeline has no task; build it with transformers.pipeline(task)"
            )
        folder = directory / FOLDER
        pipe.save_pretrained(str(folder))
        code = _runs_code(folder)
        files = sorted(str(p.relative_to(directory)) for p in folder.rglob("*") if p.is_file())
        extra: dict[str, Any] = {"task": str(task), "pipeline_class": type(pipe).__name__}
        if code:
            extra["code_files"] = code
        return Saved(
            files=tuple(files),
            format="pretrained",
            safe=not code,
            methods=(METHOD,),
            extra=extra,
        )

    def runs_code(self, directory: Path, meta: ModelMeta) -> str | None:
        code = _runs_code(directory / FOLDER)
        return _verdict(code) if code else None

    def load(self, directory: Path, meta: ModelMeta, trust: bool) -> object:
        folder = directory / FOLDER
        code = _runs_code(folder)
        if code and not trust:
            raise UnsafeModel(
                f"{folder} {_verdict(code)}; "
                "load with trust=True (--trust) only if you trust its source"
            )
        transformers = require("transformers", "transformers")
        task = meta.extra.get("task")
        if not isinstance(task, str) or not task:
            raise InvalidInput(f"{directory}: the metadata names no pipeline task; save again")
        return transformers.pipeline(
            task,
            model=str(folder),
            local_files_only=True,
            trust_remote_code=bool(code) and trust,
            model_kwargs={} if code else {"use_safetensors": True},
        )

    def call(self, model: object, method: str, data: object) -> object:
        fn: Any = model if method == METHOD else getattr(model, method)
        if isinstance(data, tuple):  # pipelines take a list of inputs as a batch
            data = list(data)
        return fn(data)

    def requirements(self, model: object) -> list[str]:
        return ["torch", "safetensors", "tokenizers", "huggingface-hub"]
