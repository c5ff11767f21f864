"""Plots as DVC declares them, overlaid across revisions, drawn as static SVG.

Which plots: every ``dvc.yaml`` of a revision (nested ones too) declares them

- in its top-level ``plots:`` list: a path (a data file, an image, or a folder whose every data
  file and image is a plot), or ``{path: {x, y, template, title, x_label, y_label}}``, or
  ``{name: {y: {file: column or [columns]}, x: column or {file: column}, ...}}`` (a plot named
  by ``name``, drawing columns of several files);
- in its stages' ``plots:`` outputs, with the same options (and ``cache``, which changes nothing
  here); paths are relative to the ``dvc.yaml``'s folder and the stage's ``wdir``.

DVCLive's layout (``plots/metrics/*.tsv``, ``plots/custom/*.json``, ``plots/images/*``, as
``log_model`` writes it) is a case of these. A plot is the same plot at every revision declaring
the same key (its repo path, or ``dvc.yaml::name``); its options are those of the first revision
declaring it, its data that of every revision that has it, one colour per revision.

How it is drawn: a Vega-Lite v5 spec of ours per built-in template (linear, simple, scatter,
smooth, confusion, confusion_normalized, bar_horizontal, bar_horizontal_sorted), or a custom
template file (DVC's ``<DVC_METRIC_...>`` anchors filled in), rendered to SVG or PNG by
vl-convert-python (imported when a plot is first drawn).

A repository is untrusted input. Paths leaving it are refused; a data file larger than
:data:`MAX_BYTES` or with more than :data:`MAX_ROWS` rows is not plotted (a note says so); specs
with any ``url`` or ``href`` key, or an image mark, are refused, and vl-convert is given no base
URL it may load from; the SVG vl-convert returns is checked to hold only drawing elements; images
are shown only when their bytes are the type their name says. The HTML report holds no script
and no external reference (its Content-Security-Policy allows none). Problems are notes shown
with the plot, never a crash.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import math
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .errors import InvalidInput, LandmarkError, MissingDependency, one_line
from .results import repo_path

if TYPE_CHECKING:
    from .results import Snapshot

MAX_BYTES = 16 * 1024 * 1024  # a data file or image bigger than this is not plotted
MAX_ROWS = 100_000  # rows of one data file
MAX_PLOT_ROWS = 250_000  # rows of one plot, all revisions together
MAX_PLOTS = 1_000  # plots of one report
MAX_TEMPLATE_BYTES = 1024 * 1024
SPEC_SHOWN_BYTES = 512 * 1024  # a spec shown in the report is cut to about this
WIDTH, HEIGHT = 440, 280
VL_VERSION = "5.21"
VL_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
NEEDS_VL_CONVERT = "landmark plots needs vl-convert-python: pip install 'landmark[plots]'"

DATA_SUFFIXES = (".json", ".yaml", ".yml", ".csv", ".tsv")
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}
TEMPLATES = (
    "linear",
    "simple",
    "scatter",
    "smooth",
    "confusion",
    "confusion_normalized",
    "bar_horizontal",
    "bar_horizontal_sorted",
)
DEFAULT_TEMPLATE = "linear"
TEMPLATE_DIR = ".dvc/plots"
INDEX = "step"  # DVC's name for the x of a plot without one: the row's index

Scalar = str | int | float | bool | None
Row = dict[str, Scalar]


class Image(NamedTuple):
    """An image plot at one revision: its bytes (checked to be of their type) and suffix."""

    data: bytes
    suffix: str

    @property
    def mime(self) -> str:
        return IMAGE_TYPES[self.suffix]

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode()}"


@dataclass(eq=False)
class Plot:
    """One plot across revisions.

    ``id`` is stable and safe as a file name; ``key`` is DVC's name for it (a repo path, or
    ``dvc.yaml::name``); ``vega_lite`` is the spec with its data inlined (None for an image plot
    or a plot that could not be built: ``notes`` say why); ``images`` maps a revision's label to
    its image; ``revisions`` are the labels that have the plot, ``absent`` those that do not.
    """

    id: str
    key: str
    title: str
    template: str
    vega_lite: dict[str, Any] | None = None
    images: dict[str, Image] = field(default_factory=dict)
    revisions: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    _svg: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def kind(self) -> Literal["vega", "image", "notes"]:
        if self.vega_lite is not None:
            return "vega"
        return "image" if self.images else "notes"


# -- which plots ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One series of a plot: a column of a file, against a column of the same or another file
    (``x`` None: DVC's ``step`` when the file has one, else the row index)."""

    file: str
    y: str | None  # None: the last column
    x_file: str | None = None
    x: str | None = None


@dataclass
class _Def:
    key: str
    dvc_file: str
    rank: int  # lower wins when two definitions of one revision name the same key
    props: dict[str, Any]
    sources: list[_Source]
    image: bool = False
    missing: bool = False  # the path is not at this revision


_PROPS = ("template", "title", "x_label", "y_label")


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:limit] or "plot"


def plot_id(key: str) -> str:
    """A stable file-name-safe id for a plot key."""
    return f"{_slug(key)}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def _suffix(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


class _Problems:
    """Definition problems of one dvc.yaml, each with the revisions where it was seen."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, list[str]]] = {}

    def add(self, dvc_file: str, label: str, text: str) -> None:
        labels = self.seen.setdefault(dvc_file, {}).setdefault(one_line(text, 300), [])
        if label not in labels:
            labels.append(label)


def _props(raw: Any, where: str) -> dict[str, Any]:
    """A definition's options, checked; InvalidInput naming what is wrong."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{where}: the options must be a mapping, not {type(raw).__name__}")
    props: dict[str, Any] = {}
    for name in _PROPS:
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            raise InvalidInput(f"{where}: '{name}' must be a string")
        props[name] = str(value)
    x = raw.get("x")
    if x is not None:
        if isinstance(x, Mapping):
            if not x or not all(isinstance(v, str) for v in x.values()):
                raise InvalidInput(f"{where}: 'x' as a mapping must be {{file: column}}")
            props["x"] = {str(k): v for k, v in x.items()}
        elif isinstance(x, (str, int, float)) and not isinstance(x, bool):
            props["x"] = str(x)
        else:
            raise InvalidInput(f"{where}: 'x' must be a column or {{file: column}}")
    y = raw.get("y")
    if y is not None:
        props["y"] = _y_prop(y, where)
    return props


