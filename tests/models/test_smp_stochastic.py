"""Stochastic SMP against KTAB's 50 repeats of ``smpExample_as-of-2017-05.xml``.

The test: a two-sample energy-distance test (Székely & Rizzo) with a permutation p-value,
written with NumPy; it is consistent against every difference of distributions, in one
dimension (turn counts) and in many (the 15 final coordinates of 5 actors × 3 dimensions, as
one vector per run). Null hypothesis: detente's runs and KTAB's come from one distribution;
rejected at α = 0.01. Its power is estimated by ``test_smp_power.py`` (opt-in) and reported in
``docs/smp.md``.

KTAB's repeats are not independent samples: every run seeds one shared generator with the
XML's seed, and the actors' threads take its numbers in whatever order they reach the lock
(``SMPState::updateBestBrgnPositions``, ``PRNG::probSel``). So all 50 runs use the same stream
of uniforms, in permuted order each turn. :class:`KtabDraws` reproduces exactly that (KTAB's
``mt19937_64`` stream, a random actor order per turn); detente's own runs draw independent
numbers, which answers a different question. Both are checked.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence

import numpy as np
import pytest

from detente import io
from detente.models import smp
from tests.conftest import shared_path

NAME = "smpExample_as-of-2017-05"
REPLICATES = 500
ALPHA = 0.01
_M64 = (1 << 64) - 1


class MT19937_64:
    """``std::mt19937_64``, as KTAB's ``PRNG`` seeds it."""

    def __init__(self, seed: int) -> None:
        self.state = [seed & _M64]
        for i in range(1, 312):
            prev = self.state[-1]
            self.state.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & _M64)
        self.index = 312

    def __call__(self) -> int:
        if self.index >= 312:
            s = self.state
            for i in range(312):
                x = (s[i] & 0xFFFFFFFF80000000) | (s[(i + 1) % 312] & 0x7FFFFFFF)
                s[i] = s[(i + 156) % 312] ^ (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
            self.index = 0
        y = self.state[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & _M64


def ktab_uniforms(seed: int, count: int) -> np.ndarray:
    """KTAB's ``PRNG::uniform(0, 1)`` stream: ``qTrans`` of the engine's output over 2^64-1."""
    engine = MT19937_64(seed)
    out = np.empty(count)
    for k in range(count):
        v = engine()
        q = ((v + 0xE08C1D668B756F83) * (2 * v + 3)) & _M64
        out[k] = float(q) / float(_M64)
    return out


class KtabDraws:
    """Stands in for a replicate's generator: each turn's draws are the next numbers of the
    one KTAB stream, taken by the actors in a random order (KTAB's thread order)."""

    def __init__(self, stream: np.ndarray, order: np.random.Generator) -> None:
        self.stream, self.order, self.used = stream, order, 0

    def random(self, n: int) -> np.ndarray:
        u = self.stream[self.used : self.used + n]
        self.used += n
        out: np.ndarray = u[self.order.permutation(n)]
        return out


def energy_test(
    x: np.ndarray, y: np.ndarray, permutations: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Two-sample energy distance ``2 E|X-Y| - E|X-X'| - E|Y-Y'|`` and its permutation p-value.

    ``x[n, d]``, ``y[m, d]`` (or 1-D). All label permutations reuse one distance matrix; each
    batch of permutations is three matrix products.
    """
    x = x.reshape(len(x), -1).astype(float)
    y = y.reshape(len(y), -1).astype(float)
    z = np.concatenate([x, y])
    n, m = len(x), len(y)
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=-1))

    def stat(labels: np.ndarray) -> np.ndarray:  # labels[N, P]: 1 for the x sample
        a, b = labels, 1.0 - labels
        da, db = d @ a, d @ b
        return (
            2 * (da * b).sum(axis=0) / (n * m)
            - (da * a).sum(axis=0) / (n * n)
            - (db * b).sum(axis=0) / (m * m)
        )

    observed = float(stat(np.r_[np.ones(n), np.zeros(m)][:, None])[0])
    rng = np.random.default_rng(seed)
    count = 0
    for start in range(0, permutations, 500):
        k = min(500, permutations - start)
        labels = np.stack([rng.permutation(n + m) < n for _ in range(k)], axis=1)
        count += int((stat(labels.astype(float)) >= observed - 1e-12).sum())
    return observed, (1 + count) / (1 + permutations)


def reference() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """KTAB's final turns ``[50]``, final positions ``[50, actor × dim]`` and forecasts (the
    probability-weighted mean of the final positions) ``[50, dim]``."""
    base = shared_path("reference", "ktab", "runs", f"{NAME}_mc50")
    with (base / "final_turn_counts.csv").open(newline="") as fh:
        turns = [int(r["final_turn"]) for r in csv.DictReader(fh) for _ in range(int(r["count"]))]
    rows: dict[int, dict[tuple[str, str], float]] = {}
    with (base / "final_positions_by_replicate.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            rows.setdefault(int(r["replicate"]), {})[r["actor"], r["dim"]] = float(r["position"])
    derived = "(derived_prob_weighted_mean)"
    first = next(iter(rows.values()))
    actors = tuple(dict.fromkeys(a for a, _ in first if a != derived))
    dims = tuple(dict.fromkeys(d for _, d in first))
    pos = np.array([[rows[k][a, d] for a in actors for d in dims] for k in sorted(rows)])
    forecast = np.array([[rows[k][derived, d] for d in dims] for k in sorted(rows)])
    return np.array(turns), pos, forecast, actors, dims


def scenario() -> io.Scenario:
    return io.read(shared_path("reference", "ktab", "inputs", f"{NAME}.xml"))


def ktab_batch(replicates: int, seed: int) -> smp.Batch:
    """Replicates sampled as KTAB samples (see the module docstring)."""
    sc = scenario()
    assert sc.seed is not None
    stream = ktab_uniforms(sc.seed, 5 * 101)
    gens: Sequence[KtabDraws] = [
        KtabDraws(stream, g) for g in np.random.default_rng(seed).spawn(replicates)
    ]
    return smp.run_batch(sc, replicates, generators=gens)  # type: ignore[arg-type]


def _flat(batch: smp.Batch, actors: tuple[str, ...], dims: tuple[str, ...]) -> np.ndarray:
    ai = [batch.actors.index(a) for a in actors]
    di = [batch.issues.index(d) for d in dims]
    return batch.final_positions[:, ai][:, :, di].reshape(len(batch.turns), -1)


def test_ktab_stream_is_reproduced() -> None:
    # the C++ standard's check value of mt19937_64 (the 10000th output for seed 5489)
    engine = MT19937_64(5489)
    for _ in range(9999):
        engine()
    assert engine() == 9981545732273789042


def test_runs_sampled_as_ktab_samples_match_ktab() -> None:
    """500 replicates as one batch: turn counts, final positions (jointly) and forecasts."""
    turns, pos, forecast, actors, dims = reference()
    batch = ktab_batch(REPLICATES, seed=2024)
    _, p_turns = energy_test(batch.turns.astype(float), turns.astype(float))
    _, p_pos = energy_test(_flat(batch, actors, dims), pos)
    di = [batch.issues.index(d) for d in dims]
    _, p_fc = energy_test(batch.forecast[:, di], forecast)
    assert p_turns > ALPHA, p_turns
    assert p_pos > ALPHA, p_pos
    assert p_fc > ALPHA, p_fc


def test_independent_draws_match_ktab_turn_counts() -> None:
    """detente's own sampling (independent draws per replicate): the number of turns agrees
    with KTAB's. Its final positions do not have to: KTAB's 50 repeats share one stream, which
    biases them (see docs/smp.md); we check that our runs are not copies of each other."""
    turns, _, _, actors, dims = reference()
    batch = smp.run_batch(scenario(), REPLICATES, seed=2024)
    _, p_turns = energy_test(batch.turns.astype(float), turns.astype(float))
    assert p_turns > ALPHA, p_turns
    assert len(np.unique(_flat(batch, actors, dims), axis=0)) > REPLICATES // 2


@pytest.mark.parametrize("shift", [3.0])
def test_energy_test_rejects_a_known_shift(shift: float) -> None:
    """A sanity check of the test itself: KTAB's turns moved by a few turns are told apart."""
    turns = reference()[0]
    rng = np.random.default_rng(1)
    ours = rng.choice(turns, 500) + shift
    assert energy_test(ours.astype(float), turns.astype(float))[1] <= ALPHA
