"""A two-leader summit on a scenario: the bargaining set, its solutions, the agreement as a shock.

Two actors A and B of the scenario bargain over some of its issues. Each values an outcome ``z``
(one value per summit issue) by its positions ``x`` and saliences ``s`` there::

    U_i(z) = Σ_k w_ik (1 − |z_k − x_ik| / R_k),   w_ik = s_ik / Σ_k s_ik,

with ``R_k`` the issue's scale range: 1 at its ideal, falling linearly with distance. Between the
two ideals both utilities are linear, so the Pareto frontier is a polyline
(:func:`detente.summit.bargaining.linear_frontier`). The *no-deal* point is either each
actor's utility of the multi-party forecast (the summit fails and the talks go on without a
bilateral deal; default: the ``median`` model's forecast) or stated utilities.

On that frontier :func:`summit` finds Nash's solution, Kalai–Smorodinsky's, the asymmetric Nash
solution weighted by the two actors' capabilities (``α = c_A / (c_A + c_B)``) and Rubinstein's
alternating-offers agreement for the stated discount factors. :func:`agreement_shock` turns the
chosen one into a shock (both actors' positions on the summit issues set to the agreement), so
the multi-party models can run from it: the derived shock ``summit-agreement``
(:func:`with_summit_agreement`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.scenario import Judgement, Scenario, Shock, SummitSpec, ValueChange
from detente.scenario.summit import DEFAULT_DISCOUNT, SOLUTIONS
from detente.summit.bargaining import (
    Frontier,
    Solution,
    individually_rational,
    kalai_smorodinsky,
    linear_frontier,
    nash,
    rubinstein,
)

F = NDArray[np.float64]

AGREEMENT = "summit-agreement"
"""The name of the derived shock that sets both summit parties' positions to the agreement."""


class SummitError(ValueError):
    """A summit that cannot be held as asked (unknown actor, no common issue, no no-deal...)."""


