"""``landmark ui``: the registry's web app over one or several repositories."""

from __future__ import annotations

import click


@click.command("ui")
@click.option(
    "-r",
    "--repo",
    "repos",
    multiple=True,
    metavar="PATH|URL",
    help="Repository path or remote URL; repeat for several (default: .).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0: any free).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="Allow actions for 'Authorization: Bearer TOKEN' or a signed-in browser (the "
    "file's first line); without it the UI is read-only.",
)
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=float,
    help="Seconds between checks for new tags (remote URLs are fetched; pages update).",
)
def ui(
    repos: tuple[str, ...], host: str, port: int, token_file: str | None, interval: float
) -> None:
    """Browse, compare and promote models in a local web app (read-only without a token).

    Pages: / (models), /models/NAME (versions, stages, history, files), /compare?refs=A,B.
    Every page answers JSON with 'Accept: application/json'. Actions are POSTs under
    /models/NAME/ (register, assign, unassign, deprecate) that show the tag first.
    """
    import gc

    gc.enable()  # the CLI switches it off for short commands; a server runs for days
    from ..errors import InvalidInput

    if not interval > 0:
        raise InvalidInput("--interval must be more than 0 seconds")
    try:
        from ..ui import run
    except ImportError as e:
        from ..errors import MissingDependency

        raise MissingDependency(
            f"landmark ui needs the web extra ({e.name} is missing): pip install 'landmark[ui]'"
        ) from None
    from ..serve.run import read_token

    run.serve(
        list(repos) or ["."],
        host=host,
        port=port,
        token=read_token(token_file) if token_file else None,
        interval=interval,
    )
