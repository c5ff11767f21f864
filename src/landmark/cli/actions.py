"""``landmark ci``, ``landmark hook`` and ``landmark watch``: act on registry events."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .commands import F, repo_option

_ON_HELP = (
    "Act only on matching events: KIND[:NAME][#STAGE], e.g. 'assign:churn#prod' (repeatable)."
)


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@click.group("ci")
def ci() -> None:
    """Write CI workflows that publish or deploy on pushed registry tags."""


@ci.command("init")
@click.argument("system", type=click.Choice(["github", "gitlab"]))
@click.option(
    "--on",
    "on",
    multiple=True,
    metavar="register|assign[:STAGE]",
    help="Jobs to write: publish on registrations, deploy on assignments (to STAGE). Default: both.",
)
@click.option("--run", "run", metavar="CMD", help="The publish and deploy jobs' command.")
@click.option(
    "--install",
    default="python -m pip install landmark",
    show_default=True,
    metavar="CMD",
    help="How each job installs landmark.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Where to write the file.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def ci_init(
    system: str,
    on: tuple[str, ...],
    run: str | None,
    install: str,
    output: Path | None,
    force: bool,
) -> None:
    """Write .github/workflows/landmark.yml or .gitlab-ci.yml (at the work tree's top).

    The workflow runs on pushed registry tags: `landmark check-ref "$TAG" --json` tells what
    the tag did, then CMD runs with LANDMARK_EVENT, _NAME, _VERSION, _STAGE, _TAG, _COMMIT.
    """
    from ..actions import ci as workflows

    if output is None:
        output = _top() / workflows.SYSTEMS[system]
    written = workflows.init(system, output, on=on, run=run, install=install, force=force)
    click.echo(f"Wrote {written}")
    click.echo("Commit and push it; pushed registry tags then run it.")


def _top() -> Path:
    from ..errors import RepoError
    from ..git import Repo

    try:
        repo = Repo.open(".")
    except RepoError:
        return Path.cwd()
    return Path.cwd() if repo.bare else repo.path


def _action_options(f: F) -> F:
    """What to do on each event, shared by ``hook install`` and ``watch``."""
    for option in reversed(
        [
            click.option("--on", "on", multiple=True, metavar="FILTER", help=_ON_HELP),
            click.option("--run", "run", metavar="CMD", help="Shell command run once per event."),
            click.option("--webhook", metavar="URL", help="POST each event as signed JSON to URL."),
            click.option(
                "--secret-file",
                type=click.Path(dir_okay=False),
                help="File whose first line is the webhook's HMAC-SHA256 key.",
            ),
        ]
    ):
        f = option(f)
    return f


@click.group("hook")
def hook() -> None:
    """Install a post-receive hook that acts on pushed registry tags."""


@hook.command("install")
@click.argument("name", metavar="post-receive", type=click.Choice(["post-receive"]))
@repo_option
@_action_options
@click.option("--chain", is_flag=True, help="Keep an existing hook: it runs first.")
@click.option("--force", is_flag=True, help="Replace an existing hook that is not landmark's.")
def hook_install(
    name: str,
    repo: str,
    on: tuple[str, ...],
    run: str | None,
    webhook: str | None,
    secret_file: str | None,
    chain: bool,
    force: bool,
) -> None:
    """Install the hook into the (bare) repository at -r (default: here).

    Each pushed registry tag that matches runs CMD once, in tag order, with LANDMARK_EVENT,
    _NAME, _VERSION, _STAGE, _TAG, _COMMIT and _REPO set; its output and failure reach the
    pusher as `remote:` lines and go to landmark/hooks.log in the git folder.
    """
    from ..actions import hook as hooks
    from ..actions.act import Action

    action = Action.make(run, webhook, secret_file, on)
    done = hooks.install(repo, action, hook=name, chain=chain, force=force)
    verb = "Updated" if done.replaced else "Installed"
    click.echo(f"{verb} {done.script}")
    click.echo(f"Settings: {done.settings}")
    if done.chained is not None:
        click.echo(f"The hook that was there runs first: {done.chained}")


@hook.command("run", hidden=True)
@click.argument("name", metavar="post-receive", type=click.Choice(["post-receive"]))
@repo_option
def hook_run(name: str, repo: str) -> int:
    """What the installed hook calls: reads git's 'OLD NEW REF' lines on stdin."""
    from ..actions import hook as hooks

    lines = sys.stdin.read().splitlines()
    return hooks.run(repo, lines, hook=name, say=_say)


hook.add_command(hook_install, "install")
hook.add_command(hook_run, "run")
ci.add_command(ci_init, "init")


@click.command("watch")
@repo_option
@_action_options
@click.option(
    "--interval", default=30.0, show_default=True, type=float, help="Seconds between fetches."
)
@click.option(
    "--state",
    "state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State file (default: one per repository and action in landmark's cache).",
)
@click.option(
    "--log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON-lines log (default: beside the state).",
)
@click.option("--once", is_flag=True, help="Fetch and act once, then exit.")
@click.option(
    "--from-start", is_flag=True, help="On the first start, act on the events already there too."
)
def watch(
    repo: str,
    on: tuple[str, ...],
    run: str | None,
    webhook: str | None,
    secret_file: str | None,
    interval: float,
    state: Path | None,
    log: Path | None,
    once: bool,
    from_start: bool,
) -> int:
    """Fetch a repository's tags every interval and act on each new registry event once.

    For Git hosts without server-side hooks. Events are handled in tag order; the state
    file remembers them across restarts (only an action cut short by a kill runs again,
    with LANDMARK_REDELIVERY=1). SIGTERM finishes the current action, then exits.
    """
    import signal
    import threading

    from ..actions.act import Action
    from ..actions.watch import WatchOptions
    from ..actions.watch import watch as run_watch

    action = Action.make(run, webhook, secret_file, on)
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        opts = WatchOptions(repo, action, interval, state, log, once, from_start)
        return run_watch(opts, say=_say, stop=stop)
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["ci", "hook", "watch"]
