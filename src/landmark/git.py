"""The only module that runs git: reads tags and files, writes and pushes tags, caches remotes.

Its file half, ``gitrefs.py``, reads what git keeps on disk without starting git.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path

from . import gitrefs
from .atomic import write_atomic
from .errors import Conflict, GitError, NotFound, RepoError
from .filelock import locked
from .records import CommitInfo, RawTag, parse_raw_date

# Variables that would point git at another repository or change its output.
_SCRUB = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_PREFIX",
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


_ENV: dict[str, str] | None = None


def run(
    args: Sequence[str],
    cwd: str | Path,
    *,
    input: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in ``cwd`` with a scrubbed environment."""
    global _ENV
    if _ENV is None:
        _ENV = _env()
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=input, capture_output=True, env=_ENV, check=False
        )
    except FileNotFoundError as e:
        raise RepoError("git is not installed: install git and try again") from e
    if check and proc.returncode != 0:
        raise GitError(_first_line(proc.stderr) or f"git {args[0]} failed")
    return proc


def _first_line(data: bytes) -> str:
    for line in data.decode(errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("hint:"):
            return re.sub(r"^(fatal|error): ", "", line)
    return ""


_SIG_RE = re.compile(r"-----BEGIN (?:PGP|SSH) SIGNATURE-----.*", re.S)


class Repo:
    """A git repository: a work tree, or a bare clone kept in the cache for a remote URL."""

    def __init__(self, path: Path, *, url: str | None = None, bare: bool = False) -> None:
        self.path = path
        self.url = url
        self.bare = bare
        self._head: str | None = None
        self._head_known = False
        self.git_dir: Path | None = path if bare else None
        self._common_dir: str | None = None

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, location: str | os.PathLike[str] = ".") -> Repo:
        """A local path (any folder inside a work tree) or a remote URL."""
        text = os.fspath(location)
        if is_url(text):
            return RemoteCache(text).sync()
        path = Path(text).expanduser()
        if not path.exists():
            raise RepoError(f"{text!r} does not exist: pass -r with a git repository path or URL")
        # One call answers all four; in a bare repo git prints the first two, then fails,
        # and in a repo without commits it echoes "HEAD" back.
        proc = run(
            ["rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-toplevel", "HEAD"],
            path,
            check=False,
        )
        lines = proc.stdout.decode().splitlines()
        if not lines:
            raise RepoError(f"{text!r} is not a git repository: run 'git init' there or pass -r")
        if lines[0] == "true" or len(lines) < 3:
            return cls(Path(lines[1]) if len(lines) > 1 else path.resolve(), bare=True)
        repo = cls(Path(lines[2]))
        repo.git_dir = Path(lines[1])
        repo._head = lines[3] if len(lines) > 3 and _SHA_RE.match(lines[3]) else None
        repo._head_known = True
        return repo

    def git(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        return run(args, self.path, input=input, check=check)

    def out(self, *args: str) -> str:
        return self.git(*args).stdout.decode()

    # -- reading --------------------------------------------------------------------------
    def tags(self, *names: str) -> list[RawTag]:
        """Every tag (or the named ones) with tagger, date, message and target.

        Only the refs are listed (no object reads); tag objects are immutable, so for a full
        listing their parsed contents are kept in a cache keyed by object id, and only tags
        not seen before are read (one ``cat-file --batch``).
        """
        import marshal

        patterns = [f"refs/tags/{n}" for n in names] or ["refs/tags"]
        listing = self.git(
            "for-each-ref", "--format=%(refname:strip=2)%00%(objectname)%00%(objecttype)", *patterns
        ).stdout.decode(errors="replace")
        refs = [line.split("\0") for line in listing.splitlines() if line]
        cache = self.git_dir / "landmark" / "tag-objects.v1" if self.git_dir and not names else None
        known: dict[str, tuple[str, str, str, str, str, str]] = {}
        if cache is not None:
            try:
                loaded = marshal.loads(cache.read_bytes())
                if isinstance(loaded, dict):
                    known = loaded
            except (OSError, ValueError, EOFError, TypeError):
                pass  # no cache yet, or an unreadable one: rebuild it
        missing = [oid for _, oid, otype in refs if otype == "tag" and oid not in known]
        if missing:
            known.update(self._read_tag_objects(missing))
        result = []
        for name, oid, otype in refs:
            if otype != "tag":
                result.append(RawTag(name, False, oid, otype, "", "", "", ""))
                continue
            entry = known.get(oid)
            if entry is not None:
                result.append(RawTag(name, True, *entry))
        if cache is not None and missing:
            keep = {oid: known[oid] for _, oid, otype in refs if oid in known}
            _write_quietly(cache, marshal.dumps(keep))
        return result

    def _read_tag_objects(self, oids: list[str]) -> dict[str, tuple[str, str, str, str, str, str]]:
        """Parse annotated tag objects: (target, target type, tagger, email, date, message)."""
        data = self.git(
            "cat-file", "--batch", input="".join(f"{o}\n" for o in oids).encode()
        ).stdout
        out: dict[str, tuple[str, str, str, str, str, str]] = {}
        pos = 0
        for oid in oids:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            pos = end + 1
            if len(header) != 3:
                continue  # "missing"
            size = int(header[2])
            body = data[pos : pos + size].decode(errors="replace")
            pos += size + 1
            head, _, message = body.partition("\n\n")
            fields = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
            tagger, email, date = "", "", ""
            if "tagger" in fields:
                who, _, when = fields["tagger"].rpartition("> ")
                tagger, _, email = who.partition(" <")
                date = when.strip()
            if "-----BEGIN" in message:
                message = _SIG_RE.sub("", message)
            out[oid] = (
                fields.get("object", ""),
                fields.get("type", ""),
                tagger,
                email,
                date,
                message,
            )
        return out

    def resolve(self, ref: str) -> str:
        """The commit a ref names; NotFound with the ref when there is none."""
        if not ref or ref.startswith("-"):
            raise NotFound(f"unknown git ref {ref!r}: pass a commit, branch or tag")
        proc = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        if proc.returncode != 0:
            if ref == "HEAD":
                raise NotFound("the repository has no commits yet: commit something first")
            raise NotFound(f"unknown git ref {ref!r}: pass a commit, branch or tag of this repo")
        return proc.stdout.decode().strip()

    def head(self) -> str | None:
        if self._head_known:
            return self._head
        proc = self.git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return proc.stdout.decode().strip() or None

    def forget_head(self) -> None:
        """Ask git for HEAD again on the next :meth:`head` (it may have moved since)."""
        self._head_known = False

    def refs_stamp(self) -> bytes:
        """Bytes that differ whenever a tag or HEAD has changed, cheap enough to ask often:
        read from git's files without a process (``gitrefs.refs_stamp``), or for a
        repository in the reftable format, from one ``git show-ref``."""
        if self.git_dir is not None:
            if self._common_dir is None:
                self._common_dir = gitrefs.common_dir(str(self.git_dir))
            try:
                found = gitrefs.refs_stamp(str(self.git_dir), self._common_dir)
            except OSError:
                found = None
            if found is not None:
                return found
        return b"show-ref\0" + self.git("show-ref", "--head", "--tags", check=False).stdout

    def read_files(self, specs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """Contents of (rev, path) pairs in one ``cat-file --batch``; missing ones are left out."""
        specs = list(dict.fromkeys(specs))
        if not specs:
            return {}
        query = "".join(f"{rev}:{path}\n" for rev, path in specs).encode()
        data = self.git("cat-file", "--batch", input=query).stdout
        result: dict[tuple[str, str], bytes] = {}
        pos = 0
        for spec in specs:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            pos = end + 1
            if len(header) == 3 and header[1] == b"blob":
                size = int(header[2])
                result[spec] = data[pos : pos + size]
                pos += size + 1
            elif len(header) == 3:  # a tree or commit: skip its body
                pos += int(header[2]) + 1
        return result

    def read_file(self, rev: str, path: str) -> bytes | None:
        return self.read_files([(rev, path)]).get((rev, path))

    def list_files(self, rev: str, names: Sequence[str]) -> list[str]:
        """Paths at ``rev`` whose last component is one of ``names``."""
        data = self.git("ls-tree", "-r", "-z", "--name-only", rev).stdout.decode()
        wanted = set(names)
        return [p for p in data.split("\0") if p and p.rsplit("/", 1)[-1] in wanted]

    def tree(self, rev: str, path: str) -> list[tuple[str, str]]:
        """(path, mode) of every file at or under ``path`` at ``rev``; [] when there is none."""
        proc = self.git("ls-tree", "-r", "-z", "--full-tree", rev, "--", path, check=False)
        if proc.returncode != 0:
            return []
        entries = []
        for record in proc.stdout.decode(errors="surrogateescape").split("\0"):
            meta, _, name = record.partition("\t")
            if name and (name == path or name.startswith(path.rstrip("/") + "/")):
                mode, otype, _ = meta.split(" ", 2)
                if otype == "blob":
                    entries.append((name, mode))
        return entries

    def commits(self, shas: Iterable[str]) -> dict[str, CommitInfo]:
        shas = list(dict.fromkeys(shas))
        if not shas:
            return {}
        fmt = "%H%x00%cd%x00%an%x00%ae%x00%cn%x00%ce%x00%B%x00"
        out = self.git(
            "show", "-s", "--date=raw", "--no-walk=unsorted", f"--format={fmt}", *shas
        ).stdout
        fields = out.decode(errors="replace").split("\0")
        result = {}
        for i in range(0, len(fields) - 7 + 1, 7):
            sha, date, an, ae, cn, ce, msg = fields[i : i + 7]
            sha = sha.strip()
            result[sha] = CommitInfo(sha, parse_raw_date(date), an, ae, cn, ce, msg)
        return result

    def worktree_file(self, path: str) -> bytes | None:
        """A file of the work tree (for a cached remote: of HEAD)."""
        if self.bare:
            head = self.head()
            return self.read_file(head, path) if head else None
        p = self.path / path
        try:
            return p.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    # -- writing --------------------------------------------------------------------------
    def create_tag(self, name: str, commit: str, message: str, *, sign: bool = False) -> None:
        """Create an annotated tag; exactly one of two racing writers succeeds."""
        args = ["tag", "-s" if sign else "-a", "-m", message, "--", name, commit]
        proc = self.git(*args, check=False)
        if proc.returncode != 0:
            err = _first_line(proc.stderr)
            if "already exists" in err or ".lock" in err:
                raise Conflict(f"tag {name!r} already exists: someone created it first; run again")
            raise GitError(f"could not create tag {name!r}: {err}")

    def delete_tags(self, names: Sequence[str]) -> None:
        """Delete tags in one ref transaction: all of them, or (on error) none."""
        if not names:
            return
        script = "".join(f"delete refs/tags/{n}\n" for n in names)
        proc = self.git("update-ref", "--stdin", input=script.encode(), check=False)
        if proc.returncode != 0:
            raise GitError(f"could not delete tags: {_first_line(proc.stderr)}")

    def commit_paths(self, paths: Sequence[str], message: str) -> str:
        """Stage ``paths`` and commit only them (whatever else is staged stays staged).

        Returns the new HEAD, or the old one when the paths hold no change.
        """
        if self.bare:
            raise RepoError(f"{self.url or self.path} has no work tree to commit in")
        self.git("add", "-A", "--", *paths)
        if self.git("diff", "--cached", "--quiet", "--", *paths, check=False).returncode == 0:
            head = self.head()
            if head is None:
                raise GitError("nothing to commit: the paths hold no files")
            return head
        # --only (the default with paths) leaves the rest of the index alone.
        self.git("commit", "-q", "-m", message, "--", *paths)
        self._head_known = False
        return self.out("rev-parse", "HEAD").strip()

    def fetch_blobs(
        self, commits: Sequence[str], paths: Sequence[str], oids: Iterable[str]
    ) -> None:
        """Bring the blobs ``oids`` (files at ``paths`` of ``commits``) into a cached partial
        clone in one fetch, where reading them would otherwise fetch each one by itself.
        A no-op for a work tree, whose objects are all there."""
        wanted = set(oids)
        if self.url is None or not wanted or not commits or not paths:
            return
        listed = self.git(
            "rev-list", "--objects", "--missing=print", "--no-walk", *commits, "--", *paths,
            check=False,
        ).stdout.decode(errors="replace")  # fmt: skip
        missing = [
            line[1:] for line in listed.splitlines() if line[1:] in wanted and line[0] == "?"
        ]
        if not missing:
            return
        proc = self.git(
            "-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", "--no-tags",
            "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none", "--stdin",
            "origin", input="".join(f"{o}\n" for o in missing).encode(), check=False,
        )  # fmt: skip
        if proc.returncode != 0:  # reading them one by one still works, only slower
            return

    def push_tags(
        self, names: Sequence[str], *, delete: bool = False, remote: str = "origin"
    ) -> None:
        refs = [(":" if delete else "") + f"refs/tags/{n}" for n in names]
        proc = self.git("push", "--quiet", remote, *refs, check=False)
        if proc.returncode != 0:
            raise GitError(f"could not push to {remote!r}: {_first_line(proc.stderr)}")


class ObjectReader:
    """One long-lived ``git cat-file --batch``: objects by name, one round trip each.

    For many small reads whose names are only known as earlier ones are parsed (a walk of
    trees, the files they name): no process per object, and nothing read that is not asked
    for. A context manager; ``close`` ends the process.
    """

    def __init__(self, repo: Repo) -> None:
        global _ENV
        if _ENV is None:
            _ENV = _env()
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=repo.path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_ENV,
        )

    def get(self, name: str) -> tuple[str, str, bytes] | None:
        """(oid, type, body) of an object (``sha``, ``rev^{tree}``, ``rev:path``); None when
        there is none."""
        return self.get_many([name])[0]

    def get_many(self, names: Sequence[str]) -> list[tuple[str, str, bytes] | None]:
        """:meth:`get` for many names, sent in groups: one round trip per group. A group's
        requests fit in the pipe, so git never waits on a reader that is still writing."""
        found: list[tuple[str, str, bytes] | None] = []
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        for start in range(0, len(names), _GROUP):
            group = names[start : start + _GROUP]
            wanted = [n for n in group if "\n" not in n]
            try:
                proc.stdin.write(
                    b"".join(n.encode(errors="surrogateescape") + b"\n" for n in wanted)
                )
                proc.stdin.flush()
                answers = {}
                for name in wanted:
                    header = proc.stdout.readline().split()
                    if len(header) == 3:
                        body = proc.stdout.read(int(header[2]) + 1)[:-1]
                        answers[name] = (header[0].decode(), header[1].decode(), body)
            except (BrokenPipeError, OSError) as e:
                raise GitError("git cat-file stopped answering") from e
            found += [answers.get(n) for n in group]
        return found

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            with suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_GROUP = 256  # names per round trip of ObjectReader.get_many: well under a pipe's 64 KiB


def parse_tree(body: bytes, oid_len: int) -> list[tuple[str, str, str]]:
    """(mode, name, hex oid) of each entry of a raw tree object."""
    entries = []
    pos = 0
    end = len(body)
    while pos < end:
        space = body.index(b" ", pos)
        nul = body.index(b"\0", space)
        oid = body[nul + 1 : nul + 1 + oid_len]
        entries.append(
            (
                body[pos:space].decode(),
                body[space + 1 : nul].decode(errors="surrogateescape"),
                oid.hex(),
            )
        )
        pos = nul + 1 + oid_len
    return entries


def _write_quietly(path: Path, data: bytes) -> None:
    """Replace a cache file atomically; a cache that can't be written is only slower."""
    with suppress(OSError):
        write_atomic(path, data)


_SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_SCP_RE = re.compile(r"^[\w.-]+@[\w.-]+:")


def is_url(text: str) -> bool:
    return "://" in text or bool(_SCP_RE.match(text))


def cache_root() -> Path:
    env = os.environ.get("LANDMARK_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "landmark"


class RemoteCache:
    """A bare partial clone of a remote repo kept between calls: later calls only fetch."""

    def __init__(self, url: str) -> None:
        import hashlib

        self.url = url
        key = hashlib.sha256(url.encode()).hexdigest()[:20]
        self.path = cache_root() / "repos" / key

    def sync(self) -> RemoteRepo:
        with locked(self.path.with_suffix(".lock")):
            if not (self.path / "HEAD").exists():
                self._clone()
            else:
                self._fetch()
        return RemoteRepo(self.path, url=self.url)

    def _clone(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)
        proc = run(
            ["clone", "--quiet", "--bare", "--filter=blob:none", "--", self.url, str(tmp)],
            self.path.parent,
            check=False,
        )
        if proc.returncode != 0:
            raise RepoError(f"cannot read repository {self.url!r}: {_first_line(proc.stderr)}")
        tmp.rename(self.path)

    def _fetch(self) -> None:
        proc = run(
            [
                "fetch", "--quiet", "--prune", "--prune-tags", "--force", "origin",
                "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
            ],
            self.path,
            check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RepoError(f"cannot fetch from {self.url!r}: {_first_line(proc.stderr)}")


class RemoteRepo(Repo):
    """The cached clone of a remote: every tag written here is pushed, or undone."""

    def __init__(self, path: Path, *, url: str) -> None:
        super().__init__(path, url=url, bare=True)
