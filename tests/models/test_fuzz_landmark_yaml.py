"""Random landmark.yaml contents (hypothesis): loading and describing a model whose metadata
anyone could have edited raises only landmark errors, in one line, and changes nothing
outside the model directory (nor the model's own files)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from sklearn.linear_model import LogisticRegression

from landmark import load_model, save_model
from landmark.errors import LandmarkError
from landmark.models.api import describe_model
from landmark.models.meta import META_FILE

KEYS = (
    "landmark_model",
    "adapter",
    "format",
    "safe",
    "files",
    "methods",
    "extra",
    "python",
    "requirements",
    "labels",
    "path",
    "md5",
    "size",
    "signature",
    "class",
    "init_kwargs",
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "../x",
            "/etc/passwd",
            "model.skops",
            "sklearn",
            "pickle",
            "skops",
            "callable",
            "torch",
            "..",
        ]
    ),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            if p.name != META_FILE:
                out[str(p.relative_to(root))] = hashlib.md5(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    X = np.random.default_rng(0).normal(size=(20, 2))
    base = tmp_path_factory.mktemp("fuzz")
    save_model(LogisticRegression().fit(X, X[:, 0] > 0), base / "m", X[:5])
    return base / "m", YAML(typ="safe").load((base / "m" / META_FILE).read_text())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    whole=st.one_of(st.none(), values),
)
def test_random_landmark_yaml_gives_only_landmark_errors(
    tmp_path_factory: pytest.TempPathFactory,
    template: tuple[Path, dict[str, Any]],
    edits: dict[str, Any],
    whole: Any,
) -> None:
    source, doc = template
    sandbox = tmp_path_factory.mktemp("sandbox")
    model = sandbox / "m"
    shutil.copytree(source, model)
    (sandbox / "outside.txt").write_text("keep me")
    new = whole if whole is not None else {**doc, **edits}
    yaml = YAML(typ="safe")
    with open(model / META_FILE, "w") as fh:
        yaml.dump(new, fh)
    before = _snapshot(sandbox)
    for call in (
        lambda: load_model(model),
        lambda: describe_model(model),
        lambda: load_model(model, trust=False, verify=True),
    ):
        try:
            call()
        except LandmarkError as e:
            assert "\n" not in str(e), str(e)
            assert 1 <= e.exit_code < 70
    assert _snapshot(sandbox) == before
