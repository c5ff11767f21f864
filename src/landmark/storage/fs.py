"""Remote object stores: the only module that imports fsspec and its back ends.

A remote holds objects in the cache's layout under its URL (``<url>/files/md5/ab/cdef...``).
:func:`open_remote` turns a configured :class:`~landmark.storage.remotes.Remote` into a
:class:`RemoteStore`: a local directory gets :class:`LocalStore` (plain system calls: fsspec's
per-call overhead dominates 1 KiB files), everything else :class:`FsspecStore` over the fsspec
filesystem of its scheme (s3fs, gcsfs, adlfs, sshfs, fsspec's http and memory).

Every store call retries transient failures (dropped connections, timeouts, 5xx, throttling)
with exponential backoff, then turns what is left into one-line errors from
``landmark.errors``: :class:`ObjectMissing` for an absent object, RemoteError for credentials,
permissions, a missing bucket or anything else, MissingDependency for an absent back end.
Uploads are atomic on the remote (object stores publish a key only when complete; file-like
back ends get a temp name and a rename), so a present object is always a complete one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import (
    ConfigError,
    IntegrityError,
    InvalidInput,
    LandmarkError,
    MissingDependency,
    NotFound,
    RemoteError,
)
from .cache import (
    TMP_PREFIX,
    ObjectCache,
    ObjectFolders,
    unlink_quiet,
    walk_objects,
    write_all,
    write_object,
)
from .hashing import data_md5, file_md5, is_hash
from .remotes import Remote, check_url

T = TypeVar("T")

# Below this many hashes one existence query each is cheaper than listing prefix folders.
LIST_THRESHOLD = 64
RETRIES = 4  # attempts in all, for one call
SMALL_FILE = 1 << 20  # local copies up to this size are one read and one write
BACKOFF_S = 0.25  # first wait; doubles each time (with jitter)

# (scheme, python module, extra that installs it)
_BACKENDS: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "azure": ("adlfs", "azure"),
    "ssh": ("sshfs", "ssh"),
    "http": ("aiohttp", "http"),
    "https": ("aiohttp", "http"),
}


class ObjectMissing(NotFound):
    """An object the transfer needs is not on the remote."""

    def __init__(self, message: str, md5: str) -> None:
        super().__init__(message)
        self.md5 = md5


# -- errors ---------------------------------------------------------------------------------------
_TRANSIENT_NAMES = frozenset(
    {
        # botocore / aiobotocore
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ResponseStreamingError",
        "IncompleteReadError",
        # aiohttp
        "ServerDisconnectedError",
        "ClientConnectorError",
        "ClientOSError",
        "ClientPayloadError",
        "ServerTimeoutError",
        # asyncssh
        "ConnectionLost",
    }
)
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequests",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "503",
        "500",
        "502",
        "504",
    }
)
_TRANSIENT_ERRNOS = frozenset(
    {
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ETIMEDOUT,
        errno.EPIPE,
        errno.EAGAIN,
        errno.EREMOTEIO,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
    }
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _status_code(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        meta = response.get("ResponseMetadata") or {}
        code = meta.get("HTTPStatusCode")
        return int(code) if isinstance(code, int) else None
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    return status if isinstance(status, int) and 100 <= status < 600 else None


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call may succeed: dropped connections, timeouts, 5xx and
    throttling; never a missing object, a refusal or a bug."""
    for e in _chain(exc):
        if isinstance(e, (FileNotFoundError, PermissionError, LandmarkError)):
            return False
        if isinstance(e, (ConnectionError, TimeoutError)):
            return True
        if type(e).__name__ in _TRANSIENT_NAMES:
            return True
        if _error_code(e) in _TRANSIENT_CODES:
            return True
        status = _status_code(e)
        if status is not None and (status >= 500 or status == 429):
            return True
        if isinstance(e, OSError) and e.errno in _TRANSIENT_ERRNOS:
            return True
    return False


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def translate(exc: BaseException, where: str, what: str) -> LandmarkError:
    """A one-line error from ``landmark.errors`` for a back end's exception."""
    if isinstance(exc, LandmarkError):
        return exc
    names = [type(e).__name__ for e in _chain(exc)]
    codes = {c for e in _chain(exc) if (c := _error_code(e))}
    if "NoCredentialsError" in names or "PartialCredentialsError" in names:
        return RemoteError(
            f"no credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE), or run 'landmark remote modify --local NAME access_key_id ...'"
        )
    if "NoSuchBucket" in codes or "The specified bucket does not exist" in str(exc):
        return RemoteError(f"{where}: the bucket does not exist; create it or fix the remote's url")
    if "DefaultCredentialsError" in names:
        return RemoteError(
            f"no credentials for {where}: set GOOGLE_APPLICATION_CREDENTIALS or the remote's "
            "credentialpath"
        )
    if isinstance(exc, PermissionError) or codes & {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "403",
    }:
        return RemoteError(f"access denied to {where} ({_describe(exc)}): check its credentials")
    if any(n in _UNREACHABLE for n in names) or isinstance(exc, ConnectionRefusedError):
        return RemoteError(
            f"cannot reach {where} ({_describe(exc)}): check the network and the remote's url "
            "or endpointurl"
        )
    return RemoteError(f"{where}: {what} failed: {_describe(exc)}")


