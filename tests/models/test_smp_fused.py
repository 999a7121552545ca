"""The compiled inner loops of an SMP turn (``smp_fused``) against the NumPy kernel: equal bit
for bit, for every parameter value, single runs with every record and batches; and the switch
from NumPy to them in the middle of a run changes no number."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest

numba = pytest.importorskip(
    "numba", reason="numba is not installed: the compiled SMP loops are optional (extra 'fast')"
)

from detente.models import accel  # noqa: E402
from detente.models import smp_fused as FU  # noqa: E402
from detente.models import smp_kernel as K  # noqa: E402

T = TypeVar("T")


def _mode(mode: str, fn: Callable[[], T]) -> T:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(accel.NO_NUMBA_ENV, raising=False)
        mp.setenv(accel.MODE_ENV, mode)
        return fn()


def _inputs(seed: int, r_n: int, n: int, dim: int) -> K.Inputs:
    rng = np.random.default_rng(seed)
    sal = rng.uniform(0.05, 1.0, (r_n, n, dim))
    sal /= sal.sum(axis=-1, keepdims=True) * rng.uniform(1.0, 1.6, (r_n, n, 1))
    pos = rng.uniform(0.0, 1.0, (r_n, n, dim))
    pos[:, 1] = pos[:, 0]  # two actors at one position: exact ties, KTAB's 1e-8 ramps bite
    pos[:, 2] = pos[:, 0] + 2e-4  # and one within the outcome tolerance
    sal[:, 3] = sal[:, 4]
    return K.Inputs(rng.uniform(0.5, 100.0, (r_n, n)), sal, pos)


def _run(inputs: K.Inputs, cfg: K.Config, mode: str) -> K.History | str:
    gens = [
        np.random.default_rng(q) for q in np.random.SeedSequence(3).spawn(len(inputs.capability))
    ]
    try:
        return _mode(mode, lambda: K.simulate(inputs, cfg, gens, bargain_utility=True))
    except K.ConvergenceError:
        return "no convergence"


def _assert_same(a: K.History | str, b: K.History | str) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    np.testing.assert_array_equal(a.turns, b.turns)
    for name in ("positions", "ideals", "risk", "flat", "win", "representative", "outcome"):
        for t, (x, y) in enumerate(zip(getattr(a, name), getattr(b, name), strict=True)):
            np.testing.assert_array_equal(x, y, err_msg=f"{name}[{t}]")
    for name in ("final_win", "final_outcome", "final_group", "final_risk"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert len(a.records) == len(b.records)
    for t, (ra, rb) in enumerate(zip(a.records, b.records, strict=True)):
        for part in ("challenges", "bargains"):
            for f in dataclasses.fields(getattr(ra, part)):
                x, y = getattr(getattr(ra, part), f.name), getattr(getattr(rb, part), f.name)
                np.testing.assert_array_equal(x, y, err_msg=f"turn {t} {part}.{f.name}")
        np.testing.assert_array_equal(ra.mover, rb.mover, err_msg=f"turn {t} mover")


PARAMS: list[dict[str, Any]] = [
    {},
    *({"voting": v} for v in range(len(K.VOTING))),
    *({"third_party": v} for v in (K.TPC_NO, K.TPC_FULL)),
    *({"victory": v} for v in range(len(K.VICTORY))),
    *({"pce": v} for v in (K.PCE_MARKOV_INCENTIVE, K.PCE_MARKOV_UNIFORM)),
    *({"big_r_adjust": v} for v in range(len(K.BIG_R_ADJUST))),
    *({"big_r_range": v} for v in (K.RR_MIN, K.RR_MAX)),
    *({"inter_vec": v} for v in (K.IVB_S1P1, K.IVB_S2PMAX)),
    *({"bargain": v} for v in (K.BM_INIT_RCVR, K.BM_PW_COMP)),
    {"stochastic": True},
    {"ktab_compat": True, "voting": K.VR_ASYM},
    {"bargain": K.BM_INIT_RCVR, "ktab_bargains": False, "voting": K.VR_PROPBIN},
]


@pytest.mark.parametrize("params", PARAMS, ids=[str(p) or "defaults" for p in PARAMS])
def test_single_runs_with_every_record_equal_numpy(params: dict[str, Any]) -> None:
    cfg = K.Config(max_turns=12, **params)
    inputs = _inputs(11, 1, 9, 2)
    _assert_same(_run(inputs, cfg, "always"), _run(inputs, cfg, "never"))


def test_batches_and_small_numpy_chunks_equal() -> None:
    """Replicates with their own inputs; NumPy's third-party chunks of one initiator."""
    inputs = _inputs(12, 3, 10, 3)
    cfg = K.Config(max_turns=10, stochastic=True, voting=K.VR_PROPCBC)
    small = dataclasses.replace(cfg, chunk_elements=64)
    _assert_same(_run(inputs, cfg, "always"), _run(inputs, small, "never"))


