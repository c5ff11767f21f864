"""Plain-text output: boxed or plain tables and JSON, without importing anything heavy."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, plain: bool = False) -> str:
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]

    def line(values: Sequence[str], sep: str, edge: str) -> str:
        body = sep.join(f" {v.ljust(w)} " for v, w in zip(values, widths, strict=True))
        return f"{edge}{body}{edge}".rstrip() if plain else f"{edge}{body}{edge}"

    if plain:
        return "\n".join(
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
            for r in [list(headers), *cells]
        )

    def bar(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    out = [bar("╒", "╤", "╕", "═"), line(headers, "│", "│"), bar("╞", "╪", "╡", "═")]
    out += [line(r, "│", "│") for r in cells]
    out.append(bar("╘", "╧", "╛", "═"))
    return "\n".join(out)


def emit_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=4) + "\n")


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def local_status(local: Any) -> str:
    """``landmark status``'s report: a line per output that isn't clean, as ``state: path
    (pointer file)``, and what to do about missing objects; or one line saying all is well."""
    lines = []
    for o in local.outputs:
        if o.workspace != "ok":
            lines.append(f"\t{o.workspace + ':':<14}{o.path}  ({o.source})")
        if o.missing_objects:
            n = len(o.missing_objects)
            lines.append(f"\t{'not in cache:':<14}{o.path}  ({plural(n, 'object')})")
    if not lines:
        return "Work tree and cache are up to date with the pointer files"
    if any(o.missing_objects for o in local.outputs):
        lines.append("Objects not in the cache come with `landmark pull` (or `landmark fetch`)")
    return "\n".join(lines)
