"""Loading a damaged model: one landmark error naming the file, never a framework traceback.

The other adapters' damaged files are tested next to their round trips (test_adapters_*.py);
random landmark.yaml contents in test_meta_fuzz.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from landmark import load_model, save_model
from landmark.errors import (
    ConfigError,
    IntegrityError,
    InvalidInput,
    LandmarkError,
    NotFound,
    UnsafeModel,
)
from landmark.models.meta import META_FILE, read_meta

from .malformed import DAMAGES, check_damage, check_missing, check_unsigned, copy


def double(rows: list[float]) -> list[float]:
    return [2 * r for r in rows]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One model directory per scikit-learn format, and a callable's."""
    X = np.random.default_rng(0).normal(size=(40, 3))
    model = LogisticRegression().fit(X, X[:, 0] > 0)
    base = tmp_path_factory.mktemp("saved")
    dirs = {fmt: base / fmt for fmt in ("skops", "pickle", "joblib")}
    for fmt, where in dirs.items():
        save_model(model, where, X[:5], format=fmt)
    save_model(double, base / "callable", [1.0, 2.0])
    dirs["callable"] = base / "callable"
    return dirs


FILES = {
    "skops": "model.skops",
    "pickle": "model.pkl",
    "joblib": "model.joblib",
    "callable": "model.cloudpickle",
}


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("kind", list(FILES))
def test_a_damaged_file_is_one_integrity_error(
    tmp_path: Path, saved: dict[str, Path], kind: str, how: str
) -> None:
    model = copy(saved[kind], tmp_path / "m")
    check_damage(model, FILES[kind], how, trust=kind != "skops")


def test_a_skops_file_that_is_no_zip_says_so(tmp_path: Path, saved: dict[str, Path]) -> None:
    model = copy(saved["skops"], tmp_path / "churn")
    check_damage(model, "model.skops", "random")
    with pytest.raises(IntegrityError) as info:
        load_model(model)
    assert str(info.value) == (
        f"{model}/model.skops: not a valid sklearn skops file (File is not a zip file); "
        "re-save the model"
    )


@pytest.mark.parametrize("kind", list(FILES))
def test_damage_without_a_new_md5_is_caught_first(
    tmp_path: Path, saved: dict[str, Path], kind: str
) -> None:
    check_unsigned(copy(saved[kind], tmp_path / "m"), FILES[kind], trust=kind != "skops")


@pytest.mark.parametrize("kind", list(FILES))
def test_a_missing_file_is_not_found(tmp_path: Path, saved: dict[str, Path], kind: str) -> None:
    model = copy(saved[kind], tmp_path / "m")
    check_missing(model, FILES[kind], trust=kind != "skops")
    with pytest.raises(NotFound, match=r"model\.\w+: no such file, though landmark\.yaml") as e:
        load_model(model, trust=kind != "skops")
    assert e.value.exit_code == 3


def test_unsafe_formats_are_refused_before_their_files_are_read(
    tmp_path: Path, saved: dict[str, Path]
) -> None:
    """A broken pickle without trust: UnsafeModel, as for a whole one (nothing is read)."""
    model = copy(saved["pickle"], tmp_path / "m")
    (model / "model.pkl").write_bytes(b"\x80\x05garbage")
    with pytest.raises(UnsafeModel, match="which can run code when loaded"):
        load_model(model, verify=False)


# -- landmark.yaml ---------------------------------------------------------------------------


def write_yaml(model: Path, text: str) -> None:
    (model / META_FILE).write_text(text)


