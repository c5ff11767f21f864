"""landmark's storage against the real, pinned dvc (3.x): each reads and restores what the other wrote.

Every test runs in real temporary git repos and crosses the boundary at least once:

- landmark tracks, dvc reads: ``landmark add`` leaves a tree that ``dvc status`` calls clean and
  ``dvc checkout`` restores from landmark's cache, whether dvc or landmark made ``.dvc/``;
- ``landmark push`` to a local-directory remote, ``dvc pull`` in a fresh clone, and back
  (``dvc add`` + ``dvc push``, then ``landmark pull``);
- remotes configured by either tool (``.dvc/config``, ``.dvc/config.local``) are used by the other;
- for the same directory, the ``.dvc`` pointer files and ``.dir`` manifests are byte-identical.

The data has the awkward cases: names that sort differently by path string and by path parts
(``a-b/c``, ``a.b``, ``a/b``: dvc sorts a manifest by the relpath string), upper case before
lower, a non-ASCII name with a space (escaped in the manifest's JSON), an empty file, an empty
folder (not in the manifest), and a file larger than any sensible read buffer.

Starting dvc costs ~0.5 s, so each test makes only the dvc calls its claim needs.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ..conftest import Cli, GitRepo
from .conftest import Dvc

pytestmark = pytest.mark.compat

_rng = random.Random(20240601)
# Larger than any read buffer a hasher would use, and not a multiple of one.
MODEL_BYTES = _rng.randbytes(4 * 1024 * 1024 + 13)
TREE: dict[str, bytes] = {
    "B": b"upper case sorts first\n",
    "a/b": b"1\n",
    "a-b/c": b"2\n",
    "a.b": b"3\n",
    "zero": b"",
    "sp ace \u00e9.txt": "caf\u00e9\n".encode(),
    "sub/deep/weights.bin": _rng.randbytes(70_000),
}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_data(root: Path) -> None:
    """model.bin and the data/ folder, as in every test."""
    (root / "model.bin").write_bytes(MODEL_BYTES)
    for rel, data in TREE.items():
        path = root / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "data" / "empty").mkdir()


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def assert_data_restored(root: Path) -> None:
    assert (root / "model.bin").read_bytes() == MODEL_BYTES
    assert read_tree(root / "data") == TREE


def remove_data(root: Path) -> None:
    (root / "model.bin").unlink()
    shutil.rmtree(root / "data")


def objects(root: Path) -> set[str]:
    """Relative paths of every file under a cache or remote root."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def object_path(md5_hex: str) -> str:
    return f"files/md5/{md5_hex[:2]}/{md5_hex[2:]}"


def commit_all(repo_path: Path, message: str) -> None:
    for args in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=repo_path, check=True, capture_output=True)


def fresh_clone(repo: GitRepo, dest: Path) -> Path:
    """A teammate's clone: the pointer files and .dvc/config, no data and no cache."""
    subprocess.run(["git", "clone", "-q", str(repo.path), str(dest)], check=True)
    assert not (dest / ".dvc" / "cache").exists()
    assert not (dest / "model.bin").exists()
    return dest


def dvc_repo(dvc: Dvc, path: Path) -> Path:
    """A new git repository that ``dvc init`` made a dvc repository."""
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    dvc("init", "-q", cwd=path)
    return path


def dvc_status(dvc: Dvc, cwd: Path) -> object:
    return json.loads(dvc("status", "--json", cwd=cwd) or "{}")


