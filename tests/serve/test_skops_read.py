"""The server's skops reader (``read_trusted``, no ``import skops.io``) loads what skops loads,
object for object, and leaves every file it does not read wholly to skops."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest

from landmark.models.adapters.sklearn import read_trusted

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")
sio = pytest.importorskip("skops.io")


def estimators() -> list[tuple[str, Any]]:
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC

    return [
        ("scaler+logistic", make_pipeline(StandardScaler(), LogisticRegression())),
        ("ridge", Ridge(alpha=0.5)),
        ("kmeans", KMeans(n_clusters=2, n_init=2, random_state=0)),
        ("svc", SVC(probability=False)),
        ("sgd", SGDClassifier(random_state=0)),
        ("forest", RandomForestClassifier(n_estimators=2, random_state=0)),
        (
            "columns",
            make_pipeline(
                ColumnTransformer(
                    [("scale", StandardScaler(), [0, 1]), ("hot", OneHotEncoder(), [2])]
                ),
                LogisticRegression(),
            ),
        ),
    ]


@pytest.mark.parametrize(
    ("label", "model"), estimators(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_what_it_reads_equals_what_skops_loads(tmp_path: Path, label: str, model: Any) -> None:
    import landmark

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=60), rng.normal(size=60), rng.integers(0, 3, 60)])
    y = (x[:, 0] > 0).astype(int)
    model.fit(x, y)
    landmark.save_model(model, tmp_path / "m", sample_input=x[:5])
    path = tmp_path / "m" / "model.skops"
    read, obj = read_trusted(path)
    untrusted = sio.get_untrusted_types(file=path)
    if untrusted:  # skops asks for trust: not read here, so skops refuses it as before
        assert not read
        return
    expected = sio.load(path)
    if read:
        assert type(obj) is type(expected)
        assert pickle.dumps(obj) == pickle.dumps(expected)
        np.testing.assert_array_equal(obj.predict(x), expected.predict(x))
    else:  # a node kind not read here (trees, losses...): skops loads it, as before
        assert label in ("forest", "sgd")


def test_the_plain_pipeline_is_read_without_skops(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import landmark

    x = np.arange(40.0).reshape(20, 2)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, x[:, 0] > 10)
    landmark.save_model(model, tmp_path / "m", sample_input=x[:3])
    read, obj = read_trusted(tmp_path / "m" / "model.skops")
    assert read
    np.testing.assert_array_equal(obj.predict(x), model.predict(x))


def test_a_load_reads_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A load judges the file (is it all default-trusted?), then loads it: the object built to
    # judge it is the one loaded, and a file changed in between is read again.
    from sklearn.linear_model import LogisticRegression

    import landmark
    from landmark.models.adapters import sklearn as adapter

    x = np.arange(40.0).reshape(20, 2)
    model = LogisticRegression().fit(x, x[:, 0] > 10)
    landmark.save_model(model, tmp_path / "m", sample_input=x[:3])
    reads: list[Path] = []
    real = adapter.read_trusted

    def counted(path: Path) -> tuple[bool, Any]:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(adapter, "read_trusted", counted)
    loaded = adapter.load_scorer(lambda: landmark.load_model(tmp_path / "m"))
    assert len(reads) == 1
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert adapter._READ == {}  # nothing kept after the load

    path = tmp_path / "m" / "model.skops"
    adapter.read_trusted_files()
    try:
        assert adapter.skops_refused(path) is None
        other = LogisticRegression(C=0.01).fit(x, x[:, 0] > 30)
        landmark.save_model(other, tmp_path / "n", sample_input=x[:3])
        path.write_bytes((tmp_path / "n" / "model.skops").read_bytes())
        got = adapter.load_skops(path, trust=False)
    finally:
        adapter.read_trusted_files(False)
    assert len(reads) == 3  # judged, then read again: the file changed
    np.testing.assert_array_equal(got.coef_, other.coef_)


def _rewrite(path: Path, change: Any) -> Path:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    schema = json.loads(members["schema.json"])
    change(schema)
    members["schema.json"] = json.dumps(schema).encode()
    out = path.with_name("changed.skops")
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(protocol=1),
        lambda s: s.update(protocol=True),
        lambda s: s.update(__module__="os", __class__="system"),
        lambda s: s.update(__module__="collections", __class__="OrderedDict"),
        lambda s: s.update(__loader__="ReduceNode"),
        lambda s: s.update(__class__="NoSuchEstimator"),
        lambda s: s["content"].update(
            __loader__="ObjectNode", __module__="builtins", __class__="eval"
        ),
    ],
)
def test_anything_else_is_left_to_skops(tmp_path: Path, change: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    import landmark

    x = np.arange(20.0).reshape(10, 2)
    landmark.save_model(LogisticRegression().fit(x, x[:, 0] > 4), tmp_path / "m", sample_input=x)
    changed = _rewrite(tmp_path / "m" / "model.skops", change)
    assert read_trusted(changed) == (False, None)


def test_a_cut_off_file_is_left_to_skops(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert read_trusted(path) == (False, None)


def test_the_server_loads_a_plain_pipeline_without_skops_io(tmp_path: Path) -> None:
    """``landmark serve``'s loading (serve.runtime.load) reads the file itself; the model
    answers as the saved one."""
    import subprocess
    import sys

    code = """
import sys, numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
import landmark
X = np.random.default_rng(0).normal(size=(50, 3)); y = (X[:, 0] > 0).astype(int)
model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
landmark.save_model(model, sys.argv[1], sample_input=X[:5])
from landmark.serve.runtime import Source, load
served = load(Source.parse(sys.argv[1]))
print("skops.io" in sys.modules, (served.call("predict", X) == model.predict(X)).all())
print(served.safety.safe)
"""
    argv = [sys.executable, "-c", code, str(tmp_path / "m")]
    assert subprocess.check_output(argv, text=True).split() == ["False", "True", "True"]
