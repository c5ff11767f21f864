"""The UI over HTTP (httpx against a real server): JSON twins, auth, bad input, crafted content."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
from pathlib import Path

import httpx

from .conftest import LANDMARK, TOKEN, Server, World, _start

J = {"Accept": "application/json"}
BEARER = {**J, "Authorization": f"Bearer {TOKEN}"}


def test_table_json_is_show_json(world: World, server: Server) -> None:
    with server.client() as c:
        data = c.get("/", headers=J).json()
    shown = json.loads(world.landmark("show", "--json"))
    keys = ("version", "stage", "registered", "active")
    assert {m["name"]: {k: m[k] for k in keys} for m in data["models"]} == shown
    churn = next(m for m in data["models"] if m["name"] == "churn")
    assert churn["stages"]["prod"]["version"] == "v0.0.1"
    assert churn["stages"]["prod"]["author"] == "Ada Tester"
    assert churn["labels"] == ["tabular", "customers"]


def test_model_json_is_show_and_history_json(world: World, server: Server) -> None:
    with server.client() as c:
        data = c.get("/models/churn?vlimit=500&hlimit=500", headers=J).json()
    assert data["versions"] == json.loads(world.landmark("show", "churn", "--json"))
    assert data["history"] == json.loads(world.landmark("history", "churn", "--json"))
    assert data["version"]["version"] == "v0.0.2"  # the latest, by default
    assert data["params"]["dvclive/churn/params.yaml"] == {"C": 0.5, "penalty": "l2"}
    assert data["annotation"]["description"] == "Predicts which customers leave"


def test_model_json_deep_links_a_version(server: Server, world: World) -> None:
    with server.client() as c:
        data = c.get("/models/churn?version=0.0.1", headers=J).json()
    assert data["version"]["version"] == "v0.0.1"
    assert data["metrics"]["dvclive/churn/metrics.json"]["accuracy"] == 0.74
    describe = data["model"]["describe"]
    assert describe == json.loads(world.landmark("describe-model", "churn@v0.0.1", "--json"))
    assert describe["framework"]["name"] == "scikit-learn"
    assert "churn@v0.0.1" in data["snippets"]["python"]
    [plot] = [p for p in data["plots"] if p["kind"] == "vega"]
    assert plot["revisions"] == ["churn@v0.0.1"] and "accuracy" in plot["key"]


def test_compare_json_is_compare_json(world: World, server: Server) -> None:
    from landmark.comparison import compare

    refs = ["churn@v0.0.1", "churn@v0.0.2"]
    with server.client() as c:
        data = c.get("/compare", params={"refs": ",".join(refs)}, headers=J).json()
        diff = c.get("/compare", params={"refs": refs, "diff_only": "1"}, headers=J).json()
    assert data["comparison"] == compare(world.repo, refs).to_dict()
    accuracy = next(r for r in data["comparison"]["metrics"] if r["key"] == "accuracy")
    assert accuracy["values"] == [0.74, 0.81]
    assert [r["key"] for r in diff["comparison"]["params"]] == ["C"]  # penalty is the same
    assert any(p["kind"] == "vega" for p in data["plots"])
    commit = data["comparison"]["revisions"][0]["rev"][:12]
    with server.client() as c:
        by_commit = c.get("/compare", params={"refs": f"{commit},churn@v0.0.2"}, headers=J)
    assert by_commit.status_code == 200
    assert by_commit.json()["comparison"]["revisions"][0]["kind"] == "commit"


def test_overlaid_plot_is_an_svg_image(server: Server) -> None:
    with server.client() as c:
        data = c.get("/compare?refs=churn@v0.0.1,churn@v0.0.2", headers=J).json()
        plot = next(p for p in data["plots"] if p["kind"] == "vega")
        r = c.get(
            "/compare/plot.svg", params={"refs": "churn@v0.0.1,churn@v0.0.2", "plot": plot["id"]}
        )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.startswith("<svg")


def test_table_filters_sort_and_keyset_pages(server: Server) -> None:
    with server.client() as c:
        assert [m["name"] for m in c.get("/?q=leave", headers=J).json()["models"]] == ["churn"]
        assert [m["name"] for m in c.get("/?label=risk", headers=J).json()["models"]] == ["fraud"]
        by_stage = c.get("/?stage=prod&sort=-name", headers=J).json()["models"]
        assert [m["name"] for m in by_stage] == ["fraud", "churn"]
        first = c.get("/?limit=1", headers=J).json()
        assert [m["name"] for m in first["models"]] == ["churn"] and first["prev"] is None
        second = c.get(first["next"], headers=J).json()
        assert [m["name"] for m in second["models"]] == ["evil"]
        back = c.get(second["prev"], headers=J).json()
        assert [m["name"] for m in back["models"]] == ["churn"]


def test_model_json_holds_the_lineage(server: Server, world: World) -> None:
    with server.client() as c:
        data = c.get("/models/fraud", headers=J).json()
        page = c.get("/models/fraud").text
    assert data["lineage"] == json.loads(world.landmark("lineage", "fraud@v1.0.0", "--json"))
    assert [s["name"] for s in data["lineage"]["stages"]] == ["train-fraud"]
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "<script>alert(2)" not in page


def test_escaped_repo_content(server: Server) -> None:
    with server.client() as c:
        html = c.get("/").text
        page = c.get("/models/fraud").text
    for text in (html, page):
        assert "<script>alert" not in text and "<b>bold</b>" not in text
        assert (
            "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
            in text
        )


def test_every_page_renders_with_security_headers(server: Server) -> None:
    pages = ["/", "/?cols=latest&sort=-updated", "/models/churn", "/models/churn?version=v0.0.1",
             "/models/fraud?kind=assignment", "/compare?refs=churn@v0.0.1,churn@v0.0.2",
             "/compare", "/signin"]  # fmt: skip
    with server.client() as c:
        for url in pages:
            r = c.get(url)
            assert r.status_code == 200, (url, r.text[-500:])
            assert r.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["server-timing"].startswith("app;dur=")


def test_bad_input_statuses(server: Server) -> None:
    with server.client() as c:
        cases = {
            "/models/nope": 404,
            "/models/churn?version=v9.9.9": 404,
            "/models/churn?version=banana": 422,
            "/models/churn?kind=party": 422,
            "/?sort=colour": 422,
            "/?limit=0": 422,
            "/?after=not-a-cursor": 422,
            "/?repo=elsewhere": 404,
            "/compare?refs=churn@v0.0.1": 422,
            "/compare?refs=churn@banana,churn@v0.0.1": 422,
            "/compare?refs=--upload-pack=x,churn@v0.0.1": 404,
            "/files/churn": 422,
            "/no/such/page": 404,
        }
        for url, status in cases.items():
            r = c.get(url, headers=J)
            assert r.status_code == status, (url, r.text)
            assert r.json()["error"] and "\n" not in r.json()["error"]
        html = c.get("/models/nope")
    assert html.status_code == 404 and "model &#39;nope&#39; not found" in html.text
    assert "Traceback" not in html.text


def test_bad_stage_is_422(server: Server) -> None:
    with server.client() as c:
        r = c.post("/models/churn/assign", json={"stage": "no such!", "version": "v0.0.2"},
                   headers=BEARER)  # fmt: skip
    assert r.status_code == 422 and "invalid stage" in r.json()["error"]


def test_actions_need_the_token(server: Server, readonly: Server, world: World) -> None:
    before = world.tags()
    body = {"stage": "staging", "version": "v0.0.2", "confirm": "churn#staging#3"}
    with server.client() as c:
        assert c.post("/models/churn/assign", json=body, headers=J).status_code == 401
        wrong = {**J, "Authorization": "Bearer not-the-token"}
        assert c.post("/models/churn/assign", json=body, headers=wrong).status_code == 401
    with readonly.client() as c:
        r = c.post("/models/churn/assign", json=body, headers=BEARER)
        assert r.status_code == 403 and "read-only" in r.json()["error"]
    assert world.tags() == before


def test_sign_in_sets_a_session_cookie(server: Server) -> None:
    with server.client() as c:
        assert c.post("/signin", data={"token": "wrong"}).status_code == 401
        r = c.post("/signin", data={"token": TOKEN})
        assert r.status_code == 303 and "landmark_ui_session" in r.headers["set-cookie"]
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        body = {"stage": "qa", "version": "v0.0.2"}
        plan = c.post("/models/churn/assign", json=body, headers=J)
        assert plan.status_code == 200 and plan.json()["done"] is False
        foreign = c.post(
            "/models/churn/assign", json=body, headers={**J, "Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403


def test_plan_then_confirm_writes_and_pushes(server: Server, world: World) -> None:
    with server.client() as c:
        plan = c.post("/models/fraud/assign", json={"stage": "canary", "version": "v1.0.0"},
                      headers=BEARER).json()  # fmt: skip
        [tag] = plan["plan"]["create"]
        assert tag["tag"] == "fraud#canary#2" and plan["plan"]["push"] is True
        assert tag["message"].endswith("Made through the landmark web UI.")
        assert tag["tag"] not in world.tags()
        stale = c.post("/models/fraud/assign", headers=BEARER,
                       json={"stage": "canary", "version": "v1.0.0", "confirm": "fraud#canary#9"})  # fmt: skip
        assert stale.status_code == 409 and tag["tag"] not in world.tags()
        done = c.post("/models/fraud/assign", headers=BEARER,
                      json={"stage": "canary", "version": "v1.0.0", "confirm": tag["tag"]})  # fmt: skip
        assert done.status_code == 200, done.text
        assert done.json()["created"]["tag"] == tag["tag"] and done.json()["pushed"] is True
    assert tag["tag"] in world.tags()
    assert tag["tag"] in world.tags(world.remote)
    tagger = world.git(
        "for-each-ref", "--format=%(taggername) %(taggeremail)", f"refs/tags/{tag['tag']}"
    )
    assert tagger == "Ada Tester <ada@example.com>"
    history = json.loads(world.landmark("history", "fraud", "--json"))
    assert history[0]["ref"] == tag["tag"] and "web UI" in history[0]["message"]


def test_stamp_changes_with_the_tags(server: Server, world: World) -> None:
    with server.client() as c:
        stamp = c.get("/stamp", headers=J).json()["stamp"]
        assert c.get("/stamp", params={"since": stamp}).status_code == 204
        world.git("tag", "-a", "-m", "Registering artifact fraud version v1.1.0", "fraud@v1.1.0")
        # the registry checks its refs at most once a second: poll as the page does
        deadline = time.monotonic() + 30
        while (changed := c.get("/stamp", params={"since": stamp})).status_code == 204:
            assert time.monotonic() < deadline, "the stamp never changed"
            time.sleep(0.2)
        assert changed.status_code == 200 and changed.headers["hx-trigger"] == "registry-changed"
        assert f"since={c.get('/stamp', headers=J).json()['stamp']}" in changed.text
        # once the stamp has moved, the pages already show the new tag
        fraud = next(m for m in c.get("/", headers=J).json()["models"] if m["name"] == "fraud")
        assert fraud["version"] == "v1.1.0"


def _members(r: httpx.Response) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_download_streams_the_model_files(server: Server) -> None:
    with server.client() as c:
        r = c.get("/files/churn?version=v0.0.1")
        single = c.get("/files/fraud?version=v1.0.0")
    assert r.status_code == 200 and r.headers["content-type"] == "application/gzip"
    assert 'filename="churn-v0.0.1.tar.gz"' in r.headers["content-disposition"]
    assert {"churn-v0.0.1/landmark.yaml", "churn-v0.0.1/model.skops"} <= set(_members(r))
    assert _members(single) == {"fraud-v1.0.0/fraud.bin": b"\x00fraud model bytes"}


def test_download_refuses_a_path_leaving_the_repo(server: Server) -> None:
    with server.client() as c:
        r = c.get("/files/evil?version=v0.1.0", headers=J)
    assert r.status_code == 422 and "leaves the work tree" in r.json()["error"]


def test_several_repositories_one_a_url_fetched_on_interval(world: World, tmp_path: Path) -> None:
    served = _start(world, tmp_path / "log", "-r", world.remote.as_uri())
    try:
        with served.client() as c:
            both = c.get("/", headers=J).json()
            assert [r["id"] for r in both["repos"]] == ["repo", "remote"]
            assert {m["repo"] for m in both["models"]} == {"repo", "remote"}
            remote = c.get("/?repo=remote", headers=J).json()["models"]
            assert {m["name"] for m in remote} == {"churn", "evil", "fraud"}
            page = c.get("/models/evil?repo=remote", headers=J).json()
            assert page["repo"] == "remote" and page["version"]["version"] == "v0.1.0"
            commit = page["version"]["commit_hexsha"]
            world.git("tag", "-a", "-m", "Registering artifact evil version v0.3.0",
                      "evil@v0.3.0", commit, cwd=world.remote)  # fmt: skip
            deadline = time.monotonic() + 60
            while True:
                found = c.get("/?repo=remote", headers=J).json()["models"]
                if next(m for m in found if m["name"] == "evil")["version"] == "v0.3.0":
                    break
                assert time.monotonic() < deadline, "the URL was never fetched again"
                time.sleep(0.5)
            assert "evil@v0.3.0" not in world.tags()  # fetched into the cache, not the clone
    finally:
        served.stop()


def test_cli_errors_are_one_line(world: World, tmp_path: Path) -> None:
    cases = [
        (["--token-file", str(tmp_path / "missing")], "cannot read the token file"),
        (["-r", str(tmp_path / "not-a-repo")], "not-a-repo"),
        (["--interval", "0"], "--interval must be more than 0"),
    ]
    for args, text in cases:
        proc = subprocess.run(
            [LANDMARK, "ui", "--port", "0", *args], cwd=world.repo, env=world.env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode != 0 and text in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
