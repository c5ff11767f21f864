""".dvcignore rules as landmark applies them in a walk; the comparison with the real dvc's
choices for the same tree is in test_compat_dvc.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

from landmark.storage import workspace
from landmark.storage.ignore import Rules

from ..conftest import Cli, GitRepo

HOUR_AGO = time.time() - 3600


def put(root: Path, files: dict[str, str]) -> None:
    """Files written an hour ago (fresh ones are never vouched for: see RACY_NS)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (HOUR_AGO, HOUR_AGO))


def walked(root: Path, folder: str) -> list[str]:
    rules = Rules.above(str(root), folder)
    rels, _ = workspace.walk(str(root / folder), rules, folder + "/")
    return sorted(rels)


def test_comments_only_cost_nothing(tmp_path: Path) -> None:
    put(tmp_path, {".dvcignore": "# Add patterns of files dvc should ignore\n\n", "d/a": ""})
    rules = Rules.above(str(tmp_path), "d")
    assert not rules and rules.sources == b""
    assert walked(tmp_path, "d") == ["a"]


def test_deeper_files_override_and_ignored_folders_are_not_entered(tmp_path: Path) -> None:
    put(
        tmp_path,
        {
            ".dvcignore": "*.log\nbuild/\n",
            "p/.dvcignore": "!keep.log\n/d/anchored.txt\n",
            "p/d/a.log": "",
            "p/d/keep.log": "",
            "p/d/sub/keep.log": "",  # !keep.log applies at any depth below p/
            "p/d/build/x": "",
            "p/d/sub/build/y": "",
            "p/d/anchored.txt": "",
            "p/d/sub/anchored.txt": "",  # anchored to p/d/ only
            "p/d/b.txt": "",
            "p/d/.git": "gitdir: elsewhere",  # a submodule's .git file
        },
    )
    assert walked(tmp_path, "p/d") == ["b.txt", "keep.log", "sub/anchored.txt", "sub/keep.log"]


def test_a_dvcignore_in_an_ignored_folder_is_not_read(tmp_path: Path) -> None:
    put(tmp_path, {".dvcignore": "p/\n!p/d/\n", "p/.dvcignore": "*\n", "p/d/a": ""})
    rules = Rules.above(str(tmp_path), "p/d")
    assert len(rules.layers) == 1  # only the top's


def test_patterns_above_the_folder_change_its_record(repo: GitRepo, lm: Cli) -> None:
    """A folder vouched for whole is vouched for under the patterns it was walked with."""
    put(repo.path, {"d/a.txt": "a", "d/b.log": "b"})
    lm("add", "d")
    assert workspace.StatCache(repo.path).folder("d") is not None
    (repo.path / ".dvcignore").write_text("*.log\n")
    (row,) = workspace.status_local(repo.path).outputs
    assert row.workspace == "modified"  # b.log is no longer part of the folder
    lm("add", "d")
    (row,) = workspace.status_local(repo.path).outputs
    assert row.workspace == "ok"
    (repo.path / ".dvcignore").unlink()
    (row,) = workspace.status_local(repo.path).outputs
    assert row.workspace == "modified"  # b.log is back: an untracked file in the folder
