"""md5 of files, dvc 3's directory manifests and pointer files, and the object cache's layout.

The format rules checked here were read off dvc 3.67.1's own output (``dvc add`` of a file, an
executable file and a folder with awkwardly sorting names); the interoperability tests that run
the real dvc are in test_compat_dvc.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from landmark import yamlio
from landmark.errors import ConfigError, IntegrityError, NotFound
from landmark.storage import hashing
from landmark.storage.cache import ObjectCache, repo_cache
from landmark.storage.dvcfile import (
    Output,
    parse_dvcfile,
    parse_lock,
    read_dvcfile,
    render_dvcfile,
    write_dvcfile,
)
from landmark.storage.hashing import (
    BLOCK,
    PIPE_BLOCK,
    PIPE_FROM,
    DirEntry,
    file_md5,
    hash_files,
    manifest_bytes,
    manifest_hash,
    parse_manifest,
)

_rng = random.Random(7)
SIZES = [0, 1, 1023, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17]
# big files are read on a second thread while hashed: around the switch and the buffer size
PIPED = [PIPE_FROM - 1, PIPE_FROM, PIPE_FROM + PIPE_BLOCK, PIPE_FROM + 3 * PIPE_BLOCK + 1]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -- files --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES + PIPED)
def test_file_md5_is_plain_md5_of_the_bytes(tmp_path: Path, size: int) -> None:
    data = _rng.randbytes(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert file_md5(path) == md5(data)


def test_file_md5_agrees_with_md5sum(tmp_path: Path) -> None:
    if shutil.which("md5sum") is None:
        pytest.fail("md5sum (coreutils) is needed for this test")
    path = tmp_path / "model.bin"
    path.write_bytes(_rng.randbytes(2 * 1024 * 1024 + 5))
    out = subprocess.run(["md5sum", str(path)], capture_output=True, text=True, check=True)
    assert file_md5(path) == out.stdout.split()[0]


@pytest.mark.parametrize("jobs", [1, 4])
def test_hash_files_keeps_the_order_given(tmp_path: Path, jobs: int) -> None:
    blobs = [_rng.randbytes(_rng.randrange(0, 5000)) for _ in range(300)]
    paths = []
    for i, data in enumerate(blobs):
        p = tmp_path / f"{i}.bin"
        p.write_bytes(data)
        paths.append(p)
    paths.reverse()
    blobs.reverse()
    assert hash_files(paths, jobs=jobs) == [md5(b) for b in blobs]


def test_a_read_error_while_piped_is_raised_and_the_reader_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(_rng.randbytes(PIPE_FROM + 5 * PIPE_BLOCK))
    real = os.readv
    calls: list[int] = []

    def failing(fd: int, buffers: list[bytearray]) -> int:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(5, "Input/output error")
        return real(fd, buffers)

    monkeypatch.setattr(hashing.os, "readv", failing)
    with pytest.raises(OSError, match="Input/output error"):
        file_md5(path)
    assert len(calls) == 3  # the reader stopped at the error
    assert not [t for t in threading.enumerate() if t.name == "landmark-md5-read"]
    monkeypatch.setattr(hashing.os, "readv", real)
    assert file_md5(path) == md5(path.read_bytes())


def test_file_md5_of_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_md5(tmp_path / "nope")


# -- directory manifests ------------------------------------------------------------------------
def test_manifest_follows_dvc3_format_rules() -> None:
    entries = [
        DirEntry("a/b", "b" * 32, 2),
        DirEntry("a.b", "c" * 32, 2),
        DirEntry("sp ace \u00e9.txt", "d" * 32, 6),
        DirEntry("B", "a" * 32, 2),
        DirEntry("a-b/c", "e" * 32, 2),
    ]
    data = manifest_bytes(entries)
    # Sorted by the relpath string ('-' < '.' < '/'), upper case first; keys md5 then relpath;
    # json's default ", " and ": " separators; non-ASCII as \u escapes; no sizes.
    expected = (
        '[{"md5": "' + "a" * 32 + '", "relpath": "B"}, '
        '{"md5": "' + "e" * 32 + '", "relpath": "a-b/c"}, '
        '{"md5": "' + "c" * 32 + '", "relpath": "a.b"}, '
        '{"md5": "' + "b" * 32 + '", "relpath": "a/b"}, '
        '{"md5": "' + "d" * 32 + '", "relpath": "sp ace \\u00e9.txt"}]'
    ).encode()
    assert data == expected
    assert manifest_hash(data) == md5(data) + ".dir"
    # the order entries come in does not matter
    assert manifest_bytes(reversed(entries)) == data


def test_empty_folder_manifest() -> None:
    assert manifest_bytes([]) == b"[]"
    # dvc 3 names an empty folder with this hash
    assert manifest_hash(b"[]") == "d751713988987e9331980363e24189ce.dir"


def test_parse_manifest_round_trip_and_errors() -> None:
    entries = [DirEntry("x/y", "1" * 32), DirEntry("z", "2" * 32)]
    assert parse_manifest(manifest_bytes(entries)) == entries
    for bad in (b"not json", b'{"md5": 1}', b'[{"relpath": "a"}]'):
        with pytest.raises(IntegrityError):
            parse_manifest(bad)


# -- pointer files ------------------------------------------------------------------------------
def test_render_dvcfile_for_a_file_a_folder_and_an_executable() -> None:
    file_out = Output("model.bin", "49f68a5c8493ec2c0bf489821c21fc3b", 2)
    assert render_dvcfile([file_out]) == (
        "outs:\n- md5: 49f68a5c8493ec2c0bf489821c21fc3b\n  size: 2\n  hash: md5\n"
        "  path: model.bin\n"
    )
    dir_out = Output("data", "4f4716befa38d1ed79b1223d383861bf.dir", 14, nfiles=6)
    assert render_dvcfile([dir_out]) == (
        "outs:\n- md5: 4f4716befa38d1ed79b1223d383861bf.dir\n  size: 14\n  nfiles: 6\n"
        "  hash: md5\n  path: data\n"
    )
    exe = Output("run.sh", "9dd4e461268c8034f5c8564e155c67a6", 1, isexec=True)
    assert "  size: 1\n  isexec: true\n  hash: md5\n" in render_dvcfile([exe])


def test_write_dvcfile_keeps_other_keys_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "model.bin.dvc"
    path.write_text(
        "# the production model\n"
        "outs:\n"
        "- md5: " + "0" * 32 + "\n  size: 1\n  hash: md5\n  path: model.bin\n"
        "  desc: churn model\n  remote: store\n"
        "- md5: " + "1" * 32 + "\n  size: 3\n  hash: md5\n  path: other.bin\n"
    )
    new = Output("model.bin", "2" * 32, 5)
    assert write_dvcfile(path, [new]) is True
    text = path.read_text()
    assert text.startswith("# the production model\n")
    outs = read_dvcfile(path)
    assert outs[0] == new and outs[1].path == "other.bin"
    assert "  desc: churn model\n  remote: store\n" in text
    # writing the same again changes nothing
    before = path.stat().st_mtime_ns
    assert write_dvcfile(path, [new]) is False
    assert path.stat().st_mtime_ns == before


def test_parse_dvcfile_errors_and_legacy_outputs() -> None:
    with pytest.raises(ConfigError, match=r"x\.dvc"):
        parse_dvcfile("outs: [1, 2", "x.dvc")
    with pytest.raises(ConfigError, match="path"):
        parse_dvcfile("outs:\n- md5: abc\n", "x.dvc")
    # dvc 2 wrote no ``hash`` field: its md5s are of dos2unix'ed text
    (old,) = parse_dvcfile("outs:\n- md5: " + "a" * 32 + "\n  path: m\n", "m.dvc")
    assert old.hash_name == "md5-dos2unix"
    assert parse_dvcfile("", "empty.dvc") == []


def test_parse_lock_lists_every_stage_output() -> None:
    text = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n"
        "    deps:\n    - path: data.csv\n      hash: md5\n      md5: " + "a" * 32 + "\n"
        "    outs:\n    - path: model.pkl\n      hash: md5\n      md5: " + "b" * 32 + "\n"
        "      size: 10\n    - path: plots\n      hash: md5\n      md5: " + "c" * 32 + ".dir\n"
        "      size: 20\n      nfiles: 2\n  eval:\n    cmd: python eval.py\n"
    )
    outs = parse_lock(text, "dvc.lock")
    assert [(o.path, o.md5, o.size, o.nfiles) for o in outs] == [
        ("model.pkl", "b" * 32, 10, None),
        ("plots", "c" * 32 + ".dir", 20, 2),
    ]


# -- the object cache ---------------------------------------------------------------------------
def test_object_layout_and_put_bytes(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    data = b"hello\n"
    h = md5(data)
    path = cache.put_bytes(data, h)
    assert path == tmp_path / "cache" / "files" / "md5" / h[:2] / h[2:]
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o444
    assert cache.exists(h) and list(cache.iter_hashes()) == [h]
    with pytest.raises(IntegrityError):
        cache.put_bytes(b"other", h[::-1])
    manifest = manifest_bytes([DirEntry("greeting", h)])
    dir_hash = manifest_hash(manifest)
    assert cache.put_bytes(manifest, dir_hash).name.endswith(".dir")
    assert cache.objects_for(dir_hash) == [h, dir_hash]
    assert cache.objects_for(h) == [h]
    cache.remove(h)
    assert not cache.exists(h)


def test_commit_tmp_verifies_and_leaves_no_partial_object(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    h = md5(b"right")
    tmp = cache.open_tmp(h)
    tmp.write_bytes(b"wrong")
    # a partial temp file is never listed as an object
    assert list(cache.iter_hashes()) == []
    with pytest.raises(IntegrityError):
        cache.commit_tmp(tmp, h)
    assert not tmp.exists() and not cache.exists(h)
    tmp = cache.open_tmp(h)
    tmp.write_bytes(b"right")
    assert cache.commit_tmp(tmp, h).read_bytes() == b"right"
    assert os.listdir(cache.path(h).parent) == [h[2:]]


def test_clean_tmp_removes_leftovers(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    cache.open_tmp("ab" * 16).write_bytes(b"partial")
    assert cache.clean_tmp() == 1
    assert list((tmp_path / "cache" / "files" / "md5" / "ab").iterdir()) == []


def test_read_manifest_of_a_missing_object_says_pull(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="landmark pull"):
        ObjectCache(tmp_path).read_manifest("0" * 32 + ".dir")


def test_repo_cache_honours_dvc_config_and_config_local(tmp_path: Path) -> None:
    dvc = tmp_path / ".dvc"
    dvc.mkdir()
    assert repo_cache(tmp_path).root == dvc / "cache"
    (dvc / "config").write_text("[core]\n    remote = s\n[cache]\n    dir = ../shared-cache\n")
    cache = repo_cache(tmp_path)
    assert cache.root == tmp_path / "shared-cache"
    (dvc / "config.local").write_text("[cache]\n    dir = /elsewhere\n    type = copy\n")
    cache = repo_cache(tmp_path)
    assert cache.root == Path("/elsewhere") and cache.link_kinds == ("copy",)
    (dvc / "config.local").write_text("[cache]\n    type = teleport\n")
    with pytest.raises(ConfigError, match="teleport"):
        repo_cache(tmp_path)


def test_manifest_bytes_are_json_dvc_can_read() -> None:
    entries = [DirEntry(f"d{i}/f", md5(str(i).encode())) for i in range(20)]
    rows = json.loads(manifest_bytes(entries))
    assert [list(r) for r in rows] == [["md5", "relpath"]] * 20


@pytest.mark.parametrize(
    "path",
    ["model.bin", "models/churn/model.pkl", "x-y_z.v2", "true", "123", "2024-01-01", "sp ace",
     "a: b", "#x", "caf\u00e9", ".hidden", "a" * 61, "b/" * 40],
)  # fmt: skip
@pytest.mark.parametrize(
    "md5", [hashlib.md5(b"x").hexdigest(), "0" * 32, "1" * 20 + "e" + "2" * 11]
)
def test_pointer_files_read_and_write_the_same_with_or_without_a_yaml_library(
    path: str, md5: str
) -> None:
    """landmark writes dvc's plain layout itself (no YAML import on the fast path); whatever
    it writes must be what ruamel (dvc's emitter, same settings) writes, and read back
    the same, including values YAML would otherwise take for numbers, booleans or dates."""

    from ruamel.yaml.comments import CommentedMap

    from landmark.storage import dvcfile

    outs = [
        Output(path, md5, 5),
        Output("data", md5 + ".dir", 3, nfiles=2),
        Output("run.sh", md5, 1, isexec=True),
    ]
    # ruamel with dvc's emitter settings, through the YAML gateway
    text = yamlio.dump_dvc_text({"outs": [CommentedMap(dvcfile._fields(o)) for o in outs]})
    assert render_dvcfile(outs) == text
    assert parse_dvcfile(text, "x.dvc") == outs
