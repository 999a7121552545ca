"""Monte Carlo: draw the uncertain inputs, run a model on every draw, summarise.

:func:`monte_carlo` draws all replicates' inputs at once (:func:`detente.sim.draws.draw`) and
runs the model's registered batch run (``ModelSpec.batch``) on chunks of ``ModelSpec.chunk``
replicates, each chunk one call with a leading replicate axis.

Random streams: ``SeedSequence(seed).spawn(2)`` gives one stream for the inputs and one from
which every replicate gets its own model stream (``spawn(R)``, used by stochastic SMP), so the
numbers never depend on the chunk size, nor on the executor that runs the chunks or its number
of workers (:mod:`detente.sim.executors`): the inputs are drawn here, once, and every chunk
carries its slice of them and its replicates' own streams.

Per round the fan chart uses the ``c·s``-weighted median of the actors' positions in each
replicate (midpoint on an exact half-weight tie); an SMP replicate that stopped early keeps its
final state up to the longest run's turn count.

Memory is flat in the number of draws but for the forecasts themselves (8 bytes per draw and
issue). The inputs are drawn in blocks of :data:`INPUT_BLOCK` replicates, and each block's
chunks run and are summarised before the next block is drawn; each replicate's model stream is
made only if its replicate draws (the same streams as ``spawn(R)``,
:class:`~detente.models.streams.ReplicateStreams`). The per-round medians behind the fan
chart are kept for the first :data:`CENTRE_KEPT` replicates only (each chunk returns just those),
and the fan chart's quantiles are computed exactly over them: exact for up to that many draws,
and beyond it the quantiles of a sample of 10,000 independent replicates (replicates are
independent and identically distributed, so the first ones are a uniform random sample). Their
standard error, in probability, is ``sqrt(q(1 − q) / 10,000)``: 0.22 percentage points at the
5 % and 95 % quantiles, 0.5 at the median (tested against all draws).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.models import get_model
from detente.models.registry import BatchFunction, pad_rounds
from detente.models.streams import ReplicateStreams
from detente.scenario import Scenario, Threshold
from detente.scenario.batch import ScenarioBatch as Batch
from detente.serial import floats, number, plain
from detente.sim.draws import draw
from detente.sim.executors import Executor, InlineExecutor

if TYPE_CHECKING:
    import pandas as pd

F = NDArray[np.float64]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles of the fan chart (per round) and of the summary (5 %, median, 95 %)."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called after each chunk with replicates done so far."""

INPUT_BLOCK = 65_536
"""Replicates whose inputs are drawn in one call: block 0 from the input stream itself, block
``b ≥ 1`` from that stream's child ``b``. Up to this many draws, the inputs are one draw of all
replicates (as before blocks existed); the blocks bound the memory of larger runs."""

CENTRE_KEPT = 10_000
"""Replicates whose per-round medians are kept (:attr:`MCResult.centre`), over which the fan
chart's quantiles are computed (see the module docstring for their accuracy)."""


