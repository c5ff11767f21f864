"""Signatures: inferred from samples, round-tripped through dicts, and checked with clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from landmark.errors import InvalidInput, SignatureError
from landmark.models.signature import Column, Signature, infer, validate


def frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [30, 40], "city": ["a", "b"], "income": [1.5, 2.5]})


def test_dataframe_signature_records_columns_in_order_with_dtypes() -> None:
    sig = infer(frame())
    assert sig.kind == "dataframe"
    assert [c.name for c in sig.columns] == ["age", "city", "income"]
    assert sig.columns[0] == Column("age", "int64", missing=False)
    assert sig.columns[2] == Column("income", "float64", missing=False)
    assert sig.describe().startswith("DataFrame[age: int64, city: ")


def test_ndarray_signature_has_a_batch_dimension() -> None:
    sig = infer(np.zeros((7, 3, 2), dtype="float32"))
    assert sig == Signature("ndarray", dtype="float32", shape=(None, 3, 2), missing=False)
    assert sig.describe() == "ndarray[float32, (*, 3, 2)]"


def test_scalars_lists_and_dicts() -> None:
    assert infer(1.5) == Signature("scalar", dtype="float")
    assert infer(True) == Signature("scalar", dtype="bool")
    assert infer("text") == Signature("scalar", dtype="str")
    assert infer([1, 2.5]).describe() == "list[float]"
    assert infer(["a", "b"]).describe() == "list[str]"
    assert infer({"x": 1, "y": [1.0]}).describe() == "dict{x: int, y: list[float]}"
    assert infer(object()).kind == "unknown"


def test_missing_and_extra_columns_are_named() -> None:
    sig = infer(frame())
    with pytest.raises(SignatureError, match=r"missing column 'city' \(the model takes 'age'"):
        validate(sig, frame().drop(columns="city"))
    with pytest.raises(SignatureError, match=r"missing columns 'age', 'city'"):
        validate(sig, frame().drop(columns=["age", "city"]))
    with pytest.raises(SignatureError, match=r"unexpected column 'zip'.*drop it first"):
        validate(sig, frame().assign(zip=1))


def test_wrong_dtype_names_the_column() -> None:
    sig = infer(frame())
    bad = frame().assign(age=["old", "young"])
    with pytest.raises(
        SignatureError, match=r"column 'age' has dtype \w+, the model expects int64"
    ):
        validate(sig, bad)


def test_signature_error_is_invalid_input_with_exit_code_2() -> None:
    with pytest.raises(InvalidInput) as info:
        validate(infer(frame()), np.zeros((2, 3)))
    assert info.value.exit_code == 2
    assert "expected a pandas DataFrame with columns 'age', 'city', 'income'" in str(info.value)


def test_columns_are_reordered_and_ints_cast_to_float() -> None:
    sig = infer(frame())
    shuffled = pd.DataFrame({"income": [3, 4], "city": ["c", "d"], "age": [1, 2]})
    out = validate(sig, shuffled)
    assert list(out.columns) == ["age", "city", "income"]
    assert str(out.dtypes["income"]) == "float64"
    assert str(shuffled.dtypes["income"]) == "int64"  # the caller's frame is not changed


def test_records_and_column_dicts_become_frames() -> None:
    sig = infer(frame())
    out = validate(sig, [{"age": 1, "city": "x", "income": 2.0}])
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["age", "city", "income"]


def test_ndarray_shape_and_dtype_errors() -> None:
    sig = infer(np.zeros((5, 4)))
    with pytest.raises(SignatureError, match=r"dimension 1 is 3, the model expects 4"):
        validate(sig, np.zeros((2, 3)))
    with pytest.raises(SignatureError, match=r"has 1 dimensions, the model expects 2"):
        validate(sig, np.zeros(4))
    with pytest.raises(SignatureError, match=r"dtype <U1, the model expects float64"):
        validate(sig, np.array([["a"] * 4]))
    # lists convert; int arrays widen safely
    assert validate(sig, [[1, 2, 3, 4]]).dtype == np.float64
    assert validate(sig, np.ones((1, 4), dtype="int32")).dtype == np.float64
    narrow = infer(np.zeros((1, 2), dtype="float32"))
    with pytest.raises(SignatureError, match="dtype float64, the model expects float32"):
        validate(narrow, np.zeros((1, 2)))


def test_dict_and_list_errors_carry_the_path() -> None:
    sig = infer({"ids": [1, 2], "name": "x"})
    with pytest.raises(SignatureError, match=r"input\['ids'\]\[1\]: expected int, got str"):
        validate(sig, {"ids": [1, "two"], "name": "y"})
    with pytest.raises(SignatureError, match=r"missing key 'name'"):
        validate(sig, {"ids": [1]})
    with pytest.raises(SignatureError, match=r"unexpected key 'extra'"):
        validate(sig, {"ids": [1], "name": "y", "extra": 0})
    assert validate(infer([1.0]), [1, 2]) == [1.0, 2.0]


def test_unknown_accepts_anything() -> None:
    thing = object()
    assert validate(Signature(), thing) is thing
    assert Signature.from_dict(None) == Signature()


def test_from_dict_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown signature kind"):
        Signature.from_dict({"kind": "table"})


# -- properties ------------------------------------------------------------------------------

scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=5),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3),
    ),
    max_leaves=10,
)
arrays = hnp.arrays(
    dtype=st.sampled_from(["int64", "float32", "float64", "bool"]),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
)


@given(values)
@settings(max_examples=150, deadline=None)
def test_a_sample_satisfies_its_own_signature(value: object) -> None:
    sig = infer(value)
    assert Signature.from_dict(sig.to_dict()) == sig
    if value == []:  # an empty batch is refused, whatever the signature
        with pytest.raises(SignatureError, match="empty input: no rows"):
            validate(sig, value)
        return
    validate(sig, value)


@given(arrays)
@settings(max_examples=80, deadline=None)
def test_arrays_round_trip_and_validate_unchanged(array: np.ndarray) -> None:
    sig = infer(array)
    assert Signature.from_dict(sig.to_dict()) == sig
    out = validate(sig, array)
    assert out.dtype == array.dtype and out.shape == array.shape


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
@settings(max_examples=40, deadline=None)
def test_any_missing_column_is_named(drop: list[str]) -> None:
    full = pd.DataFrame({c: [1.0] for c in "abcd"})
    sig = infer(full)
    if len(drop) == 4:
        drop = drop[:3]
    with pytest.raises(SignatureError) as info:
        validate(sig, full.drop(columns=drop))
    for column in drop:
        assert repr(column) in str(info.value)
