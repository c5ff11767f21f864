"""From a configured remote to its store: a local folder, fsspec memory, or a back end's.

A local directory gets :class:`~.local.LocalStore`; every other scheme an
:class:`~.fsspec_store.FsspecStore` over its back end's filesystem (:mod:`.backends`), with the
store settings that back end needs (atomic puts or temp names, listable or not, read-only).
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ConfigError, InvalidInput
from ..remotes import Remote, check_url
from . import backends
from .backends import split_url
from .base import RemoteStore
from .fsspec_store import FsspecStore
from .local import LocalStore


def open_remote(remote: Remote) -> RemoteStore:
    """The store behind a configured remote; MissingDependency names the extra to install.
    The remote's ``jobs`` option (dvc's) sets its default number of parallel transfers."""
    store = _open(remote)
    jobs = remote.get("jobs")
    if jobs:
        try:
            store.default_jobs = max(1, int(jobs))
        except ValueError:
            raise ConfigError(f"remote {remote.name!r}: jobs = {jobs!r} is not a number") from None
    return store


def _open(remote: Remote) -> RemoteStore:
    scheme = check_url(remote.url)
    if scheme == "":
        path = remote.url[len("file://") :] if remote.url.startswith("file://") else remote.url
        return LocalStore(Path(path), url=remote.url)
    if scheme == "memory":
        fs, root = backends.memory(remote)
        return FsspecStore(fs, root, remote.url)
    backends.require(scheme)
    if scheme == "s3":
        # s3fs retries dropped connections itself; botocore's own retries are turned off
        # (below), so this layer adds few attempts on top: 5xx and throttling.
        return FsspecStore(
            backends.s3(remote), split_url(remote.url)[1].strip("/"), remote.url, retries=3
        )
    if scheme == "gs":
        return FsspecStore(backends.gcs(remote), split_url(remote.url)[1].strip("/"), remote.url)
    if scheme == "azure":
        return FsspecStore(backends.azure(remote), split_url(remote.url)[1].strip("/"), remote.url)
    if scheme == "ssh":
        fs, root = backends.ssh(remote)
        jobs = int(remote.get("max_sessions") or 8)
        return FsspecStore(fs, root, remote.url, atomic_put=False, jobs=jobs)
    if scheme in ("http", "https"):
        return FsspecStore(
            backends.http(remote),
            remote.url.rstrip("/"),
            remote.url,
            read_only=True,
            listable=False,
        )
    raise InvalidInput(f"unsupported remote url {remote.url!r}")


__all__ = ["open_remote"]
