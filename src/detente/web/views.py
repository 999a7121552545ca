"""Library objects turned into the API's bodies: validation problems, evidence rows, results."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from detente.evidence import DocumentStore, EvidenceError, format_citation, quote
from detente.models import ModelSpec, get_model
from detente.scenario import Anchor, Citation, Estimate, Judgement, Scenario, SourceRef
from detente.serial import number, plain
from detente.sim.compare import Comparison, IssueChange
from detente.sim.montecarlo import QUANTILES, MCResult
from detente.sim.sensitivity import SensitivityResult
from detente.store.record import RunRecord
from detente.trace import Labels, Trace
from detente.web.schemas import (
    ComparisonOut,
    ContributionOut,
    EvidenceItem,
    ExplainOut,
    Explanation,
    FanQuantiles,
    IssueBand,
    IssueChangeOut,
    ModelInfo,
    MonteCarloSummary,
    ParameterInfo,
    Problem,
    RankedInput,
    RunResult,
    SensitivityInput,
    SensitivitySummary,
    ShockResult,
    StoredRun,
    ThresholdProbability,
)

FAN_STATISTIC = "c·s-weighted median of the positions"
"""What the fan chart's quantiles are taken of (as ``MCResult.to_dict`` names it)."""

_CELL_FIELDS = ("capability", "position", "salience")

# -- validation -------------------------------------------------------------------------


def problems(data: Any) -> list[Problem]:
    """Every problem of a scenario given as JSON, each placed at its cell where it has one.

    Field errors come from pydantic (their ``loc``); the scenario's consistency checks run
    only once the fields are sound, so positions outside their issue's scale are also checked
    here directly, to show them next to their cell together with the other messages.
    """
    found: list[Problem] = []
    try:
        Scenario.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            found.append(_problem(data, tuple(error["loc"]), error))
    flagged = {(p.actor, p.issue, p.field) for p in found}
    for problem in _scale_problems(data):
        if (problem.actor, problem.issue, problem.field) not in flagged:
            found.append(problem)
    return found


def _problem(data: Any, loc: tuple[str | int, ...], error: Any) -> Problem:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("model_type", "dict_type", "float_parsing", "float_type"):
        given = error.get("input")
        if isinstance(given, str) or given is None:
            message = "expected a number" + (f", got {given!r}" if given else "")
    actor = issue = field = None
    if len(loc) >= 2 and loc[0] == "actors" and isinstance(loc[1], int):
        actor = _id_at(data, "actors", loc[1])
        if len(loc) >= 5 and loc[2] == "stances":
            issue, field = str(loc[3]), str(loc[4])
        elif len(loc) >= 3:
            field = str(loc[2])
    elif len(loc) >= 2 and loc[0] == "issues" and isinstance(loc[1], int):
        issue = _id_at(data, "issues", loc[1])
        field = str(loc[2]) if len(loc) >= 3 else None
    elif not loc:
        # A model-level check: its message names the actor and issue.
        found_actor = re.search(r"actor '([^']+)'", message)
        found_issue = re.search(r"issue '([^']+)'", message)
        actor = found_actor[1] if found_actor else None
        issue = found_issue[1] if found_issue else None
        for name in _CELL_FIELDS:
            if actor and re.search(rf"\b{name}\b", message):
                field = name
                break
    return Problem(actor=actor, issue=issue, field=field, loc=list(loc), message=message)


def _id_at(data: Any, key: str, index: int) -> str | None:
    try:
        value = data[key][index]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _scale_problems(data: Any) -> Iterator[Problem]:
    if not isinstance(data, dict):
        return
    scales: dict[str, tuple[float, float]] = {}
    for issue in data.get("issues") or []:
        if isinstance(issue, dict) and isinstance(issue.get("id"), str):
            scale = issue.get("scale") or {}
            low = _number(scale.get("min", 0.0)) if isinstance(scale, dict) else None
            high = _number(scale.get("max", 100.0)) if isinstance(scale, dict) else None
            if low is not None and high is not None:
                scales[issue["id"]] = (low, high)
    for a, actor in enumerate(data.get("actors") or []):
        if not isinstance(actor, dict) or not isinstance(actor.get("stances"), dict):
            continue
        for issue_id, stance in actor["stances"].items():
            x = _number(stance.get("position")) if isinstance(stance, dict) else None
            if x is None or issue_id not in scales:
                continue
            low, high = scales[issue_id]
            if not low <= x <= high:
                yield Problem(
                    actor=actor.get("id") if isinstance(actor.get("id"), str) else None,
                    issue=issue_id,
                    field="position",
                    loc=["actors", a, "stances", issue_id, "position"],
                    message=f"position {x:g} lies outside the scale [{low:g}, {high:g}]",
                )


