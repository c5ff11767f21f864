"""Semantic versions as the registry writes them: SemVer 2.0 with a mandatory ``v`` prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, total_ordering

from .errors import InvalidInput

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
SEMVER_PATTERN = (
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_SEMVER_RE = re.compile(rf"^v{SEMVER_PATTERN}$")


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A parsed version; ``str(v)`` is the tag form (``v1.2.3-rc.1+b5``)."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse a tag-form version; raises InvalidInput for anything else."""
        v = cls.try_parse(text)
        if v is None:
            raise InvalidInput(
                f"invalid version {text!r}: use semantic versioning with a 'v' prefix, "
                "e.g. v1.2.3 or v1.0.0-rc.1"
            )
        return v

    @classmethod
    def try_parse(cls, text: str) -> Version | None:
        return _try_parse(text)

    @classmethod
    def _from_text(cls, text: str) -> Version | None:
        m = _SEMVER_RE.match(text)
        if not m:
            return None
        pre = m["pre"]
        return cls(
            int(m["major"]),
            int(m["minor"]),
            int(m["patch"]),
            tuple(pre.split(".")) if pre else (),
            m["build"] or "",
        )

    @classmethod
    def from_user(cls, text: str) -> Version:
        """Like parse, but also accepts ``1.2.3`` (written back as ``v1.2.3``)."""
        text = text.strip()
        if text[:1].isdigit():
            text = "v" + text
        return cls.parse(text)

    def __str__(self) -> str:
        s = f"v{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            s += "-" + ".".join(self.pre)
        if self.build:
            s += "+" + self.build
        return s

    @property
    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Sort key with SemVer precedence."""
        return self._key()

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # SemVer precedence: a pre-release sorts before its release; numeric identifiers
        # compare numerically and before alphanumeric ones; build metadata is ignored.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def bump(self, part: str = "patch") -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise InvalidInput(f"unknown version part {part!r}: use major, minor or patch")


FIRST = Version(0, 0, 1)


@lru_cache(maxsize=8192)
def _try_parse(text: str) -> Version | None:
    # Registries repeat the same version strings across artifacts: parse each once.
    return Version._from_text(text)


def is_version(text: str) -> bool:
    return bool(_SEMVER_RE.match(text))


def sort_key(text: str) -> Version:
    return Version.parse(text)
