"""The page's layout in a real browser (Debian's Chromium) at 1,400 and 800 px wide.

After an ``smp`` run, whose long notes once pushed the chart out of its card (width 0), every
chart is drawn with a width, every card and chart stays within the window, nothing scrolls
sideways, the scale ends are written on the charts, the explanation and a sensitivity
analysis show, and a recent run reopens and downloads its report. Screenshots are written to
``test-artifacts/web-layout-{width}.png`` on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from detente import io
from tests.web.conftest import ARTIFACTS, TIMEOUT_MS, LiveServer

WIDTHS = (1400, 800)
SLACK = 1.0
"""Pixels of rounding allowed when one box must lie within another."""


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def page(request: Any, browser: Any, live: LiveServer) -> Iterator[Any]:
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    context.set_default_timeout(3 * TIMEOUT_MS)  # smp and the jobs, on a busy machine
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    tab.goto(live.url + "/")
    tab.wait_for_selector("body[data-ready=true]")
    tab.width = width
    try:
        yield tab
    finally:
        context.close()


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return dict(box)


def _within(inner: dict[str, float], outer: dict[str, float], what: str) -> None:
    assert inner["x"] >= outer["x"] - SLACK, f"{what} starts left of its container"
    right, limit = inner["x"] + inner["width"], outer["x"] + outer["width"]
    assert right <= limit + SLACK, f"{what} ends at {right:.0f} px, beyond {limit:.0f} px"


def _chart_drawn(page: Any, chart: str, card: str) -> None:
    """The chart has its SVG, a real width, and lies within its card and the window."""
    page.wait_for_selector(f"{chart} .main-svg")
    box, svg = _box(page, chart), _box(page, f"{chart} .main-svg")
    assert box["width"] >= 300, f"{chart} is {box['width']:.0f} px wide"
    assert svg["width"] >= 300, f"{chart}'s plot is {svg['width']:.0f} px wide"
    _within(svg, box, f"{chart}'s plot")
    _within(box, _box(page, card), chart)
    _within(box, {"x": 0, "width": page.width}, chart)
    legend = page.locator(f"{chart} .legend")
    title = page.locator(f"{chart} .xtitle")
    if legend.count() and title.count():  # the legend sits below the axis title, not over it
        top, line = legend.first.bounding_box(), title.first.bounding_box()
        assert top["y"] >= line["y"] + line["height"] - SLACK, f"{chart}: legend over axis title"


def _no_sideways_scroll(page: Any) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    inner = page.evaluate("() => window.innerWidth")
    assert scroll <= inner, f"the page is {scroll} px wide in a {inner} px window"
    for section in page.locator("main > section").all():
        box = section.bounding_box()
        _within(box, {"x": 0, "width": inner}, f"section {section.get_attribute('id')}")


def test_layout_after_smp_and_the_analyses(page: Any) -> None:
    from playwright.sync_api import expect

    sc = io.load_default()
    territory = sc.issue("territory").scale

    page.select_option("#model-select", "smp")
    page.click("#run-button")
    page.wait_for_selector('#forecast-table td.forecast[data-issue="territory"]')
    expect(page.locator("#run-notes li").first).to_be_visible()  # smp's long notes
    _chart_drawn(page, "#positions-chart", "#run-section")
    _within(_box(page, "#run-notes"), _box(page, "#run-section"), "the run's notes")

    # The scale's ends are written on the chart, at the ends of its axis.
    ends = page.locator("#positions-chart .annotation-text").all_text_contents()
    assert any(territory.max_label[:40] in text for text in ends), ends
    assert any(territory.min_label[:40] in text for text in ends), ends
    top = _box(page, "#positions-chart .annotation-text >> text=▲")
    bottom = _box(page, "#positions-chart .annotation-text >> text=▼")
    assert top["y"] < bottom["y"]

    # How smp got there: the explanation of the recorded run, one item per step.
    summary = page.locator("#explain-summary")
    expect(summary).to_contain_text("How smp got there (")
    summary.click()
    lines = page.locator('#explain-text ol[data-model="smp"] li')
    expect(lines.first).to_be_visible()
    assert lines.count() > 2
    assert lines.first.text_content().startswith("start: the forecast")
    _within(_box(page, "#explain-text"), _box(page, "#run-section"), "the explanation")

    # A Monte Carlo run and a sensitivity analysis of the median model.
    page.select_option("#model-select", "median")
    page.fill("#draws-input", "200")
    page.click("#mc-button")
    page.wait_for_selector('#mc-table td.mc-median[data-issue="territory"]')
    _chart_drawn(page, "#mc-chart", "#mc-section")
    page.select_option("#sens-method", "morris")
    page.fill("#sens-samples", "4")
    page.click("#sens-button")
    page.wait_for_selector('#sens-table th.sens-input[data-issue="territory"]')
    assert page.locator("#sens-table tbody tr").count() == 10
    _chart_drawn(page, "#sens-chart", "#sensitivity-section")
    expect(page.locator("#sens-status")).to_contain_text("morris on median")

    _no_sideways_scroll(page)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"web-layout-{page.width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # Recent runs: each downloads its report and reopens here.
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(3)  # newest first: sensitivity, mc, smp run
    smp_row = rows.nth(2)
    run_id = smp_row.get_attribute("data-run")
    with page.expect_download() as download:
        smp_row.locator("a.report-link").click()
    assert download.value.suggested_filename == f"run-{run_id}.html"
    saved = download.value.path()
    assert saved is not None
    with open(saved, encoding="utf-8") as fh:
        assert fh.read(15) == "<!DOCTYPE html>"

    forecast = page.text_content('#forecast-table td.forecast[data-issue="territory"]')
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.locator(f'#runs-table button.open-run[data-run="{run_id}"]').click()
    expect(page.locator("#reopen-status")).to_contain_text(f"run {run_id} (run,")
    expect(page.locator("#run-status")).to_contain_text(f"run {run_id}: smp")
    assert page.text_content('#forecast-table td.forecast[data-issue="territory"]') == forecast
    assert page.input_value("#model-select") == "smp"
    assert page.text_content("#scenario-origin") == f"(run {run_id}, stored)"
    _chart_drawn(page, "#positions-chart", "#run-section")
    expect(page.locator("#explain-summary")).to_contain_text("How smp got there (")
    _no_sideways_scroll(page)
    assert page.problems == []
