"""What each page shows, as plain data: the page's JSON twin, which its template renders.

Every view state comes from the query string (parsed and checked here: a bad value is an
InvalidInput naming it), so a URL is a deep link. Lists are paged by keyset: a cursor holds
the sort value, name and repository of the row it follows, so a page stays put while tags
are added.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from .. import gto_json, names
from ..errors import InvalidInput, NotFound, one_line
from ..events import Event, Kind
from ..state import ArtifactState, StageState, VersionState
from ..versions import Version
from .catalog import Catalog, View, check_version_text

Json = dict[str, Any]

COLUMNS = ("repo", "latest", "type", "framework", "labels", "stages", "updated")
SORTS = ("name", "updated", "latest", "repo")
KINDS = tuple(k.label for k in Kind)
MAX_LIMIT = 500


def _int(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    text = params.get(key)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{key} must be a whole number, not {one_line(text, 40)!r}") from None
    if not low <= value <= high:
        raise InvalidInput(f"{key} must be between {low} and {high}, not {value}")
    return value


def _text(params: Mapping[str, str], key: str) -> str | None:
    value = (params.get(key) or "").strip()
    return value or None


def _name_filter(params: Mapping[str, str], key: str) -> str | None:
    """A stage, type or label filter: the registry's name rule, or a 422."""
    value = _text(params, key)
    if value is not None:
        names.check_name(value, key)
    return value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None, key: str, size: int) -> list[Any] | None:
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (ValueError, binascii.Error):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise InvalidInput(f"{key} is not a page cursor from this UI: start from the first page")
    return values


def _semver_key(version: str | None) -> tuple[Any, ...]:
    parsed = Version.try_parse(version) if version else None
    return parsed.key if parsed is not None else (-1,)


# -- the models table ------------------------------------------------------------------------
@dataclass(frozen=True)
class TableQuery:
    q: str | None = None
    stage: str | None = None
    type: str | None = None
    framework: str | None = None
    label: str | None = None
    repo: str | None = None
    deprecated: bool = False
    sort: str = "name"
    desc: bool = False
    cols: tuple[str, ...] = COLUMNS
    limit: int = 50
    after: str | None = None
    before: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], cols: list[str] | None = None) -> TableQuery:
        sort = params.get("sort") or "name"
        desc = sort.startswith("-")
        if sort.lstrip("-") not in SORTS:
            raise InvalidInput(
                f"sort must be one of {', '.join(SORTS)} (or -NAME for descending), "
                f"not {one_line(sort, 40)!r}"
            )
        chosen = tuple(c for part in (cols or []) for c in part.split(",") if c)
        for c in chosen:
            if c not in COLUMNS:
                raise InvalidInput(
                    f"cols: unknown column {one_line(c, 40)!r} ({', '.join(COLUMNS)})"
                )
        framework = _text(params, "framework")
        return cls(
            q=_text(params, "q"),
            stage=_name_filter(params, "stage"),
            type=_name_filter(params, "type"),
            framework=framework[:100] if framework else None,
            label=_name_filter(params, "label"),
            repo=_text(params, "repo"),
            deprecated=params.get("deprecated") in ("1", "on", "true"),
            sort=sort.lstrip("-"),
            desc=desc,
            cols=tuple(c for c in COLUMNS if c in chosen) if cols else COLUMNS,
            limit=_int(params, "limit", 50, 1, MAX_LIMIT),
            after=_text(params, "after"),
            before=_text(params, "before"),
        )

    def link(self, **changes: Any) -> str:
        """This view's URL with ``changes`` (the page cursors are dropped unless given)."""
        q = replace(self, **{"after": None, "before": None, **changes})
        pairs: list[tuple[str, str]] = []
        for key in ("q", "stage", "type", "framework", "label", "repo"):
            value = getattr(q, key)
            if value:
                pairs.append((key, value))
        if q.deprecated:
            pairs.append(("deprecated", "1"))
        if q.sort != "name" or q.desc:
            pairs.append(("sort", f"{'-' if q.desc else ''}{q.sort}"))
        if q.cols != COLUMNS:
            pairs.append(("cols", ",".join(q.cols) or "none"))
        if q.limit != 50:
            pairs.append(("limit", str(q.limit)))
        for key in ("after", "before"):
            if getattr(q, key):
                pairs.append((key, getattr(q, key)))
        return "/?" + urlencode(pairs) if pairs else "/"


