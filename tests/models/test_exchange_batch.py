"""The exchange model's batch run: for every replicate exactly what a single run of its draw
gives (forecasts and per-round centres bit for bit, ties drawn from the replicate's own
stream), with the NumPy path (the replicates of a chunk in lockstep), the per-replicate loop it
replaced and the compiled kernel (where Numba is installed), on random small scenarios with
missing stances, exact ties and several rounds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, overload

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detente.io import load
from detente.models import accel
from detente.models import exchange as E
from detente.models import exchange_lockstep as L
from detente.models import exchange_shifts as S
from detente.models.baselines import median_centre
from detente.models.registry import get_model, pad_rounds
from detente.models.streams import ReplicateStreams
from detente.scenario import Scenario
from detente.scenario.batch import ScenarioBatch
from detente.sim.montecarlo import input_draws
from tests.conftest import shared_path

T = TypeVar("T")

try:
    import numba  # noqa: F401

    HAVE_NUMBA = True
except ImportError:
    HAVE_NUMBA = False

PATHS = ["never", *(["always"] if HAVE_NUMBA else [])]
"""``DETENTE_NUMBA`` modes to run the batch in: NumPy, and the compiled kernel if installed."""


def _mode(mode: str, fn: Callable[[], T]) -> T:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(accel.NO_NUMBA_ENV, raising=False)
        mp.setenv(accel.MODE_ENV, mode)
        return fn()


def _params(**kw: Any) -> dict[str, Any]:
    out = {p.name: p.default for p in get_model("exchange").parameters}
    out.update(kw)
    return out


class _Watched(Sequence[np.random.SeedSequence]):
    """Streams that remember which replicates asked for theirs."""

    def __init__(self, streams: Sequence[np.random.SeedSequence]) -> None:
        self.streams, self.asked = streams, set[int]()

    def __len__(self) -> int:
        return len(self.streams)

    @overload
    def __getitem__(self, i: int) -> np.random.SeedSequence: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[np.random.SeedSequence]: ...

    def __getitem__(self, i: int | slice) -> Any:
        assert isinstance(i, int)
        self.asked.add(i)
        return self.streams[i]

    def __iter__(self) -> Iterator[np.random.SeedSequence]:
        return (self[i] for i in range(len(self)))


def _single_runs(
    b: ScenarioBatch, params: dict[str, Any], streams: Sequence[np.random.SeedSequence]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Each replicate as a single run of the registered model (``detente run``'s path): its
    forecast, its per-round centres padded to ``rounds + 1``, and the number of ties met."""
    rounds = int(params["rounds"]) + 1
    forecast = np.empty((b.replicates, len(b.base.issues)))
    centre = np.empty((b.replicates, rounds, len(b.base.issues)))
    ties = 0
    for r in range(b.replicates):
        a = b.replicate(r)
        with np.errstate(over="ignore", invalid="ignore"):
            trace = E._exchange_model(a, np.random.default_rng(streams[r]), params)
        forecast[r] = trace.forecast
        c = median_centre(a.capability, trace.positions, a.salience)
        centre[r] = pad_rounds(c[None], rounds)[0]
        ties += int(trace.details["ties"])
    return forecast, centre, ties


def _assert_same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, ...]) -> None:
    np.testing.assert_array_equal(got[0], want[0], err_msg="forecasts")
    np.testing.assert_array_equal(got[1], want[1], err_msg="per-round centres")
    assert got[0].tobytes() == want[0].tobytes()  # the sign of a zero too
    assert got[1].tobytes() == want[1].tobytes()


