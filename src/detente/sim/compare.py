"""Baseline against shocked variants: forecasts, differences, and which actors explain them.

:func:`compare` runs every model on the baseline scenario and on each shocked variant (one
shock applied at a time, via :func:`detente.sim.shocks.apply_shocks`) with the same seed, and
for every model and issue reports the baseline forecast, the shocked forecast, the difference
``delta`` and per-actor contributions to it. How the contributions are found depends on the
model, and each result says which method it used (``method``):

``exact`` (the weighted mean)
    With weights ``w_i = c_i s_i``, total ``W`` and baseline forecast ``F``, the change
    ``F' − F`` equals ``Σ_i [w'_i (x'_i − F) − w_i (x_i − F)] / W'`` exactly (the baseline
    terms ``Σ_i w_i (x_i − F)`` sum to zero). Actor *i*'s term is its contribution: zero for an
    actor the shock left alone, and the terms sum to ``delta`` (to rounding). It is the change
    of the actor's weighted pull away from the old forecast, divided by the new total weight.

``counterfactual`` (other one-round models: weighted median, Condorcet)
    These forecasts are not sums, so no additive split exists. For each actor whose inputs the
    shock changed, its contribution is how far the shocked forecast moves back when only that
    actor's inputs are restored (``F' − F'_{-i}``); the terms need not sum to ``delta``. The
    result also names the *pivotal* actor before and after: the actor whose position is the
    forecast (nearest to it, largest weight on ties).

``final positions`` (multi-round models: eu, smp)
    Every actor may move during bargaining. Contribution ``= share_i × (final'_i − final_i)``
    with ``share_i = c_i s_i / Σ c s`` in the shocked scenario, i.e. the weighted-mean view of
    the change of final positions. It is a description of who moved, not an exact split of the
    model's forecast (which is e.g. a median); ``explained`` gives the sum of the terms for
    comparison with ``delta``.

Contributions are listed largest first (by absolute value), zero terms left out; the three
largest are the *top contributors*.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.models import get_model, run
from detente.scenario import Scenario, ScenarioArrays
from detente.serial import number
from detente.sim.shocks import apply_shocks, check_names, derive, run_shocked, schedule
from detente.trace import Trace

if TYPE_CHECKING:
    import pandas as pd

F = NDArray[np.float64]

NOTABLE = 0.005
"""A change is notable when ``|delta|`` is at least this fraction of the issue's scale range."""

_ONE_ROUND_EXACT = ("mean",)


