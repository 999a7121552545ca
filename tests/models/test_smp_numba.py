"""The compiled SMP turns (``simulate(..., record=False)``) against the NumPy kernel: equal bit
for bit, for every parameter value, on shapes that exercise NumPy's pairwise sums (8 actors or
issues and more), with and without threads, drawing ahead, splitting batches."""

from __future__ import annotations

import dataclasses
import io as io_
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest

numba = pytest.importorskip(
    "numba", reason="numba is not installed: the compiled SMP turns are optional (extra 'fast')"
)

from detente import io  # noqa: E402
from detente.models import accel, eu_kernel  # noqa: E402
from detente.models import smp_kernel as K  # noqa: E402
from detente.models import smp_numba as N  # noqa: E402
from detente.sim.montecarlo import monte_carlo  # noqa: E402
from tests.conftest import shared_path  # noqa: E402

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _compiled_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(K.NO_NUMBA_ENV, raising=False)
    monkeypatch.setenv(accel.MODE_ENV, "always")  # every call, however small, runs compiled
    assert K.compiled() is not None


def _numpy(fn: Callable[[], T]) -> T:
    """``fn()`` with the NumPy kernel only."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(K.NO_NUMBA_ENV, "1")
        assert K.compiled() is None
        return fn()


def _inputs(seed: int, r_n: int, n: int, dim: int, acc: bool = False) -> K.Inputs:
    rng = np.random.default_rng(seed)
    sal = rng.uniform(0.05, 1.0, (r_n, n, dim))
    sal /= sal.sum(axis=-1, keepdims=True) * rng.uniform(1.0, 1.6, (r_n, n, 1))
    pos = rng.uniform(0.0, 1.0, (r_n, n, dim))
    pos[:, 1] = pos[:, 0] + 2e-4  # two positions within KTAB's tolerance: one outcome
    accommodation = None
    if acc:
        accommodation = np.eye(n)
        accommodation[0, :2] = [0.6, 0.3]
        accommodation[n - 1, 0] = 0.2
    return K.Inputs(rng.uniform(0.5, 100.0, (r_n, n)), sal, pos, accommodation)


def _run(inputs: K.Inputs, cfg: K.Config, seed: int = 5, **kw: Any) -> K.History | str:
    gens = [
        np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(len(inputs.capability))
    ]
    try:
        return K.simulate(inputs, cfg, gens, record=False, positions=True, **kw)
    except K.ConvergenceError:
        return "no convergence"


def _assert_same(a: K.History | str, b: K.History | str) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    np.testing.assert_array_equal(a.turns, b.turns)
    for name in ("final_win", "final_outcome", "final_group", "final_risk"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("positions", "ideals"):
        seq_a, seq_b = getattr(a, name), getattr(b, name)
        assert len(seq_a) == len(seq_b), name
        for x, y in zip(seq_a, seq_b, strict=True):
            np.testing.assert_array_equal(x, y, err_msg=name)


FIELD_VALUES = [
    ("victory", range(5)),
    ("pce", range(3)),
    ("voting", range(6)),
    ("big_r_adjust", range(5)),
    ("big_r_range", range(3)),
    ("third_party", range(3)),
    ("inter_vec", range(3)),
    ("bargain", range(3)),
    ("ktab_compat", (True,)),
]
CONFIGS = [
    pytest.param(dict([(name, v)]), id=f"{name}={v}") for name, vals in FIELD_VALUES for v in vals
] + [
    pytest.param(dict(pce=1, voting=3, bargain=1), id="markov-propcbc-rcvr"),
    pytest.param(dict(pce=2, bargain=2, ktab_compat=True), id="uniform-pwcomp-compat"),
    pytest.param(dict(pce=1, voting=5, victory=4, bargain=1, ktab_compat=True), id="asym-binary"),
    pytest.param(dict(pce=1, third_party=0, inter_vec=2), id="markov-nocommit-s2pmax"),
    pytest.param(dict(bargain=1, ktab_bargains=False), id="rcvr-corrected"),
    pytest.param(dict(bargain=2, ktab_bargains=False, voting=1), id="pwcomp-corrected-propbin"),
]


@pytest.mark.parametrize("stochastic", [False, True], ids=["deterministic", "stochastic"])
@pytest.mark.parametrize("change", CONFIGS)
def test_every_parameter_value_gives_numpys_numbers(
    change: dict[str, Any], stochastic: bool
) -> None:
    cfg = dataclasses.replace(K.Config(max_turns=10, stochastic=stochastic), **change)
    inputs = _inputs(1, 4, 7, 3, acc=True)
    _assert_same(_run(inputs, cfg), _numpy(lambda: _run(inputs, cfg)))


@pytest.mark.parametrize(
    ("r_n", "n", "dim"),
    [(3, 12, 9), (2, 20, 1), (3, 4, 2), (1, 2, 1)],
    ids=["8+ actors and issues", "20 actors one issue", "small", "two actors"],
)
@pytest.mark.parametrize("pce", [0, 1, 2], ids=["conditional", "incentive", "uniform"])
def test_shapes_of_numpys_pairwise_sums(r_n: int, n: int, dim: int, pce: int) -> None:
    # wide elections (16 and 32 options) and sums over 8 and more actors or issues
    cfg = K.Config(max_turns=8, stochastic=True, pce=pce, bargain=K.BM_INIT_RCVR)
    inputs = _inputs(n + dim, r_n, n, dim, acc=n > 2)
    _assert_same(_run(inputs, cfg), _numpy(lambda: _run(inputs, cfg)))


def test_ktab_example_monte_carlo_is_unchanged() -> None:
    sc = io.read(shared_path("reference", "ktab", "inputs", "smpExample_as-of-2017-05.xml"))
    fast = monte_carlo(sc, "smp", 60, 7, chunk=25)
    ref = _numpy(lambda: monte_carlo(sc, "smp", 60, 7, chunk=25))
    np.testing.assert_array_equal(fast.forecasts, ref.forecasts)
    np.testing.assert_array_equal(fast.centre, ref.centre)
    assert fast.to_dict() == ref.to_dict()


def test_split_batches_and_drawing_ahead_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = io.load_default()
    whole = monte_carlo(sc, "smp", 30, 3, params={"StateTransitions": "Stochastic"})
    monkeypatch.setattr(K, "MAX_BATCH_ELEMENTS", 7 * 64)  # calls of 7 replicates of 8 actors
    split = monte_carlo(sc, "smp", 30, 3, params={"StateTransitions": "Stochastic"})
    np.testing.assert_array_equal(whole.forecasts, split.forecasts)
    np.testing.assert_array_equal(whole.centre, split.centre)
    inputs = _inputs(2, 5, 6, 2)
    cfg = K.Config(max_turns=12, stochastic=True)
    for ahead in (2, 5, 40):
        _assert_same(_run(inputs, cfg, draw_ahead=ahead), _run(inputs, cfg))


def test_threads_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _inputs(4, 40, 6, 3, acc=True)
    cfg = K.Config(max_turns=10, stochastic=True, pce=K.PCE_MARKOV_INCENTIVE)
    alone = _run(inputs, cfg)
    monkeypatch.setattr(N, "PARALLEL_MIN_REPLICATES", 3)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 4)
    _assert_same(_run(inputs, cfg), alone)


def test_pairwise_sum_is_numpys() -> None:
    rng = np.random.default_rng(0)
    work, vals = np.empty(192, dtype=np.int64), np.empty(64)
    for n in [*range(0, 40), 127, 128, 129, 200, 256, 300, 1000, 4099]:
        a = rng.random(n) * 10.0 ** rng.uniform(-8, 8, n)
        assert N._pairwise_sum(a, n, work, vals) == np.add.reduce(a), n


@pytest.mark.parametrize("incentive", [True, False], ids=["incentive", "uniform"])
def test_markov_elections_are_numpys(incentive: bool) -> None:
    rng = np.random.default_rng(1)
    for n in (2, 5, 8, 9, 16, 33, 130):
        w = rng.uniform(0.1, 10.0, (3, n))
        c = K.coalitions(K.VR_PROPCBC, w, rng.uniform(0.0, 1.0, (3, n, n)))
        pv = K.victory_probabilities(K.VP_SQUARE, c)
        valid = np.arange(n) < rng.integers(1, n, 3)[:, None]  # never all valid
        pce = K.PCE_MARKOV_INCENTIVE if incentive else K.PCE_MARKOV_UNIFORM
        fast = K.condorcet_probabilities(pce, K.VP_SQUARE, c, pv, valid)
        ref = _numpy(lambda: K.condorcet_probabilities(pce, K.VP_SQUARE, c, pv, valid))  # noqa: B023
        np.testing.assert_array_equal(fast, ref)
        # options not padded at the end: the NumPy iteration, same numbers
        mixed = valid[:, ::-1].copy()
        with pytest.raises(ValueError, match="first"):
            N.markov_pce(incentive, c, pv, mixed, 1e-8, 1000)
        np.testing.assert_array_equal(
            K.condorcet_probabilities(pce, K.VP_SQUARE, c, pv, mixed),
            _numpy(lambda: K.condorcet_probabilities(pce, K.VP_SQUARE, c, pv, mixed)),  # noqa: B023
        )


def test_unsettled_markov_election_raises_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(K, "MARKOV_MAX_ITER", 3)
    inputs = _inputs(3, 2, 5, 2)
    cfg = K.Config(pce=K.PCE_MARKOV_INCENTIVE)
    gens = [np.random.default_rng(0), np.random.default_rng(1)]
    with pytest.raises(K.ConvergenceError):
        K.simulate(inputs, cfg, gens, record=False)
    with pytest.raises(K.ConvergenceError):
        _numpy(lambda: K.simulate(inputs, cfg, gens, record=False))


def test_environment_variable_and_records_use_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = N.turn

    def spy(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(N, "turn", spy)
    inputs = _inputs(6, 2, 4, 2)
    cfg = K.Config(max_turns=3)
    gens = np.random.default_rng(0).spawn(2)
    K.simulate(inputs, cfg, gens, record=False)
    assert calls
    calls.clear()
    K.simulate(inputs, cfg, gens)  # record=True: turns in NumPy (fused loops), every detail kept
    assert not calls
    _numpy(lambda: K.simulate(inputs, cfg, gens, record=False))
    assert not calls


def _fresh_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what :mod:`detente.models.accel` loaded (restored after the test)."""
    monkeypatch.setattr(accel, "_loaded", {})
    monkeypatch.setattr(accel, "_numba_failed", [])


