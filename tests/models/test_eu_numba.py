"""The fused Numba kernel (``record=False``) against the NumPy reference kernel."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip(
    "numba", reason="numba is not installed: the fused kernel is optional (extra 'fast')"
)

from detente import io  # noqa: E402
from detente.models import accel, eu_kernel, eu_numba  # noqa: E402
from detente.models.eu_kernel import Choices, EUResult, resolve_choices, simulate  # noqa: E402
from tests.conftest import shared_path  # noqa: E402

DATASETS = ("emission_standards", "sultan", "china", "iran_2013_election")
FIELDS = ("positions", "median", "mean", "range", "risk", "security", "offer_eu")
EXACT = ("risk_degenerate", "proposer", "kind")
EUM = resolve_choices("paper", opponent_salience="printed", compromise="weighted")
SWITCH_SETS = [
    resolve_choices("scholz-program"),
    resolve_choices("paper"),
    EUM,
    resolve_choices("paper", opponent_salience="printed"),
    resolve_choices(
        "paper", opponent_salience="printed", compromise="weighted", zero_tolerance=0.0
    ),
    resolve_choices(
        "paper", opponent_salience="printed", compromise="weighted", zero_tolerance=1e-4
    ),
    resolve_choices("paper", normaliser="total", opponent_exponent="challenger"),
    resolve_choices("scholz-program", vote_exponent="none", capitulation="move"),
    resolve_choices("scholz-program", opponent_exponent="own", offer_order="least-movement"),
]
IDS = ["-".join(str(v) for v in c.as_dict().values()) for c in SWITCH_SETS]


@pytest.fixture(autouse=True)
def _fused_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eu_kernel.NO_NUMBA_ENV, raising=False)
    monkeypatch.setenv(accel.MODE_ENV, "always")  # every call, however small, runs fused
    assert eu_kernel.fused_kernel_available()


def _numpy(fn: Callable[[], EUResult]) -> EUResult:
    """``fn()`` with the NumPy kernel forced."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(eu_kernel.NO_NUMBA_ENV, "1")
        assert not eu_kernel.fused_kernel_available()
        return fn()


def _both(c: Any, x: Any, s: Any, **kwargs: Any) -> tuple[EUResult, EUResult]:
    fused = simulate(c, x, s, record=False, **kwargs)
    ref = _numpy(lambda: simulate(c, x, s, record=False, **kwargs))
    return fused, ref


def _compare(fused: EUResult, ref: EUResult, rtol: float = 1e-12) -> dict[str, float]:
    """Assert agreement within ``rtol`` (see :func:`_close`) and equal discrete outcomes;
    returns the max differences."""
    worst = _close(fused, ref, np.full(ref.positions.shape[0], ref.rounds), rtol)
    for name in EXACT:
        np.testing.assert_array_equal(getattr(fused, name), getattr(ref, name), name)
    assert fused.probability is None
    assert fused.classification is None
    assert fused.choices == ref.choices
    assert fused.q == ref.q
    return worst


