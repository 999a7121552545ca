"""One self-contained HTML report of a stored run: inputs with their sources, the results'
tables and interactive Plotly charts (``report`` extra: plotly and jinja2).

:func:`render_report` reads nothing but the :class:`~detente.store.record.RunRecord` (and, if
given, the source documents): the scenario comes from ``record.scenario_yaml`` and the results
from ``record.results``, the JSON the command prints with ``--format json``. Plotly's JavaScript
is embedded once, inline, from the installed package, so the file works offline.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

import numpy as np

from detente.evidence import DocumentStore, EvidenceError, format_citation, quote
from detente.io.yaml_io import read_yaml
from detente.models.eu import CYCLING, UNSETTLED
from detente.report.plots import MissingExtraError
from detente.scenario import Anchor, Citation, Judgement, Scenario, Source, SourceRef, Threshold
from detente.scenario.shocks import AddActor
from detente.scenario.uncertainty import Beta, Normal, PlusMinus, Triangular, Uniform
from detente.sim.advise import AdviceResult
from detente.sim.compare import NOTABLE, Comparison, IssueChange, ShockRun
from detente.sim.discover import DiscoveryResult
from detente.sim.montecarlo import QUANTILES, MCResult
from detente.sim.sensitivity import SensitivityResult
from detente.store.record import RunRecord
from detente.trace import Trace

REPORT_EXTRA = "HTML reports need the 'report' extra: pip install \"detente[report]\""

DEFAULT_TOP = 10
"""Inputs per issue in the sensitivity tables and tornado charts (the command's ``--top``)."""

ADVICE_TOP = 25
"""Levers in the advice table (the best first; the JSON holds every one)."""

ADVICE_CHART_TOP = 15
"""Levers in the advice chart."""

# Colours that stay distinct on white; actors and models keep theirs across all charts.
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
)

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


# -- what the template shows --------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A footnote link from a value to its entry in the list of sources."""

    number: int
    title: str


@dataclass
class Cell:
    """One table cell. ``value`` (a number) goes to ``data-value`` at full precision."""

    text: str
    value: float | None = None
    numeric: bool = False
    marks: list[Mark] = field(default_factory=list)
    sub: str = ""
    strong: bool = False
    title: str | None = None


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False


@dataclass
class Table:
    kind: ClassVar[str] = "table"
    columns: list[Column]
    rows: list[list[Cell]]
    caption: str | None = None
    groups: list[tuple[str, int]] | None = None
    """An upper header row: ``(label, columns spanned)``."""
    id: str | None = None


@dataclass
class Chart:
    id: str
    title: str
    json: str
    """The figure as JSON, safe to place inside a ``<script>`` element."""


@dataclass
class Charts:
    kind: ClassVar[str] = "charts"
    charts: list[Chart]
    wide: bool = False


@dataclass
class Text:
    kind: ClassVar[str] = "text"
    paragraphs: list[str]
    heading: str | None = None
    css: str = ""


@dataclass
class SourceEntry:
    """One source, listed once however many values cite it."""

    number: int
    name: str
    kind: str
    text: str = ""
    note: str | None = None
    url: str | None = None
    file: str | None = None
    start: int | None = None
    end: int | None = None
    document: str | None = None
    quote: str | None = None
    problem: str | None = None
    used_by: list[str] = field(default_factory=list)


@dataclass
class SourceList:
    kind: ClassVar[str] = "sources"
    entries: list[SourceEntry]


Block = Table | Charts | Text | SourceList


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block]


# -- entry point --------------------------------------------------------------------------------


def render_report(record: RunRecord, documents: DocumentStore | None = None) -> str:
    """The HTML report of one stored run, as one self-contained page.

    Parameters
    ----------
    record : RunRecord
        The run: its scenario (``scenario_yaml``), what ran and the results of its kind
        (``run``, ``mc``, ``compare``, ``shock``, ``sensitivity``, ``advise`` or
        ``discover``).
    documents : DocumentStore, optional
        Source documents; when given, every anchor's span is quoted in the list of sources (an
        anchor whose document is missing or changed is flagged there).

    Returns
    -------
    str
        The page: header, the sections of the run's kind (forecast table, positions by
        round, fan chart, tornado, comparison tables, levers, boxes of inputs), then the inputs
        with their sources.

    Raises
    ------
    MissingExtraError
        If plotly or jinja2 is not installed.
    detente.errors.InputError
        If the record's scenario cannot be read.

    Examples
    --------
    >>> from detente.store import open_store
    >>> page = render_report(open_store().get(3))  # doctest: +SKIP
    >>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    go, plotly_js, env = _extras()
    scenario = read_yaml(f"<run {record.id}>", record.scenario_yaml.encode("utf-8"))
    charts = _ChartMaker(go)
    names = _Names.of(scenario)
    sources = _Sources(scenario, documents)
    # the answer first: the results' sections, then the inputs with their sources
    sections: list[Section] = []
    result = record.result()
    if isinstance(result, list):
        sections += _run_sections(scenario, names, charts, result)
    elif isinstance(result, MCResult):
        sections += _mc_sections(scenario, names, charts, result)
    elif isinstance(result, Comparison):
        sections += _compare_sections(scenario, names, charts, result)
    elif isinstance(result, AdviceResult):
        sections += _advice_sections(scenario, names, charts, result)
    elif isinstance(result, DiscoveryResult):
        sections += _discovery_sections(scenario, names, charts, result)
    else:
        sections += _sensitivity_sections(scenario, names, charts, result, _top(record.params))
    sections.append(_inputs(scenario, sources))
    if scenario.causal is not None or scenario.summit is not None:
        from detente.report.html_structure import structure_sections

        # after the inputs: their list of sources is shared and takes the map's sources too
        sections += structure_sections(scenario, charts, sources, record.seed)
    template = env.get_template("report.html.j2")
    page: str = template.render(
        title=f"detente run {record.id}: {record.scenario_name} ({record.kind})",
        record=record,
        scenario=scenario,
        header=_header(record),
        parameters=_parameters(record.params),
        sections=sections,
        plotly_js=_safe_js(plotly_js),
        documents=documents,
    )
    return page


def anchor_problems(scenario: Scenario, documents: DocumentStore) -> list[str]:
    """The anchors of ``scenario`` that cannot be quoted from ``documents``, one message each
    (the report flags them in its list of sources; the command line warns)."""
    sources = _Sources(scenario, documents)
    _inputs(scenario, sources)
    return [f"source {e.number} ({e.name}): {e.problem}" for e in sources.entries if e.problem]


def _extras() -> tuple[Any, str, Any]:
    try:
        import jinja2
        import plotly.graph_objects as go
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise MissingExtraError(REPORT_EXTRA) from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("detente.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return go, get_plotlyjs(), env


def _safe_js(js: str) -> Any:
    from markupsafe import Markup

    # An inline script ends at the first "</script"; the bundle has none, but guard anyway.
    return Markup(re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE))


def _json_for_script(obj: Any) -> Any:
    """JSON that cannot close the ``<script>`` element it sits in (``<``, ``>``, ``&`` escaped
    as JSON unicode escapes, which ``JSON.parse`` turns back)."""
    from markupsafe import Markup

    text = obj if isinstance(obj, str) else json.dumps(obj, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# -- header ---------------------------------------------------------------------------------------


def _header(record: RunRecord) -> list[tuple[str, str]]:
    created = record.created_at
    if created.utcoffset() in (None, timedelta(0)):
        when = created.strftime("%Y-%m-%d %H:%M:%S UTC")
    else:
        when = created.isoformat(sep=" ", timespec="seconds")
    return [
        ("run", f"#{record.id}"),
        ("kind", record.kind),
        ("scenario", record.scenario_name),
        ("models", ", ".join(record.models) or "–"),
        ("seed", str(record.seed)),
        ("detente", record.version),
        ("recorded", when),
        ("scenario hash", record.scenario_hash),
    ]


def _parameters(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(model or 'options', 'k = v, ...')`` for every non-empty entry."""
    out = []
    for key, value in params.items():
        if isinstance(value, Mapping):
            if not value:
                continue
            text = ", ".join(f"{k} = {_plain(v)}" for k, v in value.items())
        else:
            text = _plain(value)
        out.append((str(key), text))
    return out


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


