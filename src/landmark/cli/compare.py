"""``landmark compare``, ``experiments``, ``plots`` and ``lineage``: results across revisions."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .commands import repo_option

if TYPE_CHECKING:
    from ..comparison import Comparison, Row
    from ..results import Results


F = TypeVar("F", bound=Callable[..., Any])


def revision_options(f: F) -> F:
    """REFS, --versions, --stage and --exp: the revisions to read (and -r)."""
    f = click.option("--exp", "exps", multiple=True, help="A DVC experiment by name (repeatable).")(
        f
    )
    f = click.option(
        "--stage", "stages", multiple=True, help="The version in STAGE of each NAME (repeatable)."
    )(f)
    f = click.option(
        "--versions", is_flag=True, help="Every registered version of each NAME given."
    )(f)
    f = click.argument("refs", nargs=-1)(f)
    return repo_option(f)


def _value(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, dict)):
        import json

        return json.dumps(v)
    return str(v)


def _delta(d: Any) -> str:
    if d is None or d == 0:
        return ""
    return f" ({'+' if d > 0 else ''}{_value(d)})"


def _cell(row: Row, i: int, deltas: bool) -> str:
    if not row.present[i]:
        return "-"
    text = _value(row.values[i])
    return text + (_delta(row.deltas[i]) if deltas else "")


def _header(res: Results, detailed: bool = True) -> str:
    """A revision's column title: what the user named, with its version and commit."""
    t = res.target
    label = t.label
    if not detailed:
        return label
    extra = []
    if t.kind in ("stage", "latest", "commit", "exp") and t.version and t.version not in label:
        extra.append(t.version)
    if t.rev is not None and t.kind != "commit":
        extra.append(t.rev[:7])
    return f"{label} ({', '.join(extra)})" if extra else label


def _grid(
    cmp: Comparison, diff_only: bool, transpose: bool, deltas: bool, detailed: bool = True
) -> tuple[list[str], list[list[str]]]:
    """Headers and cells: a row per metric/param and a column per revision, or (transposed)
    a row per revision."""
    rows = cmp.rows(diff_only)
    labels = [_header(r, detailed) for r in cmp.results]
    if transpose:
        headers = ["revision", *[r.name for r in rows]]
        cells = [[labels[i], *[_cell(row, i, deltas) for row in rows]] for i in range(len(labels))]
        return headers, cells
    headers = ["", *labels]
    cells = [[row.name, *[_cell(row, i, deltas) for i in range(len(labels))]] for row in rows]
    return headers, cells


def _data_grid(cmp: Comparison) -> tuple[list[str], list[list[str]]]:
    headers = ["data", *[_header(r) for r in cmp.results]]
    cells = []
    for d in cmp.data:
        line = [d.path]
        for h, v in zip(d.hashes, d.versions, strict=True):
            line.append(v if v else (h[:8] if h else "-"))
        cells.append(line)
    return headers, cells


def _markdown(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(esc(h) for h in headers) + " |"]
    out.append("|" + "|".join(" --- " for _ in headers) + "|")
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
    return "\n".join(out)


