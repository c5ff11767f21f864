"""``landmark predict``: score a CSV, Parquet or JSON-lines file with a model, in chunks."""

from __future__ import annotations

import click

from ..batch import DEFAULT_CHUNK_ROWS, EXAMPLES
from ..progress import format_size
from .commands import repo_option
from .progress import RichBar


class RowsBar(RichBar):
    """The command's bar: rows scored, and bytes of the input where the format tells them."""

    def advance(self, objects: int = 1, nbytes: int = 0) -> None:
        with self._lock:
            if self._bar is None:
                return
            self._bytes += nbytes
            self._done += objects
            count = f"{self._done:,} rows"
            if self._by_bytes:
                count += f", {format_size(self._bytes)}"
            self._bar.update(self._task, advance=nbytes if self._by_bytes else objects, count=count)


def _bar() -> RichBar | None:
    import os
    import sys

    if sys.stderr.isatty() and not os.environ.get("LANDMARK_NO_PROGRESS"):
        return RowsBar("predict")
    return None


@click.command("predict")
@repo_option
@click.argument("ref")
@click.option(
    "-i", "--input", "input_path", required=True, metavar="FILE",
    help="Rows to score: .csv, .parquet or .jsonl.",
)  # fmt: skip
@click.option(
    "-o", "--output", "output_path", required=True, metavar="FILE",
    help="Where to write them with the predictions: .csv, .parquet or .jsonl.",
)  # fmt: skip
@click.option("--method", default="predict", show_default=True, help="Method to call.")
@click.option(
    "--chunk-rows", default=DEFAULT_CHUNK_ROWS, show_default=True, type=int,
    help="Rows read, checked and scored at a time (memory grows with it).",
)  # fmt: skip
@click.option(
    "--on-error", default="fail", show_default=True, metavar="[fail|skip]",
    help="A row that does not fit the signature: stop, or leave it out and count it.",
)  # fmt: skip
@click.option("--trust", is_flag=True, help="Load models whose files can run code (pickle...).")
def predict(
    repo: str, ref: str, input_path: str, output_path: str, method: str, chunk_rows: int,
    on_error: str, trust: bool,
) -> None:  # fmt: skip
    """Score a file with a model: churn#prod, churn@v1.2.0, churn@latest or a folder.

    The output holds the input's columns followed by the model's: `prediction`, or one
    column per class (`proba_<class>`) for --method predict_proba. It is written under a
    temporary name and renamed when complete.
    """
    from ..batch import predict_file
    from ..errors import InvalidInput

    if chunk_rows < 1:
        raise InvalidInput("--chunk-rows must be 1 or more")
    if on_error not in ("fail", "skip"):
        raise InvalidInput(f"--on-error takes fail or skip, not {on_error!r}")
    bar = _bar()
    try:
        report = predict_file(
            ref, input_path, output_path, method=method, chunk_rows=chunk_rows,
            on_error=on_error, repo=repo, trust=trust, progress=bar,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    rows = "row" if report.rows_written == 1 else "rows"
    click.echo(
        f"Wrote {report.rows_written:,} {rows} with {report.method} to {report.output} "
        f"({report.seconds:.1f} s)"
    )
    if report.rows_skipped:
        s = "" if report.rows_skipped == 1 else "s"
        click.echo(f"skipped {report.rows_skipped:,} row{s} of {report.rows_read:,}:", err=True)
        for problem in report.skipped:
            click.echo(f"  {problem}", err=True)
        if report.rows_skipped > len(report.skipped):
            more = report.rows_skipped - len(report.skipped)
            click.echo(f"  ... and {more:,} more (the first {EXAMPLES} are shown)", err=True)