def test_missing_numba_falls_back_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_loader(monkeypatch)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba: ModuleNotFoundError
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing Numba is no news
        assert K.compiled() is None
        assert not eu_kernel.fused_kernel_available()
    inputs = _inputs(7, 2, 4, 2)
    hist = K.simulate(
        inputs, K.Config(max_turns=3), np.random.default_rng(0).spawn(2), record=False
    )
    assert hist.final_outcome is not None


class _BrokenNumba:
    """A meta path finder under which ``import numba`` fails as a broken installation does."""

    def find_spec(self, name: str, *args: Any) -> None:
        if name == "numba":
            raise OSError("could not load libllvmlite.so")


def test_broken_numba_warns_once_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_loader(monkeypatch)
    monkeypatch.delitem(sys.modules, "numba")
    monkeypatch.setattr(sys, "meta_path", [_BrokenNumba(), *sys.meta_path])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert K.compiled() is None
        assert not eu_kernel.fused_kernel_available()  # the same cause: said once
        assert K.compiled() is None
    assert [w.category for w in caught] == [RuntimeWarning]
    assert "libllvmlite" in str(caught[0].message)
    monkeypatch.setenv(K.NO_NUMBA_ENV, "1")
    assert accel.load("detente.models.smp_numba") is None


def test_one_loader_and_one_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert K.NO_NUMBA_ENV == eu_kernel.NO_NUMBA_ENV == accel.NO_NUMBA_ENV == "DETENTE_NO_NUMBA"
    assert K.compiled() is N
    assert accel.load("detente.models.smp_numba") is N
    for value, on in (("1", False), ("yes", False), (" 0 ", True), ("", True)):
        monkeypatch.setenv(accel.NO_NUMBA_ENV, value)
        assert accel.enabled() is on
        assert (K.compiled() is N) is on
        assert eu_kernel.fused_kernel_available() is on


