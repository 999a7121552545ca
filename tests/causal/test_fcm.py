"""Fuzzy cognitive map inference: FCMpy's reference runs, batches of draws, properties."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.causal import settle, simulate
from detente.scenario import CausalMap
from tests.conftest import shared_path

RULES = {"kosko": "kosko", "mKosko": "modified-kosko"}


def _reference() -> tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    folder = shared_path("reference", "fcm")
    rows = list(csv.reader((folder / "weights.csv").open(encoding="utf-8")))
    names = rows[0][1:]
    weights = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return names, weights, summary


def _trajectory(folder: Path, run: dict[str, Any]) -> np.ndarray:
    name = f"traj_{run['scenario']}_{run['inference']}_{run['transfer']}.csv"
    rows = list(csv.reader((folder / name).open(encoding="utf-8")))
    return np.array([[float(v) for v in row[1:]] for row in rows[1:]])


def _runs() -> list[dict[str, Any]]:
    folder = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "fcm"
    if not (folder / "summary.json").exists():
        return [{"scenario": "missing", "inference": "kosko", "transfer": "sigmoid"}]
    return list(json.loads((folder / "summary.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "run", _runs(), ids=lambda r: f"{r['scenario']}-{r['inference']}-{r['transfer']}"
)
def test_reproduces_fcmpy_trajectory(run: dict[str, Any]) -> None:
    names, weights, _ = _reference()
    expected = _trajectory(shared_path("reference", "fcm"), run)
    result = simulate(
        weights,
        expected[0],
        inference=RULES[run["inference"]],
        transfer_function=run["transfer"],
        concepts=names,
        record=True,
    )
    assert result.trajectory is not None
    got = result.trajectory[: int(result.steps[0]) + 1, 0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert int(result.steps[0]) == run["steps"]
    assert bool(result.converged[0]) == run["converged"]
    final = np.array([run["final"][c] for c in names])
    np.testing.assert_allclose(result.final[0], final, rtol=0, atol=1e-6)


def test_the_unsettled_reference_run_says_so() -> None:
    _names, weights, summary = _reference()
    (run,) = [r for r in summary if not r["converged"]]
    start = _trajectory(shared_path("reference", "fcm"), run)[0]
    result = simulate(
        weights, start, inference=RULES[run["inference"]], transfer_function=run["transfer"]
    )
    note = result.note()
    assert note is not None
    assert "did not settle within 50 steps" in note
    assert int(result.period[0]) == 0  # slow, not cycling


def test_the_same_map_as_a_scenario_section_settles_alike() -> None:
    names, weights, summary = _reference()
    edges = [
        {"cause": names[i], "effect": names[j], "weight": float(weights[i, j])}
        for i, j in zip(*np.nonzero(weights), strict=True)
    ]
    run = next(r for r in summary if r["scenario"] == "sanctions" and r["transfer"] == "tanh")
    cmap = CausalMap.model_validate(
        {
            "inference": RULES[run["inference"]],
            "transfer": "tanh",
            "concepts": [
                {"id": n, "kind": "lever", "value": 0.0}
                if n in ("sanctions", "aid", "summit")
                else {"id": n, "value": 0.5}
                for n in names
            ],
            "edges": edges,
        }
    )
    result = settle(cmap, {"sanctions": 1.0})
    np.testing.assert_allclose(result.final[0], [run["final"][n] for n in names], rtol=0, atol=1e-6)
    assert int(result.steps[0]) == run["steps"]


def test_a_batch_of_draws_runs_each_draw_as_alone() -> None:
    _, weights, _ = _reference()
    rng = np.random.default_rng(7)
    mask = weights != 0
    draws = np.where(mask, np.clip(weights + rng.uniform(-0.3, 0.3, (9, 7, 7)), -1, 1), 0.0)
    start = np.array([1.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5])
    for rule in ("kosko", "modified-kosko", "rescaled"):
        for fn in ("sigmoid", "tanh", "trivalent"):
            batch = simulate(draws, start, inference=rule, transfer_function=fn, record=True)
            assert batch.trajectory is not None
            for r in range(len(draws)):
                alone = simulate(draws[r], start, inference=rule, transfer_function=fn, record=True)
                assert alone.trajectory is not None
                assert batch.steps[r] == alone.steps[0]
                assert batch.converged[r] == alone.converged[0]
                np.testing.assert_array_equal(batch.final[r], alone.final[0])
                steps = int(alone.steps[0])
                np.testing.assert_array_equal(
                    batch.trajectory[: steps + 1, r], alone.trajectory[:, 0]
                )


def test_rescaled_rule_step() -> None:
    """Papageorgiou's rescaled rule: A' = f(W'(2A - 1) + (2A - 1))."""
    w = np.array([[0.0, 0.7, 0.0], [0.0, 0.0, -0.4], [0.2, 0.0, 0.0]])
    a = np.array([0.3, 0.6, 0.9])
    result = simulate(w, a, clamped=[False] * 3, inference="rescaled", max_steps=1, lam=2.0)
    centred = 2 * a - 1
    expected = 1 / (1 + np.exp(-2.0 * (centred @ w + centred)))
    np.testing.assert_allclose(result.final[0], expected, rtol=0, atol=1e-15)


def test_an_oscillating_map_is_named_as_such() -> None:
    # a negative feedback loop under the trivalent transfer cycles through four states
    w = np.array([[0.0, 1.0], [-1.0, 0.0]])
    result = simulate(w, [1.0, 0.0], clamped=[False, False], transfer_function="trivalent")
    assert not result.converged[0]
    assert int(result.period[0]) == 4
    note = result.note()
    assert note is not None
    assert "oscillates with period 4" in note
    summary = simulate(
        np.stack([w, np.zeros((2, 2))]),
        [1.0, 0.0],
        clamped=[False, False],
        transfer_function="trivalent",
    ).summary_note()
    assert summary is not None
    assert "1 of 2 draws (1 of them oscillating)" in summary


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="weights must be"):
        simulate(np.zeros(3), [0.0])
    with pytest.raises(ValueError, match="clamped must have one flag per concept"):
        simulate(np.zeros((2, 2)), [0.0, 0.0], clamped=[True])
    with pytest.raises(ValueError, match="unknown transfer"):
        simulate(np.zeros((2, 2)), [0.0, 0.0], transfer_function="relu")
    with pytest.raises(ValueError, match="unknown inference rule"):
        simulate(np.zeros((2, 2)), [0.0, 0.0], inference="hebb")


