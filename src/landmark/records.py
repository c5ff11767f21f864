"""What the domain reads from git, as plain values: a raw tag, a commit, git's date form.

The git gateway (``git.py``) fills these in; ``state.py`` folds raw tags into events and the
GTO JSON renderer shows commits. Pure: stdlib only, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache


@dataclass(frozen=True)
class RawTag:
    """One tag as git stores it. ``target`` is the commit an annotated tag points at."""

    name: str
    annotated: bool
    target: str
    target_type: str
    tagger: str
    tagger_email: str
    date: str  # git's raw form, "1700000000 +0100"; parsed only when shown
    message: str


@dataclass(frozen=True)
class CommitInfo:
    """A commit's date, author, committer and message."""

    sha: str
    time: datetime
    author: str
    author_email: str
    committer: str
    committer_email: str
    message: str


@lru_cache(maxsize=64)
def _zone(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    digits = offset.lstrip("+-") or "0000"
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def to_datetime(stamp: int, offset: str) -> datetime:
    """Seconds since the epoch and a ``+0130`` offset -> an aware datetime in that offset."""
    return datetime.fromtimestamp(stamp, tz=_zone(offset))


def parse_raw_date(raw: str) -> datetime:
    """``1700000000 +0130`` -> an aware datetime in that offset (as git shows it)."""
    stamp, _, offset = raw.strip().partition(" ")
    return to_datetime(int(stamp), offset)
