"""Shocks during bargaining, actors joining and leaving, parameter shocks, and shock files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detente import io
from detente.errors import InputError
from detente.models import run
from detente.scenario import Anchor, Scenario
from detente.sim.compare import compare
from detente.sim.shocks import ShockError, apply_shocks, parse_name, run_shocked, schedule
from detente.sim.sweep import sweep

CHINA = {
    "id": "china",
    "capability": 40,
    "stances": {
        "land": {"position": 90, "salience": 0.5},
        "aid": {"position": 10, "salience": 0.3},
    },
}


def scenario(**shocks: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "t",
            "issues": [{"id": "land"}, {"id": "aid"}],
            "actors": [
                {
                    "id": i,
                    "capability": c,
                    "stances": {
                        "land": {"position": x, "salience": s},
                        "aid": {"position": 100 - x, "salience": 1 - s},
                    },
                }
                for i, c, x, s in (
                    ("a", 10, 0, 0.5),
                    ("b", 20, 50, 0.6),
                    ("c", 30, 100, 0.3),
                    ("d", 15, 70, 0.8),
                )
            ],
            "shocks": shocks,
        }
    )


MOVE_B = {"actor": "b", "issue": "land", "field": "position", "op": "add", "value": 30}


def by_hand_from(sc: Scenario, trace_positions: np.ndarray, edit: Any) -> Scenario:
    """The scenario with positions set to ``trace_positions`` (by actor order), then ``edit``."""
    d = sc.model_dump()
    d["shocks"] = {}
    for actor, row in zip(d["actors"], trace_positions, strict=True):
        for k, issue in enumerate(("land", "aid")):
            actor["stances"][issue]["position"] = {"value": float(row[k])}
    edit(d)
    return Scenario.model_validate(d)


def test_parse_name_and_schedule() -> None:
    assert parse_name("summit@3") == ("summit", 3)
    assert parse_name(" summit ") == ("summit", None)
    sc = scenario(early={"changes": [MOVE_B]}, late={"round": 4, "changes": [MOVE_B]})
    assert schedule(sc, ["late", "early", "early@2"]) == [(0, ["early"]), (2, ["early"]),
                                                          (4, ["late"])]  # fmt: skip


@pytest.mark.parametrize("model", ["eu", "smp"])
def test_shock_at_round_r_equals_baseline_until_r_then_a_restart_by_hand(model: str) -> None:
    r = 2
    sc = scenario(move={"round": r, "changes": [MOVE_B]})
    params = {"rounds": 6} if model == "eu" else {"max_turns": 6}
    key = next(iter(params))
    base = run(sc, model, seed=5, params=params)
    shocked, notes = run_shocked(sc, model, ["move"], seed=5, params=params)
    assert any("after round 2" in n for n in notes)
    # Identical to the baseline before the shock.
    np.testing.assert_array_equal(shocked.positions[:r], base.positions[:r])
    # At round r: the state the model reached, with the shock applied.
    expected_r = base.positions[r].copy()
    expected_r[1, 0] = min(expected_r[1, 0] + 30, 100)
    np.testing.assert_allclose(shocked.positions[r], expected_r, atol=1e-12)

    def edit(d: dict[str, Any]) -> None:
        pos = d["actors"][1]["stances"]["land"]["position"]
        pos["value"] = min(pos["value"] + 30, 100)

    restart = by_hand_from(sc, base.positions[r], edit)
    seed2 = int(np.random.SeedSequence([5, 1]).generate_state(1, np.uint32)[0])
    rest = run(restart, model, seed=seed2, params={key: params[key] - r})
    np.testing.assert_allclose(shocked.positions[r:], rest.positions, atol=1e-12)
    np.testing.assert_allclose(shocked.forecast, rest.forecast, atol=1e-12)
    assert shocked.params[key] == params[key]
    assert [s["from_round"] for s in shocked.details["segments"]] == [0, r]


def test_round_zero_shock_is_the_hand_edited_run() -> None:
    sc = scenario(move={"changes": [MOVE_B]})
    shocked, _ = run_shocked(sc, "eu", ["move"], seed=1)
    edited, _ = apply_shocks(sc, ["move"])
    plain = run(edited, "eu", seed=1)
    np.testing.assert_array_equal(shocked.positions, plain.positions)
    np.testing.assert_array_equal(shocked.forecast, plain.forecast)


def test_one_step_models_take_late_shocks_before_their_step() -> None:
    sc = scenario(move={"round": 3, "changes": [MOVE_B]})
    shocked, notes = run_shocked(sc, "mean", ["move"], seed=0)
    edited, _ = apply_shocks(sc, ["move"])
    assert shocked.forecast.tolist() == run(edited, "mean").forecast.tolist()
    assert any("one step" in n for n in notes)


def test_shock_after_the_last_round_changes_nothing_and_says_so() -> None:
    sc = scenario(move={"round": 10, "changes": [MOVE_B]})
    shocked, notes = run_shocked(sc, "eu", ["move"], seed=0, params={"rounds": 4})
    base = run(sc, "eu", seed=0, params={"rounds": 4})
    np.testing.assert_array_equal(shocked.positions, base.positions)
    assert any("after the last round (4)" in n for n in notes)


def test_actor_joins_and_leaves_mid_run() -> None:
    sc = scenario(
        shift={"round": 2, "changes": [{"add_actor": CHINA}, {"remove_actor": "a"}]},
    )
    trace, _ = run_shocked(sc, "eu", ["shift"], seed=0, params={"rounds": 5})
    assert trace.actors == ("a", "b", "c", "d", "china")
    china, a = trace.actors.index("china"), trace.actors.index("a")
    assert np.isnan(trace.positions[:2, china]).all()
    assert trace.positions[2, china].tolist() == [90, 10]
    assert np.isfinite(trace.positions[:2, a]).all()
    assert np.isnan(trace.positions[2:, a]).all()
    assert trace.positions.shape[0] == 6


def test_add_and_remove_at_round_zero_change_the_actor_set() -> None:
    sc = scenario(shift={"changes": [{"add_actor": CHINA}, {"remove_actor": "a"}]})
    new, _ = apply_shocks(sc, ["shift"])
    assert [a.id for a in new.actors] == ["b", "c", "d", "china"]
    assert new.shocks == {}
    assert sc.actor("a").id == "a"  # the original is untouched


def test_compare_explains_a_joining_actor_exactly_for_the_mean() -> None:
    sc = scenario(
        join={"changes": [{"add_actor": CHINA}]}, leave={"changes": [{"remove_actor": "c"}]}
    )
    result = compare(sc, ["join", "leave"], ["mean", "median", "eu"], seed=0)
    for shock in ("join", "leave"):
        for change in result.get(shock, "mean").issues:
            assert change.method == "exact"
            assert change.explained == pytest.approx(change.delta, abs=1e-12)
    land = result.get("join", "mean").issues[0]
    assert [c.actor for c in land.contributions] == ["china"]
    assert land.contributions[0].after == 90
    # The median's counterfactual restores the actor's absence: a pivotal newcomer explains it.
    med = result.get("join", "median").issues[0]
    if med.delta != 0:
        assert [c.actor for c in med.contributions] == ["china"]


def test_parameter_shock_sets_the_models_parameter() -> None:
    sc = scenario(short={"changes": [{"parameter": "rounds", "model": "eu", "value": 3}]})
    new, _ = apply_shocks(sc, ["short"])
    assert new.parameters == {"eu": {"rounds": 3}}
    trace, _ = run_shocked(sc, "eu", ["short"], seed=0)
    assert trace.rounds == 4
    # Without a model, every model that has the parameter takes it.
    q = scenario(q={"changes": [{"parameter": "Q", "value": 0.5}]})
    assert apply_shocks(q, ["q"])[0].parameters == {"eu": {"Q": 0.5}}


def test_parameter_shock_mid_run_changes_the_remaining_rounds() -> None:
    sc = scenario(longer={"round": 2, "changes": [{"parameter": "rounds", "value": 7}]})
    trace, _ = run_shocked(sc, "eu", ["longer"], seed=0, params=None)
    assert trace.rounds == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parameter": "nope", "model": "eu", "value": 1}, "model 'eu' has no parameter 'nope'"),
        ({"parameter": "nope", "value": 1}, "no model has parameter 'nope'"),
        ({"parameter": "rounds", "model": "eu", "value": "many"}, "rounds: expected int"),
    ],
)
def test_bad_parameter_shock_is_a_one_line_error(change: dict[str, Any], message: str) -> None:
    sc = scenario(p={"changes": [change]})
    with pytest.raises(ShockError) as info:
        apply_shocks(sc, ["p"])
    assert message in str(info.value)
    assert "shock 'p', change 0" in str(info.value)
    assert "\n" not in str(info.value)


def test_shocks_that_clash_when_combined_name_the_change() -> None:
    sc = scenario(
        leave={"changes": [{"remove_actor": "b"}]},
        move={"changes": [MOVE_B]},
    )
    with pytest.raises(ShockError, match=r"shock 'move', change 0 .*'b'"):
        apply_shocks(sc, ["leave", "move"])


def test_sweep_refuses_late_shocks_in_monte_carlo_but_runs_them_deterministically() -> None:
    sc = scenario(late={"round": 2, "changes": [MOVE_B]})
    with pytest.raises(ValueError, match="before bargaining only"):
        sweep(sc, "eu", {"shock": ["none", "late"]}, seed=0, draws=10)
    result = sweep(sc, "eu", {"shock": ["none", "late"]}, seed=0)
    late, _ = run_shocked(sc, "eu", ["late"], seed=0)
    assert result.forecast[1].tolist() == late.forecast.tolist()


# -- YAML: located errors and shock files ------------------------------------------------


def yaml_text(shocks: dict[str, Any]) -> bytes:
    import yaml

    d = scenario().model_dump(mode="json", exclude_none=True)
    d["shocks"] = shocks
    return yaml.safe_dump(d, sort_keys=False).encode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"remove_actor": "zz"}, "changes[0].remove_actor", "cannot remove unknown actor 'zz'"),
        ({"add_actor": {**CHINA, "id": "a"}}, "changes[0].add_actor", "'a': it is already"),
        (
            {"add_actor": {**CHINA, "stances": {"sea": {"position": 1, "salience": 1}}}},
            "changes[0].add_actor",
            "unknown issue 'sea'",
        ),
        ({"add_actor": {"id": "x"}}, "changes[0].add_actor.capability", "expected the field"),
        ({"parameter": "Q"}, "changes[0].value", "expected the field 'value'"),
    ],
)
def test_bad_actor_changes_are_located(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        io.yaml_io.read_yaml("s.yaml", yaml_text({"s": {"changes": [change]}}))
    err = str(info.value)
    assert err.startswith("s.yaml, line ")
    assert f"shocks.s.{field}" in err
    assert message.lower() in err.lower()
    assert "\n" not in err


def test_negative_round_is_located() -> None:
    with pytest.raises(InputError, match=r"field 'shocks\.s\.round'"):
        io.yaml_io.read_yaml("s.yaml", yaml_text({"s": {"round": -1, "changes": []}}))


def test_shock_file_adds_shocks_and_sources(tmp_path: Path) -> None:
    f = tmp_path / "more.yaml"
    f.write_text(
        "shocks:\n"
        "  china-joins:\n"
        "    round: 1\n"
        "    source: memo\n"
        "    changes:\n"
        "    - add_actor: {id: china, capability: 40,\n"
        "                  stances: {land: {position: 90, salience: .5}}}\n"
        "sources:\n"
        "  memo: {kind: judgement, rationale: a test}\n",
        encoding="utf-8",
    )
    sc = io.with_shocks(scenario(), f)
    assert "china-joins" in sc.shocks
    assert "memo" in sc.sources
    trace, _ = run_shocked(sc, "eu", ["china-joins"], seed=0, params={"rounds": 3})
    assert "china" in trace.actors


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("shocks:\n  s:\n    changes:\n    - {remove_actor: zz}\n", "line 4, field "
         "'shocks.s.changes[0].remove_actor'", "cannot remove unknown actor 'zz'"),
        ("shocks:\n  s:\n    changes:\n    - {actor: a, field: colour, op: set, value: 1}\n",
         "line 4, field 'shocks.s.changes[0].field'", "expected one of 'capability', 'position'"),
        ("shocks:\n  s:\n    source: missing\n", "line 3, field 'shocks.s.source'",
         "unknown source id 'missing'"),
        ("shocks: []\n", "line 1, field 'shocks'", "expected a mapping"),
        ("- 1\n", "line 1", "expected a mapping with 'shocks'"),
        ("shocks:\n  dup: {}\n", "line 2, field 'shocks.dup'", "already defines 'dup'"),
    ],
)  # fmt: skip
def test_shock_file_errors_name_file_line_and_field(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    base = scenario(dup={"changes": [MOVE_B]})
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        io.with_shocks(base, f)
    err = str(info.value)
    assert err.startswith(str(f))
    assert where in err
    assert message in err
    assert "\n" not in err


# -- the default scenario ------------------------------------------------------------------


def test_default_scenario_ships_the_five_seed_what_ifs_with_anchors() -> None:
    sc = io.load_default()
    expected = {
        "summit",
        "us-commitment-erodes",
        "sanctions-tighten",
        "nato-unity-strengthens",
        "europe-reconsiders",
    }
    assert expected <= set(sc.shocks)
    for name in expected:
        shock = sc.shocks[name]
        assert isinstance(sc.resolve_source(shock.source), Anchor), name
        assert shock.changes, name
        for change in shock.changes:
            assert isinstance(sc.resolve_source(change.source), Anchor), (name, change)


def test_every_default_shock_moves_some_forecast() -> None:
    sc = io.load_default()
    result = compare(sc, list(sc.shocks), ["mean"], seed=0)
    for r in result.runs:
        assert any(abs(c.delta) > 0.1 for c in r.issues), r.shock
