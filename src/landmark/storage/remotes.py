"""Storage remotes as dvc keeps them: ``['remote "NAME"']`` sections of ``.dvc/config``.

dvc reads four config files, each overriding the one before key by key: system, global,
``.dvc/config`` (``repo``, committed) and ``.dvc/config.local`` (``local``, git-ignored, for
credentials and per-user mirrors); :mod:`landmark.storage.dvcconfig` reads and merges them.
``[core] remote = NAME`` names the default remote. The files are configobj INI; configobj
writes them here, so what one tool writes the other reads unchanged. A local path in a config
file is relative to that file's folder; one given on the command line is relative to where the
command runs, and is stored relative to the config file, as ``dvc remote add`` does.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Conflict, InvalidInput, NotFound
from . import dvcconfig
from .dvcconfig import LEVELS, REPO_LEVELS, config_file

_SECTION = re.compile(r'^\s*remote\s*"(?P<name>.*)"\s*$')
_URL_SCHEME = re.compile(r"^(?P<scheme>\w+)://")

# Options each remote type accepts, as dvc 3's config schema lists them: `remote modify`
# refuses others, since dvc would refuse to read a config that has them.
_COMMON = {"url", "jobs", "checksum_jobs", "worktree", "no_traverse", "version_aware", "verify"}
_LOCAL = {"type", "protected", "shared", "slow_link_warning"}
_HTTP = {
    "auth", "custom_auth_header", "user", "password", "ask_password", "ssl_verify", "method",
    "connect_timeout", "read_timeout",
}  # fmt: skip
OPTIONS: dict[str, frozenset[str]] = {
    "": frozenset(_COMMON | _LOCAL),
    "s3": frozenset(_COMMON | {
        "region", "profile", "credentialpath", "configpath", "endpointurl", "access_key_id",
        "secret_access_key", "session_token", "listobjects", "use_ssl", "allow_anonymous_login",
        "ssl_verify", "sse", "sse_kms_key_id", "sse_customer_algorithm", "sse_customer_key",
        "acl", "grant_read", "grant_read_acp", "grant_write_acp", "grant_full_control",
        "cache_regions", "read_timeout", "connect_timeout",
    }),
    "gs": frozenset(_COMMON | {"projectname", "credentialpath", "endpointurl",
                               "allow_anonymous_login"}),
    "azure": frozenset(_COMMON | {
        "connection_string", "sas_token", "account_name", "account_key", "tenant_id",
        "client_id", "client_secret", "allow_anonymous_login", "exclude_environment_credential",
        "exclude_visual_studio_code_credential", "exclude_shared_token_cache_credential",
        "exclude_managed_identity_credential", "timeout", "read_timeout", "connection_timeout",
    }),
    "ssh": frozenset(_COMMON | {
        "type", "port", "user", "password", "ask_password", "passphrase", "ask_passphrase",
        "keyfile", "timeout", "gss_auth", "allow_agent", "max_sessions",
    }),
    "http": frozenset(_COMMON | _HTTP),
    "https": frozenset(_COMMON | _HTTP),
    # fsspec's in-memory filesystem: for tests and experiments, never in a shared config
    "memory": frozenset(_COMMON),
}  # fmt: skip
# Remote types dvc knows that landmark does not serve (yet): named in the error message.
_DVC_ONLY = ("hdfs", "webhdfs", "oss", "gdrive", "webdav", "webdavs")
# Options holding local paths, made relative to the config file as dvc does with them.
PATH_OPTIONS = dvcconfig.REMOTE_PATH_OPTIONS
_SECRETS = frozenset(
    {
        "password",
        "secret_access_key",
        "session_token",
        "account_key",
        "sas_token",
        "connection_string",
        "client_secret",
        "passphrase",
        "sse_customer_key",
        "custom_auth_header",
    }
)


@dataclass(frozen=True)
class Remote:
    """One configured remote: ``url`` is resolved (local paths absolute), ``options`` holds
    every other key of its section after merging the config files."""

    name: str
    url: str
    options: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.options:
            if k == key:
                return v
        return default

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean option the way configobj spells them (true/false, yes/no, 1/0, on/off)."""
        value = self.get(key)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"remote {self.name!r}: {key} = {value!r} is not true or false")

    @property
    def scheme(self) -> str:
        """``s3``, ``gs``, ``azure``, ``ssh``, ``http``... or ``""`` for a local directory."""
        return url_scheme(self.url)

    @property
    def is_local(self) -> bool:
        return self.scheme == ""

    def describe(self) -> str:
        """The remote for messages: its name and url, never a credential."""
        return f"remote {self.name!r} ({self.url})"