def test_switching_to_the_compiled_loops_mid_run_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that starts in NumPy and takes the compiled loops from its fourth step on (as
    :func:`accel.choose` does once NumPy has run long enough) gives the NumPy run's numbers."""
    inputs = _inputs(13, 1, 12, 2)
    cfg = K.Config(max_turns=9)
    want = _run(inputs, cfg, "never")
    asked: list[str] = []

    def choose(name: str, **_: Any) -> Any:
        asked.append(name)
        return FU if name == K.FUSED and len(asked) > 3 else None

    monkeypatch.setattr(accel, "choose", choose)
    got = _run(inputs, cfg, "auto")
    assert len(asked) == 4  # asked at the start and every turn until it said yes
    _assert_same(got, want)


def test_kernels_alone_equal_numpy_on_ties_and_every_rule() -> None:
    rng = np.random.default_rng(5)
    r_n, n = 2, 7
    util = rng.uniform(0.0, 1.0, (r_n, n, n))
    util[:, :, 1] = util[:, :, 0]  # two options every voter values alike
    w = rng.uniform(0.1, 2.0, (r_n, n))
    table = rng.uniform(0.0, 1.0, (r_n, 5, n))
    table[:, 2] = table[:, 1]
    lead = np.array([0, 1, 1, 0])
    ra, rb = np.array([1, 2, 4, 3]), np.array([2, 1, 0, 0])
    for rule in range(len(K.VOTING)):
        np.testing.assert_array_equal(
            FU.coalitions(rule, w, util), K.coalitions(rule, w, util), err_msg=str(rule)
        )
        voters_first = np.ascontiguousarray(np.moveaxis(table, -1, 0))
        for got, want in zip(
            FU.pair_strengths(rule, w, table, lead, ra, rb),
            K.pair_strengths(rule, w, voters_first, lead, ra, rb),
            strict=True,
        ):
            np.testing.assert_array_equal(got, want, err_msg=str(rule))
    uown = rng.uniform(0.0, 1.0, (r_n, n, n))
    u_pi, u_pj = rng.uniform(0.0, 1.0, (2, r_n, n, n))
    initiator = np.arange(n)
    receiver = np.where(rng.random((r_n, n)) < 0.3, -1, rng.integers(0, n, (r_n, n)))
    np.testing.assert_array_equal(
        FU.bargain_utilities(uown, u_pi, u_pj, initiator, receiver),
        K.bargain_utilities(uown, u_pi, u_pj, initiator, receiver),
    )


def test_in_cache_sees_the_loops_once_compiled() -> None:
    """The cache check the policy relies on (``accel.in_cache``) answers for this module."""
    gens = [np.random.default_rng(0)]
    _mode("always", lambda: K.simulate(_inputs(14, 1, 5, 1), K.Config(max_turns=2), gens))
    assert accel.in_cache(FU)


def test_two_threads_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large loops share their rows with a helper thread; every row is computed alone."""
    inputs = _inputs(15, 2, 11, 2)
    cfg = K.Config(max_turns=8, voting=K.VR_PROPBIN)
    want = _run(inputs, cfg, "never")
    monkeypatch.setattr(FU, "SPLIT_ELEMENTS", 0)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    _assert_same(_run(inputs, cfg, "always"), want)
