"""Setting levers: the settled map before and after, the scenario values the move changes."""

from __future__ import annotations

import json

import pytest

from detente.io import load_default
from detente.models import run
from detente.sim.levers import parse_levers, set_levers
from detente.sim.shocks import apply_shocks, derive


def test_the_changes_are_what_compare_runs_on() -> None:
    sc = load_default()
    result = set_levers(sc, {"us_commitment": 0.0})
    by_target = {c.target: c for c in result.changes}
    # the links written for US commitment reproduce the hand-set shock's -30 and -20
    assert by_target["usa.aid.position"].after == pytest.approx(0.0)
    assert by_target["usa.guarantees.position"].after == pytest.approx(5.0)
    assert by_target["ukraine.capability"].after < by_target["ukraine.capability"].before
    shocked, _ = apply_shocks(derive(sc, ["us_commitment=0"]), ["us_commitment=0"])
    assert run(result.shocked, "mean").forecast.tolist() == run(shocked, "mean").forecast.tolist()
    assert result.levers_before["us_commitment"] == 0.5
    assert result.levers_after["us_commitment"] == 0.0
    assert result.before.value("aid_flow") > result.after.value("aid_flow")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["levers"]["us_commitment"] == {"before": 0.5, "after": 0.0}
    assert [c["target"] for c in data["changes"]] == [c.target for c in result.changes]


def test_no_levers_changes_nothing() -> None:
    result = set_levers(load_default())
    assert result.changes == ()
    assert result.notes == ()
    assert result.before.final.tolist() == result.after.final.tolist()


def test_errors() -> None:
    sc = load_default()
    with pytest.raises(ValueError, match="unknown lever 'oil'"):
        set_levers(sc, {"oil": 1.0})
    with pytest.raises(ValueError, match=r"setting 2 lies outside \[0, 1\]"):
        set_levers(sc, {"sanctions": 2.0})
    with pytest.raises(ValueError, match="has no causal map"):
        set_levers(sc.model_copy(update={"causal": None}), {"sanctions": 1.0})
    assert parse_levers(["sanctions=1", "summit=1, aid=0.25"]) == {
        "sanctions": 1.0,
        "summit": 1.0,
        "aid": 0.25,
    }
    for bad in ("sanctions", "=1", "sanctions=high", "sanctions=nan"):
        with pytest.raises(ValueError, match="expected LEVER=VALUE"):
            parse_levers([bad])
