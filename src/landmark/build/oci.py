"""``landmark build oci``: the model's files as an OCI image, written without a daemon.

One layer holds ``/models/NAME/...`` (KServe's "modelcar" layout) on no base image (``FROM
scratch``). The layer, the config, the manifest and the archive are deterministic: entries
sorted, owner 0:0, mode 0644/0755, mtime 0, gzip without a name or time, JSON with sorted
keys; the config's time is SOURCE_DATE_EPOCH or the model's save time. The same model and
options give the same bytes, so the same digest.

The output is an oci-archive: a tar of an OCI image layout (``oci-layout``, ``index.json``
naming the tag in ``org.opencontainers.image.ref.name``, ``blobs/sha256/...``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InvalidInput
from .files import Checker, check_output, open_file, scan, staged_file
from .source import Model

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_PLATFORM_RE = re.compile(r"^([a-z0-9]+)/([a-z0-9_]+)(?:/([a-z0-9]+))?$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Blob:
    media_type: str
    digest: str  # sha256:...
    size: int
    path: Path  # where the bytes are while building (in the scratch folder)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Image:
    """A built image: its blobs (config and layer), the manifest's bytes and digest."""

    tag: str
    config: Blob
    layers: tuple[Blob, ...]
    manifest: bytes
    digest: str
    labels: dict[str, str]


class _Hashing:
    """A write-only stream that hashes and counts what passes through to ``inner``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.inner.write(data)
        return len(data)

    def flush(self) -> None:
        self.inner.flush()


class _Md5Reader:
    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.md5 = hashlib.md5()

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.md5.update(data)
        return data


def _info(name: str, is_dir: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir else 0o644
    info.size = 0 if is_dir else size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _blob(scratch: Path, data: bytes, media_type: str) -> Blob:
    digest = hashlib.sha256(data).hexdigest()
    path = scratch / digest
    path.write_bytes(data)
    return Blob(media_type, f"sha256:{digest}", len(data), path)


def _layer(model: Model, scratch: Path, compress: bool) -> tuple[Blob, str]:
    """The layer blob and its diff_id (the digest of the uncompressed tar)."""
    entries = scan(model.directory)
    checker = Checker(model.directory, model.meta)
    checker.finish(entries)
    part = scratch / "layer.part"
    with open(part, "wb") as raw:
        outer = _Hashing(raw)
        # No file name and mtime 0 in the gzip header: the same tar, the same bytes.
        zipped = gzip.GzipFile(filename="", mode="wb", fileobj=outer, mtime=0) if compress else None
        inner = _Hashing(zipped if zipped is not None else outer)
        with tarfile.open(fileobj=inner, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            root = f"models/{model.name}"
            tar.addfile(_info("models", True))
            tar.addfile(_info(root, True))
            for entry in entries:
                name = f"{root}/{entry.path}"
                if entry.is_dir:
                    tar.addfile(_info(name, True))
                    continue
                with open_file(model.directory, entry.path) as fh:
                    size = os.fstat(fh.fileno()).st_size
                    reader = _Md5Reader(fh)
                    tar.addfile(_info(name, False, size), reader)
                checker.check(entry.path, reader.md5.hexdigest())
        if zipped is not None:
            zipped.close()
    digest = outer.sha.hexdigest()
    path = scratch / digest
    part.replace(path)
    media = LAYER_GZIP if compress else LAYER_TAR
    return Blob(media, f"sha256:{digest}", outer.size, path), f"sha256:{inner.sha.hexdigest()}"


def platform(text: str) -> dict[str, str]:
    found = _PLATFORM_RE.match(text)
    if found is None:
        raise InvalidInput(f"--platform {text!r}: give OS/ARCH[/VARIANT], like linux/amd64")
    doc = {"os": found.group(1), "architecture": found.group(2)}
    if found.group(3):
        doc["variant"] = found.group(3)
    return doc


def check_tag(tag: str) -> str:
    if not TAG_RE.match(tag):
        raise InvalidInput(
            f"--tag {tag!r}: a tag has letters, digits, '_', '.' and '-' (128 at most) and "
            "does not start with '.' or '-'"
        )
    return tag


def image(
    model: Model, scratch: Path, *, tag: str, os_arch: str = "linux/amd64", compress: bool = True
) -> Image:
    """Write the layer and config blobs of ``model``'s image into ``scratch``."""
    plat = platform(os_arch)
    labels = model.labels()
    created = model.created()
    layer, diff_id = _layer(model, scratch, compress)
    config_doc = {
        **plat,
        "created": created,
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [
            {
                "created": created,
                "created_by": f"landmark build oci: {model.label}",
                "comment": f"/models/{model.name}",
            }
        ],
    }
    config = _blob(scratch, _dump(config_doc), CONFIG)
    manifest_doc = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
        "annotations": {
            k: v for k, v in labels.items() if k.startswith("org.opencontainers.image.")
        },
    }
    manifest = _dump(manifest_doc)
    digest = f"sha256:{hashlib.sha256(manifest).hexdigest()}"
    return Image(tag, config, (layer,), manifest, digest, labels)