_MATRICES = st.integers(2, 6).flatmap(
    lambda c: st.lists(st.floats(-1, 1, allow_nan=False), min_size=c * c, max_size=c * c).map(
        lambda v: np.array(v).reshape(c, c) * (1 - np.eye(c))
    )
)


@settings(max_examples=60, deadline=None)
@given(
    w=_MATRICES,
    rule=st.sampled_from(["kosko", "modified-kosko", "rescaled"]),
    fn=st.sampled_from(["sigmoid", "tanh", "bivalent", "trivalent"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_properties(w: np.ndarray, rule: str, fn: str, seed: int) -> None:
    c = w.shape[0]
    rng = np.random.default_rng(seed)
    low = 0.0 if fn in ("sigmoid", "bivalent") else -1.0
    start = rng.uniform(low, 1.0, c)
    held = rng.random(c) < 0.3
    result = simulate(w, start, clamped=held, inference=rule, transfer_function=fn, record=True)
    # values stay in the transfer's range; clamped concepts never move
    assert np.all(result.final >= low)
    assert np.all(result.final <= 1.0)
    np.testing.assert_array_equal(result.final[0, held], start[held])
    # permuting the concepts permutes the run
    p = rng.permutation(c)
    permuted = simulate(
        w[np.ix_(p, p)], start[p], clamped=held[p], inference=rule, transfer_function=fn
    )
    np.testing.assert_allclose(permuted.final[0], result.final[0, p], rtol=0, atol=1e-12)
    assert permuted.steps[0] == result.steps[0]
    # a settled run's last step moved nothing beyond the tolerance
    if result.converged[0]:
        assert result.trajectory is not None
        s = int(result.steps[0])
        moved = np.abs(result.trajectory[s, 0] - result.trajectory[s - 1, 0]).max()
        assert moved <= result.tolerance
