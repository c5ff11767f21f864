"""``landmark remote ...``: remotes kept in ``.dvc/config`` exactly as dvc writes them.

The expected texts below are what ``dvc remote add/modify/default`` (3.x) writes for the same
commands; the interoperability tests (test_compat_dvc.py) run the real dvc on them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from landmark.errors import ConfigError, NotFound
from landmark.storage import remotes

from ..conftest import Cli, GitRepo


def config(repo: GitRepo, name: str = "config") -> str:
    return (repo.path / ".dvc" / name).read_text()


def test_add_list_default_as_dvc_writes_them(repo: GitRepo, lm: Cli, tmp_path: Path) -> None:
    assert (
        "Setting 'store' as the default remote."
        in lm("remote", "add", "-d", "store", "../store").output
    )
    lm("remote", "add", "cloud", "s3://bucket/models")
    lm("remote", "modify", "cloud", "endpointurl", "http://127.0.0.1:9000")
    lm("remote", "modify", "cloud", "region", "eu-west-1")
    assert config(repo) == (
        "[core]\n"
        "    remote = store\n"
        "['remote \"store\"']\n"
        "    url = ../../store\n"
        "['remote \"cloud\"']\n"
        "    url = s3://bucket/models\n"
        "    endpointurl = http://127.0.0.1:9000\n"
        "    region = eu-west-1\n"
    )
    # .dvc/ is made as dvc init makes it, so config.local never reaches git.
    assert "/config.local" in (repo.path / ".dvc" / ".gitignore").read_text().splitlines()
    listed = lm("remote", "list").output.splitlines()
    assert listed == [f"store\t{tmp_path / 'store'}\t(default)", "cloud\ts3://bucket/models"]
    assert lm("remote", "default").output == "store\n"

    lm("remote", "default", "cloud")
    assert "    remote = cloud\n" in config(repo)
    remote = remotes.resolve_remote(repo.path)
    assert remote.name == "cloud" and remote.scheme == "s3"
    assert remote.get("endpointurl") == "http://127.0.0.1:9000"


def test_relative_urls_are_relative_to_the_config_file(
    repo: GitRepo, lm: Cli, tmp_path: Path
) -> None:
    sub = repo.path / "deep" / "er"
    sub.mkdir(parents=True)
    (repo.path / ".dvc").mkdir()
    # Given relative to where the command runs (as with dvc), stored relative to .dvc/.
    Cli(sub, repo)("remote", "add", "-d", "store", "../../../store")
    assert "url = ../../store\n" in config(repo)
    assert remotes.resolve_remote(repo.path).url == str(tmp_path / "store")
    # Absolute paths, home-relative paths and URLs are stored as given.
    lm("remote", "add", "abs", "/srv/models")
    lm("remote", "add", "home", "~/models")
    lm("remote", "add", "file", "file:///srv/other")
    text = config(repo)
    assert "url = /srv/models\n" in text and "url = ~/models\n" in text
    assert "url = file:///srv/other\n" in text
    listing = remotes.list_remotes(repo.path)
    assert listing.get("home") == remotes.Remote("home", str(Path.home() / "models"))
    assert listing.get("file") is not None and listing.get("file").url == "/srv/other"  # type: ignore[union-attr]


def test_add_twice_needs_force(repo: GitRepo, lm: Cli) -> None:
    lm("remote", "add", "store", "/a")
    result = lm("remote", "add", "store", "/b", ok=False)
    assert result.exit_code == 4 and "-f/--force" in result.output
    lm("remote", "add", "-f", "store", "/b")
    assert remotes.resolve_remote(repo.path, "store").url == "/b"
    assert config(repo).count('remote "store"') == 1


def test_local_level_overrides_and_stays_out_of_git(repo: GitRepo, lm: Cli) -> None:
    lm("remote", "add", "-d", "store", "s3://shared/models")
    lm("remote", "modify", "--local", "store", "access_key_id", "AKIA-local")
    lm("remote", "modify", "--local", "store", "secret_access_key", "s3cr3t")
    lm("remote", "modify", "--local", "store", "url", "/mirror")
    assert config(repo, "config.local") == (
        "['remote \"store\"']\n"
        "    access_key_id = AKIA-local\n"
        "    secret_access_key = s3cr3t\n"
        "    url = /mirror\n"
    )
    assert "s3cr3t" not in config(repo)
    remote = remotes.resolve_remote(repo.path)
    assert remote.url == "/mirror" and remote.get("access_key_id") == "AKIA-local"
    assert remotes.redacted(remote)["secret_access_key"] == "***"
    assert repo.git("status", "--porcelain", "--ignored", ".dvc/config.local").startswith("!!")
    # --local lists that file's remotes alone.
    assert lm("remote", "list", "--local").output == "store\t/mirror\n"


def test_global_level(
    repo: GitRepo, lm: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    lm("remote", "add", "--global", "-d", "team", "s3://team/models")
    assert (tmp_path / "xdg" / "dvc" / "config").read_text() == (
        "[core]\n    remote = team\n['remote \"team\"']\n    url = s3://team/models\n"
    )
    assert remotes.resolve_remote(repo.path).name == "team"
    # The project's own default wins over the user's.
    lm("remote", "add", "-d", "proj", "/p")
    assert remotes.resolve_remote(repo.path).name == "proj"


def test_modify_checks_options_and_unsets(repo: GitRepo, lm: Cli) -> None:
    lm("remote", "add", "cloud", "s3://bucket/x")
    result = lm("remote", "modify", "cloud", "endpoint", "http://x", ok=False)
    assert result.exit_code == 2 and "endpointurl" in result.output
    result = lm("remote", "modify", "nope", "region", "x", ok=False)
    assert result.exit_code == 3
    lm("remote", "modify", "cloud", "profile", "ci")
    lm("remote", "modify", "cloud", "credentialpath", "creds/aws")
    assert "    credentialpath = ../creds/aws\n" in config(repo)
    remote = remotes.resolve_remote(repo.path, "cloud")
    assert remote.get("credentialpath") == str(repo.path / "creds" / "aws")
    lm("remote", "modify", "--unset", "cloud", "profile")
    assert "profile" not in config(repo)
    # Values with commas, quotes or '#' are quoted as configobj (and so dvc) expects.
    lm("remote", "modify", "cloud", "access_key_id", "a,b c#d")
    assert '    access_key_id = "a,b c#d"\n' in config(repo)
    assert remotes.resolve_remote(repo.path, "cloud").get("access_key_id") == "a,b c#d"


def test_remove_and_rename(repo: GitRepo, lm: Cli) -> None:
    lm("remote", "add", "-d", "store", "/a")
    lm("remote", "add", "other", "/b")
    lm("remote", "modify", "--local", "store", "jobs", "4")
    lm("remote", "rename", "store", "main")
    assert remotes.resolve_remote(repo.path).name == "main"
    lm("remote", "remove", "main")
    assert "[core]" not in config(repo) and "main" not in config(repo)
    assert [r.name for r in remotes.list_remotes(repo.path).remotes] == ["other"]
    with pytest.raises(ConfigError, match="no default remote"):
        remotes.resolve_remote(repo.path)
    result = lm("remote", "remove", "main", ok=False)
    assert result.exit_code == 3
    result = lm("remote", "default", ok=False)
    assert "no default remote" in result.output
    result = lm("remote", "default", "ghost", ok=False)
    assert result.exit_code == 3
    lm("remote", "default", "other")
    lm("remote", "default", "--unset")
    assert remotes.default_remote(repo.path) is None


def test_unsupported_urls(repo: GitRepo, lm: Cli) -> None:
    for url, hint in (("hdfs://x/y", "not supported by landmark"), ("ftp://x", "unsupported")):
        result = lm("remote", "add", "r", url, ok=False)
        assert result.exit_code == 2 and hint in result.output
    assert not (repo.path / ".dvc" / "config").exists() or "remote" not in config(repo)


def test_reads_what_dvc_wrote_and_keeps_comments(repo: GitRepo, lm: Cli, tmp_path: Path) -> None:
    dvc = repo.path / ".dvc"
    dvc.mkdir()
    # As dvc 3 writes it (4-space indents, quoted section names), plus a user's comment.
    (dvc / "config").write_text(
        "[core]\n"
        "    remote = Store\n"
        "    autostage = true\n"
        "# where the team's models live\n"
        "['remote \"Store\"']\n"
        "    url = ../../store\n"
        "[cache]\n"
        "    type = hardlink,symlink\n"
    )
    remote = remotes.resolve_remote(repo.path)
    assert remote == remotes.Remote("store", str(tmp_path / "store"))  # names are case-blind
    lm("remote", "modify", "store", "jobs", "8")
    text = config(repo)
    assert "# where the team's models live\n" in text and "    autostage = true\n" in text
    assert "    type = hardlink, symlink\n" in text or "    type = hardlink,symlink\n" in text
    assert remotes.resolve_remote(repo.path).get("jobs") == "8"


def test_unknown_remote_lists_known_ones(repo: GitRepo) -> None:
    remotes.add_remote(repo.path, "alpha", "/a", cwd=repo.path)
    with pytest.raises(NotFound, match="alpha"):
        remotes.resolve_remote(repo.path, "beta")
    with pytest.raises(ConfigError, match="landmark remote add -d"):
        remotes.resolve_remote(Path(repo.path / "nowhere"))


def test_remote_options_reach_the_store(repo: GitRepo, lm: Cli, tmp_path: Path) -> None:
    from landmark.storage.stores import LocalStore, open_remote

    lm("remote", "add", "-d", "store", str(tmp_path / "store"))
    lm("remote", "modify", "store", "jobs", "3")
    store = open_remote(remotes.resolve_remote(repo.path))
    assert isinstance(store, LocalStore) and store.default_jobs == 3
    lm("remote", "modify", "store", "jobs", "many")
    with pytest.raises(ConfigError, match="jobs"):
        open_remote(remotes.resolve_remote(repo.path))
