"""Results at any revision: metrics, params, plots and ``dvc.lock`` stages, as DVC declares them.

A revision is a commit (a version's, a stage's, a branch, an experiment's) or the work tree.
Commits are read straight from git objects through one ``git cat-file --batch`` process for the
whole call: the trees are walked once per distinct tree object (revisions share most of theirs),
and each distinct file is read and parsed once, however many revisions hold it. Nothing is
checked out and no process is started per file.

What is read follows DVC:
- every ``dvc.yaml`` (nested ones too); paths in it are relative to its folder (and a stage's
  ``wdir``);
- metrics: the top-level ``metrics:`` list and the stages' ``metrics:`` outputs (files or
  folders of .json/.yaml/.yml/.toml);
- params: ``params.yaml`` at the root (always, as DVC does), the top-level ``params:`` files,
  and the stages' ``params:`` (a bare key names the stage's ``params.yaml``, which is shown
  whole; ``{file: [keys]}`` shows those keys; ``{file: }`` the whole file);
- ``dvc.lock``: each stage's command, dependencies and outputs with their hashes, params values;
- plots are declared here but read by :mod:`landmark.plots` through :class:`Snapshot`.

A repository is untrusted input: a path that leaves the repository (absolute, or ``..`` past
the root, or a work-tree symlink pointing out) is refused and reported, never read; a file
larger than :data:`MAX_FILE` is not parsed.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, InvalidInput

if TYPE_CHECKING:
    from .git import ObjectReader, Repo

DVC_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"
PARAMS_FILE = "params.yaml"
WORKSPACE = "workspace"
MAX_FILE = 16 * 1024 * 1024  # a metrics or params file bigger than this is not parsed
DATA_SUFFIXES = (".json", ".yaml", ".yml", ".toml")
SKIP_DIRS = frozenset({".git", ".dvc"})


def repo_path(dvc_file: str, rel: str, wdir: str | None = None) -> str | None:
    """A path written in ``dvc_file`` (relative to its folder, and to a stage's ``wdir``) as a
    repo-relative posix path; None when it leaves the repository."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        return None
    parts = [dvc_file.rpartition("/")[0]]
    if wdir:
        if not isinstance(wdir, str) or wdir.startswith("/"):
            return None
        parts.append(wdir)
    if rel.startswith("/") or "\\" in rel or (len(rel) > 1 and rel[1] == ":"):
        return None
    parts.append(rel)
    joined = posixpath.normpath(posixpath.join(*[p for p in parts if p]))
    if joined in (".", "") or joined == ".." or joined.startswith("../"):
        return None
    return joined


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 0.1}}`` -> ``{"train.lr": 0.1}`` (lists stay values), as DVC shows
    params and metrics."""
    flat: dict[str, Any] = {}
    if not isinstance(data, Mapping):
        if prefix:
            flat[prefix.rstrip(".")] = data
        return flat
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{full}."))
        else:
            flat[full] = value
    return flat


# -- which revisions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One revision to read: what the user named and the commit it is (None: the work tree)."""

    label: str
    rev: str | None
    kind: str  # "version" | "stage" | "latest" | "commit" | "exp" | "workspace"
    name: str | None = None  # the artifact, for registry references
    version: str | None = None
    stages: tuple[str, ...] = ()
    exp: str | None = None  # the experiment's name
    baseline: str | None = None  # an experiment's baseline commit

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "rev": self.rev,
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "stages": list(self.stages),
            "exp": self.exp,
            "baseline": self.baseline,
        }


WORKSPACE_TARGET = Target(WORKSPACE, None, "workspace")


# -- files at one revision -----------------------------------------------------------------