def _random_batch(
    seed: int, n: int, m: int, r_n: int, twins: int, missing: float, grid: bool
) -> ScenarioBatch:
    """``r_n`` replicates of ``n`` actors × ``m`` issues; the last ``twins`` actors copy the
    first ones (exact ties), ``missing`` the share of absent stances, ``grid``: positions on
    multiples of 25 (actors exactly at an outcome, equal shifts)."""
    rng = np.random.default_rng(seed)
    issues = [{"id": f"i{k}", **({"scale": {"min": -5, "max": 5}} if k == 1 else {})}
              for k in range(m)]  # fmt: skip
    lo = np.array([-5.0 if k == 1 else 0.0 for k in range(m)])
    hi = np.array([5.0 if k == 1 else 100.0 for k in range(m)])
    unit = rng.uniform(0, 1, (r_n, n, m))
    if grid:
        unit = np.round(unit * 4) / 4
    pos = lo + unit * (hi - lo)
    sal = (
        rng.choice([0.0, 0.2, 0.5, 0.8, 1.0], (r_n, n, m))
        if grid
        else rng.uniform(0, 1, (r_n, n, m))
    )
    cap = rng.choice([1.0, 2.0, 5.0], (r_n, n)) if grid else rng.uniform(0.5, 100, (r_n, n))
    gone = rng.uniform(0, 1, (n, m)) < missing
    for t in range(min(twins, n // 2)):
        k = n - 1 - t
        pos[:, k], sal[:, k], cap[:, k], gone[k] = pos[:, t], sal[:, t], cap[:, t], gone[t]
    pos[:, gone] = np.nan
    sal[:, gone] = 0.0
    actors = [
        {"id": f"a{i}", "capability": float(cap[0, i]),
         "stances": {f"i{k}": {"position": float(pos[0, i, k]), "salience": float(sal[0, i, k])}
                     for k in range(m) if not gone[i, k]}}
        for i in range(n)
    ]  # fmt: skip
    base = Scenario.model_validate({"name": "random", "issues": issues, "actors": actors}).arrays()
    return ScenarioBatch(base, cap, pos, sal)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(2, 7),
    m=st.integers(2, 4),
    r_n=st.integers(1, 4),
    twins=st.integers(0, 3),
    missing=st.sampled_from([0.0, 0.15, 0.4]),
    grid=st.booleans(),
    rounds=st.integers(1, 4),
    fixed=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
)
def test_batch_is_each_replicates_single_run(
    seed: int, n: int, m: int, r_n: int, twins: int, missing: float, grid: bool, rounds: int,
    fixed: float,
) -> None:  # fmt: skip
    b = _random_batch(seed, n, m, r_n, twins, missing, grid)
    params = _params(rounds=rounds, adjust_fixed=fixed, adjust_salience=(1.0 - fixed) * 0.5)
    streams = ReplicateStreams(np.random.SeedSequence(seed).spawn(2)[1], 0, r_n)
    want = _single_runs(b, params, streams)
    for mode in PATHS:
        _assert_same(_mode(mode, lambda: E._exchange_batch(b, params, streams)), want)
    _assert_same(E._exchange_batch_loop(b, params, streams), want)


def test_the_property_meets_ties_settled_runs_and_moves() -> None:
    """The random scenarios above are not all trivial: some tie, some trade over rounds."""
    ties = traded = 0
    for seed in range(40):
        b = _random_batch(seed, 6, 3, 2, 2, 0.15, seed % 2 == 0)
        streams = ReplicateStreams(np.random.SeedSequence(seed), 0, 2)
        _f, centre, t = _single_runs(b, _params(rounds=3), streams)
        ties += t
        traded += int((centre[:, -1] != centre[:, 0]).any())
    assert ties > 10
    assert traded > 10


@pytest.mark.parametrize("mode", PATHS)
def test_copenhagens_ties_draw_from_each_replicates_own_stream(mode: str) -> None:
    """copenhagen has actors with equal numbers: many replicates tie. Every one is what its
    single run gives, and only replicates that tie make a generator of their stream."""
    sc = load(shared_path("reference", "exchange", "inputs", "copenhagen.csv")).scenario
    b, streams = input_draws(sc, 12, 5, streams=True)
    # no uncertainty in the file: every replicate has the same inputs, so only the stream
    # (the tie draws) tells them apart
    params = _params(rounds=3)
    watched = _Watched(streams)
    got = _mode(mode, lambda: E._exchange_batch(b, params, watched))
    want = _single_runs(b, params, streams)
    _assert_same(got, want)
    assert want[2] > 0
    assert len({row.tobytes() for row in want[0]}) > 1  # the draws differ between replicates
    tying = {
        r for r in range(b.replicates) if _single_runs(b.slice(r, r + 1), params, [streams[r]])[2]
    }
    assert watched.asked == tying


def test_a_batch_without_ties_makes_no_generator() -> None:
    b = _random_batch(3, 6, 3, 5, 0, 0.0, False)
    streams = ReplicateStreams(np.random.SeedSequence(1), 0, 5)
    want = _single_runs(b, _params(rounds=2), streams)
    assert want[2] == 0
    for mode in PATHS:
        watched = _Watched(streams)
        _assert_same(
            _mode(mode, lambda w=watched: E._exchange_batch(b, _params(rounds=2), w)), want
        )
        assert watched.asked == set()


@pytest.mark.parametrize(("n", "m", "rounds"), [(25, 5, 3), (40, 3, 2)])
def test_many_actors_compiled_and_numpy_agree(n: int, m: int, rounds: int) -> None:
    """Beyond 8 and 16 actors NumPy adds an issue's column pairwise: the kernel too."""
    if not HAVE_NUMBA:
        pytest.skip("numba is not installed: the compiled kernel is optional (extra 'fast')")
    b = _random_batch(n * m, n, m, 3, 4, 0.1, False)
    streams = ReplicateStreams(np.random.SeedSequence(n), 0, 3)
    params = _params(rounds=rounds)
    want = _single_runs(b, params, streams)
    _assert_same(_mode("always", lambda: E._exchange_batch(b, params, streams)), want)


@pytest.mark.parametrize("n", [*range(0, 40), 127, 128, 129, 136, 255, 256, 257, 1000, 4099])
def test_the_kernels_sums_are_numpys(n: int) -> None:
    if not HAVE_NUMBA:
        pytest.skip("numba is not installed: the compiled kernel is optional (extra 'fast')")
    kernel = _mode("always", lambda: accel.load(E.KERNEL))
    assert kernel is not None
    rng = np.random.default_rng(n)
    for _ in range(20):
        a = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
        assert _mode("always", lambda a=a: kernel._pairwise(a, n)) == a.sum()


# -- the NumPy path: replicates in lockstep ---------------------------------------------------


def _voting_both(
    b: ScenarioBatch, params: dict[str, Any], streams: Sequence[np.random.SeedSequence]
) -> tuple[np.ndarray, np.ndarray]:
    """The voting positions by round from the lockstep path and from simulate per replicate."""
    span = E._to_span(b.base, b.position)
    return (
        E._voting_lockstep(b, span, params, streams),
        E._voting_numpy(b, span, params, streams),
    )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(2, 9),
    m=st.integers(2, 4),
    r_n=st.integers(1, 6),
    twins=st.integers(0, 3),
    missing=st.sampled_from([0.0, 0.15, 0.4]),
    grid=st.booleans(),
    rounds=st.integers(1, 4),
    fixed=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
)
def test_lockstep_voting_is_each_replicates_simulate(
    seed: int, n: int, m: int, r_n: int, twins: int, missing: float, grid: bool, rounds: int,
    fixed: float,
) -> None:  # fmt: skip
    """Every voting position of every round, not only the forecasts built from the last."""
    b = _random_batch(seed, n, m, r_n, twins, missing, grid)
    params = _params(rounds=rounds, adjust_fixed=fixed, adjust_salience=(1.0 - fixed) * 0.5)
    streams = ReplicateStreams(np.random.SeedSequence(seed), 0, r_n)
    got, want = _voting_both(b, params, streams)
    assert got.tobytes() == want.tobytes()


