"""Command definitions: parse options, make one registry call, render the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..events import Event
    from ..plans import Plan
    from ..registry import Deleted, Registry

F = TypeVar("F", bound=Callable[..., Any])

SECTIONS = {
    "Registering and promoting": ["register", "assign", "unassign", "deregister", "deprecate"],
    "Querying": ["show", "history", "describe", "check-ref", "stages", "doctor"],
    "Comparing": ["compare", "experiments", "plots", "lineage"],
    "Annotating": ["annotate", "remove"],
    "Model files": ["add", "checkout", "status", "push", "pull", "fetch", "get", "remote", "gc"],
    "Models": ["log-model", "import-mlflow", "describe-model"],
    "Serving": ["serve"],
    "Deploying": ["predict", "build", "ci", "hook", "watch"],
    "Web UI": ["ui"],
}
ALIASES = {"promote": "assign"}
# Commands defined outside this module, imported only when named (or listed by --help), so
# that registry commands never pay for the storage or model-packaging imports.
LAZY = {
    **dict.fromkeys(
        ["add", "checkout", "status", "push", "pull", "fetch", "get", "remote", "gc"], "storage"
    ),
    **dict.fromkeys(["log-model", "import-mlflow", "describe-model"], "models"),
    **dict.fromkeys(["compare", "experiments", "plots", "lineage"], "compare"),
    "serve": "serve",
    "predict": "batch",
    "build": "build",
    **dict.fromkeys(["ci", "hook", "watch"], "actions"),
    "ui": "ui",
}


class Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [c for cmds in SECTIONS.values() for c in cmds]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        name = ALIASES.get(name, name)
        if name not in self.commands and name in LAZY:
            import importlib

            module = importlib.import_module(f"{__package__}.{LAZY[name]}")
            command = getattr(module, name.replace("-", "_"), None)
            if command is None:
                return None
            self.commands[name] = command
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for section, cmds in SECTIONS.items():
            rows = []
            for name in cmds:
                cmd = self.get_command(ctx, name)
                if cmd is None:
                    continue
                alias = [a for a, t in ALIASES.items() if t == name]
                label = f"{name} ({', '.join(alias)})" if alias else name
                rows.append((label, cmd.get_short_help_str(70)))
            if not rows:
                continue
            with formatter.section(section):
                formatter.write_dl(rows)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="landmark", prog_name="landmark")
@click.option(
    "--traceback", is_flag=True, hidden=True, help="Show tracebacks of unexpected errors."
)
def cli(traceback: bool) -> None:
    """landmark: a Git-native model registry, GTO-compatible.

    Versions and stages are annotated Git tags; `-r/--repo` takes a path or a remote URL.
    """


def _registry(repo: str) -> Registry:
    from ..registry import Registry

    return Registry(repo)


def repo_option(f: F) -> F:
    return click.option(
        "-r", "--repo", default=".", show_default=True, help="Repository path or remote URL."
    )(f)


def _simple(value: str) -> bool | None:
    mapping = {"auto": None, "true": True, "false": False}
    if value not in mapping:
        raise click.BadParameter("use auto, true or false", param_hint="--simple")
    return mapping[value]


def write_options(f: F) -> F:
    f = click.option(
        "--dry-run", is_flag=True, help="Print the tags it would create or delete; write nothing."
    )(f)
    f = click.option("--push", is_flag=True, help="Push the tag to origin.")(f)
    f = click.option("--sign", is_flag=True, help="Sign the tag (git tag -s).")(f)
    f = click.option("--force", is_flag=True, help="Create the tag even where one is in effect.")(f)
    f = click.option(
        "--simple",
        default="auto",
        metavar="[auto|true|false]",
        help="Simple tag (name#prod) instead of counted (name#prod#3).",
    )(f)
    f = click.option("-m", "--message", help="Message of the annotated tag.")(f)
    return repo_option(f)


def _done(reg: Registry, result: Event | Deleted | Plan, what: str, push: bool) -> None:
    from ..events import Event
    from ..plans import Plan

    if isinstance(result, Plan):
        for line in result.lines():
            click.echo(line)
        return
    remote = push or reg.repo.url
    if isinstance(result, Event):
        click.echo(f"Created git tag '{result.tag}' that {what}")
        if remote:
            click.echo(f"Pushed git tag '{result.tag}' to origin")
        else:
            click.echo(f"To push it, run: git push origin {result.tag}")
    else:
        for tag in result.tags:
            click.echo(f"Deleted git tag '{tag}'")
        if not remote:
            click.echo(
                f"To delete it upstream too, run: git push --delete origin {' '.join(result.tags)}"
            )


@cli.command()
@write_options
@click.argument("name")
@click.argument("ref", default="HEAD")
@click.option("--version", "--ver", "version", help="Version to register (SemVer, e.g. v1.2.0).")
@click.option("--bump-major", is_flag=True, help="Bump the major part of the latest version.")
@click.option("--bump-minor", is_flag=True, help="Bump the minor part of the latest version.")
@click.option("--bump-patch", is_flag=True, help="Bump the patch part (the default).")
@click.option(
    "--from-exp", "from_exp", metavar="EXP", help="Register the commit of DVC experiment EXP."
)
def register(
    repo: str, name: str, ref: str, version: str | None, message: str | None, simple: str,
    force: bool, push: bool, sign: bool, dry_run: bool, bump_major: bool, bump_minor: bool,
    bump_patch: bool, from_exp: str | None,
) -> None:  # fmt: skip
    """Register a version of NAME at REF (default HEAD), or at experiment --from-exp EXP."""
    from ..errors import InvalidInput

    bumps = [
        b for b, on in (("major", bump_major), ("minor", bump_minor), ("patch", bump_patch)) if on
    ]
    if len(bumps) > 1:
        raise InvalidInput("give one --bump-* flag at most")
    reg = _registry(repo)
    exp = None
    if from_exp is not None:
        from ..dvcexp import experiment_for_register

        if ref != "HEAD":
            raise InvalidInput("give either REF or --from-exp, not both")
        exp = experiment_for_register(reg.repo, from_exp)
        ref = exp.rev
    e = reg.register(
        name, ref, version=version, bump=bumps[0] if bumps else None, message=message,
        simple=_simple(simple), force=force, push=push, sign=sign, dry_run=dry_run,
    )  # fmt: skip
    _done(reg, e, "registers version", push)
    if exp is not None and not dry_run:
        from ..dvcexp import push_experiment

        click.echo(
            f"Registered experiment '{exp.name}' ({exp.rev[:7]}, baseline {exp.baseline[:7]})"
        )
        if push and reg.repo.url is None:
            push_experiment(reg.repo, exp)
            click.echo(f"Pushed experiment ref '{exp.ref}' to origin")


@cli.command()
@write_options
@click.argument("name")
@click.argument("ref", required=False)
@click.option("--stage", required=True, help="Stage to assign.")
@click.option("--version", help="Version to assign; with REF, the version to register there.")
@click.option(
    "--sr",
    "--skip-registration",
    "skip_registration",
    is_flag=True,
    help="Don't register a version at REF.",
)
def assign(
    repo: str, name: str, ref: str | None, stage: str, version: str | None, message: str | None,
    simple: str, force: bool, push: bool, sign: bool, dry_run: bool, skip_registration: bool,
) -> None:  # fmt: skip
    """Assign a stage to a version (by --version, or the one at REF)."""
    name_version = version if ref is not None else None
    version = None if ref is not None else version
    reg = _registry(repo)
    e = reg.assign(
        name, stage, ref, version=version, name_version=name_version, message=message,
        simple=bool(_simple(simple)), force=force, push=push,
        skip_registration=skip_registration, sign=sign, dry_run=dry_run,
    )  # fmt: skip
    _done(reg, e, f"assigns stage '{stage}'", push)


@cli.command()
@write_options
@click.argument("name")
@click.argument("version", required=False)
@click.option("--ref", help="Git ref of the version instead of VERSION.")
@click.option("--stage", required=True, help="Stage to take away.")
@click.option("-d", "--delete", is_flag=True, help="Delete the stage's tags instead.")
def unassign(
    repo: str, name: str, version: str | None, ref: str | None, stage: str, message: str | None,
    simple: str, force: bool, push: bool, sign: bool, dry_run: bool, delete: bool,
) -> None:  # fmt: skip
    """Unassign a stage from a version."""
    reg = _registry(repo)
    e = reg.unassign(
        name, stage, ref, version=version, message=message, simple=bool(_simple(simple)),
        force=force, delete=delete, push=push, sign=sign, dry_run=dry_run,
    )  # fmt: skip
    _done(reg, e, f"unassigns stage '{stage}'", push)


@cli.command()
@write_options
@click.argument("name")
@click.argument("version", required=False)
@click.option("--ref", help="Git ref of the version instead of VERSION.")
@click.option("-d", "--delete", is_flag=True, help="Delete the version's tags instead.")
def deregister(
    repo: str, name: str, version: str | None, ref: str | None, message: str | None,
    simple: str, force: bool, push: bool, sign: bool, dry_run: bool, delete: bool,
) -> None:  # fmt: skip
    """Deregister a version."""
    reg = _registry(repo)
    e = reg.deregister(
        name, version, ref, message=message, simple=_simple(simple), force=force,
        delete=delete, push=push, sign=sign, dry_run=dry_run,
    )  # fmt: skip
    _done(reg, e, "deregisters version", push)


@cli.command()
@write_options
@click.argument("name")
@click.argument("version", required=False)
@click.argument("stage", required=False)
@click.option("--ref", help="Git ref to put the deprecation tag on.")
@click.option("-d", "--delete", is_flag=True, help="Delete the tags instead of creating one.")
def deprecate(
    repo: str, name: str, version: str | None, stage: str | None, ref: str | None,
    message: str | None, simple: str, force: bool, push: bool, sign: bool, dry_run: bool,
    delete: bool,
) -> None:  # fmt: skip
    """Deprecate NAME; with VERSION deregister it; with VERSION STAGE unassign the stage."""
    reg = _registry(repo)
    opts: dict[str, Any] = dict(
        message=message, force=force, delete=delete, push=push, sign=sign, dry_run=dry_run
    )
    result: Event | Deleted | Plan
    if stage:
        result = reg.unassign(name, stage, version=version, simple=bool(_simple(simple)), **opts)
        what = f"unassigns stage '{stage}'"
    elif version:
        result = reg.deregister(name, version, simple=_simple(simple), **opts)
        what = "deregisters version"
    else:
        result = reg.deprecate(name, ref, simple=_simple(simple), **opts)
        what = "deprecates artifact"
    _done(reg, result, what, push)


def _check_one(flags: dict[str, bool]) -> None:
    from ..errors import InvalidInput

    on = [k for k, v in flags.items() if v]
    if len(on) > 1:
        raise InvalidInput(f"choose one output format: {', '.join(on)}")


def _sort(value: str) -> str:
    if value not in ("timestamp", "semver"):
        raise click.BadParameter("use timestamp or semver", param_hint="--sort")
    return value


@cli.command()
@repo_option
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same as GTO's).")
@click.option("--plain", is_flag=True, help="Print a plain table.")
@click.option("--name", "show_name", is_flag=True, help="Print only artifact names.")
@click.option("--version", "show_version", is_flag=True, help="Print only versions.")
@click.option("--stage", "show_stage", is_flag=True, help="Print only stages.")
@click.option("--ref", "show_ref", is_flag=True, help="Print only git refs.")
@click.option(
    "--ro", "--registered-only", "registered_only", is_flag=True, help="Only registered versions."
)
@click.option("-d", "--deprecated", is_flag=True, help="Include deprecated artifacts and versions.")
@click.option(
    "--av",
    "--assignments-per-version",
    "av",
    default=-1,
    show_default=True,
    help="Stages per version; -1 for all.",
)
@click.option(
    "--vs",
    "--versions-per-stage",
    "vs",
    default=1,
    show_default=True,
    help="Versions per stage; -1 for all.",
)
@click.option(
    "--sort",
    default="timestamp",
    show_default=True,
    help="Order of versions in a stage: timestamp or semver.",
)
def show(
    repo: str, name: str | None, as_json: bool, plain: bool, show_name: bool, show_version: bool,
    show_stage: bool, show_ref: bool, registered_only: bool, deprecated: bool, av: int, vs: int, sort: str,
) -> None:  # fmt: skip
    """Show the registry, the versions of NAME, or what a shortcut (NAME@latest, NAME#prod) names."""
    from ..errors import InvalidInput

    only = {"name": show_name, "version": show_version, "stage": show_stage, "ref": show_ref}
    _check_one({"--json": as_json, "--plain": plain, **{f"--{k}": v for k, v in only.items()}})
    if av < -1 or vs < -1:
        raise InvalidInput("--av and --vs take -1 (all) or a count of 0 or more")
    opts: dict[str, Any] = dict(
        registered_only=registered_only, deprecated=deprecated,
        assignments_per_version=av, versions_per_stage=vs, sort=_sort(sort),
    )  # fmt: skip
    from .. import api

    field = next((k for k, v in only.items() if v), None)
    if name is None:
        data = api.show(repo=repo, **opts)
        if as_json:
            return _json(data)
        stages = sorted({s for d in data.values() for s in d["stage"]})
        rows = [
            [n if d["registered"] else f"*{n}", d["version"], *(d["stage"][s] for s in stages)]
            for n, d in sorted(data.items())
        ]
        headers = ["name", "latest", *(f"#{s}" for s in stages)]
    else:
        versions = api.show(name, repo=repo, **opts)
        if as_json:
            return _json(versions)
        rows = [
            [v["artifact"], _short(v["version"]), ", ".join(dict.fromkeys(s["stage"] for s in v["stages"])),
             v["created_at"].replace("T", " ") if v["created_at"] else None, _short(v["ref"])]
            for v in versions
        ]  # fmt: skip
        headers = ["artifact", "version", "stage", "created_at", "ref"]
    _rows(headers, rows, plain, field)


def _short(value: str | None) -> str | None:
    if value and len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:7]
    return value


