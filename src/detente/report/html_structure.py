"""Report sections for a scenario's structure: its causal map and its summit.

Called by :func:`detente.report.html.render_report` for any run whose scenario carries a
``causal:`` or ``summit:`` section; the pictures come from :mod:`detente.report.structure`.
"""

from __future__ import annotations

from detente.causal import settle
from detente.report.html import (
    Block,
    Cell,
    Charts,
    Column,
    Section,
    Table,
    Text,
    _ChartMaker,
    _Sources,
)
from detente.report.structure import causal_map_figure, frontier_figure
from detente.scenario import Scenario
from detente.scenario.uncertainty import PlusMinus


def structure_sections(
    scenario: Scenario, charts: _ChartMaker, sources: _Sources, seed: int
) -> list[Section]:
    """The map's section (graph, weights, links) and the summit's (frontier, solutions)."""
    out: list[Section] = []
    if scenario.causal is not None:
        out.append(_map_section(scenario, charts, sources))
    if scenario.summit is not None:
        out.append(_summit_section(scenario, charts, sources, seed))
    return out


def _map_section(scenario: Scenario, charts: _ChartMaker, sources: _Sources) -> Section:
    cmap = scenario.causal
    assert cmap is not None
    settled = settle(cmap)
    figure = causal_map_figure(charts.go, cmap, settled)
    title = (
        f"Causal map: {len(cmap.concepts)} concepts, {len(cmap.edges)} weights"
        f" ({cmap.inference}, {cmap.transfer})"
    )
    blocks: list[Block] = [Charts([charts._chart(figure, title)], wide=True)]
    note = settled.note()
    if note is not None:
        blocks.append(Text([note], css="notes"))
    rows = []
    for edge in cmap.edges:
        u = edge.weight.uncertainty
        spread = f"±{u.width:g}" if isinstance(u, PlusMinus) else (u.dist if u else "")
        rows.append(
            [
                Cell(cmap.concept(edge.cause).title),
                Cell(cmap.concept(edge.effect).title),
                Cell(
                    f"{edge.weight.value:+g}",
                    value=edge.weight.value,
                    numeric=True,
                    marks=sources.marks(edge.weight.source, f"causal.{edge.name}"),
                    sub=spread,
                ),
            ]
        )
    blocks.append(
        Table(
            [Column("cause"), Column("effect"), Column("weight", numeric=True)],
            rows,
            caption="Weights of the map (uncertainty below; [n] is the source)",
            id="causal-weights",
        )
    )
    concept_rows = [
        [
            Cell(c.title, sub=c.id if c.label else ""),
            Cell(c.kind),
            Cell(
                f"{settled.final[0, i]:.3f}",
                value=float(settled.final[0, i]),
                numeric=True,
                marks=sources.marks(c.source, f"causal.{c.id}"),
            ),
        ]
        for i, c in enumerate(cmap.concepts)
    ]
    blocks.append(
        Table(
            [Column("concept"), Column("kind"), Column("settled value", numeric=True)],
            concept_rows,
            caption=f"Concepts, settled after {int(settled.steps[0])} steps with the levers as set",
        )
    )
    if cmap.links:
        blocks.append(
            Table(
                [Column("concept"), Column("moves"), Column("how"), Column("gain", numeric=True)],
                [
                    [
                        Cell(cmap.concept(link.concept).title),
                        Cell(link.target),
                        Cell(
                            "adds gain × change"
                            if link.op == "add"
                            else "scales by (1 + gain·c′)/(1 + gain·c)"
                        ),
                        Cell(
                            f"{link.gain:g}",
                            value=link.gain,
                            numeric=True,
                            marks=sources.marks(link.source, f"causal.links[{k}]: {link.describe}"),
                        ),
                    ]
                    for k, link in enumerate(cmap.links)
                ],
                caption="Links: what a lever's move does to the scenario through the map",
            )
        )
    return Section("causal-map", "Causal map", blocks)


def _summit_section(
    scenario: Scenario, charts: _ChartMaker, sources: _Sources, seed: int
) -> Section:
    from detente.summit import SummitError, summit

    spec = scenario.summit
    assert spec is not None
    try:
        result = summit(scenario, seed=seed)
    except SummitError as error:
        return Section("summit", "Summit", [Text([f"The summit cannot be held: {error}"])])
    a, b = result.between
    heading = spec.label or f"Summit of {a} and {b}"
    blocks: list[Block] = [
        Charts([charts._chart(frontier_figure(charts.go, result), heading)], wide=False)
    ]
    columns = [Column("solution"), Column(a, numeric=True), Column(b, numeric=True)]
    columns += [Column(scenario.issue(k).title, numeric=True) for k in result.issues]
    rows: list[list[Cell]] = [
        [Cell("no deal", sub=result.no_deal_basis)]
        + [Cell(f"{v:.3f}", value=float(v), numeric=True) for v in result.disagreement]
        + [
            Cell("–" if v != v else f"{v:.1f}", value=None if v != v else float(v), numeric=True)
            for v in result.no_deal
        ]
    ]
    for name, solution in result.solutions.items():
        if solution is None:
            rows.append(
                [Cell(name), Cell("no agreement", numeric=True)]
                + [Cell("")] * (1 + len(result.issues))
            )
            continue
        rows.append(
            [Cell(name, strong=name == result.chosen)]
            + [Cell(f"{v:.3f}", value=v, numeric=True) for v in solution.utilities]
            + [Cell(f"{v:.1f}", value=v, numeric=True) for v in solution.outcome]
        )
    marks = sources.marks(spec.source, "summit")
    rows[0][0].marks = marks
    blocks.append(
        Table(
            columns,
            rows,
            caption=(
                f"Utilities and agreed values (capability weight of {a} {result.alpha:.2f};"
                f" discount factors {result.discount[0]:g} and {result.discount[1]:g},"
                f" {result.first} proposes first); the chosen solution is in bold"
            ),
            id="summit",
        )
    )
    if result.notes:
        blocks.append(Text(list(result.notes), css="notes"))
    return Section("summit", heading, blocks)
