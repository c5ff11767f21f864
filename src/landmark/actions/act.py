"""One action, as the hook and the watcher both perform it: run the command, then deliver the
webhook, each logged; a failure is reported and never stops the events after it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import InvalidInput
from .events import ActionEvent, Filter, parse_filters
from .journal import Journal
from .runner import run_command
from .webhook import check_url, deliver, read_secret


@dataclass(frozen=True)
class Action:
    """What to do for each chosen event: ``command`` (a shell command line), a ``webhook``
    (URL, with the HMAC secret in ``secret_file``), or both."""

    command: str | None
    webhook: str | None
    secret_file: str | None
    filters: tuple[Filter, ...]
    on: tuple[str, ...]  # the filters as given, kept in settings files

    @classmethod
    def make(
        cls,
        command: str | None,
        webhook: str | None,
        secret_file: str | None,
        on: Sequence[str],
    ) -> Action:
        if command is not None and not command.strip():
            raise InvalidInput("--run: the command is empty")
        if not command and not webhook:
            raise InvalidInput("give --run CMD, --webhook URL, or both")
        if webhook:
            check_url(webhook)
            if not secret_file:
                raise InvalidInput("--webhook needs --secret-file F (the HMAC-SHA256 key)")
            read_secret(secret_file)  # fail now, not at the first event
        elif secret_file:
            raise InvalidInput("--secret-file goes with --webhook")
        return cls(command, webhook, secret_file, tuple(parse_filters(on)), tuple(on))

    def wants(self, e: ActionEvent) -> bool:
        return not self.filters or any(f.matches(e) for f in self.filters)


def perform(
    action: Action,
    e: ActionEvent,
    *,
    repo: str,
    journal: Journal,
    say: Callable[[str], None],
    source: str,
    cwd: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> bool:
    """Act on one event; True when every part succeeded."""
    ok = True
    base: dict[str, object] = {"source": source, "tag": e.tag, "event": e.event, "name": e.name}
    base |= {"version": e.version, "stage": e.stage, "commit": e.commit}
    if action.command:
        say(f"landmark: {e.describe()}: running the command")
        env = {**e.env(repo), **(extra_env or {})}
        result = run_command(action.command, env, cwd=cwd, on_line=say)
        journal.write(
            {
                **base,
                "action": "run",
                "exit": result.exit_code,
                "ok": result.ok,
                "seconds": round(result.seconds, 3),
                "output": result.tail,
            }
        )
        if result.output_left_open:
            say(
                "landmark: the command exited but left its output open (a background "
                "process?); redirect that process's output to a file"
            )
        if result.ok:
            say(f"landmark: {e.tag}: the command succeeded")
        else:
            ok = False
            say(f"landmark: {e.tag}: the command failed (exit {result.exit_code})")
    if action.webhook and action.secret_file:
        try:
            secret = read_secret(action.secret_file)
        except InvalidInput as err:
            journal.write({**base, "action": "webhook", "ok": False, "error": str(err)})
            say(f"landmark: {e.tag}: webhook not sent: {err}")
            return False
        done = deliver(
            action.webhook,
            e.to_json(repo),
            secret,
            event=e.event,
            tag=e.tag,
            journal=journal,
        )
        if done.ok:
            say(
                f"landmark: {e.tag}: webhook delivered (HTTP {done.status}, attempt {done.attempts})"
            )
        else:
            ok = False
            why = f"HTTP {done.status}" if done.status is not None else done.error
            say(f"landmark: {e.tag}: webhook failed after {done.attempts} attempts ({why})")
    return ok


__all__ = ["Action", "perform"]
