"""Declarative shocks: each op, clipping notes, purity, and located errors at load time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from detente import io
from detente.errors import InputError
from detente.io.yaml_io import read_yaml, write_yaml
from detente.scenario import Scenario
from detente.sim.shocks import MIN_CAPABILITY, UnknownShockError, apply_shocks


def data(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "t",
        "issues": [{"id": "land"}, {"id": "aid", "scale": {"min": -10, "max": 10}}],
        "actors": [
            {
                "id": "a",
                "capability": 10,
                "stances": {
                    "land": {"position": {"value": 40, "uncertainty": "±5"}, "salience": 0.5},
                    "aid": {"position": 0, "salience": 0.2},
                },
            },
            {
                "id": "b",
                "capability": 30,
                "stances": {"land": {"position": 80, "salience": 0.9}},
            },
        ],
        "shocks": {"s": {"label": "S", "changes": list(changes)}},
    }


def shocked(*changes: dict[str, Any]) -> tuple[Scenario, Scenario, list[str]]:
    sc = Scenario.model_validate(data(*changes))
    new, notes = apply_shocks(sc, ["s"])
    return sc, new, notes


def ch(actor: str, field: str, op: str, value: float, **more: str) -> dict[str, Any]:
    return {"actor": actor, "field": field, "op": op, "value": value, **more}


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        (ch("a", "position", "set", 70, issue="land"), "p", 70),
        (ch("a", "position", "add", -15, issue="land"), "p", 25),
        (ch("a", "position", "scale", 1.5, issue="land"), "p", 60),
        (ch("a", "position", "toward", 0.25, issue="land", toward="b"), "p", 50),
        (ch("a", "salience", "add", 0.25, issue="land"), "s", 0.75),
        (ch("a", "salience", "scale", 0.5, issue="land"), "s", 0.25),
        (ch("a", "salience", "set", 0.1, issue="land"), "s", 0.1),
        (ch("a", "salience", "toward", 0.5, issue="land", toward="b"), "s", 0.7),
        (ch("a", "capability", "scale", 0.8), "c", 8),
        (ch("a", "capability", "set", 4), "c", 4),
        (ch("a", "capability", "add", 5), "c", 15),
        (ch("a", "capability", "toward", 0.5, toward="b"), "c", 20),
    ],
)
def test_each_op(change: dict[str, Any], path: str, expected: float) -> None:
    _, new, notes = shocked(change)
    a = new.actor("a")
    got = {
        "p": a.stances["land"].position.value,
        "s": a.stances["land"].salience.value,
        "c": a.capability.value,
    }[path]
    assert got == pytest.approx(expected)
    assert notes == []


def test_changes_apply_in_order_and_shocks_compose() -> None:
    d = data(
        {"actor": "a", "issue": "land", "field": "position", "op": "add", "value": 10},
        {"actor": "a", "issue": "land", "field": "position", "op": "scale", "value": 2},
    )
    d["shocks"]["t"] = {"changes": [{"actor": "a", "field": "capability", "op": "set", "value": 1}]}
    sc = Scenario.model_validate(d)
    new, _ = apply_shocks(sc, ["s", "t"])
    assert new.actor("a").stances["land"].position.value == 100
    assert new.actor("a").capability.value == 1


def test_clipping_is_noted() -> None:
    _, new, notes = shocked(
        {"actor": "a", "issue": "aid", "field": "position", "op": "add", "value": -30},
        {"actor": "b", "issue": "land", "field": "salience", "op": "add", "value": 0.5},
        {"actor": "b", "field": "capability", "op": "scale", "value": -1},
    )
    assert new.actor("a").stances["aid"].position.value == -10
    assert new.actor("b").stances["land"].salience.value == 1.0
    assert new.actor("b").capability.value == MIN_CAPABILITY
    assert len(notes) == 3
    assert "a.aid.position add -30 gives -30, clipped to -10" in notes[0]
    assert "b.land.salience add 0.5 gives 1.4, clipped to 1" in notes[1]
    assert "b.capability" in notes[2]


def test_uncertainty_kept_when_it_fits_dropped_with_note_otherwise() -> None:
    _, new, notes = shocked(
        {"actor": "a", "issue": "land", "field": "position", "op": "set", "value": 50}
    )
    assert new.actor("a").stances["land"].position.uncertainty is not None
    assert notes == []
    d = data({"actor": "a", "issue": "land", "field": "position", "op": "set", "value": 70})
    d["actors"][0]["stances"]["land"]["position"]["uncertainty"] = {
        "dist": "triangular",
        "low": 30,
        "high": 50,
    }
    new, notes = apply_shocks(Scenario.model_validate(d), ["s"])
    assert new.actor("a").stances["land"].position.uncertainty is None
    assert notes == ["shock 's': a.land.position's uncertainty no longer fits the new value 70"
                     " and was dropped"]  # fmt: skip


def test_original_unchanged() -> None:
    sc, new, _ = shocked(
        {"actor": "a", "issue": "land", "field": "position", "op": "set", "value": 70},
        {"actor": "a", "field": "capability", "op": "scale", "value": 2},
    )
    before = sc.model_dump()
    assert sc.actor("a").stances["land"].position.value == 40
    assert sc.actor("a").capability.value == 10
    assert new.actor("a").capability.value == 20
    apply_shocks(sc, ["s"])
    assert sc.model_dump() == before


def test_unknown_shock_names_the_available() -> None:
    sc = Scenario.model_validate(data())
    with pytest.raises(UnknownShockError, match=r"unknown shock 'nope'.*\(shocks: s\)"):
        apply_shocks(sc, ["nope"])


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        (
            {"actor": "zz", "field": "capability", "op": "set", "value": 1},
            "unknown actor 'zz' (actors: a, b)",
            "shocks.s.changes[0].actor",
        ),
        (
            {"actor": "a", "issue": "sea", "field": "position", "op": "set", "value": 1},
            "unknown issue 'sea' (issues: land, aid)",
            "shocks.s.changes[0].issue",
        ),
        (
            {"actor": "b", "issue": "aid", "field": "salience", "op": "set", "value": 1},
            "actor 'b' has no stance on issue 'aid'",
            "shocks.s.changes[0].actor",
        ),
        (
            {"actor": "a", "issue": "land", "field": "position", "op": "toward", "value": 0.5,
             "toward": "q"},
            "unknown actor 'q' (actors: a, b)",
            "shocks.s.changes[0].toward",
        ),
    ],
)  # fmt: skip
def test_bad_references_rejected_at_load_with_location(
    tmp_path: Path, change: dict[str, Any], message: str, field: str
) -> None:
    with pytest.raises(ValidationError):
        Scenario.model_validate(data(change))
    text = yaml.safe_dump(data(change), sort_keys=False).encode()
    with pytest.raises(InputError) as info:
        read_yaml("s.yaml", text)
    err = str(info.value)
    assert message in err
    assert field in err
    assert "line" in err
    assert "\n" not in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"actor": "a", "issue": "land", "field": "capability", "op": "set", "value": 1},
         "takes no issue"),
        ({"actor": "a", "field": "salience", "op": "set", "value": 1}, "needs an issue"),
        ({"actor": "a", "field": "capability", "op": "toward", "value": 0.5}, "needs the field"),
        ({"actor": "a", "field": "capability", "op": "toward", "value": 2, "toward": "b"},
         "fraction in [0, 1]"),
        ({"actor": "a", "field": "capability", "op": "multiply", "value": 2}, "expected"),
    ],
)  # fmt: skip
def test_malformed_change_is_a_located_error(change: dict[str, Any], message: str) -> None:
    text = yaml.safe_dump(data(change), sort_keys=False).encode()
    with pytest.raises(InputError) as info:
        read_yaml("s.yaml", text)
    assert message in str(info.value)
    assert "shocks.s.changes[0]" in str(info.value)


def test_round_trip_exact() -> None:
    sc = io.load_default()
    assert set(sc.shocks) >= {"summit", "us-commitment-erodes", "sanctions-tighten"}
    again = read_yaml("x.yaml", write_yaml(sc, "x.yaml"))
    assert again == sc


def test_round_zero_shock_equals_editing_by_hand() -> None:
    sc = io.load_default()
    new, _ = apply_shocks(sc, ["sanctions-tighten"])
    d = sc.model_dump()
    by_hand = Scenario.model_validate(d)
    by_hand.actor("eu").stances["sanctions"].position.value += 15
    by_hand.actor("usa").stances["sanctions"].position.value += 15
    by_hand.actor("russia").capability.value *= 0.9
    assert new.arrays().position.tolist() == by_hand.arrays().position.tolist()
    assert new.arrays().capability.tolist() == by_hand.arrays().capability.tolist()
    assert new.arrays().salience.tolist() == by_hand.arrays().salience.tolist()


def test_unknown_shock_source_id_is_located() -> None:
    d = data()
    d["shocks"]["s"]["source"] = "nope"
    with pytest.raises(InputError, match=r"line \d+, field 'shocks\.s\.source'.*'nope'"):
        read_yaml("s.yaml", yaml.safe_dump(d, sort_keys=False).encode())