def _close(
    fused: EUResult, ref: EUResult, until: np.ndarray, rtol: float, first: float = 1e-12
) -> dict[str, float]:
    """Continuous outputs agree for every replicate ``b`` up to round ``until[b]`` (its
    positions, medians and means up to that state, its risk exponents, security sums and
    accepted offers before it): within ``first`` in round 1 and ``rtol`` over
    the whole run. Positions, medians and means relative to the replicate's range, security
    sums to their size (at least 1). Risk exponents only where the security sums differ by more
    than 1e-6 of their size: eq. 32 divides by that spread, so below it both kernels' exponents
    are rounding noise (the NumPy kernel's own tests compare them only while actors are apart).
    """
    span = np.where(ref.range > 0, ref.range, 1.0)
    size = np.maximum(1.0, np.abs(ref.security).max(axis=2, initial=0.0))
    conditioned = np.ptp(ref.security, axis=2) > 1e-6 * size if ref.rounds else size > 0
    worst: dict[str, float] = {}
    state = np.arange(ref.rounds + 1)
    for name in FIELDS:
        a, b = getattr(fused, name), getattr(ref, name)
        assert a.shape == b.shape, name
        if name == "range":
            keep = np.ones(a.shape, dtype=bool)
        else:
            # The state a replicate parts from still agrees; its risk exponents and offers
            # may not.
            per_state = name in ("positions", "median", "mean")
            limit = until if per_state else until - 1
            keep = state[: a.shape[1]][None, :] <= limit[:, None]
            if name == "risk":
                keep = keep & conditioned
            keep = np.broadcast_to(keep.reshape(keep.shape + (1,) * (a.ndim - 2)), a.shape)
        np.testing.assert_array_equal(np.isnan(a) & keep, np.isnan(b) & keep, name)
        diff = np.abs(np.where(keep & ~np.isnan(a), a - b, 0.0))
        if name in ("positions", "median", "mean"):
            diff = diff / span.reshape((-1,) + (1,) * (diff.ndim - 1))
        elif name == "security":
            diff = diff / size[:, :, None]
        worst[name] = float(diff.max(initial=0.0))
        assert worst[name] <= rtol, f"{name}: max difference {worst[name]:.3g} > {rtol:.3g}"
        if name in ("positions", "median", "mean") and diff.shape[1] > 1:
            early = float(diff[:, :2].max())
            assert early <= first, f"{name} after round 1: {early:.3g} > {first:.3g}"
    return worst


def _knife_edge(full: EUResult, t: int, actors: np.ndarray) -> float:
    """How close round ``t``'s decisions were to a border, from the NumPy kernel's per-pair
    record: the smallest of ``|a + b|`` (compromise vs capitulation), ``|b - a - tie|``
    (conflict), ``||a| - tol|``, ``||b| - tol|`` (zero) and ``|d - same|`` (one position) over
    the contests of ``actors``, and with ``Q < 1`` ``||x_j - mu| - |x_j - x_i||`` (the T rule,
    which decides a pair at the median voter's position by rounding) over all pairs."""
    assert full.eu is not None
    assert full.eu_opponent is not None
    tol = full.choices.zero_tolerance
    x = full.positions[0, t]
    span = full.range[0] if full.range[0] > 0 else 1.0
    margin = np.inf
    for i in actors:
        d = np.abs(x[i] - x) / span
        a, b = full.eu[0, t, i], full.eu_opponent[0, t, i]
        for m in (
            np.abs(a + b),
            np.abs(b - a - eu_kernel._CONFLICT_TIE),
            np.abs(np.abs(a) - tol),
            np.abs(np.abs(b) - tol),
            np.abs(d - eu_kernel._SAME_POSITION),
        ):
            margin = min(margin, float(np.min(np.delete(m, i))))
    if full.q < 1:
        mu = full.median[0, t]
        d = np.abs(x[:, None] - x[None, :]) / span
        t_rule = np.abs(np.abs(x - mu)[:, None] / span - d)
        margin = min(margin, float(np.min(t_rule[~np.eye(x.size, dtype=bool)])))
    return margin


def _agree(
    c: np.ndarray,
    x: np.ndarray,
    s: np.ndarray,
    max_share: float = 0.05,
    rtol: float = 1e-9,
    **kwargs: Any,
) -> int:
    """Fused and NumPy kernels agree on every replicate (within 1e-12 of the range after round
    1, ``rtol`` over the run, see :func:`_close`), except that a replicate may part ways at a
    knife-edge: a decision that rounding alone settles (a region border within 1e-12, see
    :func:`_knife_edge`), seen as different offers or risk exponents; up to the round where it
    does, the two still agree. Returns the number of such replicates (at most ``max_share``)."""
    fused, ref = _both(c, x, s, **kwargs)
    differs = (fused.proposer != ref.proposer) | (fused.kind != ref.kind)
    size = np.maximum(1.0, np.abs(ref.security).max(axis=2, initial=0.0))
    conditioned = np.ptp(ref.security, axis=2, keepdims=True) > 1e-6 * size[:, :, None]
    differs |= conditioned & (np.abs(fused.risk - ref.risk) > rtol)
    parted = differs.any(axis=2)
    until = np.where(parted.any(axis=1), parted.argmax(axis=1), ref.rounds)
    _close(fused, ref, until, rtol)
    c2, x2, s2 = (np.atleast_2d(v) for v in (c, x, s))
    split = np.flatnonzero(until < ref.rounds)
    options = {k: v for k, v in kwargs.items() if k != "rounds"}
    for b in split:
        t = int(until[b])
        full = _numpy(lambda b=b, t=t: simulate(c2[b], x2[b], s2[b], rounds=t + 1, **options))
        margin = _knife_edge(full, t, np.flatnonzero(differs[b, t]))
        assert margin <= 1e-12, f"replicate {b} parts at round {t}, {margin:.3g} from a border"
    assert split.size <= max(1, max_share * x2.shape[0]), f"{split.size} replicates parted"
    return int(split.size)


