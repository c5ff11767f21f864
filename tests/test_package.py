"""The package's face: ``landmark.__version__``, the error tree at the top level, a cheap import."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import landmark
from landmark import errors

ERROR_CLASSES = {
    name: obj
    for name, obj in vars(errors).items()
    if inspect.isclass(obj) and issubclass(obj, errors.LandmarkError)
}


def test_version_is_the_installed_distributions() -> None:
    assert landmark.__version__ == metadata.version("landmark")


def test_version_without_an_installed_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    monkeypatch.delitem(vars(landmark), "__version__", raising=False)  # cached by a first read
    try:
        assert landmark.__version__ == "0+unknown"
    finally:
        vars(landmark).pop("__version__", None)


def test_cli_version_is_the_same() -> None:
    exe = Path(sys.executable).with_name("landmark")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"landmark, version {metadata.version('landmark')}"


def test_the_whole_error_tree_is_exported() -> None:
    assert set(ERROR_CLASSES) == set(errors.__all__)  # the tree, as errors.py lists it
    for name, cls in ERROR_CLASSES.items():
        assert name in landmark.__all__
        assert getattr(landmark, name) is cls
    from landmark import LandmarkError, NotFound

    assert NotFound is errors.NotFound and issubclass(NotFound, LandmarkError)


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = landmark.Nope


HEAVY = ("ruamel", "click", "rich", "pandas", "numpy", "sklearn", "fsspec", "configobj")


def test_import_stays_cheap() -> None:
    code = (
        "import sys, json, landmark\n"
        "before = sorted(sys.modules)\n"
        "landmark.__version__, landmark.NotFound, landmark.LandmarkError\n"
        "print(json.dumps([before, sorted(sys.modules)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    before, after = json.loads(out)
    assert "importlib.metadata" not in before  # the version is looked up on first use only
    assert not [m for m in before if m.startswith("landmark.")]
    assert [m for m in after if m.startswith("landmark.")] == ["landmark.errors"]
    assert not [m for m in after if m.split(".")[0] in HEAVY]