def _top(params: Mapping[str, Any]) -> int:
    options = params.get("options")
    top = options.get("top") if isinstance(options, Mapping) else None
    return top if isinstance(top, int) and top > 0 else DEFAULT_TOP


# -- names and numbers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    """Display names of actors (also those a shock adds) and issues, and colours of actors."""

    actors: Mapping[str, str]
    issues: Mapping[str, str]
    order: Mapping[str, int]

    @classmethod
    def of(cls, scenario: Scenario) -> _Names:
        actors = {a.id: a.title for a in scenario.actors}
        for shock in scenario.shocks.values():
            for change in shock.changes:
                if isinstance(change, AddActor):
                    actors.setdefault(change.add_actor.id, change.add_actor.title)
        return cls(
            actors, {i.id: i.title for i in scenario.issues}, {a: n for n, a in enumerate(actors)}
        )

    def actor(self, actor_id: str) -> str:
        return self.actors.get(actor_id, actor_id)

    def issue(self, issue_id: str) -> str:
        return self.issues.get(issue_id, issue_id)

    def colour(self, actor_id: str) -> str:
        return PALETTE[self.order.get(actor_id, len(self.order)) % len(PALETTE)]


def _fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def _number(x: Any, digits: int = 1, *, strong: bool = False, short: bool = False) -> Cell:
    """A number cell; ``short`` writes it as given (``65``, ``0.35``) instead of fixed digits."""
    value = _num(x)
    text = f"{value:g}" if short and value is not None else _fmt(value, digits)
    return Cell(text, value=value, numeric=True, strong=strong)


def _signed(x: Any, digits: int = 1) -> Cell:
    value = _num(x)
    text = "–" if value is None else f"{value:+.{digits}f}"
    return Cell(text, value=value, numeric=True)


def _scale(scenario: Scenario, issue_id: str) -> tuple[float, float] | None:
    try:
        scale = scenario.issue(issue_id).scale
    except KeyError:
        return None
    return scale.min, scale.max


def _scale_text(scenario: Scenario, issue_id: str) -> str:
    scale = _scale(scenario, issue_id)
    return "–" if scale is None else f"{scale[0]:g}–{scale[1]:g}"


def _uncertainty(u: Any) -> str:
    match u:
        case None:
            return ""
        case PlusMinus():
            return f"±{u.width:g}"
        case Uniform() | Triangular():
            return f"{u.dist} {u.low:g}–{u.high:g}"
        case Normal():
            return f"normal sd {u.sd:g}"
        case Beta():
            return f"beta({u.a:g}, {u.b:g})"
    return str(u)


# -- inputs and sources -------------------------------------------------------------------------