def good_yaml(model: Path) -> str:
    return (model / META_FILE).read_text()


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("", ConfigError, "expected a mapping"),
        ("- a\n- b\n", ConfigError, "expected a mapping"),
        ("just text", ConfigError, "expected a mapping"),
        ("{a: [}\n", ConfigError, "landmark.yaml line 1"),
        ("landmark_model: 2\n", ConfigError, "unsupported landmark_model 2"),
        ("landmark_model: true\n", ConfigError, "unsupported landmark_model True"),
        ("landmark_model: 1\n", ConfigError, "adapter must be a string, not None"),
    ],
)
def test_landmark_yaml_that_is_no_model_metadata(
    tmp_path: Path, saved: dict[str, Path], text: str, error: type[LandmarkError], match: str
) -> None:
    model = copy(saved["skops"], tmp_path / "m")
    write_yaml(model, text)
    with pytest.raises(error, match=match) as info:
        load_model(model)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "error", "match"),
    [
        ("safe: true", "safe: yes", ConfigError, "safe must be true or false, not 'yes'"),
        ("safe: true", "safe: [1]", ConfigError, "safe must be true or false"),
        ("adapter: sklearn", "adapter: nosuch", NotFound, "no model adapter named 'nosuch'"),
        ("adapter: sklearn", "adapter: {a: 1}", ConfigError, "adapter must be a string"),
        ("format: skops", "format: parquet", InvalidInput, "unknown scikit-learn format"),
        ("{path: model.skops", "{path: 7", ConfigError, r"files\[0\]\.path must be a string"),
        ("size: ", "size: -", ConfigError, r"files\[0\]\.size must be a byte count"),
        ("methods:", "methods: [a]\nx:", ConfigError, "methods must be a mapping"),
        ("labels: []", "labels: abc", ConfigError, "labels must be a list"),
    ],
)
def test_wrong_types_in_landmark_yaml(
    tmp_path: Path,
    saved: dict[str, Path],
    old: str,
    new: str,
    error: type[LandmarkError],
    match: str,
) -> None:
    model = copy(saved["skops"], tmp_path / "m")
    text = good_yaml(model)
    assert old in text
    write_yaml(model, text.replace(old, new, 1))
    with pytest.raises(error, match=match) as info:
        load_model(model)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("path", "fault"),
    [
        ("../outside.skops", "leaves the model directory"),
        ("sub/../../outside.skops", "leaves the model directory"),
        ("/etc/passwd", "is absolute"),
        ("C:/Windows/win.ini", "is absolute"),
        ("", "is empty"),
        ("./model.skops", "has an empty or '.' part"),
    ],
)
def test_file_entries_outside_the_model_directory_are_refused(
    tmp_path: Path, saved: dict[str, Path], path: str, fault: str
) -> None:
    outside = tmp_path / "outside.skops"
    outside.write_bytes(b"secret")
    model = copy(saved["skops"], tmp_path / "m")
    md5 = hashlib.md5(b"secret").hexdigest()
    text = good_yaml(model)
    start = text.index("files:")
    end = text.index("methods:")
    write_yaml(
        model, text[:start] + f"files: [{{path: '{path}', md5: {md5}, size: 6}}]\n" + text[end:]
    )
    with pytest.raises(InvalidInput, match=fault) as info:
        load_model(model)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)
    with pytest.raises(InvalidInput, match=fault):
        read_meta(model)  # describe-model reads it the same way


def test_landmark_yaml_that_is_not_text_or_not_a_file(
    tmp_path: Path, saved: dict[str, Path]
) -> None:
    model = copy(saved["skops"], tmp_path / "m")
    (model / META_FILE).write_bytes(b"adapter: \xff\xfe\x00sklearn\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_model(model)
    (model / META_FILE).unlink()
    (model / META_FILE).mkdir()
    with pytest.raises(ConfigError, match="cannot be read"):
        load_model(model)


def test_framework_errors_keep_their_cause(tmp_path: Path, saved: dict[str, Path]) -> None:
    """The one-line error keeps the framework's exception as its cause (``--traceback``)."""
    model = copy(saved["skops"], tmp_path / "m")
    check_damage(model, "model.skops", "truncate")
    with pytest.raises(IntegrityError) as info:
        load_model(model)
    assert info.value.__cause__ is not None
    assert not isinstance(info.value.__cause__, LandmarkError)
