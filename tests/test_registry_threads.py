"""One Registry shared by threads and kept alive: consistent snapshots, new tags seen."""

from __future__ import annotations

import gc
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

import landmark
from landmark.errors import InvalidInput
from landmark.state import RegistryState

from .conftest import GitRepo

WRITES = 6


def check_snapshot(state: RegistryState) -> int:
    """Every event of the snapshot sits in exactly one place of its artifacts, and every
    stage belongs to the version that holds it. Returns the number of events."""
    placed: list[str] = []
    for name, art in state.artifacts.items():
        assert art.name == name
        placed += [e.tag for e in art.deprecations]
        for v in art.versions:
            assert v.artifact == name
            placed += [e.tag for e in v.events]
            for s in v.stages:
                assert (s.artifact, s.version, s.commit) == (name, v.version, v.commit)
                placed += [e.tag for e in s.events]
    assert sorted(placed) == sorted(e.tag for e in state.events)
    return len(state.events)


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The cyclic GC on, as in a server (an in-process CLI run before may have left it off)."""
    was_on = gc.isenabled()
    gc.enable()
    yield
    if not was_on:
        gc.disable()


def test_readers_and_a_writer_share_one_registry(repo: GitRepo, collector_on: None) -> None:
    commits = [repo.commit() for _ in range(WRITES)]
    hand = repo.commit()  # a commit for tags made by plain git, outside the Registry
    shared = landmark.Registry(repo.path, refresh_interval=0)
    slow = landmark.Registry(repo.path, refresh_interval=3600)
    shared.register("churn", commits[0], version="v0.0.1")
    first = slow.state()
    assert first.artifact("churn") is not None
    done = threading.Event()
    failures: list[BaseException] = []
    snapshots: dict[int, tuple[RegistryState, int]] = {}
    lock = threading.Lock()

    def reader() -> None:
        seen: set[str] = set()
        try:
            while not done.is_set():
                assert gc.isenabled()  # nothing switches the collector off meanwhile
                state = shared.state()
                count = check_snapshot(state)
                tags = {e.tag for e in state.events}
                assert seen <= tags  # nothing read before is lost: only new tags appear
                seen = tags
                with lock:
                    snapshots.setdefault(id(state), (state, count))
                for v in shared.find("churn#dev"):
                    assert "dev" in {s.stage for s in v.stages}
                assert shared.artifact("churn").versions
                assert slow.state() is first  # its interval has not passed
        except BaseException as e:  # reported by the main thread
            failures.append(e)

    def writer() -> None:
        try:
            for i, sha in enumerate(commits[1:], start=1):
                shared.register("churn", sha, version=f"v0.{i}.0")
                shared.assign("churn", "dev", version=f"v0.{i}.0")
                repo.git("tag", "-a", "-m", f"by hand {i}", f"fraud@v1.{i}.0", hand)
        except BaseException as e:  # reported by the main thread
            failures.append(e)
        finally:
            done.set()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert len(snapshots) > 1  # the readers did see the registry change
    for state, count in snapshots.values():  # snapshots are never changed once handed out
        assert check_snapshot(state) == count

    # The shared Registry sees everything, the writes and the tags git made by hand.
    final = shared.state()
    churn = final.artifact("churn")
    assert churn is not None and len(churn.get_versions()) == WRITES
    staged = {v.version for v in churn.get_versions() if any(s.stage == "dev" for s in v.stages)}
    assert staged == {f"v0.{i}.0" for i in range(1, WRITES)}
    fraud = final.artifact("fraud")
    assert fraud is not None and len(fraud.get_versions()) == WRITES - 1
    assert shared.state() is final  # nothing changed: the same snapshot

    # The slow one keeps its snapshot until asked, then reads it all again.
    assert slow.state() is first and first.artifact("fraud") is None
    slow.refresh()
    again = slow.state()
    assert again is not first
    assert {e.tag for e in again.events} == {e.tag for e in final.events}


def test_new_tags_are_seen_after_the_interval(repo: GitRepo) -> None:
    reg = landmark.Registry(repo.path, refresh_interval=1.0)
    reg.register("churn")
    before = reg.state()
    assert reg.state() is before
    # A tag made by another process; within the interval the snapshot is kept.
    subprocess.run(
        ["git", "tag", "-a", "-m", "Registering artifact fraud version v1.0.0", "fraud@v1.0.0"],
        cwd=repo.path,
        check=True,
    )
    assert reg.state() is before
    time.sleep(1.05)
    after = reg.state()
    assert after is not before and after.artifact("fraud") is not None
    # A new commit with an annotation is seen too: HEAD is part of the stamp.
    repo.commit({"dvc.yaml": "artifacts:\n  spam:\n    type: model\n    path: m.pkl\n"})
    time.sleep(1.05)
    assert reg.state().artifact("spam") is not None


def test_writes_are_seen_at_once_and_plan_from_current_tags(repo: GitRepo) -> None:
    reg = landmark.Registry(repo.path, refresh_interval=3600)
    other = landmark.Registry(repo.path, refresh_interval=3600)
    reg.register("churn")
    assert reg.state().artifact("churn") is not None  # its own write: no refresh needed
    assert other.state().artifact("churn") is not None
    reg.assign("churn", "dev", version="v0.0.1")
    # `other` has an hour-old snapshot, but a write checks the refs first: its plan counts
    # reg's assignment and writes the next tag instead of colliding with it.
    event = other.assign("churn", "prod", version="v0.0.1")
    assert event.tag == "churn#prod#2"
    assert {s.stage for s in other.find("churn@v0.0.1")[0].stages} == {"dev", "prod"}


def test_config_is_read_again_when_the_refs_change(repo: GitRepo) -> None:
    reg = landmark.Registry(repo.path, refresh_interval=0)
    reg.register("churn")
    (repo.path / ".gto").write_text("stages: [dev]\n")
    repo.commit()
    assert reg.stages(allowed=True) == ["dev"]
    (repo.path / ".gto").write_text("stages: [dev, prod]\n")
    assert reg.stages(allowed=True) == ["dev"]  # a work-tree edit alone: kept until refresh
    reg.refresh()
    assert reg.stages(allowed=True) == ["dev", "prod"]


def test_refresh_interval_must_not_be_negative(repo: GitRepo) -> None:
    with pytest.raises(InvalidInput, match="refresh_interval"):
        landmark.Registry(repo.path, refresh_interval=-1)
