"""Lazy per-replicate streams and their vectorised uniforms (:mod:`detente.models.streams`).

The reference is NumPy itself: ``parent.spawn(R)[r]`` and ``np.random.default_rng(child)``.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.io import load_default
from detente.models import smp
from detente.models import smp_kernel as K
from detente.models import streams as S
from detente.models.streams import ReplicateGenerators, ReplicateStreams
from detente.sim.draws import draw
from detente.sim.montecarlo import _child, _streams

ENTROPY = st.one_of(
    st.integers(0, 2**130),
    st.lists(st.integers(0, 2**70), min_size=1, max_size=6),
)
# spawn keys as `_child` makes them (a child of a child for Monte Carlo's input blocks), with
# words past 32 bits too
SPAWN_KEY = st.lists(st.integers(0, 2**40), max_size=3).map(tuple)
SHAPE = st.one_of(
    st.integers(0, 40),
    st.lists(st.integers(0, 6), min_size=0, max_size=3).map(tuple),
)


def _parent(entropy: Any, key: tuple[int, ...], pool: int = 4) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy, spawn_key=key, pool_size=pool)


def _same_seq(a: np.random.SeedSequence, b: np.random.SeedSequence) -> None:
    assert a.state == b.state
    np.testing.assert_array_equal(a.pool, b.pool)
    np.testing.assert_array_equal(a.generate_state(8), b.generate_state(8))


@settings(max_examples=60, deadline=None)
@given(
    entropy=ENTROPY,
    key=SPAWN_KEY,
    pool=st.sampled_from([4, 5, 8]),
    start=st.integers(0, 300),
    count=st.integers(0, 12),
    calls=st.lists(
        st.tuples(SHAPE, st.one_of(st.none(), st.lists(st.booleans(), min_size=12))),
        min_size=1,
        max_size=4,
    ),
    # small work blocks: many blocks per call, the last one partial
    block=st.sampled_from([1, 7, 40, S.BLOCK_ELEMENTS]),
)
def test_uniforms_equal_numpys_generators(
    entropy: Any,
    key: tuple[int, ...],
    pool: int,
    start: int,
    count: int,
    calls: list[tuple[Any, list[bool] | None]],
    block: int,
) -> None:
    stop = start + count
    streams = ReplicateStreams(_parent(entropy, key, pool), start, stop)
    uniforms = streams.uniforms()
    gens = [np.random.default_rng(q) for q in _parent(entropy, key, pool).spawn(stop)[start:]]
    assert len(uniforms) == count
    saved, S.BLOCK_ELEMENTS = S.BLOCK_ELEMENTS, block
    try:
        for shape, mask in calls:
            # successive calls, each on all replicates or on a subset of them
            rows = None if mask is None else np.flatnonzero(mask[:count])
            which = range(count) if rows is None else rows.tolist()
            got = uniforms.random(shape, rows)
            dims = (shape,) if isinstance(shape, int) else shape
            assert got.shape == (len(which), *dims)
            for i, r in enumerate(which):
                np.testing.assert_array_equal(got[i], gens[r].random(shape))
    finally:
        S.BLOCK_ELEMENTS = saved


@pytest.mark.parametrize("seed", [0, 1, 7, 2**64 + 5])
def test_uniforms_across_work_blocks(seed: int) -> None:
    # more draws × replicates than one block of work arrays, in one call and then a subset
    parent = _child(_child(np.random.SeedSequence(seed), 1), 2)
    r_n = 70
    k = S.BLOCK_ELEMENTS // r_n * 2 + 3
    uniforms = ReplicateStreams(parent, 10, 10 + r_n).uniforms()
    gens = [np.random.default_rng(_child(parent, r)) for r in range(10, 10 + r_n)]
    first = uniforms.random((k,))
    rows = np.arange(3, r_n, 4)
    second = uniforms.random((2, k), rows)
    np.testing.assert_array_equal(first, np.stack([g.random(k) for g in gens]))
    np.testing.assert_array_equal(second, np.stack([gens[r].random((2, k)) for r in rows]))
    # untouched replicates continue from their first call
    np.testing.assert_array_equal(uniforms.random(5, np.array([0]))[0], gens[0].random(5))


@settings(max_examples=40, deadline=None)
@given(entropy=ENTROPY, key=SPAWN_KEY, count=st.integers(0, 30), data=st.data())
def test_lazy_streams_equal_spawned_ones(
    entropy: Any, key: tuple[int, ...], count: int, data: st.DataObject
) -> None:
    streams = ReplicateStreams(_parent(entropy, key), 0, count)
    spawned = _parent(entropy, key).spawn(count)
    assert len(streams) == count
    for mine, theirs in zip(streams, spawned, strict=True):
        _same_seq(mine, theirs)
    lo = data.draw(st.integers(-count - 2, count + 2))
    hi = data.draw(st.integers(-count - 2, count + 2))
    step = data.draw(st.sampled_from([None, 1, 2, -1]))
    part = streams[lo:hi:step]
    expected = spawned[lo:hi:step]
    assert len(part) == len(expected)
    for mine, theirs in zip(part, expected, strict=True):
        _same_seq(mine, theirs)
    if count:
        i = data.draw(st.integers(-count, count - 1))
        _same_seq(streams[i], spawned[i])


def test_slices_are_streams_and_make_nothing() -> None:
    parent = np.random.SeedSequence(3).spawn(2)[1]
    streams = _streams(parent, 100, 1100)
    part = streams[200:300]
    assert isinstance(part, ReplicateStreams)
    assert part == _streams(parent, 300, 400)
    assert part[5:7] == _streams(parent, 305, 307)
    # a chunk's streams ship to a worker as a few numbers, not a thousand objects
    assert len(pickle.dumps(streams)) < 300
    assert pickle.loads(pickle.dumps(part)) == part
    _same_seq(part[-1], _child(parent, 399))
    with pytest.raises(IndexError):
        part[100]


def test_bad_parents_and_ranges_are_refused() -> None:
    used = np.random.SeedSequence(1)
    used.spawn(2)
    with pytest.raises(ValueError, match="already spawned 2"):
        ReplicateStreams(used, 0, 3)
    with pytest.raises(ValueError, match="start <= stop"):
        ReplicateStreams(np.random.SeedSequence(1), 5, 4)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        ReplicateStreams(np.random.SeedSequence(1), 0, 2**32 + 1)
    with pytest.raises(TypeError, match="expected integers"):
        ReplicateStreams(np.random.SeedSequence(["12", "0x5"]), 0, 3)


def test_generators_are_made_on_first_use_and_kept() -> None:
    parent = np.random.SeedSequence(9)
    gens = ReplicateGenerators(ReplicateStreams(parent, 0, 5))
    assert gens.made == 0
    assert len(gens) == 5
    a = gens[3].random(4)
    b = gens[-2].random(4)  # the same generator, continued
    assert gens.made == 1
    ref = np.random.default_rng(parent.spawn(5)[3])
    np.testing.assert_array_equal(np.concatenate([a, b]), ref.random(8))


class _NoItems(ReplicateStreams):
    """Streams whose replicates must not be made one by one."""

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            part = super().__getitem__(index)
            assert isinstance(part, ReplicateStreams)
            out = type(self).__new__(type(self))
            for name in ReplicateStreams.__slots__:
                setattr(out, name, getattr(part, name))
            return out
        raise AssertionError(f"replicate {index}'s stream was made")


class _NoStreams(_NoItems):
    """Streams that must not be drawn from at all."""

    def uniforms(self) -> S.ReplicateUniforms:
        raise AssertionError("the uniforms were made")


def _no_items(cls: type[_NoItems], parent: np.random.SeedSequence, r_n: int) -> _NoItems:
    out = cls.__new__(cls)
    base = ReplicateStreams(parent, 0, r_n)
    for name in ReplicateStreams.__slots__:
        setattr(out, name, getattr(base, name))
    return out


def _batch(params: dict[str, Any], r_n: int = 6) -> tuple[Any, dict[str, Any]]:
    sc = load_default()
    b = draw(sc, r_n, np.random.default_rng(5))
    return b, smp.SPEC.resolve_params(b.base.parameters.get("smp", {}), params)


def test_a_deterministic_batch_makes_no_stream() -> None:
    b, params = _batch({"max_turns": 6})
    parent = np.random.SeedSequence(2)
    forecast, centre = smp._smp_batch(b, params, _no_items(_NoStreams, parent, 6))
    ref_forecast, ref_centre = smp._smp_batch(b, params, parent.spawn(6))
    np.testing.assert_array_equal(forecast, ref_forecast)
    np.testing.assert_array_equal(centre, ref_centre)


@pytest.mark.parametrize("turns", [3, 20])
def test_a_stochastic_batch_draws_all_replicates_at_once(turns: int) -> None:
    # same numbers as each replicate's own generator (the plain list's path), none made
    b, params = _batch({"max_turns": turns, "StateTransitions": "Stochastic"})
    parent = np.random.SeedSequence(2)
    forecast, centre = smp._smp_batch(b, params, _no_items(_NoItems, parent, 6))
    ref_forecast, ref_centre = smp._smp_batch(b, params, parent.spawn(6))
    np.testing.assert_array_equal(forecast, ref_forecast)
    np.testing.assert_array_equal(centre, ref_centre)


def test_thread_order_draws_from_generators() -> None:
    b, params = _batch(
        {"max_turns": 5, "StateTransitions": "Stochastic", "bargain_order": "threads"}
    )
    forecast, _ = smp._smp_batch(b, params, ReplicateStreams(np.random.SeedSequence(4), 0, 6))
    ref, _ = smp._smp_batch(b, params, np.random.SeedSequence(4).spawn(6))
    np.testing.assert_array_equal(forecast, ref)
    with pytest.raises(AssertionError, match="stream was made"):
        smp._smp_batch(b, params, _no_items(_NoItems, np.random.SeedSequence(4), 6))


@pytest.mark.parametrize("ahead", [1, 3])
def test_kernel_uniforms_equal_generators(ahead: int) -> None:
    b, params = _batch({"max_turns": 7, "StateTransitions": "Stochastic"})
    prep = smp.prepare_batch(b.base, b.capability, b.position, b.salience, params)
    streams = ReplicateStreams(np.random.SeedSequence(6), 0, 6)
    ref = K.simulate(prep.inputs, prep.config, [np.random.default_rng(q) for q in streams])
    got = K.simulate(
        prep.inputs,
        prep.config,
        ReplicateGenerators(streams),
        draw_ahead=ahead,
        uniforms=streams.uniforms(),
    )
    np.testing.assert_array_equal(got.turns, ref.turns)
    np.testing.assert_array_equal(got.positions[-1], ref.positions[-1])
    with pytest.raises(ValueError, match="5 replicates of uniforms for 6"):
        K.simulate(
            prep.inputs,
            prep.config,
            ReplicateGenerators(streams),
            uniforms=ReplicateStreams(np.random.SeedSequence(6), 0, 5).uniforms(),
        )