def _stage_cell(p: StageState) -> Json:
    a = p.authoring
    return {
        "version": p.version,
        "author": a.author,
        "author_email": a.author_email,
        "created_at": gto_json.iso(a.time),
        "tag": a.tag,
    }


def base_rows(view: View) -> list[Json]:
    """One row per model of the repository (cached on the view: the snapshot's rows)."""
    if view._rows is not None:
        return view._rows
    show = gto_json.registry(view.state, view.stages, deprecated=True)
    rows: list[Json] = []
    for name, art in view.state.artifacts.items():
        entry = show[name]
        a = view.annotations.get(name)
        held = view.held(name)
        last = art.last_event
        rows.append(
            {
                "repo": view.source.id,
                "name": name,
                **entry,
                "stages": {s: _stage_cell(ps[0]) for s, ps in held.items() if ps},
                "type": a.type if a else None,
                "labels": list(a.labels) if a else [],
                "description": a.description if a else "",
                "path": a.repo_path if a else None,
                "updated_at": gto_json.iso(last.time) if last else None,
                "_stamp": last.stamp if last else 0,
            }
        )
    view._rows = rows
    return rows


def _row_key(sort: str) -> Callable[[Any, str, str], tuple[Any, ...]]:
    if sort == "updated":
        return lambda raw, name, repo: (int(raw or 0), name, repo)
    if sort == "latest":
        return lambda raw, name, repo: (_semver_key(raw), name, repo)
    if sort == "repo":
        return lambda raw, name, repo: (str(raw), name.lower(), name)
    return lambda raw, name, repo: (str(raw).lower(), name, repo)


def _raw(row: Json, sort: str) -> Any:
    return {"updated": row["_stamp"], "latest": row["version"], "repo": row["repo"]}.get(
        sort, row["name"]
    )


def _matches(row: Json, q: TableQuery) -> bool:
    if not (q.deprecated or row["active"]):
        return False
    if q.stage and q.stage not in row["stages"]:
        return False
    if q.type and row["type"] != q.type:
        return False
    if q.label and q.label not in row["labels"]:
        return False
    if q.framework and (row["framework"] or "").lower() != q.framework.lower():
        return False
    if q.q:
        needle = q.q.lower()
        hay = " ".join([row["name"], row["description"] or "", *row["labels"]]).lower()
        if needle not in hay:
            return False
    return True


def table(catalog: Catalog, query: TableQuery) -> Json:
    """The models table: filtered, sorted, one keyset page."""
    views = catalog.views(query.repo)
    rows: list[Json] = []
    stages: list[str] = []
    types: set[str] = set()
    frameworks: set[str] = set()
    labels: set[str] = set()
    for view in views:
        stages += [s for s in view.stages if s not in stages]
        for base in base_rows(view):
            art = view.state.artifacts[base["name"]]
            latest = art.latest(registered_only=True)
            info = catalog.model_info(view, base["name"], latest, fetch=False) if latest else None
            row = {**base, "framework": info.framework if info else None}
            if row["type"]:
                types.add(row["type"])
            if row["framework"]:
                frameworks.add(row["framework"])
            labels.update(row["labels"])
            if _matches(row, query):
                rows.append(row)
    key = _row_key(query.sort)
    rows.sort(key=lambda r: key(_raw(r, query.sort), r["name"], r["repo"]), reverse=query.desc)
    page, prev_row, next_row = _page(
        rows,
        lambda r: key(_raw(r, query.sort), r["name"], r["repo"]),
        decode_cursor(query.after, "after", 3),
        decode_cursor(query.before, "before", 3),
        key,
        query.desc,
        query.limit,
    )

    def cursor(r: Json) -> str:
        return encode_cursor([_raw(r, query.sort), r["name"], r["repo"]])

    return {
        "models": [{k: v for k, v in r.items() if not k.startswith("_")} for r in page],
        "total": len(rows),
        "stages": stages,
        "repos": [{"id": s.id, "location": s.location} for s in catalog.sources.values()],
        "choices": {
            "types": sorted(types),
            "frameworks": sorted(frameworks),
            "labels": sorted(labels),
        },
        "next": query.link(after=cursor(next_row)) if next_row else None,
        "prev": query.link(before=cursor(prev_row)) if prev_row else None,
        "stamp": catalog.stamp(),
    }


