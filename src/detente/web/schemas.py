"""Request and response bodies of the HTTP API.

Scenarios travel as :class:`detente.scenario.Scenario` itself (its JSON form,
``model_dump(mode="json")``) and run records as the store's own models, so the OpenAPI
schema documents the library's types rather than copies of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from detente.scenario import Scenario
from detente.store.record import RunKind
from detente.web.budget import MAX_SEED

_SEED = "default: the scenario's seed, else 0; at most 2**63 - 1 (what the run store records)"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuiltinScenario(_Out):
    """A scenario shipped with detente, chosen by name."""

    name: str
    description: str | None = None


class LoadedScenario(_Out):
    """A scenario as read from a built-in or an uploaded file, with the reader's notes."""

    scenario: Scenario
    format: str = Field(description="the format it was read as: yaml, csv, ktab-csv, ...")
    notes: list[str] = Field(default_factory=list, description="how the input was interpreted")
    origin: str = Field(description="the built-in scenario's name or the uploaded file's name")


class Problem(_Out):
    """One validation message, placed at the table cell it concerns when there is one."""

    actor: str | None = Field(default=None, description="actor id")
    issue: str | None = Field(default=None, description="issue id")
    field: str | None = Field(
        default=None, description="capability, position or salience (or another field name)"
    )
    loc: list[str | int] = Field(default_factory=list, description="where in the scenario JSON")
    message: str


class ValidationReport(_Out):
    ok: bool
    problems: list[Problem]


class ParameterInfo(_Out):
    name: str
    type: str
    default: Any
    doc: str
    choices: list[Any] = Field(default_factory=list)


class ModelInfo(_Out):
    name: str
    title: str
    summary: str
    aliases: list[str]
    parameters: list[ParameterInfo]
    multi_round: bool = Field(description="whether the model runs several bargaining rounds")


class RunRequest(_In):
    scenario: Scenario
    model: str = "median"
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description=_SEED)
    params: dict[str, Any] = Field(default_factory=dict, description="the model's parameters")


class RunResult(_Out):
    """One model run: the forecast and every actor's position after each round."""

    run_id: int = Field(description="the run's id in the store (GET /api/runs/{id})")
    scenario: str
    model: str
    seed: int
    actors: list[str]
    issues: list[str]
    forecast: dict[str, float | None] = Field(description="per issue id (null: no forecast)")
    positions: list[list[list[float | None]]] = Field(
        description="positions[round][actor][issue]; round 0 is the input"
    )
    params: dict[str, Any] = Field(description="the parameters used, defaults filled in")
    notes: list[str]


class MonteCarloRequest(_In):
    scenario: Scenario
    model: str = "median"
    draws: int = Field(default=1000, ge=1, description="at most the budget's max_draws")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description=_SEED)
    params: dict[str, Any] = Field(default_factory=dict)


class IssueBand(_Out):
    median: float | None
    q05: float | None
    q95: float | None


class ThresholdProbability(_Out):
    issue: str
    op: str
    value: float
    label: str | None = None
    probability: float


class FanQuantiles(_Out):
    statistic: str
    quantiles: list[float]
    by_issue: dict[str, list[list[float | None]]] = Field(
        description="per issue, per round, the quantiles (in the order of `quantiles`)"
    )


class MonteCarloSummary(_Out):
    """What ``detente mc --format json`` prints, without the per-draw forecasts."""

    scenario: str
    model: str
    seed: int
    draws: int
    params: dict[str, Any]
    issues: dict[str, IssueBand]
    thresholds: list[ThresholdProbability]
    rounds: FanQuantiles
    notes: list[str]


JobStatus = Literal["queued", "running", "done", "failed"]
JobKind = Literal["mc", "sensitivity"]


class SensitivityRequest(_In):
    scenario: Scenario
    model: str = "median"
    method: Literal["sobol", "morris"] = Field(
        default="sobol", description="sobol (S1, ST) or morris (mu*, sigma)"
    )
    samples: int | None = Field(
        default=None,
        ge=1,
        description="sobol: base samples N, rounded up to a power of 2 (default 256);"
        " morris: trajectories, at least 2 (default 32)",
    )
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description=_SEED)
    params: dict[str, Any] = Field(default_factory=dict)
    spread: dict[Literal["position", "salience", "capability"], float] = Field(
        default_factory=dict,
        description="bounds when the scenario gives no uncertainty: position (a fraction of"
        " the scale, default 0.1), salience (default 0.1), capability (default 0.2)",
    )


class SensitivityInput(_Out):
    """One varied input: its dotted path, point value and the bounds it was varied over."""

    name: str = Field(description="e.g. russia.territory.position or usa.capability")
    value: float
    low: float
    high: float
    bounds: str = Field(description="where the bounds came from")


