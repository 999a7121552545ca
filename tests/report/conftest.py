"""Run records of every kind, built from what the commands print with ``--format json``.

The records are made directly, not through the run store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.evidence import DocumentStore, anchor_for
from detente.io.yaml_io import read_yaml, write_yaml
from detente.scenario import Scenario
from detente.sim.advise import advise
from detente.sim.discover import discover
from detente.store.record import RunKind, RunRecord

MEMO = "Minutes of the meeting. Party A holds the strongest hand in these talks; B hesitates.\n"

NASTY = "<script>alert(1)</script>"
"""Actor c's label: it must reach the page as text, never as markup."""

SCENARIO = """\
name: synthetic
description: A small scenario with <b>markup</b> & ampersands in its text.
issues:
- id: x
  label: Issue X
  scale: {{min: 0, max: 100, min_label: nothing of X, max_label: all of X}}
- {{id: y, label: Issue Y}}
actors:
- id: a
  label: Party A
  capability: {{value: 2, source: memo-span}}
  stances:
    x:
      position:
        value: 40
        uncertainty: ±20
        source: {{kind: judgement, rationale: a guess & more}}
      salience: 0.9
    y: {{position: 50, salience: {{value: 0.5, source: stats}}}}
- id: b
  capability: {{value: 1, uncertainty: {{dist: triangular, low: 0.5, high: 2}}}}
  stances:
    x: {{position: {{value: 60, uncertainty: ±20}}, salience: 0.2}}
    y: {{position: {{value: 30, uncertainty: ±10}}, salience: 0.5}}
- id: c
  label: "{nasty}"
  capability: 1.5
  stances:
    x: {{position: 80, salience: {{value: 0.6, uncertainty: ±0.1}}}}
    y: {{position: 70, salience: 0.4}}
thresholds:
- {{issue: x, op: ">=", value: 50, label: X at least half}}
sources:
  memo-span: {{kind: anchor, document: {doc}, start: {start}, end: {end}, file: memo.txt,
    note: the minutes say so}}
  stats: {{kind: citation, publication: Stats Yearbook, year: 2024, figure: 12 units,
    url: "https://example.org/stats"}}
shocks:
  boost:
    label: A gains ground
    description: Party A pushes X up.
    source: {{kind: judgement, rationale: plausible after the meeting}}
    changes:
    - {{actor: a, issue: x, field: position, op: add, value: 10, source: memo-span}}
"""

runner = CliRunner()


def memo_store() -> DocumentStore:
    return DocumentStore.from_texts({"memo.txt": MEMO})


@pytest.fixture(scope="session")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = memo_store().named("memo.txt")
    assert doc is not None
    anchor = anchor_for(doc, "the strongest hand")
    path = tmp_path_factory.mktemp("report") / "synthetic.yaml"
    text = SCENARIO.format(nasty=NASTY, doc=doc.id, start=anchor.start, end=anchor.end)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def scenario(scenario_file: Path) -> Scenario:
    return read_yaml(scenario_file, scenario_file.read_bytes())


def command_json(*args: str) -> Any:
    """What ``detente ARGS --format json`` prints, parsed (not recorded in any store)."""
    result = runner.invoke(app, [*args, "--format", "json", "--no-record"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def make_record(
    scenario: Scenario,
    kind: RunKind,
    models: list[str],
    results: Any,
    params: dict[str, Any] | None = None,
) -> RunRecord:
    return RunRecord(
        id=7,
        kind=kind,
        created_at=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        scenario_name=scenario.name,
        scenario_hash="ab" * 32,
        models=models,
        seed=0,
        version="0.1.0",
        scenario_yaml=write_yaml(scenario, "x.yaml").decode("utf-8"),
        params=params or {},
        results=results,
    )


RecordFactory = Callable[[str], RunRecord]

KINDS = (
    "run-one",
    "run-many",
    "mc",
    "compare",
    "shock",
    "advise",
    "discover",
    "sensitivity-morris",
    "sensitivity-sobol",
)


@pytest.fixture(scope="session")
def records(scenario_file: Path, scenario: Scenario) -> dict[str, RunRecord]:
    """One record per case of :data:`KINDS` (small draws and samples)."""
    f = str(scenario_file)
    out = {
        "run-one": make_record(scenario, "run", ["eu"], command_json("run", f, "-m", "eu")),
        "run-many": make_record(
            scenario,
            "run",
            ["mean", "median", "eu", "smp"],
            command_json("run", f, "-m", "mean", "-m", "median", "-m", "eu", "-m", "smp"),
            params={"eu": {"rounds": 10}},
        ),
        "mc": make_record(
            scenario,
            "mc",
            ["eu"],
            command_json("mc", f, "-m", "eu", "--draws", "40"),
            params={"eu": {}, "options": {"draws": 40}},
        ),
        "compare": make_record(
            scenario,
            "compare",
            ["mean", "median"],
            command_json("compare", f, "-m", "mean", "-m", "median"),
        ),
        "shock": make_record(
            scenario, "shock", ["eu"], command_json("shock", f, "--apply", "boost", "-m", "eu")
        ),
    }
    out["advise"] = make_record(
        scenario,
        "advise",
        ["median"],
        advise(scenario, "a", "median", draws=40, seed=0).to_dict(),
        params={"median": {}, "options": {"actor": "a", "draws": 40}},
    )
    out["discover"] = make_record(
        scenario,
        "discover",
        ["mean"],
        discover(scenario, "x >= 50", "mean", draws=300, seed=0).to_dict(),
        params={"mean": {}, "options": {"threshold": "x >= 50", "draws": 300}},
    )
    try:
        import SALib  # noqa: F401
    except ImportError:
        return out
    out["sensitivity-morris"] = make_record(
        scenario,
        "sensitivity",
        ["mean"],
        command_json("sensitivity", f, "-m", "mean", "--method", "morris", "-n", "4"),
        params={"mean": {}, "options": {"method": "morris", "top": 3}},
    )
    out["sensitivity-sobol"] = make_record(
        scenario,
        "sensitivity",
        ["median"],
        command_json("sensitivity", f, "-m", "median", "-n", "8"),
    )
    return out


@pytest.fixture(params=KINDS)
def record(request: pytest.FixtureRequest, records: dict[str, RunRecord]) -> RunRecord:
    name = str(request.param)
    if name not in records:
        pytest.skip("sensitivity needs SALib")
    return records[name]
