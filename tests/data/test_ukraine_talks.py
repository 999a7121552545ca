"""The default scenario: it validates, is complete, and every anchor reads from the seeds."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from detente.evidence import DocumentStore, evidence_table
from detente.scenario import Anchor, Scenario

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ACTORS = {"russia", "usa", "ukraine", "nato", "eu", "germany", "france", "poland"}
ISSUES = {"territory", "nato", "sanctions", "guarantees", "ceasefire", "aid"}
RUN = 40  # longest run of seed text the scenario file may share with a seed


def _yaml_text() -> str:
    return files("detente").joinpath("data/ukraine-talks.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(yaml.safe_load(_yaml_text()))


@pytest.fixture(scope="module")
def seeds() -> DocumentStore:
    folder = SHARED / "seeds"
    if not folder.is_dir():
        pytest.fail(f"shared/ not found at {SHARED} (expected the seed articles in {folder})")
    return DocumentStore.from_dir(folder)


def test_validates(scenario: Scenario) -> None:
    assert scenario.name == "ukraine-talks"
    assert scenario.description
    for issue in scenario.issues:
        assert issue.id == issue.id.lower()
        assert issue.label
        assert issue.description
        assert (issue.scale.min, issue.scale.max) == (0, 100)
        assert issue.scale.min_label
        assert issue.scale.max_label


def test_required_actors_and_issues(scenario: Scenario) -> None:
    assert {a.id for a in scenario.actors} >= ACTORS
    assert {i.id for i in scenario.issues} >= ISSUES
    assert all(a.label for a in scenario.actors)


def test_every_actor_has_a_stance_on_every_issue(scenario: Scenario) -> None:
    issues = {i.id for i in scenario.issues}
    for actor in scenario.actors:
        assert set(actor.stances) == issues, actor.id
    scenario.arrays(require_complete=True)


def test_every_estimate_has_a_source(scenario: Scenario, seeds: DocumentStore) -> None:
    rows = evidence_table(scenario, seeds)
    shock_rows = sum(1 + len(s.changes) for s in scenario.shocks.values())
    assert scenario.causal is not None
    assert scenario.summit is not None
    levers = len(scenario.causal.levers)
    map_rows = levers + len(scenario.causal.edges) + len(scenario.causal.links) + 1
    expected = len(scenario.actors) * (1 + 2 * len(scenario.issues)) + shock_rows + map_rows
    assert len(rows) == expected
    assert [r.path for r in rows if r.kind == "none"] == []
    assert all(r.text.strip() for r in rows)


def test_every_map_weight_rests_on_a_span_or_a_judgement(
    scenario: Scenario, seeds: DocumentStore
) -> None:
    """The seeds' map: every weight cites an anchor into a seed or a stated judgement."""
    assert scenario.causal is not None
    rows = {r.path: r for r in evidence_table(scenario, seeds)}
    kinds = set()
    for edge in scenario.causal.edges:
        row = rows[f"causal.{edge.name}"]
        assert row.kind in ("anchor", "judgement"), edge.name
        assert row.value == edge.weight.value
        kinds.add(row.kind)
    assert kinds == {"anchor", "judgement"}
    # the three tables the map rests on: the sanctions indicators, NATO's responses and the
    # erosion of US commitment
    spans = {(r.file, r.start) for r in rows.values() if r.path.startswith("causal.")}
    table_rows = {"Military Expenditure |", "enhanced military presence", "Erosion of US"}
    quoted = {r.text for r in rows.values() if r.path.startswith("causal.") and r.kind == "anchor"}
    for start in table_rows:
        assert any(text.startswith(start) for text in quoted), start
    assert len(spans) >= 10


def test_every_shared_source_is_used(scenario: Scenario) -> None:
    used = {e.source for _, e in scenario.estimates() if isinstance(e.source, str)}
    for shock in scenario.shocks.values():
        used |= {x.source for x in (shock, *shock.changes) if isinstance(x.source, str)}
    assert scenario.causal is not None
    assert scenario.summit is not None
    cmap = scenario.causal
    for ref in (
        *(c.source for c in cmap.concepts),
        *(e.weight.source for e in cmap.edges),
        *(link.source for link in cmap.links),
        scenario.summit.source,
    ):
        if isinstance(ref, str):
            used.add(ref)
    assert set(scenario.sources) == used


def test_anchors_resolve_against_the_seeds(scenario: Scenario, seeds: DocumentStore) -> None:
    anchors = [s for s in scenario.sources.values() if isinstance(s, Anchor)]
    assert len(anchors) >= 25
    for anchor in anchors:
        doc = seeds.get(anchor.document)
        assert doc is not None, f"anchor into {anchor.file!r}: no seed has its hash"
        assert anchor.file == doc.name
        assert 0 <= anchor.start < anchor.end <= len(doc.text)
        assert doc.text[anchor.start : anchor.end].strip()
        assert anchor.note, f"anchor into {anchor.file} at {anchor.start} has no note"
    assert {a.file for a in anchors} == {d.name for d in seeds}


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_no_seed_text_copied_into_the_scenario(seeds: DocumentStore) -> None:
    runs = {
        seed[i : i + RUN]
        for seed in (_normalised(doc.text) for doc in seeds)
        for i in range(len(seed) - RUN + 1)
    }
    raw = _yaml_text()
    # the file as written, and its strings as parsed (folded lines and quoting undone)
    for text in (raw, *_strings(yaml.safe_load(raw))):
        flat = _normalised(text)
        windows = (flat[i : i + RUN] for i in range(len(flat) - RUN + 1))
        copied = [window for window in windows if window in runs]
        assert not copied, f"seed text copied into ukraine-talks.yaml: {copied[0]!r}"
