"""The CLI's progress bars: rich, on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..progress import Progress, format_size


class RichBar(Progress):
    """One transient rich bar for a command; each phase's ``start`` resets its total. Shows
    bytes when the phase knows them, else objects."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None
        self._bytes = 0
        self._by_bytes = False
        self._total = self._count_total = self._done = 0

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bars

        self._bar = Bars(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._bar.add_task(self._label, total=None, count="")
        self._bar.start()

    def start(self, total: int, total_bytes: int = 0, phase: str = "") -> None:
        with self._lock:
            if self._bar is None:
                self._open()
            self._bytes = 0
            self._by_bytes = total_bytes > 0
            self._total = total_bytes if self._by_bytes else total
            self._count_total = total
            self._done = 0
            label = (
                f"{self._label} {phase}".strip() if phase and phase != self._label else self._label
            )
            self._bar.reset(self._task, total=self._total, description=label, count="")

    def advance(self, objects: int = 1, nbytes: int = 0) -> None:
        with self._lock:
            if self._bar is None:
                return
            self._bytes += nbytes
            self._done += objects
            count = f"{self._done:,}/{self._count_total:,} files"
            if nbytes or self._by_bytes:
                count += f" {format_size(self._bytes)}"
            self._bar.update(self._task, advance=nbytes if self._by_bytes else objects, count=count)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None and self._bar.live.is_started:
                self._bar.stop()


def bar(label: str, enabled: bool | None = None) -> Progress:
    """A bar on stderr when it is a terminal (or ``enabled``), else one that draws nothing;
    ``LANDMARK_NO_PROGRESS=1`` turns bars off."""
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("LANDMARK_NO_PROGRESS")
    return RichBar(label) if enabled else Progress()


@contextmanager
def shown(label: str) -> Iterator[Progress]:
    """``bar(label)`` for the length of a ``with`` block, closed however it ends."""
    progress = bar(label)
    try:
        yield progress
    finally:
        progress.close()


__all__ = ["RichBar", "bar", "shown"]