@cache
def _input(dataset: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    arrays = io.read(shared_path("reference", "bdm", "inputs", f"{dataset}.csv")).arrays()
    return arrays.actors, arrays.capability, arrays.position[:, 0], arrays.salience[:, 0]


def _reference_positions(run_dir: str, actors: tuple[str, ...]) -> np.ndarray:
    path: Path = shared_path("reference", "bdm", "runs", run_dir, "positions.csv")
    values: dict[tuple[int, str], float] = {}
    for line in path.read_text().splitlines()[1:]:
        t, actor, value = line.split(",")[:3]
        values[int(t), actor] = float(value)
    rounds = sorted({t for t, _ in values})
    return np.array([[values[t, a] for a in actors] for t in rounds])


# -- reference inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("q", [1.0, 0.6])
@pytest.mark.parametrize("choices", SWITCH_SETS, ids=IDS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_reference_inputs_agree_with_numpy(dataset: str, choices: Choices, q: float) -> None:
    _, c, x, s = _input(dataset)
    if choices in SWITCH_SETS[:3]:  # the variants and eum's choices: no knife-edges at all
        _compare(*_both(c, x, s, rounds=12, q=q, choices=choices))
    else:
        _agree(c, x, s, max_share=1.0, rounds=12, q=q, choices=choices)


@pytest.mark.parametrize("dataset", DATASETS)
def test_fused_scholz_program_reproduces_velev(dataset: str) -> None:
    actors, c, x, s = _input(dataset)
    result = simulate(c, x, s, rounds=10, variant="scholz-program", record=False)
    ref = _reference_positions(f"velev__{dataset}", actors)
    assert np.max(np.abs(result.positions[0] - ref)) <= 1e-9 * np.ptp(x)


@pytest.mark.parametrize("zero_tolerance", [0.0, 1e-4, 1e-12])
@pytest.mark.parametrize("dataset", DATASETS)
def test_fused_eum_choices_reproduce_eum(dataset: str, zero_tolerance: float) -> None:
    actors, c, x, s = _input(dataset)
    choices = resolve_choices(
        "paper", opponent_salience="printed", compromise="weighted", zero_tolerance=zero_tolerance
    )
    result = simulate(c, x, s, rounds=10, choices=choices, record=False)
    ref = _reference_positions(f"eum__{dataset}", actors)
    assert np.max(np.abs(result.positions[0] - ref)) <= 1e-9 * np.ptp(x)


# -- random batches -------------------------------------------------------------------------------


def _random_batch(seed: int, n: int, batch: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous replicates, plus ties: shared positions, equal weights, grid positions,
    unanimous replicates, a zero-weight actor, two-actor games on a few."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.01, 10, (batch, n))
    x = rng.uniform(-50, 50, (batch, n))
    s = rng.uniform(0.05, 1, (batch, n))
    x[1::5, : n // 2] = x[1::5, :1]  # half the actors at one position
    x[2::5] = rng.integers(0, 4, (len(x[2::5]), n)).astype(float) * 2.5  # grid: many ties
    c[2::5] = 1.0
    s[3::5] = 0.5  # equal saliences
    x[4::25] = 7.0  # unanimous
    c[9::25, 0] = 0.0  # an actor without weight
    return c, x, s


@pytest.mark.parametrize("q", [1.0, 0.5])
@pytest.mark.parametrize("choices", SWITCH_SETS, ids=IDS)
@pytest.mark.parametrize("n", [3, 7, 12, 30])
def test_random_batches_agree_with_numpy(n: int, choices: Choices, q: float) -> None:
    c, x, s = _random_batch(1000 + n, n)
    _agree(c, x, s, rounds=10, q=q, choices=choices)


@pytest.mark.parametrize("variant", ["scholz-program", "paper"])
def test_many_actors_agree_with_numpy(variant: str) -> None:
    c, x, s = _random_batch(5, 45, batch=6)
    _agree(c, x, s, rounds=4, variant=variant)


def test_unanimous_and_two_actor_replicates() -> None:
    c = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 3.0]])
    x = np.array([[5.0, 5.0], [0.0, 1.0], [2.0, -2.0]])
    s = np.array([[0.5, 0.9], [0.5, 0.5], [1.0, 1.0]])
    for variant in ("scholz-program", "paper"):
        fused, ref = _both(c, x, s, rounds=5, variant=variant)
        _compare(fused, ref)
        assert np.all(fused.positions[0] == 5.0)
        assert np.all(fused.risk[0] == 1.0)


def test_one_dimensional_input_and_zero_rounds() -> None:
    _, c, x, s = _input("emission_standards")
    fused, ref = _both(c, x, s, rounds=0)
    _compare(fused, ref)
    assert fused.positions.shape == (1, 1, c.size)


# -- dispatch and determinism ---------------------------------------------------------------------


def test_threads_do_not_change_results() -> None:
    c, x, s = _random_batch(77, 9, batch=300)
    assert x.shape[0] >= eu_numba.PARALLEL_MIN_REPLICATES
    saved = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate(c, x, s, rounds=8, record=False)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = simulate(c, x, s, rounds=8, record=False)
    finally:
        numba.set_num_threads(saved)
    # A short batch runs serially, on the calling thread.
    head = simulate(c[:5], x[:5], s[:5], rounds=8, record=False)
    for name in (*FIELDS, *EXACT):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), name)
        np.testing.assert_array_equal(getattr(head, name), getattr(one, name)[:5], name)