@dataclass(frozen=True)
class Contribution:
    """One actor's share of a forecast change.

    ``before``/``after`` are the actor's final positions on the issue in the baseline and the
    shocked run (the input positions for one-round models); ``value`` its contribution.
    """

    actor: str
    value: float
    before: float
    after: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Contribution:
        return cls(str(d["actor"]), _f(d["contribution"]), _f(d["before"]), _f(d["after"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "contribution": number(self.value),
            "before": number(self.before),
            "after": number(self.after),
        }


@dataclass(frozen=True)
class IssueChange:
    """Baseline and shocked forecast of one issue under one model, and who explains the gap."""

    issue: str
    baseline: float
    shocked: float
    method: str
    contributions: tuple[Contribution, ...]
    pivot_before: str | None = None
    pivot_after: str | None = None

    @property
    def delta(self) -> float:
        return self.shocked - self.baseline

    @property
    def explained(self) -> float:
        """The sum of the contributions (equals ``delta`` for ``method == "exact"``)."""
        return float(sum(c.value for c in self.contributions))

    @property
    def top(self) -> tuple[Contribution, ...]:
        return self.contributions[:3]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "issue": self.issue,
            "baseline": number(self.baseline),
            "shocked": number(self.shocked),
            "delta": number(self.delta),
            "method": self.method,
            "explained": number(self.explained),
            "contributions": [c.to_dict() for c in self.contributions],
        }
        if self.method == "counterfactual":
            out["pivot_before"] = self.pivot_before
            out["pivot_after"] = self.pivot_after
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IssueChange:
        return cls(
            issue=str(d["issue"]),
            baseline=_f(d["baseline"]),
            shocked=_f(d["shocked"]),
            method=str(d["method"]),
            contributions=tuple(Contribution.from_dict(c) for c in d["contributions"]),
            pivot_before=d.get("pivot_before"),
            pivot_after=d.get("pivot_after"),
        )


@dataclass(frozen=True)
class ShockRun:
    """One shock under one model: the change of every issue."""

    shock: str
    model: str
    issues: tuple[IssueChange, ...]
    notes: tuple[str, ...] = ()
    timing: tuple[str, ...] = ()
    """How the shocks were timed for this model (e.g. after which round they struck)."""


@dataclass(frozen=True)
class Comparison:
    """The baseline and each shocked variant, per model and issue."""

    scenario: str
    seed: int
    models: tuple[str, ...]
    shocks: tuple[str, ...]
    issues: tuple[str, ...]
    baseline: Mapping[str, Mapping[str, float]]
    runs: tuple[ShockRun, ...]
    notes: Mapping[str, tuple[str, ...]]
    draws: int = 0
    """With draws: the change over Monte Carlo draws of the inputs, per shock, model and issue:
    ``(median, 5 %, 95 %)`` of the paired differences (same seed, so the same draws)."""
    intervals: Mapping[str, Mapping[str, Mapping[str, tuple[float, float, float]]]] = field(
        default_factory=dict
    )

    def within_noise(self, shock: str, model: str, issue: str) -> bool | None:
        """Whether the change's 90 % interval over the draws holds 0 (None without draws)."""
        q = self.intervals.get(shock, {}).get(model, {}).get(issue)
        if q is None or not (q[1] == q[1] and q[2] == q[2]):
            return None
        return bool(q[1] <= 0.0 <= q[2])

    def get(self, shock: str, model: str) -> ShockRun:
        for r in self.runs:
            if r.shock == shock and r.model == model:
                return r
        raise KeyError((shock, model))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: no timings, so the same inputs and seed give the same bytes."""
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "models": list(self.models),
            "shocks": list(self.shocks),
            "shock_notes": {s: list(self.notes.get(s, ())) for s in self.shocks},
            "baseline": {
                m: {k: number(v) for k, v in self.baseline[m].items()} for m in self.models
            },
            "issues": list(self.issues),
            **(
                {
                    "draws": self.draws,
                    "intervals": {
                        sh: {
                            m: {k: [number(v) for v in q] for k, q in by_issue.items()}
                            for m, by_issue in by_model.items()
                        }
                        for sh, by_model in self.intervals.items()
                    },
                }
                if self.draws
                else {}
            ),
            "results": [
                {
                    "shock": r.shock,
                    "model": r.model,
                    "issues": [c.to_dict() for c in r.issues],
                    "notes": list(r.notes),
                    "timing": list(r.timing),
                }
                for r in self.runs
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """The comparison of a :meth:`to_dict` object (``from_dict(d).to_dict() == d``)."""
        try:
            models = tuple(data["models"])
            return cls(
                scenario=str(data["scenario"]),
                seed=int(data["seed"]),
                models=models,
                shocks=tuple(data["shocks"]),
                # records before wave 2 had no "issues": the baseline's keys are the issues
                issues=tuple(data.get("issues") or data["baseline"][models[0]]),
                baseline={m: {k: _f(v) for k, v in data["baseline"][m].items()} for m in models},
                runs=tuple(
                    ShockRun(
                        shock=str(r["shock"]),
                        model=str(r["model"]),
                        issues=tuple(IssueChange.from_dict(c) for c in r["issues"]),
                        notes=tuple(r.get("notes", ())),
                        timing=tuple(r.get("timing", ())),
                    )
                    for r in data["results"]
                ),
                notes={s: tuple(v) for s, v in data["shock_notes"].items()},
                draws=int(data.get("draws", 0)),
                intervals={
                    sh: {
                        m: {k: (_f(q[0]), _f(q[1]), _f(q[2])) for k, q in by_issue.items()}
                        for m, by_issue in by_model.items()
                    }
                    for sh, by_model in data.get("intervals", {}).items()
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a comparison: {exc!r}") from None

    def to_frame(self) -> pd.DataFrame:
        """Tidy table ``shock, model, issue, baseline, shocked, delta, method`` (pandas)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "shock": r.shock,
                    "model": r.model,
                    "issue": c.issue,
                    "baseline": c.baseline,
                    "shocked": c.shocked,
                    "delta": c.delta,
                    "method": c.method,
                }
                for r in self.runs
                for c in r.issues
            ]
        )

    def contributions_frame(self) -> pd.DataFrame:
        """Tidy table ``shock, model, issue, actor, contribution, before, after`` (pandas)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "shock": r.shock,
                    "model": r.model,
                    "issue": c.issue,
                    "actor": a.actor,
                    "contribution": a.value,
                    "before": a.before,
                    "after": a.after,
                }
                for r in self.runs
                for c in r.issues
                for a in c.contributions
            ],
            columns=["shock", "model", "issue", "actor", "contribution", "before", "after"],
        )


def _f(x: Any) -> float:
    return float("nan") if x is None else float(x)


def compare(
    scenario: Scenario,
    shocks: Sequence[str],
    models: Sequence[str],
    seed: int,
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    combined: bool = False,
    progress: Callable[[int, int], None] | None = None,
    draws: int = 0,
) -> Comparison:
    """Run the baseline and each shock (alone) under every model with the same ``seed``.

    With ``draws``, each change is also measured over a Monte Carlo of the inputs: baseline
    and shocked scenario are run on the same draws (same seed), and the median and the 5 % and
    95 % quantiles of the paired differences are kept; a change whose interval holds 0 is
    within the noise of the inputs. Shocks after round 0 cannot be drawn (``ValueError``).

    With ``combined`` there is one variant, all the shocks applied together in the order
    given, named ``"a+b+..."``. ``params`` maps model names to parameters (as for
    :func:`detente.models.run`). Unknown shock names raise
    :class:`~detente.sim.shocks.UnknownShockError` before anything runs. ``progress`` is
    called as ``progress(done, total)`` after each (shock, model) run. Shocks the scenario does
    not define but detente can derive (``LEVER=VALUE``, ``summit-agreement``) are made first
    (:func:`detente.sim.shocks.derive`).
    """
    scenario = derive(scenario, shocks, seed=seed)
    check_names(scenario, shocks)
    variants = {"+".join(shocks): list(shocks)} if combined else {s: [s] for s in shocks}
    params = params or {}
    names = [get_model(m).name for m in models]
    base_arrays = scenario.arrays()
    base = {m: run(base_arrays, m, seed=seed, params=params.get(m)) for m in names}
    runs: list[ShockRun] = []
    notes: dict[str, tuple[str, ...]] = {}
    total = len(variants) * len(names)
    for shock, applied in variants.items():
        shocked, shock_notes = apply_shocks(scenario, applied)
        notes[shock] = tuple(shock_notes)
        arrays = shocked.arrays()
        for m in names:
            trace, run_notes = run_shocked(scenario, m, applied, seed=seed, params=params.get(m))
            changes = _explain(base_arrays, arrays, base[m], trace, seed, params.get(m))
            extra = tuple(n for n in run_notes if n not in shock_notes)
            runs.append(ShockRun(shock, m, changes, trace.notes, extra))
            if progress is not None:
                progress(len(runs), total)
    intervals = _drawn_changes(scenario, variants, names, seed, draws, params) if draws > 0 else {}
    return Comparison(
        scenario=scenario.name,
        seed=seed,
        models=tuple(names),
        shocks=tuple(variants),
        issues=base_arrays.issues,
        baseline={m: t.forecast_by_issue() for m, t in base.items()},
        runs=tuple(runs),
        notes=notes,
        draws=max(0, draws),
        intervals=intervals,
    )


def _drawn_changes(
    scenario: Scenario,
    variants: Mapping[str, list[str]],
    names: Sequence[str],
    seed: int,
    draws: int,
    params: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, dict[str, tuple[float, float, float]]]]:
    from detente.sim.montecarlo import monte_carlo

    for applied in variants.values():
        late = [n for r, ns in schedule(scenario, applied) if r > 0 for n in ns]
        if late:
            raise ValueError(
                f"--draws applies shocks before bargaining; {', '.join(late)} strikes after a"
                " round (compare it without --draws)"
            )
    base = {m: monte_carlo(scenario, m, draws, seed, params=params.get(m)).forecasts for m in names}
    out: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = {}
    issues = [i.id for i in scenario.issues]
    for shock, applied in variants.items():
        shocked, _ = apply_shocks(scenario, applied)
        out[shock] = {}
        for m in names:
            after = monte_carlo(shocked, m, draws, seed, params=params.get(m)).forecasts
            diff = after - base[m]
            out[shock][m] = {}
            for j, k in enumerate(issues):
                col = diff[:, j][~np.isnan(diff[:, j])]
                if col.size == 0:
                    out[shock][m][k] = (np.nan, np.nan, np.nan)
                    continue
                med, lo, hi = np.quantile(col, [0.5, 0.05, 0.95])
                out[shock][m][k] = (float(med), float(lo), float(hi))
    return out


def mean_contributions(w0: F, x0: F, w1: F, x1: F) -> tuple[float, float, NDArray[np.float64]]:
    """Exact split of the weighted mean's change on one issue: ``(F, F', terms)``.

    ``w``/``x`` are per-actor weights and positions before (0) and after (1); actors without a
    stance have weight 0 (their NaN position is ignored). ``terms.sum() == F' − F``.
    """
    x0 = np.where(w0 > 0, x0, 0.0)
    x1 = np.where(w1 > 0, x1, 0.0)
    total0, total1 = w0.sum(), w1.sum()
    if not (total0 > 0 and total1 > 0):
        return np.nan, np.nan, np.zeros_like(w0)
    f0 = float((w0 * x0).sum() / total0)
    f1 = float((w1 * x1).sum() / total1)
    terms = (w1 * (x1 - f0) - w0 * (x0 - f0)) / total1
    return f0, f1, terms


def _explain(
    a0: ScenarioArrays,
    a1: ScenarioArrays,
    t0: Trace,
    t1: Trace,
    seed: int,
    params: Mapping[str, Any] | None,
) -> tuple[IssueChange, ...]:
    """Per issue, the change and who explains it; actors are matched by id, so a shock may
    add or remove actors (an absent actor has weight 0 and no position)."""
    actors = _union(t0.actors, t1.actors, a0.actors, a1.actors)
    w0, x0 = _aligned(a0, actors)
    w1, x1 = _aligned(a1, actors)
    final0, final1 = _final(t0, actors), _final(t1, actors)
    out: list[IssueChange] = []
    multi = t0.rounds > 1 or t1.rounds > 1
    cf: F | None = None
    if not multi and t0.model not in _ONE_ROUND_EXACT:
        cf = _counterfactuals(a0, a1, t1, actors, seed, params)
    for k, issue in enumerate(a0.issues):
        before, after = final0[:, k], final1[:, k]
        if multi:
            share = w1[:, k] / w1[:, k].sum() if w1[:, k].sum() > 0 else np.zeros(len(w1))
            moved = np.where(np.isnan(after - before), 0.0, after - before)
            terms = share * moved
            method = "final positions"
        elif cf is None:
            terms = mean_contributions(w0[:, k], x0[:, k], w1[:, k], x1[:, k])[2]
            method = "exact"
        else:
            terms = cf[:, k]
            method = "counterfactual"
        contributions = tuple(
            Contribution(actors[i], float(terms[i]), float(before[i]), float(after[i]))
            for i in sorted(range(len(terms)), key=lambda i: (-abs(terms[i]), i))
            if terms[i] != 0.0 and np.isfinite(terms[i])
        )
        pivots: tuple[str | None, str | None] = (None, None)
        if method == "counterfactual":
            pivots = (
                _pivot(actors, w0[:, k], before, t0.forecast[k]),
                _pivot(actors, w1[:, k], after, t1.forecast[k]),
            )
        out.append(
            IssueChange(
                issue,
                float(t0.forecast[k]),
                float(t1.forecast[k]),
                method,
                contributions,
                *pivots,
            )
        )
    return tuple(out)


def _union(*labels: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for group in labels:
        out.extend(a for a in group if a not in out)
    return tuple(out)


def _aligned(a: ScenarioArrays, actors: Sequence[str]) -> tuple[F, F]:
    """Weights ``c·s`` (0 without a stance or when absent) and positions on ``actors``."""
    w = np.zeros((len(actors), len(a.issues)))
    x = np.full((len(actors), len(a.issues)), np.nan)
    index = {name: i for i, name in enumerate(actors)}
    rows = [index[name] for name in a.actors]
    w[rows] = np.where(a.present, a.weight, 0.0)
    x[rows] = a.position
    return w, x


def _final(t: Trace, actors: Sequence[str]) -> F:
    out = np.full((len(actors), len(t.issues)), np.nan)
    index = {name: i for i, name in enumerate(actors)}
    out[[index[name] for name in t.actors]] = t.final
    return out


def _counterfactuals(
    a0: ScenarioArrays,
    a1: ScenarioArrays,
    t1: Trace,
    actors: Sequence[str],
    seed: int,
    params: Mapping[str, Any] | None,
) -> F:
    """``out[i, k] = F'_k − F'_{-i,k}``: the forecast change undone by restoring actor i alone
    (its old inputs, or its absence if the shock added it, or its presence if it left)."""
    out = np.zeros((len(actors), len(a0.issues)))
    for i, name in enumerate(actors):
        restored = _restore(a0, a1, name)
        if restored is not None:
            out[i] = t1.forecast - run(restored, t1.model, seed=seed, params=params).forecast
    return out


def _restore(a0: ScenarioArrays, a1: ScenarioArrays, name: str) -> ScenarioArrays | None:
    """``a1`` with actor ``name`` as in ``a0``; None when the shock left it unchanged."""
    in0, in1 = name in a0.actors, name in a1.actors
    rows = [(a1, j) for j in range(len(a1.actors))]
    if in0 and in1:
        i, j = a0.actors.index(name), a1.actors.index(name)
        if (
            a0.capability[i] == a1.capability[j]
            and np.array_equal(a0.position[i], a1.position[j], equal_nan=True)
            and np.array_equal(a0.salience[i], a1.salience[j])
            and np.array_equal(a0.risk[i], a1.risk[j], equal_nan=True)
        ):
            return None
        rows[j] = (a0, i)
    elif in1:
        del rows[a1.actors.index(name)]
    else:
        rows.append((a0, a0.actors.index(name)))
    return dataclasses.replace(
        a1,
        actors=tuple(src.actors[r] for src, r in rows),
        capability=np.array([src.capability[r] for src, r in rows]),
        position=np.array([src.position[r] for src, r in rows]),
        salience=np.array([src.salience[r] for src, r in rows]),
        risk=np.array([src.risk[r] for src, r in rows]),
    )


def _pivot(actors: Sequence[str], w: F, x: F, forecast: float) -> str | None:
    """The weighted actor whose position is nearest the forecast (largest weight on ties)."""
    if not np.isfinite(forecast):
        return None
    candidates = [i for i in range(len(w)) if w[i] > 0 and np.isfinite(x[i])]
    if not candidates:
        return None
    best = min(candidates, key=lambda i: (abs(x[i] - forecast), -w[i], i))
    return actors[best]


def notable(change: IssueChange, scale_range: float) -> bool:
    """Whether ``|delta|`` reaches :data:`NOTABLE` of the scale range."""
    return bool(np.isfinite(change.delta) and abs(change.delta) >= NOTABLE * scale_range)
