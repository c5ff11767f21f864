"""The one error tree: every user-facing failure, with its message and exit code.

    LandmarkError                 exit 1 unless stated
    ├── InvalidInput              bad names, versions, stages, refs, argument combinations (2)
    │   └── UnknownStage / UnknownType (config allow-lists)
    ├── NotFound                  unknown artifact, version, stage, ref, file (3)
    ├── Conflict                  version exists, tag exists, stage already assigned (4)
    ├── ConfigError               broken .gto, dvc.yaml, artifacts.yaml (5)
    ├── RepoError                 not a git repo, unreachable URL (6)
    ├── GitError                  git failed in a way the user has to look at (7)
    ├── RemoteError               storage remote unreachable, no credentials, transfer failed (8)
    ├── IntegrityError            bytes whose hash does not match what they claim to be (9)
    ├── MissingDependency         an optional extra is not installed; says what to install (10)
    └── UnsafeModel               loading would run code and the caller did not trust it (11)
        (SignatureError is an InvalidInput: model input that does not match the signature)

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``; the web layer maps
the same classes to HTTP statuses in one place.
"""

from __future__ import annotations


class LandmarkError(Exception):
    """Base of every error that is the user's to fix."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(LandmarkError):
    exit_code = 2


class UnknownStage(InvalidInput):
    pass


class UnknownType(InvalidInput):
    pass


class NotFound(LandmarkError):
    exit_code = 3


class Conflict(LandmarkError):
    exit_code = 4


class ConfigError(LandmarkError):
    exit_code = 5


class RepoError(LandmarkError):
    exit_code = 6


class GitError(LandmarkError):
    exit_code = 7


class RemoteError(LandmarkError):
    exit_code = 8


class IntegrityError(LandmarkError):
    exit_code = 9


class MissingDependency(LandmarkError):
    exit_code = 10


class UnsafeModel(LandmarkError):
    exit_code = 11


class SignatureError(InvalidInput):
    pass


__all__ = [
    "ConfigError",
    "Conflict",
    "GitError",
    "IntegrityError",
    "InvalidInput",
    "LandmarkError",
    "MissingDependency",
    "NotFound",
    "RemoteError",
    "RepoError",
    "SignatureError",
    "UnknownStage",
    "UnknownType",
    "UnsafeModel",
]


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters: for values from files or other
    programs quoted in a message (an edited file must not add lines to the output)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