def test_environment_variable_forces_numpy_and_record_never_fuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, c, x, s = _input("china")
    calls: list[int] = []
    real = eu_numba.simulate_fused

    def spy(*args: Any) -> dict[str, Any]:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(eu_numba, "simulate_fused", spy)
    simulate(c, x, s, record=False)
    assert calls == [1]
    full = simulate(c, x, s)  # record=True: the NumPy kernel, with every pair's details
    assert full.probability is not None
    assert calls == [1]
    monkeypatch.setenv(eu_kernel.NO_NUMBA_ENV, "1")
    lean = simulate(c, x, s, record=False)
    assert calls == [1]
    for name in (*FIELDS, *EXACT):  # the NumPy kernel, with or without the details
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name), name)
    monkeypatch.setenv(eu_kernel.NO_NUMBA_ENV, "0")
    simulate(c, x, s, record=False)
    assert calls == [1, 1]


def test_missing_numba_falls_back_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel, "_loaded", {})
    monkeypatch.setattr(accel, "_numba_failed", [])
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba: ModuleNotFoundError
    assert not eu_kernel.fused_kernel_available()
    _, c, x, s = _input("emission_standards")
    assert simulate(c, x, s, record=False).positions.shape == (1, 11, c.size)


def test_unwritable_cache_compiles_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = numba.njit
    seen: list[bool] = []

    def njit(**kwargs: Any) -> Any:
        seen.append(kwargs["cache"])
        if kwargs["cache"]:
            raise RuntimeError("cannot cache function: no locator available")
        return real(**kwargs)

    monkeypatch.setattr(numba, "njit", njit)

    def double(v: float) -> float:
        return 2.0 * v

    compiled = accel.jit(entry=True)(double)
    assert compiled(1.5) == 3.0
    assert seen == [True, False]
