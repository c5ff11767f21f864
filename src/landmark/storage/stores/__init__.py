"""Remote object stores: the only package that imports fsspec and its back ends.

A remote holds objects in the cache's layout under its URL (``<url>/files/md5/ab/cdef...``).
:func:`open_remote` turns a configured :class:`~landmark.storage.remotes.Remote` into a
:class:`RemoteStore`: a local directory gets :class:`LocalStore` (plain system calls: fsspec's
per-call overhead dominates 1 KiB files), everything else :class:`FsspecStore` over the fsspec
filesystem of its scheme (s3fs, gcsfs, adlfs, sshfs, fsspec's http and memory), imported only
when such a remote is opened.

Every store call retries transient failures (dropped connections, timeouts, 5xx, throttling)
with exponential backoff, then turns what is left into one-line errors from
``landmark.errors``: :class:`ObjectMissing` for an absent object, RemoteError for credentials,
permissions, a missing bucket or anything else, MissingDependency for an absent back end.
Uploads are atomic on the remote (object stores publish a key only when complete; file-like
back ends get a temp name and a rename), so a present object is always a complete one.

Modules: ``base`` (the interface, ObjectMissing), ``local`` (LocalStore), ``fsspec_store``
(FsspecStore), ``backends`` (each back end's filesystem from a remote's options), ``errors``
(retry or not, and translation into landmark errors), ``opener`` (open_remote).
"""

from __future__ import annotations

from .base import ObjectMissing, RemoteStore
from .errors import is_transient, translate
from .fsspec_store import FsspecStore
from .local import LocalStore
from .opener import open_remote

__all__ = [
    "FsspecStore",
    "LocalStore",
    "ObjectMissing",
    "RemoteStore",
    "is_transient",
    "open_remote",
    "translate",
]