class _Sources:
    """Numbers the sources in order of first use and records which values cite each."""

    def __init__(self, scenario: Scenario, documents: DocumentStore | None) -> None:
        self.scenario = scenario
        self.documents = documents
        self.entries: list[SourceEntry] = []
        self._index: dict[tuple[str, str], SourceEntry] = {}

    def marks(self, ref: SourceRef | None, path: str) -> list[Mark]:
        if ref is None:
            return []
        key = ("id", ref) if isinstance(ref, str) else ("inline", ref.model_dump_json())
        entry = self._index.get(key)
        if entry is None:
            name = ref if isinstance(ref, str) else "inline"
            source = self.scenario.resolve_source(ref)
            assert source is not None  # a reference always resolves in a validated scenario
            entry = self._entry(len(self.entries) + 1, name, source)
            self._index[key] = entry
            self.entries.append(entry)
        entry.used_by.append(path)
        return [Mark(entry.number, _summary(entry))]

    def _entry(self, number: int, name: str, source: Source) -> SourceEntry:
        match source:
            case Anchor():
                entry = SourceEntry(
                    number,
                    name,
                    "anchor",
                    note=source.note,
                    file=source.file,
                    start=source.start,
                    end=source.end,
                    document=source.document,
                )
                if self.documents is not None:
                    doc = self.documents.get(source.document)
                    if doc is not None:
                        entry.file = doc.name
                    try:
                        entry.quote = quote(source, self.documents)
                    except EvidenceError as error:
                        entry.problem = str(error)
                return entry
            case Citation():
                url = source.url if source.url and _is_web(source.url) else None
                return SourceEntry(
                    number, name, "citation", format_citation(source), note=source.note, url=url
                )
            case Judgement():
                return SourceEntry(number, name, "judgement", source.rationale)


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _summary(entry: SourceEntry) -> str:
    if entry.kind == "anchor":
        where = (
            f"{entry.file or 'document ' + (entry.document or '')[:8]} [{entry.start}, {entry.end})"
        )
        return f"[{entry.number}] {entry.name}: anchor, {where}"
    return f"[{entry.number}] {entry.name}: {entry.kind}, {_shorten(entry.text, 120)}"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _inputs(scenario: Scenario, sources: _Sources) -> Section:
    issues = scenario.issues
    issue_table = Table(
        [Column("issue"), Column("id"), Column("scale"), Column("low end"), Column("high end")],
        [
            [
                Cell(issue.title, sub=issue.description or ""),
                Cell(issue.id),
                Cell(
                    f"{issue.scale.min:g}–{issue.scale.max:g}"
                    + (f" {issue.scale.unit}" if issue.scale.unit else "")
                ),
                Cell(issue.scale.min_label or ""),
                Cell(issue.scale.max_label or ""),
            ]
            for issue in issues
        ],
        caption="Issues",
    )
    rows: list[list[Cell]] = []
    for actor in scenario.actors:
        cap = actor.capability
        row = [
            Cell(actor.title, sub=actor.id if actor.label else "", strong=True),
            Cell(
                f"{cap.value:g}",
                value=cap.value,
                numeric=True,
                marks=sources.marks(cap.source, f"{actor.id}.capability"),
                sub=_uncertainty(cap.uncertainty),
            ),
        ]
        for issue in issues:
            stance = actor.stances.get(issue.id)
            if stance is None:
                row += [Cell("–", numeric=True), Cell("–", numeric=True)]
                continue
            path = f"{actor.id}.{issue.id}"
            for what, estimate in (("position", stance.position), ("salience", stance.salience)):
                row.append(
                    Cell(
                        f"{estimate.value:g}",
                        value=estimate.value,
                        numeric=True,
                        marks=sources.marks(estimate.source, f"{path}.{what}"),
                        sub=_uncertainty(estimate.uncertainty),
                    )
                )
        rows.append(row)
    actor_table = Table(
        [Column("actor"), Column("capability", numeric=True)]
        + [Column(c, numeric=True) for _ in issues for c in ("position", "salience")],
        rows,
        caption="Actors: capability, and per issue position and salience"
        " (uncertainty below the value; [n] is the source)",
        groups=[("", 2)] + [(issue.title, 2) for issue in issues],
        id="actors",
    )
    blocks: list[Block] = [issue_table, actor_table]
    if scenario.thresholds:
        blocks.append(
            Table(
                [Column("threshold"), Column("condition")],
                [[Cell(t.title), Cell(t.condition)] for t in scenario.thresholds],
                caption="Thresholds (questions whose probability Monte Carlo reports)",
            )
        )
    if scenario.shocks:
        blocks.append(_shock_table(scenario, sources))
    blocks.append(_source_block(sources))
    return Section("inputs", "Inputs and their sources", blocks)


def _shock_table(scenario: Scenario, sources: _Sources) -> Table:
    rows: list[list[Cell]] = []
    for name, shock in scenario.shocks.items():
        title = shock.label or name
        rows.append(
            [
                Cell(name, strong=True),
                Cell(str(shock.round), value=shock.round, numeric=True),
                Cell(title, sub=shock.description or "", strong=True),
                Cell("", marks=sources.marks(shock.source, f"shocks.{name}")),
            ]
        )
        for c, change in enumerate(shock.changes):
            rows.append(
                [
                    Cell(""),
                    Cell(""),
                    Cell(change.describe),
                    Cell(
                        "",
                        marks=sources.marks(
                            change.source, f"shocks.{name}[{c}]: {change.describe}"
                        ),
                    ),
                ]
            )
    return Table(
        [Column("shock"), Column("round", numeric=True), Column("what changes"), Column("source")],
        rows,
        caption="Shocks (what-ifs) and their changes",
        id="shocks",
    )


def _source_block(sources: _Sources) -> Block:
    if not sources.entries:
        return Text(["No value of this scenario names a source."], heading="Sources")
    return SourceList(sources.entries)


# -- run: forecast and positions by round ---------------------------------------------------------


def _issue_ids(scenario: Scenario, *found: Sequence[str]) -> list[str]:
    """The scenario's issues in order, then any others the results name."""
    ids = [i.id for i in scenario.issues]
    for group in found:
        ids += [k for k in group if k not in ids]
    return ids