def _csv(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(cells)
    return buf.getvalue()


def _fmt(as_json: bool, as_csv: bool, as_md: bool) -> str:
    chosen = [n for n, on in (("json", as_json), ("csv", as_csv), ("md", as_md)) if on]
    if len(chosen) > 1:
        from ..errors import InvalidInput

        raise InvalidInput("give one of --json, --csv and --md")
    return chosen[0] if chosen else "table"


def _errors(cmp: Comparison) -> None:
    for label, errors in cmp.errors.items():
        for path, text in errors.items():
            click.echo(f"warning: {label}: {path}: {text}", err=True)


@click.command()
@revision_options
@click.option("--diff-only", is_flag=True, help="Only what differs between the revisions.")
@click.option(
    "--sort",
    "sort_key",
    metavar="KEY",
    help="Order the revisions by a metric or param (highest first).",
)
@click.option("--asc", "ascending", is_flag=True, help="With --sort: lowest first.")
@click.option("-t", "--transpose", is_flag=True, help="A row per revision instead of per metric.")
@click.option("--no-deltas", is_flag=True, help="Values only, no changes against the first.")
@click.option("--no-data", is_flag=True, help="Leave out the data (dependencies) section.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.option("--md", "as_md", is_flag=True, help="Print a Markdown table (for a pull request).")
def compare(
    repo: str, refs: tuple[str, ...], versions: bool, stages: tuple[str, ...],
    exps: tuple[str, ...], diff_only: bool, sort_key: str | None, ascending: bool,
    transpose: bool, no_deltas: bool, no_data: bool, as_json: bool, as_csv: bool, as_md: bool,
) -> None:  # fmt: skip
    """Compare metrics, params and data of versions, stages, commits and experiments.

    REFS are name@v1.2.0, name#prod, name@latest, a commit or branch, exp:NAME or
    'workspace'; deltas are against the first. With no REFS: HEAD against the work tree.
    """
    from ..comparison import compare as run

    fmt = _fmt(as_json, as_csv, as_md)
    cmp = run(
        repo, refs, versions=versions, stages=stages, exps=exps, sort=sort_key,
        ascending=ascending, data=not no_data,
    )  # fmt: skip
    if fmt == "json":
        from .render import emit_json

        emit_json(cmp.to_dict(diff_only))
        return
    _errors(cmp)
    headers, cells = _grid(cmp, diff_only, transpose, not no_deltas, detailed=fmt != "csv")
    data_headers, data_cells = _data_grid(cmp)
    if fmt == "csv":
        click.echo(_csv(headers, cells), nl=False)
        return
    if fmt == "md":
        click.echo(_markdown(headers, cells))
        if data_cells:
            click.echo()
            click.echo(_markdown(data_headers, data_cells))
        return
    from .render import table

    if not cmp.rows(diff_only):
        click.echo("No metrics or params differ" if diff_only else "No metrics or params found")
    else:
        click.echo(table(headers, cells))
    if data_cells:
        click.echo(table(data_headers, data_cells))


@click.command()
@repo_option
@click.option(
    "-A",
    "--all",
    "all_baselines",
    is_flag=True,
    help="Experiments of every baseline, not only HEAD's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.option("--md", "as_md", is_flag=True, help="Print a Markdown table.")
def experiments(repo: str, all_baselines: bool, as_json: bool, as_csv: bool, as_md: bool) -> None:
    """List DVC experiments with their metrics and params, and the versions registered from them."""
    from ..dvcexp import overview

    fmt = _fmt(as_json, as_csv, as_md)
    table_rows = overview(repo, all_baselines=all_baselines)
    if fmt == "json":
        from .render import emit_json

        emit_json([r.to_dict() for r in table_rows])
        return
    keys: dict[str, None] = {}
    for r in table_rows:
        keys.update(dict.fromkeys(r.flat()))
    headers = ["experiment", "rev", "created", "registered", *keys]
    cells = [
        [
            r.label,
            r.rev[:7],
            r.created_text,
            ", ".join(r.registered) or "-",
            *[_value(r.flat().get(k)) for k in keys],
        ]
        for r in table_rows
    ]
    if fmt == "csv":
        click.echo(_csv(headers, cells), nl=False)
    elif fmt == "md":
        click.echo(_markdown(headers, cells))
    elif not any(r.exp for r in table_rows):
        click.echo(
            "No experiments found (dvc exp run makes them; dvc exp pull fetches pushed ones)"
        )
    else:
        from .render import table

        click.echo(table(headers, cells))


@click.command()
@revision_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the HTML report here.",
)
@click.option(
    "--svg",
    "svg_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one SVG per plot into this folder.",
)
@click.option(
    "--png",
    "png_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one PNG per plot into this folder.",
)
def plots(
    repo: str, refs: tuple[str, ...], versions: bool, stages: tuple[str, ...],
    exps: tuple[str, ...], output: Path | None, svg_dir: Path | None, png_dir: Path | None,
) -> None:  # fmt: skip
    """Overlay the plots of several revisions: a self-contained HTML report, SVG or PNG files."""
    from .. import plots as plotting
    from ..atomic import write_atomic
    from ..comparison import Resolver
    from ..errors import InvalidInput
    from ..registry import Registry
    from ..results import Reader

    if output is None and svg_dir is None and png_dir is None:
        raise InvalidInput("say where to write: -o report.html, --svg DIR or --png DIR")
    reg = Registry(repo)
    targets = Resolver(reg.repo, reg).targets(refs, versions=versions, stages=stages, exps=exps)
    with Reader(reg.repo) as reader:
        snapshots = [reader.snapshot(t) for t in targets]
        found = plotting.collect(snapshots)
        if not found:
            raise InvalidInput("no plots are declared at these revisions (dvc.yaml 'plots:')")
        written: list[Path] = []
        if output is not None:
            title = "landmark plots: " + ", ".join(t.label for t in targets)
            write_atomic(output, plotting.render_html(found, title=title).encode())
            written.append(output)
        if svg_dir is not None:
            written += plotting.write_images(found, svg_dir, "svg")
        if png_dir is not None:
            written += plotting.write_images(found, png_dir, "png")
    click.echo(f"{len(found)} plots of {len(targets)} revisions")
    for path in written:
        click.echo(f"wrote {path}")


@click.command()
@repo_option
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def lineage(repo: str, ref: str, as_json: bool) -> None:
    """What produced a version: its commit, the dvc.lock stages behind the model, their
    commands, params and data (named by their registered versions), the experiment."""
    from ..provenance import trace

    lin = trace(repo, ref)
    if as_json:
        from .render import emit_json

        emit_json(lin.to_dict())
        return
    t = lin.target
    head = t.label if not t.version or t.version in t.label else f"{t.label} ({t.version})"
    click.echo(head)
    if lin.commit:
        c = lin.commit
        first = c["message"].splitlines()[0] if c["message"] else ""
        click.echo(f"  commit   {c['sha'][:12]}  {c['author']}  {c['time']}  {first}")
    if t.stages:
        click.echo(f"  stages   {', '.join(t.stages)}")
    if lin.experiment:
        click.echo(
            f"  experiment  {lin.experiment['name']} (baseline {lin.experiment['baseline'][:7]})"
        )
    click.echo(f"  path     {lin.path or '- (not annotated at this commit)'}")
    if not lin.stages:
        click.echo("  No dvc.lock stage produced it (it was added, not run)")
    for stage in lin.stages:
        where = stage.dvcfile.rpartition("/")[0]
        click.echo(f"  stage {where + ':' if where else ''}{stage.name}")
        click.echo(f"    cmd    {stage.cmd}")
        for path, digest in stage.deps.items():
            known = lin.data.get(path)
            extra = f"  = {known.label}" if known is not None else ""
            click.echo(f"    dep    {path}  {(digest or '-')[:12]}{extra}")
        for file, values in stage.params.items():
            for key, value in values.items():
                click.echo(f"    param  {file}:{key} = {_value(value)}")
        for path, digest in stage.outs.items():
            click.echo(f"    out    {path}  {(digest or '-')[:12]}")
