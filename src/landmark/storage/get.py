"""Fetch an artifact's bytes by registry reference (``name@v1.2.3``, ``name@latest``, ``name#prod``).

The reference is resolved through the registry to a commit; the artifact's path is read from
that commit's annotations; its bytes come from the ``.dvc`` file or ``dvc.lock`` output that
covers the path (fetched from the remote configured at that commit, through a local object
cache), or straight from git when the path is tracked by git. Nothing is checked out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import annotations as ann
from .. import names
from ..errors import ConfigError, InvalidInput, LandmarkError, NotFound
from ..git import Repo
from ..progress import Progress
from ..registry import Registry
from .cache import Linker, ObjectCache, repo_cache
from .dvcfile import Output, parse_dvcfile, parse_lock
from .pathguard import check_folders, check_layout, check_relpath, output_path
from .remotes import Remote

LOCK_FILE = "dvc.lock"


@dataclass(frozen=True)
class Located:
    """Where an artifact's bytes live at one version."""

    name: str
    version: str | None  # None when asked for a bare git revision
    commit: str
    path: str  # relative to the repository root
    output: Output | None  # the DVC output covering ``path``; None for git-tracked files
    inner: str = ""  # ``path`` relative to a tracked directory that contains it


def resolve(reg: Registry, ref: str, rev: str | None = None) -> tuple[str, str | None, str]:
    """(artifact name, version or None, commit) that ``ref`` names."""
    if rev is not None:
        name = ref
        names.check_artifact(name)
        return name, None, reg.repo.resolve(rev)
    sc = names.parse_shortcut(ref)
    if not (sc.latest or sc.version or sc.stage):
        raise InvalidInput(
            f"{ref!r} names no version: use NAME@v1.2.3, NAME@latest, NAME#STAGE or --rev"
        )
    art = reg.artifact(sc.name)
    if sc.stage:
        held = art.vstages().get(sc.stage)
        if not held:
            raise NotFound(f"no version of {sc.name!r} is in stage {sc.stage!r}")
        version = held[0].version
        found = [
            v
            for v in art.get_versions(include_non_explicit=True, include_discovered=True)
            if v.version == version
        ]
    elif sc.latest:
        latest = art.latest(registered_only=True)
        found = [latest] if latest else []
    else:
        found = [v for v in art.get_versions() if v.version == sc.version]
    if not found:
        raise NotFound(f"{ref!r} matches no registered version: see 'landmark show {sc.name}'")
    chosen = found[-1]
    return sc.name, chosen.version, chosen.commit


def locate(reg: Registry, ref: str, rev: str | None = None) -> Located:
    name, version, commit = resolve(reg, ref, rev)
    at = f"{name}@{version}" if version else f"{name} at {rev}"
    try:
        annotation = ann.read_at(reg.repo, commit).get(name)
    except LandmarkError as e:
        raise NotFound(f"cannot read the annotations of {at}: {e}") from None
    if annotation is None or not annotation.repo_path:
        raise NotFound(
            f"{at} has no path in dvc.yaml at commit {commit[:7]}: "
            f"annotate it with 'landmark annotate {name} --path PATH' and commit"
        )
    path = output_path("", annotation.repo_path, f"the annotation of {at} (dvc.yaml)")
    output, inner = _find_output(reg.repo, commit, path)
    if output is None and not reg.repo.tree(commit, path):
        raise NotFound(
            f"{path} ({at}) is neither tracked by git nor by a .dvc file or dvc.lock "
            f"at commit {commit[:7]}"
        )
    return Located(name, version, commit, path, output, inner)


def _find_output(repo: Repo, commit: str, path: str) -> tuple[Output | None, str]:
    """The output that is ``path`` or contains it, from ``.dvc`` files or else ``dvc.lock``
    (listing the tree for lock files only when no ``.dvc`` file covers the path)."""
    parts = path.split("/")
    pointers = [f"{'/'.join(parts[:i])}.dvc" for i in range(len(parts), 0, -1)]
    found = _covering(repo, commit, path, pointers, parse_dvcfile)
    if found[0] is None:
        found = _covering(repo, commit, path, repo.list_files(commit, [LOCK_FILE]), parse_lock)
    return found


