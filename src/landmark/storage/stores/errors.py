"""Back ends' exceptions, judged and translated: retry or not, and the one-line landmark error.

:func:`is_transient` says whether a failed call may succeed when retried (dropped connections,
timeouts, 5xx, throttling); :func:`translate` turns what is left into RemoteError with a message
naming the remote and the likely fix (credentials, a missing bucket, an unreachable endpoint).
The back ends' exception classes are recognised by name and error code, so none is imported.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from ...errors import LandmarkError, RemoteError

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


def chain(exc: BaseException) -> Iterator[BaseException]:
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


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call may succeed: dropped connections, timeouts, 5xx and
    throttling; never a missing object, a refusal or a bug."""
    for e in chain(exc):
        if isinstance(e, (FileNotFoundError, PermissionError, LandmarkError)):
            return False
        if isinstance(e, (ConnectionError, TimeoutError)):
            return True
        if type(e).__name__ in _TRANSIENT_NAMES:
            return True
        if error_code(e) in _TRANSIENT_CODES:
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
    names = [type(e).__name__ for e in chain(exc)]
    codes = {c for e in chain(exc) if (c := error_code(e))}
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


def bucket_missing(exc: BaseException) -> bool:
    return any(
        error_code(e) == "NoSuchBucket" or "bucket does not exist" in str(e) for e in chain(exc)
    )


__all__ = ["bucket_missing", "chain", "error_code", "is_transient", "translate"]