# -- models and results -----------------------------------------------------------------


def model_info(spec: ModelSpec) -> ModelInfo:
    return ModelInfo(
        name=spec.name,
        title=spec.title,
        summary=spec.summary,
        aliases=list(spec.aliases),
        parameters=[
            ParameterInfo(
                name=p.name,
                type=p.type.__name__,
                default=p.default,
                doc=p.doc,
                choices=list(p.choices),
            )
            for p in spec.parameters
        ],
        multi_round=spec.rounds_parameter is not None,
    )


def run_result(trace: Trace, record: dict[str, Any], run_id: int) -> RunResult:
    """The page's view of a run just made: ``record`` is its ``Trace.to_dict`` (only its
    scenario name and seed are read; everything else comes from the trace)."""
    return run_view(trace, str(record["scenario"]), int(record["seed"]), run_id)


def run_view(trace: Trace, scenario: str, seed: int, run_id: int) -> RunResult:
    """The page's view of a run: forecast and positions by round, NaN as ``None``."""
    return RunResult(
        run_id=run_id,
        scenario=scenario,
        model=trace.model,
        seed=seed,
        actors=list(trace.actors),
        issues=list(trace.issues),
        forecast={k: number(v) for k, v in zip(trace.issues, trace.forecast, strict=True)},
        positions=[[[number(x) for x in row] for row in state] for state in trace.positions],
        params=plain(dict(trace.params)),
        notes=list(trace.notes),
    )


def mc_summary(result: MCResult, record: dict[str, Any] | None = None) -> MonteCarloSummary:
    """The page's view of a Monte Carlo run: its summary and fan chart, without the per-draw
    forecasts (``record``, its ``to_dict``, is not needed: the result says it all)."""
    summary = result.summary()
    fan = result.fan()
    return MonteCarloSummary(
        scenario=result.scenario,
        model=result.model,
        seed=result.seed,
        draws=result.draws,
        params=plain(dict(result.params)),
        issues={k: IssueBand(**v) for k, v in summary["issues"].items()},
        thresholds=[ThresholdProbability(**t) for t in summary["thresholds"]],
        rounds=FanQuantiles(
            statistic=FAN_STATISTIC,
            quantiles=list(QUANTILES),
            by_issue={
                k: [[number(v) for v in fan[:, t, j]] for t in range(fan.shape[1])]
                for j, k in enumerate(result.issues)
            },
        ),
        notes=list(result.notes),
    )


def comparison_view(result: Comparison, run_id: int) -> ComparisonOut:
    """The page's view of a comparison (pivots only where the method gives them)."""
    return ComparisonOut(
        run_id=run_id,
        scenario=result.scenario,
        seed=result.seed,
        models=list(result.models),
        shocks=list(result.shocks),
        shock_notes={s: list(result.notes.get(s, ())) for s in result.shocks},
        baseline={m: {k: number(v) for k, v in result.baseline[m].items()} for m in result.models},
        issues=list(result.issues),
        results=[
            ShockResult(
                shock=r.shock,
                model=r.model,
                issues=[_change(c) for c in r.issues],
                notes=list(r.notes),
                timing=list(r.timing),
            )
            for r in result.runs
        ],
    )


def _change(c: IssueChange) -> IssueChangeOut:
    pivots = (
        {"pivot_before": c.pivot_before, "pivot_after": c.pivot_after}
        if c.method == "counterfactual"
        else {}
    )
    return IssueChangeOut(
        issue=c.issue,
        baseline=number(c.baseline),
        shocked=number(c.shocked),
        delta=number(c.delta),
        method=c.method,
        explained=number(c.explained),
        contributions=[
            ContributionOut(
                actor=x.actor,
                contribution=number(x.value),
                before=number(x.before),
                after=number(x.after),
            )
            for x in c.contributions
        ],
        **pivots,
    )


def sensitivity_view(result: SensitivityResult) -> SensitivitySummary:
    """The page's view of a sensitivity analysis: every issue's inputs, ranked."""
    return SensitivitySummary(
        scenario=result.scenario,
        model=result.model,
        method=result.method,
        seed=result.seed,
        samples=result.samples,
        evaluations=result.evaluations,
        params=plain(dict(result.params)),
        ranked_by=result.key,
        metrics=list(result.metrics),
        inputs=[
            SensitivityInput(name=x.name, value=x.value, low=x.low, high=x.high, bounds=x.bounds)
            for x in result.inputs
        ],
        ranking={
            k: [
                RankedInput(input=r.input, values={m: number(r.values[m]) for m in result.metrics})
                for r in result.ranking[k]
            ]
            for k in result.issues
        },
        notes=list(result.notes),
    )


