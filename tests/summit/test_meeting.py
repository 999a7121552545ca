"""The summit on a scenario: utilities from positions and saliences, no-deal values, the
agreement as a shock that the multi-party models run from."""

from __future__ import annotations

import numpy as np
import pytest

from detente.io import load_default
from detente.models import run
from detente.scenario import Scenario
from detente.sim.compare import compare
from detente.sim.shocks import apply_shocks, derive
from detente.summit import AGREEMENT, SummitError, agreement_shock, summit


def test_utilities_frontier_and_solutions_on_ukraine_talks() -> None:
    sc = load_default()
    result = summit(sc)  # the scenario's summit: usa and russia, no deal = median forecast
    assert result.between == ("usa", "russia")
    assert result.issues == tuple(i.id for i in sc.issues)
    # the no-deal point is each side's utility of the multi-party forecast
    forecast = run(sc, "median", seed=0).forecast_by_issue()
    outcome = np.array([forecast[k] for k in result.issues])
    np.testing.assert_array_equal(result.no_deal, outcome)
    np.testing.assert_allclose(result.disagreement, result.utility(outcome), rtol=0, atol=1e-15)
    # utilities by hand: salience-weighted closeness on 0-100 scales
    usa = sc.actor("usa")
    w = np.array([usa.stances[k].salience.value for k in result.issues])
    x = np.array([usa.stances[k].position.value for k in result.issues])
    by_hand = float((w * (1 - np.abs(outcome - x) / 100)).sum() / w.sum())
    assert result.disagreement[0] == pytest.approx(by_hand, abs=1e-15)
    # the frontier runs from the US's ideal to Russia's, both utilities monotone
    f = result.frontier
    assert np.all(np.diff(f.utilities[:, 0]) < 0)
    assert np.all(np.diff(f.utilities[:, 1]) > 0)
    np.testing.assert_allclose(f.utilities[0, 0], 1.0)
    np.testing.assert_allclose(f.utilities[-1, 1], 1.0)
    low, high = np.minimum(*result.ideal), np.maximum(*result.ideal)
    for name, solution in result.solutions.items():
        assert solution is not None, name
        z = np.array(solution.outcome)
        assert np.all((z >= low - 1e-9) & (z <= high + 1e-9)), name
        np.testing.assert_allclose(result.utility(z), solution.utilities, atol=1e-12)
        assert np.all(np.array(solution.gains) >= -1e-12)
    cap = (sc.actor("usa").capability.value, sc.actor("russia").capability.value)
    assert result.alpha == pytest.approx(cap[0] / sum(cap))
    assert result.discount == (0.95, 0.9)
    assert result.first == "usa"


def test_stated_no_deal_and_arguments_over_the_scenarios() -> None:
    sc = load_default()
    result = summit(
        sc,
        ["russia", "ukraine"],
        issues=["territory", "ceasefire"],
        no_deal={"russia": 0.3, "ukraine": 0.4},
        discount={"russia": 0.8},
        solution="kalai-smorodinsky",
    )
    assert result.between == ("russia", "ukraine")
    assert result.issues == ("territory", "ceasefire")
    assert result.no_deal_basis == "stated"
    assert np.isnan(result.no_deal).all()
    assert result.disagreement.tolist() == [0.3, 0.4]
    assert result.discount == (0.8, 0.95)  # the default for the unnamed party
    assert result.chosen == "kalai-smorodinsky"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"between": ["usa", "usa"]}, "two different actors"),
        ({"between": ["usa", "china"]}, "unknown actor 'china'"),
        ({"issues": ["oil"]}, "unknown issue 'oil'"),
        ({"discount": {"usa": 1.2}}, "discount of 'usa' must lie in (0, 1)"),
        ({"no_deal": "oracle"}, "no_deal"),
        ({"solution": "coin"}, "unknown solution 'coin'"),
    ],
)
def test_errors_say_what_is_wrong(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(SummitError, match=None) as info:
        summit(load_default(), **kwargs)  # type: ignore[arg-type]
    assert words in str(info.value)


def test_an_actor_without_salience_has_nothing_to_gain() -> None:
    data = load_default().model_dump()
    for stance in data["actors"][0]["stances"].values():
        stance["salience"] = 0.0
    with pytest.raises(SummitError, match="'russia' has salience 0 on every summit issue"):
        summit(Scenario.model_validate(data))


def test_the_agreement_becomes_both_actors_positions() -> None:
    sc = load_default()
    result = summit(sc)
    assert result.agreement is not None
    shock = agreement_shock(result)
    assert len(shock.changes) == 2 * len(result.issues)
    shocked, _ = apply_shocks(
        sc.model_copy(update={"shocks": {**sc.shocks, AGREEMENT: shock}}), [AGREEMENT]
    )
    for actor in result.between:
        got = [shocked.actor(actor).stances[k].position.value for k in result.issues]
        np.testing.assert_allclose(got, result.agreement.outcome, atol=1e-12)
    # the rest of the scenario is untouched
    assert shocked.actor("eu") == sc.actor("eu")


def test_compare_runs_from_the_derived_summit_agreement() -> None:
    sc = load_default()
    comparison = compare(sc, [AGREEMENT], ["mean"], seed=0)
    shocked = derive(sc, [AGREEMENT])
    expected = run(apply_shocks(shocked, [AGREEMENT])[0], "mean", seed=0).forecast_by_issue()
    changes = comparison.get(AGREEMENT, "mean").issues
    for change in changes:
        assert change.shocked == pytest.approx(expected[change.issue], abs=1e-12)
    movers = {c.actor for change in changes for c in change.contributions}
    assert movers <= {"usa", "russia"}
    assert movers


def test_no_summit_section_no_derived_agreement() -> None:
    sc = load_default().model_copy(update={"summit": None})
    with pytest.raises(SummitError, match="has no summit: section"):
        derive(sc, [AGREEMENT])
    with pytest.raises(SummitError, match="name the two actors"):
        summit(sc)


def test_no_agreement_when_no_deal_is_better_for_both() -> None:
    result = summit(load_default(), no_deal={"usa": 0.99, "russia": 0.99})
    assert all(v is None for v in result.solutions.values())
    assert any("nothing to agree" in n for n in result.notes)
    with pytest.raises(SummitError, match="reaches no nash agreement"):
        agreement_shock(result)


def test_swapping_the_parties_mirrors_the_result() -> None:
    sc = load_default()
    ab = summit(sc, ["usa", "russia"], issues=["ceasefire", "aid", "sanctions"])
    ba = summit(sc, ["russia", "usa"], issues=["ceasefire", "aid", "sanctions"])
    for name in ("nash", "kalai-smorodinsky", "asymmetric-nash"):
        x, y = ab.solutions[name], ba.solutions[name]
        assert x is not None
        assert y is not None
        assert x.utilities == pytest.approx(y.utilities[::-1], abs=1e-12)
        assert x.outcome == pytest.approx(y.outcome, abs=1e-9)