def _mixed_batch(seed: int) -> ScenarioBatch:
    """Replicates that tie (positions and saliences on a grid, twin actors) alternating with
    replicates that do not (continuous inputs, no twins), in one batch."""
    tie = _random_batch(seed, 6, 3, 3, 2, 0.0, True)
    calm = _random_batch(seed + 1, 6, 3, 3, 0, 0.0, False)
    inputs = (
        np.stack([arr[r] for r in range(3) for arr in (one, other)])
        for one, other in (
            (tie.capability, calm.capability),
            (tie.position, calm.position),
            (tie.salience, calm.salience),
        )
    )
    return ScenarioBatch(tie.base, *inputs)


@pytest.mark.parametrize("seed", range(6))
def test_a_chunk_mixing_replicates_that_tie_and_that_do_not(seed: int) -> None:
    """Lockstep == loop == single runs, and only the replicates that tie make a generator."""
    b = _mixed_batch(seed)
    params = _params(rounds=3)
    streams = ReplicateStreams(np.random.SeedSequence(seed), 0, b.replicates)
    want = _single_runs(b, params, streams)
    watched = _Watched(streams)
    _assert_same(_mode("never", lambda: E._exchange_batch(b, params, watched)), want)
    _assert_same(E._exchange_batch_loop(b, params, streams), want)
    ties = [_single_runs(b.slice(r, r + 1), params, [streams[r]])[2] for r in range(6)]
    assert watched.asked == {r for r in range(6) if ties[r]}
    assert 0 < len(watched.asked) < 6  # the chunk does mix the two kinds