# --------------------------------------------------------------------------------------------
# (a) landmark adds, dvc reads the cache and the pointer files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dot_dvc_made_by", ["dvc", "landmark"])
def test_dvc_status_and_checkout_on_what_landmark_added(
    repo: GitRepo, lm: Cli, dvc: Dvc, dot_dvc_made_by: str
) -> None:
    if dot_dvc_made_by == "dvc":
        dvc("init", "-q", cwd=repo.path)
    write_data(repo.path)
    lm("add", "model.bin", "data")

    # Git sees the pointer files and .dvc/'s own files, never the data nor the cache.
    repo.git("add", "-A")
    staged = repo.git("-c", "core.quotePath=false", "diff", "--cached", "--name-only").split("\n")
    assert {"model.bin.dvc", "data.dvc", ".gitignore"} <= set(staged)
    leaked = [
        p for p in staged if p == "model.bin" or p.startswith(("data/", ".dvc/cache/", ".dvc/tmp/"))
    ]
    assert leaked == []
    # Without a tracked file in it, a clone would have no .dvc/ and dvc would not see a repo.
    assert any(p.startswith(".dvc/") for p in staged)
    repo.git("commit", "-q", "-m", "track model and data")

    assert dvc_status(dvc, repo.path) == {}
    remove_data(repo.path)
    dvc("checkout", cwd=repo.path)
    assert_data_restored(repo.path)
    # dvc's own scratch files (.dvc/tmp) are ignored as well.
    assert repo.status() == ""
    # dvc checked out copies (new inodes): landmark re-hashes them and finds them unchanged.
    lm("status", "--quiet")


# --------------------------------------------------------------------------------------------
# (b), (c) transfers: each tool pulls what the other pushed, in a fresh clone
# --------------------------------------------------------------------------------------------


