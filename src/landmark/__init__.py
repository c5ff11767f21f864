"""landmark: a Git-native ML model registry, compatible with GTO's tags.

Everything is imported on first use, so ``import landmark`` stays cheap.
"""

# Not imported from typing: the CLI's start-up must not pay for that module (mypy knows the name).
TYPE_CHECKING = False

__all__ = [
    "Client",
    "ConfigError",
    "Conflict",
    "GitError",
    "IntegrityError",
    "InvalidInput",
    "LandmarkError",
    "MissingDependency",
    "NotFound",
    "Registry",
    "RemoteError",
    "RepoError",
    "SignatureError",
    "UnknownStage",
    "UnknownType",
    "UnsafeModel",
    "annotate",
    "assign",
    "check_ref",
    "compare",
    "deprecate",
    "deregister",
    "describe",
    "doctor",
    "experiments",
    "find",
    "get",
    "history",
    "latest",
    "lineage",
    "load_model",
    "log_model",
    "predict_file",
    "register",
    "remove",
    "save_model",
    "show",
    "spark_udf",
    "stages",
    "state",
    "unassign",
]

if TYPE_CHECKING:
    from typing import Any

    from .api import (
        annotate,
        assign,
        check_ref,
        compare,
        deprecate,
        deregister,
        describe,
        doctor,
        experiments,
        find,
        history,
        latest,
        lineage,
        register,
        remove,
        show,
        stages,
        state,
        unassign,
    )
    from .batch import predict_file
    from .errors import (
        ConfigError,
        Conflict,
        GitError,
        IntegrityError,
        InvalidInput,
        LandmarkError,
        MissingDependency,
        NotFound,
        RemoteError,
        RepoError,
        SignatureError,
        UnknownStage,
        UnknownType,
        UnsafeModel,
    )
    from .models.api import load_model, save_model
    from .models.log import log_model
    from .registry import Registry
    from .serve.client import Client
    from .spark import spark_udf
    from .storage.get import get

    __version__: str

# Model packaging and storage live in their own subpackages, imported only when used.
_MODELS = {
    "save_model": "landmark.models.api",
    "load_model": "landmark.models.api",
    "log_model": "landmark.models.log",
    "predict_file": "landmark.batch",
    "get": "landmark.storage.get",
    "Client": "landmark.serve.client",
    "spark_udf": "landmark.spark",
}


def __getattr__(name: str) -> "Any":
    if name == "__version__":
        global __version__
        __version__ = _version()  # looked up once: the next access finds the global
        return __version__
    if name == "Registry":
        from .registry import Registry

        return Registry
    if name in _MODELS:  # before the error tree: Client is a class too
        import importlib

        return getattr(importlib.import_module(_MODELS[name]), name)
    if name in __all__ and name[0].isupper():  # the error tree (errors.py imports nothing)
        from . import errors

        return getattr(errors, name)
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'landmark' has no attribute {name!r}")


def _version() -> str:
    """The installed distribution's version; "0+unknown" when run from an uninstalled tree."""
    from importlib import metadata

    try:
        return metadata.version("landmark")
    except metadata.PackageNotFoundError:
        return "0+unknown"
