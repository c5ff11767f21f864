"""``landmark build``: a Dockerfile and context, a venv folder or an OCI image of a model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .commands import repo_option

if TYPE_CHECKING:
    from ..build.source import Model


def _say(text: str) -> None:
    click.echo(text, err=True)


def _model(ref: str, repo: str, name: str | None, judge: bool = True) -> Model:
    from ..build.source import check_name, resolve

    return resolve(ref, repo, check_name(name) if name else None, judge=judge)


def _common(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option("--force", is_flag=True, help="Replace what is at -o.")(f)
    f = click.option(
        "--name", metavar="NAME", help="Folder name of the model (default: the artifact's)."
    )(f)
    f = click.argument("ref", metavar="REF")(f)
    return repo_option(f)


@click.group("build")
def build() -> None:
    """Package a model: a Dockerfile, a venv folder or an OCI image (no daemon needed).

    REF is a model directory or a registry ref: churn#prod, churn@v1.2.0, churn@latest.
    """


@build.command("docker")
@_common
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Folder.")
@click.option("--trust", is_flag=True, help="Package a model whose files can run code.")
@click.option("--python", "python", metavar="X.Y", help="Base image python:X.Y-slim.")
def docker(
    repo: str, ref: str, name: str | None, force: bool, out: Path, trust: bool, python: str | None
) -> None:
    """Write a Dockerfile and build context that serve REF with landmark serve on 8080."""
    from ..build.docker import build_docker

    model = _model(ref, repo, name)
    built = build_docker(model, out, force=force, trust=trust, python=python, report=_say)
    click.echo(f"landmark build docker: {model.label} -> {built.path} (FROM {built.base})")
    click.echo(f"  docker build -t {model.name}:{model.version or 'latest'} {built.path}")


@build.command("venv")
@_common
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Folder.")
@click.option("--trust", is_flag=True, help="Package a model whose files can run code.")
@click.option("--python", "python", metavar="PATH", help="Interpreter for the venv.")
@click.option(
    "--pip-arg",
    "pip_args",
    multiple=True,
    metavar="ARG",
    help="Passed to pip install (repeat): --pip-arg=--no-index --pip-arg=--find-links=DIR.",
)
@click.option("--no-compile", is_flag=True, help="Do not byte-compile the installed packages.")
def venv(
    repo: str, ref: str, name: str | None, force: bool, out: Path, trust: bool,
    python: str | None, pip_args: tuple[str, ...], no_compile: bool,
) -> None:  # fmt: skip
    """Build a folder with a venv, the model and bin/serve, which serves it offline."""
    from ..build.venv import build_venv

    model = _model(ref, repo, name)
    built = build_venv(
        model, out, force=force, trust=trust, python=python, pip_args=pip_args,
        compile=not no_compile, report=_say,
    )  # fmt: skip
    click.echo(f"landmark build venv: {model.label} -> {built.path} (Python {built.python})")
    click.echo(f"  {built.path}/bin/serve --port 8080")


@build.command("oci")
@_common
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="model.tar")
@click.option("--tag", help="Tag in index.json (default: the version, else latest).")
@click.option(
    "--push", metavar="HOST:PORT/REPO[:TAG]", help="Also upload the image to this registry."
)
@click.option("--plain-http", is_flag=True, help="Push over HTTP (loopback hosts always are).")
@click.option(
    "--platform", "os_arch", default="linux/amd64", show_default=True, help="OS/ARCH of the image."
)
@click.option("--uncompressed", is_flag=True, help="An uncompressed layer (tar, not tar+gzip).")
def oci(
    repo: str, ref: str, name: str | None, force: bool, out: Path, tag: str | None,
    push: str | None, plain_http: bool, os_arch: str, uncompressed: bool,
) -> None:  # fmt: skip
    """Write the model's files as an OCI image archive (/models/NAME, FROM scratch)."""
    from ..build.oci import build_oci

    model = _model(ref, repo, name)
    built = build_oci(
        model, out, tag=tag, force=force, os_arch=os_arch, compress=not uncompressed,
        push=push, plain_http=plain_http, report=_say,
    )  # fmt: skip
    click.echo(
        f"landmark build oci: {model.label} -> {built.path} ({built.tag}, {built.digest}, "
        f"{built.size} bytes)"
    )
    if built.pushed:
        click.echo(f"  pushed {built.pushed}@{built.digest}")