@dataclass(frozen=True, eq=False)
class SummitResult:
    """A summit's bargaining set and solutions.

    Attributes
    ----------
    between, issues
        The two actors (A, B) and the summit issues.
    ideal, salience
        ``[2, issue]``: each actor's position and salience there.
    weights
        ``[2, issue]``: the saliences normalised to sum 1 per actor (utility weights).
    ranges
        ``[issue]``: each issue's scale range (the utilities' unit of distance).
    no_deal, no_deal_basis
        The no-deal outcome per issue (NaN when utilities were stated) and what it is
        (``"median forecast"``, ``"stated"``).
    disagreement
        ``(d_A, d_B)``: the no-deal utilities.
    frontier
        The Pareto frontier (vertices from A's best to B's best).
    solutions
        Name -> :class:`~detente.summit.bargaining.Solution` (None: no point gives both their
        no-deal utility).
    chosen
        The solution the agreement shock uses.
    alpha, discount, first
        A's capability share (asymmetric Nash), the discount factors ``(δ_A, δ_B)`` and the
        first proposer (Rubinstein).
    """

    scenario: str
    between: tuple[str, str]
    issues: tuple[str, ...]
    ideal: F
    salience: F
    weights: F
    ranges: F
    no_deal: F
    no_deal_basis: str
    disagreement: F
    frontier: Frontier
    solutions: Mapping[str, Solution | None]
    chosen: str
    alpha: float
    discount: tuple[float, float]
    first: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def agreement(self) -> Solution | None:
        """The chosen solution (None when no deal beats no deal for both)."""
        return self.solutions[self.chosen]

    def utility(self, outcome: F) -> F:
        """``(U_A, U_B)`` of an outcome (one value per summit issue)."""
        return _utilities(self.ideal, self.weights, self.ranges, np.asarray(outcome, float))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, deterministic (no timings)."""
        a, b = self.between
        return {
            "scenario": self.scenario,
            "between": [a, b],
            "issues": list(self.issues),
            "positions": {a: list(map(float, self.ideal[0])), b: list(map(float, self.ideal[1]))},
            "saliences": {
                a: list(map(float, self.salience[0])),
                b: list(map(float, self.salience[1])),
            },
            "no_deal": {
                "basis": self.no_deal_basis,
                "outcome": [None if np.isnan(v) else float(v) for v in self.no_deal],
                "utilities": {a: float(self.disagreement[0]), b: float(self.disagreement[1])},
            },
            "frontier": {
                "utilities": self.frontier.utilities.tolist(),
                "outcomes": self.frontier.outcomes.tolist(),
            },
            "alpha": self.alpha,
            "discount": {a: self.discount[0], b: self.discount[1]},
            "first": self.first,
            "solutions": {k: (v.to_dict() if v else None) for k, v in self.solutions.items()},
            "chosen": self.chosen,
            "notes": list(self.notes),
        }


def _utilities(ideal: F, weights: F, ranges: F, outcome: F) -> F:
    out: F = (weights * (1.0 - np.abs(outcome[None, :] - ideal) / ranges[None, :])).sum(axis=1)
    return out


def summit(
    scenario: Scenario,
    between: Sequence[str] | None = None,
    *,
    issues: Sequence[str] | None = None,
    no_deal: str | Mapping[str, float] | None = None,
    discount: Mapping[str, float] | None = None,
    first: str | None = None,
    solution: str | None = None,
    seed: int = 0,
) -> SummitResult:
    """Hold the summit: the two actors' frontier and the bargaining solutions on it.

    Every argument left ``None`` comes from the scenario's ``summit:`` section, else a default:
    the issues both actors have a stance on; ``no_deal`` the ``median`` model's forecast
    (a model name) or stated utilities ``{actor: u}``; discount factors
    :data:`~detente.scenario.summit.DEFAULT_DISCOUNT`; the first actor named proposes first;
    ``solution`` ``"nash"``. ``seed`` is the seed of the no-deal model's run.

    Raises
    ------
    SummitError
        Unknown actors or issues, an actor without a stance or with salience 0 on every summit
        issue, a bad discount, an unknown model.

    Examples
    --------
    >>> from detente.io import load_default
    >>> result = summit(load_default(), ["usa", "russia"], issues=["ceasefire", "aid"])
    >>> result.agreement is not None and result.chosen
    'nash'
    """
    spec = _spec(scenario, between, issues, no_deal, discount, first, solution)
    a, b = spec.between
    stances = {x.id: dict(x.stances) for x in scenario.actors}
    problem = spec.problem(stances, [i.id for i in scenario.issues])
    if problem is not None:
        raise SummitError(problem[1].removeprefix("summit: "))
    chosen_issues = spec.common(stances, [i.id for i in scenario.issues])
    actor_a, actor_b = scenario.actor(a), scenario.actor(b)
    ideal = np.array(
        [[actor.stances[k].position.value for k in chosen_issues] for actor in (actor_a, actor_b)]
    )
    salience = np.array(
        [[actor.stances[k].salience.value for k in chosen_issues] for actor in (actor_a, actor_b)]
    )
    totals = salience.sum(axis=1)
    for name, total in zip((a, b), totals, strict=True):
        if not total > 0.0:
            raise SummitError(
                f"{name!r} has salience 0 on every summit issue ({', '.join(chosen_issues)}):"
                " it gains nothing from any deal"
            )
    weights = salience / totals[:, None]
    scales = [scenario.issue(k).scale for k in chosen_issues]
    ranges = np.array([s.max - s.min for s in scales])
    distance = np.abs(ideal[1] - ideal[0]) / ranges
    cost, gain = weights[0] * distance, weights[1] * distance
    start = _utilities(ideal, weights, ranges, ideal[0])
    frontier = linear_frontier(ideal[0], ideal[1], cost, gain, (float(start[0]), float(start[1])))
    notes: list[str] = []
    if isinstance(spec.no_deal, str):
        outcome = _forecast(scenario, spec.no_deal, chosen_issues, seed)
        d = _utilities(ideal, weights, ranges, outcome)
        basis = f"{spec.no_deal} forecast"
    else:
        outcome = np.full(len(chosen_issues), np.nan)
        d = np.array([spec.no_deal[a], spec.no_deal[b]], dtype=float)
        basis = "stated"
    cap_a, cap_b = actor_a.capability.value, actor_b.capability.value
    alpha = cap_a / (cap_a + cap_b)
    deltas = (spec.discount_of(a), spec.discount_of(b))
    proposer = spec.first or a
    solutions: dict[str, Solution | None] = {
        "nash": nash(frontier, d),
        "kalai-smorodinsky": kalai_smorodinsky(frontier, d),
        "asymmetric-nash": nash(frontier, d, alpha, name="asymmetric-nash"),
        "rubinstein": rubinstein(frontier, d, deltas, first=0 if proposer == a else 1),
    }
    if not individually_rational(frontier, d):
        notes.append(
            f"no agreement gives both {a} and {b} at least their no-deal utility"
            f" ({d[0]:.3f}, {d[1]:.3f}): there is nothing to agree"
        )
    if float(np.abs(ideal[0] - ideal[1]).max()) == 0.0:
        notes.append(f"{a} and {b} hold the same positions on every summit issue")
    result = SummitResult(
        scenario=scenario.name,
        between=(a, b),
        issues=tuple(chosen_issues),
        ideal=ideal,
        salience=salience,
        weights=weights,
        ranges=ranges,
        no_deal=outcome,
        no_deal_basis=basis,
        disagreement=d,
        frontier=frontier,
        solutions=solutions,
        chosen=spec.solution,
        alpha=float(alpha),
        discount=(float(deltas[0]), float(deltas[1])),
        first=proposer,
        notes=tuple(notes),
    )
    return result


def _spec(
    scenario: Scenario,
    between: Sequence[str] | None,
    issues: Sequence[str] | None,
    no_deal: str | Mapping[str, float] | None,
    discount: Mapping[str, float] | None,
    first: str | None,
    solution: str | None,
) -> SummitSpec:
    """The scenario's summit with the given arguments put over it (validated)."""
    base = scenario.summit
    if between is None and base is None:
        raise SummitError(
            f"name the two actors (scenario {scenario.name!r} has no summit: section)"
        )
    data: dict[str, Any] = base.model_dump() if base is not None else {}
    if between is not None:
        if base is not None and list(between) != base.between:
            # another pair: the scenario's per-actor settings do not carry over
            data = {"solution": data.get("solution", "nash")}
            if isinstance(base.no_deal, str):
                data["no_deal"] = base.no_deal
        data["between"] = list(between)
    for key, value in (("issues", issues), ("no_deal", no_deal), ("first", first)):
        if value is not None:
            data[key] = list(value) if key == "issues" else value
    if discount is not None:
        data["discount"] = {**data.get("discount", {}), **discount}
    if solution is not None:
        if solution not in SOLUTIONS:
            raise SummitError(f"unknown solution {solution!r} (solutions: {', '.join(SOLUTIONS)})")
        data["solution"] = solution
    try:
        return SummitSpec.model_validate(data)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            first_error = errors()[0]
            where = ".".join(str(x) for x in first_error["loc"])
            text = str(first_error["msg"]).removeprefix("Value error, ")
            raise SummitError(f"{where + ': ' if where else ''}{text}") from None
        raise SummitError(str(exc)) from None