def _covering(
    repo: Repo,
    commit: str,
    path: str,
    files: list[str],
    parse: Callable[[str, str], list[Output]],
) -> tuple[Output | None, str]:
    """The first output of ``files`` (paths relative to each file's folder) that is ``path``
    or a folder holding it, with ``path`` relative to that output."""
    contents = repo.read_files((commit, name) for name in files)
    for name in files:
        data = contents.get((commit, name))
        if data is None:
            continue
        folder = name.rpartition("/")[0]
        for out in parse(data.decode(), name):
            full = output_path(folder, out.path, f"{name} at commit {commit[:7]}")
            if full == path or path.startswith(full + "/"):
                return out, path[len(full) + 1 :]
    return None, ""


def default_destination(located: Located) -> Path:
    return Path(PurePosixPath(located.path).name)


def _place(build: Path, dest: Path, force: bool) -> None:
    """Move a finished file or folder into place; the old one goes only once the new is whole."""
    if dest.exists() or dest.is_symlink():
        if not force:
            raise InvalidInput(f"{dest} already exists: pass --force to replace it or -o elsewhere")
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
        os.replace(build, dest)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        os.replace(build, dest)


def cache_for(reg: Registry) -> ObjectCache:
    """A local clone's own DVC cache; for a remote URL, one shared user-level cache."""
    if reg.repo.url is None and not reg.repo.bare:
        return repo_cache(reg.repo.path)
    from ..git import cache_root

    return ObjectCache(cache_root() / "objects")


def remote_for(reg: Registry, commit: str, name: str | None = None) -> Remote:
    """The DVC remote to fetch from: a clone's own configuration (with its local overlay and
    credentials); for a remote or bare repo, the ``.dvc/config`` of the version's commit."""
    from .remotes import resolve_remote

    if reg.repo.url is None and not reg.repo.bare:
        return resolve_remote(reg.repo.path, name)
    import tempfile

    text = reg.repo.read_file(commit, ".dvc/config")
    where = reg.repo.url or os.fspath(reg.repo.path)
    if text is None:
        raise NotFound(
            f"{where} has no .dvc/config at commit {commit[:7]}: its DVC outputs have no remote"
        )
    with tempfile.TemporaryDirectory(prefix="landmark-config-") as tmp:
        (Path(tmp) / ".dvc").mkdir()
        (Path(tmp) / ".dvc" / "config").write_bytes(text)
        remote = resolve_remote(Path(tmp), name)
    if remote.is_local and remote.url.startswith(tmp):
        raise ConfigError(
            f"remote {remote.name!r} of {where} is a path relative to that repository, "
            "usable only from a clone of it: clone it and run 'landmark get' there"
        )
    return remote


def _wanted(cache: ObjectCache, located: Located) -> list[tuple[str, str]]:
    """(relative path in the result, object hash) of every file to write; "" for a file."""
    out = located.output
    assert out is not None
    if not out.is_dir:
        return [("", out.md5)]
    entries = cache.read_manifest(out.md5)
    if not located.inner:
        return [(e.relpath, e.md5) for e in entries]
    exact = [("", e.md5) for e in entries if e.relpath == located.inner]
    if exact:
        return exact
    prefix = located.inner.rstrip("/") + "/"
    inside = [(e.relpath[len(prefix) :], e.md5) for e in entries if e.relpath.startswith(prefix)]
    if not inside:
        raise NotFound(f"{located.path} is not in the directory {out.path} it should be part of")
    return inside


