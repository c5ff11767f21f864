"""Commands for model files: add, checkout, status, push, pull, fetch, get, remote, gc."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .progress import shown
from .render import local_status
from .render import plural as _plural

# -- transfers and remotes (push, pull, fetch, remote) ------------------------------------------
_F = TypeVar("_F", bound=Callable[..., Any])


def _transfer_root(root: str | None) -> Path:
    from ..storage.workspace import find_root

    return find_root(root)


def _config_root(root: str | None, level: str | None) -> Path:
    """The repository for `remote` commands; the user's and the machine's config files
    (--global, --system) can be edited from anywhere, as with dvc."""
    from ..errors import RepoError

    try:
        return _transfer_root(root)
    except RepoError:
        if level in ("global", "system"):
            return Path(os.getcwd())
        raise


def _transfer_options(f: _F) -> _F:
    f = click.option(
        "-R", "--root", default=None, metavar="PATH",
        help="Repository root (default: the nearest folder upward with .dvc/ or .git).",
    )(f)  # fmt: skip
    f = click.option(
        "-j", "--jobs", type=click.IntRange(min=1), default=None,
        help="Parallel transfers (default: one per core, at most 8, for a local remote; 16 for cloud ones).",
    )(f)  # fmt: skip
    f = click.option(
        "-r", "--remote", default=None, metavar="NAME",
        help="Remote to use (default: the default remote of .dvc/config).",
    )(f)  # fmt: skip
    return click.argument("targets", nargs=-1, type=click.Path())(f)


def _moved(result: Any) -> str:
    from ..progress import format_size

    s = "" if result.transferred == 1 else "s"
    return f"{result.transferred} object{s} ({format_size(result.bytes)})"


@click.command()
@_transfer_options
def push(targets: tuple[str, ...], remote: str | None, jobs: int | None, root: str | None) -> None:
    """Send tracked outputs' objects to a remote (all outputs, or TARGETS' .dvc files/paths).

    Only objects the remote lacks are sent; a directory's manifest goes last.
    """
    from ..storage import transfer

    with shown("push") as bar:
        result = transfer.push_repo(_transfer_root(root), list(targets) or None, remote, jobs, bar)
    if result.transferred:
        click.echo(f"Pushed {_moved(result)} to {result.remote}")
    else:
        click.echo(f"Everything is already on {result.remote}")


@click.command()
@_transfer_options
def fetch(targets: tuple[str, ...], remote: str | None, jobs: int | None, root: str | None) -> None:
    """Download tracked outputs' objects into the cache, leaving the work tree alone."""
    from ..storage import transfer

    with shown("fetch") as bar:
        result = transfer.fetch_repo(_transfer_root(root), list(targets) or None, remote, jobs, bar)
    if result.transferred:
        click.echo(f"Fetched {_moved(result)} from {result.remote}")
    else:
        click.echo("Everything is already in the cache")


@click.command()
@_transfer_options
@click.option("-f", "--force", is_flag=True, help="Overwrite work tree changes not in the cache.")
def pull(
    targets: tuple[str, ...], remote: str | None, jobs: int | None, root: str | None, force: bool
) -> None:
    """Fetch tracked outputs' objects and check them out into the work tree."""
    from ..storage import transfer

    with shown("pull") as bar:
        report = transfer.pull_repo(
            _transfer_root(root), list(targets) or None, remote, jobs, bar, force=force
        )
    if report.fetched.transferred:
        click.echo(f"Fetched {_moved(report.fetched)} from {report.fetched.remote}")
    for path in report.checkout.restored:
        click.echo(f"Restored {path}")
    if not report.fetched.transferred and not report.checkout.restored:
        click.echo("Everything is up to date")


