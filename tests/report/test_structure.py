"""Reports show a scenario's causal map (a graph) and its summit's frontier (a plot)."""

from __future__ import annotations

import html

import numpy as np
import pytest

pytest.importorskip("plotly")
pytest.importorskip("jinja2")

from detente.causal import settle
from detente.evidence import DocumentStore, quote
from detente.io import load_default
from detente.models import run
from detente.report.html import render_report
from detente.report.structure import causal_map_png, frontier_png, layout
from detente.scenario import Anchor
from detente.summit import summit
from tests.conftest import shared_path
from tests.report.conftest import make_record
from tests.report.test_html import Page


@pytest.fixture(scope="module")
def page() -> str:
    sc = load_default()
    record = make_record(sc, "run", ["mean"], run(sc, "mean").to_dict(scenario=sc.name, seed=0))
    return render_report(record, DocumentStore.from_dir(shared_path("seeds")))


def test_the_report_shows_the_map_and_its_sources(page: str) -> None:
    sc = load_default()
    assert sc.causal is not None
    parsed = Page(page)
    assert parsed.errors == []
    assert {"causal-map", "causal-weights", "summit"} <= set(parsed.ids)
    rows = parsed.tables["causal-weights"]
    values = [float(v) for row in rows for _, v in row if v is not None]
    assert values == [e.weight.value for e in sc.causal.edges]
    seeds = DocumentStore.from_dir(shared_path("seeds"))
    for edge in sc.causal.edges:
        source = sc.resolve_source(edge.weight.source)
        if isinstance(source, Anchor):
            assert f"<blockquote>{html.escape(quote(source, seeds))}</blockquote>" in page
    # the graph: one arrow per weight, coloured by sign
    assert page.count('"arrowcolor":"#1f77b4"') + page.count('"arrowcolor":"#d62728"') == len(
        sc.causal.edges
    )


def test_the_report_shows_the_summit(page: str) -> None:
    result = summit(load_default(), seed=0)
    header, *rows = Page(page).tables["summit"]
    assert [text for text, _ in header[:3]] == ["solution", "usa", "russia"]
    assert len(rows) == 1 + len(result.solutions)  # no deal, then each solution
    nash = result.solutions["nash"]
    assert nash is not None
    shown = [float(v) for _, v in rows[1] if v is not None]
    np.testing.assert_allclose(shown, [*nash.utilities, *nash.outcome], rtol=0, atol=1e-12)
    assert "Pareto frontier" in page


def test_pngs_are_drawn_and_reproducible() -> None:
    pytest.importorskip("matplotlib")
    sc = load_default()
    assert sc.causal is not None
    first = causal_map_png(sc.causal, title="ukraine-talks")
    assert first.startswith(b"\x89PNG")
    assert causal_map_png(sc.causal, title="ukraine-talks") == first
    result = summit(sc)
    png = frontier_png(result)
    assert png.startswith(b"\x89PNG")
    assert frontier_png(result) == png
    assert causal_map_png(sc.causal, settle(sc.causal, {"sanctions": 1.0})) != first


def test_layout_puts_levers_left_and_outcomes_right() -> None:
    sc = load_default()
    assert sc.causal is not None
    x, y = layout(sc.causal)
    kinds = [c.kind for c in sc.causal.concepts]
    assert all(x[i] == 0.0 for i, k in enumerate(kinds) if k == "lever")
    assert all(x[i] == 1.0 for i, k in enumerate(kinds) if k == "outcome")
    assert all(0.0 < x[i] < 1.0 for i, k in enumerate(kinds) if k == "indicator")
    # within a layer, no two concepts share a place
    places = {(float(a), float(b)) for a, b in zip(x, y, strict=True)}
    assert len(places) == len(kinds)
    # every edge between indicators points rightwards or stays in its layer
    index = {c: i for i, c in enumerate(sc.causal.ids)}
    for edge in sc.causal.edges:
        assert x[index[edge.cause]] < x[index[edge.effect]]
