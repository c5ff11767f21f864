"""Webhook deliveries: the event as JSON, signed with HMAC-SHA256 of the body, retried with
exponential backoff a bounded number of times; every attempt is logged."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from .journal import Journal

SIGNATURE_HEADER = "X-Landmark-Signature"
ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the second attempt; doubled for each one after
MAX_DELAY = 30.0
TIMEOUT = 10.0


def check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"--webhook {url!r}: give an http:// or https:// URL")
    return url


def safe_url(url: str) -> str:
    """The URL without any user:password, for logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def read_secret(path: str | Path) -> bytes:
    """The secret: the file's first line, without surrounding blanks."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise InvalidInput(f"--secret-file {path}: {e.strerror or e}") from e
    lines = text.splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise InvalidInput(f"--secret-file {path}: the file's first line is empty")
    return secret.encode()


def sign(body: bytes, secret: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: bytes, header: str) -> bool:
    """What a receiver checks (constant-time comparison)."""
    return hmac.compare_digest(sign(body, secret), header)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    status: int | None  # the last HTTP status; None when no answer came
    error: str | None


def deliver(
    url: str,
    body: bytes,
    secret: bytes,
    *,
    event: str,
    tag: str,
    journal: Journal,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``body`` until a 2xx answer, at most ``attempts`` times. Connection errors,
    timeouts, 429 and 5xx answers are retried; other answers are final. Every attempt
    carries the same ``X-Landmark-Delivery`` id, so a receiver can drop repeats."""
    from .. import __version__

    delivery_id = uuid.uuid4().hex
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"landmark/{__version__}",
        "X-Landmark-Event": event,
        "X-Landmark-Delivery": delivery_id,
        SIGNATURE_HEADER: sign(body, secret),
    }
    shown = safe_url(url)
    status: int | None = None
    error: str | None = None
    for attempt in range(1, attempts + 1):
        status, error = _post(url, body, headers)
        ok = status is not None and 200 <= status < 300
        retry = not ok and (status is None or status == 429 or status >= 500)
        journal.write(
            {
                "action": "webhook",
                "tag": tag,
                "url": shown,
                "delivery": delivery_id,
                "attempt": attempt,
                "status": status,
                "ok": ok,
                **({"error": error} if error else {}),
            }
        )
        if ok:
            return Delivery(True, attempt, status, None)
        if not retry or attempt == attempts:
            break
        sleep(min(backoff * 2 ** (attempt - 1), MAX_DELAY))
    return Delivery(False, attempt, status, error)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read(65536)
            return int(response.status), None
    except urllib.error.HTTPError as e:
        return int(e.code), f"HTTP {e.code} {e.reason}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        return None, " ".join(str(reason).split())[:200]


__all__ = [
    "ATTEMPTS",
    "SIGNATURE_HEADER",
    "Delivery",
    "check_url",
    "deliver",
    "read_secret",
    "safe_url",
    "sign",
    "verify",
]
