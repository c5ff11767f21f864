"""The JSON-lines log of actions: one line per command run and per webhook attempt."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..atomic import write_all

_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


class Journal:
    """Appends records to ``path`` (None: nowhere). Each record is one ``write`` of one line
    with O_APPEND, so records of concurrent pushes never interleave within a line. A log
    that cannot be written is reported once and never stops an action."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._warned = False

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = json.dumps({"time": stamp, **record}, sort_keys=False, default=str) + "\n"
        try:
            try:
                fd = os.open(self.path, _APPEND, 0o644)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, _APPEND, 0o644)
            try:
                write_all(fd, line.encode())
            finally:
                os.close(fd)
        except OSError as e:
            if not self._warned:
                self._warned = True
                sys.stderr.write(f"landmark: cannot write the log {self.path}: {e.strerror}\n")


def read(path: Path) -> list[dict[str, Any]]:
    """Every record of a log (for tests and tools); a torn last line is skipped."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


__all__ = ["Journal", "read"]
