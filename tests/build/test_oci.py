"""landmark build oci: a reproducible archive that skopeo and umoci accept, its layer's
entries, a push to a real registry, and what an untrusted model folder may not do."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from landmark.models.meta import read_meta

from ..conftest import Cli, GitRepo
from .conftest import Registry, need


def layout(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def blob(files: dict[str, bytes], digest: str) -> bytes:
    data = files[f"blobs/sha256/{digest.removeprefix('sha256:')}"]
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def image(archive: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], bytes]:
    """(index, manifest, config, layer bytes) read from the archive, digests checked."""
    files = layout(archive)
    index = json.loads(files["index.json"])
    manifest = json.loads(blob(files, index["manifests"][0]["digest"]))
    config = json.loads(blob(files, manifest["config"]["digest"]))
    layer = blob(files, manifest["layers"][0]["digest"])
    return index, manifest, config, layer


def test_reproducible_layout(lm: Cli, churn_dir: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    first = lm("build", "oci", str(churn_dir), "-o", str(a)).output
    lm("build", "oci", str(churn_dir), "-o", str(b))
    assert a.read_bytes() == b.read_bytes()
    index, manifest, config, layer = image(a)
    digest = index["manifests"][0]["digest"]
    assert digest in first
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "latest"}
    assert json.loads(layout(a)["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    # gzip: no file name, mtime 0; diff_id is the digest of the uncompressed tar
    assert layer[:2] == b"\x1f\x8b" and layer[3] & 0x08 == 0 and layer[4:8] == b"\0\0\0\0"
    import gzip

    raw = gzip.decompress(layer)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(raw).hexdigest()]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names[:2] == ["models", "models/churn"]
        assert names == sorted(names, key=lambda n: n.split("/"))
        meta = read_meta(churn_dir)
        assert sorted(n for n, m in zip(names, members, strict=True) if m.isfile()) == sorted(
            f"models/churn/{p}" for p in [*(f.path for f in meta.files), "landmark.yaml"]
        )
        for m in members:
            assert m.isdir() or m.isfile()
            assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 0)
            assert m.mode == (0o755 if m.isdir() else 0o644)
    labels = config["config"]["Labels"]
    assert labels["ai.landmark.model.name"] == "churn"
    assert labels["org.opencontainers.image.created"] == meta.created

    # other options, other bytes; still valid
    c = tmp_path / "c.tar"
    lm("build", "oci", str(churn_dir), "-o", str(c), "--uncompressed", "--tag", "v9")
    index, manifest, _, layer = image(c)
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v9"
    assert hashlib.sha256(layer).hexdigest() == hashlib.sha256(raw).hexdigest()


def test_source_date_epoch(
    lm: Cli, churn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    lm("build", "oci", str(churn_dir), "-o", str(tmp_path / "a.tar"))
    _, _, config, _ = image(tmp_path / "a.tar")
    assert config["created"] == "2023-11-14T22:13:20Z"


def test_skopeo_and_umoci_accept_it(registry: GitRepo, lm: Cli, tmp_path: Path) -> None:
    skopeo, umoci = need("skopeo"), need("umoci")
    archive = tmp_path / "model.tar"
    lm("build", "oci", "churn#prod", "-o", str(archive))
    index, *_ = image(archive)
    digest = index["manifests"][0]["digest"]
    shown = json.loads(
        subprocess.run(
            [skopeo, "inspect", f"oci-archive:{archive}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert shown["Digest"] == digest
    commit = registry.git("rev-list", "-n1", "churn@v1.0.0")
    assert shown["Labels"]["ai.landmark.model.version"] == "v1.0.0"
    assert shown["Labels"]["ai.landmark.model.stage"] == "prod"
    assert shown["Labels"]["ai.landmark.model.commit"] == commit
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1.0.0"

    unpacked = tmp_path / "layout"
    unpacked.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    bundle = tmp_path / "bundle"
    proc = subprocess.run(
        [umoci, "unpack", "--rootless", "--image", f"{unpacked}:v1.0.0", str(bundle)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    from landmark.models.api import fetch

    model = fetch("churn@v1.0.0", registry.path)
    root = bundle / "rootfs"
    got = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    want = sorted(f"models/churn/{p.relative_to(model)}" for p in model.rglob("*") if p.is_file())
    assert got == want
    for rel in want:
        assert (root / rel).read_bytes() == (model / rel[len("models/churn/") :]).read_bytes()


def test_push(lm: Cli, churn_dir: Path, tmp_path: Path, oci_registry: Registry) -> None:
    skopeo = need("skopeo")
    ref = f"{oci_registry.host}/landmark/churn:v1"
    out = lm("build", "oci", str(churn_dir), "-o", str(tmp_path / "a.tar"), "--push", ref)
    index, manifest, _, _ = image(tmp_path / "a.tar")
    digest = index["manifests"][0]["digest"]
    assert f"pushed {ref}@{digest}" in out.output
    shown = json.loads(
        subprocess.run(
            [skopeo, "inspect", "--tls-verify=false", f"docker://{ref}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert shown["Digest"] == digest
    assert shown["Labels"]["ai.landmark.model.name"] == "churn"
    assert shown["Labels"]["org.opencontainers.image.title"] == "churn"
    got = oci_registry.get(
        "/v2/landmark/churn/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert got.status_code == 200 and json.loads(got.content) == manifest

    # again, under another tag: the blobs are there (HEAD), only the manifest goes up
    again = f"{oci_registry.host}/landmark/churn"
    lm("build", "oci", str(churn_dir), "-o", str(tmp_path / "b.tar"), "--push", again)
    tags = oci_registry.get("/v2/landmark/churn/tags/list").json()["tags"]
    assert sorted(tags) == ["latest", "v1"]


def test_push_failures_leave_no_archive(lm: Cli, churn_dir: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    where = tmp_path / "out"
    where.mkdir()
    out = where / "a.tar"
    down = lm(
        "build", "oci", str(churn_dir), "-o", str(out), "--push", f"127.0.0.1:{port}/m:v1", ok=False
    )
    assert down.exit_code == 8
    assert [ln for ln in down.output.splitlines() if ln.startswith("error:")] == [
        down.output.strip().splitlines()[-1]
    ]
    assert os.listdir(where) == []
    for bad in ["churn", "127.0.0.1:5000/Upper", "127.0.0.1:5000/m:-tag"]:
        result = lm("build", "oci", str(churn_dir), "-o", str(out), "--push", bad, ok=False)
        assert result.exit_code == 2, result.output
    assert (
        lm("build", "oci", str(churn_dir), "-o", str(out), "--tag", "a/b", ok=False).exit_code == 2
    )
    assert os.listdir(where) == []


def test_existing_output_needs_force(lm: Cli, churn_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.tar"
    out.write_bytes(b"mine")
    result = lm("build", "oci", str(churn_dir), "-o", str(out), ok=False)
    assert "--force" in result.output and out.read_bytes() == b"mine"
    lm("build", "oci", str(churn_dir), "-o", str(out), "--force")
    assert tarfile.is_tarfile(out)


@pytest.mark.parametrize("kind", ["file-link", "dir-link", "fifo"])
@pytest.mark.parametrize("command", ["oci", "docker"])
def test_untrusted_folder(
    lm: Cli, churn_dir: Path, tmp_path: Path, kind: str, command: str
) -> None:
    import shutil

    model = tmp_path / "churn"
    shutil.copytree(churn_dir, model)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("private")
    if kind == "file-link":
        (model / "extra").symlink_to(secret / "key")
    elif kind == "dir-link":
        (model / "extra").symlink_to(secret)
    else:
        os.mkfifo(model / "extra")
    out = tmp_path / ("out.tar" if command == "oci" else "ctx")
    result = lm("build", command, str(model), "-o", str(out), ok=False)
    assert result.exit_code == 2, result.output
    assert "extra" in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["churn", "repo", "secret"]


def test_changed_model_file_is_refused(lm: Cli, churn_dir: Path, tmp_path: Path) -> None:
    import shutil

    model = tmp_path / "churn"
    shutil.copytree(churn_dir, model)
    target = model / read_meta(model).files[0].path
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))
    for command in ("oci", "docker"):
        out = tmp_path / f"out-{command}"
        result = lm("build", command, str(model), "-o", str(out), ok=False)
        assert result.exit_code == 9 and "md5" in result.output, result.output
        assert not out.exists()