def _forecast(scenario: Scenario, model: str, issues: Sequence[str], seed: int) -> F:
    """The ``model``'s forecast on ``issues``: where the talks land without a bilateral deal."""
    from detente.models import get_model, run

    try:
        spec = get_model(model)
    except (KeyError, ValueError) as exc:
        raise SummitError(f"no_deal: {exc.args[0] if exc.args else exc}") from None
    trace = run(scenario, spec.name, seed=seed)
    by_issue = trace.forecast_by_issue()
    out = np.array([by_issue[k] for k in issues], dtype=float)
    missing = [k for k, v in zip(issues, out, strict=True) if not np.isfinite(v)]
    if missing:
        raise SummitError(f"no_deal: the {spec.name} model gives no forecast on {missing[0]!r}")
    return out


def agreement_shock(result: SummitResult, solution: str | None = None) -> Shock:
    """The agreement as a shock: both actors' positions on the summit issues set to it.

    Raises :class:`SummitError` when the solution found no agreement.
    """
    name = solution or result.chosen
    if name not in result.solutions:
        raise SummitError(f"unknown solution {name!r} (solutions: {', '.join(result.solutions)})")
    found = result.solutions[name]
    a, b = result.between
    if found is None:
        raise SummitError(
            f"the summit between {a} and {b} reaches no {name} agreement: no outcome gives both"
            " their no-deal utility"
        )
    rationale = (
        f"Computed by detente summit: the {name} agreement between {a} and {b} on"
        f" {', '.join(result.issues)} (no deal: {result.no_deal_basis}; utilities"
        f" {found.utilities[0]:.3f} and {found.utilities[1]:.3f})."
    )
    changes = [
        ValueChange(actor=actor, issue=issue, field="position", op="set", value=value)
        for actor in (a, b)
        for issue, value in zip(result.issues, found.outcome, strict=True)
    ]
    return Shock(
        label=f"{a} and {b} agree at their summit ({name})",
        description=(
            f"Both leaders leave the summit committed to the {name} bargain: their positions on"
            f" {', '.join(result.issues)} become the agreed terms."
        ),
        source=Judgement(rationale=rationale),
        changes=list(changes),
    )


def with_summit_agreement(scenario: Scenario, names: Sequence[str], seed: int = 0) -> Scenario:
    """``scenario`` with the derived shock ``summit-agreement`` added when ``names`` ask for it
    and the scenario does not define a shock of that name (its ``summit:`` section says who
    meets; :class:`SummitError` when it has none)."""
    from detente.sim.shocks import parse_name

    wanted = any(parse_name(n)[0] == AGREEMENT for n in names)
    if not wanted or AGREEMENT in scenario.shocks:
        return scenario
    if scenario.summit is None:
        raise SummitError(
            f"shock {AGREEMENT!r} needs a summit: the scenario {scenario.name!r} has no summit:"
            " section (add one naming `between: [a, b]`, or write the shock with `detente"
            " summit --write-shock FILE` and pass it with --shocks-file)"
        )
    shock = agreement_shock(summit(scenario, seed=seed))
    return scenario.model_copy(update={"shocks": {**scenario.shocks, AGREEMENT: shock}})


__all__ = [
    "AGREEMENT",
    "DEFAULT_DISCOUNT",
    "SummitError",
    "SummitResult",
    "agreement_shock",
    "summit",
    "with_summit_agreement",
]
