"""Backtest: run the models on decisions with known outcomes and score them.

:func:`backtest` reads every issue of a :class:`~detente.io.deu.DeuDataset` that has an
outcome, makes it a one-issue scenario with the chosen capabilities, runs each model and
compares the forecast with the outcome. Scores per model (:func:`score`): mean and median
absolute error, RMSE, the share of issues within 10 points, the paired difference of absolute
errors to the compromise model (``mean``) with a bootstrap 95 % interval that resamples
proposals (issues of one proposal are not independent), and the mean absolute error by
procedure and by Council vote. With ``draws``, each issue also runs a Monte Carlo with every
position, salience and capability varied (the sensitivity spread: positions ±10 points,
saliences ±0.1, capabilities ±20 %, uniform) and the coverage of its 50 % and 90 % intervals
is reported.

Capabilities: ``gdp`` (the file's second row), ``council-votes`` (Council weights by the
treaty in force at the introduction date, :mod:`detente.sim.council`, with a switchable
treatment of the Commission and the Parliament) or ``equal``.

Models that trade across issues (:data:`PROPOSAL_MODELS`, the exchange model) run once per
proposal on all its issues together (:meth:`~detente.io.deu.DeuDataset.proposal_scenario`),
as Arregui, Stokman & Thomson (2006) apply the exchange model to DEU proposals. The
``ensemble`` combines the other models' forecasts of each issue with its weights
(:mod:`detente.models.ensemble`), its models being run as well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.io.deu import DeuDataset, DeuIssue
from detente.models import get_model, run
from detente.scenario import Scenario
from detente.serial import floats, number, plain
from detente.sim.council import INSTITUTIONS, council_weights, institution_weights

if TYPE_CHECKING:
    import pandas as pd

F = NDArray[np.float64]

CAPABILITIES = ("gdp", "council-votes", "equal")
REFERENCE_MODEL = "mean"
"""The model every other is compared with: the compromise model, hard to beat in the EU
literature (Achen 2006)."""
PROPOSAL_MODELS = ("exchange",)
"""Models run on whole proposals: exchanges need two issues."""
ENSEMBLE = "ensemble"
WITHIN = 10.0
"""An issue counts as hit when the forecast is within this many points of the outcome."""
BOOTSTRAP = 2000
"""Bootstrap resamples of proposals for the paired difference's interval."""


def capabilities(
    data: DeuDataset, issue: DeuIssue, scheme: str, institutions: str
) -> dict[str, float]:
    """Each actor's capability for one issue under ``scheme`` (see the module docstring)."""
    if scheme == "gdp":
        if not data.capability_row:
            raise ValueError(f"{data.path}: no capability row (row 2) for --capability gdp")
        return dict(data.capability_row)
    if scheme == "equal":
        return dict.fromkeys(data.actors, 1.0)
    if scheme == "council-votes":
        states = council_weights(issue.introduced, issue.council_vote)
        return {**states, **institution_weights(states, issue.procedure, institutions)}
    raise ValueError(f"unknown capability scheme {scheme!r} (schemes: {', '.join(CAPABILITIES)})")


@dataclass(frozen=True)
class IssueResult:
    """One issue: what is known of it and each model's forecast (NaN: none)."""

    proposal: str
    issue: str
    procedure: str
    council_vote: str
    outcome: float
    forecasts: Mapping[str, float]
    q25: Mapping[str, float] = field(default_factory=dict)
    q75: Mapping[str, float] = field(default_factory=dict)
    q05: Mapping[str, float] = field(default_factory=dict)
    q95: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelScore:
    """The scores of one model over the issues it forecast."""

    model: str
    issues: int
    mae: float
    median_ae: float
    rmse: float
    within: float
    diff: float
    """Mean of ``|error| - |error of the compromise model|`` (negative: better)."""
    diff_low: float
    diff_high: float
    by_group: Mapping[str, float]
    """MAE by ``proc=COD`` … and ``vote=QMV`` …"""
    coverage50: float | None = None
    coverage90: float | None = None


