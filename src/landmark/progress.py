"""Progress as events: services count their work through :class:`Progress`; edges draw it.

A service (add, checkout, push, fetch, get) calls ``start`` once per phase with what it is
about to do (objects, and bytes where it knows them), then ``advance`` from any of its worker
threads; whoever made the progress calls ``close`` when the command is over (a service may run
several phases on one). A service never draws anything itself: the CLI
renders progress with rich (``landmark.cli.progress``), a server or a notebook passes its own,
and a caller that passes nothing pays for a no-op method call.

    class Printing(Progress):
        def start(self, total, total_bytes=0, phase=""):
            print(f"{phase}: {total} objects")

or, for a plain function of :class:`ProgressEvent`: ``Progress.calling(fn)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """Where one phase of a service stands."""

    phase: str  # "add", "checkout", "push", "fetch", ...
    done: int  # objects (files) done so far
    total: int
    bytes_done: int = 0
    bytes_total: int = 0  # 0 when the service does not know the bytes up front
    finished: bool = False


class Progress:
    """Receives a service's progress; every method may be called from several threads. The
    base class ignores everything."""

    def start(self, total: int, total_bytes: int = 0, phase: str = "") -> None:
        """A phase begins: ``total`` objects (``total_bytes`` bytes, where known) to do."""

    def advance(self, objects: int = 1, nbytes: int = 0) -> None:
        """``objects`` more are done, ``nbytes`` bytes with them."""

    def close(self) -> None:
        """The command is over (successfully or not); called by the progress's owner."""

    @staticmethod
    def calling(fn: Callable[[ProgressEvent], None]) -> Progress:
        """A progress that hands ``fn`` an event on each change, one call at a time."""
        return _Calling(fn)


class _Calling(Progress):
    def __init__(self, fn: Callable[[ProgressEvent], None]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._event = ProgressEvent("", 0, 0)

    def start(self, total: int, total_bytes: int = 0, phase: str = "") -> None:
        with self._lock:
            self._event = ProgressEvent(phase, 0, total, 0, total_bytes)
            self._fn(self._event)

    def advance(self, objects: int = 1, nbytes: int = 0) -> None:
        with self._lock:
            e = self._event
            self._event = ProgressEvent(
                e.phase, e.done + objects, e.total, e.bytes_done + nbytes, e.bytes_total
            )
            self._fn(self._event)

    def close(self) -> None:
        with self._lock:
            e = self._event
            self._event = ProgressEvent(
                e.phase, e.done, e.total, e.bytes_done, e.bytes_total, finished=True
            )
            self._fn(self._event)


NO_PROGRESS = Progress()


def format_size(n: int) -> str:
    """Bytes for people: ``512 B``, ``3.4 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


__all__ = ["NO_PROGRESS", "Progress", "ProgressEvent", "format_size"]
