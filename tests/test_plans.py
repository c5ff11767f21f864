"""Write plans: pure rules property-tested on in-memory states, and ``--dry-run`` end to end."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import landmark
from landmark import events, plans
from landmark.config import Config
from landmark.errors import Conflict, LandmarkError
from landmark.records import RawTag
from landmark.state import ArtifactState, VersionState, fold

from .conftest import Cli, GitRepo

NAME = "churn"
COMMITS = [c * 40 for c in "abc"]
STAGES = ["dev", "prod"]
VERSIONS = ["v0.0.1", "v0.0.2", "v1.0.0"]


# -- the pure planner on an in-memory registry --------------------------------------------
@dataclass
class Memory:
    """A registry as a list of raw tags; tags are applied the way git would store them."""

    config: Config
    tags: dict[str, RawTag] = field(default_factory=dict)
    clock: int = 1_700_000_000

    def artifact(self) -> ArtifactState | None:
        return fold(self.tags.values()).artifact(NAME)

    def apply(self, plan: plans.Plan) -> None:
        self.clock += 10
        for t in plan.create:
            assert t.name not in self.tags, f"{t.name} exists already"
            assert events.parse(t.name) == t.event
            date = f"{self.clock} +0000"
            self.tags[t.name] = RawTag(
                t.name, True, t.commit, "commit", "Ada", "a@x", date, t.message
            )
        for name in plan.delete:
            assert name in self.tags, f"{name} does not exist"
            del self.tags[name]


commit_st = st.sampled_from(COMMITS)
version_st = st.one_of(st.none(), st.sampled_from(VERSIONS))
stage_st = st.sampled_from(STAGES)
simple_st = st.one_of(st.none(), st.booleans())


def _by_ref(draw: st.DrawFn) -> tuple[str | None, str | None]:
    """(version, commit): exactly one of them, as the CLI's VERSION or --ref give them."""
    if draw(st.booleans()):
        return draw(st.sampled_from(VERSIONS)), None
    return None, draw(commit_st)


@st.composite
def requests(draw: st.DrawFn) -> plans.Request:
    kind = draw(st.sampled_from(["register", "assign", "unassign", "deregister", "deprecate"]))
    force = draw(st.booleans())
    message = draw(st.one_of(st.none(), st.just("custom message")))
    if kind == "register":
        bump = draw(st.one_of(st.none(), st.sampled_from(plans.BUMPS)))
        version = None if bump else draw(version_st)
        return plans.Register(
            NAME, draw(commit_st), "REF", version, bump, message, draw(simple_st), force
        )
    if kind == "assign":
        version, commit = _by_ref(draw)
        skip = commit is not None and draw(st.booleans())
        name_version = draw(version_st) if commit is not None and not skip else None
        return plans.Assign(
            NAME, draw(stage_st), commit, "REF" if commit else None, version, name_version,
            message, draw(st.booleans()), force, skip,
        )  # fmt: skip
    if kind == "unassign":
        version, commit = _by_ref(draw)
        return plans.Unassign(
            NAME, draw(stage_st), commit, "REF" if commit else None, version, message,
            draw(st.booleans()), force, draw(st.booleans()),
        )  # fmt: skip
    if kind == "deregister":
        version, commit = _by_ref(draw)
        return plans.Deregister(
            NAME, commit, "REF" if commit else None, version, message, draw(simple_st), force,
            draw(st.booleans()),
        )  # fmt: skip
    ref = draw(st.one_of(st.none(), commit_st))
    simple = draw(simple_st)
    return plans.Deprecate(
        NAME, ref, "REF" if ref else None, COMMITS[0], message, simple, force, draw(st.booleans())
    )


def _versions(art: ArtifactState | None, version: str | None, commit: str) -> list[VersionState]:
    return [v for v in (art.find_versions(version=version, commit=commit) if art else [])]


def _check_promise(
    before: ArtifactState | None, plan: plans.Plan, after: ArtifactState | None
) -> None:
    """The state the applied tags fold into is the one the plan promised."""
    if plan.action == "register":
        [tag] = plan.create
        [v] = [v for v in _versions(after, plan.version, tag.commit) if not v.discovered]
        assert v.registered and v.active
        assert after is not None and after.active  # registering revives a deprecated artifact
    elif plan.action == "assign":
        tag = plan.create[-1]
        assert plan.stage is not None
        [v] = _versions(after, plan.version, tag.commit)
        held = v.stage(plan.stage)
        assert held is not None and held.active
        if len(plan.create) == 2:  # registered on the way
            assert v.registered and v.active
    elif plan.action == "unassign":
        assert plan.stage is not None
        commit = plan.create[0].commit if plan.create else None
        for v in after.versions if after else ():
            if v.version == plan.version and (commit is None or v.commit == commit):
                held = v.stage(plan.stage)
                assert held is None or not held.active
                if plan.delete:
                    assert held is None
    elif plan.action == "deregister":
        for v in after.versions if after else ():
            if v.version == plan.version and not v.discovered:
                assert not v.active
                assert not plan.delete, "a deleted version leaves no trace"
    else:
        assert plan.action == "deprecate"
        if plan.delete:
            assert after is None
        else:
            assert after is not None and not after.active
    # Counted tags continue the artifact's one counter.
    counter = before.counter() if before else 0
    for t in plan.create:
        if t.event.counter is not None:
            assert t.event.counter == counter + 1
            counter += 1


