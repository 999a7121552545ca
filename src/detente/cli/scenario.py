"""The scenario tools: ``detente validate``, ``show``, ``convert``, ``evidence`` and
``models`` (the models and their parameters)."""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from detente import io, report
from detente.cli import common
from detente.cli.options import (
    FormatOpt,
    InputFormatOpt,
    IssueOpt,
    OutputFormat,
    ScaleOpt,
    ScenarioArg,
    SheetOpt,
)
from detente.cli.program import app
from detente.errors import InputError
from detente.models import models


@app.command()
def validate(
    scenario: ScenarioArg,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Check a scenario file; print what was read and how it was interpreted."""
    with common.user_errors():
        loaded = io.resolve(scenario, sheet=sheet, format=input_format, issue=issue, scale=scale)
    sc = loaded.scenario
    missing = sum(len(sc.issues) - len(a.stances) for a in sc.actors)
    unsourced = sum(1 for _, e in sc.estimates() if e.source is None)
    common.console().print(
        f"[green]ok[/] {scenario}: {loaded.format}, scenario {sc.name!r}, {len(sc.actors)} actors"
        f" × {len(sc.issues)} issues, {missing} missing stances,"
        f" {unsourced} of {sum(1 for _ in sc.estimates())} values without a source",
        highlight=False,
    )
    for note in loaded.notes:
        common.console().print(f"note: {note}", highlight=False)


@app.command()
def show(
    scenario: ScenarioArg,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Print a scenario's issues (with what their scale ends mean) and its actors."""
    with common.user_errors():
        sc = common.load(scenario, sheet, input_format, issue=issue, scale=scale)
    console = common.console()
    console.print(f"[bold]{sc.name}[/]" + (f" — {sc.description}" if sc.description else ""))
    issues = Table(title="Issues", title_justify="left")
    for col in ("id", "label", "scale", "low end", "high end"):
        issues.add_column(col)
    for item in sc.issues:
        s = item.scale
        issues.add_row(
            item.id,
            item.label or "",
            f"{s.min:g}–{s.max:g}",
            s.min_label or "",
            s.max_label or "",
        )
    console.print(issues)
    console.print(report.positions_table(sc))
    if sc.parameters:
        console.print("parameters: " + json.dumps(sc.parameters), highlight=False)


@app.command()
def convert(
    source: Annotated[str, typer.Argument(help="Input file or built-in scenario name.")],
    target: Annotated[Path, typer.Argument(help="Output file; format from its extension.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Output format: yaml, csv, ktab-csv, ktab-xml, xlsx, decide."),
    ] = None,
    sheet: SheetOpt = None,
    issue: IssueOpt = None,
    scale: ScaleOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Convert a scenario between YAML, CSV, XLSX and KTAB's CSV and XML."""
    with common.user_errors():
        sc = common.load(source, sheet, input_format, issue=issue, scale=scale)
        io.save(sc, target, format=to)
        lost = io.losses(sc, io.target_format(target, to))
    err = common.console(stderr=True)
    err.print(f"wrote {target}", highlight=False)
    if lost:
        err.print(
            f"[dim]note:[/] {target.name} cannot hold {', '.join(lost)}; they were left out"
            " (YAML keeps everything)",
            highlight=False,
        )


@app.command()
def evidence(
    docs: Annotated[
        Path, typer.Option("--docs", help="Folder holding the source documents (required).")
    ],
    scenario: ScenarioArg = "ukraine-talks",
    output_format: FormatOpt = OutputFormat.table,
) -> None:
    """Print, for each sourced value, the span of the document that justifies it."""
    from detente.evidence import DocumentStore, evidence_table

    with common.user_errors():
        sc = common.load(scenario, None, None, quiet=True)
        if not docs.is_dir():
            raise InputError(docs, "expected a folder of source documents (--docs)")
        rows = evidence_table(sc, DocumentStore.from_dir(docs))
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
        return
    if output_format is OutputFormat.csv:
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        dicts = [r.to_dict() for r in rows]
        if dicts:
            writer.writerow(list(dicts[0]))
            writer.writerows([list(d.values()) for d in dicts])
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=f"Evidence — {sc.name}", title_justify="left", show_lines=True)
    for col in ("value", "", "kind", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        where = f" [dim]({r.file} {r.start}–{r.end})[/]" if r.kind == "anchor" else ""
        note = f"\n[dim]{r.note}[/]" if r.note else ""
        value = "" if r.value is None else f"{r.value:g}"
        table.add_row(r.path, value, r.kind, f"{r.text}{where}{note}")
    common.console().print(table)


@app.command("models")
def list_models() -> None:
    """List the models and their parameters."""
    console = common.console()
    for spec in models():
        # every text is escaped: docs hold brackets ([[a, b, share], ...], [0,1]) that rich
        # would otherwise take for markup and drop
        aliases = f" [dim](also: {escape(', '.join(spec.aliases))})[/]" if spec.aliases else ""
        console.print(
            f"[bold]{escape(spec.name)}[/]{aliases} — {escape(spec.title)}", highlight=False
        )
        console.print(f"    {escape(spec.summary)}", highlight=False)
        for p in spec.parameters:
            choices = (
                f"  [dim]{escape('{' + ', '.join(map(str, p.choices)) + '}')}[/]"
                if p.choices
                else ""
            )
            console.print(
                f"    [cyan]{escape(p.name)}[/] = {escape(repr(p.default))}{choices}",
                highlight=False,
            )
            console.print(f"        {escape(p.doc)}", highlight=False)
        console.print()