def _run_sections(
    scenario: Scenario, names: _Names, charts: _ChartMaker, traces: list[Trace]
) -> list[Section]:
    issues = _issue_ids(scenario, *[list(t.issues) for t in traces])
    forecasts = [t.forecast_by_issue() for t in traces]
    table = Table(
        [Column("issue"), Column("scale")] + [Column(t.model, numeric=True) for t in traces],
        [
            [Cell(names.issue(k)), Cell(_scale_text(scenario, k))]
            + [_number(f.get(k), strong=True) for f in forecasts]
            for k in issues
        ],
        caption="Forecast per issue, on the issue's own scale",
        id="forecast-table",
    )
    notes = _notes([(t.model, t.notes) for t in traces])
    forecast = Section("forecast", "Forecast", [table, *notes])
    blocks: list[Block] = []
    one_round = [t.model for t in traces if t.rounds < 2]
    if one_round:
        blocks.append(
            Text(
                [
                    f"{', '.join(one_round)}: one round, so the positions are the inputs (below)"
                    " and the forecast is in the table."
                ]
            )
        )
    for t, f in zip(traces, forecasts, strict=True):
        if t.rounds < 2:
            continue
        figs = [
            charts.positions(
                scenario,
                names,
                t.model,
                k,
                list(t.actors),
                t.positions[:, :, t.issues.index(k)],
                f.get(k),
            )
            for k in issues
            if k in t.issues
        ]
        blocks.append(Text([f"{t.rounds - 1} rounds after the input (round 0)."], heading=t.model))
        blocks.append(Charts(figs))
    return [forecast, Section("positions", "Positions by round", blocks)]


def _notes(items: Sequence[tuple[str, Sequence[str]]]) -> list[Block]:
    lines = [f"{model}: {note}" for model, notes in items for note in notes]
    return [Text(lines, heading="Notes", css="notes")] if lines else []


# -- Monte Carlo ----------------------------------------------------------------------------------


def _mc_sections(
    scenario: Scenario, names: _Names, charts: _ChartMaker, mc: MCResult
) -> list[Section]:
    summary = mc.summary()
    per_issue: Mapping[str, Mapping[str, Any]] = summary["issues"]
    thresholds: list[Mapping[str, Any]] = summary["thresholds"]
    issues = [k for k in _issue_ids(scenario, list(mc.issues)) if k in per_issue]
    table = Table(
        [
            Column("issue"),
            Column("scale"),
            Column("median", numeric=True),
            Column("5 %", numeric=True),
            Column("95 %", numeric=True),
        ],
        [
            [
                Cell(names.issue(k)),
                Cell(_scale_text(scenario, k)),
                _number(per_issue[k].get("median"), strong=True),
                _number(per_issue[k].get("q05")),
                _number(per_issue[k].get("q95")),
            ]
            for k in issues
        ],
        caption=f"{mc.model}: forecast over {mc.draws} draws (median and 90 % band)",
        id="forecast-table",
    )
    blocks: list[Block] = [table]
    if thresholds:
        blocks.append(
            Table(
                [Column("threshold"), Column("condition"), Column("probability", numeric=True)],
                [
                    [
                        Cell(str(t.get("label") or "")),
                        Cell(_condition(t)),
                        _number(t.get("probability"), 3, strong=True),
                    ]
                    for t in thresholds
                ],
                caption="Probability of each threshold (share of draws)",
                id="thresholds",
            )
        )
    blocks += _notes([(mc.model, mc.notes)])
    fan = mc.fan()  # [quantile, round, issue]
    figs = [
        charts.fan(
            scenario, names, k, QUANTILES, fan[:, :, mc.issues.index(k)].T.tolist(), thresholds
        )
        for k in issues
    ]
    section = Section(
        "fan",
        "Fan chart",
        [
            Text(
                [
                    f"Per issue and round, the quantiles over the {mc.draws} draws of the"
                    " c·s-weighted median of the positions (round 0 = the drawn inputs); dashed"
                    " lines are thresholds."
                ]
            ),
            Charts(figs),
        ],
    )
    return [Section("forecast", "Forecast", blocks), section]


def _condition(t: Mapping[str, Any]) -> str:
    fields = {k: t[k] for k in ("issue", "op", "value") if k in t}
    try:
        return Threshold.model_validate(fields).condition
    except ValueError:
        return f"{t.get('issue')} {t.get('op')} {t.get('value')}"


# -- comparison (compare, shock) ----------------------------------------------------------------


def _shock_parts(scenario: Scenario, name: str) -> list[str]:
    """Label — description of each shock of a variant name (``a+b@3`` → shocks a and b)."""
    out = []
    for part in name.split("+"):
        shock_name, _, at = part.partition("@")
        shock = scenario.shocks.get(shock_name)
        when = f" (at round {at})" if at else ""
        if shock is None:
            out.append(f"{shock_name}{when}")
            continue
        text = f"{shock_name}{when}: {shock.label or shock_name}"
        if shock.description:
            text += f" — {shock.description}"
        out.append(text)
    return out


def _compare_sections(
    scenario: Scenario, names: _Names, charts: _ChartMaker, comp: Comparison
) -> list[Section]:
    models = list(comp.models)
    issues = _issue_ids(scenario, *[list(comp.baseline[m]) for m in models])
    base = Table(
        [Column("issue"), Column("scale")] + [Column(m, numeric=True) for m in models],
        [
            [Cell(names.issue(k)), Cell(_scale_text(scenario, k))]
            + [_number(comp.baseline[m].get(k), strong=True) for m in models]
            for k in issues
        ],
        caption="Baseline forecast per issue (no shock)",
        id="forecast-table",
    )
    sections = [Section("forecast", "Forecast", [base])]
    runs: dict[str, list[ShockRun]] = {}
    for r in comp.runs:
        runs.setdefault(r.shock, []).append(r)
    blocks: list[Block] = [
        Text(
            [
                "Per shock, model and issue: the baseline and shocked forecasts and their"
                f" difference Δ (bold where |Δ| ≥ {NOTABLE:.1%} of the scale), and the actors"
                " that explain it most (contribution, final position before → after)."
            ]
        )
    ]
    for n, (shock, shock_runs) in enumerate(runs.items()):
        blocks.append(Text(_shock_parts(scenario, shock), heading=f"Shock: {shock}"))
        rows = [
            _change_row(scenario, names, run.model, change)
            for run in shock_runs
            for change in run.issues
        ]
        blocks.append(
            Table(
                [
                    Column("model"),
                    Column("issue"),
                    Column("baseline", numeric=True),
                    Column("shocked", numeric=True),
                    Column("Δ", numeric=True),
                    Column("method"),
                    Column("explained", numeric=True),
                    Column("top contributors"),
                ],
                rows,
                id=f"shock-{n}",
            )
        )
        blocks.append(Charts([charts.deltas(names, shock, shock_runs, issues)], wide=True))
        notes = [str(x) for x in comp.notes.get(shock, ())]
        notes += [  # a model whose rounds did not settle: its Δ may reflect where they stopped
            f"{r.model}: {n}" for r in shock_runs for n in r.notes if UNSETTLED in n or CYCLING in n
        ]
        if notes:
            blocks.append(Text(notes, heading="Notes", css="notes"))
    sections.append(Section("comparison", "Comparison with the baseline", blocks))
    return sections