def _json(data: Any) -> None:
    from .render import emit_json

    emit_json(data)


def _rows(headers: list[str], rows: list[list[Any]], plain: bool, field: str | None = None) -> None:
    from ..errors import InvalidInput
    from .render import table

    if field is not None:
        if field not in headers:
            raise InvalidInput(f"--{field} does not apply here")
        i = headers.index(field)
        for r in rows:
            if r[i] is not None:
                click.echo(r[i])
        return
    if not rows:
        click.echo("Nothing found in the current workspace")
        return
    click.echo(table(headers, rows, plain=plain))


@cli.command()
@repo_option
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same as GTO's).")
@click.option("--plain", is_flag=True, help="Print a plain table.")
@click.option("--asc", "--ascending", "ascending", is_flag=True, help="Oldest first.")
def history(repo: str, name: str | None, as_json: bool, plain: bool, ascending: bool) -> None:
    """Show the journal of registry events."""
    _check_one({"--json": as_json, "--plain": plain})
    from .. import api

    events = api.history(name, repo=repo, ascending=ascending)
    if as_json:
        return _json(events)
    keys = ["timestamp", "artifact", "event", "version", "stage", "commit", "ref"]
    rows = [
        [
            e["timestamp"].replace("T", " "),
            e["artifact"],
            e["event"],
            _short(e["version"]),
            e["stage"],
            e["commit"][:7],
            e["ref"],
        ]
        for e in events
    ]
    _rows(keys, rows, plain)


