"""The HTML report of advice and scenario discovery: tables and charts equal the record."""

from __future__ import annotations

import pytest

pytest.importorskip("plotly")
pytest.importorskip("jinja2")

from detente.report.html import ADVICE_CHART_TOP, ADVICE_TOP, render_report
from detente.store.record import RunRecord
from tests.report.test_html import Page, number_of


def test_advice_table_and_chart_equal_the_record(records: dict[str, RunRecord]) -> None:
    record = records["advise"]
    parsed = Page(render_report(record))
    levers = record.results["levers"]
    rows = parsed.body_rows("levers")
    assert len(rows) == min(ADVICE_TOP, len(levers))
    for rank, (row, lever) in enumerate(zip(rows, levers, strict=False), start=1):
        assert number_of(row[0]) == rank
        assert row[1][0].startswith(lever["label"])
        assert row[2][0] == lever["kind"]
        assert number_of(row[3]) == lever["gain"]["median"]
        assert number_of(row[4]) == lever["gain"]["q05"]
        assert number_of(row[5]) == lever["gain"]["q95"]
    chart = parsed.charts()[0]
    shown = levers[:ADVICE_CHART_TOP]
    bars = {
        label: x for trace in chart["data"] for label, x in zip(trace["y"], trace["x"], strict=True)
    }
    assert bars == {lv["label"]: lv["gain"]["median"] for lv in shown}
    assert record.results["caveat"] in parsed_text(record)
    base = parsed.body_rows("advice-baseline")
    assert [number_of(r[3]) for r in base] == [
        record.results["baseline"][k] for k in record.results["issues"]
    ]


def parsed_text(record: RunRecord) -> str:
    import html as _html

    return _html.unescape(render_report(record))


def test_discovery_boxes_and_trajectory_equal_the_record(records: dict[str, RunRecord]) -> None:
    record = records["discover"]
    parsed = Page(render_report(record))
    boxes = record.results["boxes"]
    assert boxes, "the synthetic scenario has a box to find for x >= 50"
    for b, box in enumerate(boxes, start=1):
        rows = parsed.tables[f"box-{b}"]
        inputs = [r[0][0].removeprefix("~ ") for r in rows[1:]]
        assert inputs == [r["input"] for r in box["restrictions"]] or (
            not box["restrictions"] and inputs == ["(no input restricted)"]
        )
    chart = parsed.charts()[0]
    peel = chart["data"][0]
    assert peel["x"] == [p["coverage"] for p in boxes[0]["trajectory"]]
    assert peel["y"] == [p["density"] for p in boxes[0]["trajectory"]]
    final = chart["data"][1]
    assert final["x"][1] == boxes[0]["coverage"]
    assert "x ≥ 50" in parsed_text(record)