class Snapshot:
    """The files of one revision: ``read`` a path, list ``files_under`` a folder, and the
    parsed ``dvc_files``. Paths are repo-relative posix paths."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.label = target.label
        self.rev = target.rev
        self.dvc_files: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def read(self, path: str) -> bytes | None:
        raise NotImplementedError

    def files_under(self, folder: str) -> list[str]:
        raise NotImplementedError

    def paths_named(self, names: Iterable[str]) -> list[str]:
        raise NotImplementedError

    def key(self, path: str) -> str | None:
        """What identifies the file's content (a blob id, or size and mtime): files with the
        same key parse the same."""
        return None


class CommitSnapshot(Snapshot):
    """A commit, read through a shared :class:`Trees`."""

    def __init__(self, target: Target, trees: Trees, root: str) -> None:
        super().__init__(target)
        self._trees = trees
        self._root = root  # the commit's tree

    def _entry(self, path: str) -> tuple[str, str] | None:
        return self._trees.lookup(self._root, path)

    def key(self, path: str) -> str | None:
        entry = self._entry(path)
        return entry[1] if entry is not None and entry[0].startswith("100") else None

    def read(self, path: str) -> bytes | None:
        entry = self._entry(path)
        if entry is None or not entry[0].startswith("100"):  # a tree, a symlink, a submodule
            return None
        return self._trees.blob(entry[1])

    def files_under(self, folder: str) -> list[str]:
        entry = self._entry(folder)
        if entry is None:
            return []
        if entry[0] != "40000":
            return [folder] if entry[0].startswith("100") else []
        return sorted(f"{folder}/{p}" for p in self._trees.files(entry[1]))

    def paths_named(self, names: Iterable[str]) -> list[str]:
        return sorted(self._trees.named(self._root, frozenset(names)))


class WorkspaceSnapshot(Snapshot):
    """The work tree: files read from disk, never outside the repository."""

    def __init__(self, target: Target, root: Path, listed: Sequence[str]) -> None:
        super().__init__(target)
        self._root = root.resolve()
        self._listed = listed  # git's view: tracked and untracked-not-ignored files

    def _inside(self, path: str) -> Path | None:
        p = self._root / path
        try:
            real = p.resolve()
            real.relative_to(self._root)
        except (ValueError, OSError):
            return None
        return real

    def key(self, path: str) -> str | None:
        p = self._inside(path)
        try:
            st = p.stat() if p is not None else None
        except OSError:
            return None
        return None if st is None else f"{path}:{st.st_size}:{st.st_mtime_ns}"

    def read(self, path: str) -> bytes | None:
        p = self._inside(path)
        if p is None or not p.is_file():
            return None
        if p.stat().st_size > MAX_FILE:
            self.errors[path] = f"larger than {MAX_FILE >> 20} MiB: not read"
            return None
        try:
            return p.read_bytes()
        except OSError:
            return None

    def files_under(self, folder: str) -> list[str]:
        p = self._inside(folder)
        if p is None:
            return []
        if p.is_file():
            return [folder]
        found = []
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            rel = Path(dirpath).relative_to(p).as_posix()
            for name in filenames:
                sub = name if rel == "." else f"{rel}/{name}"
                if self._inside(f"{folder}/{sub}") is not None:
                    found.append(f"{folder}/{sub}")
        return sorted(found)

    def paths_named(self, names: Iterable[str]) -> list[str]:
        wanted = frozenset(names)
        return sorted(p for p in self._listed if p.rsplit("/", 1)[-1] in wanted)


class Trees:
    """Tree and blob objects of a repository, each read once through one ObjectReader."""

    def __init__(self, objects: ObjectReader, oid_len: int) -> None:
        self._objects = objects
        self._oid_len = oid_len
        self._trees: dict[str, dict[str, tuple[str, str]]] = {}
        self._blobs: dict[str, bytes | None] = {}
        self._named: dict[tuple[str, frozenset[str]], list[str]] = {}
        self._files: dict[str, list[str]] = {}
        self._root_of: dict[str, str] = {}  # commit -> its root tree

    def root(self, rev: str) -> str | None:
        """The root tree of a commit (the trees below it read too); None if it is not here."""
        self.roots([rev])
        return self._root_of.get(rev)

    def tree(self, oid: str) -> dict[str, tuple[str, str]]:
        if oid not in self._trees:
            self._read_trees([oid])
        return self._trees[oid]

    def _keep(self, oid: str, got: tuple[str, str, bytes] | None) -> None:
        from .git import parse_tree

        entries = parse_tree(got[2], self._oid_len) if got and got[1] == "tree" else []
        self._trees[oid] = {n: (m, o) for m, n, o in entries}

    def _read_trees(self, oids: Sequence[str]) -> None:
        if oids:
            for oid, got in zip(oids, self._objects.get_many(oids), strict=True):
                self._keep(oid, got)

    def roots(self, revs: Sequence[str]) -> None:
        """Read the root trees of many commits, then every tree below them, a level at a
        time: one round trip per level for all revisions (shared subtrees once)."""
        todo = [r for r in dict.fromkeys(revs) if r not in self._root_of]
        if not todo:
            return
        for rev, got in zip(
            todo, self._objects.get_many([f"{r}^{{tree}}" for r in todo]), strict=True
        ):
            if got is not None and got[1] == "tree":
                self._root_of[rev] = got[0]
                if got[0] not in self._trees:  # the answer is the root tree itself
                    self._keep(got[0], got)
        level = list(dict.fromkeys(self._root_of[r] for r in todo if r in self._root_of))
        while level:
            wanted = list(
                dict.fromkeys(
                    sub
                    for oid in level
                    for name, (mode, sub) in self._trees[oid].items()
                    if mode == "40000" and name not in SKIP_DIRS and sub not in self._trees
                )
            )
            self._read_trees(wanted)
            level = wanted

    def blobs(self, oids: Iterable[str]) -> None:
        """Read many blobs in a few round trips (those already read are skipped)."""
        wanted = [o for o in dict.fromkeys(oids) if o not in self._blobs]
        if not wanted:
            return
        for oid, got in zip(wanted, self._objects.get_many(wanted), strict=True):
            data = got[2] if got is not None and got[1] == "blob" else None
            self._blobs[oid] = data if data is None or len(data) <= MAX_FILE else None

    def lookup(self, root: str, path: str) -> tuple[str, str] | None:
        """(mode, oid) of a path under the tree ``root``."""
        entry: tuple[str, str] | None = ("40000", root)
        for part in path.split("/"):
            if entry is None or entry[0] != "40000":
                return None
            entry = self.tree(entry[1]).get(part)
        return entry

    def blob(self, oid: str) -> bytes | None:
        self.blobs([oid])
        return self._blobs[oid]

    def files(self, oid: str) -> list[str]:
        """Every file path under a tree, relative to it."""
        found = self._files.get(oid)
        if found is None:
            found = []
            for name, (mode, sub) in self.tree(oid).items():
                if mode == "40000":
                    found += [f"{name}/{p}" for p in self.files(sub)]
                elif mode.startswith("100"):
                    found.append(name)
            self._files[oid] = found
        return found

    def named(self, oid: str, names: frozenset[str]) -> list[str]:
        """Paths of the files called one of ``names`` anywhere under a tree; each distinct
        subtree is walked once for all revisions."""
        key = (oid, names)
        found = self._named.get(key)
        if found is None:
            found = []
            for name, (mode, sub) in self.tree(oid).items():
                if mode == "40000":
                    if name not in SKIP_DIRS:
                        found += [f"{name}/{p}" for p in self.named(sub, names)]
                elif name in names and mode.startswith("100"):
                    found.append(name)
            self._named[key] = found
        return found


# -- parsing -------------------------------------------------------------------------------


def parse_data(data: bytes, path: str) -> Any:
    """A metrics or params file by its suffix: JSON, YAML or TOML."""
    suffix = posixpath.splitext(path)[1].lower()
    if path.rsplit("/", 1)[-1] == LOCK_FILE:
        suffix = ".yaml"
    if suffix == ".json":
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: invalid JSON ({e})") from None
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(data.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: invalid TOML ({e})") from None
    if suffix in (".yaml", ".yml"):
        from . import yamlio

        return yamlio.load_simple(data, path)
    raise ConfigError(f"{path}: not a JSON, YAML or TOML file")


@dataclass(frozen=True)
class LockStage:
    """One stage of a ``dvc.lock``: what ran and the hashes of what went in and came out."""

    name: str
    dvcfile: str  # the dvc.yaml it belongs to
    cmd: str
    deps: dict[str, str | None]  # repo path -> hash (md5 / etag ...)
    params: dict[str, dict[str, Any]]  # params file -> {key: value}
    outs: dict[str, str | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dvcfile": self.dvcfile,
            "cmd": self.cmd,
            "deps": [{"path": p, "hash": h} for p, h in self.deps.items()],
            "params": self.params,
            "outs": [{"path": p, "hash": h} for p, h in self.outs.items()],
        }


def _entry_hash(entry: Mapping[str, Any]) -> str | None:
    for key in ("md5", "etag", "checksum", "hash"):
        value = entry.get(key)
        if isinstance(value, str) and value not in ("md5",):
            return value
    return None


def _lock_entries(items: Any, lock_path: str, wdir: str | None) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping):
            path = repo_path(lock_path, str(item.get("path", "")), wdir)
            if path is not None:
                found[path] = _entry_hash(item)
    return found


def parse_lock(doc: Any, lock_path: str) -> list[LockStage]:
    """The stages of a parsed ``dvc.lock`` (schema 2.0); paths made repo-relative."""
    if not isinstance(doc, Mapping):
        return []
    stages = doc.get("stages")
    if not isinstance(stages, Mapping):
        return []
    dvcfile = posixpath.join(lock_path.rpartition("/")[0], DVC_FILE)
    found = []
    for name, body in stages.items():
        if not isinstance(body, Mapping):
            continue
        cmd = body.get("cmd")
        if isinstance(cmd, list):
            cmd = " && ".join(str(c) for c in cmd)
        wdir = body.get("wdir") if isinstance(body.get("wdir"), str) else None

        params: dict[str, dict[str, Any]] = {}
        raw_params = body.get("params")
        if isinstance(raw_params, Mapping):
            for file, values in raw_params.items():
                path = repo_path(lock_path, str(file), wdir)
                if path is not None and isinstance(values, Mapping):
                    params[path] = dict(values)
        found.append(
            LockStage(
                str(name),
                dvcfile,
                str(cmd or ""),
                _lock_entries(body.get("deps"), lock_path, wdir),
                params,
                _lock_entries(body.get("outs"), lock_path, wdir),
            )
        )
    return found


# -- declarations in dvc.yaml --------------------------------------------------------------


@dataclass
class Declared:
    """What a revision's dvc.yaml files declare: metrics paths, params files (None: all keys)."""

    metrics: list[str] = field(default_factory=list)
    params: dict[str, set[str] | None] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def want_params(self, path: str, keys: Iterable[str] | None) -> None:
        if keys is None:
            self.params[path] = None
            return
        have = self.params.setdefault(path, set())
        if have is not None:
            have.update(keys)