def _change_row(scenario: Scenario, names: _Names, model: str, change: IssueChange) -> list[Cell]:
    delta = _num(change.delta)
    scale = _scale(scenario, change.issue)
    notable = (
        delta is not None and scale is not None and abs(delta) >= NOTABLE * (scale[1] - scale[0])
    )
    delta_cell = _signed(delta)
    delta_cell.strong = notable
    top = [
        f"{names.actor(c.actor)} {_signed(c.value).text}"
        f" ({_fmt(_num(c.before))} → {_fmt(_num(c.after))})"
        for c in change.top
    ]
    pivot = ""
    if change.method == "counterfactual":
        pivot = "pivotal actor: " + " → ".join(
            names.actor(p) if p else "–" for p in (change.pivot_before, change.pivot_after)
        )
    return [
        Cell(model),
        Cell(names.issue(change.issue)),
        _number(change.baseline),
        _number(change.shocked),
        delta_cell,
        Cell(change.method),
        _number(change.explained, 2),
        Cell("; ".join(top) or "–", sub=pivot),
    ]


# -- sensitivity ----------------------------------------------------------------------------------


_RANKED_BY = {"ST": "ST (total-order index)", "mu_star": "mu* (mean absolute elementary effect)"}


def _sensitivity_sections(
    scenario: Scenario,
    names: _Names,
    charts: _ChartMaker,
    sens: SensitivityResult,
    top: int,
) -> list[Section]:
    method, key = sens.method, sens.key
    by_name = {x.name: x for x in sens.inputs}
    issues = [k for k in _issue_ids(scenario, list(sens.issues)) if k in sens.ranking]
    intro = Text(
        [
            f"{sens.model}, {method}: {len(by_name)} inputs, {sens.samples} samples,"
            f" {sens.evaluations} model evaluations, seed {sens.seed}; inputs ranked by"
            f" {_RANKED_BY.get(key, key)},"
            f" top {top} per issue shown."
        ]
    )
    if method == "sobol":
        metrics = [("ST", "ST"), ("ST_conf", "± 95 %"), ("S1", "S1"), ("S1_conf", "± 95 %")]
    else:
        metrics = [("mu_star", "mu*"), ("mu_star_conf", "± 95 %"), ("sigma", "sigma"), ("mu", "mu")]
    digits = 3 if method == "sobol" else 2
    blocks: list[Block] = [intro]
    for k in issues:
        ranked = list(sens.ranking[k][:top])
        blocks.append(Text([], heading=names.issue(k)))
        if not ranked:
            blocks.append(Text(["Not analysed (see the notes)."]))
            continue
        rows = []
        for rank, r in enumerate(ranked, start=1):
            inp = by_name.get(r.input)
            rows.append(
                [
                    Cell(str(rank), value=rank, numeric=True),
                    Cell(r.input),
                    _number(inp.value if inp else None, 3, short=True),
                    Cell(inp.bounds if inp else ""),
                    *[_number(r.values.get(m), digits, strong=m == key) for m, _ in metrics],
                ]
            )
        blocks.append(
            Table(
                [
                    Column("#", numeric=True),
                    Column("input"),
                    Column("value", numeric=True),
                    Column("range"),
                ]
                + [Column(label, numeric=True) for _, label in metrics],
                rows,
                id=f"sensitivity-{k}",
            )
        )
        tornado_rows = [{"input": r.input, **r.values} for r in ranked]
        blocks.append(Charts([charts.tornado(names, k, tornado_rows, method, key)], wide=True))
    blocks += _notes([(sens.model, sens.notes)])
    return [Section("sensitivity", "Sensitivity (tornado)", blocks)]


# -- advice --------------------------------------------------------------------------------------


def _share(x: float) -> Cell:
    value = _num(x)
    return Cell("–" if value is None else f"{100 * value:.0f} %", value=value, numeric=True)


def _shifts(names: _Names, shift: Mapping[str, float], digits: int = 1) -> str:
    """The issues a lever moves, largest first: ``Ceasefire terms +4.2; Aid −1.0``."""
    moved = [(k, v) for k, v in shift.items() if _num(v) is not None and abs(v) >= 0.05]
    moved.sort(key=lambda kv: -abs(kv[1]))
    return "; ".join(f"{names.issue(k)} {v:+.{digits}f}" for k, v in moved[:3]) or "–"