def _ensure(
    reg: Registry,
    cache: ObjectCache,
    located: Located,
    remote: str | None,
    jobs: int | None,
    progress: Progress | None,
) -> None:
    """Bring every object the artifact needs into ``cache`` (manifest first, then files)."""
    out = located.output
    assert out is not None
    if out.is_dir and cache.exists(out.md5):
        missing = [h for h in cache.objects_for(out.md5) if not cache.exists(h)]
    else:
        missing = [] if cache.exists(out.md5) else [out.md5]
    if not missing:
        return
    from .stores import open_remote
    from .transfer import fetch

    store = open_remote(remote_for(reg, located.commit, remote))
    fetch(cache, store, [out.md5], jobs=jobs, progress=progress, labels={out.md5: located.path})


def get(
    ref: str,
    *,
    repo: str | os.PathLike[str] = ".",
    out: str | os.PathLike[str] | None = None,
    rev: str | None = None,
    remote: str | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Write the artifact ``ref`` names to ``out`` (default: its file name, here);
    ``progress`` hears of the objects fetched (see :mod:`landmark.progress`)."""
    reg = Registry(repo)
    located = locate(reg, ref, rev)
    dest = Path(out) if out is not None else default_destination(located)
    if dest.exists() and not force:
        raise InvalidInput(f"{dest} already exists: pass --force to replace it or -o elsewhere")
    dest.parent.mkdir(parents=True, exist_ok=True)
    build = dest.with_name(f".{dest.name}.landmark-{os.getpid()}")
    try:
        if located.output is None:
            _build_from_git(reg.repo, located, build)
        else:
            cache = cache_for(reg)
            _ensure(reg, cache, located, remote, jobs, progress)
            _build_from_cache(cache, _wanted(cache, located), build)
        _place(build, dest, force)
    except BaseException:
        if build.is_dir() and not build.is_symlink():
            shutil.rmtree(build, ignore_errors=True)
        elif build.exists() or build.is_symlink():
            build.unlink()
        raise
    return dest


def _build_from_cache(cache: ObjectCache, files: list[tuple[str, str]], build: Path) -> None:
    linker = Linker(["reflink", "copy"])  # private, writable copies: never the cache's inode
    if files == [("", files[0][1])] and files[0][0] == "":
        linker.replace(cache.ospath(files[0][1]), os.fspath(build))
        return
    # (the manifest's paths were checked when it was read)
    top = os.fspath(build)
    for rel, md5 in files:
        target = os.path.join(top, rel)
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        check_folders(top, [parent], "the output folder")
        linker.replace(cache.ospath(md5), target)


def _build_from_git(repo: Repo, located: Located, build: Path) -> None:
    entries = repo.tree(located.commit, located.path)
    contents = repo.read_files((located.commit, p) for p, _ in entries)
    single = len(entries) == 1 and entries[0][0] == located.path
    where = f"{located.path} at commit {located.commit[:7]}"
    rels = [] if single else [check_relpath(p[len(located.path) + 1 :], where) for p, _ in entries]
    check_layout(rels, where)
    top = os.fspath(build)
    # Symbolic links last, so no file of the tree can be written through one.
    order = sorted(range(len(entries)), key=lambda i: entries[i][1] == "120000")
    for i in order:
        path, mode = entries[i]
        target = top if single else os.path.join(top, rels[i])
        if not single:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            check_folders(top, [os.path.dirname(target)], "the output folder")
        data = contents.get((located.commit, path), b"")
        if mode == "120000":
            os.symlink(data.decode(errors="surrogateescape"), target)
            continue
        with open(target, "xb") as f:
            f.write(data)
        if mode == "100755":
            os.chmod(target, 0o755)


def show_url(
    ref: str,
    *,
    repo: str | os.PathLike[str] = ".",
    rev: str | None = None,
    remote: str | None = None,
) -> str:
    """Where the artifact's bytes live: the remote object URL, or the git location."""
    reg = Registry(repo)
    located = locate(reg, ref, rev)
    if located.output is None:
        where = reg.repo.url or os.fspath(reg.repo.path)
        return f"{where} (git: {located.path} at {located.commit})"
    target = remote_for(reg, located.commit, remote)
    md5 = located.output.md5
    url = f"{target.url.rstrip('/')}/files/md5/{md5[:2]}/{md5[2:]}"
    return f"{url} ({located.inner} inside)" if located.inner else url