def score(
    model: str,
    results: Sequence[IssueResult],
    reference: str = REFERENCE_MODEL,
    rng: np.random.Generator | None = None,
    resamples: int = BOOTSTRAP,
) -> ModelScore:
    """Score ``model`` on the issues where it and the reference model both have a forecast.

    The bootstrap resamples proposals with replacement and averages the paired differences
    of all their issues (percentile interval, 2.5 % and 97.5 %).

    Examples
    --------
    >>> rs = [IssueResult("p", f"i{k}", "COD", "QMV", 50.0, {"mean": 50.0 + k, "m": 50.0})
    ...       for k in range(4)]
    >>> s = score("m", rs, rng=np.random.default_rng(0))
    >>> s.mae, s.diff
    (0.0, -1.5)
    """
    rows = [
        r
        for r in results
        if math.isfinite(r.forecasts.get(model, math.nan))
        and math.isfinite(r.forecasts.get(reference, math.nan))
    ]
    if not rows:
        nan = math.nan
        return ModelScore(model, 0, nan, nan, nan, nan, nan, nan, nan, {})
    err = np.array([abs(r.forecasts[model] - r.outcome) for r in rows])
    ref = np.array([abs(r.forecasts[reference] - r.outcome) for r in rows])
    proposals = [r.proposal for r in rows]
    low, high = cluster_bootstrap(err - ref, proposals, rng or np.random.default_rng(0), resamples)
    groups: dict[str, list[float]] = {}
    for r, e in zip(rows, err, strict=True):
        groups.setdefault(f"proc={r.procedure}", []).append(float(e))
        groups.setdefault(f"vote={r.council_vote}", []).append(float(e))
    coverage50 = _coverage(results, model, "q25", "q75")
    coverage90 = _coverage(results, model, "q05", "q95")
    return ModelScore(
        model=model,
        issues=len(rows),
        mae=float(err.mean()),
        median_ae=float(np.median(err)),
        rmse=float(np.sqrt((err**2).mean())),
        within=float((err <= WITHIN).mean()),
        diff=float((err - ref).mean()),
        diff_low=low,
        diff_high=high,
        by_group={k: float(np.mean(v)) for k, v in sorted(groups.items())},
        coverage50=coverage50,
        coverage90=coverage90,
    )


