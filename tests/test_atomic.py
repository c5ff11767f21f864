"""The shared atomic write and file lock."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from landmark.atomic import write_atomic
from landmark.filelock import locked


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_umask_mode_and_missing_folders_are_made(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "f.yaml"
    old = os.umask(0o027)
    try:
        write_atomic(target, b"one")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"one"
    assert mode(target) == 0o640
    assert os.listdir(target.parent) == ["f.yaml"]


def test_replacing_keeps_the_mode_unless_one_is_given(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    target.chmod(0o664)
    write_atomic(target, b"new")
    assert (target.read_bytes(), mode(target)) == (b"new", 0o664)
    write_atomic(target, b"ro", mode=0o444)
    assert (target.read_bytes(), mode(target)) == (b"ro", 0o444)


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f"]


def test_lock_holders_take_turns_across_threads(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / "x.lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def hold() -> None:
        with locked(lock):
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(1)
            time.sleep(0.02)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps and lock.exists()
