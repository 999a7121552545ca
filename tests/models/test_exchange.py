"""The exchange model: the decide-exchange-model program's seeded runs, the equal-gain rule,
the cut at the demander's position, rounds, ties and seeds."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from detente.io import load
from detente.models import run
from detente.models.exchange import SPAN, simulate
from detente.scenario import Scenario
from tests.conftest import shared_path


def _runs(case: str) -> Path:
    return shared_path("reference", "exchange", "runs", case)


def _reference_round(case: str, t: int) -> list[dict[str, object]]:
    """The program's executed exchanges of round ``t`` (positions on 0–100)."""
    path = _runs(case) / "0" / "exchanges" / "0" / f"round.{t}.equal-0.00.csv"
    rows = list(csv.reader(path.open(encoding="utf-8"), delimiter=";"))
    out = []
    for r in rows[1:]:
        if not r or not r[0]:
            continue
        i, j = r[:21], r[22:43]
        out.append(
            {
                "I": i[0],
                "I_issue": i[1].rsplit(" [", 1)[0],
                "I_from": float(i[6]),
                "I_to": float(i[8]),
                "J": j[0],
                "J_issue": j[1].rsplit(" [", 1)[0],
                "J_from": float(j[6]),
                "J_to": float(j[8]),
                "gain": float(i[16]),
            }
        )
    return out


def _replay(case: str) -> tuple[Scenario, list[dict[str, object]], list[dict[str, object]]]:
    """Round 1 of our model on the case's input, following the program's choice at its ties."""
    sc = load(_runs(case) / "input.csv").scenario
    a = sc.arrays()
    names = [x.label or x.id for x in sc.actors]
    issues = list(a.issues)
    ref = _reference_round(case, 1)

    def choose(_t: int, n: int, tied: list[tuple[int, int, int, int]]) -> int:
        want = ref[n]
        for k, (i, j, p, q) in enumerate(tied):
            if (names[i], issues[q], names[j], issues[p]) == (
                want["I"], want["I_issue"], want["J"], want["J_issue"],
            ):  # fmt: skip
                return k
        return 0

    unit = (a.position - a.scale_min) / (a.scale_max - a.scale_min) * SPAN
    res = simulate(
        a.capability, unit, a.salience, rounds=1, rng=np.random.default_rng(0), choose=choose
    )
    mine = [
        {
            "I": names[e["I"]],
            "I_issue": issues[e["q"]],
            "I_from": e["I_from"],
            "I_to": e["I_to"],
            "J": names[e["J"]],
            "J_issue": issues[e["p"]],
            "J_from": e["J_from"],
            "J_to": e["J_to"],
            "gain": e["gain"],
        }
        for e in res.exchanges
    ]
    return sc, ref, mine


def _same(a: dict[str, object], b: dict[str, object]) -> bool:
    for key, value in a.items():
        other = b[key]
        if isinstance(value, float):
            assert isinstance(other, float)
            if abs(value - other) > 1e-9 * max(1.0, abs(value)):
                return False
        elif value != other:
            return False
    return True


@pytest.mark.parametrize(
    ("case", "agreed"),
    # docs/exchange.md §5: where each case leaves the rules the program states, and why
    [("sample_data", 14), ("copenhagen", 2)],
)
def test_round_one_reproduces_the_program_until_its_bookkeeping_departs(
    case: str, agreed: int
) -> None:
    _sc, ref, mine = _replay(case)
    n = 0
    while n < min(len(ref), len(mine)) and _same(ref[n], mine[n]):
        n += 1
    # the same exchanges, in the same order, with the same shifts and gains up to ...
    assert n == agreed, (ref[n], mine[n])
    # ... the first exchange the program leaves out although it is valid and best by the rules
    # (its recalculation counts an earlier planned shift, docs/exchange.md §5)
    assert mine[n]["gain"] > ref[n]["gain"]