def test_first_compile_is_announced_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(accel, "_compile_seen", [])
    monkeypatch.setattr(accel, "_hook", [])
    accel.set_compile_hook(seen.append)
    assert not accel.compiling_started()

    accel._listen()

    def triple(v: float) -> float:
        return 3.0 * v

    triple.__module__ = "detente.models.probe"  # as one of detente's kernels
    triple = numba.njit(cache=False)(triple)  # compiled on its first call, with no cache
    assert triple(2.0) == 6.0
    assert triple(2) == 6.0  # another signature: compiled again, not announced again
    assert seen == [accel.COMPILE_MESSAGE]
    assert accel.compiling_started()
    accel.set_compile_hook(None)


def test_announce_compiling_writes_one_line_to_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel, "_compile_seen", [])
    monkeypatch.setattr(accel, "_hook", [])
    stream = io_.StringIO()
    accel.announce_compiling(stream)
    accel._first_compile()
    accel._first_compile()
    assert stream.getvalue() == accel.COMPILE_MESSAGE + "\n"


def test_compiled_functions_stay_small() -> None:
    # issue 13: no function of the compiled kernels over 100 lines or 15 parameters
    import ast
    from pathlib import Path

    from detente.models import eu_numba

    for module in (N, eu_numba):
        tree = ast.parse(Path(str(module.__file__)).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                a = node.args
                params = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                where = (module.__name__, node.name)
                assert lines <= 100, (*where, lines)
                assert params <= 15, (*where, params)