def _columns(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidInput(f"{where}: 'y' must name a column or a list of columns")


def _y_prop(y: Any, where: str) -> Any:
    if isinstance(y, Mapping):
        if not y:
            raise InvalidInput(f"{where}: 'y' is an empty mapping")
        return {str(k): _columns(v, where) for k, v in y.items()}
    return _columns(y, where)


def _x_for(props: Mapping[str, Any], dvc_file: str, wdir: str | None, n: int) -> list[Any]:
    """The (x file, x column) of each of ``n`` series; (None, column or None) for the series' own
    file."""
    x = props.get("x")
    if not isinstance(x, dict):
        return [(None, x)] * n
    pairs = []
    for rel, column in x.items():
        path = repo_path(dvc_file, rel, wdir)
        if path is None:
            raise InvalidInput(f"the x file {one_line(rel)!r} leaves the repository: refused")
        pairs.append((path, column))
    if len(pairs) == 1:
        return pairs * n
    if len(pairs) != n:
        raise InvalidInput(
            f"{len(pairs)} x files for {n} y series: give one x, or one per y series"
        )
    return pairs


def _definitions(snap: Snapshot, problems: _Problems) -> dict[str, _Def]:
    """Every plot one revision declares, by key."""
    found: dict[str, _Def] = {}

    def keep(d: _Def) -> None:
        have = found.get(d.key)
        if have is None or d.rank < have.rank:
            found[d.key] = d

    errors = getattr(snap, "errors", None) or {}
    for path, text in errors.items():
        if posixpath.basename(path) == "dvc.yaml":
            problems.add(path, snap.label, f"not read: {text}")
    for dvc_file in sorted(snap.dvc_files):
        doc = snap.dvc_files[dvc_file]

        def problem(text: str, dvc_file: str = dvc_file) -> None:
            problems.add(dvc_file, snap.label, text)

        if not isinstance(doc, Mapping):
            if doc is not None:
                problem("not a mapping at the top: no plots read")
            continue
        top = doc.get("plots")
        if top is not None:
            if isinstance(top, list):
                for item in top:
                    _item(snap, dvc_file, None, item, 0, keep, problem)
            else:
                problem("'plots' must be a list")
        stages = doc.get("stages")
        if not isinstance(stages, Mapping):
            continue
        for name, body in stages.items():
            if not isinstance(body, Mapping) or body.get("plots") is None:
                continue
            wdir = body.get("wdir")
            if wdir is not None and not isinstance(wdir, str):
                problem(f"stage {one_line(name)!r}: 'wdir' must be a path")
                continue
            items = body["plots"]
            if not isinstance(items, list):
                problem(f"stage {one_line(name)!r}: 'plots' must be a list")
                continue
            for item in items:
                _item(snap, dvc_file, wdir, item, 2, keep, problem)
    return found


def _item(
    snap: Snapshot,
    dvc_file: str,
    wdir: str | None,
    item: Any,
    rank: int,
    keep: Callable[[_Def], None],
    problem: Callable[[str], None],
) -> None:
    """One entry of a ``plots:`` list (top-level when ``wdir`` is None and rank 0, a stage's
    outputs otherwise)."""
    if isinstance(item, str):
        entries: list[tuple[str, Any]] = [(item, None)]
    elif isinstance(item, Mapping):
        entries = [(str(k), v) for k, v in item.items()]
    else:
        problem(f"a plots entry must be a path or a mapping, not {type(item).__name__}")
        return
    for name, raw in entries:
        where = f"plot {one_line(name, 80)!r}"
        if "${" in name:
            problem(f"{where}: a templated path (${{...}}) is not expanded: skipped")
            continue
        try:
            props = _props(raw, where)
            y = props.get("y")
            if isinstance(y, dict):
                if rank != 0:
                    raise InvalidInput(f"{where}: a stage's plot names its file, not files in 'y'")
                _named(dvc_file, name, props, keep)
            else:
                _by_path(snap, dvc_file, wdir, name, props, rank, keep)
        except InvalidInput as e:
            problem(e.message if e.message.startswith("plot ") else f"{where}: {e.message}")


def _named(dvc_file: str, name: str, props: dict[str, Any], keep: Callable[[_Def], None]) -> None:
    """``{name: {y: {file: columns}}}``: a plot of columns of several files."""
    series: list[tuple[str, str]] = []
    for rel, columns in props["y"].items():
        path = repo_path(dvc_file, rel)
        if path is None:
            raise InvalidInput(f"the y file {one_line(rel)!r} leaves the repository: refused")
        series += [(path, c) for c in columns]
    xs = _x_for(props, dvc_file, None, len(series))
    sources = [_Source(f, c, xf, xc) for (f, c), (xf, xc) in zip(series, xs, strict=True)]
    keep(_Def(f"{dvc_file}::{name}", dvc_file, 0, props, sources))


def _by_path(
    snap: Snapshot,
    dvc_file: str,
    wdir: str | None,
    rel: str,
    props: dict[str, Any],
    rank: int,
    keep: Callable[[_Def], None],
) -> None:
    """A file or a folder of plots."""
    path = repo_path(dvc_file, rel, wdir)
    if path is None:
        raise InvalidInput(f"plot {one_line(rel, 80)!r}: the path leaves the repository: refused")
    listed = snap.files_under(path)
    if not listed:
        image = _suffix(path) in IMAGE_TYPES
        keep(_Def(path, dvc_file, rank, props, [], image=image, missing=True))
        return
    if path in listed:
        files, folder = [path], False
    else:
        files, folder = (
            [f for f in listed if _suffix(f) in DATA_SUFFIXES + tuple(IMAGE_TYPES)],
            True,
        )
    columns = props.get("y")
    for file in files:
        if _suffix(file) in IMAGE_TYPES:
            keep(_Def(file, dvc_file, rank + folder, props, [], image=True))
            continue
        ys: list[str | None] = list(columns) if isinstance(columns, list) else [None]
        xs = _x_for(props, dvc_file, wdir, len(ys))
        sources = [_Source(file, y, xf, xc) for y, (xf, xc) in zip(ys, xs, strict=True)]
        keep(_Def(file, dvc_file, rank + folder, props, sources))


# -- reading data --------------------------------------------------------------------------


def _cell(value: Any) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return None  # nested values are not plotted


_INT = re.compile(r"[-+]?\d{1,18}")


def _text_cell(text: str) -> Scalar:
    """A CSV cell: a number when it reads as one."""
    text = text.strip()
    if not text:
        return None
    if _INT.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else None


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{max(1, round(n / 1024))} KiB"


def _parse(data: bytes, path: str) -> list[Row]:
    """The rows of a data file; InvalidInput saying what is wrong with it."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{_size(len(data))}, more than {_size(MAX_BYTES)}: not plotted")
    suffix = _suffix(path)
    if suffix in (".csv", ".tsv"):
        return _parse_table(data, "\t" if suffix == ".tsv" else ",")
    if suffix not in DATA_SUFFIXES:
        raise InvalidInput(
            f"not a data file ({', '.join(DATA_SUFFIXES)}) nor an image: not plotted"
        )
    doc: Any
    if suffix == ".json":
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise InvalidInput(f"invalid JSON ({one_line(e, 120)})") from None
    else:
        from . import yamlio

        try:
            doc = yamlio.load(data, path)
        except LandmarkError as e:
            raise InvalidInput(f"invalid YAML ({one_line(e.message, 160)})") from None
        except RecursionError:
            raise InvalidInput("invalid YAML (nested too deeply)") from None
    if isinstance(doc, Mapping):
        lists = [v for v in doc.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise InvalidInput("expected a list of rows, or a mapping holding one list of rows")
        doc = lists[0]
    if not isinstance(doc, list):
        raise InvalidInput("expected a list of rows, or a mapping holding one list of rows")
    if len(doc) > MAX_ROWS:
        raise InvalidInput(f"{len(doc)} rows, more than {MAX_ROWS}: not plotted")
    rows: list[Row] = []
    for i, item in enumerate(doc):
        if not isinstance(item, Mapping):
            raise InvalidInput(f"row {i + 1} is not a mapping of columns")
        rows.append({str(k): _cell(v) for k, v in item.items()})
    return rows


def _parse_table(data: bytes, delimiter: str) -> list[Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header:
            return []
        names = [h.strip() for h in header]
        rows: list[Row] = []
        for cells in reader:
            if not cells:
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"more than {MAX_ROWS} rows: not plotted")
            rows.append({n: _text_cell(c) for n, c in zip(names, cells, strict=False)})
    except csv.Error as e:
        raise InvalidInput(f"invalid CSV ({one_line(e, 120)})") from None
    return rows


_SVG_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.S
)


def _check_image(data: bytes, suffix: str) -> None:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{_size(len(data))}, more than {_size(MAX_BYTES)}: not shown")
    ok = {
        ".png": data.startswith(b"\x89PNG\r\n\x1a\n"),
        ".jpg": data.startswith(b"\xff\xd8\xff"),
        ".jpeg": data.startswith(b"\xff\xd8\xff"),
        ".gif": data.startswith((b"GIF87a", b"GIF89a")),
        ".svg": _SVG_START.match(data[:4096]) is not None,
    }[suffix]
    if not ok:
        kind = {".svg": "an SVG", ".gif": "a GIF", ".png": "a PNG"}.get(suffix, "a JPEG")
        raise InvalidInput(f"not {kind} image: not shown")


class _Reader:
    """Parsed files, each parsed once however many revisions hold the same content."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, ...], list[Row] | InvalidInput | None] = {}

    def rows(self, snap: Snapshot, path: str) -> list[Row] | None:
        """The rows of ``path`` at ``snap``; None when absent; InvalidInput when unusable."""
        key_of = getattr(snap, "key", None)
        content = key_of(path) if callable(key_of) else None
        cache_key = ("blob", path, content) if content else ("rev", id(snap), path)
        if cache_key not in self._cache:
            data = snap.read(path)
            if data is None:
                why = (getattr(snap, "errors", None) or {}).get(path)
                value: list[Row] | InvalidInput | None = InvalidInput(why) if why else None
            else:
                try:
                    value = _parse(data, path)
                except InvalidInput as e:
                    value = e
            self._cache[cache_key] = value
        found = self._cache[cache_key]
        if isinstance(found, InvalidInput):
            raise found
        return found


# -- collecting across revisions -----------------------------------------------------------


def collect(snapshots: Sequence[Snapshot]) -> list[Plot]:
    """Every plot declared at any of the revisions, each with the data of every revision that
    has it (see the module). Problems are notes on the plots; definition problems of a
    ``dvc.yaml`` are a plot of notes only, first."""
    labels = [s.label for s in snapshots]
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        raise InvalidInput(f"revision {dup!r} is given twice: each column needs its own label")
    problems = _Problems()
    per_rev = [_definitions(s, problems) for s in snapshots]
    keys = list(dict.fromkeys(k for defs in per_rev for k in defs))
    plots: list[Plot] = []
    for dvc_file, seen in problems.seen.items():
        notes = [f"{text} (at {', '.join(where)})" for text, where in seen.items()]
        key = f"{dvc_file}::problems"
        plots.append(Plot(plot_id(key), key, f"Plot definitions in {dvc_file}", "", notes=notes))
    if len(keys) > MAX_PLOTS:
        key = "report::problems"
        note = f"{len(keys)} plots declared; the first {MAX_PLOTS} are shown"
        plots.append(Plot(plot_id(key), key, "Too many plots", "", notes=[note]))
        keys = keys[:MAX_PLOTS]
    reader = _Reader()
    for key in keys:
        at = [
            (s, defs[key])
            for s, defs in zip(snapshots, per_rev, strict=True)
            if key in defs and not defs[key].missing
        ]
        if not at:
            # Declared, found at no revision: a folder absent somewhere is no plot of its own.
            if not any(k.startswith(f"{key}/") for k in keys):
                note = "not found at any of the revisions"
                plots.append(Plot(plot_id(key), key, key, "", absent=tuple(labels), notes=[note]))
            continue
        plots.append(_build(key, at, labels, reader))
    return plots


def _build(key: str, at: list[tuple[Snapshot, _Def]], labels: list[str], reader: _Reader) -> Plot:
    first = at[0][1]
    props = first.props
    template = props.get("template") or DEFAULT_TEMPLATE
    plot = Plot(plot_id(key), key, props.get("title") or key, template)
    have: list[str] = []
    if first.image:
        plot.template = "image"
        for snap, d in at:
            if not d.image:
                continue
            try:
                data = snap.read(d.key)
                if data is None:
                    why = (getattr(snap, "errors", None) or {}).get(d.key)
                    if why:
                        plot.notes.append(f"{snap.label}: {why}")
                    continue
                _check_image(data, _suffix(d.key))
            except InvalidInput as e:
                plot.notes.append(f"{snap.label}: {d.key}: {e.message}")
                continue
            plot.images[snap.label] = Image(data, _suffix(d.key))
            have.append(snap.label)
    else:
        series = _series(plot, at, reader)
        have = list(dict.fromkeys(s.rev for s in series))
        if series:
            try:
                plot.vega_lite = _spec(plot, props, series, at, labels)
            except InvalidInput as e:
                plot.notes.append(e.message)
    plot.revisions = tuple(have)
    plot.absent = tuple(x for x in labels if x not in have)
    return plot


@dataclass
class _Series:
    """One drawn series: a revision's column of a file, its x and y values."""

    rev: str
    file: str
    field: str
    x_field: str  # INDEX when the row index
    rows: list[Row]  # the source file's rows
    xs: list[Scalar]
    ys: list[Scalar]


def _series(plot: Plot, at: list[tuple[Snapshot, _Def]], reader: _Reader) -> list[_Series]:
    found: list[_Series] = []
    total = 0
    for snap, d in at:
        if d.image:
            plot.notes.append(f"{snap.label}: {d.key} is an image here, data elsewhere: skipped")
            continue
        for src in d.sources:
            try:
                rows = reader.rows(snap, src.file)
                if rows is None:
                    continue
                one = _one_series(snap, src, rows, reader)
            except InvalidInput as e:
                plot.notes.append(f"{snap.label}: {src.file}: {e.message}")
                continue
            if one is None:
                continue
            if total + len(one.ys) > MAX_PLOT_ROWS:
                plot.notes.append(
                    f"{snap.label}: {src.file}: the plot would hold more than {MAX_PLOT_ROWS}"
                    " points: not drawn"
                )
                continue
            total += len(one.ys)
            found.append(one)
    return found


def _one_series(snap: Snapshot, src: _Source, rows: list[Row], reader: _Reader) -> _Series | None:
    if not rows:
        raise InvalidInput("no rows")
    columns = list(dict.fromkeys(c for r in rows[:1000] for c in r))
    x_col = src.x
    if x_col is None and src.x_file is None:
        x_col = INDEX if INDEX in columns else None
    y_col = src.y
    if y_col is None:
        candidates = [c for c in rows[0] if c != x_col and c != INDEX]
        if not candidates:
            raise InvalidInput("no column to plot")
        y_col = candidates[-1]
    if not any(y_col in r for r in rows):
        raise InvalidInput(f"no column {y_col!r} (columns: {_names(columns)})")
    ys = [r.get(y_col) for r in rows]
    if src.x_file is not None and src.x_file != src.file:
        x_rows = reader.rows(snap, src.x_file)
        if x_rows is None:
            raise InvalidInput(f"the x file {src.x_file} is absent")
        if len(x_rows) != len(rows):
            raise InvalidInput(
                f"{len(rows)} rows but {len(x_rows)} in the x file {src.x_file}: cannot pair them"
            )
    else:
        x_rows = rows
    if x_col is None:
        xs: list[Scalar] = list(range(len(rows)))
        x_field = INDEX
    else:
        if not any(x_col in r for r in x_rows):
            have = list(dict.fromkeys(c for r in x_rows[:1000] for c in r))
            raise InvalidInput(f"no column {x_col!r} for x (columns: {_names(have)})")
        xs = [r.get(x_col) for r in x_rows]
        x_field = x_col
    return _Series(snap.label, src.file, y_col, x_field, rows, xs, ys)


def _names(columns: Iterable[str]) -> str:
    return one_line(", ".join(columns) or "none", 120)


# -- specs ---------------------------------------------------------------------------------


def _number(v: Scalar) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?")


def _kind(values: Iterable[Scalar]) -> str:
    """Vega-Lite's type for a column: numbers, dates, or names."""
    present = [v for v in values if v is not None]
    if present and all(_number(v) for v in present):
        return "quantitative"
    if present and all(isinstance(v, str) and _DATE.fullmatch(v) for v in present):
        return "temporal"
    return "ordinal"


def _short_files(files: list[str]) -> dict[str, str]:
    """Files named without their common folder, as DVC's legends do."""
    distinct = list(dict.fromkeys(files))
    if len(distinct) < 2:
        return {f: f for f in distinct}
    common = posixpath.commonpath(distinct)
    return {f: f[len(common) :].strip("/") or f for f in distinct}


def _spec(
    plot: Plot,
    props: Mapping[str, Any],
    series: list[_Series],
    at: list[tuple[Snapshot, _Def]],
    labels: list[str],
) -> dict[str, Any]:
    short = _short_files([s.file for s in series])
    many_files = len(short) > 1
    many_fields = len({s.field for s in series}) > 1
    fields = list(dict.fromkeys(s.field for s in series))
    x_fields = list(dict.fromkeys(s.x_field for s in series))
    x_label = props.get("x_label") or (x_fields[0] if len(x_fields) == 1 else "x")
    y_label = props.get("y_label") or (fields[0] if len(fields) == 1 else "y")
    template = plot.template
    if template not in TEMPLATES:
        custom = _custom(plot, template, series, at, short, x_label, y_label)
        if custom is not None:
            return custom
        template = plot.template = DEFAULT_TEMPLATE

    def name(s: _Series) -> str:
        parts = [s.rev]
        if many_files:
            parts.append(short[s.file])
        if many_fields:
            parts.append(s.field)
        return " · ".join(parts)

    rows: list[Row] = []
    order: list[str] = []
    for s in series:
        label = name(s)
        order.append(label)
        rows += [
            {"rev": s.rev, "file": short[s.file], "field": s.field, "series": label, "x": x, "y": y}
            for x, y in zip(s.xs, s.ys, strict=True)
        ]
    order = list(dict.fromkeys(order))
    x_type = _kind(r["x"] for r in rows)
    y_type = _kind(r["y"] for r in rows)
    base: dict[str, Any] = {
        "$schema": VL_SCHEMA,
        "title": {"text": plot.title, "anchor": "start"},
        "data": {"values": rows},
    }
    color = {
        "field": "series",
        "type": "nominal",
        "title": "revision",
        "sort": order,
        "scale": {"scheme": "category10" if len(order) <= 10 else "tableau20"},
        "legend": {"symbolOpacity": 1},
    }
    revs = [x for x in labels if x in {s.rev for s in series}]
    if template.startswith("confusion"):
        return base | _confusion(template, x_label, y_label, revs, many_files or many_fields)
    if template.startswith("bar_horizontal"):
        if y_type == "quantitative" and x_type != "quantitative":
            plot.notes.append("x holds names and y numbers: bars want x numbers, y names")
        return base | _bars(template, x_label, y_label, color, order)
    if y_type != "quantitative":
        raise InvalidInput(f"{y_label!r} holds no numbers: nothing to draw with {template}")
    x_enc: dict[str, Any] = {"field": "x", "type": x_type, "title": x_label}
    if x_type == "quantitative" and all(isinstance(r["x"], int) for r in rows):
        x_enc["axis"] = {"tickMinStep": 1}  # steps: no ticks between them
    y_enc = {"field": "y", "type": "quantitative", "title": y_label, "scale": {"zero": False}}
    size = {"width": WIDTH, "height": HEIGHT}
    if template == "scatter":
        return (
            base
            | size
            | {
                "mark": {"type": "point", "filled": True, "size": 30, "opacity": 0.8},
                "encoding": {"x": x_enc, "y": y_enc, "color": color},
            }
        )
    if template == "smooth" and x_type == "quantitative":
        return (
            base
            | size
            | {
                "encoding": {"x": x_enc, "color": color},
                "layer": [
                    {"mark": {"type": "line", "opacity": 0.25}, "encoding": {"y": y_enc}},
                    {
                        "transform": [
                            {"loess": "y", "on": "x", "groupby": ["series"], "bandwidth": 0.3}
                        ],
                        "mark": {"type": "line", "strokeWidth": 2},
                        "encoding": {"y": y_enc},
                    },
                ],
            }
        )
    if template == "smooth":
        plot.notes.append("x holds no numbers: drawn without smoothing")
    few = max(len(s.ys) for s in series) <= 60
    mark: dict[str, Any] = {"type": "line", "strokeWidth": 2 if template != "simple" else 1.5}
    if template == "linear" and few:
        mark["point"] = {"filled": True, "size": 24}
    return base | size | {"mark": mark, "encoding": {"x": x_enc, "y": y_enc, "color": color}}


def _confusion(
    template: str, x_label: str, y_label: str, revs: list[str], by_source: bool
) -> dict[str, Any]:
    """Counts of (x, y) pairs, one matrix per revision (and per file/column when several)."""
    group = ["rev", "file", "field"]
    transform: list[dict[str, Any]] = [
        {"filter": "isValid(datum.x) && isValid(datum.y)"},
        {"aggregate": [{"op": "count", "as": "count"}], "groupby": [*group, "x", "y"]},
    ]
    if template == "confusion_normalized":
        # As DVC does: each value of y sums to 1.
        transform += [
            {
                "joinaggregate": [{"op": "sum", "field": "count", "as": "total"}],
                "groupby": [*group, "y"],
            },
            {"calculate": "datum.count / datum.total", "as": "value"},
        ]
        scale: dict[str, Any] = {"domain": [0, 1], "scheme": "blues"}
        text: dict[str, Any] = {"field": "value", "type": "quantitative", "format": ".2f"}
        contrast = "datum.value > 0.5"
    else:
        transform += [
            {"joinaggregate": [{"op": "max", "field": "count", "as": "most"}], "groupby": group},
            {"calculate": "datum.count", "as": "value"},
        ]
        scale = {"domainMin": 0, "scheme": "blues"}
        text = {"field": "count", "type": "quantitative"}
        contrast = "datum.count > datum.most / 2"
    facet: dict[str, Any] = {"column": {"field": "rev", "sort": revs, "title": None}}
    if by_source:
        facet["row"] = {"field": "series_source", "title": None}
        transform.insert(
            0, {"calculate": "datum.file + ' · ' + datum.field", "as": "series_source"}
        )
        for t in transform:
            if "groupby" in t:
                t["groupby"] = [*t["groupby"], "series_source"]
    side = min(WIDTH, HEIGHT)
    return {
        "transform": transform,
        "facet": facet,
        "spec": {
            "width": side,
            "height": side,
            "encoding": {
                "x": {"field": "x", "type": "nominal", "sort": "ascending", "title": x_label},
                "y": {"field": "y", "type": "nominal", "sort": "ascending", "title": y_label},
            },
            "layer": [
                {
                    "mark": "rect",
                    "encoding": {
                        "color": {
                            "field": "value",
                            "type": "quantitative",
                            "title": None,
                            "scale": scale,
                        }
                    },
                },
                {
                    "mark": {"type": "text", "fontSize": 11},
                    "encoding": {
                        "text": text,
                        "color": {
                            "condition": {"test": contrast, "value": "white"},
                            "value": "black",
                        },
                    },
                },
            ],
        },
        "resolve": {"scale": {"color": "independent"}} if template == "confusion" else {},
    }


def _bars(
    template: str, x_label: str, y_label: str, color: dict[str, Any], order: list[str]
) -> dict[str, Any]:
    y: dict[str, Any] = {"field": "y", "type": "nominal", "title": y_label}
    if template == "bar_horizontal_sorted":
        y["sort"] = "-x"
    return {
        "width": WIDTH,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "x",
                "type": "quantitative",
                "title": x_label,
                "aggregate": "mean",
                "scale": {"zero": True},
            },
            "y": y,
            "yOffset": {"field": "series", "sort": order},
            "color": color,
        },
    }


