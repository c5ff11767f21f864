"""The numbers landmark reads are the numbers the real dvc shows, on the same repository:
``dvc metrics diff``, ``dvc params diff`` and ``dvc exp show --json``; lineage is dvc.lock as
``dvc repro`` wrote it."""

from __future__ import annotations

import json
from typing import Any

from landmark import yamlio

from .conftest import Project


def _compare(p: Project, *refs: str) -> dict[str, Any]:
    return dict(json.loads(p.landmark("compare", *refs, "--json").stdout))


def _by_label(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["label"]: r for r in doc["revisions"]}


def _unflat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """dvc exp show's nested data, flattened as landmark shows it (and dvc's diff does)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict) and v:
            out.update(_unflat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_metrics_match_dvc_metrics_diff(project: Project) -> None:
    diff = json.loads(project.dvc("metrics", "diff", "--all", "--json", project.v1, project.v2))
    got = _by_label(_compare(project, project.v1, project.v2))
    old, new = got[project.v1]["metrics"], got[project.v2]["metrics"]
    assert set(diff) == set(old) == set(new)
    for file, keys in diff.items():
        assert set(keys) == set(old[file]) == set(new[file])
        for key, change in keys.items():
            assert old[file][key] == change["old"]
            assert new[file][key] == change["new"]
    # Every kind of declaration was read: stage metrics, top-level metrics, a nested dvc.yaml.
    assert {"metrics.json", "summary.json", "sub/m.json"} <= set(new)
    assert new["metrics.json"]["eval.auc"] != old["metrics.json"]["eval.auc"]


def test_params_match_dvc_params_diff(project: Project) -> None:
    diff = json.loads(project.dvc("params", "diff", "--all", "--json", project.v1, project.v2))
    got = _by_label(_compare(project, project.v1, project.v2))
    old, new = got[project.v1]["params"], got[project.v2]["params"]
    assert set(diff) == set(old) == set(new)
    for file, keys in diff.items():
        assert set(keys) == set(new[file]), file
        for key, change in keys.items():
            # dvc's diff prints lists as text; landmark keeps them as values
            assert new[file][key] == change["new"] or str(new[file][key]) == change["new"]
    # params.yaml whole (as dvc shows it), extra.yaml only the key the stage names
    assert new["params.yaml"]["train.unused"] == 7
    assert new["extra.yaml"] == {"seed": 42}
    assert new["sub/p.json"] == {"window.size": 4}


def test_workspace_matches_dvc_metrics_show(project: Project) -> None:
    shown = json.loads(project.dvc("metrics", "show", "--json"))[""]["data"]
    got = _by_label(_compare(project, "workspace"))["workspace"]["metrics"]
    assert {f: _unflat(d["data"]) for f, d in shown.items()} == got


def test_experiments_match_dvc_exp_show(project: Project) -> None:
    shown = json.loads(project.dvc("exp", "show", "--json", "--no-fetch"))
    baseline = next(r for r in shown if r["rev"] == project.v2)
    dvc_exps = {e["name"]: e["revs"][0] for e in baseline["experiments"] or () if e.get("name")}
    assert set(dvc_exps) == {"fast", "slow", "deep"}
    rows = json.loads(project.landmark("experiments", "--json").stdout)
    ours = {r["name"]: r for r in rows if r["experiment"]}
    assert set(ours) == set(dvc_exps)
    for name, rev in dvc_exps.items():
        mine = ours[name]
        assert mine["rev"] == rev["rev"]
        assert mine["baseline"] == project.v2
        data = rev["data"]
        assert mine["metrics"] == {f: _unflat(d["data"]) for f, d in data["metrics"].items()}
        assert mine["params"] == {f: _unflat(d["data"]) for f, d in data["params"].items()}
    base = next(r for r in rows if not r["experiment"])
    assert base["rev"] == project.v2
    assert base["name"] == baseline["name"] == "main"  # the branch, as dvc names it
    assert "churn@v1.1.0" in base["registered"]
    # The baseline's numbers as dvc shows them too.
    assert base["metrics"] == {
        f: _unflat(d["data"]) for f, d in baseline["data"]["metrics"].items()
    }


def test_experiments_compare_by_name(project: Project) -> None:
    doc = _compare(project, "churn@v1.1.0", "exp:fast", "exp:slow")
    got = _by_label(doc)
    assert got["fast"]["kind"] == "exp" and got["fast"]["exp"] == "fast"
    assert got["fast"]["params"]["params.yaml"]["train.lr"] == 0.3
    assert got["slow"]["params"]["params.yaml"]["train.lr"] == 0.05
    lr = next(r for r in doc["params"] if r["key"] == "train.lr")
    assert lr["values"] == [0.2, 0.3, 0.05]
    assert lr["deltas"][1] == 0.1 and lr["deltas"][2] == -0.15


def test_lineage_is_dvc_lock(project: Project) -> None:
    lock = yamlio.load((project.path / "dvc.lock").read_bytes(), "dvc.lock")
    lin = json.loads(project.landmark("lineage", "churn@v1.1.0", "--json").stdout)
    assert lin["path"] == "models/churn.bin"
    assert [s["name"] for s in lin["stages"]] == ["prepare", "train"]  # upstream first
    for stage in lin["stages"]:
        want = lock["stages"][stage["name"]]
        assert stage["cmd"] == want["cmd"]
        assert {d["path"]: d["hash"] for d in stage["deps"]} == {
            d["path"]: d["md5"] for d in want["deps"]
        }
        assert {o["path"]: o["hash"] for o in stage["outs"]} == {
            o["path"]: o["md5"] for o in want["outs"]
        }
    train = lin["stages"][1]
    assert train["params"] == {
        "params.yaml": {"train.lr": 0.2, "train.depth": 3},
        "extra.yaml": {"seed": 42},
    }
    # The raw data is a registered artifact: named by the version with the same content.
    raw = next(d for d in lin["stages"][0]["deps"] if d["path"] == "data/raw.csv")
    assert raw["artifact"] == "raw@v1.1.0"
    assert lin["data"] == [
        {"path": "data/raw.csv", "hash": raw["hash"], "artifact": "raw", "version": "v1.1.0"}
    ]
    old = json.loads(project.landmark("lineage", "churn#prod", "--json").stdout)
    assert old["version"] == "v1.0.0"
    assert old["data"][0]["version"] == "v1.0.0"


def test_compare_data_section_names_the_data_versions(project: Project) -> None:
    doc = _compare(project, "churn#prod", "churn@v1.1.0")
    paths = {d["path"]: d for d in doc["data"]}
    assert set(paths) == {"data/raw.csv", "data/prepared.csv"}
    assert paths["data/raw.csv"]["versions"] == ["raw@v1.0.0", "raw@v1.1.0"]
    assert paths["data/prepared.csv"]["versions"] == [None, None]
    h = paths["data/prepared.csv"]["hashes"]
    assert h[0] != h[1] and all(h)


def test_lineage_of_an_experiment_version(project_copy: Project) -> None:
    p = project_copy
    p.landmark("register", "churn", "--from-exp", "fast", "--version", "v1.2.0")
    lin = json.loads(p.landmark("lineage", "churn@v1.2.0", "--json").stdout)
    assert lin["experiment"]["name"] == "fast"
    assert lin["experiment"]["baseline"] == p.v2
    assert lin["stages"][1]["params"]["params.yaml"]["train.lr"] == 0.3
    shown = json.loads(p.dvc("exp", "show", "--json", "--no-fetch"))
    base = next(r for r in shown if r["rev"] == p.v2)
    fast = next(e["revs"][0] for e in base["experiments"] if e.get("name") == "fast")
    assert lin["rev"] == fast["rev"]
