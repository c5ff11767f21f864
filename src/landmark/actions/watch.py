"""``landmark watch``: for Git hosts without server-side hooks, fetch the tags every interval
and act on each new registry event once, across restarts.

The state file holds the keys of the events already handled (tag, commit and time, so a tag
deleted and made again counts as new) and the one in flight. It is replaced atomically
(temp file + rename) before an action starts, with that event marked ``pending``, and again
right after it completes, with the event moved to ``seen``. So an event whose action
completed is never acted on again, and none is missed; only an action interrupted by a kill
runs again on restart, with ``LANDMARK_REDELIVERY=1`` in its environment (at-least-once for
that one event: make the command safe to repeat, or check that variable). On the first start
the events already there count as seen (``from_start``: act on them too), in tag order.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..atomic import write_atomic
from ..errors import Conflict, InvalidInput, LandmarkError
from ..git import cache_root
from .act import Action, perform
from .events import ActionEvent, action_events
from .journal import Journal

STATE_VERSION = 1


def event_key(e: ActionEvent) -> str:
    return f"{e.tag} {e.commit} {e.created_at}"


def default_state_path(location: str, action: Action) -> Path:
    """One state file per repository and action, in landmark's cache folder."""
    ident = json.dumps([location, action.command, action.webhook, list(action.on)])
    return cache_root() / "watch" / (hashlib.sha256(ident.encode()).hexdigest()[:20] + ".json")


@dataclass
class WatchState:
    path: Path
    repo: str
    seen: set[str] = field(default_factory=set)
    pending: str | None = None
    fresh: bool = True  # no file yet

    @classmethod
    def load(cls, path: Path, repo: str) -> WatchState:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path, repo)
        except OSError as e:
            raise InvalidInput(f"--state {path}: {e.strerror}") from e
        try:
            data = json.loads(raw)
            ok = isinstance(data, dict) and data.get("version") == STATE_VERSION
        except ValueError:
            ok = False
        if not ok:
            raise InvalidInput(f"--state {path}: not a landmark watch state file")
        if data.get("repo") != repo:
            raise InvalidInput(
                f"--state {path} belongs to {data.get('repo')!r}, not {repo!r}: give another --state"
            )
        pending = data.get("pending")
        return cls(path, repo, set(data.get("seen") or []), pending, fresh=False)

    def save(self, current: set[str] | None = None) -> None:
        """Replace the file atomically; keys of events no longer in the registry are dropped."""
        seen = self.seen if current is None else self.seen & current
        self.seen = seen
        data = {
            "version": STATE_VERSION,
            "repo": self.repo,
            "pending": self.pending,
            "seen": sorted(seen),
        }
        write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode())
        self.fresh = False


class _Lock:
    """Only one watcher per state file: a non-blocking flock held while it runs."""

    def __init__(self, path: Path) -> None:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 (held for the process)
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            self._file.close()
            raise Conflict(f"another 'landmark watch' uses the state file {path}") from e

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class WatchOptions:
    location: str
    action: Action
    interval: float = 30.0
    state_path: Path | None = None
    log: Path | None = None
    once: bool = False
    from_start: bool = False


def watch(
    opts: WatchOptions,
    *,
    say: Callable[[str], None],
    stop: threading.Event | None = None,
) -> int:
    """Run until ``stop`` is set (or once); 1 when an action failed in a ``once`` run."""
    from ..registry import Registry

    if not opts.interval > 0:
        raise InvalidInput("--interval must be more than 0 seconds")
    stop = stop or threading.Event()
    state_path = opts.state_path or default_state_path(opts.location, opts.action)
    journal = Journal(opts.log or state_path.with_suffix(".log"))
    lock = _Lock(state_path.with_name(state_path.name + ".lock"))
    try:
        state = WatchState.load(state_path, opts.location)
        reg = Registry(opts.location, refresh_interval=0)
        failed = False
        first = True
        while not stop.is_set():
            if not first:
                try:
                    reg.refresh()
                except LandmarkError as e:
                    if opts.once:
                        raise
                    say(f"landmark watch: {e}; trying again in {opts.interval:g}s")
                    stop.wait(opts.interval)
                    continue
            events = action_events(reg.state(annotations=False))
            if first and state.fresh:
                if not opts.from_start:
                    state.seen = {event_key(e) for e in events}
                state.save()
                say(
                    f"landmark watch: {opts.location}: {len(state.seen)} events already there; "
                    f"state in {state_path}"
                )
            first = False
            if not _cycle(opts, events, state, journal, say, stop):
                failed = True
            if opts.once:
                break
            stop.wait(opts.interval)
        return 1 if failed and opts.once else 0
    finally:
        lock.close()


def _cycle(
    opts: WatchOptions,
    events: list[ActionEvent],
    state: WatchState,
    journal: Journal,
    say: Callable[[str], None],
    stop: threading.Event,
) -> bool:
    current = {event_key(e) for e in events}
    new = [e for e in events if event_key(e) not in state.seen]
    ok = True
    changed = False
    for e in new:
        if stop.is_set():
            break
        key = event_key(e)
        if not opts.action.wants(e):
            state.seen.add(key)
            changed = True
            continue
        extra = {"LANDMARK_REDELIVERY": "1"} if state.pending == key else {}
        if extra:
            say(f"landmark watch: {e.tag}: acting again (the last run was interrupted)")
        state.pending = key
        state.save(current)
        if not perform(
            opts.action,
            e,
            repo=opts.location,
            journal=journal,
            say=say,
            source="watch",
            extra_env=extra,
        ):
            ok = False
        state.seen.add(key)
        state.pending = None
        state.save(current)
        changed = False
    if changed or (state.pending is not None and state.pending not in current):
        state.pending = None if state.pending not in current else state.pending
        state.save(current)
    return ok


__all__ = ["WatchOptions", "WatchState", "default_state_path", "event_key", "watch"]
