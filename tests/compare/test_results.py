"""The results reader on repositories written by the test: declarations, revisions, and
crafted input (paths out of the repo, symlinks, broken and oversized files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from landmark import results
from landmark.git import Repo
from landmark.results import Reader, Target, repo_path

from ..conftest import GitRepo


@pytest.mark.parametrize(
    ("dvc_file", "rel", "wdir", "want"),
    [
        ("dvc.yaml", "metrics.json", None, "metrics.json"),
        ("sub/dvc.yaml", "m.json", None, "sub/m.json"),
        ("sub/dvc.yaml", "../top.json", None, "top.json"),
        ("sub/dvc.yaml", "m.json", "work", "sub/work/m.json"),
        ("sub/dvc.yaml", "./a/../b.json", None, "sub/b.json"),
        ("dvc.yaml", "../outside.json", None, None),
        ("sub/dvc.yaml", "../../outside.json", None, None),
        ("dvc.yaml", "/etc/passwd", None, None),
        ("dvc.yaml", "C:\\x.json", None, None),
        ("dvc.yaml", "m.json", "/abs", None),
        ("dvc.yaml", "m.json", "..", None),
        ("dvc.yaml", ".", None, None),
        ("dvc.yaml", "", None, None),
    ],
)
def test_repo_path(dvc_file: str, rel: str, wdir: str | None, want: str | None) -> None:
    assert repo_path(dvc_file, rel, wdir) == want


def test_flatten_keeps_lists_and_empty_mappings() -> None:
    assert results.flatten({"a": {"b": 1, "c": [1, 2]}, "d": {}, "e": "x"}) == {
        "a.b": 1,
        "a.c": [1, 2],
        "d": {},
        "e": "x",
    }


def _read(repo: GitRepo, *revs: str | None) -> list[results.Results]:
    r = Repo.open(repo.path)
    targets = [
        results.WORKSPACE_TARGET if rev is None else Target(rev, r.resolve(rev), "commit")
        for rev in revs
    ]
    return results.read_results(r, targets)


def test_revisions_and_the_work_tree(repo: GitRepo) -> None:
    repo.commit(
        {
            "dvc.yaml": "metrics: [eval]\nparams: [conf.toml]\n",
            "eval/a.json": '{"acc": 0.5}',
            "eval/b.yaml": "f1: 0.25\n",
            "eval/notes.txt": "not a metric",
            "conf.toml": "[opt]\nlr = 0.1\n",
            "params.yaml": "seed: 1\n",
        }
    )
    repo.commit({"eval/a.json": '{"acc": 0.75}'})
    (repo.path / "eval" / "a.json").write_text('{"acc": 0.9}')
    old, new, work = _read(repo, "HEAD~1", "HEAD", None)
    assert old.metrics == {"eval/a.json": {"acc": 0.5}, "eval/b.yaml": {"f1": 0.25}}
    assert new.metrics["eval/a.json"] == {"acc": 0.75}
    assert work.metrics["eval/a.json"] == {"acc": 0.9}
    assert new.params == {"params.yaml": {"seed": 1}, "conf.toml": {"opt.lr": 0.1}}
    assert old.errors == new.errors == work.errors == {}


def test_broken_files_are_reported_per_revision(repo: GitRepo) -> None:
    repo.commit({"dvc.yaml": "metrics: [m.json, gone.json]\n", "m.json": "{not json"})
    (res,) = _read(repo, "HEAD")
    assert res.metrics == {}
    assert "invalid JSON" in res.errors["m.json"]
    repo.commit({"dvc.yaml": "metrics: [m.json\n", "m.json": "{}"})
    (res,) = _read(repo, "HEAD")
    assert "dvc.yaml" in res.errors and res.metrics == {}


def test_paths_out_of_the_repo_are_never_read(repo: GitRepo, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"password": 1}')
    rel = os.path.relpath(secret, repo.path)
    repo.commit(
        {
            "dvc.yaml": (
                f"metrics: [{rel}, {secret}, link.json, inside.json]\n"
                f"params: [{rel}]\n"
                "stages:\n  s:\n    cmd: x\n    wdir: ../..\n    metrics: [etc/x.json]\n"
                "    params: [{../p.yaml: [a]}]\n"
            ),
            "inside.json": '{"ok": 1}',
        }
    )
    os.symlink(secret, repo.path / "link.json")  # a work-tree symlink pointing out
    repo.git("add", "link.json")
    repo.commit({"x.txt": "x"})
    committed, work = _read(repo, "HEAD", None)
    for res in (committed, work):
        assert res.metrics == {"inside.json": {"ok": 1}}
        assert "password" not in json.dumps(res.to_dict())
        assert "leaves the repository" in res.errors["dvc.yaml"]


def test_oversized_files_are_not_parsed(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "MAX_FILE", 64)
    repo.commit({"dvc.yaml": "metrics: [big.json]\n", "big.json": json.dumps({"a": "x" * 100})})
    (work,) = _read(repo, None)
    assert work.metrics == {}
    assert "not read" in work.errors["big.json"]


def test_nested_dvc_files_and_wdir(repo: GitRepo) -> None:
    repo.commit(
        {
            "a/b/dvc.yaml": (
                "stages:\n  s:\n    cmd: x\n    wdir: w\n    metrics: [m.json]\n"
                "    params: [lr, {cfg.json: [opt]}]\n"
            ),
            "a/b/w/m.json": '{"v": 1}',
            "a/b/w/params.yaml": "lr: 1\nother: 2\n",
            "a/b/w/cfg.json": '{"opt": {"x": 1}, "skip": 0}',
            "a/b/w/dvc.lock": "schema: '2.0'\nstages:\n  s:\n    cmd: x\n"
            "    deps:\n    - path: in.csv\n      md5: abc\n",
        }
    )
    (res,) = _read(repo, "HEAD")
    assert res.metrics == {"a/b/w/m.json": {"v": 1}}
    assert res.params["a/b/w/params.yaml"] == {"lr": 1, "other": 2}
    assert res.params["a/b/w/cfg.json"] == {"opt.x": 1}


def test_one_git_process_reads_every_revision(repo: GitRepo) -> None:
    """Many commits sharing most files: each distinct blob is read once."""
    repo.commit({"dvc.yaml": "metrics: [m.json]\n", "static/big.json": "{}"})
    for i in range(5):
        repo.commit({"m.json": json.dumps({"i": i})})
    r = Repo.open(repo.path)
    revs = [r.resolve(f"HEAD~{i}") for i in range(5)]
    with Reader(r) as reader:
        asked: list[str] = []
        trips: list[int] = []
        one, many = reader._objects.get, reader._objects.get_many

        def get(name: str) -> tuple[str, str, bytes] | None:
            asked.append(name)
            trips.append(1)
            return one(name)

        def get_many(names: list[str]) -> list[tuple[str, str, bytes] | None]:
            asked.extend(names)
            trips.append(len(names))
            return many(names)

        reader._objects.get = get  # type: ignore[method-assign]
        reader._objects.get_many = get_many  # type: ignore[method-assign]
        found = reader.read_all([Target(s[:7], s, "commit") for s in revs])
    assert [f.metrics["m.json"]["i"] for f in found] == [4, 3, 2, 1, 0]
    # Five roots, five distinct m.json blobs, one dvc.yaml, one 'static' tree — no repeats,
    # in a handful of round trips: roots, the level below, dvc.yaml, the metrics.
    assert len(asked) == len(set(asked))
    assert sum(1 for a in asked if a.endswith("^{tree}")) == 5
    assert len(trips) <= 5, trips


def test_a_commit_that_is_not_there(repo: GitRepo) -> None:
    r = Repo.open(repo.path)
    from landmark.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not in the repo"):
        results.read_results(r, [Target("x", "0" * 40, "commit")])
