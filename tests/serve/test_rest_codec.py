"""The REST codec's records fast path gives what the general path gives: the same frame (values,
dtypes, columns in order) or the same error, for any records and any numeric signature."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landmark.errors import LandmarkError
from landmark.models.signature import Column, Signature, validate
from landmark.serve import codec

pd = pytest.importorskip("pandas")

NAMES = ["tenure", "charges", "age", "calls"]
DTYPES = ["float64", "float32", "int64", "int32", "int8", "uint8", "bool", "int", "f8"]


def general(doc: Any, sig: Signature) -> Any:
    """What the general path answers: the frame, or the error (type and message)."""
    try:
        return validate(sig, codec._dataframe(doc, sig))
    except LandmarkError as e:
        return (type(e), str(e))


def answered(doc: Any, sig: Signature) -> Any:
    try:
        return codec.to_input(doc, sig)
    except LandmarkError as e:
        return (type(e), str(e))


def same(a: Any, b: Any) -> None:
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert isinstance(a, tuple)
        assert isinstance(b, tuple)
        assert a == b
        return
    assert [str(c) for c in a.columns] == [str(c) for c in b.columns]
    assert [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes]
    pd.testing.assert_frame_equal(a, b, check_column_type=False)


signatures = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.sampled_from(DTYPES),
        st.sampled_from([True, False, None]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda c: c[0],
).map(lambda cols: Signature("dataframe", columns=tuple(Column(*c) for c in cols)))

values = st.one_of(
    st.integers(-(2**66), 2**66),
    st.integers(-300, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e3, 1e3),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)


@st.composite
def requests(draw: Any) -> tuple[Any, Signature]:
    sig = draw(signatures)
    names = [c.name for c in sig.columns]
    kinds = {c.name: draw(st.sampled_from(["int", "float", "bool", "any"])) for c in sig.columns}
    by_kind = {
        "int": st.integers(-(2**65), 2**65) | st.integers(-2, 300),
        "float": st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5),
        "bool": st.booleans(),
        "any": values,
    }
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        row = {n: draw(by_kind[kinds[n]]) for n in names}
        if draw(st.integers(0, 9)) == 0:
            row.pop(draw(st.sampled_from(names)))
        if draw(st.integers(0, 9)) == 0:
            row["extra"] = 1
        rows.append(row)
    # what a request body would hold (Python's json reads NaN and Infinity too)
    return json.loads(json.dumps(rows)), sig


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_records_fast_path_answers_as_the_general_path(request: tuple[Any, Signature]) -> None:
    doc, sig = request
    same(answered(doc, sig), general(doc, sig))


def test_the_fast_path_is_taken_and_checked_frames_skip_validation() -> None:
    sig = Signature("dataframe", columns=(Column("a", "float64", False), Column("b", "int64")))
    doc = [{"a": 1.5, "b": 2}, {"a": 3, "b": -1}]
    fast = codec._records_fast(doc, sig)
    assert fast is not None
    frame, checked = fast
    assert checked
    assert codec.to_input(doc, sig) is not frame  # a new frame each call...
    same(codec.to_input(doc, sig), general(doc, sig))  # ...equal to the general path's
    same(codec.to_input(doc, sig), validate(sig, frame))


@pytest.mark.parametrize(
    ("dtype", "value"),
    [("uint8", 300), ("int8", -129), ("int64", 2**63), ("int32", 2**31), ("uint8", -1)],
)
def test_integers_out_of_a_columns_range_are_refused_not_wrapped(dtype: str, value: int) -> None:
    sig = Signature("dataframe", columns=(Column("a", dtype),))
    with pytest.raises(LandmarkError, match=r"\"a\"|'a'"):
        codec.to_input([{"a": value}], sig)
    with pytest.raises(LandmarkError, match=r"\"a\"|'a'"):
        codec.to_input({"a": [value]}, sig)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64"])
def test_integers_within_a_narrow_columns_range_are_read_in_every_layout(dtype: str) -> None:
    sig = Signature("dataframe", columns=(Column("a", dtype), Column("b", "float64")))
    records = codec.to_input([{"a": 7, "b": 1.0}, {"a": 0, "b": 2}], sig)
    columns = codec.to_input({"a": [7, 0], "b": [1.0, 2]}, sig)
    split = codec.to_input(
        {"dataframe_split": {"columns": ["a", "b"], "data": [[7, 1.0], [0, 2]]}}, sig
    )
    for frame in (records, columns, split):
        assert str(frame["a"].dtype) == dtype
        assert frame["a"].tolist() == [7, 0]
    same(records, columns)
    same(records, split)


def test_nan_where_the_sample_had_none_is_refused_by_name() -> None:
    sig = Signature("dataframe", columns=(Column("a", "float64", False), Column("b", "float64")))
    doc = json.loads('[{"a": NaN, "b": 1.0}]')
    assert codec._records_fast(doc, sig) is None
    with pytest.raises(LandmarkError, match="'a'"):
        codec.to_input(doc, sig)
    allowed = json.loads('[{"a": 1.0, "b": NaN}]')
    assert codec._records_fast(allowed, sig) is not None
    same(codec.to_input(allowed, sig), general(allowed, sig))