def cluster_bootstrap(
    values: F, clusters: Sequence[str], rng: np.random.Generator, resamples: int = BOOTSTRAP
) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``values``, resampling whole clusters.

    Each resample draws as many clusters as there are, with replacement, and takes the mean
    over all values of the drawn clusters (a cluster drawn twice counts twice).

    Examples
    --------
    >>> lo, hi = cluster_bootstrap(np.array([1.0, 1.0, 1.0]), ["a", "b", "c"],
    ...                            np.random.default_rng(0))
    >>> lo, hi
    (1.0, 1.0)
    """
    keys = list(dict.fromkeys(clusters))
    index = {k: j for j, k in enumerate(keys)}
    which = np.array([index[c] for c in clusters])
    sums = np.bincount(which, weights=values, minlength=len(keys))
    counts = np.bincount(which, minlength=len(keys)).astype(np.float64)
    draws = rng.integers(0, len(keys), size=(resamples, len(keys)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def _coverage(results: Sequence[IssueResult], model: str, lo: str, hi: str) -> float | None:
    hits = []
    for r in results:
        a = getattr(r, lo).get(model)
        b = getattr(r, hi).get(model)
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            continue
        hits.append(a <= r.outcome <= b)
    return float(np.mean(hits)) if hits else None


@dataclass(frozen=True)
class BacktestResult:
    """Every issue's forecasts and every model's scores."""

    source: str
    models: tuple[str, ...]
    params: Mapping[str, Mapping[str, Any]]
    capability: str
    institutions: str
    draws: int
    seed: int
    issues: tuple[IssueResult, ...]
    scores: tuple[ModelScore, ...]
    notes: tuple[str, ...] = ()

    def best(self) -> ModelScore:
        """The model with the lowest MAE."""
        ranked = [s for s in self.scores if s.issues]
        return min(ranked, key=lambda s: s.mae)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "models": list(self.models),
            "params": plain({m: dict(v) for m, v in self.params.items()}),
            "capability": self.capability,
            "institutions": self.institutions,
            "draws": self.draws,
            "seed": self.seed,
            "scores": [
                {
                    "model": s.model,
                    "issues": s.issues,
                    "mae": number(s.mae),
                    "median_ae": number(s.median_ae),
                    "rmse": number(s.rmse),
                    "within_10": number(s.within),
                    "diff_to_compromise": number(s.diff),
                    "diff_95": [number(s.diff_low), number(s.diff_high)],
                    "mae_by_group": {k: number(v) for k, v in s.by_group.items()},
                    "coverage_50": s.coverage50,
                    "coverage_90": s.coverage90,
                }
                for s in self.scores
            ],
            "issues": [
                {
                    "proposal": r.proposal,
                    "issue": r.issue,
                    "procedure": r.procedure,
                    "council_vote": r.council_vote,
                    "outcome": r.outcome,
                    "forecasts": {m: number(v) for m, v in r.forecasts.items()},
                    **{
                        q: {m: number(v) for m, v in getattr(r, q).items()}
                        for q in ("q05", "q25", "q75", "q95")
                        if getattr(r, q)
                    },
                }
                for r in self.issues
            ],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BacktestResult:
        """The result of a :meth:`to_dict` object (``from_dict(d).to_dict() == d``)."""

        def nums(m: Mapping[str, Any]) -> dict[str, float]:
            return {k: float(floats(v)) for k, v in m.items()}

        return cls(
            source=str(d["source"]),
            models=tuple(d["models"]),
            params={m: dict(v) for m, v in d.get("params", {}).items()},
            capability=str(d["capability"]),
            institutions=str(d["institutions"]),
            draws=int(d["draws"]),
            seed=int(d["seed"]),
            issues=tuple(
                IssueResult(
                    proposal=str(r["proposal"]),
                    issue=str(r["issue"]),
                    procedure=str(r["procedure"]),
                    council_vote=str(r["council_vote"]),
                    outcome=float(r["outcome"]),
                    forecasts=nums(r["forecasts"]),
                    **{q: nums(r[q]) for q in ("q05", "q25", "q75", "q95") if q in r},
                )
                for r in d["issues"]
            ),
            scores=tuple(
                ModelScore(
                    model=str(s["model"]),
                    issues=int(s["issues"]),
                    mae=float(floats(s["mae"])),
                    median_ae=float(floats(s["median_ae"])),
                    rmse=float(floats(s["rmse"])),
                    within=float(floats(s["within_10"])),
                    diff=float(floats(s["diff_to_compromise"])),
                    diff_low=float(floats(s["diff_95"][0])),
                    diff_high=float(floats(s["diff_95"][1])),
                    by_group=nums(s["mae_by_group"]),
                    coverage50=s["coverage_50"],
                    coverage90=s["coverage_90"],
                )
                for s in d["scores"]
            ),
            notes=tuple(d["notes"]),
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy table ``model, proposal, issue, procedure, council_vote, outcome, forecast,
        error`` (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "model": m,
                    "proposal": r.proposal,
                    "issue": r.issue,
                    "procedure": r.procedure,
                    "council_vote": r.council_vote,
                    "outcome": r.outcome,
                    "forecast": r.forecasts.get(m, math.nan),
                    "error": r.forecasts.get(m, math.nan) - r.outcome,
                }
                for r in self.issues
                for m in self.models
            ]
        )


def _spread(sc: Scenario) -> Scenario:
    """The scenario with every estimate uncertain by the sensitivity spread (uniform)."""
    data = sc.model_dump()
    for actor in data["actors"]:
        c = actor["capability"]
        value = c if isinstance(c, int | float) else c["value"]
        actor["capability"] = {"value": value, "uncertainty": f"±{0.2 * value:g}"}
        for stance in actor["stances"].values():
            x = (
                stance["position"]
                if isinstance(stance["position"], int | float)
                else stance["position"]["value"]
            )
            s = (
                stance["salience"]
                if isinstance(stance["salience"], int | float)
                else stance["salience"]["value"]
            )
            stance["position"] = (
                {
                    "value": x,
                    "uncertainty": {
                        "dist": "uniform",
                        "low": max(0.0, x - 10.0),
                        "high": min(100.0, x + 10.0),
                    },
                }
                if 0 < x < 100
                else x
            )
            stance["salience"] = (
                {
                    "value": s,
                    "uncertainty": {
                        "dist": "uniform",
                        "low": max(0.0, s - 0.1),
                        "high": min(1.0, s + 0.1),
                    },
                }
                if 0 < s < 1
                else s
            )
    return Scenario.model_validate(data)


def backtest(
    data: DeuDataset,
    models: Sequence[str],
    *,
    capability: str = "gdp",
    institutions: str = "average",
    draws: int = 0,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Run ``models`` on every issue of ``data`` with an outcome, and score them.

    The compromise model is always run (it is the reference of the paired differences).
    ``params`` maps model names to parameters (as for :func:`detente.models.run`). Raises
    ``ValueError`` for an unknown model, capability scheme, treatment or parameter.
    """
    params = params or {}
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r} (choose {', '.join(CAPABILITIES)})")
    if institutions not in INSTITUTIONS:
        raise ValueError(
            f"unknown institutions {institutions!r} (choose {', '.join(INSTITUTIONS)})"
        )
    names = list(dict.fromkeys([get_model(m).name for m in models]))
    blend: dict[str, float] = {}
    if ENSEMBLE in names:
        from detente.models.ensemble import weights

        choice = get_model(ENSEMBLE).resolve_params(params.get(ENSEMBLE, {}))["weights"]
        blend = {k: v for k, v in weights(choice).items() if v > 0}
    run_names = list(dict.fromkeys([*(m for m in names if m != ENSEMBLE), *blend, REFERENCE_MODEL]))
    for m in [*run_names, *([ENSEMBLE] if blend else [])]:  # bad parameters fail before any run
        get_model(m).resolve_params(params.get(m, {}))
    todo = data.with_outcome
    results: list[IssueResult] = []
    notes: list[str] = []
    skipped: dict[str, int] = {}
    joint = [m for m in run_names if m in PROPOSAL_MODELS]
    by_proposal = _proposal_forecasts(
        data, joint, capability, institutions, draws, seed, params, skipped, notes
    )
    for n, issue in enumerate(todo):
        caps = capabilities(data, issue, capability, institutions)
        sc = data.scenario(issue, caps)
        forecasts: dict[str, float] = {}
        quant: dict[str, dict[str, float]] = {q: {} for q in ("q05", "q25", "q75", "q95")}
        for m in run_names:
            if m in joint:
                forecasts[m], qs = by_proposal[m][issue.issue]
                for key, value in qs.items():
                    quant[key][m] = value
                continue
            if len(sc.actors) < 2:
                forecasts[m] = math.nan
                continue
            try:
                forecasts[m] = float(run(sc, m, seed=seed, params=params.get(m)).forecast[0])
            except ValueError:
                forecasts[m] = math.nan
                skipped[m] = skipped.get(m, 0) + 1
            if draws and math.isfinite(forecasts[m]):
                from detente.sim.montecarlo import monte_carlo

                mc = monte_carlo(_spread(sc), m, draws, seed, params=params.get(m))
                q = mc.forecasts[:, 0]
                for key, level in (("q05", 0.05), ("q25", 0.25), ("q75", 0.75), ("q95", 0.95)):
                    quant[key][m] = float(np.nanquantile(q, level))
        if blend:
            from detente.models.ensemble import combine

            forecasts[ENSEMBLE] = float(combine(blend, {k: np.array(forecasts[k]) for k in blend}))
        assert issue.outcome is not None
        results.append(
            IssueResult(
                issue.proposal,
                issue.issue,
                issue.procedure,
                issue.council_vote,
                issue.outcome,
                forecasts,
                **quant,
            )
        )
        if progress is not None:
            progress(n + 1, len(todo))
    for m, k in skipped.items():
        notes.append(f"{m}: no forecast on {k} issue(s) it could not run")
    if blend:
        from detente.models.ensemble import shipped

        fit = shipped()
        notes.append(
            f"ensemble: weights fitted on {fit['source']} ({fit['capability']} capabilities);"
            f" on that file its score is in-sample, its cross-validated MAE was {fit['cv_mae']}"
        )
        run_names.append(ENSEMBLE)
    rng = np.random.default_rng(seed)
    scores = tuple(score(m, results, rng=rng) for m in run_names)
    return BacktestResult(
        source=data.path,
        models=tuple(run_names),
        params={m: dict(params[m]) for m in run_names if params.get(m)},
        capability=capability,
        institutions=institutions,
        draws=draws,
        seed=seed,
        issues=tuple(results),
        scores=scores,
        notes=tuple(notes),
    )