def _out_paths(items: Any, dvc_file: str, wdir: str | None) -> Iterator[str | None]:
    """Paths of a stage's outputs list (strings or one-key mappings with options)."""
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, Mapping):
            for key in item:
                yield repo_path(dvc_file, str(key), wdir)
        elif isinstance(item, str):
            yield repo_path(dvc_file, item, wdir)


def declared(dvc_files: Mapping[str, Any]) -> Declared:
    """Metrics and params of every dvc.yaml of one revision."""
    found = Declared()
    found.want_params(PARAMS_FILE, None)  # DVC always shows the root params.yaml

    def problem(where: str, text: str) -> None:
        found.problems.setdefault(where, text)

    for dvc_file, doc in dvc_files.items():
        if not isinstance(doc, Mapping):
            continue
        for path in _out_paths(doc.get("metrics"), dvc_file, None):
            if path is None:
                problem(dvc_file, "a metrics path leaves the repository: not read")
            else:
                found.metrics.append(path)
        for item in doc.get("params") or () if isinstance(doc.get("params"), list) else ():
            path = repo_path(dvc_file, str(item)) if isinstance(item, str) else None
            if path is None:
                problem(dvc_file, "a params path leaves the repository: not read")
            else:
                found.want_params(path, None)
        stages = doc.get("stages")
        if not isinstance(stages, Mapping):
            continue
        for body in stages.values():
            if not isinstance(body, Mapping):
                continue
            wdir = body.get("wdir") if isinstance(body.get("wdir"), str) else None
            for path in _out_paths(body.get("metrics"), dvc_file, wdir):
                if path is None:
                    problem(dvc_file, "a metrics path leaves the repository: not read")
                else:
                    found.metrics.append(path)
            _stage_params(found, body.get("params"), dvc_file, wdir, problem)
    found.metrics = list(dict.fromkeys(p for p in found.metrics if "${" not in p))
    return found