@pytest.mark.parametrize(("build", "group"), [(1, 1), (40, 1), (40, 300), (1, 10**6)])
def test_lockstep_groups_give_the_same_numbers(
    build: int, group: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk split into groups of replicates (one each, a few), its tables built a replicate
    or a few at a time, runs as one group does."""
    b = _random_batch(11, 6, 3, 7, 2, 0.15, True)
    params = _params(rounds=3)
    streams = ReplicateStreams(np.random.SeedSequence(11), 0, 7)
    whole, want = _voting_both(b, params, streams)
    monkeypatch.setattr(L, "MAX_ENTRIES", build)
    monkeypatch.setattr(L, "GROUP_ENTRIES", group)
    split, _ = _voting_both(b, params, streams)
    assert split.tobytes() == whole.tobytes() == want.tobytes()


@pytest.mark.parametrize(("n", "m", "rounds"), [(25, 5, 3), (40, 3, 2)])
def test_many_actors_lockstep_is_each_single_run(n: int, m: int, rounds: int) -> None:
    """Beyond 8 and 16 actors NumPy adds an issue's column pairwise: the lockstep rows too."""
    b = _random_batch(n * m, n, m, 3, 4, 0.1, False)
    streams = ReplicateStreams(np.random.SeedSequence(n), 0, 3)
    params = _params(rounds=rounds)
    want = _single_runs(b, params, streams)
    _assert_same(_mode("never", lambda: E._exchange_batch(b, params, streams)), want)


def test_the_lockstep_constants_are_the_models() -> None:
    # one definition (exchange_shifts), used by the single run and the lockstep batch
    assert E.TIE_RTOL == L.TIE_RTOL == S.TIE_RTOL
    assert L.shifts is E.shifts is S.shifts


@pytest.mark.parametrize("n", [*range(1, 40), 127, 128, 129, 136, 255, 256, 257, 1000])
def test_row_sums_are_each_columns_sum(n: int) -> None:
    """An outcome after an exchange: the lockstep path sums the rows of ``w[rows, :, issue] *
    y[rows, :, issue]``, the single run ``sum()`` of one issue's column; and a round's start
    adds the actors in order, as ``sum(axis=0)`` does."""
    rng = np.random.default_rng(n)
    a = rng.standard_normal((5, n, 4)) * 10.0 ** rng.uniform(-8, 8, (5, n, 4))
    rows, issue = np.array([4, 0, 2]), np.array([1, 3, 1])
    prod = np.ascontiguousarray(a[rows, :, issue] * np.nan_to_num(a[rows, :, issue]))
    got = prod.sum(axis=1)
    for e, (r, k) in enumerate(zip(rows, issue, strict=True)):
        assert got[e] == (a[r][:, k] * np.nan_to_num(a[r][:, k])).sum()
    sums = L._column_sums(a)
    for r in range(5):
        assert sums[r].tobytes() == a[r].sum(axis=0).tobytes()


def test_too_many_possible_exchanges_is_a_clear_error_in_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b = _random_batch(2, 7, 4, 2, 0, 0.0, False)
    streams = ReplicateStreams(np.random.SeedSequence(2), 0, 2)
    monkeypatch.setattr(E, "MAX_CANDIDATES", 20)
    with pytest.raises(ValueError, match="7 actors × 4 issues give more than 20 possible"):
        _mode("never", lambda: E._exchange_batch(b, _params(), streams))
