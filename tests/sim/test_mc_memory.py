"""Monte Carlo in bounded memory: inputs drawn block by block, model streams made per chunk,
per-round medians kept for the first CENTRE_KEPT replicates; the same numbers whatever the
chunk size or executor, and the fan chart's quantiles within their stated accuracy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from detente.io import load_default
from detente.models import get_model
from detente.sim import montecarlo as mc
from detente.sim.draws import draw
from detente.sim.executors import InlineExecutor, ProcessExecutor


class Spy(InlineExecutor):
    """Inline, recording the largest chunk and the per-round medians each chunk returned."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.largest_chunk = 0
        self.centre_rows = 0

    def map(
        self, fn: Callable[[Any], Any], items: Sequence[Any], on_result: Any = None
    ) -> list[Any]:
        self.calls.append(sum(task[1].replicates for task in items))
        self.largest_chunk = max([self.largest_chunk, *(t[1].replicates for t in items)])
        out = super().map(fn, items, on_result)
        self.centre_rows += sum(c.shape[0] for _, c, _ in out)
        return out


def test_model_streams_are_those_of_spawn() -> None:
    seq = np.random.SeedSequence(11).spawn(2)[1]
    every = np.random.SeedSequence(11).spawn(2)[1].spawn(40)
    some = mc._streams(seq, 13, 29)
    assert [s.generate_state(4).tolist() for s in some] == [
        s.generate_state(4).tolist() for s in every[13:29]
    ]


def test_up_to_one_block_the_inputs_are_one_draw_of_all() -> None:
    sc = load_default()
    batch, _ = mc.input_draws(sc, 300, 4, streams=False)
    input_seq = np.random.SeedSequence(4).spawn(2)[0]
    whole = draw(sc, 300, np.random.default_rng(input_seq))
    assert np.array_equal(batch.position, whole.position)
    assert np.array_equal(batch.capability, whole.capability)


def test_blocks_chunks_and_executors_give_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mc, "INPUT_BLOCK", 7)
    monkeypatch.setattr(mc, "CENTRE_KEPT", 9)
    sc = load_default()
    spy = Spy()
    done: list[tuple[int, int]] = []
    ref = mc.monte_carlo(
        sc, "smp", 20, seed=3, params={"max_turns": 4}, chunk=3, executor=spy,
        progress=lambda d, t: done.append((d, t)),
    )  # fmt: skip
    assert spy.calls == [7, 7, 6]  # three blocks of inputs, one after the other
    assert spy.largest_chunk == 3
    assert spy.centre_rows == 9  # only the first CENTRE_KEPT replicates' medians came back
    assert done[-1] == (20, 20)
    assert [d for d, _ in done] == sorted(d for d, _ in done)
    assert ref.centre is not None
    assert ref.centre.shape[0] == 9
    np.testing.assert_array_equal(ref.fan_values, mc._nanquantile(ref.centre, mc.QUANTILES))
    assert any("first 9 of the 20 draws" in n for n in ref.notes)
    for chunk, executor in ((100, None), (5, ProcessExecutor(2))):
        other = mc.monte_carlo(
            sc, "smp", 20, seed=3, params={"max_turns": 4}, chunk=chunk, executor=executor
        )
        assert other.to_dict() == ref.to_dict()
        assert np.array_equal(other.centre, ref.centre, equal_nan=True)
    # the inputs of every block are those input_draws gives (advice and discovery share them)
    batch, seqs = mc.input_draws(sc, 20, 3, streams=True)
    forecasts, _ = get_model("smp").batch(batch, ref.params, seqs)  # type: ignore[misc]
    np.testing.assert_array_equal(forecasts, ref.forecasts)


def test_the_kept_medians_are_the_first_replicates_of_all(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_default()
    every = mc.monte_carlo(sc, "eu", 60, seed=8, params={"rounds": 3})
    monkeypatch.setattr(mc, "CENTRE_KEPT", 25)
    some = mc.monte_carlo(sc, "eu", 60, seed=8, params={"rounds": 3}, chunk=11)
    assert every.centre is not None
    np.testing.assert_array_equal(some.centre, every.centre[:25])
    np.testing.assert_array_equal(some.forecasts, every.forecasts)


def test_subsampled_fan_quantiles_are_within_their_standard_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quantiles over the first K of R draws against the distribution of all R: the share of
    all draws below the estimate stays within 4 standard errors sqrt(q(1 − q)/K) of q."""
    sc = load_default()
    every = mc.monte_carlo(sc, "median", 4000, seed=21)
    monkeypatch.setattr(mc, "CENTRE_KEPT", 1000)
    some = mc.monte_carlo(sc, "median", 4000, seed=21)
    assert every.centre is not None
    values = every.centre  # [R, round, issue]
    for qi, q in enumerate(mc.QUANTILES):
        tol = 4 * np.sqrt(q * (1 - q) / 1000)
        est = some.fan_values[qi]  # [round, issue]
        below = np.mean(values < est[None], axis=0)
        at_or_below = np.mean(values <= est[None], axis=0)
        assert (below <= q + tol).all(), (q, below.max())
        assert (at_or_below >= q - tol).all(), (q, at_or_below.min())
    # and the exact fan over all draws is not what the sample gives (it is a sample)
    assert not np.array_equal(some.fan_values, every.fan_values)