@pytest.mark.parametrize("case", ["sample_data", "copenhagen"])
def test_round_zero_outcomes_are_the_programs(case: str) -> None:
    """The program's round-0 "avg MDS" per issue is our compromise of the input positions."""
    sc = load(_runs(case) / "input.csv").scenario
    trace = run(sc, "exchange")
    folder = _runs(case) / "0" / "issues" / "summary" / "csv"
    for issue in sc.issues:
        (path,) = folder.glob(f"{issue.id} [[]*.summary.csv")
        lines = path.read_text(encoding="utf-8").splitlines()
        row = next(line for line in lines if line.startswith("rn-0;"))
        program = float(row.split(";")[1])  # on the issue's own scale
        assert trace.details["outcome"][0][issue.id] == pytest.approx(program, rel=1e-12)


def _two(sa: tuple[float, float], sb: tuple[float, float], ca: float = 1.0) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "two",
            "issues": [{"id": "p"}, {"id": "q"}],
            "actors": [
                {
                    "id": "a",
                    "capability": ca,
                    "stances": {
                        "p": {"position": 0.0, "salience": sa[0]},
                        "q": {"position": 0.0, "salience": sa[1]},
                    },
                },
                {
                    "id": "b",
                    "capability": 1.0,
                    "stances": {
                        "p": {"position": 100.0, "salience": sb[0]},
                        "q": {"position": 100.0, "salience": sb[1]},
                    },
                },
            ],
        }
    )


def test_equal_gain_by_hand() -> None:
    """a cares about p (0.8 vs 0.2), b about q. b shifts fully to 0 on p: the outcome on p moves
    by 100·1·0.2/(0.8 + 0.2) = 20; equal gains need the outcome on q to move by
    20·(0.8 + 0.2)/(0.2 + 0.8) = 20, a shift of 20·1.0/0.2 = 100 by a: all the way."""
    trace = run(_two((0.8, 0.2), (0.2, 0.8)), "exchange")
    (p, q) = trace.details["exchanges"]
    assert (p["supplier"], p["issue"], p["to"]) == ("b", "p", 0.0)
    assert (q["supplier"], q["issue"], q["to"]) == ("a", "q", 100.0)
    gain_a = 0.8 * 20.0 - 0.2 * 20.0
    assert p["gain"] == pytest.approx(gain_a)
    np.testing.assert_allclose(trace.forecast, [0.0, 100.0])


def test_every_exchange_gives_both_sides_the_same_gain() -> None:
    sc = load(shared_path("reference", "exchange", "inputs", "copenhagen.csv")).scenario
    trace = run(sc, "exchange", params={"rounds": 3}, seed=4)
    a = sc.arrays()
    sal = {(x, k): a.salience[i, j] for i, x in enumerate(a.actors) for j, k in enumerate(a.issues)}
    events = trace.details["exchanges"]
    assert len(events) > 50
    for e1, e2 in zip(events[::2], events[1::2], strict=True):
        # e1: J gives way on p for I; e2: I gives way on q for J
        d_p = abs(e1["outcome_to"] - e1["outcome_from"])
        d_q = abs(e2["outcome_to"] - e2["outcome_from"])
        i, j, p, q = e1["demander"], e1["supplier"], e1["issue"], e2["issue"]
        gain_i = sal[i, p] * d_p - sal[i, q] * d_q
        gain_j = sal[j, q] * d_q - sal[j, p] * d_p
        assert gain_i == pytest.approx(gain_j, rel=1e-9, abs=1e-9)
        assert gain_i == pytest.approx(e1["gain"], rel=1e-9, abs=1e-9)
        assert gain_i > 0


def test_no_exchange_carries_an_outcome_past_its_demander() -> None:
    """On q, a (at 0) is heavy and c stands beyond b: a's full shift to b (50) would carry the
    outcome past b, so it is cut where the outcome reaches 50, and b's shift with it."""
    sc = Scenario.model_validate(
        {
            "name": "cut",
            "issues": [{"id": "p"}, {"id": "q"}],
            "actors": [
                {"id": "a", "capability": 10, "stances": {
                    "p": {"position": 0, "salience": 0.9}, "q": {"position": 0, "salience": 0.05}}},
                {"id": "b", "capability": 3, "stances": {
                    "p": {"position": 100, "salience": 0.1},
                    "q": {"position": 50, "salience": 0.05}}},
                {"id": "c", "capability": 1, "stances": {"q": {"position": 100, "salience": 0.3}}},
            ],
        }
    )  # fmt: skip
    trace = run(sc, "exchange")
    (on_p, on_q) = trace.details["exchanges"]
    assert on_q["capped"]
    assert on_q["outcome_to"] == pytest.approx(50.0)
    assert on_q["to"] < 50.0  # a stops short of b
    assert on_p["to"] > 0.0  # and b gives less in return
    for e in (on_p, on_q):
        demander = sc.actor(e["demander"]).stances[e["issue"]].position.value
        lo, hi = sorted((e["outcome_from"], demander))
        assert lo - 1e-9 <= e["outcome_to"] <= hi + 1e-9