def _page(
    rows: list[Any],
    key_of: Callable[[Any], tuple[Any, ...]],
    after: list[Any] | None,
    before: list[Any] | None,
    key: Callable[..., tuple[Any, ...]],
    desc: bool,
    limit: int,
) -> tuple[list[Any], Any, Any]:
    """One page of sorted ``rows`` and the rows to put the previous/next cursors on."""

    def past(k: tuple[Any, ...], cursor: tuple[Any, ...]) -> bool:
        return k < cursor if desc else k > cursor

    try:
        if after is not None:
            ck = key(*after)
            start = next((i for i, r in enumerate(rows) if past(key_of(r), ck)), len(rows))
        elif before is not None:
            ck = key(*before)
            end = next((i for i, r in enumerate(rows) if not past(ck, key_of(r))), len(rows))
            start = max(0, end - limit)
            rows_ = rows[start:end]
            return rows_, rows[start] if start > 0 else None, rows[end] if end < len(rows) else None
        else:
            start = 0
    except TypeError:
        raise InvalidInput(
            "the page cursor does not fit this sort: start from the first page"
        ) from None
    chosen = rows[start : start + limit]
    end = start + len(chosen)
    prev_row = chosen[0] if start > 0 and chosen else None
    next_row = chosen[-1] if end < len(rows) else None
    return chosen, prev_row, next_row


# -- the model page --------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelQuery:
    repo: str | None = None
    version: str | None = None
    vlimit: int = 20
    vafter: str | None = None
    kind: str | None = None
    hstage: str | None = None
    hq: str | None = None
    hlimit: int = 50
    hafter: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ModelQuery:
        version = _text(params, "version")
        kind = _text(params, "kind")
        if kind is not None and kind not in KINDS:
            raise InvalidInput(
                f"kind must be one of {', '.join(KINDS)}, not {one_line(kind, 40)!r}"
            )
        return cls(
            repo=_text(params, "repo"),
            version=check_version_text(version) if version else None,
            vlimit=_int(params, "vlimit", 20, 1, MAX_LIMIT),
            vafter=_text(params, "vafter"),
            kind=kind,
            hstage=_name_filter(params, "hstage"),
            hq=_text(params, "hq"),
            hlimit=_int(params, "hlimit", 50, 1, MAX_LIMIT),
            hafter=_text(params, "hafter"),
        )

    def link(self, name: str, **changes: Any) -> str:
        q = replace(self, **changes)
        defaults = ModelQuery()
        pairs = [
            (k, str(getattr(q, k)))
            for k in (
                "repo",
                "version",
                "vlimit",
                "vafter",
                "kind",
                "hstage",
                "hq",
                "hlimit",
                "hafter",
            )
            if getattr(q, k) is not None and getattr(q, k) != getattr(defaults, k)
        ]
        return f"/models/{name}" + ("?" + urlencode(pairs) if pairs else "")