_UNREACHABLE = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError", "gaierror"}
)


# -- the interface ------------------------------------------------------------------------------
class RemoteStore:
    """Objects under ``<url>/files/md5``: the operations transfers need, whatever the back end."""

    url: str = ""
    read_only: bool = False
    default_jobs: int = 4

    def exists(self, md5: str) -> bool:
        raise NotImplementedError

    def exists_many(self, md5s: Iterable[str], jobs: int | None = None) -> set[str]:
        """Which of ``md5s`` the remote holds (a batch: folder listings or parallel queries)."""
        raise NotImplementedError

    def upload(self, local_path: str | Path, md5: str) -> int:
        """Store the file at ``local_path`` as object ``md5``, atomically on the remote; the
        number of bytes sent."""
        raise NotImplementedError

    def download(self, md5: str, dest_tmp: Path) -> int:
        """Write object ``md5`` to ``dest_tmp`` (a temp path: the caller verifies and renames);
        the number of bytes written. ObjectMissing when the remote does not have it."""
        raise NotImplementedError

    def download_verified(self, md5: str, dest_tmp: Path) -> int:
        """:meth:`download`, then IntegrityError unless the bytes hash to ``md5``."""
        size = self.download(md5, dest_tmp)
        actual = _path_hash(os.fspath(dest_tmp), md5)
        if actual != md5:
            raise IntegrityError(f"object {md5} on {self.url} is corrupt (its md5 is {actual})")
        return size

    def fetch_into(self, cache: ObjectCache, md5: str) -> int:
        """Download object ``md5`` into ``cache``, verified, appearing whole or not at all;
        the number of bytes."""
        tmp = cache.open_tmp(md5)
        try:
            size = self.download_verified(md5, tmp)
            cache.commit_tmp(tmp, md5, verify=False)  # just checked, on the way in
        except BaseException:
            unlink_quiet(os.fspath(tmp))
            raise
        return size

    def list_hashes(self) -> Iterator[str]:
        """Every complete object on the remote (``.dir`` included)."""
        raise NotImplementedError

    def remove(self, md5: str) -> None:
        raise NotImplementedError

    def clean_tmp(self) -> int:
        """Remove partial uploads left by interrupted pushes (file-like remotes only)."""
        return 0

    def check_writable(self) -> None:
        if self.read_only:
            raise RemoteError(
                f"{self.url} is read-only (an HTTP remote): push to an s3://, gs://, azure://, "
                "ssh:// or local remote instead"
            )

    def missing(self, md5: str) -> ObjectMissing:
        return ObjectMissing(f"object {md5} is not on the remote {self.url}", md5)


def _parallel(fn: Callable[[T], Any], items: list[T], jobs: int) -> list[Any]:
    if len(items) <= 1 or jobs <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(fn, items))


