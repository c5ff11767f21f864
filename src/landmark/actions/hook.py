"""``landmark hook``: a post-receive hook that acts on each registry tag a push creates.

``install`` writes the settings (``landmark/hooks/post-receive.json`` in the git folder) and
a small ``hooks/post-receive`` script that calls this landmark by absolute path. An existing
hook that is not landmark's is kept: install refuses, or with ``chain=True`` moves it to
``post-receive.chained`` and runs it first, with the same input. ``run`` reads git's
``OLD NEW REF`` lines, keeps the created or moved tags, and acts on the registry events
among them in tag order (tag time, GTO's kind priority, ``#N``), one at a time: a
repository-wide lock makes concurrent pushes take turns. What it prints reaches the pusher
as ``remote:`` lines; every action is logged to ``landmark/hooks.log``.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_atomic
from ..errors import ConfigError, Conflict, InvalidInput
from ..events import looks_like_registry_tag
from ..filelock import locked
from ..git import Repo, is_url
from .act import Action, perform
from .events import action_events
from .journal import Journal

HOOKS = ("post-receive",)
MARKER = "# landmark-hook: written by `landmark hook install`"
CHAINED_SUFFIX = ".chained"
SETTINGS_VERSION = 1


@dataclass(frozen=True)
class Installed:
    script: Path
    settings: Path
    chained: Path | None
    replaced: bool  # an earlier landmark hook was updated


def _git_dir(location: str) -> tuple[Repo, Path]:
    if is_url(location):
        raise InvalidInput(
            f"{location!r} is a URL: install the hook on the server, in the bare repository "
            "(-r PATH), or use 'landmark watch -r URL' where the host runs no hooks"
        )
    repo = Repo.open(location)
    common = repo.out("rev-parse", "--git-common-dir").strip()
    return repo, (repo.path / common).resolve()


def _hooks_dir(repo: Repo) -> Path:
    # --git-path honours core.hooksPath
    return (repo.path / repo.out("rev-parse", "--git-path", "hooks").strip()).resolve()


def settings_path(git_dir: Path, hook: str) -> Path:
    return git_dir / "landmark" / "hooks" / f"{hook}.json"


def log_path(git_dir: Path) -> Path:
    return git_dir / "landmark" / "hooks.log"


def landmark_command() -> list[str]:
    """How a hook calls this landmark: the console script beside this interpreter (not
    resolved: a virtual environment's python is a link), else the interpreter itself."""
    python = os.path.abspath(sys.executable)
    script = os.path.join(os.path.dirname(python), "landmark")
    if os.access(script, os.X_OK):
        return [script]
    return [
        python,
        "-c",
        "import sys; from landmark.cli import entry; sys.argv[0] = 'landmark'; entry()",
    ]


def _script(hook: str, chained: bool) -> str:
    call = " ".join(shlex.quote(a) for a in [*landmark_command(), "hook", "run", hook])
    head = (
        "#!/bin/sh\n"
        f"{MARKER}\n"
        f"# Settings: landmark/hooks/{hook}.json in the git folder; log: landmark/hooks.log.\n"
    )
    if not chained:
        return head + f"exec {call}\n"
    return head + (
        f"# The hook that was here before runs first, with the same input.\n"
        "input=$(cat)\n"
        f'printf \'%s\\n\' "$input" | "$(dirname "$0")/{hook}{CHAINED_SUFFIX}" "$@"\n'
        "status=$?\n"
        f"printf '%s\\n' \"$input\" | {call} || status=$?\n"
        "exit $status\n"
    )


def install(
    location: str,
    action: Action,
    *,
    hook: str = "post-receive",
    chain: bool = False,
    force: bool = False,
) -> Installed:
    if hook not in HOOKS:
        raise InvalidInput(f"unknown hook {hook!r}: use {', '.join(HOOKS)}")
    if chain and force:
        raise InvalidInput("give either --chain (keep the existing hook) or --force, not both")
    repo, git_dir = _git_dir(location)
    script = _hooks_dir(repo) / hook
    existing = script.read_text(errors="replace") if script.is_file() else None
    ours = existing is not None and MARKER in existing
    chained_path = script.with_name(hook + CHAINED_SUFFIX)
    keep_chain = ours and chained_path.exists() and CHAINED_SUFFIX in (existing or "")
    if existing is not None and not ours and not (chain or force):
        raise Conflict(
            f"{script} exists and is not landmark's: pass --chain to keep it (it runs first), "
            "or --force to replace it"
        )
    if chain and not ours and chained_path.exists():
        raise Conflict(f"{chained_path} exists already: move it away, then run again")
    settings = settings_path(git_dir, hook)
    data = {
        "version": SETTINGS_VERSION,
        "hook": hook,
        "run": action.command,
        "on": list(action.on),
        "webhook": action.webhook,
        "secret_file": os.path.abspath(action.secret_file) if action.secret_file else None,
    }
    write_atomic(settings, (json.dumps(data, indent=2) + "\n").encode())
    moved = False
    if chain and existing is not None and not ours:
        os.replace(script, chained_path)
        moved = True
    try:
        write_atomic(script, _script(hook, moved or keep_chain).encode(), mode=0o755)
    except BaseException:
        if moved:
            os.replace(chained_path, script)
        raise
    return Installed(script, settings, chained_path if moved or keep_chain else None, ours)


def load_action(git_dir: Path, hook: str) -> Action:
    path = settings_path(git_dir, hook)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ConfigError(f"{path} is missing: run 'landmark hook install {hook}' again") from e
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: unreadable ({e}); run 'landmark hook install' again") from e
    if not isinstance(data, dict) or data.get("version") != SETTINGS_VERSION:
        raise ConfigError(f"{path}: not landmark hook settings; run 'landmark hook install' again")
    try:
        return Action.make(
            data.get("run"), data.get("webhook"), data.get("secret_file"), data.get("on") or []
        )
    except InvalidInput as e:
        raise ConfigError(f"{path}: {e}") from e


_ZERO = frozenset("0")


def pushed_tags(lines: Iterable[str]) -> list[str]:
    """Tags a push created or moved, in the push's order (deletions are left out)."""
    tags: list[str] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        _old, new, ref = parts
        if ref.startswith("refs/tags/") and set(new) != _ZERO and ref[10:] not in tags:
            tags.append(ref[10:])
    return tags


def run(
    location: str,
    lines: Iterable[str],
    *,
    hook: str = "post-receive",
    say: Callable[[str], None],
) -> int:
    """Act on the pushed registry tags; 1 when an action failed (git ignores a post-receive
    hook's status, so the pusher learns it from the lines), else 0."""
    from ..registry import Registry

    if hook not in HOOKS:
        raise InvalidInput(f"unknown hook {hook!r}: use {', '.join(HOOKS)}")
    tags = pushed_tags(lines)
    if not tags:
        return 0
    repo, git_dir = _git_dir(location)
    action = load_action(git_dir, hook)
    journal = Journal(log_path(git_dir))
    with locked(git_dir / "landmark" / "hooks.lock"):
        state = Registry(location).state(annotations=False)
        events = action_events(state, tags)
        known = {e.tag for e in events}
        for tag in tags:
            if tag not in known and looks_like_registry_tag(tag):
                say(f"landmark: {tag}: not an annotated registry tag; ignored")
        failed = 0
        for e in events:
            if not action.wants(e):
                continue
            if not perform(
                action,
                e,
                repo=str(repo.path),
                journal=journal,
                say=say,
                source=hook,
                cwd=str(repo.path),
            ):
                failed += 1
    return 1 if failed else 0


__all__ = ["HOOKS", "Installed", "install", "landmark_command", "load_action", "pushed_tags", "run"]
