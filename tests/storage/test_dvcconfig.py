"""One reader of dvc's config: four levels, dvc's precedence, paths per file, configobj's grammar.

The real dvc (pinned) sets the values (``dvc cache dir --global``, ``dvc config --system``...) in
an isolated HOME / XDG_CONFIG_HOME / DVC_SYSTEM_CONFIG_DIR, and each test checks that landmark
finds the same files and the same cache as dvc and puts and reads objects where dvc does. The
hand parser is compared with configobj itself on generated files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landmark.errors import ConfigError
from landmark.storage import dvcconfig, remotes
from landmark.storage.cache import repo_cache

from ..conftest import Cli, GitRepo
from .conftest import Dvc


@pytest.fixture(autouse=True)
def config_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Global and system config folders of this test's own (the machine's are never read)."""
    dirs = {"xdg": tmp_path / "xdg", "system": tmp_path / "system"}
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs["xdg"]))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(dirs["system"]))
    monkeypatch.delenv("DVC_GLOBAL_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_DIRS", raising=False)
    return dirs


def objects(cache_root: Path) -> set[str]:
    base = cache_root / "files" / "md5"
    return (
        {p.parent.name + p.name for p in base.rglob("*") if p.is_file()} if base.exists() else set()
    )


def pointer_md5(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.strip().startswith("- md5:") or line.strip().startswith("md5:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no md5 in {path}")


def dvc_cache_dir(dvc: Dvc, root: Path) -> Path:
    return Path(dvc("cache", "dir", cwd=root).strip())


def dvc_init(dvc: Dvc, repo: GitRepo) -> Path:
    dvc("init", "-q", cwd=repo.path)
    return repo.path


# -- where the files are --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "env, level, expected",
    [
        ({}, "global", "xdg/dvc/config"),
        ({"XDG_CONFIG_HOME": None}, "global", "home/.config/dvc/config"),
        # a relative XDG_CONFIG_HOME does not count (the XDG spec, platformdirs)
        ({"XDG_CONFIG_HOME": "relative/xdg"}, "global", "home/.config/dvc/config"),
        ({"DVC_GLOBAL_CONFIG_DIR": "{tmp}/gdir"}, "global", "gdir/config"),
        ({}, "system", "system/config"),
        (
            {"DVC_SYSTEM_CONFIG_DIR": None, "XDG_CONFIG_DIRS": "rel/dirs:{tmp}/d1:{tmp}/d2"},
            "system",
            "d1/dvc/config",
        ),
    ],
)
def test_global_and_system_files_are_where_dvc_writes_them(
    dvc: Dvc,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str | None],
    level: str,
    expected: str,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value.format(tmp=tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    dvc("config", f"--{level}", "cache.type", "copy", cwd=work)
    where = dvcconfig.config_file(work, level)
    assert where == tmp_path / expected
    assert where.read_text() == "[cache]\n    type = copy\n"


# -- the cache -------------------------------------------------------------------------------------
def test_a_global_cache_dir_is_used_by_add_and_push_as_dvc_uses_it(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    root = dvc_init(dvc, repo)
    shared = tmp_path / "shared-cache"
    dvc("cache", "dir", "--global", str(shared), cwd=root)
    assert repo_cache(root).root == dvc_cache_dir(dvc, root) == shared

    (root / "by-dvc.bin").write_bytes(b"added by dvc\n")
    (root / "by-landmark.bin").write_bytes(b"added by landmark\n")
    (root / "folder").mkdir()
    (root / "folder" / "f.txt").write_bytes(b"in a folder\n")
    dvc("add", "-q", "by-dvc.bin", cwd=root)
    lm("add", "by-landmark.bin", "folder")
    wanted = {
        pointer_md5(root / "by-dvc.bin.dvc"),
        pointer_md5(root / "by-landmark.bin.dvc"),
        pointer_md5(root / "folder.dvc"),
    }
    # Both tools' objects are in the global cache, none in .dvc/cache; dvc finds landmark's.
    assert wanted <= objects(shared)
    assert objects(root / ".dvc" / "cache") == set()
    assert dvc("status", "-q", cwd=root) == ""

    # push reads them from there: what arrives is what dvc pushes from the same cache.
    lm("remote", "add", "-d", "lm-store", str(tmp_path / "lm-store"))
    dvc("remote", "add", "dvc-store", str(tmp_path / "dvc-store"), cwd=root)
    lm("push")
    dvc("push", "-q", "-r", "dvc-store", cwd=root)
    assert objects(tmp_path / "lm-store") == objects(tmp_path / "dvc-store")
    assert wanted <= objects(tmp_path / "lm-store")

    # and pull fills the same cache in a clone that has no .dvc/cache of its own
    for name in ("by-dvc.bin", "by-landmark.bin"):
        (root / name).unlink()
    for path in (shared / "files" / "md5").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    lm("pull")
    assert (root / "by-dvc.bin").read_bytes() == b"added by dvc\n"
    assert (root / "by-landmark.bin").read_bytes() == b"added by landmark\n"
    assert wanted <= objects(shared)
    assert objects(root / ".dvc" / "cache") == set()


def test_repo_overrides_global_and_local_overrides_repo(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path
) -> None:
    root = dvc_init(dvc, repo)
    dvc("cache", "dir", "--global", str(tmp_path / "global-cache"), cwd=root)
    dvc("config", "--global", "cache.type", "copy", cwd=root)
    # given relative to where dvc runs, stored relative to .dvc/, as dvc does
    dvc("cache", "dir", "../repo-cache", cwd=root)
    assert "dir = ../../repo-cache" in (root / ".dvc" / "config").read_text()
    cache = repo_cache(root)
    assert cache.root == dvc_cache_dir(dvc, root) == tmp_path / "repo-cache"
    # keys merge one by one: the global type still applies
    assert cache.link_kinds == ("copy",)

    (root / "a.bin").write_bytes(b"a\n")
    lm("add", "a.bin")
    assert pointer_md5(root / "a.bin.dvc") in objects(tmp_path / "repo-cache")
    assert objects(tmp_path / "global-cache") == set()

    dvc("cache", "dir", "--local", str(tmp_path / "local-cache"), cwd=root)
    assert repo_cache(root).root == dvc_cache_dir(dvc, root) == tmp_path / "local-cache"
    (root / "b.bin").write_bytes(b"b\n")
    (root / "c.bin").write_bytes(b"c\n")
    lm("add", "b.bin")
    dvc("add", "-q", "c.bin", cwd=root)
    local = objects(tmp_path / "local-cache")
    assert {pointer_md5(root / "b.bin.dvc"), pointer_md5(root / "c.bin.dvc")} <= local

    dvc("cache", "dir", "--local", "--unset", cwd=root)
    assert repo_cache(root).root == dvc_cache_dir(dvc, root) == tmp_path / "repo-cache"


def test_relative_paths_are_relative_to_the_file_that_set_them(
    repo: GitRepo, dvc: Dvc, tmp_path: Path, config_dirs: dict[str, Path]
) -> None:
    root = dvc_init(dvc, repo)
    # dvc takes a relative path from where it runs and stores it relative to the global file.
    dvc("cache", "dir", "--global", "../elsewhere/cache", cwd=root)
    text = (config_dirs["xdg"] / "dvc" / "config").read_text()
    assert "dir = ../../elsewhere/cache" in text
    assert repo_cache(root).root == dvc_cache_dir(dvc, root) == tmp_path / "elsewhere" / "cache"
    # written by hand, the same: relative to the global config's folder
    (config_dirs["xdg"] / "dvc" / "config").write_text("[cache]\n    dir = by-hand\n")
    assert (
        repo_cache(root).root == dvc_cache_dir(dvc, root) == config_dirs["xdg"] / "dvc" / "by-hand"
    )
    # ~ is the user's home
    (config_dirs["xdg"] / "dvc" / "config").write_text("[cache]\n    dir = ~/cache-in-home\n")
    assert repo_cache(root).root == dvc_cache_dir(dvc, root) == Path.home() / "cache-in-home"


def test_system_level_is_below_global(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path, config_dirs: dict[str, Path]
) -> None:
    root = dvc_init(dvc, repo)
    dvc("cache", "dir", "--system", str(tmp_path / "system-cache"), cwd=root)
    assert (config_dirs["system"] / "config").exists()
    assert repo_cache(root).root == dvc_cache_dir(dvc, root) == tmp_path / "system-cache"
    (root / "a.bin").write_bytes(b"a\n")
    lm("add", "a.bin")
    assert pointer_md5(root / "a.bin.dvc") in objects(tmp_path / "system-cache")
    dvc("cache", "dir", "--global", str(tmp_path / "global-cache"), cwd=root)
    assert repo_cache(root).root == dvc_cache_dir(dvc, root) == tmp_path / "global-cache"


def test_a_global_remote_with_a_relative_url_is_where_dvc_pushes(
    repo: GitRepo, lm: Cli, dvc: Dvc, tmp_path: Path, config_dirs: dict[str, Path]
) -> None:
    root = dvc_init(dvc, repo)
    (config_dirs["xdg"] / "dvc").mkdir(parents=True)
    (config_dirs["xdg"] / "dvc" / "config").write_text(
        "[core]\n    remote = team\n['remote \"team\"']\n    url = ../../team-store\n"
    )
    (config_dirs["system"]).mkdir()
    (config_dirs["system"] / "config").write_text(
        "['remote \"team\"']\n    url = /nowhere\n    jobs = 2\n"
    )
    remote = remotes.resolve_remote(root)
    assert remote.url == str(tmp_path / "team-store") and remote.get("jobs") == "2"
    (root / "a.bin").write_bytes(b"a\n")
    lm("add", "a.bin")
    lm("push")
    landmark_pushed = objects(tmp_path / "team-store")
    (tmp_path / "team-store").rename(tmp_path / "landmark-pushed")
    dvc("push", "-q", cwd=root)
    assert objects(tmp_path / "team-store") == landmark_pushed != set()


def test_reading_the_config_imports_neither_configobj_nor_fsspec(
    repo: GitRepo, lm: Cli, config_dirs: dict[str, Path]
) -> None:
    lm("remote", "add", "-d", "store", "s3://bucket/models")
    (config_dirs["xdg"] / "dvc").mkdir(parents=True)
    (config_dirs["xdg"] / "dvc" / "config").write_text("[cache]\n    dir = /tmp/x\n")
    code = (
        "import sys; from pathlib import Path; "
        "from landmark.storage import remotes, cache, transfer, get; "
        f"root = Path({str(repo.path)!r}); "
        "print(remotes.resolve_remote(root).url, cache.repo_cache(root).root); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('configobj', 'fsspec', 's3fs')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["s3://bucket/models /tmp/x", "[]"]


# -- the parser: configobj's grammar -----------------------------------------------------------------
def test_parse_reads_what_dvc_writes_and_configobj_accepts() -> None:
    text = (
        "[core]\n"
        "    remote = Store  # the team's\n"
        "['remote \"Store\"']\n"
        "    url = s3://bucket/a#b\n"
        "    Region = 'eu # west'\n"
        "[cache]\n"
        "    type = reflink, copy\n"
        '    dir = "quoted, with comma"\n'
        "    note = '''one\n"
        "two'''\n"
        "    here = %(dir)s!\n"
        "    [[sub]]\n"
        "    ignored = yes\n"
    )
    assert dvcconfig.parse(text) == {
        "core": {"remote": "Store"},
        'remote "store"': {"url": "s3://bucket/a", "region": "eu # west"},
        "cache": {
            "type": "reflink, copy",
            "dir": "quoted, with comma",
            "note": "one\ntwo",
            "here": "quoted, with comma!",
        },
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("[cache]\n    dir = a\n    dir = b\n", "duplicate key 'dir' at line 3"),
        ("[cache]\n[cache]\n", "duplicate section"),
        ("[core]\n    this is not a setting\n", "invalid line"),
        ("[core\n", "invalid line"),
        ("[[core]]\n", "nested"),
        ("[core]\n    remote = 'unclosed\n", "badly quoted"),
        ("[core]\n    remote = '''never\nclosed\n", "unterminated"),
        ("[core]\n    remote = %(nope)s\n", "%(nope)s"),
        ("[core]\n    a = %(b)s\n    b = %(a)s\n", "itself"),
    ],
)
def test_parse_refuses_what_configobj_refuses(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dvcconfig.parse(text, "x/config")


def _configobj(text: str) -> dict[str, dict[str, str]] | None:
    """What dvc reads from ``text`` (configobj, keys lower-cased), None when it refuses."""
    from configobj import ConfigObj, Section

    try:
        conf = ConfigObj(text.splitlines())
        out: dict[str, dict[str, str]] = {}
        for name in conf.sections:
            section = conf[name]
            assert isinstance(section, Section)
            values: dict[str, str] = {}
            for key in section.scalars:
                value = section[key]
                values[key.lower()] = ", ".join(value) if isinstance(value, list) else value
            out[name.lower()] = values
        return out
    except Exception:
        return None


_NAMES = st.sampled_from(
    ["cache", "core", "Core", 'remote "a"', "'remote \"b\"'", '"x y"', "DEFAULT", " k "]
)
_KEYS = st.sampled_from(["dir", "type", "Dir", "url", '"q k"', "'s'", "a b", "x"])
_PIECES = st.sampled_from(
    [
        "v", "s3://b/p", " ", ",", ", ", "#", " # c", "'", '"', "'a, b'", '"c # d"', "%(x)s",
        "%(dir)s", "%", "'''", '"""', "=", "[", "]", "é", "\t",
    ]
)  # fmt: skip
_VALUES = st.lists(_PIECES, max_size=6).map("".join)
_LINES = st.one_of(
    st.just(""),
    st.just("# comment"),
    st.builds(
        lambda n, d, i: i + "[" * d + n + "]" * d,
        _NAMES,
        st.integers(1, 2),
        st.sampled_from(["", "  "]),
    ),
    st.builds(lambda n: f"[{n}", _NAMES),
    st.builds(lambda k, v, i: f"{i}{k} = {v}", _KEYS, _VALUES, st.sampled_from(["", "    "])),
    st.builds(lambda k, v: f"{k}={v}", _KEYS, _VALUES),
    _VALUES,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, max_size=10).map("\n".join))
def test_parse_agrees_with_configobj(text: str) -> None:
    expected = _configobj(text)
    if expected is None:
        with pytest.raises(ConfigError):
            dvcconfig.parse(text)
    else:
        assert dvcconfig.parse(text) == expected
