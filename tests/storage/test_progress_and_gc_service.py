"""Services report progress as events (no drawing in library code), and gc is a service:
a preview with the reasons things are kept, then the removal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from landmark.progress import Progress, ProgressEvent
from landmark.storage import gc, remotes, transfer, workspace
from landmark.storage.cache import repo_cache

from ..conftest import Cli, GitRepo


def recorder() -> tuple[Progress, list[ProgressEvent]]:
    events: list[ProgressEvent] = []
    return Progress.calling(events.append), events


def make_files(root: Path) -> int:
    total = 0
    for i in range(30):
        data = f"file {i}\n".encode() * (i + 1)
        p = root / "data" / f"f{i:02}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        total += len(data)
    return total


def finished(events: list[ProgressEvent], phase: str) -> ProgressEvent:
    last = [e for e in events if e.phase == phase][-1]
    assert last.done == last.total, last
    return last


def test_add_checkout_push_pull_report_events(repo: GitRepo, tmp_path: Path) -> None:
    root = repo.path
    size = make_files(root)
    progress, events = recorder()
    workspace.track(root, [root / "data"], jobs=2, progress=progress)
    add = finished(events, "add")
    assert (add.total, add.bytes_total, add.bytes_done) == (30, size, size)

    remotes.add_remote(root, "store", str(tmp_path / "store"), default=True, cwd=root)
    progress, events = recorder()
    result = transfer.push_repo(root, progress=progress)
    push = finished(events, "push")
    assert push.total == result.transferred == 31  # 30 files + the manifest
    assert push.bytes_done == result.bytes

    for p in (root / "data").iterdir():
        p.unlink()
    for p in (root / ".dvc" / "cache").rglob("*"):
        if p.is_file():
            p.chmod(0o644)
            p.unlink()
    progress, events = recorder()
    transfer.pull_repo(root, progress=progress)
    progress.close()
    assert finished(events, "fetch").total == 31
    assert finished(events, "checkout").total == 30
    assert events[-1].finished  # closed by its owner, once, at the end
    assert sum(e.finished for e in events) == 1
    assert (root / "data" / "f29.txt").read_bytes() == b"file 29\n" * 30


def test_services_draw_nothing() -> None:
    code = (
        "import sys; import landmark.storage.workspace, landmark.storage.transfer, "
        "landmark.storage.get, landmark.storage.gc; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'click')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gc_plan_says_why_and_removes_nothing_then_collect_removes(repo: GitRepo, lm: Cli) -> None:
    root = repo.path
    (root / "keep.bin").write_bytes(b"kept by the work tree")
    (root / "old.bin").write_bytes(b"nobody needs me")
    workspace.add(root, [root / "keep.bin", root / "old.bin"])
    (root / "old.bin.dvc").unlink()
    (root / "models").mkdir()
    (root / "models" / "m.bin").write_bytes(b"registered model")
    [model] = workspace.add(root, [root / "models" / "m.bin"])
    (root / "dvc.yaml").write_text("artifacts:\n  m:\n    type: model\n    path: models/m.bin\n")
    repo.commit(message="m")
    lm("register", "m", "--version", "v1.0.0")
    (root / "models" / "m.bin.dvc").unlink()  # only the registry keeps it now

    preview = gc.plan(root)
    why = dict(preview.kept.reasons)
    assert why["m@v1.0.0"] == model.md5 and "work tree: keep.bin" in why
    assert len(preview.local.removed) == 1 and preview.dry_run
    doomed = preview.local.removed[0]
    cache = repo_cache(root)
    assert cache.exists(doomed)  # a preview removes nothing

    report = gc.collect(root)
    assert report.local.removed == (doomed,) and not cache.exists(doomed)
    assert cache.exists(model.md5)
    assert gc.plan(root).nothing
