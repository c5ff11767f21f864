"""Pure domain: names, versions, the tag grammar (round trips are property-tested)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landmark import events, names
from landmark.errors import InvalidInput
from landmark.events import Kind, TagName
from landmark.versions import Version

alnum = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
inner = st.text(alphabet="abcxyzXYZ0189-_/", max_size=8)
name_st = st.builds(
    lambda a, mid, b: a + mid + b if mid or b else a, alnum, inner, st.one_of(st.just(""), alnum)
).filter(names.is_valid_name)
folder_st = st.lists(
    st.text(alphabet="abcdef0123_-", min_size=1, max_size=5), min_size=1, max_size=3
).map("/".join)
artifact_st = st.one_of(name_st, st.builds(lambda f, n: f"{f}:{n}", folder_st, name_st))
num = st.integers(min_value=0, max_value=10_000)
pre_id = st.one_of(
    num.map(str),
    st.text(alphabet="abcrcZ-", min_size=1, max_size=5).filter(lambda s: not s.isdigit()),
)
version_st = st.builds(
    lambda a, b, c, pre, build: Version(a, b, c, tuple(pre), build),
    num,
    num,
    num,
    st.lists(pre_id, max_size=3),
    st.one_of(st.just(""), st.text(alphabet="abc019-", min_size=1, max_size=6)),
)


@given(
    artifact_st,
    version_st,
    name_st,
    st.sampled_from(list(Kind)),
    st.one_of(st.none(), st.integers(1, 10**6)),
)
def test_tag_round_trip(
    artifact: str, version: Version, stage: str, kind: Kind, counter: int | None
) -> None:
    tag = TagName(
        kind,
        artifact,
        version=str(version) if kind in (Kind.REGISTRATION, Kind.DEREGISTRATION) else None,
        stage=stage if kind in (Kind.ASSIGNMENT, Kind.UNASSIGNMENT) else None,
        counter=counter,
    )
    assert events.parse(tag.format()) == tag


@given(version_st)
def test_version_round_trip(v: Version) -> None:
    assert Version.parse(str(v)) == v
    assert str(Version.parse(str(v))) == str(v)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("churn@v1.2.3", TagName(Kind.REGISTRATION, "churn", version="v1.2.3")),
        ("churn@v1.2.3#4", TagName(Kind.REGISTRATION, "churn", version="v1.2.3", counter=4)),
        ("churn@v1.2.3!", TagName(Kind.DEREGISTRATION, "churn", version="v1.2.3")),
        ("churn@v1.2.3!#7", TagName(Kind.DEREGISTRATION, "churn", version="v1.2.3", counter=7)),
        ("churn#prod", TagName(Kind.ASSIGNMENT, "churn", stage="prod")),
        ("churn#prod#3", TagName(Kind.ASSIGNMENT, "churn", stage="prod", counter=3)),
        ("churn#prod!", TagName(Kind.UNASSIGNMENT, "churn", stage="prod")),
        ("churn#prod!#9", TagName(Kind.UNASSIGNMENT, "churn", stage="prod", counter=9)),
        ("churn@deprecated", TagName(Kind.DEPRECATION, "churn")),
        ("churn@deprecated#2", TagName(Kind.DEPRECATION, "churn", counter=2)),
        (
            "dir/sub=model@v3.4.5-pre.2+build.4",
            TagName(Kind.REGISTRATION, "dir/sub:model", version="v3.4.5-pre.2+build.4"),
        ),
    ],
)
def test_parse_examples(tag: str, expected: TagName) -> None:
    assert events.parse(tag) == expected
    assert expected.format() == tag


@pytest.mark.parametrize(
    "tag",
    [
        "v1.0.0",
        "churn@1.2.3",
        "churn@v1",
        "churn@v1.2",
        "churn@created",
        "churn",
        "-x@v1.0.0",
        "churn#",
        "a b@v1.0.0",
        "churn@v01.0.0",
    ],
)
def test_not_registry_tags(tag: str) -> None:
    assert events.parse(tag) is None


def test_semver_precedence() -> None:
    order = [
        "v1.0.0-alpha",
        "v1.0.0-alpha.1",
        "v1.0.0-alpha.beta",
        "v1.0.0-beta",
        "v1.0.0-beta.2",
        "v1.0.0-beta.11",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.0.1",
        "v1.10.0",
        "v2.0.0",
    ]
    parsed = [Version.parse(v) for v in order]
    assert sorted(reversed(parsed)) == parsed
    assert Version.parse("v1.0.0+a") == Version.parse("v1.0.0+b")


def test_version_input_forms() -> None:
    assert str(Version.from_user("1.2.3")) == "v1.2.3"
    assert str(Version.from_user("v1.2.3-rc.1")) == "v1.2.3-rc.1"
    for bad in ["v1", "1.2", "version", "v1.2.3.4", "V1.2.3", ""]:
        with pytest.raises(InvalidInput, match="invalid version"):
            Version.from_user(bad)


def test_bumps() -> None:
    v = Version.parse("v1.2.3-rc.1")
    assert str(v.bump("patch")) == "v1.2.4"
    assert str(v.bump("minor")) == "v1.3.0"
    assert str(v.bump("major")) == "v2.0.0"


def test_names() -> None:
    assert names.is_valid_artifact("dir/sub:model")
    assert names.to_tag("dir/sub:model") == "dir/sub=model"
    assert names.from_tag("dir/sub=model") == "dir/sub:model"
    assert names.split("dir/sub:model") == ("dir/sub", "model")
    assert names.join("dir/sub", "model") == "dir/sub:model"
    assert names.join("", "model") == "model"
    for bad in ["-a", "a-", "a b", "a@b", "a#b", "", "a:b:c"]:
        assert not names.is_valid_artifact(bad), bad


def test_shortcuts() -> None:
    assert names.parse_shortcut("churn@latest").latest
    assert names.parse_shortcut("churn@greatest").latest
    assert names.parse_shortcut("churn@1.0.0").version == "v1.0.0"
    assert names.parse_shortcut("churn#prod").stage == "prod"
    assert not names.parse_shortcut("churn").is_shortcut
    with pytest.raises(InvalidInput):
        names.parse_shortcut("churn@nope")


def test_message_version() -> None:
    msg = "Assigning stage prod to artifact churn version v1.0.0"
    assert events.version_in_message(msg) == "v1.0.0"
    assert (
        events.version_in_message("Unassigning stage 'prod' to artifact 'c' version 'v1.0.0-rc.1'")
        == "v1.0.0-rc.1"
    )
    assert events.version_in_message("no version here") is None