def explanations(scenario: Scenario, traces: Sequence[Trace], run_id: int) -> ExplainOut:
    """Each trace told in sentences, with the scenario's names for actors and issues."""
    from detente.report.explain import explain

    labels = Labels(
        {a.id: a.title for a in scenario.actors}, {i.id: i.title for i in scenario.issues}
    )
    out = []
    for trace in traces:
        try:
            title = get_model(trace.model).title
        except KeyError:  # a model no longer registered: its name will do
            title = trace.model
        out.append(
            Explanation(
                model=trace.model,
                title=title,
                lines=explain(trace, labels),
                notes=list(trace.notes),
            )
        )
    return ExplainOut(run_id=run_id, scenario=scenario.name, models=out)


def stored_run(record: RunRecord, scenario: Scenario) -> StoredRun:
    """A recorded run for the page, its results loaded by their types' ``from_dict``
    (:meth:`RunRecord.result`); ``ValueError`` for results of another shape."""
    result = record.result()
    views: dict[str, Any] = {}
    if isinstance(result, list):
        views["runs"] = [run_view(t, record.scenario_name, record.seed, record.id) for t in result]
    elif isinstance(result, MCResult):
        views["mc"] = mc_summary(result)
    elif isinstance(result, Comparison):
        views["comparison"] = comparison_view(result, record.id)
    elif isinstance(result, SensitivityResult):
        views["sensitivity"] = sensitivity_view(result)
    # advise and discover runs are read (checked) but shown by their report only
    return StoredRun(
        run_id=record.id,
        kind=record.kind,
        created_at=record.created_at,
        scenario=scenario,
        models=list(record.models),
        seed=record.seed,
        params=record.params,
        report=f"/api/runs/{record.id}/report",
        **views,
    )


# -- evidence ---------------------------------------------------------------------------


def evidence_items(scenario: Scenario, store: DocumentStore) -> list[EvidenceItem]:
    """Every number of the scenario, then every sourced shock, with its support spelt out.

    Unlike :func:`detente.evidence.evidence_table`, a span that cannot be read does not stop
    the table: its row says why (``problem``), so the page shows every other source.
    """
    items: list[EvidenceItem] = []
    for actor in scenario.actors:
        cells: list[tuple[str | None, str, Estimate]] = [(None, "capability", actor.capability)]
        for issue_id, stance in actor.stances.items():
            cells.append((issue_id, "position", stance.position))
            cells.append((issue_id, "salience", stance.salience))
        for issue, field, estimate in cells:
            path = ".".join(p for p in (actor.id, issue, field) if p is not None)
            where: dict[str, str | None] = {"actor": actor.id, "issue": issue, "field": field}
            items.append(_item(scenario, store, estimate.source, path, estimate.value, where))
    for name, shock in scenario.shocks.items():
        if shock.source is not None:
            items.append(_item(scenario, store, shock.source, f"shocks.{name}", None))
        for c, change in enumerate(shock.changes):
            if change.source is None:
                continue
            value = getattr(change, "value", None)
            number = float(value) if isinstance(value, int | float) else None
            path = f"shocks.{name}[{c}]: {change.describe}"
            items.append(_item(scenario, store, change.source, path, number))
    return items


def _item(
    scenario: Scenario,
    store: DocumentStore,
    ref: SourceRef | None,
    path: str,
    value: float | None,
    where: dict[str, str | None] | None = None,
) -> EvidenceItem:
    source_id = ref if isinstance(ref, str) else None
    source = scenario.resolve_source(ref)
    base: dict[str, Any] = {"path": path, "value": value, "source_id": source_id, **(where or {})}
    if isinstance(source, Anchor):
        doc = store.get(source.document)
        text, problem = "", None
        try:
            text = quote(source, store)
        except EvidenceError as exc:
            problem = exc.message
        return EvidenceItem(
            **base,
            kind="anchor",
            text=text,
            note=source.note,
            document=source.document,
            file=doc.name if doc is not None else source.file,
            start=source.start,
            end=source.end,
            problem=problem,
        )
    if isinstance(source, Citation):
        return EvidenceItem(**base, kind="citation", text=format_citation(source), note=source.note)
    if isinstance(source, Judgement):
        return EvidenceItem(**base, kind="judgement", text=source.rationale)
    return EvidenceItem(**base, kind="none", text="")