def _advice_sections(
    scenario: Scenario, names: _Names, charts: _ChartMaker, adv: AdviceResult
) -> list[Section]:
    actor = names.actor(adv.actor)
    intro = Text(
        [
            f"Levers for {actor} under the {adv.model} model, each evaluated on the same"
            f" {adv.draws} Monte Carlo draws (seed {adv.seed}). The gain is how many points"
            f" (0–100 scale, weighted by {actor}'s saliences) a lever brings the forecast closer"
            f" to {actor}'s own positions, measured against its positions before the lever:"
            f" median over the draws, with the 5–95 % interval. Without any lever the forecast"
            f" lies {_fmt(adv.distance[0])} points from {actor}'s positions (5–95 %:"
            f" {_fmt(adv.distance[1])}–{_fmt(adv.distance[2])}). The concession is what moving"
            f" {actor}'s own stated positions gives up, in the same points.",
            f"Caveat: {adv.caveat}.",
        ]
    )
    shown = adv.levers[:ADVICE_TOP]
    rows = [
        [
            Cell(str(rank), value=rank, numeric=True),
            Cell(lv.label, sub="; ".join(lv.changes)),
            Cell(lv.kind),
            _signed(lv.gain[0], 2),
            _signed(lv.gain[1], 2),
            _signed(lv.gain[2], 2),
            _share(lv.helps),
            _share(lv.hurts),
            _number(lv.concession, 1),
            Cell(_shifts(names, lv.shift)),
        ]
        for rank, lv in enumerate(shown, start=1)
    ]
    for row in rows:
        row[3].strong = True
    more = len(adv.levers) - len(shown)
    table = Table(
        [
            Column("#", numeric=True),
            Column("lever"),
            Column("kind"),
            Column("gain", numeric=True),
            Column("5 %", numeric=True),
            Column("95 %", numeric=True),
            Column("helps", numeric=True),
            Column("hurts", numeric=True),
            Column("concession", numeric=True),
            Column("moves the forecast (median)"),
        ],
        rows,
        caption=f"The {len(shown)} best of {len(adv.levers)} levers"
        + (f" ({more} more in the JSON)" if more else ""),
        groups=[("", 3), ("gain for " + actor, 3), ("share of draws", 2), ("", 2)],
        id="levers",
    )
    base = Table(
        [
            Column("issue"),
            Column(f"{actor}'s position", numeric=True),
            Column("salience", numeric=True),
            Column("forecast without a lever (median)", numeric=True),
        ],
        [
            [
                Cell(names.issue(k)),
                _number(x, short=True),
                _number(s, 2, short=True),
                _number(f, strong=True),
            ]
            for k, x, s, f in zip(
                adv.issues, adv.positions, adv.saliences, adv.baseline, strict=True
            )
        ],
        caption=f"{actor}'s positions and the baseline forecast",
        id="advice-baseline",
    )
    blocks: list[Block] = [intro, table]
    if shown:
        blocks.append(Charts([charts.levers(adv.levers[:ADVICE_CHART_TOP], actor)], wide=True))
    blocks.append(base)
    lever_notes = [f"{lv.name}: {n}" for lv in shown for n in lv.notes]
    blocks += _notes([(adv.model, [*adv.notes, *lever_notes])])
    return [Section("advice", f"Levers for {actor}", blocks)]


# -- scenario discovery ----------------------------------------------------------------------------


def _discovery_sections(
    scenario: Scenario, names: _Names, charts: _ChartMaker, res: DiscoveryResult
) -> list[Section]:
    cond = res.threshold.condition
    settings = ", ".join(f"{k} {_plain(v)}" for k, v in res.settings.items())
    intro = Text(
        [
            f"Under which of the {len(res.inputs)} uncertain inputs does {cond} happen? The"
            f" {res.model} model ran on {res.draws} Monte Carlo draws (seed {res.seed}); {cond}"
            f" held in {res.cases} of them ({_fmt(100 * res.base_rate, 0)} %). PRIM (Friedman &"
            f" Fisher 1999; {settings}) looks for boxes of input ranges in which it holds far more"
            " often: coverage is the share of the draws with the outcome that lie in the box,"
            " density the share of the box's draws with the outcome. A quasi-p-value above"
            " 0.05 marks a restriction that may be noise (~).",
        ]
    )
    blocks: list[Block] = [intro]
    if not res.boxes:
        blocks.append(Text(["No box: see the notes."]))
    for b, box in enumerate(res.boxes, start=1):
        rows = [
            [
                Cell(("~ " if r.noisy else "") + r.input),
                Cell(f"{r.lower:.4g} – {r.upper:.4g}", value=r.lower),
                Cell(f"{r.low:.4g} – {r.high:.4g}"),
                _number(r.qp, 3),
            ]
            for r in box.restrictions
        ]
        blocks.append(
            Table(
                [
                    Column("input"),
                    Column("range in the box"),
                    Column("range over the draws"),
                    Column("quasi-p", numeric=True),
                ],
                rows or [[Cell("(no input restricted)"), Cell(""), Cell(""), Cell("")]],
                caption=f"Box {b}: coverage {_fmt(100 * box.coverage, 0)} %, density"
                f" {_fmt(100 * box.density, 0)} % ({box.hits} of {box.cases} draws), mass"
                f" {_fmt(100 * box.mass, 1)} %; peeling step {box.selected}, {box.pasted}"
                " pasting steps",
                id=f"box-{b}",
            )
        )
    if res.boxes:
        blocks.append(Charts([charts.trajectory(res)], wide=True))
    blocks += _notes([(res.model, res.notes)])
    return [Section("discovery", f"Scenario discovery: {cond}", blocks)]


# -- charts ----------------------------------------------------------------------------------------


