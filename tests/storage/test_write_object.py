"""``write_object``: new objects appear whole or not at all, read-only, without temp names."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from landmark.errors import IntegrityError
from landmark.storage import cache as cache_mod
from landmark.storage.cache import ObjectCache, write_object
from landmark.storage.stores import LocalStore


@pytest.fixture(params=["linked", "renamed"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of publishing: an unnamed file linked into place, and a temp name renamed."""
    if request.param == "renamed":
        monkeypatch.setattr(cache_mod, "_tmpfile_ok", False)
    elif not cache_mod._tmpfile_ok:
        pytest.skip("no O_TMPFILE on this system")
    return str(request.param)


def test_new_object_is_whole_and_read_only(tmp_path: Path, way: str) -> None:
    data = os.urandom(3000)
    write_object(str(tmp_path), str(tmp_path / "obj"), data, 0o444)
    assert (tmp_path / "obj").read_bytes() == data
    assert stat.S_IMODE((tmp_path / "obj").stat().st_mode) == 0o444
    assert os.listdir(tmp_path) == ["obj"]  # no temp name left behind


def test_existing_object_stays_whole(tmp_path: Path, way: str) -> None:
    """Objects are named by their bytes, so a second writer brings the same bytes: linking
    keeps the first file, renaming swaps in the second whole; neither leaves a temp name."""
    (tmp_path / "obj").write_bytes(b"first")
    write_object(str(tmp_path), str(tmp_path / "obj"), b"second", 0o444)
    expected = b"first" if way == "linked" else b"second"
    assert (tmp_path / "obj").read_bytes() == expected
    assert os.listdir(tmp_path) == ["obj"]


def test_a_filesystem_without_o_tmpfile_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refuse_tmpfile(path: str, flags: int, *args: int, **kwargs: int) -> int:
        if flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
            raise OSError(95, "Operation not supported")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(cache_mod, "_tmpfile_ok", True)
    monkeypatch.setattr(os, "open", refuse_tmpfile)
    write_object(str(tmp_path), str(tmp_path / "obj"), b"data", 0o444)
    assert (tmp_path / "obj").read_bytes() == b"data"
    assert cache_mod._tmpfile_ok is False
    assert os.listdir(tmp_path) == ["obj"]


def test_local_remote_round_trip_of_small_objects(tmp_path: Path, way: str) -> None:
    store = LocalStore(tmp_path / "remote")
    cache = ObjectCache(tmp_path / "cache")
    blobs = [os.urandom(n) for n in (0, 1, 1024, 70_000)]
    for blob in blobs:
        src = tmp_path / "src"
        src.write_bytes(blob)
        md5 = hashlib.md5(blob).hexdigest()
        assert store.upload(src, md5) == len(blob)
        assert store.fetch_into(cache, md5) == len(blob)
        assert cache.path(md5).read_bytes() == blob
        assert stat.S_IMODE(cache.path(md5).stat().st_mode) == 0o444


def test_a_corrupt_small_object_is_refused_and_not_stored(tmp_path: Path, way: str) -> None:
    store = LocalStore(tmp_path / "remote")
    cache = ObjectCache(tmp_path / "cache")
    md5 = hashlib.md5(b"the real bytes").hexdigest()
    target = Path(store.ospath(md5))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"something else")
    with pytest.raises(IntegrityError):
        store.fetch_into(cache, md5)
    assert not cache.exists(md5)
    assert os.listdir(cache.path(md5).parent) == []