# -- local directories --------------------------------------------------------------------------
class LocalStore(RemoteStore, ObjectFolders):
    """A remote that is a directory on this machine (or a mounted share): plain system calls,
    reflinked where the filesystem can, published by rename."""

    # Small local copies are a few system calls each: threads beyond the cores only trade
    # the GIL back and forth (8 threads on 2 cores pushed 20,000 files 30% slower than 2).
    default_jobs = max(1, min(8, os.cpu_count() or 1))

    def __init__(self, root: Path, url: str | None = None) -> None:
        self.root = Path(root)
        self.url = url or os.fspath(root)
        self._base = os.path.join(os.fspath(self.root), "files", "md5")
        self._made: set[str] = set()
        self._reflink = True

    def __repr__(self) -> str:
        return f"LocalStore({self.url!r})"

    def _wrap(self, exc: OSError, what: str) -> LandmarkError:
        return RemoteError(f"{self.url}: {what} failed: {exc.strerror or exc}")

    def exists(self, md5: str) -> bool:
        return os.path.exists(self.ospath(md5))

    def exists_many(self, md5s: Iterable[str], jobs: int | None = None) -> set[str]:
        wanted = set(md5s)
        if len(wanted) <= LIST_THRESHOLD:
            return {m for m in wanted if os.path.exists(self.ospath(m))}
        by_prefix: dict[str, set[str]] = {}
        for m in wanted:
            by_prefix.setdefault(m[:2], set()).add(m[2:])
        found: set[str] = set()
        for prefix, rests in by_prefix.items():
            try:
                names = os.listdir(f"{self._base}/{prefix}")
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as e:
                raise self._wrap(e, "listing") from e
            found.update(prefix + n for n in rests.intersection(names))
        return found

    def _copy(self, src: str, dest: str) -> int:
        """One copy of ``src`` as the new file ``dest`` (a reflink where possible); its size."""
        fd = os.open(src, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if size <= SMALL_FILE:
                # One read and one write: shutil's bookkeeping costs more than the copy here.
                data = os.read(fd, size + 1)
                _write_new(dest, data)
                return len(data)
        finally:
            os.close(fd)
        from .cache import copy_file, reflink

        if self._reflink:
            try:
                reflink(src, dest)
                return size
            except OSError:
                self._reflink = False  # not on this filesystem pair: stop trying
        copy_file(src, dest)
        return size

    def upload(self, local_path: str | Path, md5: str) -> int:
        try:
            parent = self._parent(md5)
            small = _read_small(os.fspath(local_path))
            if small is not None:  # most objects of a folder: one read, one new file
                write_object(parent, self.ospath(md5), small, 0o644)
                return len(small)
            tmp = f"{parent}/{TMP_PREFIX}{md5[2:]}-{uuid.uuid4().hex[:12]}"
            try:
                size = self._copy(os.fspath(local_path), tmp)
                os.replace(tmp, self.ospath(md5))
            except BaseException:
                unlink_quiet(tmp)
                raise
        except OSError as e:
            raise self._wrap(e, f"upload of {md5}") from e
        return size

    def download(self, md5: str, dest_tmp: Path) -> int:
        return self._fetch(md5, dest_tmp, verify=False)

    def fetch_into(self, cache: ObjectCache, md5: str) -> int:
        src = self.ospath(md5)
        try:
            small = _read_small(src)
        except FileNotFoundError:
            raise self.missing(md5) from None
        except OSError as e:
            raise self._wrap(e, f"download of {md5}") from e
        if small is None or data_md5(small, md5) != md5:
            # large, or not as expected: the general path streams, verifies and says why
            return super().fetch_into(cache, md5)
        cache.put_verified(small, md5)
        return len(small)

    def download_verified(self, md5: str, dest_tmp: Path) -> int:
        return self._fetch(md5, dest_tmp, verify=True)

    def _fetch(self, md5: str, dest_tmp: Path, verify: bool) -> int:
        src = self.ospath(md5)
        try:
            if verify:
                return self._copy_verified(src, os.fspath(dest_tmp), md5)
            return self._copy(src, os.fspath(dest_tmp))
        except FileNotFoundError:
            if not os.path.exists(src):
                raise self.missing(md5) from None
            raise
        except OSError as e:
            raise self._wrap(e, f"download of {md5}") from e

    def _copy_verified(self, src: str, dest: str, md5: str) -> int:
        """Copy ``src`` to the new file ``dest`` checking on the way that it hashes to ``md5``:
        small files are hashed in memory, large ones while they are written (md5 and the disk
        run side by side), or reflinked and then read once where the filesystem can."""
        fd = os.open(src, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if size <= SMALL_FILE:
                data = os.read(fd, size + 1)
                _check(data_md5(data, md5), md5, self.url)
                _write_new(dest, data)
                return len(data)
            if self._reflink:
                try:
                    from .cache import reflink

                    reflink(src, dest)
                except OSError:
                    self._reflink = False
                else:
                    _check(_path_hash(dest, md5), md5, self.url)
                    return size
            return _copy_hashing(fd, dest, md5, self.url)
        finally:
            os.close(fd)

    def list_hashes(self) -> Iterator[str]:
        return walk_objects(self._base)

    def remove(self, md5: str) -> None:
        unlink_quiet(self.ospath(md5))

    def clean_tmp(self, older_than_s: float = 0) -> int:
        # every partial upload (RemoteStore's, first in the MRO, has none to clean)
        return ObjectFolders.clean_tmp(self, older_than_s)


COPY_CHUNK = 1 << 20


def _copy_hashing(fd: int, dest: str, md5: str, url: str) -> int:
    """Copy the open file ``fd`` to the new file ``dest``, hashing each chunk on a second
    thread while it is written (hashlib drops the GIL), then check the hash."""
    import hashlib

    h = hashlib.md5()
    bufs = (bytearray(COPY_CHUNK), bytearray(COPY_CHUNK))
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    total = 0
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            cur = 0
            n = os.readv(fd, [bufs[cur]])
            while n:
                view = memoryview(bufs[cur])[:n]
                hashing = pool.submit(h.update, view)
                rest = view
                while rest:
                    rest = rest[os.write(out, rest) :]
                total += n
                cur = 1 - cur
                n = os.readv(fd, [bufs[cur]])
                hashing.result()  # the buffer it reads is refilled next round
    finally:
        os.close(out)
    actual = h.hexdigest() + (".dir" if md5.endswith(".dir") else "")
    _check(actual, md5, url)
    return total


def _check(actual: str, md5: str, url: str) -> None:
    if actual != md5:
        raise IntegrityError(f"object {md5} on {url} is corrupt (its md5 is {actual})")


def _path_hash(path: str, md5: str) -> str:
    if md5.endswith(".dir"):
        with open(path, "rb") as f:
            return data_md5(f.read(), md5)
    return file_md5(path)


def _write_new(dest: str, data: bytes) -> None:
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(out, data)
    finally:
        os.close(out)


def _read_small(path: str) -> bytes | None:
    """The bytes of the file at ``path`` if it is at most SMALL_FILE long, else None."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > SMALL_FILE:
            return None
        data = os.read(fd, size + 1)
    finally:
        os.close(fd)
    return data if len(data) == size else None  # a short read or a growing file: go slow


# -- fsspec filesystems -------------------------------------------------------------------------
class FsspecStore(RemoteStore):
    """Objects on any fsspec filesystem, under ``root`` (a path in that filesystem's terms:
    ``bucket/prefix`` for object stores)."""

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str | None = None,
        *,
        read_only: bool = False,
        atomic_put: bool = True,
        listable: bool = True,
        jobs: int = 16,
        retries: int = RETRIES,
        backoff: float = BACKOFF_S,
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url or root
        self.read_only = read_only
        self.atomic_put = atomic_put
        self.listable = listable
        self.default_jobs = jobs
        self.retries = max(1, retries)
        self.backoff = backoff
        self._base = f"{self.root}/files/md5" if self.root else "files/md5"
        self._made: set[str] = set()

    def __repr__(self) -> str:
        return f"FsspecStore({self.url!r})"

    def rpath(self, md5: str) -> str:
        return f"{self._base}/{md5[:2]}/{md5[2:]}"

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args)``, retried with backoff while it fails transiently; errors translated.
        FileNotFoundError passes through untouched for the caller to interpret."""
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except FileNotFoundError as e:
                if _bucket_missing(e):
                    raise translate(e, self.url, what) from e
                raise
            except LandmarkError:
                raise
            except Exception as e:
                attempt += 1
                if attempt >= self.retries or not is_transient(e):
                    raise translate(e, self.url, what) from e
                delay = self.backoff * (2 ** (attempt - 1))
                time.sleep(delay * (0.5 + random.random()))

    def _info_exists(self, md5: str) -> bool:
        try:
            self._call(f"checking {md5}", self.fs.info, self.rpath(md5))
        except FileNotFoundError:
            return False
        return True

    def exists(self, md5: str) -> bool:
        return self._info_exists(md5)

    def _list_prefix(self, prefix: str) -> list[str]:
        folder = f"{self._base}/{prefix}"
        with contextlib.suppress(Exception):  # a filesystem without a listing cache
            self.fs.invalidate_cache(folder)
        try:
            names = self._call(f"listing {prefix}/", self.fs.ls, folder, detail=False)
        except FileNotFoundError:
            return []
        return [str(n).rstrip("/").rsplit("/", 1)[-1] for n in names]

    def exists_many(self, md5s: Iterable[str], jobs: int | None = None) -> set[str]:
        wanted = sorted(set(md5s))
        jobs = jobs or self.default_jobs
        if len(wanted) <= LIST_THRESHOLD or not self.listable:
            flags = _parallel(self._info_exists, wanted, jobs)
            return {m for m, ok in zip(wanted, flags, strict=True) if ok}
        by_prefix: dict[str, set[str]] = {}
        for m in wanted:
            by_prefix.setdefault(m[:2], set()).add(m[2:])
        prefixes = sorted(by_prefix)
        listings = _parallel(self._list_prefix, prefixes, jobs)
        found: set[str] = set()
        for prefix, names in zip(prefixes, listings, strict=True):
            found.update(prefix + n for n in by_prefix[prefix].intersection(names))
        return found

    def _ensure_parent(self, md5: str) -> None:
        parent = f"{self._base}/{md5[:2]}"
        if parent not in self._made:
            self._call("creating a folder", self.fs.makedirs, parent, exist_ok=True)
            self._made.add(parent)

    def upload(self, local_path: str | Path, md5: str) -> int:
        self.check_writable()
        target = self.rpath(md5)
        size = os.path.getsize(local_path)
        if self.atomic_put:
            self._call(f"upload of {md5}", self.fs.put_file, os.fspath(local_path), target)
            return size
        self._ensure_parent(md5)
        tmp = f"{self._base}/{md5[:2]}/{TMP_PREFIX}{md5[2:]}-{uuid.uuid4().hex[:12]}"
        try:
            self._call(f"upload of {md5}", self.fs.put_file, os.fspath(local_path), tmp)
            self._call(f"upload of {md5}", self.fs.mv, tmp, target)
        except BaseException:
            with contextlib.suppress(Exception):  # best effort: clean_tmp sweeps leftovers
                self.fs.rm_file(tmp)
            raise
        return size

    def download(self, md5: str, dest_tmp: Path) -> int:
        try:
            self._call(f"download of {md5}", self.fs.get_file, self.rpath(md5), os.fspath(dest_tmp))
        except FileNotFoundError:
            raise self.missing(md5) from None
        return os.path.getsize(dest_tmp)

    def list_hashes(self) -> Iterator[str]:
        with contextlib.suppress(Exception):
            self.fs.invalidate_cache(self._base)
        if not self.listable:
            raise RemoteError(f"{self.url} cannot be listed (an HTTP remote)")
        try:
            paths = self._call("listing", self.fs.find, self._base)
        except FileNotFoundError:
            return
        base = self._base.lstrip("/")
        for p in sorted(paths):
            rel = str(p).lstrip("/")
            if not rel.startswith(base + "/"):
                continue
            parts = rel[len(base) + 1 :].split("/")
            if len(parts) == 2 and is_hash(parts[0] + parts[1]):
                yield parts[0] + parts[1]

    def remove(self, md5: str) -> None:
        self.check_writable()
        with contextlib.suppress(FileNotFoundError):
            self._call(f"removing {md5}", self.fs.rm_file, self.rpath(md5))

    def clean_tmp(self) -> int:
        if self.atomic_put or not self.listable:
            return 0
        try:
            paths = self._call("listing", self.fs.find, self._base)
        except FileNotFoundError:
            return 0
        stale = [p for p in paths if str(p).rsplit("/", 1)[-1].startswith(TMP_PREFIX)]
        for p in stale:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(p)
        return len(stale)


def _bucket_missing(exc: BaseException) -> bool:
    return any(
        _error_code(e) == "NoSuchBucket" or "bucket does not exist" in str(e) for e in _chain(exc)
    )


# -- from a configured remote -------------------------------------------------------------------
def _require(scheme: str) -> None:
    module, extra = _BACKENDS[scheme]
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            f"{scheme}:// remotes need the {module} package: pip install 'landmark[{extra}]'"
        ) from None


def _split(url: str) -> tuple[str, str]:
    """(scheme, the rest of the url without ``scheme://``)."""
    scheme, _, rest = url.partition("://")
    return scheme.lower(), rest


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
        import fsspec

        _, rest = _split(remote.url)
        return FsspecStore(fsspec.filesystem("memory"), "/" + rest.strip("/"), remote.url)
    _require(scheme)
    if scheme == "s3":
        # s3fs retries dropped connections itself; botocore's own retries are turned off
        # (below), so this layer adds few attempts on top: 5xx and throttling.
        return FsspecStore(_s3(remote), _split(remote.url)[1].strip("/"), remote.url, retries=3)
    if scheme == "gs":
        return FsspecStore(_gcs(remote), _split(remote.url)[1].strip("/"), remote.url)
    if scheme == "azure":
        return FsspecStore(_azure(remote), _split(remote.url)[1].strip("/"), remote.url)
    if scheme == "ssh":
        fs, root = _ssh(remote)
        jobs = int(remote.get("max_sessions") or 8)
        return FsspecStore(fs, root, remote.url, atomic_put=False, jobs=jobs)
    if scheme in ("http", "https"):
        return FsspecStore(
            _http(remote), remote.url.rstrip("/"), remote.url, read_only=True, listable=False
        )
    raise InvalidInput(f"unsupported remote url {remote.url!r}")


def _s3(remote: Remote) -> Any:
    import s3fs

    client: dict[str, Any] = {}
    config: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    kw: dict[str, Any] = {"skip_instance_cache": True}
    if remote.get("endpointurl"):
        client["endpoint_url"] = remote.get("endpointurl")
    if remote.get("region"):
        client["region_name"] = remote.get("region")
    ssl_verify = remote.get("ssl_verify")
    if ssl_verify is not None:
        lowered = ssl_verify.lower()
        client["verify"] = (
            lowered in ("true", "yes", "1", "on")
            if lowered in ("true", "false", "yes", "no", "1", "0", "on", "off")
            else ssl_verify
        )
    for opt, key in (("read_timeout", "read_timeout"), ("connect_timeout", "connect_timeout")):
        if remote.get(opt):
            config[key] = int(remote.get(opt) or 0)
    if remote.get("access_key_id"):
        kw["key"] = remote.get("access_key_id")
    if remote.get("secret_access_key"):
        kw["secret"] = remote.get("secret_access_key")
    if remote.get("session_token"):
        kw["token"] = remote.get("session_token")
    if remote.get("use_ssl") is not None:
        kw["use_ssl"] = remote.flag("use_ssl", True)
    if remote.flag("allow_anonymous_login") and "key" not in kw:
        kw["anon"] = True
    for opt, key in (
        ("sse", "ServerSideEncryption"),
        ("sse_kms_key_id", "SSEKMSKeyId"),
        ("sse_customer_algorithm", "SSECustomerAlgorithm"),
        ("sse_customer_key", "SSECustomerKey"),
        ("acl", "ACL"),
        ("grant_read", "GrantRead"),
        ("grant_read_acp", "GrantReadACP"),
        ("grant_write_acp", "GrantWriteACP"),
        ("grant_full_control", "GrantFullControl"),
    ):
        if remote.get(opt):
            extra[key] = remote.get(opt)
    profile = remote.get("profile")
    credentialpath, configpath = remote.get("credentialpath"), remote.get("configpath")
    if credentialpath or configpath:
        from aiobotocore.session import AioSession

        session = AioSession(profile=profile)
        if credentialpath:
            session.set_config_variable("credentials_file", credentialpath)
        if configpath:
            session.set_config_variable("config_file", configpath)
        kw["session"] = session
    elif profile:
        kw["profile"] = profile
    if remote.flag("version_aware"):
        kw["version_aware"] = True
    if remote.flag("cache_regions"):
        kw["cache_regions"] = True
    # Three layers retrying the same request multiply (a wrong endpoint would take a minute
    # to report): botocore makes one attempt, s3fs three, FsspecStore._call three.
    config["retries"] = {"total_max_attempts": 1}
    fs = s3fs.S3FileSystem(
        client_kwargs=client or None,
        config_kwargs=config,
        s3_additional_kwargs=extra or None,
        **kw,
    )
    fs.retries = 3
    return fs


def _gcs(remote: Remote) -> Any:
    import gcsfs

    fs_class = gcsfs.GCSFileSystem
    if remote.get("endpointurl"):
        # gcsfs's default class asks Google's gRPC control plane what kind of bucket this is
        # (and waits a minute for every answer that doesn't come): not at a custom endpoint.
        import gcsfs.core

        fs_class = gcsfs.core.GCSFileSystem
    kw: dict[str, Any] = {"skip_instance_cache": True}
    if remote.get("projectname"):
        kw["project"] = remote.get("projectname")
    if remote.get("credentialpath"):
        kw["token"] = remote.get("credentialpath")
    elif remote.flag("allow_anonymous_login"):
        kw["token"] = "anon"
    if remote.get("endpointurl"):
        kw["endpoint_url"] = remote.get("endpointurl")
    return fs_class(**kw)


def _azure(remote: Remote) -> Any:
    import adlfs

    kw: dict[str, Any] = {"skip_instance_cache": True}
    for opt in (
        "connection_string",
        "sas_token",
        "account_name",
        "account_key",
        "tenant_id",
        "client_id",
        "client_secret",
    ):
        if remote.get(opt):
            kw[opt] = remote.get(opt)
    if remote.flag("allow_anonymous_login"):
        kw["anon"] = True
    if "account_name" not in kw and os.environ.get("AZURE_STORAGE_ACCOUNT"):
        kw["account_name"] = os.environ["AZURE_STORAGE_ACCOUNT"]
    return adlfs.AzureBlobFileSystem(**kw)


def _ssh(remote: Remote) -> tuple[Any, str]:
    from urllib.parse import urlsplit

    import sshfs

    parts = urlsplit(remote.url)
    if not parts.hostname:
        raise InvalidInput(f"ssh remote {remote.name!r} has no host: use ssh://[user@]host/path")
    kw: dict[str, Any] = {"skip_instance_cache": True}
    port = remote.get("port") or (str(parts.port) if parts.port else None)
    if port:
        kw["port"] = int(port)
    user = remote.get("user") or parts.username
    if user:
        kw["username"] = user
    if remote.get("password"):
        kw["password"] = remote.get("password")
    if remote.get("keyfile"):
        kw["client_keys"] = [remote.get("keyfile")]
    if remote.get("passphrase"):
        kw["passphrase"] = remote.get("passphrase")
    if remote.get("timeout"):
        kw["connect_timeout"] = int(remote.get("timeout") or 0)
    if remote.get("max_sessions"):
        kw["max_sessions"] = int(remote.get("max_sessions") or 0)
    try:
        fs = sshfs.SSHFileSystem(parts.hostname, **kw)
    except Exception as e:  # asyncssh's errors have no common base worth naming
        raise translate(e, remote.url, "connecting") from e
    return fs, parts.path or "/"


def _http(remote: Remote) -> Any:
    from fsspec.implementations.http import HTTPFileSystem

    client: dict[str, Any] = {}
    headers: dict[str, str] = {}
    auth = (remote.get("auth") or "").lower()
    if auth == "basic":
        import aiohttp

        client["auth"] = aiohttp.BasicAuth(remote.get("user") or "", remote.get("password") or "")
    elif auth == "custom" and remote.get("custom_auth_header"):
        headers[remote.get("custom_auth_header") or ""] = remote.get("password") or ""
    elif auth == "digest":
        raise InvalidInput("digest authentication is not supported for HTTP remotes; use basic")
    if headers:
        client["headers"] = headers
    return HTTPFileSystem(client_kwargs=client, skip_instance_cache=True)


__all__ = [
    "FsspecStore",
    "LocalStore",
    "ObjectMissing",
    "RemoteStore",
    "is_transient",
    "open_remote",
    "translate",
]
