"""The compare page's data: :func:`landmark.comparison.compare` (the same JSON as
``landmark compare --json``) and the overlaid plots of :mod:`landmark.plots`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import names
from ..errors import InvalidInput, NotFound, one_line
from .catalog import Catalog, View
from .views import CompareQuery, is_registry_ref

Json = dict[str, Any]


def _view(catalog: Catalog, query: CompareQuery) -> View:
    """The repository the refs are read in: ``repo``, else the one holding the first model
    (the first repository when the first ref is a commit or an experiment)."""
    first = query.refs[0]
    if is_registry_ref(first):
        return catalog.locate(names.parse_shortcut(first).name, query.repo)
    return catalog.view(catalog.source(query.repo))


def page(catalog: Catalog, query: CompareQuery) -> Json:
    if not query.refs:
        return {"repo": query.repo, "refs": [], "diff_only": query.diff_only, "comparison": None,
                "plots": []}  # fmt: skip
    if len(query.refs) < 2:
        raise InvalidInput("compare needs two or more versions: refs=NAME@v1,NAME@v2")
    from ..comparison import compare

    view = _view(catalog, query)
    result = compare(view.source.registry, list(query.refs))
    return {
        "repo": view.source.id,
        "refs": list(query.refs),
        "diff_only": query.diff_only,
        "comparison": result.to_dict(query.diff_only),
        "plots": plot_docs(view, query.refs),
    }


def plot_docs(view: View, refs: Sequence[str]) -> list[Json]:
    """The plots declared at ``refs`` (one version's, or several overlaid), as page data."""
    return [_plot_doc(p) for p in _plots(view, refs)]


def _plots(view: View, refs: Sequence[str]) -> list[Any]:
    from .. import plots as plotting
    from ..comparison import Resolver
    from ..results import Reader

    reg = view.source.registry
    targets = Resolver(reg.repo, reg).targets(list(refs))
    with Reader(reg.repo) as reader:
        return plotting.collect([reader.snapshot(t) for t in targets])


def _plot_doc(p: Any) -> Json:
    return {
        "id": p.id,
        "key": p.key,
        "title": p.title,
        "kind": p.kind,
        "revisions": list(p.revisions),
        "absent": list(p.absent),
        "notes": list(p.notes),
        "images": {label: image.data_uri() for label, image in p.images.items()},
    }


def plot(catalog: Catalog, query: CompareQuery, plot_id: str) -> str:
    """One overlaid plot as an SVG document (checked by :mod:`landmark.plots` to hold no
    script or outside reference)."""
    from .. import plots as plotting

    if not query.refs:
        raise InvalidInput("name the versions: refs=NAME@v1,NAME@v2")
    view = _view(catalog, query)
    for p in _plots(view, query.refs):
        if p.id == plot_id and p.kind == "vega":
            return str(plotting.svg(p))
    raise NotFound(f"no drawable plot {one_line(plot_id, 80)!r} at these revisions")


__all__ = ["page", "plot", "plot_docs"]
