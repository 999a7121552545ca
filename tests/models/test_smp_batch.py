"""Per-replicate inputs: one SMP batch of ``R`` different inputs equals ``R`` single runs.

The comparison is exact (``array_equal``): each replicate's reductions run over the same
contiguous rows, in the same order, as in a single run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from detente.io import load_default
from detente.models import smp
from detente.models import smp_kernel as K
from detente.sim.draws import draw


def _compare(batch: K.History, singles: list[K.History]) -> None:
    for r, one in enumerate(singles):
        t = int(one.turns[0])
        assert int(batch.turns[r]) == t
        for k in range(t + 1):
            np.testing.assert_array_equal(batch.positions[k][r], one.positions[k][0])
            np.testing.assert_array_equal(batch.win[k][r], one.win[k][0])
            np.testing.assert_array_equal(batch.risk[k][r], one.risk[k][0])
        # a replicate that stopped keeps its final state
        for k in range(t + 1, len(batch.positions)):
            np.testing.assert_array_equal(batch.positions[k][r], one.positions[-1][0])
        assert batch.final_outcome is not None
        assert one.final_outcome is not None
        np.testing.assert_array_equal(batch.final_outcome[r], one.final_outcome[0])
        np.testing.assert_array_equal(
            K.outcome_mean(batch.positions[-1], batch.final_outcome)[r],
            K.outcome_mean(one.positions[-1], one.final_outcome)[0],
        )


def _random_inputs(rng: np.random.Generator, r_n: int, n: int, dim: int) -> K.Inputs:
    sal = rng.uniform(0.05, 1.0, (r_n, n, dim))
    sal /= sal.sum(axis=-1, keepdims=True) * rng.uniform(1.0, 1.6, (r_n, n, 1))
    return K.Inputs(
        capability=rng.uniform(0.5, 100.0, (r_n, n)),
        salience=sal,
        position=rng.uniform(0.0, 1.0, (r_n, n, dim)),
    )


def _row(inputs: K.Inputs, r: int) -> K.Inputs:
    return K.Inputs(
        inputs.capability[r].copy(),
        inputs.salience[r].copy(),
        inputs.position[r].copy(),
        inputs.accommodation,
    )


@pytest.mark.parametrize(
    "cfg",
    [
        K.Config(max_turns=6),
        K.Config(max_turns=6, stochastic=True),
        K.Config(max_turns=4, voting=K.VR_ASYM, pce=K.PCE_MARKOV_INCENTIVE),
        K.Config(max_turns=4, pce=K.PCE_MARKOV_UNIFORM, victory=K.VP_BINARY),
        K.Config(max_turns=4, bargain=K.BM_PW_COMP, stochastic=True),
        K.Config(max_turns=4, bargain=K.BM_INIT_RCVR, third_party=K.TPC_FULL, ktab_compat=True),
        K.Config(max_turns=4, inter_vec=K.IVB_S2PMAX, chunk_elements=64),
    ],
)
def test_batch_of_different_inputs_equals_single_runs(cfg: K.Config) -> None:
    # nine dimensions: NumPy's pairwise summation over the issues (8 and more) is exercised
    rng = np.random.default_rng(3)
    r_n, n, dim = 4, 7, 9
    inputs = _random_inputs(rng, r_n, n, dim)
    seqs = np.random.SeedSequence(11).spawn(r_n)
    batch = K.simulate(inputs, cfg, [np.random.default_rng(q) for q in seqs])
    singles = [
        K.simulate(_row(inputs, r), cfg, [np.random.default_rng(seqs[r])]) for r in range(r_n)
    ]
    _compare(batch, singles)


def test_accommodation_is_shared_by_per_replicate_inputs() -> None:
    rng = np.random.default_rng(5)
    inputs = _random_inputs(rng, 3, 5, 2)
    acc = np.eye(5)
    acc[0, :2] = [0.6, 0.3]
    inputs = K.Inputs(inputs.capability, inputs.salience, inputs.position, acc)
    cfg = K.Config(max_turns=5)
    gens = [np.random.default_rng(0) for _ in range(3)]
    batch = K.simulate(inputs, cfg, gens)
    singles = [K.simulate(_row(inputs, r), cfg, [np.random.default_rng(0)]) for r in range(3)]
    _compare(batch, singles)


def test_positions_only_history_matches_the_recorded_one() -> None:
    inputs = _random_inputs(np.random.default_rng(2), 3, 6, 2)
    cfg = K.Config(max_turns=8, stochastic=True)
    full = K.simulate(inputs, cfg, np.random.default_rng(4).spawn(3))
    light = K.simulate(inputs, cfg, np.random.default_rng(4).spawn(3), record=False, positions=True)
    assert len(light.positions) == len(full.positions)
    for a, b in zip(light.positions, full.positions, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not light.records
    assert light.final_outcome is not None
    assert full.final_outcome is not None
    np.testing.assert_array_equal(light.final_outcome, full.final_outcome)


def test_replicate_counts_must_agree() -> None:
    inputs = _random_inputs(np.random.default_rng(0), 3, 4, 2)
    with pytest.raises(ValueError, match="3 replicates"):
        K.simulate(inputs, K.Config(), np.random.default_rng(0).spawn(2))


@pytest.mark.parametrize(
    "params",
    [
        {"max_turns": 5},
        {"max_turns": 5, "StateTransitions": "Stochastic"},
        {"max_turns": 3, "salience_total": "normalize", "BargnModel": "PWCompInterp"},
        {"max_turns": 3, "IdealAdjustment": [["eu", "usa", 0.3], ["eu", "eu", 0.7]]},
    ],
)
def test_prepare_batch_on_drawn_inputs_equals_single_runs(params: dict[str, Any]) -> None:
    sc = load_default()
    r_n = 5
    b = draw(sc, r_n, np.random.default_rng(8))
    assert not np.array_equal(b.capability[0], b.capability[1])  # the draws differ
    resolved = smp.SPEC.resolve_params(b.base.parameters.get("smp", {}), params)
    prep = smp.prepare_batch(b.base, b.capability, b.position, b.salience, resolved)
    seqs = np.random.SeedSequence(1).spawn(r_n)
    batch = K.simulate(prep.inputs, prep.config, [np.random.default_rng(q) for q in seqs])
    singles = []
    for r in range(r_n):
        one = smp.prepare(b.replicate(r), resolved)
        np.testing.assert_array_equal(prep.inputs.capability[r], one.inputs.capability)
        np.testing.assert_array_equal(prep.inputs.salience[r], one.inputs.salience)
        np.testing.assert_array_equal(prep.inputs.position[r], one.inputs.position)
        singles.append(K.simulate(one.inputs, one.config, [np.random.default_rng(seqs[r])]))
        trace = smp.simulate(b.replicate(r), np.random.default_rng(seqs[r]), resolved)
        np.testing.assert_array_equal(
            batch.positions[-1][r] * prep.span + prep.low, trace.positions[-1]
        )
    _compare(batch, singles)


def test_auto_salience_totals_are_decided_per_replicate() -> None:
    a = load_default().arrays()
    low = np.full_like(a.salience, 0.1)  # totals 0.6: used as given
    sal = np.stack([low, a.salience])  # ukraine-talks' totals exceed 1: union
    pos = np.stack([a.position, a.position])
    cap = np.stack([a.capability, a.capability])
    prep = smp.prepare_batch(a, cap, pos, sal, {})
    np.testing.assert_array_equal(prep.inputs.salience[0], low)
    expected, _ = smp.combine_saliences(a.salience, "auto")
    np.testing.assert_array_equal(prep.inputs.salience[1], expected)
    with pytest.raises(ValueError, match="total at most 1"):
        smp.prepare_batch(a, cap, pos, sal, {"salience_total": "as-given"})
    with pytest.raises(ValueError, match="capability"):
        smp.prepare_batch(a, cap * 0.0, pos, sal, {})
