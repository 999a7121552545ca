"""Advice: the lever search ranks what theory says, on the same draws, on every executor."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from detente import io
from detente.models import run
from detente.scenario import Scenario
from detente.scenario.levers import LeverPlan
from detente.serial import dumps
from detente.sim import advise as advise_module
from detente.sim.advise import (
    LEVER_KINDS,
    AdviceResult,
    Join,
    Leave,
    Lever,
    LeverContext,
    Move,
    advise,
    apply_steps,
    lever_kind,
    shock_lever,
)
from detente.sim.executors import InlineExecutor, ProcessExecutor, make_executor
from detente.sim.montecarlo import input_draws, monte_carlo
from detente.sim.shocks import apply_shocks, derive


def one_issue(
    actors: list[tuple[str, float, float, float]],
    *,
    spread: float | None = None,
    shocks: dict[str, list[dict[str, Any]]] | None = None,
) -> Scenario:
    """One issue on 0–100; ``actors`` as (id, capability, position, salience); every position
    ±``spread`` when given."""
    return Scenario.model_validate(
        {
            "name": "t",
            "issues": [{"id": "land"}],
            "actors": [
                {
                    "id": a,
                    "capability": c,
                    "stances": {
                        "land": {
                            "position": {
                                "value": x,
                                **({"uncertainty": f"±{spread}"} if spread else {}),
                            },
                            "salience": s,
                        }
                    },
                }
                for a, c, x, s in actors
            ],
            "shocks": {k: {"changes": v} for k, v in (shocks or {}).items()},
        }
    )


PERSUADE = LeverPlan(kinds=("persuade-position",))


def test_median_persuading_the_pivotal_actor_beats_a_far_away_one() -> None:
    # Equal weights: the median is b's position. Moving b 10 toward a moves the median 10;
    # moving c (far below b) 10 toward a leaves the median where it is.
    sc = one_issue([("a", 1, 100, 1), ("b", 1, 50, 1), ("c", 1, 0, 1)], spread=5)
    res = advise(sc, "a", "median", draws=400, seed=3, plan=PERSUADE)
    assert [lv.name for lv in res.levers] == [
        "persuade:b:land:position",
        "persuade:c:land:position",
    ]
    pivot, far = res.levers
    assert pivot.gain[0] == pytest.approx(10.0)
    assert pivot.helps > 0.99
    assert far.gain[0] == 0.0
    assert far.hurts == 0.0
    assert pivot.shift["land"] == pytest.approx(10.0)
    assert pivot.concession == 0.0  # a's own positions did not move


def test_mean_gain_is_the_weighted_share_of_the_move() -> None:
    # Weighted mean: persuading an actor of weight w (of total W) by d moves the forecast by
    # w·d/W; a single issue of width 100 turns that into the same number of points.
    actors = [("a", 1, 100, 1), ("b", 6, 20, 1), ("c", 3, 0, 0.5)]
    sc = one_issue(actors)
    res = advise(sc, "a", "mean", draws=1, seed=0, plan=PERSUADE)
    w = {"a": 1.0, "b": 6.0, "c": 1.5}
    total = sum(w.values())
    for target in ("b", "c"):
        lever = res.get(f"persuade:{target}:land:position")
        assert lever.gain[0] == pytest.approx(w[target] * 10 / total)
    assert res.best is not None
    assert res.best.target == "b"


def test_own_moves_cost_a_concession_and_count_at_the_real_positions() -> None:
    # a is not pivotal under the median: moving its own stated position by ±10 or ±20 changes
    # nothing, but concedes 10 or 20 points of its own (one issue, salience 1).
    sc = one_issue([("a", 1, 80, 1), ("b", 1, 50, 1), ("c", 1, 0, 1)])
    res = advise(sc, "a", "median", draws=1, plan=LeverPlan(kinds=("position",)))
    moves = {lv.name: lv for lv in res.levers}
    assert set(moves) == {
        "position:land:+10",
        "position:land:-10",
        "position:land:+20",
        "position:land:-20",
    }
    for lv in moves.values():
        assert lv.gain[0] == 0.0
        assert lv.concession == pytest.approx(abs(float(lv.name.rsplit(":", 1)[1])))
    # Moving 40 down puts a below b: a's stated 40 becomes the median, 10 further from its
    # real position 80 than b's 50 was.
    big = advise(
        sc, "a", "median", draws=1, plan=LeverPlan(kinds=("position",), position_steps=(0.4,))
    )
    down = big.get("position:land:-40")
    assert down.gain[0] == pytest.approx(-10.0)
    assert down.concession == pytest.approx(40.0)
    assert big.levers[-1].name == "position:land:-40"  # the worst lever ranks last


def test_salience_levers_follow_the_median() -> None:
    # Weights a .55 (at 100), b .1 (at 50), c .5 (at 0): b is the median. a caring 0.1 more,
    # or c caring 0.1 less, puts more than half the weight at a's end: the median jumps to a.
    sc = one_issue([("a", 1, 100, 0.55), ("b", 1, 50, 0.1), ("c", 1, 0, 0.5)])
    plan = LeverPlan(kinds=("salience", "persuade-salience"), salience_steps=(0.1,))
    res = advise(sc, "a", "median", draws=1, plan=plan)
    assert res.get("salience:land:+0.1").gain[0] == pytest.approx(50.0)
    assert res.get("persuade:c:land:salience:-0.1").gain[0] == pytest.approx(50.0)
    assert res.get("salience:land:-0.1").gain[0] == 0.0
    assert res.get("persuade:b:land:salience:+0.1").gain[0] == 0.0
    # b caring 0.1 less leaves it no weight, with the same effect
    assert {lv.name for lv in res.levers[:3]} == {
        "salience:land:+0.1",
        "persuade:c:land:salience:-0.1",
        "persuade:b:land:salience:-0.1",
    }
    assert res.levers[3].gain[0] == 0.0


def test_baseline_is_the_monte_carlo_of_the_same_seed() -> None:
    sc = io.load_default()
    res = advise(sc, "usa", "median", draws=200, seed=9, plan=LeverPlan(kinds=("shock",)))
    mc = monte_carlo(sc, "median", 200, seed=9)
    assert np.allclose(res.baseline, mc.median(), equal_nan=True)
    assert res.gains is not None
    assert res.gains.shape == (5, 200)


@pytest.mark.parametrize("model", ["mean", "median", "condorcet", "eu", "smp"])
def test_a_shock_lever_equals_the_shocked_single_run(model: str) -> None:
    # Without uncertainty every draw is the scenario itself: the lever made draw by draw must
    # give exactly the forecast of the hand-shocked scenario.
    shocks = {
        "mix": [
            {
                "actor": "b",
                "issue": "land",
                "field": "position",
                "op": "toward",
                "value": 0.5,
                "toward": "a",
            },
            {"actor": "c", "field": "capability", "op": "scale", "value": 2},
            {"actor": "a", "issue": "land", "field": "salience", "op": "add", "value": -0.2},
            {"remove_actor": "d"},
            {
                "add_actor": {
                    "id": "e",
                    "capability": 2,
                    "stances": {"land": {"position": 70, "salience": 0.4}},
                }
            },
        ]
    }
    sc = one_issue(
        [("a", 1, 100, 0.9), ("b", 2, 50, 0.7), ("c", 1, 0, 0.6), ("d", 3, 30, 0.5)],
        shocks=shocks,
    )
    res = advise(sc, "a", model, draws=1, seed=4, plan=LeverPlan(kinds=("shock",)))
    shocked, _ = apply_shocks(sc, ["mix"])
    want = run(shocked, model, seed=4).forecast[0] - run(sc, model, seed=4).forecast[0]
    assert res.get("shock:mix").shift["land"] == pytest.approx(want, abs=1e-9)


def test_a_new_kind_is_one_function_and_redrawn_levers_match() -> None:
    sc = io.load_default()

    def redrawn(ctx: LeverContext) -> list[Lever]:
        # the fallback for changes that cannot be made draw by draw, forced here
        return [
            advise_module._redrawn_lever(
                ctx, "again:summit", "again", "summit", "summit", ctx.scenario.shocks["summit"], []
            )
        ]

    lever_kind("again")(redrawn)
    try:
        plan = LeverPlan(kinds=("shock", "again"))
        res = advise(sc, "usa", "median", draws=300, seed=2, plan=plan)
    finally:
        del LEVER_KINDS["again"]
    steps, again = res.get("shock:summit"), res.get("again:summit")
    # summit adds to numbers drawn ±10 and ±0.1: both ways give nearly the same gains
    assert again.gain[0] == pytest.approx(steps.gain[0], abs=0.5)
    assert any("drawn again" in n for n in again.notes)


def test_apply_steps_moves_every_draw_within_range() -> None:
    sc = one_issue([("a", 1, 90, 1), ("b", 1, 50, 0.5), ("c", 1, 0, 0.2)], spread=10)
    batch, _ = input_draws(sc, 50, 1, streams=False)
    out = apply_steps(
        batch,
        (
            Move("b", "position", "approach", 15.0, "land", "a"),
            Move("c", "salience", "add", 0.9, "land"),
            Move("a", "position", "add", 30.0, "land"),
        ),
    )
    gap = batch.position[:, 0, 0] - batch.position[:, 1, 0]
    assert np.allclose(out.position[:, 1, 0], batch.position[:, 1, 0] + np.minimum(15.0, gap))
    assert np.all(out.salience[:, 2, 0] == 1.0)  # clipped to [0, 1]
    assert np.all(out.position[:, 0, 0] == 100.0)  # clipped to the scale
    assert np.array_equal(batch.position[:, 2], out.position[:, 2])  # untouched
    left = apply_steps(batch, (Leave("b"), Join("z", 5.0, (10.0,), (0.3,), float("nan"))))
    assert left.base.actors == ("a", "c", "z")
    assert left.position.shape == (50, 3, 1)
    assert np.all(left.position[:, 2, 0] == 10.0)
    with pytest.raises(ValueError, match="no actor 'q'"):
        apply_steps(batch, (Move("q", "position", "add", 1.0, "land"),))


def test_approach_stops_at_the_actor_and_ignores_a_missing_stance() -> None:
    sc = Scenario.model_validate(
        {
            "name": "t",
            "issues": [{"id": "x"}, {"id": "y"}],
            "actors": [
                {"id": "a", "capability": 1, "stances": {"x": {"position": 55, "salience": 1}}},
                {
                    "id": "b",
                    "capability": 1,
                    "stances": {
                        "x": {"position": 50, "salience": 1},
                        "y": {"position": 5, "salience": 1},
                    },
                },
            ],
        }
    )
    batch, _ = input_draws(sc, 3, 0, streams=False)
    out = apply_steps(
        batch,
        (
            Move("b", "position", "approach", 20.0, "x", "a"),
            Move("b", "position", "approach", 20.0, "y", "a"),
            Move("a", "salience", "add", 0.5, "y"),
        ),
    )
    assert np.all(out.position[:, 1, 0] == 55.0)
    assert np.all(out.position[:, 1, 1] == 5.0)
    assert np.isnan(out.position[:, 0, 1]).all()
    assert np.all(out.salience[:, 0, 1] == 0.0)


def test_same_json_on_every_executor() -> None:
    sc = io.load_default()
    plan = LeverPlan(kinds=("salience", "shock"))
    ref = advise(sc, "russia", "median", draws=120, seed=5, plan=plan, chunk=50)
    text = dumps(ref.to_dict())
    done: list[int] = []
    for ex in (ProcessExecutor(2), make_executor("dask", 2)):
        res = advise(
            sc,
            "russia",
            "median",
            draws=120,
            seed=5,
            plan=plan,
            chunk=50,
            executor=ex,
            progress=lambda d, _t: done.append(d),
        )
        assert dumps(res.to_dict()) == text
        assert res.gains is not None
        assert ref.gains is not None
        assert np.array_equal(res.gains, ref.gains)
    assert max(done) == (len(ref.levers) + 1) * 120
    # the chunk size changes the tasks, never a number
    again = advise(
        sc, "russia", "median", draws=120, seed=5, plan=plan, chunk=7, executor=InlineExecutor()
    )
    assert dumps(again.to_dict()) == text


def test_stochastic_model_uses_the_same_stream_per_draw() -> None:
    sc = io.load_default()
    stochastic = {"StateTransitions": "Stochastic"}
    plan = LeverPlan(kinds=("shock",))
    a = advise(sc, "usa", "smp", draws=6, seed=1, params=stochastic, plan=plan, chunk=4)
    b = advise(
        sc,
        "usa",
        "smp",
        draws=6,
        seed=1,
        params=stochastic,
        plan=plan,
        chunk=4,
        executor=ProcessExecutor(2),
    )
    assert dumps(a.to_dict()) == dumps(b.to_dict())
    mc = monte_carlo(sc, "smp", 6, seed=1, params=stochastic)
    assert np.allclose(a.baseline, mc.median(), equal_nan=True)


def test_result_round_trips_through_json() -> None:
    res = advise(io.load_default(), "ukraine", "mean", draws=30, seed=2)
    data = json.loads(dumps(res.to_dict()))
    back = AdviceResult.from_dict(data)
    assert back.to_dict() == data
    assert back.gains is None
    assert data["caveat"].startswith("the other actors are held to the mean model's behaviour")
    frame = res.to_frame()
    assert list(frame["lever"]) == [lv.name for lv in res.levers]
    assert frame["gain_median"].is_monotonic_decreasing
    assert len(res.shift_frame()) == len(res.levers) * len(res.issues)
    with pytest.raises(ValueError, match="not an advice result"):
        AdviceResult.from_dict({"scenario": "x"})


def test_default_levers_cover_every_kind() -> None:
    sc = io.load_default()
    res = advise(sc, "usa", "median", draws=20, seed=0)
    kinds = {lv.kind for lv in res.levers}
    assert kinds == {
        "position",
        "salience",
        "persuade-position",
        "persuade-salience",
        "shock",
        "causal",
    }
    names = [lv.name for lv in res.levers]
    assert len(names) == len(set(names))
    # usa holds salience 0.9 on ceasefire: +0.1 is a lever, +0.2 would clip only (not asked)
    assert "salience:ceasefire:+0.1" in names


def test_custom_levers_and_targets_from_the_plan() -> None:
    sc = io.load_default()
    plan = LeverPlan.model_validate(
        {
            "kinds": ["custom", "persuade-position"],
            "targets": ["eu"],
            "levers": {
                "push": {
                    "label": "EU pushes on sanctions",
                    "changes": [
                        {
                            "actor": "eu",
                            "issue": "sanctions",
                            "field": "position",
                            "op": "add",
                            "value": 10,
                        },
                        {"parameter": "rounds", "model": "eu", "value": 3},
                    ],
                }
            },
        }
    )
    res = advise(sc, "ukraine", "median", draws=40, seed=1, plan=plan)
    assert {lv.target for lv in res.levers if lv.kind == "persuade-position"} == {"eu"}
    push = res.get("custom:push")
    assert push.changes == ("eu.sanctions.position add 10",)
    assert any("for model eu, not median" in n for n in push.notes)
    res_eu = advise(
        sc, "ukraine", "eu", draws=2, seed=1, plan=LeverPlan(kinds=("custom",), levers=plan.levers)
    )
    assert res_eu.get("custom:push").changes[-1] == "parameter rounds = 3"


def test_bad_requests_say_what_is_wrong() -> None:
    sc = io.load_default()
    with pytest.raises(ValueError, match="unknown actor 'usb'"):
        advise(sc, "usb")
    with pytest.raises(ValueError, match="unknown lever kind 'bribe'"):
        advise(sc, "usa", plan=LeverPlan(kinds=("bribe",)))
    with pytest.raises(ValueError, match="unknown target 'chna'"):
        advise(sc, "usa", plan=LeverPlan(targets=("chna",)))
    with pytest.raises(ValueError, match="draws must be at least 1"):
        advise(sc, "usa", draws=0)
    with pytest.raises(ValueError, match="expected steps in"):
        LeverPlan(position_steps=(0.0,))


def test_shock_lever_notes_a_later_round() -> None:
    sc = io.load_default()
    shock = sc.shocks["summit"].model_copy(update={"round": 2})
    ctx = LeverContext(sc, sc.arrays(), "usa", "eu", LeverPlan())
    lever = shock_lever(ctx, "shock:late", "shock", "late", shock)
    assert any("after round 2" in n for n in lever.notes)


def test_causal_levers_move_the_map_on_the_same_draws() -> None:
    sc = io.load_default()
    res = advise(sc, "usa", "median", draws=200, seed=3, plan=LeverPlan(kinds=("causal",)))
    names = {lv.name for lv in res.levers}
    assert "causal:summit:+0.5" in names
    assert "causal:summit:-0.5" not in names  # the summit lever starts at 0, its range's end
    assert {lv.kind for lv in res.levers} == {"causal"}
    lever = res.get("causal:sanctions:+0.5")
    assert lever.changes[0] == "lever sanctions set 1"
    assert any(c.startswith("russia.capability scale") for c in lever.changes)
    # the same as running the shocked scenario's Monte Carlo on the same seed
    shocked, _ = apply_shocks(derive(sc, ["sanctions=1"]), ["sanctions=1"])
    diff = (
        monte_carlo(shocked, "median", 200, seed=3).forecasts
        - monte_carlo(sc, "median", 200, seed=3).forecasts
    )
    for k, issue in enumerate(res.issues):
        assert lever.shift[issue] == pytest.approx(float(np.median(diff[:, k])))