def test_same_seed_same_exchanges_and_ties_follow_the_seed() -> None:
    sc = load(shared_path("reference", "exchange", "inputs", "copenhagen.csv")).scenario
    runs = {s: run(sc, "exchange", params={"rounds": 2}, seed=s) for s in range(8)}
    again = run(sc, "exchange", params={"rounds": 2}, seed=3)
    assert again.details["exchanges"] == runs[3].details["exchanges"]
    assert runs[3].details["ties"] > 0
    # copenhagen has exact ties (actors with the same numbers): seeds choose differently
    assert len({str(r.details["exchanges"]) for r in runs.values()}) > 1


def test_rounds_move_preferred_positions_until_settled() -> None:
    sc = _two((0.8, 0.2), (0.2, 0.8))
    trace = run(sc, "exchange", params={"rounds": 3})
    # round 1 trades everything; each actor then prefers a mix of its old position and its
    # voting position, and the two trade again in every round
    assert not trace.details["settled"]
    assert {e["round"] for e in trace.details["exchanges"]} == {1, 2, 3}
    first, second = trace.details["preferred"][0], trace.details["preferred"][1]
    assert first["b"]["p"] == 100.0
    # b moved 0.1 + 0.4·(1 − 0.2) = 42 % of the way to its voting position 0 on p
    assert second["b"]["p"] == pytest.approx(58.0)
    # moving all the way, both prefer what they voted for: nothing is left to trade
    whole = run(sc, "exchange", params={"rounds": 5, "adjust_fixed": 1.0, "adjust_salience": 0.0})
    assert whole.details["settled"]
    assert whole.rounds == 3  # the input, the round of trade, the round that found none
    assert "settled: round 2 found no exchange" in whole.notes


def test_issues_on_other_scales_and_missing_stances() -> None:
    sc = Scenario.model_validate(
        {
            "name": "scales",
            "issues": [
                {"id": "p", "scale": {"min": -5, "max": 5}},
                {"id": "q"},
                {"id": "r", "scale": {"min": 0, "max": 1}},
            ],
            "actors": [
                {"id": "a", "capability": 2, "stances": {
                    "p": {"position": -5, "salience": 0.9}, "q": {"position": 0, "salience": 0.1},
                    "r": {"position": 0, "salience": 0.5}}},
                {"id": "b", "capability": 1, "stances": {
                    "p": {"position": 5, "salience": 0.2},
                    "q": {"position": 100, "salience": 0.9}}},
                {"id": "c", "capability": 1, "stances": {
                    "p": {"position": 1, "salience": 0.5}, "q": {"position": 40, "salience": 0.5},
                    "r": {"position": 1, "salience": 0.5}}},
            ],
        }
    )  # fmt: skip
    trace = run(sc, "exchange")
    assert np.isnan(trace.positions[:, 1, 2]).all()  # b has no stance on r
    assert -5 <= trace.forecast[0] <= 5
    assert 0 <= trace.forecast[2] <= 1
    assert trace.details["exchanges"]


def test_parameters_are_checked() -> None:
    sc = _two((0.8, 0.2), (0.2, 0.8))
    with pytest.raises(ValueError, match="rounds: expected at least 1"):
        run(sc, "exchange", params={"rounds": 0})
    with pytest.raises(ValueError, match="at most 1"):
        run(sc, "exchange", params={"adjust_fixed": 0.7, "adjust_salience": 0.6})


def test_too_many_possible_exchanges_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from detente.models import exchange

    sc = load(shared_path("reference", "exchange", "inputs", "copenhagen.csv")).scenario
    monkeypatch.setattr(exchange, "MAX_CANDIDATES", 20)
    with pytest.raises(ValueError, match="11 actors × 7 issues give more than 20 possible"):
        run(sc, "exchange")
