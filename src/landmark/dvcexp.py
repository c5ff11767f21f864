"""DVC experiments, as ``dvc exp run`` and ``dvc exp push`` leave them in git.

An experiment is a commit on top of its baseline, kept by a ref
``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`` (DVC's own bookkeeping refs under
``refs/exps/exec``, ``celery`` and the like are not experiments). One ``git for-each-ref``
lists them all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from .git import Repo

EXPS_PREFIX = "refs/exps/"
_REF_RE = re.compile(r"^refs/exps/([0-9a-f]{2})/([0-9a-f]{38}(?:[0-9a-f]{24})?)/(.+)$")


@dataclass(frozen=True)
class Experiment:
    name: str
    rev: str  # the experiment's commit
    baseline: str  # the commit it was run on
    ref: str
    created: int  # committer time, seconds since the epoch


def list_experiments(repo: Repo) -> list[Experiment]:
    """Every experiment of the repository, oldest first."""
    proc = repo.git(
        "for-each-ref",
        "--format=%(objectname) %(committerdate:unix) %(refname)",
        EXPS_PREFIX,
        check=False,
    )
    found = []
    for line in proc.stdout.decode(errors="replace").splitlines():
        parts = line.split(" ", 2)
        if len(parts) != 3:
            continue
        sha, when, ref = parts
        m = _REF_RE.match(ref)
        if m is None:
            continue
        found.append(Experiment(m.group(3), sha, m.group(1) + m.group(2), ref, int(when or 0)))
    found.sort(key=lambda e: (e.created, e.name))
    return found


def fetch_experiments(repo: Repo) -> None:
    """Bring a cached remote's experiment refs up to date (they are not fetched with tags)."""
    from .errors import RepoError

    proc = repo.git(
        "fetch", "--quiet", "--force", "origin", f"+{EXPS_PREFIX}*:{EXPS_PREFIX}*", check=False
    )
    if proc.returncode != 0:
        raise RepoError(
            f"cannot fetch experiments from {repo.url}: {proc.stderr.decode(errors='replace').strip()[:200]}"
        )


def find_experiment(
    repo: Repo, name: str, experiments: list[Experiment] | None = None
) -> Experiment:
    """The experiment called ``name`` (or whose commit starts with it)."""
    every = list_experiments(repo) if experiments is None else experiments
    named = [e for e in every if e.name == name]
    if not named and len(name) >= 7 and re.fullmatch(r"[0-9a-f]+", name):
        named = [e for e in every if e.rev.startswith(name)]
    if not named:
        hint = (
            " (run 'dvc exp pull' or 'git fetch origin \"refs/exps/*:refs/exps/*\"' to get "
            "pushed ones)"
        )
        raise NotFound(f"no experiment named {name!r}{hint}")
    if len({e.rev for e in named}) > 1:
        bases = ", ".join(sorted(e.baseline[:7] for e in named))
        raise InvalidInput(
            f"{len(named)} experiments are named {name!r} (baselines {bases}): name one by "
            "its commit"
        )
    return named[-1]


def experiment_for_register(repo: Repo, name: str) -> Experiment:
    """The experiment ``register --from-exp`` names (a remote's experiments are fetched)."""
    if repo.url is not None:
        fetch_experiments(repo)
    return find_experiment(repo, name)


def push_experiment(repo: Repo, exp: Experiment) -> None:
    """Push the experiment's ref, as ``dvc exp push`` does, so others can compare it."""
    from .errors import GitError

    proc = repo.git("push", "--quiet", "origin", f"{exp.ref}:{exp.ref}", check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"could not push {exp.ref}: {err[-1] if err else 'git push failed'}")


@dataclass
class Row:
    """A baseline commit or one of its experiments, with its results."""

    label: str
    rev: str
    baseline: str | None  # None for a baseline row
    exp: str | None
    created: int
    metrics: dict[str, dict[str, Any]]
    params: dict[str, dict[str, Any]]
    registered: list[str]  # name@version of the versions registered at this commit
    errors: dict[str, str]

    @property
    def created_text(self) -> str:
        from datetime import UTC, datetime

        if not self.created:
            return "-"
        return datetime.fromtimestamp(self.created, tz=UTC).strftime("%Y-%m-%d %H:%M")

    def flat(self) -> dict[str, Any]:
        """Metric and param values by key (file:key where two files share a key)."""
        values: dict[str, Any] = {}
        for section in (self.metrics, self.params):
            for file, data in section.items():
                for key, value in data.items():
                    values[f"{file}:{key}" if key in values else key] = value
        return values

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.exp or self.label,
            "rev": self.rev,
            "baseline": self.baseline,
            "experiment": self.exp is not None,
            "created": self.created,
            "registered": self.registered,
            "metrics": self.metrics,
            "params": self.params,
            "errors": self.errors,
        }


def _branch(repo: Repo) -> str | None:
    """The branch HEAD is on (as dvc exp show names the baseline), read from git's HEAD file."""
    from .gitrefs import read_bytes

    if repo.git_dir is None:
        return None
    head = read_bytes(os.path.join(repo.git_dir, "HEAD")) or b""
    if head.startswith(b"ref: refs/heads/"):
        return head[16:].strip().decode(errors="replace")
    return None


def overview(location: str | os.PathLike[str] = ".", *, all_baselines: bool = False) -> list[Row]:
    """Each baseline (HEAD's, or every one with ``all_baselines``) followed by its experiments,
    oldest first, with metrics, params and registered versions: ``landmark experiments``."""
    from .comparison import Resolver
    from .registry import Registry
    from .results import Reader, Target

    reg = Registry(location)
    repo = reg.repo
    resolver = Resolver(repo, reg)
    every = resolver.experiments
    head = repo.head()
    if all_baselines:
        baselines = list(dict.fromkeys(e.baseline for e in every))
        if head is not None and head not in baselines:
            baselines.insert(0, head)
    else:
        baselines = [head] if head is not None else []
    known = {e.rev for e in every}
    times = {
        c.sha: int(c.time.timestamp()) for c in repo.commits(b for b in baselines if b).values()
    }
    entries: list[tuple[str, str, str | None, str | None, int]] = []
    for base in baselines:
        if base not in known:
            label = (_branch(repo) or "HEAD") if base == head else base[:7]
            entries.append((label, base, None, None, times.get(base, 0)))
        entries += [
            (e.name, e.rev, e.baseline, e.name, e.created) for e in every if e.baseline == base
        ]
    targets = [
        Target(lbl, rev, "exp" if exp else "commit", exp=exp) for lbl, rev, _, exp, _ in entries
    ]
    with Reader(repo) as reader:
        found = reader.read_all(targets, stages=False)  # every commit in a few batches
    rows: list[Row] = []
    for (label, rev, baseline, exp, created), res in zip(entries, found, strict=True):
        registered = [f"{v.artifact}@{v.version}" for v in resolver.versions_at(rev)]
        rows.append(
            Row(label, rev, baseline, exp, created, res.metrics, res.params, registered,
                res.errors)
        )  # fmt: skip
    return rows
