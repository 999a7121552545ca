"""detente's YAML: exact round trip, safe loading, readable layout, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from detente import io
from detente.errors import InputError
from detente.io.yaml_io import read_yaml, to_data, write_yaml
from detente.scenario import Actor, Citation, Estimate, Issue, Judgement, Scenario, Stance
from tests.io.strategies import scenarios


def small() -> Scenario:
    return Scenario(
        name="talks",
        description="a test",
        seed=7,
        issues=[Issue(id="land", label="Land"), Issue(id="aid")],
        actors=[
            Actor(
                id="no",  # Norway: YAML 1.1 would read an unquoted no as false
                capability=Estimate(value=3.0, source="sipri"),
                stances={
                    "land": Stance(
                        position=Estimate(value=10.0),
                        salience=Estimate(value=0.5, source=Judgement(rationale="said so")),
                    )
                },
            ),
            Actor(id="b", label="Bee", capability=Estimate(value=1e-05)),
        ],
        parameters={"smp": {"VotingRule": "PropCbc", "x": None}},
        sources={"sipri": Citation(publication="SIPRI", year=2024)},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_yaml_round_trip_is_identity(
    tmp_path_factory: pytest.TempPathFactory, sc: Scenario
) -> None:
    path = tmp_path_factory.mktemp("rt") / "s.yaml"
    io.save(sc, path)
    assert io.read(path) == sc


def test_yaml_round_trip_in_memory_and_layout(tmp_path: Path) -> None:
    sc = small()
    data = write_yaml(sc, "x.yaml")
    assert read_yaml("x.yaml", data) == sc
    text = data.decode()
    keys = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert keys == ["name", "description", "seed", "issues", "actors", "parameters", "sources"]
    assert "- id: 'no'" in text  # quoted, so every YAML reader keeps it text
    assert "capability: 1.0e-05" in text  # PyYAML's float repr, read back exactly
    assert "kind: judgement" in text  # sources keep the discriminator
    assert "scale" not in text  # defaults left out


def test_to_data_is_compact() -> None:
    data = to_data(small())
    assert data["actors"][1] == {"id": "b", "label": "Bee", "capability": 1e-05}
    assert data["parameters"] == {"smp": {"VotingRule": "PropCbc", "x": None}}


def test_builtin_ukraine_talks_round_trips(tmp_path: Path) -> None:
    sc = io.load_default()
    io.save(sc, tmp_path / "u.yml")
    assert io.read(tmp_path / "u.yml") == sc


def test_relaxed_scalars(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nissues: [{id: 2024-06-01}, {id: 'off'}]\n"
        "actors:\n- id: no\n  capability: 1e2\n"
        "  stances: {2024-06-01: {position: 5, salience: 1}}\n",
        encoding="utf-8",
    )
    sc = io.read(path)
    assert [i.id for i in sc.issues] == ["2024-06-01", "off"]
    assert sc.actors[0].id == "no"
    assert sc.actors[0].capability.value == 100.0


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nissues: [{id: x}]\nbase: &b {capability: 2}\nactors: [{<<: *b, id: a}]\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="known field, not 'base'"):
        io.read(path)
    path.write_text(
        "name: s\nissues: [{id: x}]\nactors:\n- &a {id: a, capability: 2}\n- {<<: *a, id: b}\n",
        encoding="utf-8",
    )
    assert [a.id for a in io.read(path).actors] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [
        (
            "name: s\nissues: [{id: x}]\nactors:\n- id: a\n  capability: -1\n",
            5,
            "actors[0].capability",
            "capability must be > 0",
        ),
        (
            "name: s\nissues: [{id: x}]\nactors:\n- id: a\n",
            4,
            "actors[0].capability",
            "expected the field 'capability'",
        ),
        (
            "name: s\nissues: [{id: x}]\nactors:\n- id: a\n  capability: 1\n  risk: high\n",
            6,
            "actors[0].risk",
            "expected a number",
        ),
        (
            "name: s\nissues: [{id: x}]\nactors:\n- {id: a, capability: 1,\n"
            "   stances: {x: {position: 1, salience: {value: 1, source: {kind: poem}}}}}\n",
            5,
            "actors[0].stances.x.salience.source",
            "anchor, citation or judgement",
        ),
        (
            "name: ' s'\nissues: [{id: x}]\nactors: [{id: a, capability: 1}]\n",
            1,
            "name",
            "expected an id",
        ),
        ("name: s\nissues: []\nactors: [{id: a, capability: 1}]\n", 2, "issues", "at least 1 item"),
        (
            "name: s\nissues: [{id: x, scale: {min: 5, max: 5}}]\n"
            "actors: [{id: a, capability: 1}]\n",
            2,
            "issues[0].scale",
            "must be greater than min",
        ),
        (
            "name: s\nissues: [{id: x}, {id: x}]\nactors: [{id: a, capability: 1}]\n",
            2,
            "issues[1].id",
            "expected distinct ids",
        ),
    ],
)
def test_validation_errors_name_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, fragment: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        io.read(path)
    err = info.value
    assert (err.file, err.row, err.row_kind, err.column, err.column_kind) == (
        str(path),
        line,
        "line",
        field,
        "field",
    ), err.message
    assert fragment in err.message


def test_syntax_errors_and_non_mappings(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    for text, fragment, line in [
        ("name: [unclosed\n", "expected valid YAML", 2),
        ("- a\n- b\n", "expected a mapping", 1),
        ("a: 1\n---\nb: 2\n", "expected valid YAML", 2),
        ("# only a comment\n", "empty file", None),
    ]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as info:
            io.read(path)
        assert fragment in info.value.message
        assert info.value.row == line, info.value.message


def test_safe_loading_never_builds_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo hacked']\n", encoding="utf-8")
    with pytest.raises(InputError, match="no tags"):
        io.read(path)


def test_yaml_dump_is_standard_yaml(tmp_path: Path) -> None:
    # Whatever we write, a plain SafeLoader reads the same structure (the relaxed reader only
    # accepts more, never reads our output differently).
    data = write_yaml(small(), "x.yaml")
    assert yaml.safe_load(data) == to_data(small())