def _history(view: View, art: ArtifactState, q: ModelQuery) -> tuple[list[Json], Json | None]:
    """The artifact's events, newest first, filtered, one keyset page."""
    events: list[Event] = art.all_events[::-1]
    if q.kind:
        events = [e for e in events if e.kind.label == q.kind]
    if q.hstage:
        events = [e for e in events if e.name.stage == q.hstage]
    if q.hq:
        needle = q.hq.lower()
        events = [
            e
            for e in events
            if needle in f"{e.author} {e.author_email} {e.message} {e.tag} {e.commit}".lower()
        ]
    after = decode_cursor(q.hafter, "hafter", 4)
    start = 0
    if after is not None:
        try:
            ck = (int(after[0]), int(after[1]), int(after[2]), str(after[3]))
        except (TypeError, ValueError):
            raise InvalidInput("hafter is not a page cursor from this UI") from None
        start = next((i for i, e in enumerate(events) if (*e.order, e.tag) < ck), len(events))
    chosen = events[start : start + q.hlimit]
    index = view.index()
    entries = [gto_json.history_entry(e, index.get(e.tag)) for e in chosen]
    more = start + len(chosen) < len(events)
    nxt = None
    if more and chosen:
        last = chosen[-1]
        nxt = {"hafter": encode_cursor([*last.order, last.tag])}
    return entries, nxt


def _version_page(
    view: View, name: str, q: ModelQuery
) -> tuple[list[tuple[VersionState, list[StageState]]], int, str | None]:
    listed = view.versions(name)
    start = 0
    if q.vafter:
        position = next((i for i, (v, _) in enumerate(listed) if v.version == q.vafter), None)
        if position is None:
            raise InvalidInput(f"vafter: no version {one_line(q.vafter, 60)!r} is listed")
        start = position + 1
    chosen = listed[start : start + q.vlimit]
    more = start + len(chosen) < len(listed)
    return chosen, len(listed), chosen[-1][0].version if more and chosen else None


def _version_docs(
    view: View, name: str, chosen: list[tuple[VersionState, list[StageState]]]
) -> list[Json]:
    """``show NAME --json`` entries of ``chosen``: kept per snapshot; the missing ones' commits
    read in one git call."""
    from .. import annotations as ann

    missing = [(v, s) for v, s in chosen if (name, v.version) not in view.docs]
    if missing:
        repo = view.source.registry.repo
        commits = repo.commits(v.commit for v, _ in missing)
        legacy = ann.read_many(repo, sorted({v.commit for v, _ in missing}))
        for v, s in missing:
            found = legacy.get(v.commit, {}).get(name)
            view.docs[(name, v.version)] = gto_json.version_dict(v, s, commits.get(v.commit), found)
    return [view.docs[(name, v.version)] for v, _ in chosen]


def model(catalog: Catalog, name: str, q: ModelQuery, *, fetch: bool = True) -> Json:
    """The model page: versions (paged), the chosen version in full, stages, history."""
    view = catalog.locate(name, q.repo)
    art = view.artifact(name)
    q = replace(q, repo=view.source.id)
    page, total, vnext = _version_page(view, name, q)
    listed = view.versions(name)
    if q.version is not None:
        selected = next(((v, s) for v, s in listed if v.version == q.version), None)
        if selected is None:
            every = art.find_versions(version=q.version)
            if not every:
                raise NotFound(f"model {name!r} has no version {q.version}")
            selected = (every[0], [])
    else:
        selected = listed[0] if listed else None
    docs = _version_docs(view, name, page)
    selected_doc: Json | None = None
    info: Json | None = None
    results: Json = {"metrics": {}, "params": {}, "errors": {}}
    annotation: Json | None = None
    lineage: Json | None = None
    plots: list[Json] = []
    if selected is not None:
        sv = selected[0]
        selected_doc = next((d for d in docs if d["version"] == sv.version), None)
        if selected_doc is None:
            selected_doc = _version_docs(view, name, [selected])[0]
        found = catalog.model_info(view, name, sv, fetch=fetch) if sv.registered else None
        info = {"describe": found.doc, "error": found.error} if found else None
        results = catalog.results(view, name, sv)
        annotation = _annotation_at(view, name, sv.commit)
        lineage = catalog.lineage(view, name, sv) if sv.registered else None
        plots = catalog.plots(view, name, sv) if sv.registered else []
    history, hnext = _history(view, art, q)
    held = view.held(name)
    return {
        "repo": view.source.id,
        "name": name,
        "active": art.active,
        "registered": art.registered,
        "annotation": annotation,
        "stages": {s: [_stage_cell(p) for p in ps] for s, ps in held.items()},
        "known_stages": view.stages,
        "versions": docs,
        "versions_total": total,
        "versions_next": q.link(name, vafter=vnext) if vnext else None,
        "version": selected_doc,
        "model": info,
        "metrics": results["metrics"],
        "params": results["params"],
        "lineage": lineage,
        "plots": plots,
        "history": history,
        "history_next": q.link(name, **hnext) if hnext else None,
        "stamp": catalog.stamp(),
    }