configs = st.sampled_from([Config(), Config(stages=("dev", "prod"), stage_order=("dev", "prod"))])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, st.lists(requests(), min_size=1, max_size=25))
def test_applied_plans_give_the_promised_state(config: Config, reqs: list[plans.Request]) -> None:
    memory = Memory(config)
    for request in reqs:
        before = memory.artifact()
        existing = set(memory.tags)
        try:
            plan = plans.plan(before, request, config)
        except LandmarkError:
            assert set(memory.tags) == existing
            continue
        assert plan.create or plan.delete
        assert not ({t.name for t in plan.create} & existing), "a plan never recreates a tag"
        memory.apply(plan)
        _check_promise(before, plan, memory.artifact())


@given(st.lists(requests(), min_size=1, max_size=10), st.sampled_from(["v0.0.1", "v0.0.1!"]))
def test_taken_names_are_never_planned(reqs: list[plans.Request], suffix: str) -> None:
    """A look-alike that is not an event (e.g. a lightweight tag) still blocks its name."""
    taken = {f"{NAME}@{suffix}"}
    memory = Memory(Config())
    for request in reqs:
        try:
            plan = plans.plan(memory.artifact(), request, memory.config, taken)
        except LandmarkError:
            continue
        assert not ({t.name for t in plan.create} & (taken | set(memory.tags)))
        memory.apply(plan)


def test_an_existing_simple_tag_is_a_clear_conflict() -> None:
    memory = Memory(Config())
    for request in [
        plans.Register(NAME, COMMITS[0], version="v0.0.1"),
        plans.Deregister(NAME, version="v0.0.1"),
    ]:
        memory.apply(plans.plan(memory.artifact(), request))
    again = plans.Register(NAME, COMMITS[0], version="v0.0.1")
    with pytest.raises(Conflict, match="pass --simple false"):
        plans.plan(memory.artifact(), again)
    counted = plans.plan(
        memory.artifact(), plans.Register(NAME, COMMITS[0], version="v0.0.1", simple=False)
    )
    assert [t.name for t in counted.create] == ["churn@v0.0.1#1"]


def test_an_unresolved_ref_is_raised_only_where_needed() -> None:
    from landmark.errors import InvalidInput, NotFound

    missing = NotFound("unknown git ref 'nope'")
    # A bad version is reported first, as before the planner existed ...
    with pytest.raises(InvalidInput):
        plans.plan(None, plans.Register(NAME, missing, "nope", version="1.0"))
    # ... and the ref's error where its commit is needed.
    with pytest.raises(NotFound, match="nope"):
        plans.plan(None, plans.Register(NAME, missing, "nope"))
    # Deprecation needs no commit when the artifact has events, and says so when it has none.
    with pytest.raises(NotFound, match="not found"):
        plans.plan(None, plans.Deprecate(NAME, head=None))
    with pytest.raises(NotFound, match="no commits"):
        plans.plan(None, plans.Deprecate(NAME, head=None, force=True))


# -- --dry-run end to end -----------------------------------------------------------------
def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line]


