"""The UI in a real Chromium (Playwright, headless): pages, search and filters, compare, an
action through its dialog, a refused action, dark mode, and axe-core's accessibility check.
Every page's screenshot is kept in tests/ui/artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import TOKEN, Server, World


def shot(page: Any, artifacts: Path, name: str) -> None:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_models_table_search_and_filters(page: Any, server: Server, artifacts: Path) -> None:
    page.goto(server.url + "/")
    table = page.locator("#models")
    assert table.locator("caption").inner_text().startswith("3 models")
    assert table.locator("th[scope=col]", has_text="#prod").count() == 1
    churn = table.locator("tbody tr", has_text="churn")
    assert "v0.0.2" in churn.inner_text() and "Ada Tester" in churn.inner_text()
    shot(page, artifacts, "models")
    page.keyboard.press("/")
    page.keyboard.type("customers")
    page.wait_for_url("**q=customers**")
    page.locator("#models tbody tr", has_text="churn").wait_for()
    assert page.locator("#models tbody tr").count() == 1
    shot(page, artifacts, "models-search")
    page.goto(server.url + "/")
    page.select_option("#label", "risk")
    page.wait_for_url("**label=risk**")
    assert page.locator("#models tbody tr").all_inner_texts()[0].startswith("fraud")
    page.goto(server.url + "/?sort=-name&cols=latest")
    heads = page.locator("#models thead th").all_inner_texts()
    assert [h.replace("▼", "").strip() for h in heads] == ["Name", "Latest"]
    assert page.locator("#models tbody th").first.inner_text().startswith("fraud")


def test_model_page(page: Any, server: Server, artifacts: Path) -> None:
    page.goto(server.url + "/")
    page.locator("#models a", has_text="churn").first.click()
    page.wait_for_url("**/models/churn**")
    assert page.locator("h1").inner_text().startswith("churn v0.0.2")
    assert "scikit-learn" in page.locator("#model-h + dl").inner_text()
    assert page.locator("#history tbody tr").count() >= 3
    page.locator("#versions a", has_text="v0.0.1").click()
    page.wait_for_url("**version=v0.0.1**")
    assert "0.74" in page.locator("section", has_text="Metrics and params").inner_text()
    assert page.locator("#download").get_attribute("href").endswith("version=v0.0.1")
    plot = page.locator("section[aria-labelledby=plots-h] img").first
    plot.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=plot.element_handle())
    shot(page, artifacts, "model")
    page.select_option("#kind", "assignment")
    page.locator("section", has_text="History").get_by_role("button", name="Filter").click()
    page.wait_for_url("**kind=assignment**")
    assert all("assignment" in t for t in page.locator("#history tbody tr").all_inner_texts())


def test_compare_from_the_model_page(page: Any, server: Server, artifacts: Path) -> None:
    page.goto(server.url + "/models/churn")
    page.check("input[aria-label='Compare v0.0.1']")
    page.check("input[aria-label='Compare v0.0.2']")
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url("**/compare?**")
    row = page.locator("#compare-metrics tr", has_text="accuracy")
    # highest version first, as the versions table lists them: deltas against v0.0.2
    assert "0.81" in row.inner_text() and "0.74 (-0.07)" in row.inner_text()
    plot = page.locator("figure.plot img").first
    plot.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=plot.element_handle())
    shot(page, artifacts, "compare")
    page.check("#diff_only")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_url("**diff_only=1**")
    assert "penalty" not in page.locator("#compare-params").inner_text()


def test_assign_through_the_dialog(
    page: Any, server: Server, world: World, artifacts: Path
) -> None:
    page.goto(server.url + "/signin?next=/models/churn")
    page.fill("#token", TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/models/churn")
    page.fill("#assign-stage", "staging")
    page.get_by_role("button", name="Assign…").click()
    dialog = page.locator("dialog#dialog")
    dialog.locator("#planned-tag").wait_for()
    tag = dialog.locator("#planned-tag").inner_text()
    assert tag.startswith("churn#staging#") and tag not in world.tags()
    assert "Made through the landmark web UI." in dialog.inner_text()
    shot(page, artifacts, "assign-dialog")
    dialog.locator("#confirm-button").click()
    dialog.locator("#created-tag").wait_for()
    assert dialog.locator("#created-tag").inner_text() == tag
    shot(page, artifacts, "assign-done")
    assert tag in world.tags() and tag in world.tags(world.remote)
    dialog.get_by_role("button", name="Close").click()
    page.locator("section[aria-labelledby=stages-h] tr", has_text="staging").wait_for()


def test_refused_without_a_token(
    page: Any, server: Server, readonly: Server, world: World, artifacts: Path
) -> None:
    before = world.tags()
    page.goto(server.url + "/models/fraud")  # actions shown, but not signed in
    page.fill("#assign-stage", "qa")
    page.get_by_role("button", name="Assign…").click()
    alert = page.locator("dialog#dialog [role=alert]")
    alert.wait_for()
    assert "401" in alert.inner_text() and "sign in" in alert.inner_text().lower()
    shot(page, artifacts, "refused")
    page.goto(readonly.url + "/models/fraud")
    assert page.locator("#assign-form").count() == 0
    assert page.locator(".badge", has_text="read-only").count() == 1
    assert world.tags() == before


def test_dark_mode_toggle(page: Any, server: Server, artifacts: Path) -> None:
    page.goto(server.url + "/")
    page.get_by_role("button", name="Dark mode").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(19, 20, 22)"
    shot(page, artifacts, "models-dark")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.get_by_role("button", name="Light mode").get_attribute("aria-pressed") == "true"


def test_keyboard_moves_between_rows(page: Any, server: Server) -> None:
    page.goto(server.url + "/")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.textContent") == "churn"
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/models/evil**")


def test_accessibility(browser: Any, server: Server) -> None:
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, bypass_csp=True)
        tab = context.new_page()
        found = {}
        for url in (
            "/",
            "/models/churn",
            "/compare?refs=churn@v0.0.1,churn@v0.0.2",
            "/signin",
            "/models/nope",
        ):
            tab.goto(server.url + url)
            found[url] = serious(tab)
        tab.goto(server.url + "/models/churn")
        tab.fill("#assign-stage", "qa")
        tab.get_by_role("button", name="Assign…").click()
        tab.locator("dialog#dialog [role=alert]").wait_for()
        found["dialog"] = serious(tab)
        context.close()
        assert not any(found.values()), (scheme, found)


def test_table_follows_new_tags(page: Any, server: Server, world: World) -> None:
    page.goto(server.url + "/?q=evil")
    row = page.locator("#models tbody tr", has_text="evil")
    assert "v0.1.0" in row.inner_text()
    world.landmark("register", "evil", "--version", "v0.5.0")
    # no reload: the page polls /stamp and fetches its table again when the refs change
    page.locator("#models tbody tr", has_text="v0.5.0").wait_for(timeout=30_000)
    assert page.url.endswith("/?q=evil")
