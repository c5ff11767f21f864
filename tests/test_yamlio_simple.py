"""yamlio.load_simple's fast path gives exactly what the YAML loader gives, or steps aside."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landmark import yamlio
from landmark.errors import ConfigError


def canon(value: Any) -> Any:
    """Values with their types: True and 1, 1 and 1.0 must not compare equal here."""
    if isinstance(value, dict):
        return ("dict", [(canon(k), canon(v)) for k, v in value.items()])
    return (type(value).__name__, value)


def loader(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-/]{0,8}", fullmatch=True)
scalars = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.4f}"),
    st.floats(1e-9, 1e9).map(lambda f: f"{f:.3e}"),
    st.sampled_from(["true", "False", "NULL", "~", "null", "yes", "off", "a b", "x/y.z", "on"]),
    st.from_regex(r"[A-Za-z_/][A-Za-z0-9_.\-/]{0,6}( [a-z0-9]{1,3})?", fullmatch=True),
)
docs: st.SearchStrategy[Any] = st.recursive(
    st.dictionaries(keys, scalars, min_size=1, max_size=4),
    lambda children: st.dictionaries(keys, st.one_of(scalars, children), min_size=1, max_size=4),
    max_leaves=12,
)


def render(doc: dict[str, Any], indent: int, depth: int = 0) -> str:
    out = []
    for k, v in doc.items():
        pad = " " * (indent * depth)
        if isinstance(v, dict):
            out.append(f"{pad}{k}:\n{render(v, indent, depth + 1)}")
        else:
            out.append(f"{pad}{k}: {v}\n")
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(docs, st.sampled_from([2, 4]), st.booleans())
def test_plain_documents_take_the_fast_path_and_agree(
    doc: Any, indent: int, comments: bool
) -> None:
    text = render(doc, indent)
    if comments:
        text = "# params\n\n" + text.replace("\n", "\n\n", 1)
    if any(k in yamlio._SPECIAL for k in _all_keys(doc)):
        return  # such keys are not strings to the loader; the fast path refuses them
    try:
        fast = yamlio._simple(text)
    except yamlio._NotSimple:
        # Only scalars outside the subset (exponents without a dot, words like 'a b' are in)
        # may send a generated document to the loader.
        assert _has_unusual_scalar(doc), text
        return
    assert canon(fast) == canon(loader(text))


def _all_keys(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return []
    return [k for k in doc] + [x for v in doc.values() for x in _all_keys(v)]


def _has_unusual_scalar(doc: Any) -> bool:
    for v in doc.values():
        if isinstance(v, dict):
            if _has_unusual_scalar(v):
                return True
        else:
            try:
                yamlio._scalar(v)
            except yamlio._NotSimple:
                return True
    return False


fragments = st.lists(
    st.sampled_from(
        [
            "a", "b", "lr", "x_1", "true", "1", "0.5", "-3", "1e3", ".5", "007", "2001-12-14",
            ":", ": ", "  ", " ", "#", " # c", "- ", "[1, 2]", "{a: 1}", "'q'", '"q"', "&x",
            "*x", "!!str", "|", ">", "\n", "\n  ", "~", "null", "yes", "x y", "a/b", "--- ",
            "0x1F", "1_0", "+1", "3.", "\t", ",", "?", "%", "@",
        ]
    ),
    max_size=30,
)  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(fragments)
def test_any_text_the_fast_path_takes_is_read_as_the_loader_reads_it(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        fast = yamlio._simple(text)
    except yamlio._NotSimple:
        return
    try:
        slow = loader(text)
    except Exception as e:  # the loader's many error classes
        pytest.fail(f"the fast path read {text!r}, which the loader refuses ({e})")
    assert canon(fast) == canon(slow), text


def test_load_simple_falls_back_with_the_loaders_errors() -> None:
    assert yamlio.load_simple(b"a: [1, 2]\nb: 'x'\n", "p.yaml") == {"a": [1, 2], "b": "x"}
    assert yamlio.load_simple(b"a:\n", "p.yaml") == {"a": None}
    with pytest.raises(ConfigError, match=r"p\.yaml"):
        yamlio.load_simple(b"a: 1\na: 2\n", "p.yaml")
    with pytest.raises(ConfigError, match=r"p\.yaml"):
        yamlio.load_simple(b"a: [1\n", "p.yaml")
    assert yamlio.load_simple("name: café\n".encode(), "p.yaml") == {"name": "café"}
