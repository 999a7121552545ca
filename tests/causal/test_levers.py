"""Levers of a scenario's causal map: what moving them does to the scenario, shocks, YAML,
Monte Carlo over the weights."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from detente.causal import lever_moves, settle
from detente.errors import InputError
from detente.io import load_default
from detente.io.yaml_io import read_yaml, to_data, write_yaml
from detente.scenario import Scenario
from detente.sim.compare import compare
from detente.sim.draws import draw
from detente.sim.montecarlo import monte_carlo
from detente.sim.shocks import ShockError, apply_shocks, derive


def _mini(**causal: Any) -> dict[str, Any]:
    """A two-actor scenario with a three-concept map (a lever, an indicator, an outcome)."""
    data: dict[str, Any] = {
        "name": "mini",
        "issues": [{"id": "deal"}],
        "actors": [
            {"id": "a", "capability": 10, "stances": {"deal": {"position": 20, "salience": 0.5}}},
            {"id": "b", "capability": 30, "stances": {"deal": {"position": 80, "salience": 0.6}}},
        ],
        "causal": {
            "transfer": "sigmoid",
            "lambda": 2,
            "concepts": [
                {"id": "pressure", "kind": "lever", "value": 0.2},
                {"id": "strain"},
                {"id": "power", "kind": "outcome"},
            ],
            "edges": [
                {
                    "cause": "pressure",
                    "effect": "strain",
                    "weight": {"value": 0.8, "uncertainty": "±0.2"},
                },
                {"cause": "strain", "effect": "power", "weight": -0.7},
            ],
            "links": [
                {"concept": "power", "actor": "b", "field": "capability", "op": "scale", "gain": 2},
                {
                    "concept": "strain",
                    "actor": "b",
                    "issue": "deal",
                    "field": "salience",
                    "op": "add",
                    "gain": 0.5,
                },
                {
                    "concept": "strain",
                    "actor": "a",
                    "issue": "deal",
                    "field": "position",
                    "op": "add",
                    "gain": 30,
                },
            ],
            **causal,
        },
    }
    return data


def _scenario(**causal: Any) -> Scenario:
    return Scenario.model_validate(_mini(**causal))


def test_links_follow_the_settled_change() -> None:
    sc = _scenario()
    moves = lever_moves(sc, {"pressure": 0.9})
    before, after = moves.before, moves.after
    assert moves.before_levers == {"pressure": 0.2}
    assert moves.after_levers == {"pressure": 0.9}
    p0, p1 = before.value("power"), after.value("power")
    s0, s1 = before.value("strain"), after.value("strain")
    assert s1 > s0
    assert p1 < p0
    by_target = {m.link.target: m.amount for m in moves.moves}
    assert by_target["b.capability"] == pytest.approx((1 + 2 * p1) / (1 + 2 * p0), abs=1e-15)
    assert by_target["b.deal.salience"] == pytest.approx(0.5 * (s1 - s0), abs=1e-15)
    shocked, notes = apply_shocks(derive(sc, ["pressure=0.9"]), ["pressure=0.9"])
    assert notes == []
    assert shocked.actor("b").capability.value == pytest.approx(30 * by_target["b.capability"])
    assert shocked.actor("b").stances["deal"].salience.value == pytest.approx(
        0.6 + by_target["b.deal.salience"]
    )
    assert shocked.actor("a").stances["deal"].position.value == pytest.approx(20 + 30 * (s1 - s0))
    lever = shocked.causal.concept("pressure") if shocked.causal else None
    assert lever is not None
    assert (lever.value, lever.moved_from) == (0.9, 0.2)


def test_a_lever_left_where_it_is_changes_nothing() -> None:
    sc = _scenario()
    shocked, notes = apply_shocks(derive(sc, ["pressure=0.2"]), ["pressure=0.2"])
    assert notes == []
    assert shocked.arrays().capability.tolist() == sc.arrays().capability.tolist()
    np.testing.assert_array_equal(shocked.arrays().salience, sc.arrays().salience)
    np.testing.assert_array_equal(shocked.arrays().position, sc.arrays().position)


def test_moving_a_lever_in_two_steps_equals_one_step() -> None:
    sc = derive(_scenario(), ["pressure=0.5", "pressure=0.9"])
    once, _ = apply_shocks(sc, ["pressure=0.9"])
    twice, _ = apply_shocks(sc, ["pressure=0.5", "pressure=0.9"])
    np.testing.assert_allclose(once.arrays().capability, twice.arrays().capability, rtol=1e-14)
    np.testing.assert_allclose(once.arrays().salience, twice.arrays().salience, rtol=1e-14)
    np.testing.assert_allclose(once.arrays().position, twice.arrays().position, rtol=1e-14)
    assert twice.causal is not None
    assert twice.causal.concept("pressure").moved_from == 0.2


def test_lever_changes_in_a_scenario_shock_and_their_errors() -> None:
    data = _mini()
    data["shocks"] = {
        "squeeze": {"changes": [{"lever": "pressure", "value": 0.3, "op": "add"}]},
    }
    sc = Scenario.model_validate(data)
    shocked, _ = apply_shocks(sc, ["squeeze"])
    assert shocked.causal is not None
    assert shocked.causal.concept("pressure").value == pytest.approx(0.5)
    bad = copy.deepcopy(data)
    bad["shocks"]["squeeze"]["changes"][0]["lever"] = "strain"
    with pytest.raises(ValueError, match="unknown lever 'strain' \\(levers: pressure\\)"):
        Scenario.model_validate(bad)
    bad["shocks"]["squeeze"]["changes"][0] = {"lever": "pressure", "value": 1.5}
    with pytest.raises(ValueError, match=r"setting 1\.5 lies outside \[0, 1\]"):
        Scenario.model_validate(bad)
    with pytest.raises(ShockError, match="unknown lever 'nope'"):
        derive(sc, ["nope=1"])
    no_map = {k: v for k, v in data.items() if k not in ("causal", "shocks")}
    no_map["shocks"] = {"x": {"changes": [{"lever": "pressure", "value": 1}]}}
    with pytest.raises(ValueError, match="the scenario has no causal map"):
        Scenario.model_validate(no_map)


def test_an_add_beyond_the_range_is_clipped_with_a_note() -> None:
    data = _mini()
    data["shocks"] = {"push": {"changes": [{"lever": "pressure", "value": 5, "op": "add"}]}}
    shocked, notes = apply_shocks(Scenario.model_validate(data), ["push"])
    assert shocked.causal is not None
    assert shocked.causal.concept("pressure").value == 1.0
    assert any("clipped to 1" in n for n in notes)


def _yaml_error(data: dict[str, Any]) -> str:
    text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(InputError) as info:
        read_yaml("mini.yaml", text.encode())
    return str(info.value)


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            lambda d: d["causal"]["edges"][1].update(effect="powr"),
            "causal.edges[1].effect",
            "unknown concept 'powr'",
        ),
        (
            lambda d: d["causal"]["edges"].append(
                {"cause": "power", "effect": "pressure", "weight": 0.1}
            ),
            "causal.edges[2].effect",
            "is a lever, set from outside the map",
        ),
        (
            lambda d: d["causal"]["edges"][0]["weight"].update(value=1.2),
            "causal.edges[0].weight",
            "weight must lie in [-1, 1]",
        ),
        (
            lambda d: d["causal"]["links"][0].update(gain=-1.5),
            "causal.links[0].gain",
            "needs 1 + gain × value > 0",
        ),
        (
            lambda d: d["causal"]["links"][1].update(actor="c"),
            "causal.links[1].actor",
            "unknown actor 'c'",
        ),
        (
            lambda d: d["causal"]["links"][1].update(issue="war"),
            "causal.links[1].issue",
            "unknown issue 'war'",
        ),
        (
            lambda d: d["causal"]["links"][0].update(issue="deal"),
            "causal.links[0]",
            "a capability link takes no issue",
        ),
        (
            lambda d: d["causal"]["concepts"][0].update(value=2),
            "causal.concepts[0].value",
            "outside [0, 1], the range of the sigmoid transfer",
        ),
        (lambda d: d["causal"].update(inference="hebbian"), "causal.inference", "expected one of"),
        (
            lambda d: d["causal"]["concepts"][1].update(source="nowhere"),
            "causal.concepts[1].source",
            "unknown source id 'nowhere'",
        ),
        (
            lambda d: d["causal"]["concepts"].append({"id": "strain"}),
            "causal.concepts[3].id",
            "duplicate concept id 'strain'",
        ),
    ],
)
def test_yaml_errors_name_line_and_field(edit: Any, field: str, words: str) -> None:
    data = _mini()
    edit(data)
    message = _yaml_error(data)
    assert "mini.yaml, line " in message
    assert f"field '{field}'" in message
    assert words in message


def test_yaml_round_trip_keeps_map_and_summit() -> None:
    sc = load_default()
    assert sc.causal is not None
    assert sc.summit is not None
    again = read_yaml("x.yaml", write_yaml(sc, "x.yaml"))
    assert again == sc
    data = to_data(sc)
    assert list(data).index("causal") < list(data).index("summit") < list(data).index("sources")
    assert data["causal"]["lambda"] == sc.causal.lambda_


def test_monte_carlo_without_a_moved_lever_is_unchanged_by_the_map() -> None:
    sc = load_default()
    plain = sc.model_copy(update={"causal": None})
    a, b = draw(sc, 50, np.random.default_rng(3)), draw(plain, 50, np.random.default_rng(3))
    for name in ("capability", "position", "salience"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_monte_carlo_draws_the_weights_of_a_moved_lever() -> None:
    sc = derive(load_default(), ["sanctions=1"])
    shocked, _ = apply_shocks(sc, ["sanctions=1"])
    base = draw(load_default(), 400, np.random.default_rng(5))
    moved = draw(shocked, 400, np.random.default_rng(5))
    again = draw(shocked, 400, np.random.default_rng(5))
    np.testing.assert_array_equal(moved.capability, again.capability)
    # inputs the map does not reach are drawn exactly as without the shock
    np.testing.assert_array_equal(moved.position, base.position)
    russia = [a.id for a in sc.actors].index("russia")
    ratio = moved.capability[:, russia] / base.capability[:, russia]
    point = (
        shocked.actor("russia").capability.value / load_default().actor("russia").capability.value
    )
    assert ratio.std() > 0.002  # the weights' uncertainty reaches the capability
    assert abs(float(np.median(ratio)) - point) < 0.01
    assert np.all(ratio < 1.0)  # every draw of the weights keeps the sign of the effect


def test_monte_carlo_notes_draws_under_which_the_map_does_not_settle() -> None:
    data = _mini(transfer="trivalent")
    data["causal"]["concepts"][0]["value"] = 0.0
    data["causal"]["edges"].append(
        {"cause": "power", "effect": "strain", "weight": {"value": 1.0, "uncertainty": "±0.5"}}
    )
    data["causal"]["links"] = data["causal"]["links"][1:]
    sc = Scenario.model_validate(data)
    assert sc.causal is not None
    assert settle(sc.causal).note() is None
    shocked, notes = apply_shocks(derive(sc, ["pressure=1"]), ["pressure=1"])
    assert shocked.causal is not None
    assert int(settle(shocked.causal).period[0]) == 4
    assert any("oscillates with period 4" in n and "after the levers moved" in n for n in notes)
    result = monte_carlo(shocked, "mean", 20, seed=1)
    assert any("did not settle" in n for n in result.notes)


def test_compare_accepts_lever_settings() -> None:
    result = compare(load_default(), ["sanctions=1"], ["mean"], seed=0)
    run = result.get("sanctions=1", "mean")
    assert any(abs(c.delta) > 0 for c in run.issues)
    contributors = {a.actor for c in run.issues for a in c.contributions}
    assert "russia" in contributors
