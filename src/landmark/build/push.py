"""Uploading an image to a registry over the OCI distribution API (httpx).

Blobs the registry has already (``HEAD``) are skipped; others go up in one ``POST`` and one
``PUT`` each; then the manifest is put under its tag and the registry's digest compared with
ours. Loopback registries are spoken to over plain HTTP, others over HTTPS unless
``plain_http``. Registries that ask for credentials are not supported here (``skopeo copy
oci-archive:...`` pushes the same archive with your login).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..errors import InvalidInput, MissingDependency, RemoteError, one_line

if TYPE_CHECKING:
    from .oci import Blob, Image

_REPO_RE = re.compile(
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$"
)
_HOST_RE = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$")


@dataclass(frozen=True)
class Reference:
    host: str  # host[:port]
    repository: str
    tag: str

    @classmethod
    def parse(cls, text: str, default_tag: str) -> Reference:
        from .oci import check_tag

        host, _, rest = text.partition("/")
        if (
            not rest
            or not _HOST_RE.match(host)
            or not ("." in host or ":" in host or host == "localhost")
        ):
            raise InvalidInput(
                f"--push {text!r}: give HOST[:PORT]/REPOSITORY[:TAG], like "
                "127.0.0.1:5000/models/churn:v1"
            )
        repo, colon, tag = rest.rpartition(":")
        if not colon or "/" in tag:
            repo, tag = rest, default_tag
        if not _REPO_RE.match(repo):
            raise InvalidInput(
                f"--push {text!r}: the repository {repo!r} must be lower-case letters, digits "
                "and separators ('.', '_', '-', '/')"
            )
        return cls(host, repo, check_tag(tag))

    def __str__(self) -> str:
        return f"{self.host}/{self.repository}:{self.tag}"

    @property
    def loopback(self) -> bool:
        name = (
            self.host.rsplit(":", 1)[0]
            if not self.host.startswith("[")
            else self.host[1:].split("]")[0]
        )
        if name == "localhost":
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False


def _fail(ref: Reference, what: str, response: Any) -> RemoteError:
    body = one_line(response.text, 160) if response.content else ""
    return RemoteError(
        f"push to {ref}: {what} answered {response.status_code}{f' ({body})' if body else ''}"
    )


def _upload(client: Any, ref: Reference, blob: Blob) -> bool:
    """Put ``blob`` in the repository; False when it was there already."""
    base = f"/v2/{ref.repository}/blobs"
    head = client.head(f"{base}/{blob.digest}")
    if head.status_code == 200:
        return False
    start = client.post(f"{base}/uploads/")
    if start.status_code != 202 or "location" not in start.headers:
        raise _fail(ref, "starting an upload", start)
    location = urljoin(str(start.url), start.headers["location"])
    sep = "&" if "?" in location else "?"
    with open(blob.path, "rb") as fh:
        done = client.put(
            f"{location}{sep}digest={blob.digest}",
            content=fh,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)},
        )
    if done.status_code != 201:
        raise _fail(ref, f"uploading {blob.digest[:19]}", done)
    return True


def push_image(
    img: Image, ref: Reference, *, plain_http: bool = False, timeout: float = 300
) -> int:
    """Upload ``img`` as ``ref``; the number of blobs sent (those present are skipped)."""
    try:
        import httpx
    except ImportError:
        raise MissingDependency("--push needs httpx: pip install 'landmark[serve]'") from None
    from .oci import MANIFEST

    scheme = "http" if plain_http or ref.loopback else "https"
    try:
        with httpx.Client(base_url=f"{scheme}://{ref.host}", timeout=timeout) as client:
            probe = client.get("/v2/")
            if probe.status_code == 401:
                raise RemoteError(
                    f"push to {ref}: the registry asks for credentials, which landmark does not "
                    f"send; push the archive with skopeo copy oci-archive:FILE docker://{ref}"
                )
            if probe.status_code != 200:
                raise _fail(ref, "GET /v2/", probe)
            sent = sum(_upload(client, ref, b) for b in (*img.layers, img.config))
            put = client.put(
                f"/v2/{ref.repository}/manifests/{ref.tag}",
                content=img.manifest,
                headers={"Content-Type": MANIFEST},
            )
            if put.status_code not in (200, 201):
                raise _fail(ref, "putting the manifest", put)
            got = put.headers.get("docker-content-digest")
            if got and got != img.digest:
                raise RemoteError(
                    f"push to {ref}: the registry stored the manifest as {one_line(got, 80)}, "
                    f"not {img.digest}"
                )
    except httpx.HTTPError as e:
        raise RemoteError(f"push to {ref}: {type(e).__name__}: {one_line(e, 160)}") from None
    return sent


__all__ = ["Reference", "push_image"]
