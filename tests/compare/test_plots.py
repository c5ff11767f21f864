"""landmark.plots: DVC's plot definitions and templates, overlaid across revisions, drawn to
static SVG; the HTML report checked in Debian's headless Chromium (no script, no request)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from landmark import plots, yamlio
from landmark.errors import InvalidInput, MissingDependency
from landmark.models.log import plan_live
from landmark.plots import Plot, collect, render_html, svg, write_images

MARKS = "g.mark-line path, g.mark-symbol path, g.mark-rect path, g.mark-text text"


# -- a test double of landmark.results.Snapshot ----------------------------------------------


class FakeSnapshot:
    """One revision's files in memory, with Snapshot's attributes."""

    def __init__(
        self,
        label: str,
        files: Mapping[str, bytes | str | Any],
        rev: str | None = None,
        dvc_files: Mapping[str, Any] | None = None,
    ) -> None:
        self.label = label
        self.rev = rev
        self.files: dict[str, bytes] = {}
        for path, value in files.items():
            if isinstance(value, bytes):
                self.files[path] = value
            elif isinstance(value, str):
                self.files[path] = value.encode()
            else:
                self.files[path] = json.dumps(value).encode()
        if dvc_files is None:
            dvc_files = {
                p: yamlio.load(b, p) for p, b in self.files.items() if p.endswith("dvc.yaml")
            }
        self.dvc_files = dict(dvc_files)
        self.reads: list[str] = []

    def read(self, path: str) -> bytes | None:
        self.reads.append(path)
        return self.files.get(path)

    def files_under(self, folder: str) -> list[str]:
        return sorted(p for p in self.files if p == folder or p.startswith(folder + "/"))


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def tsv(column: str, values: list[float]) -> str:
    return f"step\t{column}\n" + "".join(f"{i}\t{v}\n" for i, v in enumerate(values))


def one(found: list[Plot], key: str) -> Plot:
    matches = [p for p in found if p.key == key]
    assert len(matches) == 1, [p.key for p in found]
    return matches[0]


def rows(plot: Plot) -> list[dict[str, Any]]:
    assert plot.vega_lite is not None, plot.notes
    values = plot.vega_lite["data"]["values"]
    assert isinstance(values, list)
    return values


def marks_in(svg_text: str) -> int:
    root = ET.fromstring(svg_text)
    ns = "{http://www.w3.org/2000/svg}"
    return sum(1 for _ in root.iter(f"{ns}path")) + sum(1 for _ in root.iter(f"{ns}text"))


def dvclive_revision(label: str, shift: float) -> FakeSnapshot:
    """What log_model writes (its own plan_live), listed in dvc.yaml as it lists it."""
    plan = plan_live(
        metrics={
            "train": {"loss": [1.0 - shift, 0.6, 0.4 - shift, 0.3]},
            "acc": [0.5, 0.7 + shift, 0.8],
        },
        plots={
            "roc": [
                {"fpr": 0.0, "tpr": 0.0},
                {"fpr": 0.5, "tpr": 0.8 + shift},
                {"fpr": 1, "tpr": 1},
            ],
            "cm": png_bytes(rgb=(int(shift * 500) % 255, 90, 160)),
        },
    )
    files: dict[str, bytes | str] = {f"dvclive/churn/{k}": v for k, v in plan.files.items()}
    dvc = {
        "plots": [
            {"dvclive/churn/plots/metrics": {"x": "step"}},
            "dvclive/churn/plots/custom/roc.json",
            "dvclive/churn/plots/images/cm.png",
        ],
        "metrics": ["dvclive/churn/metrics.json"],
    }
    files["dvc.yaml"] = json.dumps(dvc)
    return FakeSnapshot(label, files, rev=f"{int(shift * 1000):040x}")


# -- definitions ---------------------------------------------------------------------------


def test_dvclive_layout_overlays_every_revision() -> None:
    snaps = [dvclive_revision("churn@v1.0.0", 0.0), dvclive_revision("churn@v1.1.0", 0.1)]
    found = collect(snaps)
    keys = [p.key for p in found]
    assert keys == [
        "dvclive/churn/plots/metrics/acc.tsv",
        "dvclive/churn/plots/metrics/train/loss.tsv",
        "dvclive/churn/plots/custom/roc.json",
        "dvclive/churn/plots/images/cm.png",
    ]
    loss = one(found, "dvclive/churn/plots/metrics/train/loss.tsv")
    assert loss.kind == "vega" and loss.template == "linear"
    assert loss.revisions == ("churn@v1.0.0", "churn@v1.1.0") and loss.absent == ()
    data = rows(loss)
    assert {r["rev"] for r in data} == {"churn@v1.0.0", "churn@v1.1.0"}
    assert [r["x"] for r in data if r["rev"] == "churn@v1.1.0"] == [0, 1, 2, 3]
    assert [r["y"] for r in data if r["rev"] == "churn@v1.1.0"] == pytest.approx(
        [0.9, 0.6, 0.3, 0.3]
    )
    spec = loss.vega_lite
    assert spec is not None
    assert spec["encoding"]["color"]["field"] == "series"
    assert spec["encoding"]["x"]["title"] == "step" and spec["encoding"]["y"]["title"] == "loss"
    # custom JSON: no step column, so x is the row index; y is the last column
    roc = one(found, "dvclive/churn/plots/custom/roc.json")
    assert [(r["x"], r["y"]) for r in rows(roc) if r["rev"] == "churn@v1.0.0"] == [
        (0, 0.0),
        (1, 0.8),
        (2, 1),
    ]
    image = one(found, "dvclive/churn/plots/images/cm.png")
    assert image.kind == "image" and image.vega_lite is None
    assert list(image.images) == ["churn@v1.0.0", "churn@v1.1.0"]
    assert image.images["churn@v1.0.0"].suffix == ".png"
    assert image.images["churn@v1.0.0"].data.startswith(b"\x89PNG")


def test_ids_are_stable_and_file_name_safe() -> None:
    a = collect([dvclive_revision("a", 0.0)])
    b = collect([dvclive_revision("b", 0.2), dvclive_revision("c", 0.3)])
    assert [p.id for p in a] == [p.id for p in b]
    assert len({p.id for p in a}) == len(a)
    for p in a:
        assert all(c.isalnum() or c in "._-" for c in p.id), p.id


def test_top_level_forms() -> None:
    dvc = {
        "plots": [
            "eval/scores.csv",  # a file, defaults
            {"eval/prc.json": {"x": "recall", "y": ["precision", "threshold"], "title": "PRC"}},
            {
                "ROC": {
                    "x": "fpr",
                    "y": {"eval/train_roc.json": "tpr", "eval/test_roc.json": ["tpr"]},
                    "template": "simple",
                    "x_label": "false positives",
                    "y_label": "true positives",
                }
            },
            {
                "Joined": {
                    "x": {"eval/steps.yaml": "epoch"},
                    "y": {"eval/values.tsv": "value"},
                }
            },
        ]
    }
    files = {
        "dvc.yaml": json.dumps(dvc),
        "eval/scores.csv": "step,a,b\n0,1,2\n1,3,4\n",
        "eval/prc.json": [{"recall": 0.1, "precision": 0.9, "threshold": 0.5}],
        "eval/train_roc.json": {"roc": [{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1}]},
        "eval/test_roc.json": {"roc": [{"fpr": 0, "tpr": 0.1}, {"fpr": 1, "tpr": 1}]},
        "eval/steps.yaml": "rows:\n  - epoch: 10\n  - epoch: 20\n",
        "eval/values.tsv": "value\n0.5\n0.7\n",
    }
    found = collect([FakeSnapshot("main", files)])
    assert [p.key for p in found] == [
        "eval/scores.csv",
        "eval/prc.json",
        "dvc.yaml::ROC",
        "dvc.yaml::Joined",
    ]
    scores = rows(one(found, "eval/scores.csv"))
    assert [(r["x"], r["y"]) for r in scores] == [(0, 2), (1, 4)]  # x: step, y: the last
    prc = one(found, "eval/prc.json")
    assert prc.title == "PRC"
    assert {(r["field"], r["y"]) for r in rows(prc)} == {("precision", 0.9), ("threshold", 0.5)}
    assert {r["series"] for r in rows(prc)} == {"main · precision", "main · threshold"}
    roc = one(found, "dvc.yaml::ROC")
    assert roc.template == "simple" and roc.title == "dvc.yaml::ROC"
    assert {r["file"] for r in rows(roc)} == {"train_roc.json", "test_roc.json"}
    assert roc.vega_lite is not None
    assert roc.vega_lite["encoding"]["x"]["title"] == "false positives"
    assert roc.vega_lite["encoding"]["y"]["title"] == "true positives"
    joined = one(found, "dvc.yaml::Joined")
    assert [(r["x"], r["y"]) for r in rows(joined)] == [(10, 0.5), (20, 0.7)]


def test_stage_plots_nested_dvc_yaml_and_wdir() -> None:
    sub = {
        "stages": {
            "train": {
                "cmd": "python train.py",
                "wdir": "work",
                "plots": [
                    {"logs.csv": {"x": "epoch", "y": "loss", "cache": False}},
                    "images",
                    "../shared/curve.json",
                ],
            },
            "noplots": {"cmd": "true"},
        }
    }
    files = {
        "models/churn/dvc.yaml": json.dumps(sub),
        "models/churn/work/logs.csv": "epoch,loss,other\n1,0.5,9\n2,0.25,9\n",
        "models/churn/work/images/a.png": png_bytes(),
        "models/churn/work/images/notes.txt": "not a plot",
        "models/churn/shared/curve.json": [{"v": 1}, {"v": 2}],
    }
    found = collect([FakeSnapshot("ws", files)])
    assert [p.key for p in found] == [
        "models/churn/work/logs.csv",
        "models/churn/work/images/a.png",
        "models/churn/shared/curve.json",
    ]
    logs = rows(one(found, "models/churn/work/logs.csv"))
    assert [(r["x"], r["y"]) for r in logs] == [(1, 0.5), (2, 0.25)]
    assert one(found, "models/churn/work/images/a.png").kind == "image"


def test_top_level_definition_wins_over_a_stage_and_a_folder() -> None:
    dvc = {
        "plots": [{"out/m.csv": {"template": "scatter"}}, "out"],
        "stages": {"s": {"cmd": "x", "plots": [{"out/m.csv": {"template": "bar_horizontal"}}]}},
    }
    files = {"dvc.yaml": json.dumps(dvc), "out/m.csv": "a,b\n1,2\n", "out/n.csv": "a,b\n1,2\n"}
    found = collect([FakeSnapshot("r", files)])
    assert [(p.key, p.template) for p in found] == [
        ("out/m.csv", "scatter"),
        ("out/n.csv", "linear"),
    ]


def test_a_plot_at_some_revisions_only_and_definitions_from_the_first() -> None:
    old = FakeSnapshot(
        "old",
        {"dvc.yaml": json.dumps({"plots": ["a.csv"]}), "a.csv": "x,y\n1,2\n"},
    )
    new = FakeSnapshot(
        "new",
        {
            "dvc.yaml": json.dumps({"plots": [{"a.csv": {"template": "scatter"}}, "b.csv"]}),
            "a.csv": "x,y\n1,3\n",
            "b.csv": "x,y\n1,3\n",
        },
    )
    found = collect([old, new])
    a, b = one(found, "a.csv"), one(found, "b.csv")
    assert a.template == "linear" and a.revisions == ("old", "new")
    assert b.revisions == ("new",) and b.absent == ("old",)
    assert {r["rev"] for r in rows(b)} == {"new"}


def test_declared_but_found_nowhere() -> None:
    snap = FakeSnapshot("r", {"dvc.yaml": json.dumps({"plots": ["gone.csv"]})})
    (plot,) = collect([snap])
    assert plot.kind == "notes" and "not found at any" in plot.notes[0]
    assert plot.absent == ("r",)


def test_a_folder_absent_at_one_revision_is_no_plot_of_its_own() -> None:
    dvc = json.dumps({"plots": ["plots/metrics"]})
    a = FakeSnapshot("a", {"dvc.yaml": dvc, "plots/metrics/loss.tsv": tsv("loss", [1, 2])})
    b = FakeSnapshot("b", {"dvc.yaml": dvc})
    found = collect([a, b])
    assert [p.key for p in found] == ["plots/metrics/loss.tsv"]
    assert found[0].absent == ("b",)


def test_data_formats() -> None:
    files = {
        "dvc.yaml": json.dumps(
            {
                "plots": [
                    {p: {"x": "k", "y": "v"}}
                    for p in ("j.json", "w.json", "y.yaml", "c.csv", "t.tsv", "m.yml")
                ]
            }
        ),
        "j.json": [{"k": 1, "v": 2.5}, {"k": 2, "v": 3}],
        "w.json": {"rows": [{"k": 1, "v": 2.5}, {"k": 2, "v": 3}], "note": "x"},
        "y.yaml": "- {k: 1, v: 2.5}\n- {k: 2, v: 3}\n",
        "m.yml": "data:\n  - {k: 1, v: 2.5}\n  - {k: 2, v: 3}\n",
        "c.csv": "\ufeffk,v\n1,2.5\n2,3\n",
        "t.tsv": "k\tv\n1\t2.5\n2\t3\n",
    }
    found = collect([FakeSnapshot("r", files)])
    assert len(found) == 6
    for plot in found:
        assert [(r["x"], r["y"]) for r in rows(plot)] == [(1, 2.5), (2, 3)], plot.key


# -- templates -----------------------------------------------------------------------------


def template_revisions(template: str) -> list[FakeSnapshot]:
    snaps = []
    for i, label in enumerate(("base", "candidate")):
        files: dict[str, Any] = {
            "dvc.yaml": json.dumps(
                {"plots": [{"p.json": {"template": template, "x": "x", "y": "y"}}]}
            )
        }
        if template.startswith("confusion"):
            files["p.json"] = [
                {"x": a, "y": b} for a in "abc" for b in "abc" for _ in range(1 + (a == b) * 3 + i)
            ]
        elif template.startswith("bar"):
            files["p.json"] = [{"x": v + i, "y": f} for f, v in (("f1", 3), ("f2", 1), ("f3", 2))]
        else:
            files["p.json"] = [{"x": s, "y": (s * 0.37 + i) % 1.7} for s in range(30)]
        snaps.append(FakeSnapshot(label, files))
    return snaps


@pytest.mark.parametrize("template", plots.TEMPLATES)
def test_each_template_builds_and_draws(template: str) -> None:
    (plot,) = collect(template_revisions(template))
    assert plot.template == template and plot.notes == []
    spec = plot.vega_lite
    assert spec is not None
    assert spec["$schema"].endswith("vega-lite/v5.json")
    text = json.dumps(spec)
    assert '"url"' not in text and '"href"' not in text
    assert {r["rev"] for r in rows(plot)} == {"base", "candidate"}
    if template.startswith("confusion"):
        assert spec["facet"]["column"]["field"] == "rev"
        assert spec["facet"]["column"]["sort"] == ["base", "candidate"]
    elif template == "smooth":
        assert any("loess" in t for layer in spec["layer"] for t in layer.get("transform", []))
    else:
        mark = spec["mark"]["type"]
        assert mark == {"scatter": "point", "bar_horizontal": "bar"}.get(
            template, "bar" if template.startswith("bar") else "line"
        )
        assert spec["encoding"]["color"]["sort"] == ["base", "candidate"]
    if template == "bar_horizontal_sorted":
        assert spec["encoding"]["y"]["sort"] == "-x"
    drawn = svg(plot)
    assert drawn.startswith("<svg") and marks_in(drawn) > 10
    assert svg(plot) is drawn  # drawn once


def test_confusion_counts_and_normalised_shares() -> None:
    import vl_convert

    (plot,) = collect(template_revisions("confusion_normalized"))
    assert plot.vega_lite is not None
    vega = vl_convert.vegalite_to_vega(plot.vega_lite, vl_version=plots.VL_VERSION)
    assert isinstance(vega, dict)  # compiles
    texts = [
        t.text for t in ET.fromstring(plots.svg(plot)).iter("{http://www.w3.org/2000/svg}text")
    ]
    # each predicted class (y) sums to 1, as in DVC: base 4/6 and 1/6, candidate 5/9 and 2/9
    assert texts.count("0.67") == 3 and texts.count("0.17") == 6
    assert texts.count("0.56") == 3 and texts.count("0.22") == 6
    (counts,) = collect(template_revisions("confusion"))
    texts = [
        t.text for t in ET.fromstring(plots.svg(counts)).iter("{http://www.w3.org/2000/svg}text")
    ]
    assert texts.count("4") >= 3 and texts.count("5") >= 3


def test_smooth_with_names_on_x_draws_a_line_and_says_so() -> None:
    files = {
        "dvc.yaml": json.dumps({"plots": [{"s.csv": {"template": "smooth", "x": "x"}}]}),
        "s.csv": "x,y\nmon,1\ntue,2\nwed,1.5\n",
    }
    (plot,) = collect([FakeSnapshot("r", files)])
    assert plot.vega_lite is not None and plot.vega_lite["mark"]["type"] == "line"
    assert plot.vega_lite["encoding"]["x"]["type"] == "ordinal"
    assert any("without smoothing" in n for n in plot.notes)
    assert marks_in(svg(plot)) > 0


def test_dates_on_x_are_temporal() -> None:
    files = {
        "dvc.yaml": json.dumps({"plots": [{"d.csv": {"x": "day"}}]}),
        "d.csv": "day,v\n2024-01-01,1\n2024-01-02,2\n",
    }
    (plot,) = collect([FakeSnapshot("r", files)])
    assert plot.vega_lite is not None
    assert plot.vega_lite["encoding"]["x"]["type"] == "temporal"
    svg(plot)


CUSTOM = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": "<DVC_METRIC_DATA>"},
    "title": "<DVC_METRIC_TITLE>",
    "width": "<DVC_METRIC_PLOT_WIDTH>",
    "params": ["<DVC_METRIC_ZOOM_AND_PAN>"],
    "mark": {"type": "point", "tooltip": "<DVC_METRIC_TOOLTIP>"},
    "encoding": {
        "x": {"field": "<DVC_METRIC_X>", "type": "quantitative", "title": "<DVC_METRIC_X_LABEL>"},
        "y": {
            "field": "<DVC_METRIC_Y>",
            "type": "quantitative",
            "title": "y: <DVC_METRIC_Y_LABEL>",
        },
        "color": {"field": "rev", "type": "nominal"},
    },
}


def custom_snapshot(
    template: Any, name: str = ".dvc/plots/mine.json", ref: str = "mine"
) -> FakeSnapshot:
    files = {
        "dvc.yaml": json.dumps(
            {"plots": [{"m.csv": {"template": ref, "x": "a.b", "y": "c[0]", "title": "Mine"}}]}
        ),
        "m.csv": "a.b,c[0]\n1,2\n2,4\n",
        name: template if isinstance(template, (bytes, str)) else json.dumps(template),
    }
    return FakeSnapshot("r", files)


def test_custom_template_anchors_filled() -> None:
    (plot,) = collect([custom_snapshot(CUSTOM)])
    assert plot.notes == [] and plot.template == ".dvc/plots/mine.json"
    spec = plot.vega_lite
    assert spec is not None
    assert "<DVC_METRIC" not in json.dumps(spec)
    assert spec["title"] == "Mine" and spec["width"] == plots.WIDTH and spec["params"] == []
    assert "tooltip" not in spec["mark"]  # an anchor we have no value for goes
    assert spec["encoding"]["x"]["field"] == "a\\.b"  # escaped: not a nested field
    assert spec["encoding"]["y"]["field"] == "c\\[0\\]"
    assert spec["encoding"]["y"]["title"] == "y: c[0]"
    values = spec["data"]["values"]
    assert values[0] == {"a.b": 1, "c[0]": 2, "rev": "r", "filename": "m.csv", "field": "c[0]"}
    drawn = svg(plot)
    assert drawn.count("<path") >= 2


@pytest.mark.parametrize(
    ("name", "ref"),
    [(".dvc/plots/mine.json", "mine.json"), ("templates/t.json", "templates/t.json")],
)
def test_custom_template_found_where_dvc_looks(name: str, ref: str) -> None:
    (plot,) = collect([custom_snapshot(CUSTOM, name, ref)])
    assert plot.template == name and plot.vega_lite is not None


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"data": {"url": "https://example.com/data.csv"}}, "'url'"),
        (
            {"layer": [{"mark": "point"}, {"data": {"url": "file:///etc/passwd"}, "mark": "line"}]},
            "'url'",
        ),
        ({"mark": "image", "encoding": {}}, "image marks"),
        ({"mark": {"type": "image"}}, "image marks"),
        ({"mark": {"type": "point", "href": "javascript:alert(1)"}}, "'href'"),
        ({"encoding": {"href": {"field": "x"}}}, "'href'"),
        (
            {"transform": [{"lookup": "a", "from": {"data": {"url": "http://x"}, "key": "a"}}]},
            "'url'",
        ),
        ({"$schema": "https://vega.github.io/schema/vega/v5.json"}, "Vega spec"),
    ],
)
def test_custom_templates_that_would_load_or_link_are_refused(
    change: dict[str, Any], said: str
) -> None:
    (plot,) = collect([custom_snapshot(CUSTOM | change)])
    assert plot.vega_lite is None and plot.kind == "notes"
    assert any(said in n and "refused" in n for n in plot.notes), plot.notes


def test_a_spec_changed_after_collect_is_checked_again() -> None:
    (plot,) = collect(template_revisions("linear"))
    assert plot.vega_lite is not None
    plot.vega_lite["data"] = {"url": "http://127.0.0.1:9/steal.csv"}
    with pytest.raises(InvalidInput, match="'url'"):
        svg(plot)
    # and vl-convert itself, were our check missed, loads nothing
    import vl_convert

    with pytest.raises(ValueError, match="not allowed"):
        vl_convert.vegalite_to_svg(plot.vega_lite, allowed_base_urls=[])


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "invalid JSON"),
    ],
)
def test_broken_custom_templates_are_notes(template: str, said: str) -> None:
    (plot,) = collect([custom_snapshot(template)])
    assert plot.vega_lite is None
    assert any(said in n for n in plot.notes), plot.notes


def test_a_missing_template_falls_back_to_linear() -> None:
    (plot,) = collect([custom_snapshot(CUSTOM, ref="nowhere")])
    assert plot.template == "linear" and plot.vega_lite is not None
    assert any("'nowhere' not found" in n for n in plot.notes)


def test_a_template_path_leaving_the_repo_is_not_read() -> None:
    snap = custom_snapshot(CUSTOM, ref="../../etc/passwd")
    (plot,) = collect([snap])
    assert plot.template == "linear"
    assert not any(".." in p or p.startswith("/") for p in snap.reads)


# -- malformed input -----------------------------------------------------------------------


def notes_of(files: Mapping[str, Any], **kw: Any) -> list[str]:
    found = collect([FakeSnapshot("r", files, **kw)])
    return [n for p in found for n in p.notes]


def test_bad_json_and_yaml_are_notes() -> None:
    files = {
        "dvc.yaml": json.dumps({"plots": ["a.json", "b.yaml", "c.json", "d.json", "e.txt"]}),
        "a.json": "{broken",
        "b.yaml": "a: [1\n",
        "c.json": [1, 2, 3],
        "d.json": {"a": [{"x": 1}], "b": [{"x": 2}]},
        "e.txt": "x,y\n1,2\n",
    }
    notes = notes_of(files)
    assert any(n.startswith("r: a.json: invalid JSON") for n in notes), notes
    assert any(n.startswith("r: b.yaml: invalid YAML") for n in notes), notes
    assert any("c.json: row 1 is not a mapping" in n for n in notes), notes
    assert any("d.json: expected a list of rows" in n for n in notes), notes
    assert any("e.txt: not a data file" in n for n in notes), notes


def test_missing_columns_are_notes() -> None:
    files = {
        "dvc.yaml": json.dumps(
            {
                "plots": [
                    {"a.csv": {"y": "nope"}},
                    {"b.csv": {"x": "nope"}},
                    {"c.csv": {"y": "name"}},
                    {"J": {"x": {"x.csv": "k"}, "y": {"c.csv": "v"}}},
                    {"K": {"x": {"x.csv": "k", "c.csv": "v"}, "y": {"c.csv": ["v", "v", "v"]}}},
                ]
            }
        ),
        "a.csv": "x,y\n1,2\n",
        "b.csv": "x,y\n1,2\n",
        "c.csv": "name,v\nab,1\ncd,2\n",
        "x.csv": "k\n1\n2\n3\n",
    }
    found = collect([FakeSnapshot("r", files)])
    notes = [n for p in found for n in p.notes]
    assert "r: a.csv: no column 'nope' (columns: x, y)" in notes
    assert "r: b.csv: no column 'nope' for x (columns: x, y)" in notes
    assert any("'name' holds no numbers" in n for n in notes), notes
    assert any("2 rows but 3 in the x file x.csv" in n for n in notes), notes
    assert any("2 x files for 3 y series" in n for n in notes), notes
    assert all(p.vega_lite is None for p in found)


def test_paths_leaving_the_repo_are_refused_and_never_read() -> None:
    dvc = {
        "plots": [
            "../../outside.csv",
            "/etc/passwd",
            {"X": {"y": {"../../secret.json": "v"}}},
            {"ok.csv": {"x": {"../../x.csv": "k"}}},
        ],
        "stages": {"s": {"cmd": "x", "wdir": "../..", "plots": ["p.csv"]}},
    }
    snap = FakeSnapshot("r", {"sub/dvc.yaml": json.dumps(dvc), "sub/ok.csv": "a\n1\n"})
    found = collect([snap])
    (problems,) = found
    assert problems.kind == "notes" and problems.title == "Plot definitions in sub/dvc.yaml"
    assert sum("leaves the repository" in n for n in problems.notes) == 5, problems.notes
    assert all(n.endswith("(at r)") for n in problems.notes)
    assert all(not p.startswith(("/", "..")) and "/../" not in p for p in snap.reads), snap.reads


@pytest.mark.parametrize(
    ("doc", "said"),
    [
        (["not", "a", "mapping"], "not a mapping at the top"),
        ({"plots": "a.csv"}, "'plots' must be a list"),
        ({"plots": [42]}, "must be a path or a mapping"),
        ({"plots": [{"a.csv": "linear"}]}, "options must be a mapping"),
        ({"plots": [{"a.csv": {"x": ["a", "b"]}}]}, "'x' must be a column"),
        ({"plots": [{"a.csv": {"y": {}}}]}, "'y' is an empty mapping"),
        ({"plots": [{"a.csv": {"y": [1, 2]}}]}, "'y' must name a column"),
        ({"plots": [{"a.csv": {"title": {"t": 1}}}]}, "'title' must be a string"),
        ({"plots": ["${item}/a.csv"]}, "templated path"),
        ({"stages": {"s": {"cmd": "x", "plots": "a.csv"}}}, "stage 's': 'plots' must be a list"),
        ({"stages": {"s": {"cmd": "x", "wdir": 3, "plots": []}}}, "'wdir' must be a path"),
        ({"stages": {"s": {"plots": [{"a.csv": {"y": {"b.csv": "v"}}}]}}}, "names its file"),
    ],
)
def test_malformed_definitions_are_notes(doc: Any, said: str) -> None:
    found = collect([FakeSnapshot("r", {"a.csv": "a\n1\n"}, dvc_files={"dvc.yaml": doc})])
    notes = [n for p in found if p.kind == "notes" for n in p.notes]
    assert any(said in n for n in notes), notes


def test_a_dvc_yaml_the_reader_could_not_parse_is_a_note() -> None:
    snap = FakeSnapshot("r", {}, dvc_files={})
    snap.errors = {"dvc.yaml": "dvc.yaml line 3: mapping values are not allowed"}  # type: ignore[attr-defined]
    (plot,) = collect([snap])
    assert plot.notes == ["not read: dvc.yaml line 3: mapping values are not allowed (at r)"]


def test_oversize_data_is_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    many = "step,v\n" + "".join(f"{i},{i}\n" for i in range(plots.MAX_ROWS + 1))
    files = {
        "dvc.yaml": json.dumps({"plots": ["big.csv", "big.json", "small.csv", "huge.png"]}),
        "big.csv": many,
        "big.json": [{"v": 1}] * (plots.MAX_ROWS + 1),
        "small.csv": "v\n1\n",
        "huge.png": png_bytes() + b"\0" * 2048,
    }
    started = time.perf_counter()
    notes = notes_of(files)
    assert f"r: big.csv: more than {plots.MAX_ROWS} rows: not plotted" in notes
    assert (
        f"r: big.json: {plots.MAX_ROWS + 1} rows, more than {plots.MAX_ROWS}: not plotted" in notes
    )
    assert time.perf_counter() - started < 5
    monkeypatch.setattr(plots, "MAX_BYTES", 1024)
    notes = notes_of(files)
    assert any(
        n.startswith("r: big.csv: 1 MiB, more than 0 MiB") or "more than" in n for n in notes
    )
    assert any(n.startswith("r: huge.png:") and "not shown" in n for n in notes), notes


def test_a_plot_with_too_many_points_drops_revisions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "MAX_PLOT_ROWS", 5)
    snaps = [
        FakeSnapshot(x, {"dvc.yaml": json.dumps({"plots": ["a.csv"]}), "a.csv": "v\n1\n2\n3\n"})
        for x in ("a", "b")
    ]
    (plot,) = collect(snaps)
    assert plot.revisions == ("a",) and plot.absent == ("b",)
    assert plot.notes == ["b: a.csv: the plot would hold more than 5 points: not drawn"]


def test_images_must_be_what_their_name_says() -> None:
    files = {
        "dvc.yaml": json.dumps({"plots": ["img"]}),
        "img/real.png": png_bytes(),
        "img/fake.png": b"<html><script>alert(1)</script></html>",
        "img/fake.jpg": png_bytes(),
        "img/ok.svg": '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        "img/bad.svg": "<html><svg></svg></html>",
        "img/anim.gif": b"GIF89a" + b"\0" * 20,
    }
    found = collect([FakeSnapshot("r", files)])
    kinds = {p.key: (p.kind, p.notes) for p in found}
    assert kinds["img/real.png"] == ("image", [])
    assert kinds["img/ok.svg"] == ("image", [])
    assert kinds["img/anim.gif"] == ("image", [])
    assert kinds["img/fake.png"] == ("notes", ["r: img/fake.png: not a PNG image: not shown"])
    assert kinds["img/fake.jpg"] == ("notes", ["r: img/fake.jpg: not a JPEG image: not shown"])
    assert kinds["img/bad.svg"] == ("notes", ["r: img/bad.svg: not an SVG image: not shown"])


def test_the_same_label_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="given twice"):
        collect([FakeSnapshot("a", {}), FakeSnapshot("a", {})])


def test_nothing_declared() -> None:
    assert collect([]) == []
    assert collect([FakeSnapshot("a", {"dvc.yaml": "{}"})]) == []
    page = render_html([], title="empty")
    assert "No plots are declared" in page


def test_files_are_parsed_once_per_content() -> None:
    class Keyed(FakeSnapshot):
        def key(self, path: str) -> str | None:
            return f"blob:{hash(self.files.get(path))}"

    dvc = json.dumps({"plots": ["a.csv"]})
    snaps = [Keyed(x, {"dvc.yaml": dvc, "a.csv": "v\n1\n"}) for x in "abc"]
    (plot,) = collect(snaps)
    assert plot.revisions == ("a", "b", "c")
    assert sum(s.reads.count("a.csv") for s in snaps) == 1


def test_import_is_cheap_and_a_missing_vl_convert_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sys, landmark.plots; print('vl_convert' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
    (plot,) = collect(template_revisions("linear"))
    monkeypatch.setitem(sys.modules, "vl_convert", None)
    with pytest.raises(MissingDependency) as e:
        svg(plot)
    assert str(e.value) == "landmark plots needs vl-convert-python: pip install 'landmark[plots]'"


def test_write_images(tmp_path: Path) -> None:
    found = collect([dvclive_revision("v1", 0.0), dvclive_revision("v2", 0.1)])
    written = write_images(found, tmp_path / "svg", "svg")
    names = sorted(p.name for p in written)
    assert len(names) == 5  # 3 charts, the image at 2 revisions
    for p in written:
        if p.suffix == ".svg":
            assert marks_in(p.read_text()) > 0
    assert sorted(n for n in names if n.endswith(".png")) == [
        f"{one(found, 'dvclive/churn/plots/images/cm.png').id}--v1.png",
        f"{one(found, 'dvclive/churn/plots/images/cm.png').id}--v2.png",
    ]
    pngs = write_images(found, tmp_path / "png", "png")
    assert len(pngs) == 5
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    with pytest.raises(InvalidInput, match="use svg or png"):
        write_images(found, tmp_path, "gif")  # type: ignore[arg-type]


def test_render_time_ten_plots_ten_revisions() -> None:
    names = [f"m{i}" for i in range(10)]
    dvc = json.dumps({"plots": ["plots/metrics"]})
    snaps = [
        FakeSnapshot(
            f"churn@v1.{r}.0",
            {"dvc.yaml": dvc}
            | {
                f"plots/metrics/{n}.tsv": tsv(n, [(s * (r + 1)) % 7 for s in range(100)])
                for n in names
            },
        )
        for r in range(10)
    ]
    svg(collect(snaps[:1])[0])  # vl-convert's engine starts once per process
    started = time.perf_counter()
    found = collect(snaps)
    page = render_html(found)
    took = time.perf_counter() - started
    print(f"\n10 plots x 10 revisions x 100 points: collect + render_html {took:.2f}s")
    assert len(found) == 10 and page.count("<svg") == 10
    assert took < 6  # about 1 s on a quiet 2-CPU machine


# -- the HTML report -----------------------------------------------------------------------


HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def report_revisions() -> list[FakeSnapshot]:
    """Revisions with every kind of plot, hostile text and images that try to run or load."""
    evil_svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="40" height="40" onload="alert(3)"><script>alert(4)</script>'
        '<image href="http://127.0.0.1:9/x.png" width="10" height="10"/>'
        '<rect width="40" height="40" fill="teal"/></svg>'
    )
    snaps = []
    for i, label in enumerate(("churn@v1.0.0", f"exp-{HOSTILE}", "workspace")):
        snap = dvclive_revision(label, i / 10)
        doc = snap.dvc_files["dvc.yaml"]
        doc["plots"] += [
            {"eval/cm.json": {"template": "confusion", "x": "actual", "y": "predicted"}},
            {
                "eval/imp.json": {
                    "template": "bar_horizontal_sorted",
                    "x": "w",
                    "y": "f",
                    "title": HOSTILE,
                }
            },
            {"eval/pts.csv": {"template": "scatter", "x": "a", "y": "b"}},
            "eval/pic.svg",
            "eval/broken.json",
        ]
        snap.files["eval/cm.json"] = json.dumps(
            [
                {"actual": a, "predicted": p}
                for a in "ab"
                for p in "ab"
                for _ in range(1 + i + (a == p))
            ]
        ).encode()
        snap.files["eval/imp.json"] = json.dumps(
            [{"f": HOSTILE if i else "age", "w": 0.3 + i / 10}, {"f": "tenure", "w": 0.5}]
        ).encode()
        snap.files["eval/pts.csv"] = (
            "a,b\n" + "".join(f"{k},{(k * 7 + i) % 5}\n" for k in range(20))
        ).encode()
        snap.files["eval/pic.svg"] = evil_svg.encode()
        snap.files["eval/broken.json"] = b"{oops"
        snaps.append(snap)
    return snaps


def test_html_is_self_contained_and_escaped() -> None:
    found = collect(report_revisions())
    page = render_html(found, title=f"Compare {HOSTILE}")
    assert "<script" not in page.lower()
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" not in page
    assert "default-src 'none'" in page
    assert "<link" not in page and "@import" not in page
    import re

    sources = re.findall(r'\ssrc="([^"]*)"', page)
    assert sources and all(
        s.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")) for s in sources
    )
    hrefs = re.findall(r'\s(?:xlink:)?href="([^"]*)"', page)
    assert hrefs and all(h.startswith("#") for h in hrefs), hrefs
    # each inline SVG's ids are its own
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    vega = [p for p in found if p.kind == "vega"]
    assert page.count("<svg") == len(vega)
    assert page.count("<details>") == len(vega)
    assert "Vega-Lite spec" in page


def test_a_huge_spec_is_shown_cut() -> None:
    dvc = json.dumps({"plots": ["a.csv"]})
    snap = FakeSnapshot(
        "r", {"dvc.yaml": dvc, "a.csv": "v\n" + "".join(f"{i}\n" for i in range(20_000))}
    )
    page = render_html(collect([snap]))
    assert "data cut to the first 200 of 20000 rows here" in page
    assert len(page) < 3_000_000


REPORT_URL = "http://report.invalid/report.html"


def open_report(
    browser: Any, page_html: str, scheme: str = "light"
) -> tuple[Any, Any, dict[str, list[str]]]:
    """The report in a fresh page: every request but the page's own is recorded and refused,
    console errors, page errors and dialogs recorded."""
    seen: dict[str, list[str]] = {"requests": [], "errors": [], "dialogs": []}
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def route(r: Any) -> None:
        if r.request.url == REPORT_URL:
            r.fulfill(status=200, content_type="text/html; charset=utf-8", body=page_html)
        else:
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type in ("error", "warning") and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(REPORT_URL, wait_until="load")
    return context, page, seen


def test_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    found = collect(report_revisions())
    vega = [p for p in found if p.kind == "vega"]
    images = [p for p in found if p.kind == "image"]
    assert len(vega) == 6 and len(images) == 2
    context, page, seen = open_report(browser, render_html(found, title=f"Compare {HOSTILE}"))
    try:
        for plot in vega:
            section = page.locator(f'section[id="{plot.id}"]')
            charts = section.locator("figure.chart > svg")
            assert charts.count() == 1, plot.key
            box = charts.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, plot.key
            assert charts.locator(MARKS).count() > 0, plot.key
            assert section.locator("details pre").count() == 1
        assert page.locator("figure.chart > svg").count() == len(vega)
        assert page.locator("section").count() == len(found)
        # the images: the PNGs load, the hostile SVG shows as a picture, runs and loads nothing
        for plot in images:
            imgs = page.locator(f'section[id="{plot.id}"] img')
            assert imgs.count() == 3
            for k in range(3):
                assert imgs.nth(k).evaluate("i => i.complete && i.naturalWidth > 0"), plot.key
        # hostile text is text
        assert page.locator("img[src=x]").count() == 0
        assert HOSTILE in page.title()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        assert page.evaluate("document.scripts.length") == 0
    finally:
        context.close()
    assert seen["requests"] == [REPORT_URL], seen["requests"]
    assert seen["errors"] == [] and seen["dialogs"] == []


def test_report_in_dark_mode(browser: Any, tmp_path: Path) -> None:
    found = collect([dvclive_revision("a", 0.0), dvclive_revision("b", 0.1)])
    context, page, seen = open_report(browser, render_html(found), scheme="dark")
    try:
        body = page.evaluate("getComputedStyle(document.body).backgroundColor")
        text = page.evaluate("getComputedStyle(document.body).color")
        chart = page.evaluate(
            "getComputedStyle(document.querySelector('figure.chart')).backgroundColor"
        )
        assert body == "rgb(13, 17, 23)" and text == "rgb(230, 237, 243)"
        assert chart == "rgb(255, 255, 255)"  # charts are drawn for a light background
        assert page.locator("figure.chart > svg").count() == 3
        page.screenshot(path=str(tmp_path / "dark.png"), full_page=True)
    finally:
        context.close()
    assert seen["requests"] == [REPORT_URL] and seen["errors"] == []


# -- the drawing check and the real reader -------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        '<image x:href="http://127.0.0.1:9/x.png"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(http://x/#p)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill: url( \'//x/p\')"/></svg>',
        "<svg",
    ],
)
def test_the_drawing_check_refuses(bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"refused|no valid SVG"):
        plots._check_svg(bad, "k")


def test_the_drawing_check_lets_text_be_text() -> None:
    plots._check_svg(
        '<svg xmlns="http://www.w3.org/2000/svg"><g clip-path="url(#clip1)" '
        'aria-label="a: url(http://x) javascript:alert(1)"><text>url(http://x)</text></g></svg>',
        "k",
    )
    odd = "url(http://127.0.0.1:9/x) javascript:alert(1) <b>"
    files = {
        "dvc.yaml": json.dumps(
            {
                "plots": [
                    {"b.json": {"template": "bar_horizontal", "x": "w", "y": "f", "title": odd}}
                ]
            }
        ),
        "b.json": [{"f": odd, "w": 1}, {"f": "plain", "w": 2}],
    }
    (plot,) = collect([FakeSnapshot("r", files)])
    drawn = svg(plot)
    assert "url(http://127.0.0.1:9/x) javascript:alert(1) &lt;b&gt;" in drawn


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_with_the_real_reader(tmp_path: Path) -> None:
    """landmark.results' snapshots of two commits and the work tree, through collect."""
    from landmark.git import Repo
    from landmark.results import WORKSPACE_TARGET, Reader, Target

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    sub = root / "models" / "churn"
    (sub / "dvclive" / "plots" / "metrics").mkdir(parents=True)
    (sub / "dvc.yaml").write_text(
        "plots:\n  - dvclive/plots/metrics:\n      x: step\n  - cm.png\n"
        "  - Acc:\n      y:\n        dvclive/plots/metrics/acc.tsv: acc\n"
    )
    revs = []
    for i in range(2):
        (sub / "dvclive" / "plots" / "metrics" / "acc.tsv").write_text(tsv("acc", [0.5, 0.6 + i]))
        (sub / "cm.png").write_bytes(png_bytes(rgb=(i * 100, 0, 0)))
        git(root, "add", ".")
        git(root, "commit", "-q", "-m", f"r{i}")
        revs.append(git(root, "rev-parse", "HEAD"))
    (sub / "dvclive" / "plots" / "metrics" / "acc.tsv").write_text(tsv("acc", [0.1, 0.2, 0.3]))
    targets = [Target(f"v{i}", rev, "commit") for i, rev in enumerate(revs)] + [WORKSPACE_TARGET]
    with Reader(Repo.open(root)) as reader:
        found = collect([reader.snapshot(t) for t in targets])
    assert [p.key for p in found] == [
        "models/churn/dvclive/plots/metrics/acc.tsv",
        "models/churn/cm.png",
        "models/churn/dvc.yaml::Acc",
    ]
    acc = found[0]
    assert acc.revisions == ("v0", "v1", "workspace")
    assert [r["y"] for r in rows(acc) if r["rev"] == "workspace"] == [0.1, 0.2, 0.3]
    assert [r["y"] for r in rows(acc) if r["rev"] == "v1"] == [0.5, 1.6]
    assert list(found[1].images) == ["v0", "v1", "workspace"]
    assert found[1].images["v0"].data != found[1].images["v1"].data
    assert found[2].revisions == ("v0", "v1", "workspace")
    page = render_html(found)
    assert page.count("<svg") == 2 and page.count("<img") == 3