def _annotation_at(view: View, name: str, commit: str) -> Json | None:
    from .. import annotations as ann
    from ..errors import LandmarkError

    try:
        found = ann.read_at(view.source.registry.repo, commit).get(name)
    except LandmarkError:
        found = None
    if found is None:
        found = view.annotations.get(name)
    return found.to_dict() if found else None


# -- use this model --------------------------------------------------------------------------
def snippets(
    name: str, version: str | None, location: str, serve_url: str = "http://127.0.0.1:8080"
) -> Json:
    """How to use ``name@version``: the CLI, Python, and curl against ``landmark serve``."""
    import shlex

    ref = f"{name}@{version}" if version else f"{name}@latest"
    repo = "" if location in (".", "") else f" -r {shlex.quote(location)}"
    py_repo = "" if location in (".", "") else f", repo={location!r}"
    return {
        "cli": f"landmark get {shlex.quote(ref)}{repo}\nlandmark serve {shlex.quote(ref)}{repo}",
        "python": (
            "import landmark\n\n"
            f"model = landmark.load_model({ref!r}{py_repo})\n"
            "predictions = model(data)"
        ),
        "curl": (
            f"curl -s {serve_url}/predict -H 'Content-Type: application/json' \\\n"
            '  -d \'{"inputs": [{"feature": 1.0}]}\''
        ),
    }


def is_registry_ref(ref: str) -> bool:
    """``NAME@v1.2.3``, ``NAME@latest``, ``NAME#STAGE`` (else a commit, branch or ``exp:NAME``,
    which the comparison core resolves)."""
    return ("@" in ref or "#" in ref) and not ref.startswith("exp:")


@dataclass(frozen=True)
class CompareQuery:
    refs: tuple[str, ...] = ()
    repo: str | None = None
    diff_only: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: Mapping[str, str], refs: list[str]) -> CompareQuery:
        chosen = tuple(r.strip() for part in refs for r in part.split(",") if r.strip())
        if len(chosen) > 50:
            raise InvalidInput("compare at most 50 versions at once")
        for ref in chosen:
            if len(ref) > 200 or not ref.isprintable() or " " in ref:
                raise InvalidInput(f"{one_line(ref, 80)!r} is not a version, commit or experiment")
            if is_registry_ref(ref):
                names.parse_shortcut(ref)  # a bad name, version or stage is a 422 here
        return cls(chosen, _text(params, "repo"), params.get("diff_only") in ("1", "on", "true"))

    def link(self, base: str = "/compare", **changes: Any) -> str:
        q = replace(self, **changes)
        pairs = [("refs", ",".join(q.refs))] if q.refs else []
        if q.repo:
            pairs.append(("repo", q.repo))
        if q.diff_only:
            pairs.append(("diff_only", "1"))
        return base + ("?" + urlencode(pairs) if pairs else "")


__all__ = ["COLUMNS", "CompareQuery", "ModelQuery", "TableQuery", "model", "snippets", "table"]
