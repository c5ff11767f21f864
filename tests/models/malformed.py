"""Damaged model files for the adapters' tests: each damage must give one landmark error."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from landmark import load_model
from landmark.errors import IntegrityError, LandmarkError, NotFound
from landmark.models.api import _entry
from landmark.models.meta import read_meta, write_meta

# flip: bytes in the middle inverted; truncate: the first half only; random: noise, same size
DAMAGES = ("flip", "truncate", "random")


def damage(directory: Path, rel: str, how: str, *, resign: bool = True) -> None:
    """Damage ``directory / rel``; with ``resign`` landmark.yaml gets the new md5 and size, as
    if the model had been saved broken (so the check of the files passes: the framework reads
    the bytes)."""
    path = directory / rel
    data = bytearray(path.read_bytes())
    if how == "flip":
        middle = len(data) // 2
        for i in range(max(0, middle - 32), min(len(data), middle + 32)):
            data[i] ^= 0xFF
    elif how == "truncate":
        data = data[: len(data) // 2]
    elif how == "random":
        data = bytearray(random.Random(len(data)).randbytes(len(data)))
    else:
        raise ValueError(how)
    path.write_bytes(bytes(data))
    if resign:
        meta = read_meta(directory)
        files = tuple(_entry(directory, f.path) if f.path == rel else f for f in meta.files)
        write_meta(directory, meta.with_(files=files))


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def load_error(directory: Path, *, trust: bool = False, verify: bool = True) -> Exception | None:
    """What loading raises (None when it loads); anything but a landmark error fails the test."""
    try:
        load_model(directory, trust=trust, verify=verify)
    except LandmarkError as e:
        return e
    return None


def check_damage(
    directory: Path, rel: str, how: str, *, trust: bool = False, named: str | None = None
) -> None:
    """Damage the file and load: one IntegrityError (exit 9) naming the file, on one line.

    Inverted bytes inside a number of a text format (LightGBM's, XGBoost's JSON) or inside
    the weights may still parse: then the model loads, which is no error of ours."""
    named = named or rel
    damage(directory, rel, how)
    error = load_error(directory, trust=trust)
    if error is None:
        assert how == "flip", f"a {how} {rel} loaded"
        return
    assert isinstance(error, IntegrityError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert "\n" not in message and error.exit_code == 9
    assert f"{named}: not a valid " in message and "re-save the model" in message, message
    # and without the check of the files, the same error from the framework's reader
    again = load_error(directory, trust=trust, verify=False)
    assert type(again) is IntegrityError and str(again).split(" (")[0] == message.split(" (")[0]


def check_unsigned(directory: Path, rel: str, *, trust: bool = False) -> None:
    """Damaged without landmark.yaml updated: the md5 check catches it before any reading."""
    damage(directory, rel, "random", resign=False)
    with pytest.raises(IntegrityError, match=r"does not match the md5 in landmark\.yaml"):
        load_model(directory, trust=trust)


def check_missing(
    directory: Path, rel: str, *, trust: bool = False, named: str | None = None
) -> None:
    """The file is gone and landmark.yaml no longer lists it: NotFound naming it, not a bare
    FileNotFoundError (or whatever the framework raises for a missing file)."""
    (directory / rel).unlink()
    meta = read_meta(directory)
    write_meta(directory, meta.with_(files=tuple(f for f in meta.files if f.path != rel)))
    error = load_error(directory, trust=trust)
    assert isinstance(error, (NotFound, IntegrityError)), error
    # A framework that reads a folder (transformers) says which file it missed in its own
    # words: the error names that folder.
    assert "\n" not in str(error) and (named or rel) in str(error)