# -- custom templates ----------------------------------------------------------------------


_ANCHOR = re.compile(r"<DVC_METRIC_[A-Z_]+>")


def _escape_field(name: str) -> str:
    """A column name as Vega-Lite's field: dots and brackets would read as nesting."""
    return re.sub(r"([.\[\]\\])", r"\\\1", name)


def _custom(
    plot: Plot,
    template: str,
    series: list[_Series],
    at: list[tuple[Snapshot, _Def]],
    short: dict[str, str],
    x_label: str,
    y_label: str,
) -> dict[str, Any] | None:
    """A spec from a template file of the first revision having the plot; None (with a note)
    when there is no such file."""
    snap, d = at[0]
    found = _template_file(snap, d.dvc_file, template)
    if found is None:
        plot.notes.append(f"template {one_line(template, 80)!r} not found: drawn as linear")
        return None
    path, data = found
    if len(data) > MAX_TEMPLATE_BYTES:
        raise InvalidInput(f"template {path}: larger than {MAX_TEMPLATE_BYTES >> 10} KiB")
    try:
        content = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise InvalidInput(f"template {path}: invalid JSON ({one_line(e, 120)})") from None
    if not isinstance(content, dict):
        raise InvalidInput(f"template {path}: not a JSON object")
    _check_spec(content, f"template {path}")
    plot.template = path
    # Rows as DVC gives them to templates: the file's columns, plus rev, filename and field;
    # one y (and x) column name for every series when they differ.
    fields = {s.field for s in series}
    x_fields = {s.x_field for s in series}
    y_name = next(iter(fields)) if len(fields) == 1 else "dvc_inferred_y_value"
    x_name = next(iter(x_fields)) if len(x_fields) == 1 else "dvc_inferred_x_value"
    rows: list[Row] = []
    for s in series:
        for row, x, y in zip(s.rows, s.xs, s.ys, strict=True):
            rows.append(
                {
                    **row,
                    x_name: x,
                    y_name: y,
                    "rev": s.rev,
                    "filename": short[s.file],
                    "field": s.field,
                }
            )
    values: dict[str, Any] = {
        "DATA": rows,
        "X": _escape_field(x_name),
        "Y": _escape_field(y_name),
        "TITLE": plot.title,
        "X_LABEL": x_label,
        "Y_LABEL": y_label,
        "PLOT_WIDTH": WIDTH,
        "PLOT_HEIGHT": HEIGHT,
        "COLOR": {"field": "rev", "type": "nominal", "title": "revision"},
    }
    spec = _fill(content, values)
    if not isinstance(spec, dict):
        raise InvalidInput(f"template {path}: not a JSON object")
    return spec


