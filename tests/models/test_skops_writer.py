"""landmark's skops writer against skops itself: same schema, same arrays, same trust verdicts,
and files skops loads into models that predict the same."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections import OrderedDict, defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
sio = pytest.importorskip("skops.io")

from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import (  # noqa: E402
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import (  # noqa: E402
    FunctionTransformer,
    LabelEncoder,
    OneHotEncoder,
    StandardScaler,
)
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeRegressor  # noqa: E402

from landmark.models.adapters import skops_writer  # noqa: E402

RNG = np.random.default_rng(7)
X = RNG.normal(size=(120, 4))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)
R = X[:, 0] * 2.0 + RNG.normal(scale=0.1, size=120)
FRAME = pd.DataFrame(
    {
        "age": RNG.integers(18, 80, size=120),
        "plan": RNG.choice(["basic", "pro", "team"], size=120),
        "spend": RNG.normal(50, 10, size=120),
    }
)
TEXT = ["the cat sat", "a dog ran", "the dog sat", "a cat ran"] * 30


def fitted() -> dict[str, tuple[Any, Any]]:
    """name -> (fitted model, input to predict or transform with)."""
    frame_pipe = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), ["age", "spend"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ]
        ),
        LogisticRegression(),
    )
    models = {
        "logistic pipeline": (make_pipeline(StandardScaler(), LogisticRegression()), X, Y),
        "frame pipeline": (frame_pipe, FRAME, Y),
        "ridge": (Ridge(), X, R),
        "sgd classifier": (SGDClassifier(random_state=0), X, Y),
        "sgd regressor": (SGDRegressor(random_state=0), X, R),
        "decision tree": (DecisionTreeRegressor(max_depth=3), X, R),
        "random forest": (RandomForestClassifier(n_estimators=3, random_state=0), X, Y),
        "gradient boosting": (GradientBoostingClassifier(n_estimators=3), X, Y),
        "hist gradient boosting": (HistGradientBoostingClassifier(max_iter=3), X, Y),
        "hist gradient boosting regressor": (HistGradientBoostingRegressor(max_iter=3), X, R),
        "isolation forest": (IsolationForest(n_estimators=3, random_state=0), X, None),
        "svc": (SVC(probability=True, random_state=0), X, Y),
        "knn": (KNeighborsClassifier(3), X, Y),
        "naive bayes": (GaussianNB(), X, Y),
        "mlp": (MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0), X, Y),
        "kmeans": (KMeans(2, n_init=2, random_state=0), X, None),
        "pca": (PCA(2), X, None),
        "gaussian mixture": (GaussianMixture(2, random_state=0), X, None),
        "imputer": (SimpleImputer(), X, None),
        "tfidf": (TfidfVectorizer(), TEXT, None),
        "label encoder": (LabelEncoder(), np.array(["a", "b", "c"] * 40, dtype=object), None),
        "ufunc transformer": (make_pipeline(FunctionTransformer(np.abs), Ridge()), X, R),
        "log target": (
            TransformedTargetRegressor(Ridge(), func=np.log1p, inverse_func=np.expm1),
            X,
            np.abs(R),
        ),
        "calibrated": (CalibratedClassifierCV(LogisticRegression(), cv=2), X, Y),
        "voting": (
            VotingClassifier([("lr", LogisticRegression()), ("nb", GaussianNB())], voting="soft"),
            X,
            Y,
        ),
        "stacking": (
            StackingClassifier([("lr", LogisticRegression()), ("nb", GaussianNB())], cv=2),
            X,
            Y,
        ),
    }
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (model, data, target) in models.items():
            if isinstance(model, LabelEncoder) or target is None:
                model.fit(data)
            else:
                model.fit(data, target)
            out[name] = (model, data)
    return out


MODELS = fitted()


def normalized(raw: bytes) -> tuple[Any, dict[str, bytes]]:
    """A skops file's schema and members, with ``id()``-based ids and random member names
    replaced by their order of first appearance (keys visited in sorted order)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        schema = json.loads(zf.read("schema.json"))
        members = {n: zf.read(n) for n in zf.namelist() if n != "schema.json"}
    ids: dict[Any, int] = {}
    names: dict[str, str] = {}
    out_members: dict[str, bytes] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            result = {}
            for key in sorted(node):
                value = node[key]
                if key == "__id__":
                    value = ids.setdefault(value, len(ids))
                elif key == "file" and isinstance(value, str) and value in members:
                    stem = names.setdefault(value, f"m{len(names)}{Path(value).suffix}")
                    out_members[stem] = members[value]
                    value = stem
                else:
                    value = walk(value)
                result[key] = value
            return result
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    tree = walk(schema)
    tree.pop("_skops_version", None)
    return tree, out_members


def ours(model: Any, tmp_path: Path) -> tuple[bytes, list[tuple[str, str]]]:
    path = tmp_path / "model.skops"
    seen = skops_writer.write(model, path)
    return path.read_bytes(), seen