def _proposal_forecasts(
    data: DeuDataset,
    models: Sequence[str],
    capability: str,
    institutions: str,
    draws: int,
    seed: int,
    params: Mapping[str, Mapping[str, Any]],
    skipped: dict[str, int],
    notes: list[str],
) -> dict[str, dict[str, tuple[float, dict[str, float]]]]:
    """``out[model][issue id] = (forecast, quantiles)`` of models run on whole proposals.

    A proposal's issues (with an outcome or not: all are negotiated together) form one
    scenario, with the capabilities of its first issue (noted where its issues differ in
    date, procedure or vote).
    """
    out: dict[str, dict[str, tuple[float, dict[str, float]]]] = {m: {} for m in models}
    if not models:
        return out
    groups: dict[str, list[DeuIssue]] = {}
    for issue in data.issues:
        groups.setdefault(issue.proposal, []).append(issue)
    mixed = 0
    for issues in groups.values():
        first = issues[0]
        caps = capabilities(data, first, capability, institutions)
        if any(
            (i.introduced, i.procedure, i.council_vote)
            != (first.introduced, first.procedure, first.council_vote)
            for i in issues
        ):
            mixed += 1
        sc = data.proposal_scenario(issues, caps)
        for m in models:
            values = [math.nan] * len(issues)
            qs: list[dict[str, float]] = [{} for _ in issues]
            if len(sc.actors) >= 2:
                try:
                    values = [
                        float(v) for v in run(sc, m, seed=seed, params=params.get(m)).forecast
                    ]
                except ValueError:
                    skipped[m] = skipped.get(m, 0) + sum(i.outcome is not None for i in issues)
                if draws and any(math.isfinite(v) for v in values):
                    from detente.sim.montecarlo import monte_carlo

                    mc = monte_carlo(_spread(sc), m, draws, seed, params=params.get(m))
                    for k in range(len(issues)):
                        col = mc.forecasts[:, k]
                        for key, level in (
                            ("q05", 0.05),
                            ("q25", 0.25),
                            ("q75", 0.75),
                            ("q95", 0.95),
                        ):
                            qs[k][key] = float(np.nanquantile(col, level))
            for issue, v, q in zip(issues, values, qs, strict=True):
                out[m][issue.issue] = (v, q)
    if mixed:
        notes.append(
            f"{', '.join(models)}: run on whole proposals; {mixed} proposal(s) whose issues differ"
            " in date, procedure or vote take the capabilities of their first issue"
        )
    return out