@dataclass(frozen=True, eq=False)
class MCResult:
    """The outcome of :func:`monte_carlo`.

    Attributes
    ----------
    scenario, model, seed, params
        What ran: scenario name, registered model name, seed, resolved parameters.
    actors, issues
        Axis labels.
    forecasts
        ``forecasts[replicate, issue]`` (NaN where a replicate has no forecast).
    fan_values
        ``fan_values[q, round, issue]``: the :data:`QUANTILES` over replicates of the
        ``c·s``-weighted median of the positions after each round (round 0 = the drawn input).
    centre
        ``centre[replicate, round, issue]``, those medians per replicate, padded with the final
        state, for the first :data:`CENTRE_KEPT` replicates (all of them up to that many draws);
        kept by :func:`monte_carlo` in the process, not written by :meth:`to_dict` (``None``
        after :meth:`from_dict`).
    thresholds
        The scenario's thresholds.
    notes
        Plain remarks (e.g. how SMP replicates were batched).
    """

    scenario: str
    model: str
    seed: int
    params: Mapping[str, Any]
    actors: tuple[str, ...]
    issues: tuple[str, ...]
    forecasts: F
    fan_values: F
    thresholds: tuple[Threshold, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    centre: F | None = None

    @property
    def draws(self) -> int:
        """Number of replicates."""
        return int(self.forecasts.shape[0])

    def quantiles(self, qs: Sequence[float] = QUANTILES) -> F:
        """``[len(qs), issue]`` quantiles of the forecasts over replicates (NaN ignored)."""
        return _nanquantile(self.forecasts, qs)

    def median(self) -> F:
        """Median forecast per issue."""
        out: F = self.quantiles((0.5,))[0]
        return out

    def band(self) -> tuple[F, F]:
        """The 5 % and 95 % quantiles of the forecast per issue."""
        q = self.quantiles((0.05, 0.95))
        return q[0], q[1]

    def threshold_probabilities(self) -> F:
        """Per threshold, the share of replicates whose forecast satisfies it.

        A replicate without a forecast on the issue (NaN) counts as not satisfying it.
        """
        index = {k: j for j, k in enumerate(self.issues)}
        return np.array(
            [float(np.mean(t.holds(self.forecasts[:, index[t.issue]]))) for t in self.thresholds]
        )

    def fan(self, qs: Sequence[float] = QUANTILES) -> F:
        """``[len(qs), round, issue]`` quantiles of :attr:`centre` over replicates."""
        if tuple(qs) == QUANTILES:
            return self.fan_values
        if self.centre is None:
            raise ValueError(f"only the quantiles {QUANTILES} are kept with this result")
        return _nanquantile(self.centre, qs)

    def summary(self) -> dict[str, Any]:
        """Per issue median, 5 % and 95 % quantiles, and each threshold's probability."""
        q = self.quantiles((0.05, 0.5, 0.95))
        probs = self.threshold_probabilities()
        return {
            "issues": {
                k: {"median": number(q[1, j]), "q05": number(q[0, j]), "q95": number(q[2, j])}
                for j, k in enumerate(self.issues)
            },
            "thresholds": [
                {**t.model_dump(mode="json", exclude_none=True), "probability": float(p)}
                for t, p in zip(self.thresholds, probs, strict=True)
            ],
        }

    def to_frame(self) -> pd.DataFrame:
        """Tidy table ``model, replicate, issue, forecast`` (needs pandas)."""
        import pandas as pd

        r, m = self.forecasts.shape
        return pd.DataFrame(
            {
                "model": self.model,
                "replicate": np.repeat(np.arange(r), m),
                "issue": np.tile(np.asarray(self.issues, dtype=object), r),
                "forecast": self.forecasts.reshape(-1),
            }
        )

    def fan_frame(self) -> pd.DataFrame:
        """Tidy table ``model, round, issue, quantile, value`` of the fan chart."""
        import pandas as pd

        q, t, m = self.fan_values.shape
        idx = np.indices((q, t, m)).reshape(3, -1)
        return pd.DataFrame(
            {
                "model": self.model,
                "round": idx[1],
                "issue": np.asarray(self.issues, dtype=object)[idx[2]],
                "quantile": np.asarray(QUANTILES)[idx[0]],
                "value": self.fan_values.reshape(-1),
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MCResult:
        """The result of a :meth:`to_dict` object (``from_dict(d).to_dict() == d``); ``centre``
        is not part of it. Raises ``ValueError`` for an object of another shape."""
        try:
            issues = tuple(data["issues"])
            by_issue = data["rounds"]["by_issue"]
            fan = floats([by_issue[k] for k in issues])  # [issue, round, q]
            if tuple(data["rounds"]["quantiles"]) != QUANTILES:
                raise ValueError(f"quantiles {data['rounds']['quantiles']}, expected {QUANTILES}")
            thresholds = tuple(
                Threshold.model_validate({k: v for k, v in t.items() if k != "probability"})
                for t in data["thresholds"]
            )
            return cls(
                scenario=str(data["scenario"]),
                model=str(data["model"]),
                seed=int(data["seed"]),
                params=dict(data["params"]),
                actors=tuple(data.get("actors", ())),  # absent in records before wave 2
                issues=issues,
                forecasts=floats([[row[k] for k in issues] for row in data["forecasts"]]).reshape(
                    len(data["forecasts"]), len(issues)
                ),
                fan_values=np.ascontiguousarray(np.transpose(fan, (2, 1, 0))),
                thresholds=thresholds,
                notes=tuple(data["notes"]),
            )
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"not a Monte Carlo result: {exc!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """Summary, fan-chart quantiles and every replicate's forecast; no timings (so the same
        inputs and seed give identical output)."""
        fan = self.fan()
        return {
            "scenario": self.scenario,
            "model": self.model,
            "seed": self.seed,
            "draws": self.draws,
            "actors": list(self.actors),
            "params": plain(dict(self.params)),
            **self.summary(),
            "rounds": {
                "statistic": "c·s-weighted median of the positions",
                "quantiles": list(QUANTILES),
                "by_issue": {
                    k: [[number(v) for v in fan[:, t, j]] for t in range(fan.shape[1])]
                    for j, k in enumerate(self.issues)
                },
            },
            "notes": list(self.notes),
            "forecasts": [
                {k: number(v) for k, v in zip(self.issues, row, strict=True)}
                for row in self.forecasts
            ],
        }


def _nanquantile(a: F, qs: Sequence[float]) -> F:
    # All-NaN columns (an issue nobody weighs) give NaN without a RuntimeWarning.
    out = np.full((len(qs), *a.shape[1:]), np.nan)
    ok = ~np.all(np.isnan(a), axis=0)
    if ok.any():
        out[:, ok] = np.nanquantile(a[:, ok], qs, axis=0)
    return out


ChunkTask = tuple[str, Batch, Mapping[str, Any], Sequence[np.random.SeedSequence]]
"""One chunk's work: model name, the chunk's drawn inputs, parameters, per-replicate streams."""


def run_chunk(task: ChunkTask) -> tuple[F, F]:
    """Run one chunk through its model's batch run (module-level, so process pools and Dask
    can ship it)."""
    name, batch, params, seqs = task
    return batch_function(name)(batch, params, seqs)


def batch_function(model: str) -> BatchFunction:
    """The registered batch run of ``model``; ``ValueError`` for a model without one."""
    spec = get_model(model)
    if spec.batch is None:
        raise ValueError(f"model {spec.name!r} has no batch run (Monte Carlo needs one)")
    return spec.batch


def run_chunks(
    model: str,
    batch: Batch,
    params: Mapping[str, Any],
    seqs: Sequence[np.random.SeedSequence],
    size: int,
    executor: Executor | None,
    progress: Progress | None,
) -> list[Any]:
    """``run_chunk`` on fixed chunks of ``size`` replicates, through ``executor``, in order.

    The chunks and each replicate's random stream depend only on the inputs, never on the
    executor or its workers, so every executor gives the same numbers.
    """
    total = batch.replicates
    bounds = [(start, min(start + size, total)) for start in range(0, total, size)]
    tasks: list[ChunkTask] = [(model, batch.slice(a, b), params, seqs[a:b]) for a, b in bounds]
    done = 0

    def finished(i: int, _result: Any) -> None:
        nonlocal done
        done += bounds[i][1] - bounds[i][0]
        if progress is not None:
            progress(done, total)

    return (executor or InlineExecutor()).map(run_chunk, tasks, finished)


def input_draws(
    scenario: Scenario, draws: int, seed: int, *, streams: bool
) -> tuple[Batch, Sequence[np.random.SeedSequence]]:
    """The drawn inputs of :func:`monte_carlo` and, for a model with ``streams``, each
    replicate's own random stream (else ``[]``): what ``seed`` gives every analysis that runs
    on the same draws (advice, scenario discovery), so their baselines are those of ``mc``.
    All at once: :func:`monte_carlo` itself goes block by block."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    input_seq, model_seq = np.random.SeedSequence(seed).spawn(2)
    blocks = [
        _block(scenario, input_seq, start, min(draws, start + INPUT_BLOCK))
        for start in range(0, draws, INPUT_BLOCK)
    ]
    batch = blocks[0] if len(blocks) == 1 else _concat(blocks)
    return batch, (_streams(model_seq, 0, draws) if streams else [])


def _block(scenario: Scenario, input_seq: np.random.SeedSequence, start: int, stop: int) -> Batch:
    """The inputs of replicates ``start`` to ``stop`` (one block, see :data:`INPUT_BLOCK`)."""
    b = start // INPUT_BLOCK
    seq = input_seq if b == 0 else _child(input_seq, b)
    return draw(scenario, stop - start, np.random.default_rng(seq))


def _concat(blocks: Sequence[Batch]) -> Batch:
    notes = tuple(dict.fromkeys(n for b in blocks for n in b.notes))
    return Batch(
        blocks[0].base,
        np.concatenate([b.capability for b in blocks]),
        np.concatenate([b.position for b in blocks]),
        np.concatenate([b.salience for b in blocks]),
        notes,
    )


def _child(seq: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """``seq.spawn(i + 1)[i]`` for a fresh ``seq``, made alone (without its siblings)."""
    return np.random.SeedSequence(
        seq.entropy, spawn_key=(*seq.spawn_key, i), pool_size=seq.pool_size
    )


def _streams(model_seq: np.random.SeedSequence, start: int, stop: int) -> ReplicateStreams:
    """Replicates ``start`` to ``stop``'s model streams: ``model_seq.spawn(R)[start:stop]``,
    each made only if its replicate draws (:class:`~detente.models.streams.ReplicateStreams`;
    stochastic SMP draws their uniforms all at once)."""
    return ReplicateStreams(model_seq, start, stop)


SummaryTask = tuple[str, Batch, Mapping[str, Any], Sequence[np.random.SeedSequence], int]
"""A chunk of :func:`monte_carlo`: model name, inputs, parameters, streams, and how many of its
leading replicates' per-round medians to return (those among the first :data:`CENTRE_KEPT`)."""


def run_summarised_chunk(task: SummaryTask) -> tuple[F, F, int]:
    """One chunk of :func:`monte_carlo` (module-level, for process pools and Dask): its
    forecasts, the per-round medians of its first ``keep`` replicates, and its round count."""
    name, batch, params, seqs, keep = task
    forecasts, centre = batch_function(name)(batch, params, seqs)
    return forecasts, np.ascontiguousarray(centre[:keep]), int(centre.shape[1])


def monte_carlo(
    scenario: Scenario,
    model: str,
    draws: int,
    seed: int,
    params: Mapping[str, Any] | None = None,
    chunk: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> MCResult:
    """Run ``model`` on ``draws`` replicates of the scenario's uncertain inputs.

    Parameters
    ----------
    scenario
        The scenario; its estimates' ``uncertainty`` is drawn from, its ``thresholds`` asked.
    model
        A registered model name or alias.
    draws
        Number of replicates (at least 1).
    seed
        The one seed of the inputs' draws and of the models' own randomness.
    params
        Model parameters over those of the scenario file (as for :func:`detente.models.run`).
    chunk
        Replicates per chunk (default: the model's ``chunk``); the results
        do not depend on it.
    progress
        Called as ``progress(done, total)`` as each chunk completes (in order of completion).
    executor
        Where the chunks run (:mod:`detente.sim.executors`; default in-process). The chunks,
        their inputs and their random streams are the same whatever the executor and its
        number of workers, so the results are identical bit for bit.

    Returns
    -------
    MCResult

    Raises
    ------
    ValueError
        Bad parameters, ``draws < 1``, or inputs the model cannot run.

    Examples
    --------
    >>> from detente.io import load_default
    >>> result = monte_carlo(load_default(), "median", 200, seed=1)
    >>> result.forecasts.shape, len(result.threshold_probabilities()) > 0
    ((200, 6), True)
    """
    spec = get_model(model)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    default = spec.chunk
    size = default if chunk is None else int(chunk)
    if size < 1:
        raise ValueError(f"chunk must be at least 1, got {size}")
    base = scenario.arrays()
    resolved = spec.resolve_params(base.parameters.get(spec.name, {}), params or {})
    batch_function(spec.name)  # fails early for a model without a batch run
    input_seq, model_seq = np.random.SeedSequence(seed).spawn(2)
    forecast_parts: list[F] = []
    kept: list[F] = []
    rounds = 0
    notes: list[str] = []
    silent_draws = 0
    first_silent: tuple[int, int] | None = None
    base_silent = np.nansum(base.salience, axis=-1) <= 0.0  # already so in the scenario
    for start in range(0, draws, INPUT_BLOCK):
        stop = min(draws, start + INPUT_BLOCK)
        batch = _block(scenario, input_seq, start, stop)
        notes.extend(n for n in batch.notes if n not in notes)
        silent = (np.nansum(batch.salience, axis=-1) <= 0.0) & ~base_silent  # [r, n]
        if silent.any():
            silent_draws += int(silent.any(axis=-1).sum())
            if first_silent is None:
                r, i = (int(v) for v in np.argwhere(silent)[0])
                first_silent = (start + r, i)
        bounds = [(a, min(a + size, stop)) for a in range(start, stop, size)]
        tasks: list[SummaryTask] = [
            (
                spec.name,
                batch.slice(a - start, b - start),
                resolved,
                _streams(model_seq, a, b) if spec.streams else [],
                max(0, min(b, CENTRE_KEPT) - a),
            )
            for a, b in bounds
        ]
        del batch
        done = start

        def finished(i: int, _result: Any, bounds: list[tuple[int, int]] = bounds) -> None:
            nonlocal done
            done += bounds[i][1] - bounds[i][0]
            if progress is not None:
                progress(done, draws)

        for f, c, width in (executor or InlineExecutor()).map(
            run_summarised_chunk, tasks, finished
        ):
            forecast_parts.append(f)
            if c.shape[0]:
                kept.append(c)
            rounds = max(rounds, width)
    forecasts = np.concatenate(forecast_parts, axis=0)
    if np.isinf(forecasts).any():
        r, k = (int(v) for v in np.argwhere(np.isinf(forecasts))[0])
        raise ValueError(
            f"{spec.name}: draw {r} gave an infinite forecast on issue {base.issues[k]!r}: the"
            " inputs' magnitudes exceed what double precision holds"
        )
    centre = np.concatenate([pad_rounds(p, rounds) for p in kept], axis=0)
    if draws > CENTRE_KEPT:
        notes.append(
            f"the fan chart's per-round quantiles are over the first {CENTRE_KEPT:,} of the"
            f" {draws:,} draws (an independent sample; the forecasts' over all of them)"
        )
    if not any(e.uncertainty is not None for _, e in scenario.estimates()):
        same = np.all(forecasts == forecasts[:1], axis=0) | np.all(np.isnan(forecasts), axis=0)
        notes.append(
            "the scenario gives no input an uncertainty, so every draw has the same inputs"
            + (
                " and the same forecast"
                if bool(same.all())
                else "; the forecasts differ only by the model's own randomness"
            )
            + ": add an `uncertainty` to the estimates you are unsure of (README, Scenarios),"
            " or see `detente sensitivity` (it varies every input by a default spread)"
        )
    if first_silent is not None:
        r, i = first_silent
        notes.append(
            f"{silent_draws} of {draws} draws left an actor with salience 0"
            f" on every issue (first: {base.actors[i]} in draw {r}); the models ran them with"
            " that actor indifferent (docs/smp.md §3 for smp)"
        )
    return MCResult(
        scenario=scenario.name,
        model=spec.name,
        seed=seed,
        params=resolved,
        actors=base.actors,
        issues=base.issues,
        forecasts=forecasts,
        fan_values=_nanquantile(centre, QUANTILES),
        thresholds=tuple(scenario.thresholds),
        notes=tuple(notes),
        centre=centre,
    )