def test_dvc_pull_restores_what_landmark_pushed(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    write_data(repo.path)
    lm("add", "model.bin", "data")
    lm("remote", "add", "-d", "store", str(store))
    lm("push")

    # The remote holds exactly the cache's objects, in the cache's layout.
    pushed = objects(store)
    assert pushed == objects(repo.path / ".dvc" / "cache")
    assert object_path(md5(MODEL_BYTES)) in pushed
    assert sum(p.endswith(".dir") for p in pushed) == 1
    commit_all(repo.path, "track and push")

    clone = fresh_clone(repo, tmp_path / "clone")
    dvc("pull", cwd=clone)
    assert_data_restored(clone)


def test_landmark_pull_restores_what_dvc_pushed(repo: GitRepo, dvc: Dvc, tmp_path: Path) -> None:
    dvc("init", "-q", cwd=repo.path)
    dvc("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=repo.path)
    write_data(repo.path)
    dvc("add", "-q", "model.bin", "data", cwd=repo.path)
    dvc("push", "-q", cwd=repo.path)
    commit_all(repo.path, "track and push with dvc")

    clone = fresh_clone(repo, tmp_path / "clone")
    Cli(clone, repo)("pull", "-j", "4")
    assert_data_restored(clone)
    # What landmark pulled is in dvc's cache layout and linked as dvc expects.
    assert objects(clone / ".dvc" / "cache") == objects(repo.path / ".dvc" / "cache")
    assert dvc_status(dvc, clone) == {}
    Cli(clone, repo)("status", "--quiet")


# --------------------------------------------------------------------------------------------
# (d) remotes configured by one tool, used by the other
# --------------------------------------------------------------------------------------------


def test_dvc_uses_remotes_configured_by_landmark(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    write_data(repo.path)
    lm("add", "model.bin")
    # A relative URL given on the command line is relative to where the command runs (here the
    # repo root), as with `dvc remote add`; dvc reads it from the config relative to .dvc/.
    lm("remote", "add", "-d", "store", "../store")
    lm("remote", "add", "cloud", "s3://bucket/models")
    lm("remote", "modify", "cloud", "endpointurl", "http://127.0.0.1:9000")

    dvc("push", "-q", cwd=repo.path)
    stored = tmp_path / "store" / object_path(md5(MODEL_BYTES))
    assert stored.read_bytes() == MODEL_BYTES

    lm("remote", "default", "cloud")
    rows = [line.split() for line in dvc("remote", "list", cwd=repo.path).splitlines()]
    assert ["cloud", "s3://bucket/models", "(default)"] in rows
    # dvc shows a local URL resolved, which proves where it reads "../store" from.
    assert ["store", str(tmp_path / "store")] in rows
    assert dvc("config", "remote.cloud.endpointurl", cwd=repo.path).strip() == (
        "http://127.0.0.1:9000"
    )


def test_landmark_uses_remotes_configured_by_dvc(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    dvc("init", "-q", cwd=repo.path)
    # dvc stores this as ../../store: relative to .dvc/, where the config file is.
    dvc("remote", "add", "-d", "store", "../store", cwd=repo.path)
    dvc("remote", "add", "cloud", "s3://bucket/models", cwd=repo.path)
    dvc("remote", "modify", "cloud", "endpointurl", "http://127.0.0.1:9000", cwd=repo.path)

    listed = lm("remote", "list").output
    assert "store" in listed and "cloud" in listed and "s3://bucket/models" in listed

    write_data(repo.path)
    lm("add", "model.bin", "data")
    lm("push")
    store = tmp_path / "store"
    assert objects(store) == objects(repo.path / ".dvc" / "cache")
    assert (store / object_path(md5(MODEL_BYTES))).read_bytes() == MODEL_BYTES


def test_landmark_honours_dvc_config_local(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    shared, private = tmp_path / "shared", tmp_path / "private"
    dvc("init", "-q", cwd=repo.path)
    dvc("remote", "add", "-d", "store", str(shared), cwd=repo.path)
    # Per-user overrides (credentials, a local mirror) go to the untracked config.local.
    dvc("remote", "modify", "--local", "store", "url", str(private), cwd=repo.path)

    write_data(repo.path)
    lm("add", "model.bin")
    lm("push")
    assert (private / object_path(md5(MODEL_BYTES))).read_bytes() == MODEL_BYTES
    assert not shared.exists()


# --------------------------------------------------------------------------------------------
# (e) the same data gives the same bytes on disk, whichever tool tracks it
# --------------------------------------------------------------------------------------------


def test_same_pointer_files_and_manifests_as_dvc(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    theirs = dvc_repo(dvc, tmp_path / "theirs")
    write_data(theirs)
    dvc("add", "-q", "model.bin", "data", cwd=theirs)

    ours = repo.path
    write_data(ours)
    lm("add", "model.bin", "data")

    yaml = YAML(typ="safe")
    for name in ("model.bin.dvc", "data.dvc"):
        mine, dvcs = (ours / name).read_text(), (theirs / name).read_text()
        assert yaml.load(mine) == yaml.load(dvcs), name
        assert mine == dvcs, name
    out = yaml.load((theirs / "data.dvc").read_text())["outs"][0]
    assert out["nfiles"] == len(TREE)
    assert out["size"] == sum(len(b) for b in TREE.values())

    # Same objects under the same names, the manifest byte for byte.
    our_cache, their_cache = ours / ".dvc" / "cache", theirs / ".dvc" / "cache"
    assert objects(our_cache) == objects(their_cache)
    manifest = object_path(out["md5"])
    assert (our_cache / manifest).read_bytes() == (their_cache / manifest).read_bytes()
    dvc_manifest = (their_cache / manifest).read_bytes()
    relpaths = [e["relpath"] for e in json.loads(dvc_manifest)]
    assert relpaths == sorted(TREE)  # by the relpath string, not by path parts

    # The library reads dvc's bytes and writes them back unchanged.
    from landmark.storage.dvcfile import parse_dvcfile
    from landmark.storage.hashing import manifest_bytes, manifest_hash, parse_manifest

    entries = parse_manifest(dvc_manifest)
    assert [(e.relpath, e.md5) for e in entries] == [(k, md5(TREE[k])) for k in sorted(TREE)]
    assert manifest_bytes(entries) == dvc_manifest
    assert manifest_hash(dvc_manifest) == out["md5"]
    [parsed] = parse_dvcfile((theirs / "data.dvc").read_text(), "data.dvc")
    assert (parsed.path, parsed.md5, parsed.size, parsed.nfiles) == (
        "data",
        out["md5"],
        out["size"],
        len(TREE),
    )
    assert parsed.is_dir

    # And landmark restores a tree dvc made, from dvc's cache.
    remove_data(theirs)
    lm_theirs = Cli(theirs, repo)
    lm_theirs("checkout")
    assert_data_restored(theirs)
    lm_theirs("status", "--quiet")


# --------------------------------------------------------------------------------------------
# (f) .dvcignore: both tools leave out the same files
# --------------------------------------------------------------------------------------------
IGNORES = {
    # the repository's top: dvc init's comments, a pattern anywhere, an anchored one, a folder
    ".dvcignore": ("# comments only count for nothing\n*.tmp\n/project/data/top.log\nscratch/\n"),
    # deeper files override shallower ones: re-include keep.tmp, leave out *.cache
    "project/.dvcignore": "!keep.tmp\n*.cache\n",
}
IGNORED_TREE = {
    **TREE,
    "x.tmp": b"ignored anywhere\n",
    "sub/y.tmp": b"ignored anywhere\n",
    "sub/keep.tmp": b"re-included by project/.dvcignore\n",
    "z.cache": b"ignored by project/.dvcignore\n",
    "top.log": b"ignored by an anchored pattern\n",
    "deep/top.log": b"kept: the anchored pattern names project/data/top.log only\n",
    "scratch/a.bin": b"in an ignored folder\n",
    "sub/scratch/b.bin": b"in an ignored folder\n",
    ".git": b"gitdir: ../elsewhere\n",  # a submodule's .git file: dvc leaves it out
}
KEPT = {"sub/keep.tmp", "deep/top.log", *TREE}


def write_ignored(root: Path) -> None:
    for rel, data in IGNORED_TREE.items():
        path = root / "project" / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel, text in IGNORES.items():
        (root / rel).write_text(text)


def test_dvcignore_leaves_out_the_same_files_as_dvc(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    theirs = dvc_repo(dvc, tmp_path / "theirs")
    write_ignored(theirs)
    dvc("add", "-q", "project/data", cwd=theirs)

    ours = repo.path
    write_ignored(ours)
    lm("add", "project/data")
    pointer = ours / "project" / "data.dvc"
    assert pointer.read_text() == (theirs / "project" / "data.dvc").read_text()
    out = YAML(typ="safe").load(pointer.read_text())["outs"][0]
    manifest = (ours / ".dvc" / "cache" / object_path(out["md5"])).read_bytes()
    assert {e["relpath"] for e in json.loads(manifest)} == KEPT

    # Ignored files are no change for either tool, and checkout leaves them alone.
    (ours / "project" / "data" / "new.tmp").write_bytes(b"ignored too\n")
    assert "up to date" in lm("status").output
    commit_all(ours, "track data")
    assert dvc_status(dvc, ours) == {}
    lm("checkout")
    assert (ours / "project" / "data" / "x.tmp").exists()
    # A new pattern above the folder changes what it holds: status sees it at once.
    (ours / ".dvcignore").write_text(IGNORES[".dvcignore"] + "deep/\n")
    assert "modified:" in lm("status").output
    (ours / "other.tmp").write_bytes(b"left out\n")
    result = lm("add", "other.tmp", ok=False)
    assert result.stderr == (
        "error: other.tmp is left out by a .dvcignore pattern: remove the pattern to track it\n"
    )
    assert not (ours / "other.tmp.dvc").exists()


def test_a_dvcignore_inside_a_folder_to_add_is_refused_by_both(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    theirs = dvc_repo(dvc, tmp_path / "theirs")
    for root in (theirs, repo.path):
        write_data(root)
        (root / "data" / "sub" / ".dvcignore").write_text("*.bin\n")
    with pytest.raises(AssertionError, match="should not be in collected dir"):
        dvc("add", "data", cwd=theirs)
    result = lm("add", "data", ok=False)
    assert result.stderr == (
        "error: data/sub/.dvcignore: a tracked folder may not hold a .dvcignore (dvc refuses "
        "it too); move its patterns to a .dvcignore above data\n"
    )
    assert not (repo.path / "data.dvc").exists() and not (repo.path / ".dvc").exists()