def _template_file(snap: Snapshot, dvc_file: str, name: str) -> tuple[str, bytes] | None:
    """Where DVC looks: ``.dvc/plots/NAME[.json]``, then NAME as a path from the root, then
    from the dvc.yaml's folder."""
    tried: list[str | None] = [
        repo_path(".dvc/dvc.yaml", f"plots/{name}"),
        repo_path(".dvc/dvc.yaml", f"plots/{name}.json"),
        repo_path("dvc.yaml", name),
        repo_path(dvc_file, name),
    ]
    for path in dict.fromkeys(p for p in tried if p is not None):
        data = snap.read(path)
        if data is not None:
            return path, data
    return None


_DROP = object()


def _fill(node: Any, values: Mapping[str, Any]) -> Any:
    """``node`` with its anchors replaced: a string that is one anchor becomes its value (an
    anchor we have no value for drops its key or list item); one inside a longer string is
    replaced by text."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            filled = _fill(v, values)
            if filled is not _DROP:
                out[k] = filled
        return out
    if isinstance(node, list):
        return [f for f in (_fill(v, values) for v in node) if f is not _DROP]
    if isinstance(node, str) and "<DVC_METRIC_" in node:
        whole = _ANCHOR.fullmatch(node)
        if whole is not None:
            name = node[len("<DVC_METRIC_") : -1]
            return values.get(name, _DROP)

        def text(m: re.Match[str]) -> str:
            value = values.get(m.group(0)[len("<DVC_METRIC_") : -1])
            return value if isinstance(value, str) else ""

        return _ANCHOR.sub(text, node)
    return node


def _check_spec(spec: Any, what: str) -> None:
    """Refuse anything that would make the renderer load or link to something: a ``url`` or
    ``href`` anywhere, an image mark, a Vega (not Vega-Lite) spec."""
    schema = spec.get("$schema") if isinstance(spec, dict) else None
    if isinstance(schema, str) and "vega-lite" not in schema and "vega" in schema:
        raise InvalidInput(f"{what}: a Vega spec is refused: only Vega-Lite templates are drawn")
    stack: list[tuple[Any, int]] = [(spec, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > 64:
            raise InvalidInput(f"{what}: nested too deeply")
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("url", "href"):
                    raise InvalidInput(
                        f"{what}: a {k!r} (data or images from elsewhere) is refused: the spec "
                        "must hold its data"
                    )
                if k in ("mark", "type") and (
                    v == "image" or (isinstance(v, dict) and v.get("type") == "image")
                ):
                    raise InvalidInput(f"{what}: image marks are refused")
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node]


# -- drawing -------------------------------------------------------------------------------


def _vl() -> Any:
    try:
        import vl_convert
    except ImportError:
        raise MissingDependency(NEEDS_VL_CONVERT) from None
    return vl_convert


def _spec_text(plot: Plot) -> str:
    if plot.vega_lite is None:
        raise InvalidInput(
            f"plot {plot.key}: {'an image plot' if plot.images else 'nothing to draw'}"
        )
    _check_spec(plot.vega_lite, f"plot {plot.key}")
    return json.dumps(plot.vega_lite, allow_nan=False, separators=(",", ":"))


def _failed(plot: Plot, e: Exception) -> InvalidInput:
    text = str(e).split("\n    at ", 1)[0]
    return InvalidInput(f"plot {plot.key}: Vega-Lite could not draw it ({one_line(text, 240)})")


def svg(plot: Plot) -> str:
    """The plot drawn as an SVG document (InvalidInput when it cannot be drawn)."""
    text = _spec_text(plot)
    if plot._svg is not None and plot._svg[0] == text:
        return plot._svg[1]
    vl = _vl()
    try:
        out = vl.vegalite_to_svg(text, vl_version=VL_VERSION, allowed_base_urls=[])
    except ValueError as e:
        raise _failed(plot, e) from None
    _check_svg(out, plot.key)
    plot._svg = (text, out)
    return str(out)


def png(plot: Plot, scale: float = 2.0) -> bytes:
    """The plot drawn as a PNG image."""
    text = _spec_text(plot)
    vl = _vl()
    try:
        out = vl.vegalite_to_png(text, vl_version=VL_VERSION, scale=scale, allowed_base_urls=[])
    except ValueError as e:
        raise _failed(plot, e) from None
    return bytes(out)


_SVG_TAGS = frozenset(
    (
        "svg",
        "g",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "title",
        "desc",
        "defs",
        "clipPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "pattern",
        "mask",
    )
)


_PAINT = frozenset(
    (
        "fill",
        "stroke",
        "clip-path",
        "mask",
        "filter",
        "style",
        "marker-start",
        "marker-mid",
        "marker-end",
        "cursor",
    )
)
_OUTSIDE = re.compile(r"url\(\s*['\"]?(?!#)|javascript:|expression\(|@import")


def _check_svg(text: str, key: str) -> None:
    """The SVG holds drawing elements only: no script, link, foreign content or reference
    outside itself."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise InvalidInput(f"plot {key}: the renderer returned no valid SVG ({e})") from None
    for el in root.iter():
        tag = el.tag.rpartition("}")[2]
        if tag not in _SVG_TAGS:
            raise InvalidInput(f"plot {key}: the drawing holds a <{tag}> element: refused")
        for name, value in el.attrib.items():
            local = name.rpartition("}")[2].lower()
            if local.startswith("on") or local in ("href", "src", "action", "formaction"):
                raise InvalidInput(f"plot {key}: the drawing holds a {local!r} attribute: refused")
            # aria-label and the like hold the data's text: only paint attributes refer to things
            if local in _PAINT and _OUTSIDE.search(value.lower()):
                raise InvalidInput(f"plot {key}: the drawing refers outside itself: refused")