def _index(img: Image, plat: dict[str, str]) -> bytes:
    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {
                    "mediaType": MANIFEST,
                    "digest": img.digest,
                    "size": len(img.manifest),
                    "platform": plat,
                    "annotations": {"org.opencontainers.image.ref.name": img.tag},
                }
            ],
        }
    )


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    tar.addfile(_info(name, False, len(data)), io.BytesIO(data))


def write_archive(img: Image, out: BinaryIO, os_arch: str = "linux/amd64") -> None:
    """The oci-archive of ``img``: a tar of an image layout, entries in a fixed order."""
    blobs = sorted(
        [(img.digest, None), *((b.digest, b) for b in (img.config, *img.layers))],
        key=lambda item: item[0],
    )
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", _dump({"imageLayoutVersion": "1.0.0"}))
        _add_bytes(tar, "index.json", _index(img, platform(os_arch)))
        tar.addfile(_info("blobs", True))
        tar.addfile(_info("blobs/sha256", True))
        seen = set()
        for digest, blob in blobs:
            if digest in seen:
                continue
            seen.add(digest)
            name = f"blobs/sha256/{digest.removeprefix('sha256:')}"
            if blob is None:
                _add_bytes(tar, name, img.manifest)
                continue
            with open(blob.path, "rb") as fh:
                tar.addfile(_info(name, False, blob.size), fh)


@dataclass(frozen=True)
class Built:
    path: Path
    tag: str
    digest: str
    size: int
    labels: dict[str, str]
    pushed: str | None = None


def build_oci(
    model: Model,
    out: Path,
    *,
    tag: str | None = None,
    force: bool = False,
    os_arch: str = "linux/amd64",
    compress: bool = True,
    push: str | None = None,
    plain_http: bool = False,
    report: Callable[[str], None] | None = None,
) -> Built:
    """Write ``model``'s image as an oci-archive at ``out``; with ``push``
    (HOST[:PORT]/REPO[:TAG]) upload it to that registry too."""
    from .push import Reference, push_image

    chosen = check_tag(tag or model.version or "latest")
    platform(os_arch)
    ref = Reference.parse(push, default_tag=chosen) if push else None
    target = check_output(out, model.directory, force=force, is_dir=False)
    with staged_file(target) as (fh, scratch):
        img = image(model, scratch, tag=chosen, os_arch=os_arch, compress=compress)
        write_archive(img, fh, os_arch)
        fh.flush()
        size = fh.tell()
        if ref is not None:
            # The blobs are still in the scratch folder; the archive is renamed into place
            # after the push, so a failed push leaves the archive unwritten too.
            if report:
                report(f"pushing {img.digest} to {ref}")
            push_image(img, ref, plain_http=plain_http)
    shutil.rmtree(scratch, ignore_errors=True)
    return Built(target, chosen, img.digest, size, img.labels, str(ref) if ref else None)


__all__ = ["Built", "Image", "build_oci", "check_tag", "image", "platform", "write_archive"]
