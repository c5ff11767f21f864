"""The one path guard: what an untrusted pointer file, ``dvc.lock`` or ``.dir`` manifest may
name, and where files it describes may be written.

A cloned repository's pointer files and the manifests on its remote are written by whoever
could push. Every path they give is checked here before anything is read or written for it:

- relative, with no ``..`` that leaves the work tree (an output) or any ``..`` at all (a file
  inside a folder, as dvc writes them), no empty, ``.`` or NUL parts;
- never into ``.git`` or ``.dvc`` (compared case-insensitively: on a case-insensitive disk
  ``.GIT/config`` is git's config);
- written only into folders whose real path stays inside the work tree (or ``get``'s output),
  so a committed symlink cannot carry a write elsewhere.

A violation is an :class:`~landmark.errors.InvalidInput` naming the path and the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..errors import InvalidInput

RESERVED = frozenset({".git", ".dvc"})
_HEX = frozenset("0123456789abcdef")


def _fault(rel: str, reserved: bool = True) -> str | None:
    """Why ``rel`` (posix, relative to its folder, ``..`` not allowed) is unsafe; None if not."""
    if not rel:
        return "is empty"
    if "\0" in rel:
        return "holds a NUL byte"
    if rel[0] == "/" or rel[0] == "\\" or (len(rel) > 1 and rel[1] == ":" and rel[0].isalpha()):
        return "is absolute"
    # Fast path: a part that starts with a dot, an empty part and a trailing slash all show
    # as one of these; most names have none.
    if "/." not in "/" + rel and "//" not in rel and rel[-1] != "/":
        return None
    for part in rel.split("/"):
        if part in ("", "."):
            return "has an empty or '.' part"
        if part == "..":
            return "leaves its folder ('..')"
        if reserved and part.casefold() in RESERVED:
            return f"goes into {part}/"
    return None


def output_path(base: str, path: object, source: str) -> str:
    """The repo-relative posix path of an output that ``source`` (in the repo-relative folder
    ``base``, "" for the top) lists as ``path``; ``..`` may be used while it stays inside."""
    if not isinstance(path, str):
        raise InvalidInput(f"{source}: output path {path!r} is not a string; fix that file")
    text = path.replace("\\", "/") if os.sep == "\\" else path
    fault = None
    if not text or "\0" in text:
        fault = "is empty" if not text else "holds a NUL byte"
    elif text[0] == "/" or (len(text) > 1 and text[1] == ":" and text[0].isalpha()):
        fault = "is absolute"
    parts: list[str] = [p for p in base.split("/") if p] if fault is None else []
    if fault is None:
        for part in text.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    fault = "leaves the work tree"
                    break
                parts.pop()
            else:
                parts.append(part)
        else:
            if not parts:
                fault = "is the work tree itself"
            elif any(p.casefold() in RESERVED for p in parts):
                fault = f"goes into {next(p for p in parts if p.casefold() in RESERVED)}/"
    if fault is not None:
        raise InvalidInput(
            f"{source}: output path {path!r} {fault}; refusing to use it (fix or remove that file)"
        )
    return "/".join(parts)


def check_relpath(rel: object, source: str) -> str:
    """A file's path inside a tracked folder, as a ``.dir`` manifest gives it."""
    if not isinstance(rel, str):
        raise InvalidInput(f"{source}: entry path {rel!r} is not a string; refusing the manifest")
    fault = _fault(rel)
    if fault is not None:
        raise InvalidInput(f"{source}: entry path {rel!r} {fault}; refusing the manifest")
    return rel


def check_hash(value: object, source: str) -> str:
    """An md5 hex digest (optionally ``.dir``): cache and remote paths are built from it."""
    if isinstance(value, str):
        core = value[:-4] if value.endswith(".dir") else value
        if len(core) == 32 and _HEX.issuperset(core):
            return value
    raise InvalidInput(f"{source}: {value!r} is not an md5 hash; fix or remove that file")


def check_entries(pairs: list[tuple[str, str]], source: str) -> None:
    """Every (relpath, md5) of a manifest is safe, and no path is listed twice or is both a
    file and a folder (which would make one write land through the other)."""
    for rel, md5 in pairs:
        check_relpath(rel, source)
        check_hash(md5, source)
        if md5.endswith(".dir"):
            raise InvalidInput(f"{source}: entry {rel!r} names a folder object; refusing it")
    check_layout([rel for rel, _ in pairs], source)


def check_layout(rels: Iterable[str], source: str) -> None:
    """No path is listed twice or is both a file and a folder (one write would land through
    the other)."""
    names = list(rels)
    files = set(names)
    if len(files) != len(names):
        seen: set[str] = set()
        twice = next(n for n in names if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        raise InvalidInput(f"{source}: entry path {twice!r} is listed twice; refusing the manifest")
    for rel in names:
        cut = rel.rfind("/")
        while cut > 0:
            if rel[:cut] in files:
                raise InvalidInput(
                    f"{source}: {rel[:cut]!r} is both a file and a folder; refusing the manifest"
                )
            cut = rel.rfind("/", 0, cut)


def _inside(real: str, top: str) -> bool:
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def check_folders(top: str, folders: Iterable[str], what: str = "the work tree") -> None:
    """Every folder (absolute, under ``top``) that files will be written into, or its nearest
    existing ancestor, has its real path inside ``top`` and outside ``top``'s ``.git`` and
    ``.dvc``: a symlinked folder cannot carry a write elsewhere."""
    real_top = os.path.realpath(top)
    banned = [os.path.join(real_top, name) for name in sorted(RESERVED)]
    seen: set[str] = set()
    for folder in folders:
        probe = folder
        while probe not in seen and not os.path.lexists(probe):
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
        if probe in seen:
            continue
        seen.add(probe)
        real = os.path.realpath(probe)
        if not _inside(real, real_top) or any(_inside(real, b) for b in banned):
            shown = os.path.relpath(folder, top)
            raise InvalidInput(
                f"{shown} leads to {real} through a symbolic link, outside {what}: "
                "refusing to write there (remove the link)"
            )


__all__ = [
    "RESERVED",
    "check_entries",
    "check_folders",
    "check_hash",
    "check_layout",
    "check_relpath",
    "output_path",
]
