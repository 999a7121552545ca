"""The three pages in a real browser (Debian's headless Chromium driven by Playwright): each
loads the shared script (common.js) before its own, still works (a run, an advice run, the
causal map and the summit), and shows an error of the API in its error area in one line: a
refusal over the budget (413 or 422, JSON naming the limit), a validation error (a list of
them) and a server that does not answer. Screenshots in ``test-artifacts/web-*.png``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from detente.web.budget import Budget
from tests.web.conftest import ARTIFACTS, TIMEOUT_MS, Area, LiveServer


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


def _open(context: Any, url: str) -> Any:
    """A tab on ``url`` that collects console errors and uncaught exceptions."""
    tab = context.new_page()
    tab.console_errors = []
    tab.page_errors = []
    tab.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.page_errors.append(str(e)))
    tab.goto(url)
    return tab


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"web-{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def _error(page: Any, selector: str) -> str:
    from playwright.sync_api import expect

    expect(page.locator(selector)).to_be_visible()
    return str(page.text_content(selector))


def test_every_page_loads_the_shared_script_first(context: Any, live: LiveServer) -> None:
    for path, own in (("/", "app.js"), ("/advise", "advise.js"), ("/structure", "structure.js")):
        page = _open(context, live.url + path)
        scripts = page.locator("script[src]").evaluate_all("nodes => nodes.map(n => n.src)")
        names = [src.rsplit("/", 1)[1] for src in scripts]
        assert names.index("common.js") < names.index(own), names
        assert page.page_errors == []  # no name declared twice, none missing


def test_main_page_runs_and_shows_a_refusal(context: Any, live: LiveServer) -> None:
    page = _open(context, live.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.select_option("#model-select", "eu")
    page.click("#run-button")
    page.wait_for_selector('#forecast-table td.forecast[data-issue="territory"]')
    assert page.text_content("#run-status").startswith("run ")
    assert page.console_errors == []
    assert page.page_errors == []
    # over the budget: eu's rounds beyond --max-rounds, refused with 422 naming the limit
    page.fill("#params-input", "rounds=100000")
    page.click("#run-button")
    text = _error(page, "#run-error")
    assert text == "eu: rounds = 100,000; this server allows at most 1,000 (--max-rounds)"
    assert page.page_errors == []


def test_advice_page_runs_and_shows_errors(context: Any, live: LiveServer) -> None:
    from playwright.sync_api import expect

    page = _open(context, live.url + "/advise")
    page.wait_for_selector("#actor option[value=usa]", state="attached")
    page.select_option("#actor", "usa")
    page.fill("#draws", "20")
    page.click("#ask button[type=submit]")
    expect(page.locator("#run")).to_contain_text("recorded as run ")
    assert page.locator("#levers tbody tr").count() > 0
    assert page.text_content("#summary").startswith("median, 20 draws, seed ")
    assert page.locator("#error").is_hidden()
    assert page.console_errors == []
    assert page.page_errors == []
    _shot(page, "advise")

    # over the budget: (levers + 1) × draws evaluations beyond --max-draws (422, JSON)
    page.fill("#draws", "100000")
    page.click("#ask button[type=submit]")
    text = _error(page, "#error")
    assert "model evaluations" in text, text
    assert text.endswith("(--max-draws)"), text
    # a validation error: FastAPI's list of them, each with its field (was "HTTP 422")
    page.locator("#draws").evaluate("node => node.removeAttribute('min')")  # the form's check
    page.fill("#draws", "0")
    page.click("#ask button[type=submit]")
    expect(page.locator("#error")).to_have_text("draws: Input should be greater than or equal to 1")
    # no answer at all (was the browser's "Failed to fetch" alone)
    page.route("**/api/advise", lambda route: route.abort())
    page.fill("#draws", "20")
    page.click("#ask button[type=submit]")
    expect(page.locator("#error")).to_contain_text("the server did not answer (POST /api/advise)")
    assert page.page_errors == []


def test_structure_page_draws_the_map_and_the_summit(context: Any, live: LiveServer) -> None:
    from playwright.sync_api import expect

    page = _open(context, live.url + "/structure")
    expect(page.locator("#map-chart .main-svg").first).to_be_visible()
    expect(page.locator("#summit-chart .main-svg").first).to_be_visible()
    assert page.locator("#solutions tbody tr").count() > 0
    assert page.text_content("#summit-info") != ""
    # moving a lever redraws the map with what it changes
    lever = page.locator("#levers input[type=range]").first
    lever.fill(str(lever.get_attribute("max")))
    lever.dispatch_event("change")
    expect(page.locator("#changes tbody tr").first).to_be_visible()
    assert page.locator("#map-error").is_hidden()
    assert page.locator("#summit-error").is_hidden()
    assert page.console_errors == []
    assert page.page_errors == []
    _shot(page, "structure")


def test_structure_page_shows_a_body_over_the_budget(context: Any, area: Area) -> None:
    # The scenario sent with each request is larger than this server accepts: 413, JSON.
    tight = area.make_app(budget=Budget(max_body_bytes=1_000))
    with LiveServer(tight) as server:
        page = _open(context, server.url + "/structure")
        expected = "request too large: at most 1,000 bytes are accepted (--max-body)"
        assert _error(page, "#map-error") == expected
        assert _error(page, "#summit-error") == expected
        assert page.page_errors == []