def _stage_params(
    found: Declared, items: Any, dvc_file: str, wdir: str | None, problem: Any
) -> None:
    default = repo_path(dvc_file, PARAMS_FILE, wdir)
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, str):
            if default is not None:
                found.want_params(default, None)  # the default file is shown whole
            continue
        if not isinstance(item, Mapping):
            continue
        for file, keys in item.items():
            path = repo_path(dvc_file, str(file), wdir)
            if path is None:
                problem(dvc_file, "a params path leaves the repository: not read")
            elif not keys:
                found.want_params(path, None)
            elif isinstance(keys, list):
                found.want_params(path, [str(k) for k in keys])


def _pick(flat: Mapping[str, Any], keys: set[str] | None) -> dict[str, Any]:
    """The keys asked for (a key names a value or every value under it)."""
    if keys is None:
        return dict(flat)
    return {k: v for k, v in flat.items() if k in keys or any(k.startswith(f"{w}.") for w in keys)}


# -- results -------------------------------------------------------------------------------


@dataclass
class Results:
    """What one revision holds: metrics and params per file (flattened keys), dvc.lock stages,
    and the problems met reading them (path -> one line)."""

    snapshot: Snapshot
    metrics: dict[str, dict[str, Any]]
    params: dict[str, dict[str, Any]]
    stages: list[LockStage]
    errors: dict[str, str]

    @property
    def target(self) -> Target:
        return self.snapshot.target

    def deps(self) -> dict[str, str | None]:
        """Every dependency of every stage, path -> hash."""
        found: dict[str, str | None] = {}
        for stage in self.stages:
            found.update(stage.deps)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.target.to_dict(),
            "metrics": self.metrics,
            "params": self.params,
            "errors": self.errors,
        }


