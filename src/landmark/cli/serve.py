"""``landmark serve``: a model server over REST and the Open Inference Protocol."""

from __future__ import annotations

import click

from .commands import repo_option

SIZES = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20}
SIZES |= {"mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}


def _size(text: str) -> int:
    from ..errors import InvalidInput

    t = text.strip().lower()
    digits = t.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = t[len(digits) :]
    if not digits.isdigit() or unit not in SIZES or int(digits) <= 0:
        raise InvalidInput(f"--max-body-size {text!r}: give a size like 64MiB, 512k or 1000000")
    return int(digits) * SIZES[unit]


@click.command("serve")
@repo_option
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: any free).")
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option("--trust", is_flag=True, help="Load models whose files can run code (pickle...).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N (PyTorch).")
@click.option("--follow", is_flag=True, help="Load the version a stage or @latest moves to.")
@click.option(
    "--interval",
    default=10.0,
    show_default=True,
    type=float,
    help="Seconds between --follow checks.",
)
@click.option(
    "--unready-when-unassigned",
    is_flag=True,
    help="With --follow: answer 503 on /ready while the followed stage has no version.",
)
@click.option(
    "--shadow",
    "shadows",
    multiple=True,
    metavar="REF",
    help="Also run REF on every request, off the response path (for the model of its name).",
)
@click.option(
    "--batch",
    "batches",
    multiple=True,
    metavar="NAME[:ROWS[:MS]]",
    help="Adaptive batching for model NAME (or '*'): up to ROWS rows (64), waiting MS ms (2).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="Require 'Authorization: Bearer TOKEN' (the file's first line) except on health.",
)
@click.option("--max-body-size", default="64MiB", show_default=True, help="Larger bodies: 413.")
@click.option("--log-predictions", metavar="FILE", help="Append each prediction as JSON lines.")
@click.option(
    "--access-log", default="-", show_default=True, help="JSON access log: FILE, '-' or 'off'."
)
@click.option("--threads", default=4, show_default=True, type=int, help="Prediction threads.")
def serve(
    repo: str,
    refs: tuple[str, ...],
    host: str,
    port: int,
    workers: int,
    trust: bool,
    device: str,
    follow: bool,
    interval: float,
    unready_when_unassigned: bool,
    shadows: tuple[str, ...],
    batches: tuple[str, ...],
    token_file: str | None,
    max_body_size: str,
    log_predictions: str | None,
    access_log: str,
    threads: int,
) -> None:
    """Serve models by version or stage: churn#prod, churn@v1.2.0, churn@latest, a folder.

    REST: POST /predict (and one endpoint per method; /models/NAME/... for several models),
    GET /health, /ready, /metadata, /metrics, /openapi.json. Open Inference Protocol v2
    under /v2. SIGTERM finishes the requests in flight, then exits.
    """
    import gc

    gc.enable()  # the CLI switches it off for short commands; a server runs for days
    from ..errors import InvalidInput
    from ..serve import run as runner

    if workers < 1 or threads < 1:
        raise InvalidInput("--workers and --threads must be 1 or more")
    if not interval > 0:
        raise InvalidInput("--interval must be more than 0 seconds")
    options = runner.options(
        refs=list(refs),
        repo=repo,
        shadows=list(shadows),
        batches=list(batches),
        trust=trust,
        device=device,
        follow=follow,
        interval=interval,
        unready_when_unassigned=unready_when_unassigned,
        token=runner.read_token(token_file) if token_file else None,
        max_body=_size(max_body_size),
        log_predictions=log_predictions,
        access_log=None if access_log == "off" else access_log,
        threads=threads,
    )
    runner.serve(options, host=host, port=port, workers=workers)