@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_file_as_skops(name: str, tmp_path: Path) -> None:
    model, _ = MODELS[name]
    mine, _ = ours(model, tmp_path)
    theirs = sio.dumps(model)
    tree_a, members_a = normalized(mine)
    tree_b, members_b = normalized(theirs)
    assert tree_a == tree_b
    assert members_a == members_b
    assert len(members_a) == len(zipfile.ZipFile(io.BytesIO(mine)).namelist()) - 1


@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_trust_verdict_and_predictions(name: str, tmp_path: Path) -> None:
    model, data = MODELS[name]
    raw, seen = ours(model, tmp_path)
    expected = sorted(sio.get_untrusted_types(data=raw))
    # every model here is judged without asking skops, and judged as skops does
    assert skops_writer.untrusted_types(seen) == expected
    loaded = sio.load(tmp_path / "model.skops", trusted=expected or None)
    assert type(loaded) is type(model)
    method = next(m for m in ("predict", "transform") if hasattr(model, m))
    got, want = getattr(loaded, method)(data), getattr(model, method)(data)
    if hasattr(want, "toarray"):
        got, want = got.toarray(), want.toarray()
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_estimator_rule_matches_all_estimators() -> None:
    """``public_sklearn_estimator`` agrees with scikit-learn's own walk for every estimator
    class that the walk imported."""
    import sklearn.base
    from sklearn.utils import all_estimators

    listed = {cls for _, cls in all_estimators()}
    assert listed
    for cls in listed:
        assert skops_writer.public_sklearn_estimator(cls), cls

    def subclasses(cls: type) -> set[type]:
        found = set()
        for sub in cls.__subclasses__():
            found.add(sub)
            found |= subclasses(sub)
        return found

    others = {
        c
        for c in subclasses(sklearn.base.BaseEstimator)
        if c.__module__.startswith("sklearn.") and c not in listed
    }
    assert others  # private and abstract bases exist in every scikit-learn
    for cls in others:
        assert not skops_writer.public_sklearn_estimator(cls), cls


def test_numpy_type_names_match_skops() -> None:
    from skops.io import _trusted_types

    assert skops_writer.numpy_type_names() == set(_trusted_types.NUMPY_DTYPE_TYPE_NAMES)


def test_containers_and_values(tmp_path: Path) -> None:
    """Values estimators hold in their attributes: every container skops knows, numpy
    scalars and dtypes, random states, functions, bytes, shared and repeated objects."""
    shared = np.arange(6, dtype=np.int32).reshape(2, 3)
    value = {
        "ordered": OrderedDict(b=1, a=2.5),
        "default": defaultdict(list, {"k": [1, 2]}),
        "set": {1, 2, 3},
        "frozen": frozenset({"x"}),
        "tuple": (None, True, "s", 1.5, float("nan")),
        "slice": slice(1, 10, 2),
        "bytes": b"\x00\x01",
        "bytearray": bytearray(b"ab"),
        "scalar": np.float32(2.5),
        "int keys": {1: "one", np.int64(2): "two"},
        "dtype": np.dtype("float64"),
        "type": np.float64,
        "random state": np.random.RandomState(3),
        "generator": np.random.default_rng(4),
        "function": np.log1p,
        "dispatcher": np.sum,
        "partial": partial(np.round, decimals=2),
        "objects": np.array(["a", 1, None], dtype=object),
        "masked": np.ma.masked_array([1.0, 2.0], mask=[False, True]),
        "shared": [shared, shared],
    }
    mine, seen = ours(value, tmp_path)
    assert normalized(mine) == normalized(sio.dumps(value))
    untrusted = sorted(sio.get_untrusted_types(data=mine))
    assert skops_writer.untrusted_types(seen) in (None, untrusted)
    loaded = sio.load(tmp_path / "model.skops", trusted=untrusted)
    assert loaded["shared"][0] is loaded["shared"][1]
    assert loaded["ordered"] == value["ordered"]
    assert loaded["generator"].random() == np.random.default_rng(4).random()


def test_unsupported_objects_are_left_to_skops(tmp_path: Path) -> None:
    from sklearn.cluster import Birch

    target = tmp_path / "model.skops"
    for value in (Birch(), {(1, 2): "tuple keys"}):
        with pytest.raises(skops_writer.Unsupported):
            skops_writer.write(value, target)
        assert not target.exists()


def test_saving_a_model_does_not_import_skops_io(tmp_path: Path) -> None:
    """The point of the writer: a fresh process saves without paying for ``import skops.io``
    (which imports every scikit-learn module); loading still goes through skops."""
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
print("skops.io" in sys.modules)
loaded = landmark.load_model(sys.argv[1])
print("skops.io" in sys.modules, (loaded.predict(X) == model.predict(X)).all())
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "m")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["False", "True", "True"]
    meta = (tmp_path / "m" / "landmark.yaml").read_text()
    assert "safe: true" in meta


def test_an_older_skops_gets_its_own_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(skops_writer, "skops_version", lambda: "0.9.0")
    with pytest.raises(skops_writer.Unsupported, match=r"0\.9\.0"):
        skops_writer.write([1, 2], tmp_path / "model.skops")
    assert not (tmp_path / "model.skops").exists()
    assert skops_writer._release("0.16.0") == (0, 16) and skops_writer._release("1.0rc1") == (1, 0)