class _ChartMaker:
    """Builds Plotly figures with one look and numbers them."""

    def __init__(self, go: Any) -> None:
        self.go = go
        self.count = 0

    def _chart(self, fig: Any, title: str) -> Chart:
        self.count += 1
        fig.update_layout(
            template="none",
            title={"text": html.escape(title), "x": 0.01, "font": {"size": 14}},
            font={"family": _FONT, "size": 12, "color": "#222"},
            # room below the x-axis title for the legend, so that the two never overlap
            margin={"l": 56, "r": 16, "t": 44, "b": 104},
            paper_bgcolor="white",
            plot_bgcolor="white",
            legend={
                "orientation": "h",
                "y": 0,
                "yref": "container",
                "yanchor": "bottom",
                "font": {"size": 11},
            },
            hoverlabel={"font": {"family": _FONT}},
        )
        fig.update_xaxes(showgrid=True, gridcolor="#e8e8e8", zeroline=False, linecolor="#999")
        fig.update_yaxes(showgrid=True, gridcolor="#e8e8e8", zeroline=False, linecolor="#999")
        return Chart(f"chart-{self.count}", title, _json_for_script(fig.to_json()))

    def positions(
        self,
        scenario: Scenario,
        names: _Names,
        model: str,
        issue: str,
        actors: Sequence[str],
        pos: np.ndarray[Any, Any],
        forecast: Any,
    ) -> Chart:
        go = self.go
        fig = go.Figure()
        rounds = list(range(pos.shape[0]))
        for i, a in enumerate(actors):
            y = [None if math.isnan(v) else float(v) for v in pos[:, i]]
            if all(v is None for v in y):
                continue
            fig.add_trace(
                go.Scatter(
                    x=rounds,
                    y=y,
                    name=html.escape(names.actor(a)),
                    mode="lines+markers" if len(rounds) <= 25 else "lines",
                    line={"color": names.colour(a), "width": 2},
                    marker={"size": 5},
                    hovertemplate="%{fullData.name}: %{y:.1f}<extra></extra>",
                )
            )
        value = _num(forecast)
        if value is not None:
            fig.add_trace(
                go.Scatter(
                    x=[rounds[0], rounds[-1]],
                    y=[value, value],
                    name=f"forecast {value:.1f}",
                    mode="lines",
                    line={"color": "black", "dash": "dash", "width": 1.5},
                    hoverinfo="skip",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=[rounds[-1]],
                    y=[value],
                    mode="markers",
                    marker={"symbol": "star", "size": 13, "color": "black"},
                    showlegend=False,
                    hovertemplate=f"forecast: {value:.2f}<extra></extra>",
                )
            )
        fig.update_layout(height=360, hovermode="x")
        fig.update_xaxes(title_text="round", dtick=1 if len(rounds) <= 12 else None)
        self._range(fig, scenario, issue)
        return self._chart(fig, f"{model}: {names.issue(issue)}")

    def fan(
        self,
        scenario: Scenario,
        names: _Names,
        issue: str,
        quantiles: Sequence[float],
        by_round: Sequence[Sequence[float | None]],
        thresholds: Sequence[Mapping[str, Any]],
    ) -> Chart:
        go = self.go
        fig = go.Figure()
        q = np.array([[np.nan if v is None else v for v in row] for row in by_round], dtype=float)
        rounds = list(range(q.shape[0]))
        n = len(quantiles)
        mid = n // 2

        def col(j: int) -> list[float | None]:
            return [None if math.isnan(v) else float(v) for v in q[:, j]]

        def pct(x: float) -> str:
            return f"{100 * x:g} %"

        bands = [(0, n - 1, 0.18), (1, n - 2, 0.35)] if n >= 5 else [(0, n - 1, 0.25)]
        if len(rounds) == 1:
            # One stored round (one-round models): whiskers instead of bands.
            lo, hi = bands[0][0], bands[0][1]
            fig.add_trace(
                go.Scatter(
                    x=[0],
                    y=col(mid),
                    mode="markers",
                    name=f"median, {pct(quantiles[lo])}–{pct(quantiles[hi])}",
                    marker={"size": 10, "color": PALETTE[0]},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [q[0, hi] - q[0, mid]],
                        "arrayminus": [q[0, mid] - q[0, lo]],
                    },
                )
            )
        else:
            for lo, hi, alpha in bands:
                label = f"{pct(quantiles[lo])}–{pct(quantiles[hi])}"
                fig.add_trace(
                    go.Scatter(
                        x=rounds,
                        y=col(lo),
                        mode="lines",
                        line={"width": 0},
                        showlegend=False,
                        legendgroup=label,
                        hovertemplate=f"{pct(quantiles[lo])}: %{{y:.1f}}<extra></extra>",
                    )
                )
                fig.add_trace(
                    go.Scatter(
                        x=rounds,
                        y=col(hi),
                        mode="lines",
                        line={"width": 0},
                        fill="tonexty",
                        fillcolor=f"rgba(31, 119, 180, {alpha})",
                        name=label,
                        legendgroup=label,
                        hovertemplate=f"{pct(quantiles[hi])}: %{{y:.1f}}<extra></extra>",
                    )
                )
            fig.add_trace(
                go.Scatter(
                    x=rounds,
                    y=col(mid),
                    mode="lines",
                    name=f"median ({pct(quantiles[mid])})" if quantiles[mid] != 0.5 else "median",
                    line={"color": PALETTE[0], "width": 2.5},
                    hovertemplate="median: %{y:.1f}<extra></extra>",
                )
            )
        for t in thresholds:
            if t.get("issue") == issue and _num(t.get("value")) is not None:
                fig.add_hline(
                    y=float(t["value"]),
                    line={"color": PALETTE[1], "dash": "dash", "width": 1},
                    annotation_text=html.escape(str(t.get("label") or f"{t['op']} {t['value']:g}")),
                    annotation_font={"size": 10, "color": PALETTE[1]},
                    annotation_position="top left",
                )
        fig.update_layout(height=340, hovermode="x")
        fig.update_xaxes(title_text="round", dtick=1 if len(rounds) <= 12 else None)
        if len(rounds) == 1:
            fig.update_xaxes(range=[-0.5, 0.5])
        self._range(fig, scenario, issue)
        return self._chart(fig, names.issue(issue))

    def deltas(
        self,
        names: _Names,
        shock: str,
        runs: Sequence[ShockRun],
        issues: Sequence[str],
    ) -> Chart:
        go = self.go
        fig = go.Figure()
        for n, run in enumerate(runs):
            by_issue = {c.issue: c for c in run.issues}
            shown = [k for k in issues if k in by_issue]
            fig.add_trace(
                go.Bar(
                    x=[html.escape(names.issue(k)) for k in shown],
                    y=[_num(by_issue[k].delta) for k in shown],
                    customdata=[
                        [_fmt(_num(by_issue[k].baseline)), _fmt(_num(by_issue[k].shocked))]
                        for k in shown
                    ],
                    name=html.escape(run.model),
                    marker={"color": PALETTE[n % len(PALETTE)]},
                    hovertemplate="%{fullData.name}: Δ %{y:+.2f}"
                    " (%{customdata[0]} → %{customdata[1]})<extra></extra>",
                )
            )
        fig.update_layout(height=360, barmode="group")
        fig.update_yaxes(title_text="Δ forecast", zeroline=True, zerolinecolor="#444")
        return self._chart(fig, f"Δ forecast: {shock}")

    def tornado(
        self,
        names: _Names,
        issue: str,
        ranked: Sequence[Mapping[str, Any]],
        method: str,
        key: str,
    ) -> Chart:
        go = self.go
        fig = go.Figure()
        labels = [html.escape(str(r["input"])) for r in ranked]
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[_num(r.get(key)) for r in ranked],
                orientation="h",
                name="mu*" if key == "mu_star" else key,
                marker={"color": PALETTE[0]},
                opacity=0.85,
                error_x={
                    "type": "data",
                    "array": [_num(r.get(f"{key}_conf")) for r in ranked],
                    "color": "#555",
                    "thickness": 1,
                },
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            )
        )
        if method == "sobol":
            fig.add_trace(
                go.Bar(
                    y=labels,
                    x=[_num(r.get("S1")) for r in ranked],
                    orientation="h",
                    name="S1",
                    width=0.4,
                    marker={"color": PALETTE[3]},
                    hovertemplate="%{y}: S1 %{x:.3f}<extra></extra>",
                )
            )
        else:
            fig.add_trace(
                go.Scatter(
                    y=labels,
                    x=[_num(r.get("sigma")) for r in ranked],
                    mode="markers",
                    name="sigma",
                    marker={"color": PALETTE[1], "size": 8},
                    hovertemplate="%{y}: sigma %{x:.3f}<extra></extra>",
                )
            )
        fig.update_layout(height=120 + 28 * len(ranked), barmode="overlay", margin={"l": 200})
        fig.update_yaxes(autorange="reversed", automargin=True)
        fig.update_xaxes(zeroline=True, zerolinecolor="#444")
        return self._chart(fig, names.issue(issue))

    def levers(self, levers: Sequence[Any], actor: str) -> Chart:
        go = self.go
        fig = go.Figure()
        kinds = list(dict.fromkeys(lv.kind for lv in levers))
        for n, kind in enumerate(kinds):
            mine = [lv for lv in levers if lv.kind == kind]
            fig.add_trace(
                go.Bar(
                    y=[html.escape(lv.label) for lv in mine],
                    x=[_num(lv.gain[0]) for lv in mine],
                    orientation="h",
                    name=html.escape(kind),
                    marker={"color": PALETTE[n % len(PALETTE)]},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": [_num(lv.gain[2] - lv.gain[0]) for lv in mine],
                        "arrayminus": [_num(lv.gain[0] - lv.gain[1]) for lv in mine],
                        "color": "#555",
                        "thickness": 1,
                    },
                    hovertemplate="%{y}: %{x:+.2f}<extra></extra>",
                )
            )
        order = [html.escape(lv.label) for lv in levers]
        fig.update_layout(height=140 + 26 * len(levers), margin={"l": 320}, barmode="overlay")
        fig.update_yaxes(
            categoryorder="array", categoryarray=order, autorange="reversed", automargin=True
        )
        fig.update_xaxes(
            title_text=f"gain for {html.escape(actor)} (points; median, 5–95 %)",
            zeroline=True,
            zerolinecolor="#444",
        )
        return self._chart(fig, f"Best levers for {actor}")

    def trajectory(self, res: DiscoveryResult) -> Chart:
        go = self.go
        fig = go.Figure()
        top = max((len(p.limits) for box in res.boxes for p in box.trajectory), default=1)
        for b, box in enumerate(res.boxes, start=1):
            steps = box.trajectory
            fig.add_trace(
                go.Scatter(
                    x=[p.coverage for p in steps],
                    y=[p.density for p in steps],
                    mode="lines+markers",
                    name=f"box {b}: peeling",
                    line={"color": "#bbb", "width": 1},
                    marker={
                        "size": 7,
                        "color": [len(p.limits) for p in steps],
                        "colorscale": "Viridis",
                        "cmin": 0,
                        "cmax": max(1, top),
                        "showscale": b == 1,
                        "colorbar": {"title": {"text": "inputs restricted"}},
                    },
                    customdata=[[t, len(p.limits), p.mass] for t, p in enumerate(steps)],
                    hovertemplate="step %{customdata[0]}: coverage %{x:.2f}, density %{y:.2f},"
                    " %{customdata[1]} inputs, mass %{customdata[2]:.2f}<extra></extra>",
                )
            )
            sel = steps[box.selected]
            fig.add_trace(
                go.Scatter(
                    x=[sel.coverage, box.coverage],
                    y=[sel.density, box.density],
                    mode="markers",
                    name=f"box {b}: selected, final",
                    marker={
                        "symbol": ["circle-open", "star"],
                        "size": [14, 16],
                        "color": PALETTE[1],
                        "line": {"width": 2, "color": PALETTE[1]},
                    },
                    hovertemplate="%{x:.2f}, %{y:.2f}<extra></extra>",
                )
            )
        fig.add_hline(
            y=res.base_rate,
            line={"color": "#666", "dash": "dash", "width": 1},
            annotation_text=f"base rate {res.base_rate:.2f}",
            annotation_font={"size": 10},
        )
        fig.update_layout(height=420)
        fig.update_xaxes(title_text="coverage", range=[0, 1.02])
        fig.update_yaxes(title_text="density", range=[0, 1.02])
        return self._chart(fig, f"Peeling trajectory: {res.threshold.condition}")

    @staticmethod
    def _range(fig: Any, scenario: Scenario, issue: str) -> None:
        scale = _scale(scenario, issue)
        if scale is not None:
            pad = 0.03 * (scale[1] - scale[0])
            fig.update_yaxes(range=[scale[0] - pad, scale[1] + pad])