def write_images(plots: Sequence[Plot], folder: Path, fmt: Literal["svg", "png"]) -> list[Path]:
    """Each plot drawn into ``folder`` as ``<id>.svg`` or ``<id>.png``; an image plot's images
    as ``<id>--<revision><suffix>``. Plots that cannot be drawn are skipped, with a note added
    to them. The files written, in order."""
    if fmt not in ("svg", "png"):
        raise InvalidInput(f"image format {fmt!r}: use svg or png")
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for plot in plots:
        if plot.kind == "image":
            for label, image in plot.images.items():
                name = f"{plot.id}--{_slug(label, 40)}"
                while name in used:
                    name += "_"
                used.add(name)
                target = folder / f"{name}{image.suffix}"
                target.write_bytes(image.data)
                written.append(target)
            continue
        if plot.kind != "vega":
            continue
        try:
            target = folder / f"{plot.id}.{fmt}"
            if fmt == "svg":
                target.write_text(svg(plot), encoding="utf-8")
            else:
                target.write_bytes(png(plot))
        except InvalidInput as e:
            plot.notes.append(e.message)
            continue
        written.append(target)
    return written


# -- the report ----------------------------------------------------------------------------


_CSS = """
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e;
  --card: #f6f8fa; --line: #d1d9e0; --warn: #9a6700; --warn-bg: #fff8c5; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --card: #151b23; --line: #3d444d;
    --warn: #e3b341; --warn-bg: #2b2111; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
a { color: inherit; }
.meta, .sub { color: var(--muted); font-size: .875rem; margin: 0 0 .5rem; overflow-wrap: anywhere; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem .75rem; list-style: none; padding: 0; }
nav a { font-size: .875rem; }
section.plot { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 1rem; margin: 1rem 0; }
.chart, .images figure { background: #ffffff; border-radius: 6px; padding: .5rem;
  display: inline-block; max-width: 100%; overflow-x: auto; margin: 0; }
.chart svg { display: block; max-width: none; }
.images { display: flex; flex-wrap: wrap; gap: 1rem; }
.images img { display: block; max-width: 480px; max-height: 480px; }
.images figcaption { color: #1f2328; font-size: .8rem; text-align: center; }
ul.notes { color: var(--warn); background: var(--warn-bg); border-radius: 6px;
  padding: .5rem .5rem .5rem 1.75rem; margin: .5rem 0; font-size: .875rem; }
details { margin-top: .5rem; }
pre { max-height: 24rem; overflow: auto; background: var(--bg); border: 1px solid var(--line);
  border-radius: 6px; padding: .5rem; font-size: .75rem; }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _scoped(svg_text: str, prefix: str) -> str:
    """Element ids made unique in the document (several inline SVGs each have a ``clip1``)."""
    svg_text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg_text)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg_text)


def _shown_spec(spec: Mapping[str, Any]) -> tuple[str, str | None]:
    """The spec as shown: all of it, or with its rows cut when the text would be too long."""
    text = json.dumps(spec, indent=2, ensure_ascii=False, allow_nan=False)
    if len(text) <= SPEC_SHOWN_BYTES:
        return text, None
    data = spec.get("data")
    rows = data.get("values") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return text[:SPEC_SHOWN_BYTES] + "\n...", "cut"
    keep = 200
    cut = dict(spec) | {"data": dict(data) | {"values": rows[:keep]}}  # type: ignore[arg-type]
    text = json.dumps(cut, indent=2, ensure_ascii=False, allow_nan=False)
    return text, f"data cut to the first {keep} of {len(rows)} rows here; the chart has all"


def render_html(plots: Sequence[Plot], title: str = "landmark plots") -> str:
    """One self-contained HTML document: each plot's SVG (or images), the revisions that have
    it, its notes and its Vega-Lite spec. No script, no external reference."""
    revisions = list(dict.fromkeys(x for p in plots for x in (*p.revisions, *p.absent)))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        f'<p class="sub">{len(plots)} plot{"s" if len(plots) != 1 else ""}'
        + (f" · revisions: {_e(', '.join(revisions))}" if revisions else "")
        + "</p></header>",
    ]
    if len(plots) > 1:
        parts.append('<nav aria-label="plots"><ul>')
        parts += [f'<li><a href="#{p.id}">{_e(p.title)}</a></li>' for p in plots]
        parts.append("</ul></nav>")
    if not plots:
        parts.append('<p class="sub">No plots are declared at these revisions.</p>')
    parts.append("<main>")
    for n, plot in enumerate(plots):
        parts.append(_section(plot, n))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _section(plot: Plot, n: int) -> str:
    out = [
        f'<section class="plot" id="{plot.id}" data-kind="{plot.kind}">',
        f"<h2>{_e(plot.title)}</h2>",
    ]
    meta = [plot.key] if plot.key != plot.title else []
    if plot.template:
        meta.append(f"template: {plot.template}")
    if plot.revisions:
        meta.append(f"at: {', '.join(plot.revisions)}")
    if plot.absent and plot.kind != "notes":
        meta.append(f"not at: {', '.join(plot.absent)}")
    if meta:
        out.append(f'<p class="meta">{_e(" · ".join(meta))}</p>')
    body: list[str] = []
    notes = list(plot.notes)
    if plot.kind == "vega":
        assert plot.vega_lite is not None
        try:
            drawn = svg(plot)
        except InvalidInput as e:
            notes.append(e.message)
        else:
            label = f"{plot.title}: {', '.join(plot.revisions)}"
            body.append(
                f'<figure class="chart" role="img" aria-label="{_e(label)}">'
                f"{_scoped(drawn, f'p{n}-')}</figure>"
            )
        shown, cut = _shown_spec(plot.vega_lite)
        summary = "Vega-Lite spec" + (f" ({cut})" if cut else "")
        body.append(f"<details><summary>{_e(summary)}</summary><pre>{_e(shown)}</pre></details>")
    elif plot.kind == "image":
        body.append('<div class="images">')
        for label, image in plot.images.items():
            body.append(
                f'<figure><img src="{image.data_uri()}" alt="{_e(plot.title)} at {_e(label)}">'
                f"<figcaption>{_e(label)}</figcaption></figure>"
            )
        body.append("</div>")
    if notes:
        out.append('<ul class="notes">' + "".join(f"<li>{_e(t)}</li>" for t in notes) + "</ul>")
    out += body
    out.append("</section>")
    return "\n".join(out)


__all__ = [
    "IMAGE_TYPES",
    "MAX_BYTES",
    "MAX_ROWS",
    "TEMPLATES",
    "Image",
    "Plot",
    "collect",
    "plot_id",
    "png",
    "render_html",
    "svg",
    "write_images",
]