def test_dry_run_prints_the_exact_tags_and_writes_nothing(lm: Cli, repo: GitRepo) -> None:
    sha = repo.git("rev-parse", "HEAD")
    r = lm("register", "churn", "--dry-run")
    assert _lines(r.stdout) == [
        f"would create tag churn@v0.0.1 -> {sha[:7]} "
        "(message: Registering artifact churn version v0.0.1)"
    ]
    assert repo.tags() == []
    r = lm("assign", "churn", "--stage", "prod", "--dry-run")  # registers HEAD on the way
    assert _lines(r.stdout) == [
        f"would create tag churn@v0.0.1 -> {sha[:7]} "
        "(message: Registering artifact churn version v0.0.1)",
        f"would create tag churn#prod#1 -> {sha[:7]} "
        "(message: Assigning stage prod to artifact churn version v0.0.1)",
    ]
    assert repo.tags() == []
    lm("assign", "churn", "--stage", "prod")
    assert repo.tags() == ["churn#prod#1", "churn@v0.0.1"]
    cases = {
        ("unassign", "churn", "v0.0.1", "--stage", "prod", "-m", "two\nlines"): [
            f"would create tag churn#prod!#2 -> {sha[:7]} (message: two\\nlines)"
        ],
        ("unassign", "churn", "v0.0.1", "--stage", "prod", "--delete"): [
            "would delete tag churn#prod#1"
        ],
        ("deregister", "churn", "v0.0.1"): [
            f"would create tag churn@v0.0.1! -> {sha[:7]} "
            "(message: Deregistering artifact churn version v0.0.1)"
        ],
        ("deregister", "churn", "--ref", "HEAD", "--delete"): [
            "would delete tag churn@v0.0.1",
            "would delete tag churn#prod#1",
        ],
        ("deprecate", "churn"): [
            f"would create tag churn@deprecated -> {sha[:7]} "
            "(message: Deprecating artifact 'churn')"
        ],
        ("deprecate", "churn", "v0.0.1", "prod", "--delete", "--push"): [
            "would delete tag churn#prod#1"
        ],
        ("deprecate", "churn", "--delete"): [
            "would delete tag churn@v0.0.1",
            "would delete tag churn#prod#1",
        ],
    }
    for args, expected in cases.items():
        r = lm(*args, "--dry-run")
        assert _lines(r.stdout) == expected, args
        assert repo.tags() == ["churn#prod#1", "churn@v0.0.1"], args


def test_dry_run_errors_are_the_real_errors(lm: Cli, repo: GitRepo) -> None:
    lm("register", "churn")
    for args in [
        ("register", "churn"),
        ("assign", "churn", "--version", "v9.9.9", "--stage", "prod"),
        ("unassign", "churn", "v0.0.1", "--stage", "prod"),
        ("deregister", "ghost", "v0.0.1"),
        ("register", "churn", "nope-ref"),
    ]:
        real = lm(*args, ok=False)
        dry = lm(*args, "--dry-run", ok=False)
        assert (dry.exit_code, dry.output) == (real.exit_code, real.output), args
    assert repo.tags() == ["churn@v0.0.1"]


def test_a_plan_is_what_gets_written(lm: Cli, repo: GitRepo) -> None:
    steps = [
        ("register", "churn"),
        ("register", "churn", "--bump-minor", "--force"),
        ("assign", "churn", "--version", "v0.1.0", "--stage", "dev"),
        ("assign", "churn", "--version", "v0.1.0", "--stage", "dev", "--force", "-m", "again"),
        ("unassign", "churn", "v0.1.0", "--stage", "dev"),
        ("deregister", "churn", "v0.0.1", "--simple", "false"),
        ("deprecate", "churn", "--force"),
    ]
    for args in steps:
        before = set(repo.tags())
        planned = [line.split()[3] for line in _lines(lm(*args, "--dry-run").stdout)]
        lm(*args)
        assert sorted(set(repo.tags()) - before) == sorted(planned), args


def test_python_dry_run_returns_the_plan(repo: GitRepo) -> None:
    sha = repo.git("rev-parse", "HEAD")
    plan = landmark.register("churn", repo=repo.path, dry_run=True)
    assert isinstance(plan, plans.Plan)
    assert (plan.action, plan.artifact, plan.version) == ("register", "churn", "v0.0.1")
    [tag] = plan.create
    assert (tag.name, tag.commit) == ("churn@v0.0.1", sha)
    assert tag.message == "Registering artifact churn version v0.0.1"
    assert repo.tags() == []
    reg = landmark.Registry(repo.path)
    plan = reg.assign("churn", "prod", dry_run=True)
    assert [t.name for t in plan.create] == ["churn@v0.0.1", "churn#prod#1"]
    assert (plan.version, plan.stage) == ("v0.0.1", "prod")
    assert repo.tags() == []
    landmark.assign("churn", "prod", repo=repo.path)
    plan = landmark.deprecate("churn", repo=repo.path, delete=True, dry_run=True)
    assert plan.delete == ("churn@v0.0.1", "churn#prod#1") and plan.create == ()
    assert repo.tags() == ["churn#prod#1", "churn@v0.0.1"]


def test_assign_that_fails_after_registering_writes_nothing(lm: Cli, repo: GitRepo) -> None:
    """Registering on the way and assigning are one plan: a rule that refuses the assignment
    leaves no registration behind."""
    repo.commit({".landmark.yaml": "stage_order: [dev, prod]\n"})
    r = lm("assign", "churn", "--stage", "prod", ok=False)
    assert r.exit_code == 4 and "comes after 'dev'" in r.output
    assert repo.tags() == []
    assert json.loads(lm("show", "--json").stdout) == {}