# -- remote -----------------------------------------------------------------------------------------
def _level_options(f: _F) -> _F:
    for flag, level, text in (
        ("--system", "system", "the system-wide config"),
        ("--global", "global", "your user config (~/.config/dvc/config)"),
        ("--project", "repo", ".dvc/config (the default)"),
        ("--local", "local", ".dvc/config.local (git-ignored: for credentials)"),
    ):
        f = click.option(flag, "level", flag_value=level, help=f"Use {text}.")(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def remote() -> None:
    """Configure storage remotes (in .dvc/config, as dvc does: dvc reads them too)."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("-d", "--default", "default", is_flag=True, help="Make it the default remote.")
@click.option("-f", "--force", is_flag=True, help="Overwrite a remote of the same name.")
@_level_options
@click.option("-R", "--root", default=None, metavar="PATH", help="Repository root.")
def remote_add(
    name: str, url: str, default: bool, force: bool, level: str | None, root: str | None
) -> None:
    """Add remote NAME at URL: a local path, s3://, gs://, azure://, ssh:// or http(s)://."""
    from ..storage import remotes

    added = remotes.add_remote(
        _config_root(root, level), name, url, default=default, level=level or "repo", force=force,
        cwd=Path(os.getcwd()),
    )  # fmt: skip
    if default:
        click.echo(f"Setting '{added.name}' as the default remote.")


@remote.command("list")
@_level_options
@click.option("-R", "--root", default=None, metavar="PATH", help="Repository root.")
def remote_list(level: str | None, root: str | None) -> None:
    """List remotes: name, url, and (default) for the default one."""
    from ..storage import remotes

    listing = remotes.list_remotes(_config_root(root, level), level)
    for r in listing.remotes:
        mark = "\t(default)" if r.name == listing.default else ""
        click.echo(f"{r.name}\t{r.url}{mark}")


@remote.command("remove")
@click.argument("name")
@_level_options
@click.option("-R", "--root", default=None, metavar="PATH", help="Repository root.")
def remote_remove(name: str, level: str | None, root: str | None) -> None:
    """Remove remote NAME (and unset it as the default)."""
    from ..storage import remotes

    remotes.remove_remote(_config_root(root, level), name, level=level or "repo")


@remote.command("default")
@click.argument("name", required=False)
@click.option("--unset", is_flag=True, help="Have no default remote.")
@_level_options
@click.option("-R", "--root", default=None, metavar="PATH", help="Repository root.")
def remote_default(name: str | None, unset: bool, level: str | None, root: str | None) -> None:
    """Print the default remote, or make NAME the default."""
    from ..errors import NotFound
    from ..storage import remotes

    repo_root = _config_root(root, level)
    if name is None and not unset:
        current = remotes.default_remote(repo_root, level)
        if current is None:
            raise NotFound("no default remote is set: run 'landmark remote default NAME'")
        click.echo(current)
        return
    remotes.set_default(repo_root, name, level=level or "repo", unset=unset)


@remote.command("modify")
@click.argument("name")
@click.argument("option")
@click.argument("value", required=False)
@click.option("-u", "--unset", is_flag=True, help="Remove OPTION instead of setting it.")
@_level_options
@click.option("-R", "--root", default=None, metavar="PATH", help="Repository root.")
def remote_modify(
    name: str, option: str, value: str | None, unset: bool, level: str | None, root: str | None
) -> None:
    """Set OPTION of remote NAME to VALUE (endpointurl, region, profile, access_key_id...).

    Credentials belong in --local (.dvc/config.local, never committed).
    """
    from ..storage import remotes

    remotes.modify_remote(
        _config_root(root, level), name, option, value, level=level or "repo", unset=unset,
        cwd=Path(os.getcwd()),
    )  # fmt: skip


@remote.command("rename")
@click.argument("name")
@click.argument("new")
@_level_options
@click.option("-R", "--root", default=None, metavar="PATH", help="Repository root.")
def remote_rename(name: str, new: str, level: str | None, root: str | None) -> None:
    """Rename remote NAME to NEW."""
    from ..storage import remotes

    remotes.rename_remote(_config_root(root, level), name, new, level=level or "repo")


# -- get (by registry reference) ----------------------------------------------------------------
@click.command()
@click.argument("ref")
@click.option("-r", "--repo", default=".", show_default=True, help="Repository path or Git URL.")
@click.option(
    "-o", "--out", default=None, metavar="PATH", help="Where to write it (default: its name, here)."
)
@click.option("--rev", default=None, help="Git revision instead of a version: REF is then a NAME.")
@click.option(
    "--remote",
    default=None,
    metavar="NAME",
    help="DVC remote to fetch from (default: the repo's default).",
)
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Parallel downloads.")
@click.option("-f", "--force", is_flag=True, help="Replace OUT if it exists.")
@click.option(
    "--show-url", is_flag=True, help="Print where the bytes live instead of fetching them."
)
def get(
    ref: str,
    repo: str,
    out: str | None,
    rev: str | None,
    remote: str | None,
    jobs: int | None,
    force: bool,
    show_url: bool,
) -> None:
    """Download an artifact by REF: NAME@v1.2.3, NAME@latest or NAME#STAGE.

    Resolved through the registry (from a clone or a Git URL, without a checkout); the bytes
    come from the DVC remote configured in that repository, or from git for git-tracked files.
    """
    from ..storage import get as getter

    if show_url:
        click.echo(getter.show_url(ref, repo=repo, rev=rev, remote=remote))
        return
    with shown("get") as bar:
        dest = getter.get(
            ref, repo=repo, out=out, rev=rev, remote=remote, jobs=jobs, force=force, progress=bar
        )
    click.echo(f"Downloaded {ref} to {dest}")


# -- add, checkout, status, gc: the work tree and the local cache ----------------------------------
def _root_option(f: _F) -> _F:
    return click.option(
        "-R", "--root", default=None, metavar="PATH",
        help="Repository root (default: the nearest folder upward with .dvc/ or .git).",
    )(f)  # fmt: skip


def _jobs_option(f: _F) -> _F:
    return click.option(
        "-j", "--jobs", type=click.IntRange(min=1), default=None,
        help="Threads hashing or linking files (default: 4 per CPU, at most 32).",
    )(f)  # fmt: skip


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_root_option
@_jobs_option
def add(paths: tuple[str, ...], root: str | None, jobs: int | None) -> None:
    """Track files or folders: cache them, write PATH.dvc, git-ignore PATH.

    The work tree is linked to the cache (reflink, else hard link, else one copy), so nothing
    is written twice; unchanged files are not read again.
    """
    from ..storage import workspace

    with shown("add") as bar:
        report = workspace.track(workspace.find_root(root), list(paths), jobs, bar)
    what = ", ".join(o.path for o in report.outputs)
    unchanged = report.files - report.hashed
    click.echo(
        f"Added {what} ({_plural(report.files, 'file')}: {report.hashed:,} hashed, "
        f"{unchanged:,} unchanged)"
    )
    staged = [*report.dvcfiles, *dict.fromkeys(report.gitignores), *report.created]
    click.echo(f"To track the changes with git, run:\n\n\tgit add {' '.join(staged)}")


@click.command()
@click.argument("targets", nargs=-1, type=click.Path())
@_root_option
@_jobs_option
@click.option("-f", "--force", is_flag=True, help="Overwrite work tree changes not in the cache.")
def checkout(targets: tuple[str, ...], root: str | None, jobs: int | None, force: bool) -> None:
    """Restore tracked files from the cache, writing only what differs.

    TARGETS (default: all) are .dvc files, outputs or paths inside a tracked folder.
    Objects missing from the cache come with `landmark pull`.
    """
    from ..storage import workspace

    with shown("checkout") as bar:
        report = workspace.checkout(
            workspace.find_root(root), list(targets) or None, force, jobs, bar
        )
    for path in report.restored:
        click.echo(f"Restored {path}")
    if report.removed:
        click.echo(f"Removed {_plural(report.removed, 'untracked file')} from tracked folders")
    if not report.restored:
        click.echo("Everything is up to date")


@click.command()
@click.argument("targets", nargs=-1, type=click.Path())
@_root_option
@_jobs_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; exit 1 when anything differs.")
@click.option(
    "-c", "--cloud", is_flag=True, help="Also compare the cache with the remote (default remote)."
)
@click.option(
    "-r", "--remote", default=None, metavar="NAME", help="Remote to compare with (implies -c)."
)
def status(
    targets: tuple[str, ...], root: str | None, jobs: int | None, as_json: bool, quiet: bool,
    cloud: bool, remote: str | None,
) -> None:  # fmt: skip
    """Show tracked outputs that differ from the work tree or are missing from the cache;
    with -c/--cloud, also what the remote lacks (not pushed) or only the remote has."""
    from ..storage import workspace

    repo_root = workspace.find_root(root)
    local = workspace.status_local(repo_root, list(targets) or None, jobs)
    far = None
    if cloud or remote:
        from ..storage import transfer

        outputs = [(o.md5, o.path, o.in_cache) for o in local.outputs]
        far = transfer.status_of(repo_root, outputs, remote, jobs)
    if quiet:
        raise click.exceptions.Exit(0 if local.clean and (far is None or far.in_sync) else 1)
    if as_json:
        import json

        rows = [
            {"path": o.path, "source": o.source, "md5": o.md5, "workspace": o.workspace,
             "missing_objects": list(o.missing_objects)}
            for o in local.outputs
        ]  # fmt: skip
        data: dict[str, Any] = {"outputs": rows, "clean": local.clean}
        if far is not None:
            data["remote"] = {
                "url": far.remote,
                "in_sync": far.in_sync,
                "outputs": [{"path": i.label, "md5": i.md5, "state": i.state} for i in far.items],
            }
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(local_status(local))
    if far is not None:
        _render_remote_status(far)


def _render_remote_status(far: Any) -> None:
    """After the local rows: outputs whose objects are not both in the cache and the remote."""
    lines = [f"\t{i.state + ':':<14}{i.label}" for i in far.items if i.state != "ok"]
    if not lines:
        click.echo(f"Cache and remote {far.remote} are in sync")
        return
    click.echo(f"Remote {far.remote}:")
    click.echo("\n".join(lines))
    if far.with_state("not pushed"):
        click.echo("Objects not on the remote go there with `landmark push`")


@click.command()
@_root_option
@click.option(
    "-w/-W", "--workspace/--no-workspace", default=True, show_default=True,
    help="Keep what the work tree's .dvc files and dvc.lock need.",
)  # fmt: skip
@click.option(
    "--registry/--no-registry", default=True, show_default=True,
    help="Keep what every registered, non-deprecated version needs.",
)  # fmt: skip
@click.option(
    "--ref", "refs", multiple=True, metavar="REF",
    help="Also keep this version (NAME@v1.2.3, NAME#STAGE, NAME@latest); repeatable.",
)  # fmt: skip
@click.option("-c", "--cloud", is_flag=True, help="Also remove unkept objects from the remote.")
@click.option("-r", "--remote", default=None, metavar="NAME", help="Remote for --cloud.")
@click.option("-n", "--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("-f", "--force", is_flag=True, help="Don't ask for confirmation.")
def gc(
    root: str | None,
    workspace: bool,
    registry: bool,
    refs: tuple[str, ...],
    cloud: bool,
    remote: str | None,
    dry_run: bool,
    force: bool,
) -> None:
    """Remove from the cache every object that what is kept does not need.

    Kept: the work tree's outputs, every registered version that is not deprecated, and
    --ref versions. With -c, unkept objects are removed from the remote as well.
    """
    from ..progress import format_size
    from ..storage import gc as collection
    from ..storage.workspace import find_root

    repo_root = find_root(root)
    options = collection.GcOptions(workspace, registry, refs, cloud, remote)
    if not dry_run and not force:
        preview = collection.plan(repo_root, options)
        if preview.nothing:
            click.echo("Nothing to remove")
            return
        far = preview.remote
        extra = f" and {_plural(len(far), 'object')} from the remote" if far is not None else ""
        click.confirm(
            f"Remove {_plural(len(preview.local.removed), 'object')} "
            f"({format_size(preview.local.freed)}) from {preview.cache_root}{extra}?",
            abort=True,
            err=True,
        )
    report = (collection.plan if dry_run else collection.collect)(repo_root, options)
    result = report.local
    verb = "Would remove" if dry_run else "Removed"
    if report.remote is not None:
        click.echo(f"{verb} {_plural(len(report.remote), 'object')} from the remote")
    for md5 in result.unknown_dirs:
        click.echo(f"warning: kept directory {md5} has no manifest in the cache: its files "
                   "may have been removed; `landmark pull` restores them", err=True)  # fmt: skip
    click.echo(
        f"{verb} {_plural(len(result.removed), 'object')} ({format_size(result.freed)}); "
        f"kept {_plural(result.kept, 'object')}"
    )