@cli.command("check-ref")
@repo_option
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same as GTO's).")
@click.option("--name", "show_name", is_flag=True, help="Print the artifact name.")
@click.option("--version", "show_version", is_flag=True, help="Print the version.")
@click.option("--event", "show_event", is_flag=True, help="Print the event kind.")
@click.option("--stage", "show_stage", is_flag=True, help="Print the stage.")
def check_ref(
    repo: str,
    ref: str,
    as_json: bool,
    show_name: bool,
    show_version: bool,
    show_event: bool,
    show_stage: bool,
) -> None:
    """Tell what a git tag registered or assigned (for CI)."""
    flags = {
        "--json": as_json,
        "--name": show_name,
        "--version": show_version,
        "--event": show_event,
        "--stage": show_stage,
    }
    _check_one(flags)
    from .. import api

    found = api.check_ref(ref, repo=repo)
    if not found:
        return
    e = found[0]
    if as_json:
        return _json(e)
    key = {"--name": "artifact", "--version": "version", "--event": "event", "--stage": "stage"}
    chosen = next((k for k, v in flags.items() if v), None)
    if chosen:
        value = e.get(key[chosen])
        if value:
            click.echo(value)
        return
    click.echo(_describe_event(e))


def _describe_event(e: dict[str, Any]) -> str:
    kind, art, ver, stage = e["event"], e["artifact"], e.get("version"), e.get("stage")
    return {
        "registration": f'Version "{ver}" of artifact "{art}" was registered',
        "deregistration": f'Version "{ver}" of artifact "{art}" was deregistered',
        "assignment": f'Stage "{stage}" was assigned to version "{ver}" of artifact "{art}"',
        "unassignment": f'Stage "{stage}" was unassigned from version "{ver}" of artifact "{art}"',
        "deprecation": f'Artifact "{art}" was deprecated',
    }[kind]