class RankedInput(_Out):
    input: str
    values: dict[str, float | None] = Field(
        description="sobol: S1, S1_conf, ST, ST_conf; morris: mu_star, mu_star_conf, sigma, mu"
    )


class SensitivitySummary(_Out):
    """What ``detente sensitivity --format json`` prints, each issue's inputs ranked."""

    scenario: str
    model: str
    method: str
    seed: int
    samples: int
    evaluations: int
    params: dict[str, Any]
    ranked_by: str = Field(description="ST (sobol) or mu_star (morris)")
    metrics: list[str]
    inputs: list[SensitivityInput]
    ranking: dict[str, list[RankedInput]] = Field(
        description="per issue id, every input, most influential first"
    )
    notes: list[str]


class JobInfo(_Out):
    """A background job (a Monte Carlo run or a sensitivity analysis) and how far it has
    got."""

    id: str
    kind: JobKind
    status: JobStatus
    done: int = Field(description="draws (or model evaluations) done so far")
    total: int = Field(description="draws (or model evaluations) in all")
    error: str | None = None
    run_id: int | None = Field(default=None, description="the store's id once finished")
    result: MonteCarloSummary | SensitivitySummary | None = None


class CompareRequest(_In):
    scenario: Scenario
    shocks: list[str] = Field(default_factory=list, description="default: every shock")
    models: list[str] = Field(default_factory=list, description="default: every model")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description=_SEED)
    combined: bool = Field(
        default=False, description="apply the shocks together (like `detente shock`)"
    )


class ContributionOut(_Out):
    actor: str
    contribution: float | None
    before: float | None
    after: float | None


class IssueChangeOut(_Out):
    issue: str
    baseline: float | None
    shocked: float | None
    delta: float | None
    method: str
    explained: float | None
    contributions: list[ContributionOut]
    pivot_before: str | None = None
    pivot_after: str | None = None


class ShockResult(_Out):
    shock: str
    model: str
    issues: list[IssueChangeOut]
    notes: list[str] = Field(default_factory=list, description="the run's own notes")
    timing: list[str] = Field(
        default_factory=list, description="how the shocks were timed for this model"
    )


class ComparisonOut(_Out):
    """What ``detente compare --format json`` prints, and the run's id in the store."""

    run_id: int
    scenario: str
    seed: int
    models: list[str]
    shocks: list[str]
    shock_notes: dict[str, list[str]]
    baseline: dict[str, dict[str, float | None]]
    issues: list[str] = Field(default_factory=list)
    results: list[ShockResult]


class EvidenceRequest(_In):
    scenario: Scenario


class EvidenceItem(_Out):
    """One sourced (or unsourced) number; anchors name their document by SHA-256."""

    path: str = Field(description="e.g. russia.territory.position or shocks.summit[0]: ...")
    actor: str | None = None
    issue: str | None = None
    field: str | None = None
    value: float | None
    kind: Literal["anchor", "citation", "judgement", "none"]
    text: str = Field(description="quoted span, formatted citation or rationale")
    note: str | None = None
    source_id: str | None = None
    document: str | None = Field(default=None, description="anchors: the document's SHA-256")
    file: str | None = None
    start: int | None = None
    end: int | None = None
    problem: str | None = Field(default=None, description="why the span cannot be read")


class EvidenceOut(_Out):
    rows: list[EvidenceItem]
    documents: int = Field(description="documents readable in the server's --docs folder")


class DocumentOut(_Out):
    id: str = Field(description="SHA-256 of the UTF-8 text")
    name: str
    text: str


class Explanation(_Out):
    """How one model reached its forecast, in sentences (``detente explain``)."""

    model: str
    title: str
    lines: list[str]
    notes: list[str]


class ExplainOut(_Out):
    run_id: int
    scenario: str
    models: list[Explanation]


class StoredRun(_Out):
    """A recorded run as the page shows it: its scenario and its results, read back through
    the results' own types (``Trace``, ``MCResult``, ``Comparison``, ``SensitivityResult``);
    the field of the run's kind is set (none for ``advise`` and ``discover`` runs, which
    their report shows)."""

    run_id: int
    kind: RunKind
    created_at: datetime
    scenario: Scenario = Field(description="the scenario as it ran")
    models: list[str]
    seed: int
    params: dict[str, Any]
    runs: list[RunResult] = Field(default_factory=list, description="kind run: each model's")
    mc: MonteCarloSummary | None = None
    comparison: ComparisonOut | None = None
    sensitivity: SensitivitySummary | None = None
    report: str = Field(description="where to download the run's HTML report")
