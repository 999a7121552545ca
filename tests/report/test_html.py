"""The HTML report: every kind renders, numbers equal the record's, sources, safety, offline."""

from __future__ import annotations

import html
import json
import re
import sys
from html.parser import HTMLParser
from typing import Any

import pytest

pytest.importorskip("plotly")
pytest.importorskip("jinja2")

from detente.evidence import DocumentStore, quote
from detente.io import resolve
from detente.models import run
from detente.report.html import anchor_problems, render_report
from detente.report.plots import MissingExtraError
from detente.scenario import Anchor, Scenario
from detente.store.record import RunRecord
from tests.conftest import shared_path
from tests.report.conftest import MEMO, NASTY, make_record, memo_store

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Page(HTMLParser):
    """Checks that every opened element is closed in order and collects what the tests need."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.links: list[dict[str, str | None]] = []
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.ids: list[str] = []
        self._table: str | None = None
        self._row: list[tuple[str, str | None]] | None = None
        self._cell: list[str] | None = None
        self._value: str | None = None
        self._script: list[str] | None = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {[tag for tag, _ in self.stack]}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "link":
            self.links.append(a)
        if tag in VOID:
            return
        self.stack.append((tag, a))
        if tag == "script":
            self._script = []
        elif tag == "table" and a.get("id"):
            self._table = str(a["id"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._value = [], a.get("data-value")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1][0] if self.stack else 'nothing'}")
            return
        _, attrs = self.stack.pop()
        if tag == "script" and self._script is not None:
            self.scripts.append((attrs, "".join(self._script)))
            self._script = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(("".join(self._cell).strip(), self._value))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def charts(self) -> list[dict[str, Any]]:
        return [
            json.loads(body)
            for attrs, body in self.scripts
            if attrs.get("type") == "application/json" and attrs.get("data-chart")
        ]

    def body_rows(self, table: str) -> list[list[tuple[str, str | None]]]:
        # The first row(s) are headers: keep the rows of the body (those with a data-value).
        return [row for row in self.tables[table] if any(v is not None for _, v in row)]


@pytest.fixture(scope="session")
def pages(records: dict[str, RunRecord]) -> dict[str, str]:
    return {name: render_report(record) for name, record in records.items()}


@pytest.fixture(scope="session")
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


@pytest.fixture
def page(record: RunRecord, records: dict[str, RunRecord], pages: dict[str, str]) -> str:
    name = next(n for n, r in records.items() if r is record)
    return pages[name]


SECTIONS = {  # the answer first, the inputs last
    "run": ["forecast", "positions", "inputs"],
    "mc": ["forecast", "fan", "inputs"],
    "compare": ["forecast", "comparison", "inputs"],
    "shock": ["forecast", "comparison", "inputs"],
    "sensitivity": ["sensitivity", "inputs"],
    "advise": ["advice", "inputs"],
    "discover": ["discovery", "inputs"],
}


def test_every_kind_renders_a_well_formed_page(record: RunRecord, page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    parsed = Page(page)
    assert parsed.errors == []
    sections = [i for i in parsed.ids if i in {s for v in SECTIONS.values() for s in v}]
    assert sections == SECTIONS[record.kind]
    charts = parsed.charts()
    assert charts, "every kind has at least one chart"
    for fig in charts:
        assert fig["data"]
        assert "layout" in fig
    # Every chart has the element it is drawn into.
    chart_ids = [a["data-chart"] for a, _ in parsed.scripts if a.get("data-chart")]
    assert all(cid in parsed.ids for cid in chart_ids)
    assert len(set(chart_ids)) == len(chart_ids)


def test_plotly_is_embedded_once_and_nothing_is_fetched(page: str, plotly_js: str) -> None:
    assert page.count(plotly_js) == 1
    parsed = Page(page)
    for attrs, _ in parsed.scripts:
        assert "src" not in attrs
    for link in parsed.links:
        assert not str(link.get("href", "")).startswith(("http:", "https:", "//"))
    # No script, stylesheet, image or frame loaded from anywhere (hyperlinks may be).
    assert re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page) is None
    assert "@import" not in page
    assert "MathJax" not in page.replace(plotly_js, "")


def test_header_names_what_ran(record: RunRecord, page: str) -> None:
    for text in (f"#{record.id}", record.kind, record.scenario_hash, "0.1.0", "2025-03-01"):
        assert text in page


def test_scenario_text_is_escaped(page: str) -> None:
    assert NASTY not in page
    assert "<b>markup</b>" not in page
    assert html.escape(NASTY, quote=False) in page
    # In the charts the label arrives escaped for Plotly, which shows entities as text.
    names = {t.get("name") for fig in Page(page).charts() for t in fig["data"]}
    assert NASTY not in names
    if any(str(n).startswith("forecast") for n in names):  # charts with one line per actor
        assert html.escape(NASTY) in names


def test_script_elements_are_only_ours(page: str) -> None:
    parsed = Page(page)
    kinds = [attrs.get("type") for attrs, _ in parsed.scripts]
    assert kinds.count(None) == 2  # plotly.js and the few lines that draw the charts
    assert set(kinds) <= {None, "application/json"}


def number_of(cell: tuple[str, str | None]) -> float:
    assert cell[1] is not None
    return float(cell[1])


def test_run_forecast_table_equals_the_record(records: dict[str, RunRecord]) -> None:
    record = records["run-many"]
    parsed = Page(render_report(record))
    traces = record.results
    rows = parsed.body_rows("forecast-table")
    assert [r[0][0] for r in rows] == ["Issue X", "Issue Y"]
    for row, issue in zip(rows, ["x", "y"], strict=True):
        for cell, trace in zip(row[2:], traces, strict=True):
            assert number_of(cell) == trace["forecast"][issue]
            assert cell[0] == f"{trace['forecast'][issue]:.1f}"


def test_run_positions_by_round_chart_per_issue(records: dict[str, RunRecord]) -> None:
    record = records["run-one"]
    charts = Page(render_report(record)).charts()
    assert len(charts) == 2  # one per issue
    trace = record.results
    x_fig = charts[0]
    lines = [t for t in x_fig["data"] if t.get("mode", "").startswith("lines") and t["name"]]
    by_name = {t["name"]: t for t in lines}
    assert "Party A" in by_name
    rounds = trace["rounds"]
    a_x = [next(e["position"] for e in state if e["actor"] == "a" and e["issue"] == "x")
           for state in rounds]  # fmt: skip
    assert by_name["Party A"]["y"] == a_x
    assert by_name["Party A"]["x"] == list(range(len(rounds)))
    forecast = trace["forecast"]["x"]
    assert f"forecast {forecast:.1f}" in by_name


def test_one_round_models_need_no_chart(records: dict[str, RunRecord]) -> None:
    page = render_report(records["run-many"])
    assert "mean, median: one round" in page
    titles = [fig["layout"]["title"]["text"] for fig in Page(page).charts()]
    assert titles == ["eu: Issue X", "eu: Issue Y", "smp: Issue X", "smp: Issue Y"]


def test_mc_tables_and_fan_chart(records: dict[str, RunRecord]) -> None:
    record = records["mc"]
    parsed = Page(render_report(record))
    summary = record.results["issues"]
    rows = parsed.body_rows("forecast-table")
    for row, issue in zip(rows, ["x", "y"], strict=True):
        assert [number_of(c) for c in row[2:]] == [
            summary[issue]["median"],
            summary[issue]["q05"],
            summary[issue]["q95"],
        ]
    (threshold,) = parsed.body_rows("thresholds")
    assert threshold[0][0] == "X at least half"
    assert threshold[1][0] == "x ≥ 50"
    assert number_of(threshold[2]) == record.results["thresholds"][0]["probability"]
    charts = parsed.charts()
    assert len(charts) == 2
    by_round = record.results["rounds"]["by_issue"]["x"]
    bands = [t for t in charts[0]["data"] if t.get("fill") == "tonexty"]
    assert len(bands) == 2
    median = next(t for t in charts[0]["data"] if t.get("name") == "median")
    assert median["y"] == [row[2] for row in by_round]
    # The threshold is drawn on the issue it concerns.
    assert [s["y0"] for s in charts[0]["layout"]["shapes"]] == [50]
    assert "shapes" not in charts[1]["layout"]


@pytest.mark.parametrize("name", ["compare", "shock"])
def test_comparison_tables_equal_the_record(records: dict[str, RunRecord], name: str) -> None:
    record = records[name]
    parsed = Page(render_report(record))
    comp = record.results
    base = parsed.body_rows("forecast-table")
    for row, issue in zip(base, ["x", "y"], strict=True):
        assert [number_of(c) for c in row[2:]] == [
            comp["baseline"][m][issue] for m in comp["models"]
        ]
    rows = parsed.body_rows("shock-0")
    expected = [(r["model"], c) for r in comp["results"] for c in r["issues"]]
    assert len(rows) == len(expected)
    for row, (model, change) in zip(rows, expected, strict=True):
        assert row[0][0] == model
        assert [number_of(c) for c in row[2:5]] == [
            change["baseline"],
            change["shocked"],
            change["delta"],
        ]
    charts = parsed.charts()
    deltas = [fig for fig in charts if fig["layout"]["title"]["text"].startswith("Δ forecast")]
    assert len(deltas) == 1
    assert [t["name"] for t in deltas[0]["data"]] == comp["models"]


def test_comparison_names_the_top_contributor(records: dict[str, RunRecord]) -> None:
    record = records["compare"]
    rows = Page(render_report(record)).body_rows("shock-0")
    mean_x = next(r for r in rows if r[0][0] == "mean" and r[1][0] == "Issue X")
    change = next(c for r in record.results["results"] if r["model"] == "mean"
                  for c in r["issues"] if c["issue"] == "x")  # fmt: skip
    assert change["contributions"][0]["actor"] == "a"
    assert mean_x[7][0].startswith("Party A +")
    assert "A gains ground" in render_report(record)


def test_sensitivity_tables_and_tornado(records: dict[str, RunRecord]) -> None:
    if "sensitivity-morris" not in records:
        pytest.skip("sensitivity needs SALib")
    record = records["sensitivity-morris"]
    parsed = Page(render_report(record))
    ranking = record.results["issues"]["x"]
    rows = parsed.body_rows("sensitivity-x")
    assert len(rows) == min(3, len(ranking))  # options.top of the record
    for row, r in zip(rows, ranking[:3], strict=True):
        assert row[1][0] == r["input"]
        assert number_of(row[4]) == r["mu_star"]
    tornado = parsed.charts()[0]
    bars = tornado["data"][0]
    assert bars["orientation"] == "h"
    assert bars["y"] == [r["input"] for r in ranking[:3]]
    assert bars["x"] == [r["mu_star"] for r in ranking[:3]]
    assert {t["name"] for t in tornado["data"]} == {"mu*", "sigma"}


def test_sources_without_documents_give_offsets(records: dict[str, RunRecord]) -> None:
    page = render_report(records["run-one"])
    start = MEMO.index("the strongest hand")
    assert f"characters [{start}, {start + len('the strongest hand')})" in page
    assert "memo.txt" in page
    assert "the minutes say so" in page
    assert "Stats Yearbook (2024): 12 units" in page
    assert "a guess &amp; more" in page
    assert "plausible after the meeting" in page  # the shock's own source
    assert "Quoted spans are not shown" in page
    assert "<blockquote>" not in page
    # Each value links to its source, and the source lists the values citing it.
    assert 'href="#source-1"' in page
    assert "used by: a.capability, shocks.boost[0]: a.x.position add 10" in page


def test_sources_with_documents_quote_the_span(records: dict[str, RunRecord]) -> None:
    page = render_report(records["run-one"], memo_store())
    assert "<blockquote>the strongest hand</blockquote>" in page
    assert "Quoted spans are not shown" not in page


def test_changed_document_is_flagged_not_fatal(
    records: dict[str, RunRecord], scenario: Scenario
) -> None:
    changed = DocumentStore.from_texts({"memo.txt": MEMO.replace("Minutes", "Notes")})
    page = render_report(records["run-one"], changed)
    assert "cannot quote: document &#39;memo.txt&#39; has changed" in page
    (problem,) = anchor_problems(scenario, changed)
    assert "memo-span" in problem
    assert anchor_problems(scenario, memo_store()) == []


def test_seed_articles_are_quoted() -> None:
    seeds = DocumentStore.from_dir(shared_path("seeds"))
    sc = resolve("ukraine-talks").scenario
    trace = run(sc, "mean").to_dict(scenario=sc.name, seed=0)
    record = make_record(sc, "run", ["mean"], trace)
    page = render_report(record, seeds)
    anchors = [
        source
        for _, e in sc.estimates()
        if isinstance(source := sc.resolve_source(e.source), Anchor)
    ]
    assert len(anchors) > 10
    for anchor in anchors[:5] + anchors[-5:]:
        assert f"<blockquote>{html.escape(quote(anchor, seeds))}</blockquote>" in page
        assert f"[{anchor.start}, {anchor.end})" in page
    assert "cannot quote" not in page
    assert anchor_problems(sc, seeds) == []
    assert Page(page).errors == []


def test_render_is_pure(records: dict[str, RunRecord], pages: dict[str, str]) -> None:
    assert render_report(records["mc"]) == pages["mc"]


def test_missing_extra_is_one_clear_error(
    records: dict[str, RunRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(MissingExtraError, match=r'pip install "detente\[report\]"'):
        render_report(records["run-one"])
