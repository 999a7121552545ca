"""The backtest: scores, the proposal bootstrap, Council weights, and the shared DEU file."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from detente.io.deu import read_deu
from detente.models import models
from detente.serial import dumps
from detente.sim.backtest import BacktestResult, IssueResult, backtest, cluster_bootstrap, score
from detente.sim.council import council_weights, institution_weights, qmv_weights
from tests.conftest import shared_path


def _r(proposal: str, outcome: float, **forecasts: float) -> IssueResult:
    return IssueResult(proposal, f"{proposal}-{outcome}", "COD", "QMV", outcome, forecasts)


def test_scores_on_a_hand_made_case() -> None:
    rows = [
        _r("a", 50.0, mean=60.0, m=50.0),  # errors: mean 10, m 0
        _r("a", 20.0, mean=20.0, m=40.0),  # mean 0, m 20
        _r("b", 100.0, mean=70.0, m=95.0),  # mean 30, m 5
        _r("c", 0.0, mean=float("nan"), m=3.0),  # no reference forecast: left out
    ]
    s = score("m", rows, rng=np.random.default_rng(1))
    assert s.issues == 3
    assert s.mae == pytest.approx(25 / 3)
    assert s.median_ae == 5.0
    assert s.rmse == pytest.approx(np.sqrt((0 + 400 + 25) / 3))
    assert s.within == pytest.approx(2 / 3)
    assert s.diff == pytest.approx((-10 + 20 - 25) / 3)
    assert s.diff_low <= s.diff <= s.diff_high
    assert s.by_group == {"proc=COD": pytest.approx(25 / 3), "vote=QMV": pytest.approx(25 / 3)}


def test_the_bootstrap_resamples_proposals() -> None:
    # two proposals: one with three issues all +1, one with one issue -3
    values = np.array([1.0, 1.0, 1.0, -3.0])
    lo, hi = cluster_bootstrap(values, ["a", "a", "a", "b"], np.random.default_rng(0), 4000)
    # resamples are {a,a}: 1, {b,b}: -3, {a,b}: (3 - 3) / 4 = 0, nothing else
    assert (lo, hi) == (-3.0, 1.0)
    same = cluster_bootstrap(np.full(6, 2.5), list("aabbcc"), np.random.default_rng(0))
    assert same == (2.5, 2.5)


def test_council_weights_follow_the_treaties() -> None:
    assert sum(qmv_weights(date(1999, 6, 1)).values()) == 87
    assert sum(qmv_weights(date(2004, 6, 1)).values()) == 124
    assert sum(qmv_weights(date(2006, 6, 1)).values()) == 321
    assert sum(qmv_weights(date(2010, 6, 1)).values()) == 345
    assert sum(qmv_weights(date(2014, 1, 1)).values()) == 352
    after = qmv_weights(date(2016, 1, 1))
    assert sum(after.values()) == pytest.approx(352)
    share = {k: v / 352 for k, v in after.items()}
    # normalised Banzhaf indices of the EU-28 double majority (e.g. Kóczy 2016): DE about
    # 10.2 %, FR 8.5 %, the smallest states about 1 %
    assert share["de"] == pytest.approx(0.102, abs=0.003)
    assert share["fr"] == pytest.approx(0.085, abs=0.003)
    assert max(share, key=share.__getitem__) == "de"
    assert share["mt"] < share["lu"] < share["cy"] < share["ee"]
    unan = council_weights(date(2010, 6, 1), "Unan")
    assert len(set(unan.values())) == 1
    inst = institution_weights(unan, "CNS", "co-legislator")
    assert inst["ep"] == 0.0
    assert institution_weights(unan, "COD", "co-legislator")["ep"] == pytest.approx(345.0)


@pytest.fixture(scope="module")
def shared_result() -> BacktestResult:
    data = read_deu(shared_path("reference", "deu", "deu3-shared.tsv"))
    return backtest(data, [spec.name for spec in models()], capability="gdp")


def test_the_compromise_model_matches_the_independent_check(shared_result: BacktestResult) -> None:
    """README of reference/deu: MAE 24.0 (compromise) and 28.1 (weighted median), 250 issues."""
    by = {s.model: s for s in shared_result.scores}
    assert by["mean"].issues == 250
    assert round(by["mean"].mae, 1) == 24.0
    assert round(by["median"].mae, 1) == 28.1
    assert by["mean"].diff == 0.0
    assert by["median"].diff_low > 0  # the median is worse, and the interval says so


def test_the_result_round_trips_and_tabulates(shared_result: BacktestResult) -> None:
    d = json.loads(dumps(shared_result.to_dict()))
    assert BacktestResult.from_dict(d).to_dict() == d
    frame = shared_result.to_frame()
    assert len(frame) == 250 * len(shared_result.models)
    assert frame.groupby("model")["error"].apply(lambda e: e.abs().mean())["mean"] == (
        pytest.approx(next(s.mae for s in shared_result.scores if s.model == "mean"))
    )


def test_the_shipped_record_is_what_the_backtest_gives(shared_result: BacktestResult) -> None:
    """``detente run`` names the best model from data/backtest-deu3.json: it must be current."""
    from importlib import resources

    shipped = json.loads(resources.files("detente").joinpath("data/backtest-deu3.json").read_text())
    fresh = json.loads(dumps(shared_result.to_dict()))["scores"]
    assert shipped["scores"] == fresh