@cli.command()
@repo_option
@click.option("--allowed", is_flag=True, help="Stages the config allows.")
@click.option("--used", is_flag=True, help="Stages in use.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stages(repo: str, allowed: bool, used: bool, as_json: bool) -> None:
    """List stages: the allowed ones from .gto, else those in use."""
    result = _registry(repo).stages(allowed=allowed, used=used)
    if as_json:
        return _json(result)
    for s in result:
        click.echo(s)


@cli.command()
@repo_option
@click.argument("name")
@click.option("--rev", help="Git revision to read the annotation at.")
@click.option("--type", "show_type", is_flag=True, help="Print only the type.")
@click.option("--path", "show_path", is_flag=True, help="Print only the path.")
@click.option("--description", "show_description", is_flag=True, help="Print only the description.")
def describe(
    repo: str, name: str, rev: str | None, show_type: bool, show_path: bool, show_description: bool
) -> None:
    """Show the annotation of NAME (or NAME@v1.2.3, NAME#prod) at that version's commit."""
    flags = {"--type": show_type, "--path": show_path, "--description": show_description}
    _check_one(flags)
    a = _registry(repo).describe(name, rev)
    if show_type or show_path or show_description:
        value = a.type if show_type else a.path if show_path else a.description
        if value:
            click.echo(value)
        return
    _json({k: v for k, v in a.to_dict().items() if v not in (None, "", [])})


@cli.command()
@repo_option
@click.argument("name")
@click.option("--type", "type_", help="Artifact type, e.g. model.")
@click.option("--path", help="Path of the artifact, relative to the dvc.yaml's folder.")
@click.option("--description", "--desc", "description", help="Description.")
@click.option("--label", "labels", multiple=True, help="Label (repeat for several).")
@click.option("--replace", is_flag=True, help="Replace the annotation instead of updating it.")
def annotate(
    repo: str,
    name: str,
    type_: str | None,
    path: str | None,
    description: str | None,
    labels: tuple[str, ...],
    replace: bool,
) -> None:
    """Add or update the annotation of NAME in dvc.yaml (dir/sub:NAME -> dir/sub/dvc.yaml)."""
    a = _registry(repo).annotate(
        name, type=type_, path=path, description=description, labels=list(labels), replace=replace
    )
    click.echo(f"Annotated '{a.name}' in {a.source}")


@cli.command()
@repo_option
@click.argument("name")
def remove(repo: str, name: str) -> None:
    """Remove the annotation of NAME from dvc.yaml."""
    source = _registry(repo).remove(name)
    click.echo(f"Removed '{name}' from {source}")


@cli.command()
@repo_option
def doctor(repo: str) -> None:
    """Check the registry: malformed or conflicting tags, lightweight look-alikes, config."""
    from importlib.metadata import version

    report = _registry(repo).doctor()
    click.echo(
        f"landmark {version('landmark')}: {report.tags} registry tags, {report.artifacts} artifacts"
    )
    if report.config_error:
        click.echo(f"config: {report.config_error}")
    for p in report.problems:
        click.echo(f"{p.tag}: {p.message}")
    if report.ok:
        click.echo("No problems found")
    else:
        raise click.exceptions.Exit(1)