@dataclass(frozen=True)
class RemoteList:
    """Every remote of the merged configuration, in config order, and the default's name."""

    remotes: tuple[Remote, ...]
    default: str | None

    def get(self, name: str) -> Remote | None:
        return next((r for r in self.remotes if r.name == name), None)


def url_scheme(url: str) -> str:
    m = _URL_SCHEME.match(url)
    if not m:
        return ""
    scheme = m.group("scheme").lower()
    return "" if scheme == "file" else scheme


def is_local_url(url: str) -> bool:
    return url_scheme(url) == ""


# -- config files -------------------------------------------------------------------------------
def _load(path: Path) -> Any:
    """The file as a ConfigObj, for editing (empty when absent); ConfigError when it does not
    parse."""
    from configobj import ConfigObj, ConfigObjError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from e
    try:
        return ConfigObj(text.splitlines())
    except ConfigObjError as e:
        raise ConfigError(f"{path}: not a valid config file ({e}); fix it") from e


def _save(conf: Any, path: Path) -> None:
    from ..atomic import write_atomic

    if path.name in ("config", "config.local") and path.parent.name == ".dvc":
        from .repo_root import ensure_dvc_dir

        ensure_dvc_dir(path.parent.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not conf.indent_type:
        conf.indent_type = "    "  # dvc's own indentation, for a file it did not write
    if "core" in conf.sections:
        # dvc writes [core] first; keep that order when we add it
        conf.sections.remove("core")
        conf.sections.insert(0, "core")
    lines = conf.write()
    text = "\n".join(lines) + "\n" if lines else ""
    write_atomic(path, text.encode("utf-8"), mode=0o644)
    if path.name == "config.local":
        _ignore_local_config(path.parent)


def _ignore_local_config(dvc_dir: Path) -> None:
    """Keep config.local (credentials) out of git, as ``dvc init`` does in ``.dvc/.gitignore``."""
    from ..atomic import write_atomic

    ignore = dvc_dir / ".gitignore"
    try:
        text = ignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if any(line.strip() in ("/config.local", "config.local") for line in text.splitlines()):
        return
    if text and not text.endswith("\n"):
        text += "\n"
    write_atomic(ignore, (text + "/config.local\n").encode("utf-8"), mode=0o644)


def _section_name(name: str) -> str:
    return f'remote "{name}"'


def _find_section(conf: Any, name: str) -> str | None:
    for key in conf.sections:
        m = _SECTION.match(key)
        if m and m.group("name").lower() == name:
            return str(key)
    return None


def _text(value: Any) -> str:
    # configobj turns an unquoted value with commas into a list, as dvc sees it too
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _core_remote(conf: Any) -> str | None:
    core = conf.get("core")
    if not hasattr(core, "get"):
        return None
    value = core.get("remote")
    return _text(value).lower() if value is not None else None


def _store_path(value: str, conf_dir: Path, cwd: Path) -> str:
    """A path given on the command line, written as dvc writes it: a relative one is taken
    from ``cwd`` and stored relative to the config file's folder (posix separators)."""
    if _URL_SCHEME.match(value) or value.startswith("~") or os.path.isabs(value):
        return value
    absolute = os.path.abspath(os.path.join(cwd, value))
    return Path(os.path.relpath(absolute, conf_dir)).as_posix()


# -- reading ------------------------------------------------------------------------------------
def _merged(
    repo_root: Path, only: str | None = None
) -> tuple[dict[str, dict[str, str]], str | None]:
    """Every remote's options (paths resolved per file) and the default, merged by level."""
    conf = dvcconfig.read(Path(repo_root), (only,) if only else LEVELS)
    default = conf.get("core", "remote")
    return conf.named("remote"), default.lower() if default else None


def list_remotes(repo_root: Path, level: str | None = None) -> RemoteList:
    """The remotes every config level defines, merged as dvc merges them; with ``level``,
    those of that level's file alone."""
    remotes, default = _merged(Path(repo_root), only=level)
    out = []
    for name, opts in remotes.items():
        url = opts.get("url")
        if url is None:
            continue  # only overrides (say, credentials in config.local) for a remote gone
        options = tuple(sorted((k, v) for k, v in opts.items() if k != "url"))
        out.append(Remote(name=name, url=url, options=options))
    return RemoteList(tuple(out), default)


def resolve_remote(repo_root: Path, name: str | None = None) -> Remote:
    """The remote called ``name``, or the default one when ``name`` is None."""
    listing = list_remotes(repo_root)
    if name is None:
        if listing.default is None:
            if not listing.remotes:
                raise ConfigError(
                    "no remote is configured: add one with 'landmark remote add -d NAME URL'"
                )
            raise ConfigError(
                "no default remote: pass -r/--remote NAME or set one with "
                "'landmark remote default NAME'"
            )
        name = listing.default
    remote = listing.get(name.lower())
    if remote is None:
        known = ", ".join(r.name for r in listing.remotes) or "none"
        raise NotFound(
            f"no remote named {name!r} (configured: {known}); see 'landmark remote list'"
        )
    return remote


def default_remote(repo_root: Path, level: str | None = None) -> str | None:
    """The default remote's name, of the merged configuration or of one level's file."""
    if level is None:
        return list_remotes(repo_root).default
    value = dvcconfig.read_file(config_file(repo_root, level), level).get("core", "remote")
    return value.lower() if value is not None else None


# -- writing ------------------------------------------------------------------------------------
def _check_name(name: str) -> str:
    name = name.strip().lower()
    if not name or '"' in name or "\n" in name or "]" in name:
        raise InvalidInput(f"invalid remote name {name!r}: use letters, digits, '-', '_' or '.'")
    return name


def check_url(url: str) -> str:
    """``url``'s remote type; InvalidInput for one landmark cannot use."""
    if not url.strip():
        raise InvalidInput("the remote's url is empty")
    scheme = url_scheme(url)
    if scheme == "gcs":
        scheme = "gs"
    if scheme in OPTIONS:
        return scheme
    if scheme in _DVC_ONLY:
        raise InvalidInput(
            f"{scheme}:// remotes are not supported by landmark; use a local path, s3://, "
            "gs://, azure://, ssh:// or http(s)://"
        )
    raise InvalidInput(
        f"unsupported remote url {url!r}: use a local path, s3://, gs://, azure://, ssh:// "
        "or http(s)://"
    )


@contextlib.contextmanager
def _editing(repo_root: Path, level: str) -> Iterator[Any]:
    path = config_file(repo_root, level)
    conf = _load(path)
    yield conf
    _save(conf, path)


def add_remote(
    repo_root: Path,
    name: str,
    url: str,
    *,
    default: bool = False,
    level: str = "repo",
    force: bool = False,
    cwd: Path | None = None,
) -> Remote:
    """``dvc remote add [-d] [-f] NAME URL``: a new remote in one config level's file."""
    name = _check_name(name)
    check_url(url)
    path = config_file(repo_root, level)
    stored = _store_path(url, path.parent.absolute(), Path(cwd or os.getcwd()))
    with _editing(repo_root, level) as conf:
        existing = _find_section(conf, name)
        if existing is not None:
            if not force:
                raise Conflict(
                    f"remote {name!r} already exists in {_shown(repo_root, path)}: "
                    "use -f/--force to overwrite it"
                )
            del conf[existing]
        conf[_section_name(name)] = {"url": stored}
        if default:
            conf.setdefault("core", {})
            conf["core"]["remote"] = name
    return resolve_remote(repo_root, name)


def remove_remote(repo_root: Path, name: str, *, level: str = "repo") -> None:
    """``dvc remote remove NAME``: drop its section, and unset it as default where it is one."""
    name = _check_name(name)
    path = config_file(repo_root, level)
    with _editing(repo_root, level) as conf:
        key = _find_section(conf, name)
        if key is None:
            raise NotFound(f"no remote named {name!r} in {_shown(repo_root, path)}")
        del conf[key]
    # A default naming it in this file or in any file that overrides this one goes too.
    for lvl in reversed(LEVELS):
        lpath = config_file(repo_root, lvl)
        if lpath.exists():
            conf = _load(lpath)
            if _core_remote(conf) == name:
                del conf["core"]["remote"]
                if not conf["core"]:
                    del conf["core"]
                _save(conf, lpath)
        if lvl == level:
            break


def rename_remote(repo_root: Path, name: str, new: str, *, level: str = "repo") -> None:
    """``dvc remote rename NAME NEW``."""
    name, new = _check_name(name), _check_name(new)
    if list_remotes(repo_root).get(new) is not None:
        raise Conflict(f"a remote named {new!r} already exists")
    path = config_file(repo_root, level)
    with _editing(repo_root, level) as conf:
        key = _find_section(conf, name)
        if key is None:
            raise NotFound(f"no remote named {name!r} in {_shown(repo_root, path)}")
        conf.rename(key, _section_name(new))
        if _core_remote(conf) == name:
            conf["core"]["remote"] = new
    for lvl in reversed(LEVELS):
        if lvl == level:
            break
        lpath = config_file(repo_root, lvl)
        if lpath.exists():
            conf = _load(lpath)
            if _core_remote(conf) == name:
                conf["core"]["remote"] = new
                _save(conf, lpath)


def set_default(
    repo_root: Path, name: str | None, *, level: str = "repo", unset: bool = False
) -> None:
    """``dvc remote default NAME`` (or ``--unset``): the remote push/pull use unless told."""
    with _editing(repo_root, level) as conf:
        if unset or name is None:
            core = conf.get("core")
            if hasattr(core, "pop"):
                core.pop("remote", None)
                if not core:
                    del conf["core"]
            return
        name = _check_name(name)
        remotes, _ = _merged(Path(repo_root))
        if name not in remotes and _find_section(conf, name) is None:
            raise NotFound(
                f"no remote named {name!r}: add it first with 'landmark remote add {name} URL'"
            )
        conf.setdefault("core", {})
        conf["core"]["remote"] = name


def modify_remote(
    repo_root: Path,
    name: str,
    option: str,
    value: str | None = None,
    *,
    level: str = "repo",
    unset: bool = False,
    cwd: Path | None = None,
) -> None:
    """``dvc remote modify NAME OPTION VALUE`` (or ``--unset``), in one level's file; the
    remote may be defined in another level (say, credentials go to ``--local``)."""
    name = _check_name(name)
    option = option.strip().lower()
    remotes, _ = _merged(Path(repo_root))
    if name not in remotes:
        raise NotFound(f"no remote named {name!r}; see 'landmark remote list'")
    if not unset and value is None:
        raise InvalidInput(f"give a value for {option!r}, or --unset to remove it")
    url = value if option == "url" and value is not None else remotes[name].get("url", "")
    scheme = check_url(url) if url else ""
    allowed = OPTIONS.get(scheme, OPTIONS[""])
    if option not in allowed:
        kind = f"{scheme}://" if scheme else "local"
        raise InvalidInput(
            f"{option!r} is not an option of {kind} remotes (dvc would refuse the config); "
            f"valid: {', '.join(sorted(allowed))}"
        )
    path = config_file(repo_root, level)
    with _editing(repo_root, level) as conf:
        key = _find_section(conf, name)
        if key is None:
            key = _section_name(name)
            conf[key] = {}
        if unset:
            conf[key].pop(option, None)
            if not conf[key]:
                del conf[key]
        else:
            assert value is not None
            stored = (
                _store_path(value, path.parent.absolute(), Path(cwd or os.getcwd()))
                if option in PATH_OPTIONS
                else value
            )
            conf[key][option] = stored


def redacted(remote: Remote) -> dict[str, str]:
    """The remote's options for display, secrets masked."""
    return {k: ("***" if k in _SECRETS else v) for k, v in remote.options}


def _shown(repo_root: Path, path: Path) -> str:
    try:
        return os.fspath(path.relative_to(repo_root))
    except ValueError:
        return os.fspath(path)


__all__ = [
    "LEVELS",
    "OPTIONS",
    "REPO_LEVELS",
    "Remote",
    "RemoteList",
    "add_remote",
    "check_url",
    "config_file",
    "default_remote",
    "is_local_url",
    "list_remotes",
    "modify_remote",
    "redacted",
    "remove_remote",
    "rename_remote",
    "resolve_remote",
    "set_default",
    "url_scheme",
]
