"""Commands for packaged models: log-model, import-mlflow, describe-model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import one_line
from .commands import repo_option

if TYPE_CHECKING:
    from ..models.api import Safety
    from ..models.meta import ModelMeta


def _read_values(path: str | None, what: str) -> dict[str, Any] | None:
    """A JSON or YAML file of name -> value."""
    if path is None:
        return None
    from .. import yamlio
    from ..errors import InvalidInput

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {what} file {path}: {e.strerror}") from e
    doc = yamlio.load(data, path)  # YAML is a superset of JSON
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path}: {what} must be a mapping of names to values")
    return doc


@click.command("log-model")
@repo_option
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("name")
@click.option("--metrics", "metrics_file", metavar="FILE", help="JSON/YAML file of metrics.")
@click.option("--params", "params_file", metavar="FILE", help="JSON/YAML file of parameters.")
@click.option(
    "--register",
    is_flag=False,
    flag_value="true",
    default=None,
    metavar="[BUMP|VERSION]",
    help="Register a version: next patch, major/minor/patch, or v1.2.3 (needs --commit).",
)
@click.option("--commit", is_flag=True, help="Commit the pointer, dvc.yaml and metrics files.")
@click.option("-m", "--message", help="Commit message.")
@click.option("--path", help="Copy the model here (repo-relative) instead of using it in place.")
@click.option("--description", "--desc", "description", help="Description for dvc.yaml.")
@click.option("--label", "labels", multiple=True, help="Label (repeat for several).")
def log_model(
    repo: str,
    directory: str,
    name: str,
    metrics_file: str | None,
    params_file: str | None,
    register: str | None,
    commit: bool,
    message: str | None,
    path: str | None,
    description: str | None,
    labels: tuple[str, ...],
) -> None:
    """Log the saved model DIRECTORY as NAME: track, annotate, register."""
    from ..models.log import log_model as log

    logged = log(
        Path(directory),
        name,
        metrics=_read_values(metrics_file, "metrics"),
        params=_read_values(params_file, "params"),
        description=description,
        labels=list(labels) or None,
        register=False if register is None else True if register == "true" else register,
        commit=commit,
        message=message,
        repo=repo,
        path=path,
    )
    click.echo(f"Logged {name}: {logged.path} ({_summary(logged.meta)})")
    if logged.live_dir:
        click.echo(f"Metrics and params in {logged.live_dir}")
    if logged.commit:
        click.echo(f"Committed {logged.commit[:7]}")
    else:
        click.echo(f"To commit: git add {' '.join(logged.files)} && git commit")
    if logged.version is not None:
        click.echo(f"Created git tag '{logged.version.tag}' that registers version")
        click.echo(f"To push it, run: git push origin {logged.version.tag}")


def _summary(meta: ModelMeta) -> str:
    fw = f"{meta.framework.name} {meta.framework.version or ''}".strip()
    return f"{meta.adapter}, {fw}, {meta.format}, {'safe' if meta.safe else 'needs --trust'}"


@click.command("describe-model")
@repo_option
@click.argument("target", metavar="PATH_OR_REF")
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
def describe_model(repo: str, target: str, as_json: bool) -> None:
    """Show a saved model's methods, signatures, requirements and safety.

    Safety is the adapter's verdict on the files (what loading goes by), not what
    landmark.yaml claims; where the two differ, both are shown."""
    from ..models.api import describe_model

    described = describe_model(target, repo=repo)
    meta, safety = described.meta, described.safety
    if as_json:
        from .render import emit_json

        doc = meta.to_dict()
        doc["safe"] = safety.safe
        doc["safety"] = {
            "safe": safety.safe,
            "claimed": safety.claimed,
            "files_safe": safety.files_safe,
            "reason": safety.reason or None,
        }
        emit_json(doc)
        return
    click.echo(render_meta(target, meta, safety))


def _one_line(value: object) -> str:
    """A value from landmark.yaml on one line: an edited file cannot add lines (a second
    ``safe: yes``) to the output."""
    return one_line(value, 10_000)


def safe_text(safety: Safety) -> str:
    """The ``safe:`` line: yes only when the files and landmark.yaml agree that it is."""
    if safety.safe:
        return "yes (loading runs no code from the files)"
    trust = "load it with --trust / trust=True"
    if safety.claimed and not safety.files_safe:
        return f"no (landmark.yaml claims yes; the model {safety.reason}): {trust}"
    if not safety.claimed and safety.files_safe:
        return f"no (landmark.yaml marks it unsafe, though its files look safe): {trust}"
    return f"no: loading can run code, {trust} (the model {safety.reason})"


def render_meta(target: str, meta: ModelMeta, safety: Safety) -> str:
    fw = f"{meta.framework.name} {meta.framework.version or '?'}"
    lines = [
        f"model:         {target}",
        f"adapter:       {_one_line(meta.adapter)} ({_one_line(fw)})",
        f"format:        {_one_line(meta.format)}",
        f"safe:          {_one_line(safe_text(safety))}",
    ]
    untrusted = meta.extra.get("untrusted_types")
    if isinstance(untrusted, list) and untrusted:
        lines.append(f"untrusted:     {_one_line(', '.join(map(str, untrusted)))}")
    lines.append("methods:" if meta.methods else "methods:       none recorded")
    for method, spec in meta.methods.items():
        lines.append(
            "  " + _one_line(f"{method}({spec.input.describe()}) -> {spec.output.describe()}")
        )
    lines.append("requirements:" if meta.requirements else "requirements:  none")
    lines += [f"  {_one_line(r)}" for r in meta.requirements]
    if meta.local_modules:
        lines.append(
            f"local modules: {_one_line(', '.join(meta.local_modules))} (not installed "
            "packages: ship their source with the model)"
        )
    files = ", ".join(f"{f.path} ({f.size} B)" for f in meta.files)
    lines.append(f"files:         {_one_line(files)}")
    lines.append(f"python:        {_one_line(meta.python)}")
    lines.append(f"created:       {_one_line(meta.created)}")
    if meta.description:
        lines.append(f"description:   {_one_line(meta.description)}")
    if meta.labels:
        lines.append(f"labels:        {_one_line(', '.join(meta.labels))}")
    return "\n".join(lines)


@click.command("import-mlflow")
@click.argument("path", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    metavar="DIR",
    help="Model directory to write (default: PATH's folder name, in the current directory).",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Load pickle-based models (converting means loading): only from a trusted source.",
)
@click.option("--description", "--desc", "description", help="Description for the metadata.")
@click.option("--label", "labels", multiple=True, help="Label (repeat for several).")
def import_mlflow(
    path: str, output: str | None, trust: bool, description: str | None, labels: tuple[str, ...]
) -> None:
    """Convert the MLflow model directory PATH to a landmark model."""
    from ..models.mlflow_import import import_mlflow as convert

    source = Path(path)
    target = Path(output) if output else Path(source.resolve().name)
    imported = convert(
        source, target, trust=trust, description=description, labels=list(labels) or None
    )
    click.echo(
        f"Imported MLflow {imported.flavor} model {path} to {imported.path} "
        f"({_summary(imported.meta)})"
    )
    for note in imported.notes:
        click.echo(f"note: {note}")
