"""Running an action's command: ``/bin/sh -c CMD`` with the event in its environment, its
output streamed line by line to the caller (for a hook: to the pusher) and its tail kept."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Variables git sets for a hook that would point a command's own git calls at this repository.
_GIT_SCRUB = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
TAIL_CHARS = 4000
# After the command exits, how long its output may stay open (a background process it
# started and did not redirect) before we stop reading and return.
DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    seconds: float
    tail: str  # the last TAIL_CHARS characters of its output
    output_left_open: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def command_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_SCRUB}
    env.update(extra)
    return env


def run_command(
    command: str,
    env: Mapping[str, str],
    *,
    cwd: str | None = None,
    on_line: Callable[[str], None] = lambda line: None,
) -> RunResult:
    """Run ``command`` with ``env`` added to ours; stdout and stderr, merged, go to ``on_line``.

    The command is the operator's (from ``--run``); the event reaches it only as variables.
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=command_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as e:
        return RunResult(127, time.monotonic() - start, f"cannot start /bin/sh: {e.strerror}")
    assert proc.stdout is not None
    tail: list[str] = []
    size = [0]

    def pump() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\r\n")
            on_line(line)
            tail.append(line)
            size[0] += len(line) + 1
            while size[0] > TAIL_CHARS and len(tail) > 1:
                size[0] -= len(tail.pop(0)) + 1

    reader = threading.Thread(target=pump, name="landmark-action-output", daemon=True)
    reader.start()
    code = proc.wait()
    reader.join(DRAIN_SECONDS)
    left_open = reader.is_alive()
    text = "\n".join(tail)[-TAIL_CHARS:]
    return RunResult(code, time.monotonic() - start, text, left_open)


__all__ = ["DRAIN_SECONDS", "TAIL_CHARS", "RunResult", "command_env", "run_command"]