class Reader:
    """Reads results at many revisions of one repository with one git process.

    Use as a context manager (the git process ends on exit)."""

    def __init__(self, repo: Repo) -> None:
        from .git import ObjectReader

        self.repo = repo
        self._objects = ObjectReader(repo)
        head = repo.head() if not repo.bare else None
        oid_len = 32 if head is not None and len(head) == 64 else 20
        self.trees = Trees(self._objects, oid_len)
        self._parsed: dict[str, Any] = {}

    def close(self) -> None:
        self._objects.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- snapshots ------------------------------------------------------------------------
    def snapshot(self, target: Target) -> Snapshot:
        snap: Snapshot
        if target.rev is None:
            if self.repo.bare:
                raise InvalidInput(
                    f"{self.repo.url or self.repo.path} has no work tree: compare commits or "
                    "versions there"
                )
            listed = self.repo.git(
                "ls-files", "-z", "--cached", "--others", "--exclude-standard"
            ).stdout.decode(errors="surrogateescape")
            snap = WorkspaceSnapshot(target, self.repo.path, [p for p in listed.split("\0") if p])
        else:
            root = self.trees.root(target.rev)
            if root is None:
                raise InvalidInput(f"{target.label}: commit {target.rev[:12]} is not in the repo")
            snap = CommitSnapshot(target, self.trees, root)
        for path in snap.paths_named([DVC_FILE]):
            try:
                doc = self.parsed(snap, path)
            except ConfigError as e:
                snap.errors[path] = str(e)
                continue
            if isinstance(doc, Mapping):
                snap.dvc_files[path] = doc
        return snap

    def parsed(self, snap: Snapshot, path: str) -> Any:
        """A data file of a snapshot, parsed once per distinct content; None when absent."""
        key = snap.key(path)
        if key is not None and key in self._parsed:
            return self._parsed[key]
        data = snap.read(path)
        value = None if data is None else parse_data(data, path)
        if key is not None:
            self._parsed[key] = value
        return value

    # -- results --------------------------------------------------------------------------
    def results(self, target: Target, *, stages: bool = True) -> Results:
        """What ``target`` holds; ``stages=False`` leaves dvc.lock unread (it is the largest
        YAML file a revision usually has, and only lineage and the data section need it)."""
        return self._results(self.snapshot(target), stages)

    def _wanted(self, snap: Snapshot, stages: bool) -> list[str]:
        """The files :meth:`_results` will read at a snapshot."""
        decl = declared(snap.dvc_files)
        paths = [f for p in decl.metrics for f in self._data_files(snap, p)] + list(decl.params)
        if stages:
            paths += [posixpath.join(d.rpartition("/")[0], LOCK_FILE) for d in snap.dvc_files]
        return paths

    def _prefetch(self, snaps: Sequence[Snapshot], paths: Sequence[Sequence[str]]) -> None:
        pairs = [
            (snap, p)
            for snap, wanted in zip(snaps, paths, strict=True)
            if isinstance(snap, CommitSnapshot)
            for p in wanted
        ]
        oids = {
            k: p for snap, p in pairs if (k := snap.key(p)) is not None and k not in self._parsed
        }
        self._fetch(pairs, oids)
        self.trees.blobs(oids)

    def _fetch(self, pairs: Sequence[tuple[Snapshot, str]], oids: Mapping[str, str]) -> None:
        """In a cached partial clone of a URL, fetch the blobs about to be read in one go."""
        if self.repo.url is None or not oids:
            return
        commits = list(dict.fromkeys(s.rev for s, _ in pairs if s.rev is not None))
        self.repo.fetch_blobs(commits, sorted(set(oids.values())), oids)

    def _results(self, snap: Snapshot, stages: bool) -> Results:
        errors = dict(snap.errors)
        decl = declared(snap.dvc_files)
        errors.update(decl.problems)
        metrics: dict[str, dict[str, Any]] = {}
        for path in decl.metrics:
            for file in self._data_files(snap, path):
                try:
                    value = self.parsed(snap, file)
                except ConfigError as e:
                    errors[file] = str(e)
                    continue
                if value is not None:
                    metrics[file] = flatten(value)
        params: dict[str, dict[str, Any]] = {}
        for path, keys in decl.params.items():
            if not path.endswith(DATA_SUFFIXES):
                if path.endswith(".py"):
                    errors[path] = "Python params files are not read (nothing is run)"
                continue
            try:
                value = self.parsed(snap, path)
            except ConfigError as e:
                errors[path] = str(e)
                continue
            if value is not None:
                params[path] = _pick(flatten(value), keys)
        found: list[LockStage] = []
        for dvc_file in snap.dvc_files if stages else ():
            lock = posixpath.join(dvc_file.rpartition("/")[0], LOCK_FILE)
            try:
                found += parse_lock(self.parsed(snap, lock), lock)
            except ConfigError as e:
                errors[lock] = str(e)
        for path, text in snap.errors.items():
            errors.setdefault(path, text)
        return Results(snap, metrics, params, found, errors)

    def _data_files(self, snap: Snapshot, path: str) -> list[str]:
        if path.endswith(DATA_SUFFIXES):
            return [path]
        return [f for f in snap.files_under(path) if f.endswith(DATA_SUFFIXES)]

    def read_all(self, targets: Sequence[Target], *, stages: bool = True) -> list[Results]:
        """Results of many targets: trees, dvc.yaml files, then the files they declare, each
        step one batch for all the commits."""
        return [self._results(snap, stages) for snap in self.snapshots(targets, stages=stages)]

    def snapshots(self, targets: Sequence[Target], *, stages: bool = True) -> list[Snapshot]:
        """Snapshots of many targets, with what their results will read already fetched."""
        self.trees.roots([t.rev for t in targets if t.rev is not None])
        revs = [t.rev for t in targets if t.rev is not None]
        dvc_files = {
            entry[1]: path
            for rev in revs
            if (root := self.trees.root(rev)) is not None
            for path in self.trees.named(root, frozenset([DVC_FILE]))
            if (entry := self.trees.lookup(root, path)) is not None
        }
        if self.repo.url is not None and dvc_files:
            self.repo.fetch_blobs(revs, sorted(set(dvc_files.values())), dvc_files)
        self.trees.blobs(dvc_files)
        snaps = [self.snapshot(t) for t in targets]
        self._prefetch(snaps, [self._wanted(s, stages) for s in snaps])
        return snaps


def read_results(repo: Repo, targets: Sequence[Target]) -> list[Results]:
    """Results of each target, in order, read with one git process."""
    with Reader(repo) as reader:
        return reader.read_all(targets)
