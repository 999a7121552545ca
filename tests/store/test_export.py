"""Exports of stored runs: JSON (the record), CSV (a tidy table per kind), XLSX (a workbook)."""

from __future__ import annotations

import csv
import io as _io
import json
from typing import Any

import pytest
from openpyxl import load_workbook

from detente import io
from detente.models import run
from detente.sim.compare import compare
from detente.sim.montecarlo import monte_carlo
from detente.store import RunKind, RunRecord, RunStore, open_store
from detente.store.export import results_table

SC = io.load_default()
ISSUES = [i.id for i in SC.issues]


def _payload(kind: RunKind) -> Any:
    """What the command prints with --format json, computed as the command does."""
    if kind == "run":
        arrays = SC.arrays()
        return [
            run(arrays, m, seed=0).to_dict(scenario=SC.name, seed=0) for m in ("mean", "median")
        ]
    if kind == "mc":
        return monte_carlo(SC, "median", 20, 0).to_dict()
    if kind in ("compare", "shock"):
        shocks = ["summit", "sanctions-tighten"]
        return compare(SC, shocks, ["median"], 0, combined=kind == "shock").to_dict()
    from detente.sim.sensitivity import analyse

    return analyse(SC, "median", "morris", samples=4, seed=0).to_dict()


@pytest.fixture
def store(store_url: str) -> Any:
    with open_store(store_url) as s:
        yield s


def _stored(store: RunStore, kind: RunKind) -> RunRecord:
    return store.record(kind, SC, ["median"], {"median": {}}, 0, _payload(kind))


def _csv(store: RunStore, rec: RunRecord) -> list[dict[str, str]]:
    text = store.export(rec.id, "csv").decode("utf-8")
    return list(csv.DictReader(_io.StringIO(text)))


def test_run_csv_has_every_model_and_issue(store: RunStore) -> None:
    rec = _stored(store, "run")
    rows = _csv(store, rec)
    assert list(rows[0]) == ["model", "issue", "forecast"]
    assert [(r["model"], r["issue"]) for r in rows] == [
        (m, k) for m in ("mean", "median") for k in ISSUES
    ]
    median = {r["issue"]: float(r["forecast"]) for r in rows if r["model"] == "median"}
    assert median == rec.results[1]["forecast"]


def test_mc_csv_has_the_band_of_each_issue(store: RunStore) -> None:
    rec = _stored(store, "mc")
    rows = _csv(store, rec)
    assert list(rows[0]) == ["issue", "median", "q05", "q95"]
    assert [r["issue"] for r in rows] == ISSUES
    for r in rows:
        assert float(r["median"]) == rec.results["issues"][r["issue"]]["median"]
        assert float(r["q05"]) <= float(r["median"]) <= float(r["q95"])


@pytest.mark.parametrize("kind", ["compare", "shock"])
def test_compare_and_shock_csv_have_one_row_per_shock_model_issue(
    store: RunStore, kind: RunKind
) -> None:
    rec = _stored(store, kind)
    rows = _csv(store, rec)
    assert list(rows[0])[:6] == ["shock", "model", "issue", "baseline", "shocked", "delta"]
    shocks = ["summit", "sanctions-tighten"] if kind == "compare" else ["summit+sanctions-tighten"]
    assert [(r["shock"], r["issue"]) for r in rows] == [(s, k) for s in shocks for k in ISSUES]
    for r in rows:
        assert float(r["delta"]) == pytest.approx(float(r["shocked"]) - float(r["baseline"]))


def test_sensitivity_csv_ranks_the_inputs_of_each_issue(store: RunStore) -> None:
    rec = _stored(store, "sensitivity")
    rows = _csv(store, rec)
    assert list(rows[0])[:3] == ["issue", "rank", "input"]
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(list(rows[0])[3:])
    first = [r for r in rows if r["issue"] == ISSUES[0]]
    assert [int(r["rank"]) for r in first] == list(range(1, len(first) + 1))
    mu = [float(r["mu_star"]) for r in first]
    assert mu == sorted(mu, reverse=True)


def test_xlsx_holds_the_run_its_results_and_its_scenario(store: RunStore) -> None:
    rec = _stored(store, "mc")
    book = load_workbook(_io.BytesIO(store.export(rec.id, "xlsx")))
    assert book.sheetnames == ["run", "results", "scenario", "yaml"]
    meta = {row[0]: row[1] for row in book["run"].iter_rows(min_row=2, values_only=True)}
    assert meta["id"] == rec.id
    assert meta["kind"] == "mc"
    assert meta["scenario_hash"] == rec.scenario_hash
    assert json.loads(meta["params"]) == rec.params
    columns, rows = results_table(rec)
    got = [list(r) for r in book["results"].iter_rows(values_only=True)]
    assert got[0] == columns
    # openpyxl writes numbers to 16 significant digits
    assert got[1:] == [
        [x if isinstance(x, str) else pytest.approx(x, rel=1e-15) for x in row] for row in rows
    ]
    grid = list(book["scenario"].iter_rows(values_only=True))
    assert grid[0][:5] == (
        "actor",
        "label",
        "capability",
        "territory position",
        "territory salience",
    )
    assert [row[0] for row in grid[1:]] == [a.id for a in SC.actors]
    russia = SC.actors[0]
    assert grid[1][2] == russia.capability.value
    assert grid[1][3] == russia.stances["territory"].position.value
    lines = [row[0] or "" for row in book["yaml"].iter_rows(values_only=True)]
    assert "\n".join(lines) == rec.scenario_yaml.rstrip("\n")


def test_text_in_a_workbook_never_becomes_a_formula(store: RunStore) -> None:
    rec = store.record("run", SC, ["=HYPERLINK(1)"], {}, 0, [])
    book = load_workbook(_io.BytesIO(store.export(rec.id, "xlsx")))
    cell = next(c for row in book["run"].iter_rows() for c in row if c.value == "=HYPERLINK(1)")
    assert cell.data_type == "s"


def test_json_export_is_the_whole_record(store: RunStore) -> None:
    rec = _stored(store, "compare")
    assert RunRecord.model_validate_json(store.export(rec.id, "json")) == rec
