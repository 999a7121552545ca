"""The page in a real browser: Debian's headless Chromium driven by Playwright (no download).

Upload a scenario, run, edit a value and see the forecast change, see a validation message
next to its cell, run a Monte Carlo and a comparison, open an evidence span, and keep a
screenshot in ``test-artifacts/web-e2e.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from detente import io
from detente.scenario import Anchor
from tests.conftest import shared_path
from tests.web.conftest import ARTIFACTS, TIMEOUT_MS, LiveServer


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    # Console errors and uncaught exceptions (CSP violations among them). The page's CSP stays
    # on, so tests wait with locators: Playwright's string predicates would need eval.
    tab.problems = []
    tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    tab.goto(live.url + "/")
    tab.wait_for_selector("body[data-ready=true]")
    try:
        yield tab
    finally:
        context.close()


def _forecast(page: Any, issue: str) -> float:
    return float(page.text_content(f'#forecast-table td.forecast[data-issue="{issue}"]'))


def _expected_span(path: str) -> str:
    """The text of the anchor behind ``path`` read straight from the seed file."""
    sc = io.load_default()
    actor, issue, field = path.split(".")
    estimate = getattr(sc.actor(actor).stances[issue], field)
    anchor = sc.resolve_source(estimate.source)
    assert isinstance(anchor, Anchor)
    assert anchor.file is not None
    text = shared_path("seeds", anchor.file).read_bytes().decode("utf-8")
    return text[anchor.start : anchor.end]


def test_upload_edit_run_evidence(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # A file the page has never seen, uploaded through the file input.
    source = tmp_path / "talks.yaml"
    io.save(io.load_default(), source)
    page.set_input_files("#upload-input", str(source))
    expect(page.locator("#scenario-origin")).to_contain_text("talks.yaml")
    assert page.text_content("#scenario-name") == "ukraine-talks"

    page.select_option("#model-select", "mean")
    page.click("#run-button")
    page.wait_for_selector('#forecast-table td.forecast[data-issue="territory"]')
    before = _forecast(page, "territory")

    # Russia's capability up: the weighted mean of territory moves toward Russia's 100.
    capability = page.locator('input[data-actor="russia"][data-field="capability"]')
    capability.fill("90")
    capability.press("Tab")
    expect(page.locator("#run-button")).to_be_enabled()
    page.click("#run-button")
    page.wait_for_selector("#forecast-table th:has-text('Before')")
    after = _forecast(page, "territory")
    assert after > before + 1
    assert page.text_content("#forecast-table tbody tr:first-child td:nth-child(3)") == (
        f"{before:.1f}"
    )
    assert page.locator("#positions-chart .main-svg").count() > 0  # Plotly drew the chart

    # A salience above 1: the message appears next to that cell, and runs wait for a fix.
    salience = page.locator('input[data-actor="usa"][data-issue="nato"][data-field="salience"]')
    salience.fill("1.5")
    salience.press("Tab")
    message = page.locator('.cell-error[data-path="usa.nato.salience"]')
    message.wait_for(state="visible")
    assert "salience must lie in [0, 1]" in message.text_content()
    assert salience.get_attribute("aria-invalid") == "true"
    assert page.is_disabled("#run-button")
    salience.fill("0.4")
    salience.press("Tab")
    message.wait_for(state="hidden")
    assert page.is_enabled("#run-button")

    # Monte Carlo with its progress bar, then every shock side by side.
    page.fill("#draws-input", "400")
    page.click("#mc-button")
    page.wait_for_selector('#mc-table td.mc-median[data-issue="territory"]')
    assert page.get_attribute("#mc-progress", "value") == "400"
    page.click("#compare-button")
    page.wait_for_selector('#compare-table td.shocked[data-shock="summit"][data-issue="ceasefire"]')
    assert page.locator("#compare-table td.shocked").count() == 6 * 5

    # Evidence: the document opens with exactly the anchored span marked and in view.
    path = "russia.territory.position"
    page.click(f'button.src[data-path="{path}"]')
    mark = page.locator("#document-view mark#evidence-mark")
    mark.wait_for(state="visible")
    assert mark.text_content() == _expected_span(path)
    assert page.text_content("#evidence-path") == path
    box, panel = mark.bounding_box(), page.locator("#evidence-panel").bounding_box()
    assert panel["y"] <= box["y"] <= panel["y"] + panel["height"]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-e2e.png"), full_page=True)
    assert (ARTIFACTS / "web-e2e.png").stat().st_size > 10_000
    assert page.problems == []


def test_upload_error_is_shown(page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_text("Stakeholder,Capability,Position,Salience\nA,10,50,high\n", encoding="utf-8")
    page.set_input_files("#upload-input", str(bad))
    error = page.locator("#upload-error")
    error.wait_for(state="visible")
    text = error.text_content()
    assert text.startswith("broken.csv, row 2")
    assert "Salience" in text
    assert page.text_content("#scenario-name") == "ukraine-talks"  # the old one stays
