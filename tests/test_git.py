"""The git gateway: the tag-object cache gives exactly what git itself says."""

from __future__ import annotations

from landmark.git import Repo

from .conftest import GitRepo


def _key(t: object) -> tuple[str, ...]:
    return tuple(str(v) for v in vars(t).values())


def test_tag_cache_matches_git_and_follows_changes(repo: GitRepo) -> None:
    repo.git("tag", "-a", "-m", "Registering artifact a version v1.0.0", "a@v1.0.0")
    repo.git("tag", "light")
    r = Repo.open(repo.path)
    first = sorted(map(_key, r.tags()))
    cache = repo.path / ".git" / "landmark" / "tag-objects.v1"
    assert cache.exists()
    # Named tags are read without the cache and must agree with the cached listing.
    direct = sorted(map(_key, r.tags("a@v1.0.0", "light")))
    assert first == direct
    # And with what git itself reports for each field.
    fmt = "%(*objectname)|%(*objecttype)|%(taggername)|%(taggeremail:trim)|%(taggerdate:raw)"
    expected = repo.git("for-each-ref", f"--format={fmt}", "refs/tags/a@v1.0.0").split("|")
    [a] = [t for t in r.tags() if t.name == "a@v1.0.0"]
    assert [a.target, a.target_type, a.tagger, a.tagger_email, a.date] == expected
    assert a.message.strip() == "Registering artifact a version v1.0.0"
    [light] = [t for t in r.tags() if t.name == "light"]
    assert light.target == repo.git("rev-parse", "HEAD") and not light.annotated
    # New and deleted tags are seen; the cache is only an accelerator.
    repo.tick()
    repo.git("tag", "-a", "-m", "multi\n\nline message", "b@v2.0.0")
    repo.git("tag", "-d", "a@v1.0.0")
    names = {t.name: t for t in Repo.open(repo.path).tags()}
    assert set(names) == {"b@v2.0.0", "light"}
    assert names["b@v2.0.0"].message.strip() == "multi\n\nline message"
    assert names["light"].annotated is False
    # A corrupt cache is ignored and rewritten.
    cache.write_bytes(b"\x00garbage")
    again = {t.name for t in Repo.open(repo.path).tags()}
    assert again == {"b@v2.0.0", "light"}
    assert cache.read_bytes() != b"\x00garbage"
