"""``detente runs list|show|export|delete``: the runs recorded in the run store."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.program import app

if TYPE_CHECKING:
    from detente.store import RunStore

runs_app = typer.Typer(
    name="runs",
    help="The recorded runs. Every `detente run`, `mc`, `shock`, `compare` and `sensitivity`"
    " is recorded (unless --no-record) with its scenario, models, parameters, seed, detente's"
    " version, the time and its results (what --format json prints). The store is a SQLite"
    " file in the user's data folder (on Linux ~/.local/share/detente/runs.sqlite), or"
    " $DETENTE_DB_URL, or --db: a file path or a database URL such as"
    " postgresql+psycopg://user:password@host/db.",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Run store: a SQLite file or a database URL (default: $DETENTE_DB_URL, else"
        " detente's own SQLite file).",
    ),
]
IdArg = Annotated[int, typer.Argument(metavar="ID", help="The run's id (`detente runs list`).")]


class ListFormat(StrEnum):
    table = "table"
    json = "json"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


def _open(db: str | None) -> RunStore:
    from detente.store import open_store

    return open_store(db)


@runs_app.command("list")
def list_command(
    output_format: Annotated[
        ListFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ListFormat.table,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Show the newest N runs only.", min=0)
    ] = None,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief", help="json: leave out each record's scenario, parameters, results."
        ),
    ] = False,
    db: DbOpt = None,
) -> None:
    """List the recorded runs, newest first (json: a list of their whole records)."""
    with common.user_errors(), _open(db) as store:
        runs = store.list(limit)
        url = store.url
        if output_format is ListFormat.json and not brief:
            runs = [store.get(r.id) for r in runs]
    if output_format is ListFormat.json:
        rows = [r.model_dump(mode="json") for r in runs]
        sys.stdout.write(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Runs in {url}", title_justify="left")
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("recorded (UTC)", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("scenario", overflow="fold", min_width=14)
    table.add_column("models", overflow="fold", min_width=10)
    table.add_column("seed", justify="right", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("hash", no_wrap=True, max_width=12, overflow="ellipsis")
    for r in runs:
        table.add_row(
            str(r.id),
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.kind,
            r.scenario_name,
            ", ".join(r.models),
            str(r.seed),
            r.version,
            r.scenario_hash[:12],
        )
    console = common.console()
    console.print(table)
    if not runs:
        console.print("[dim]no runs recorded yet[/]", highlight=False)


@runs_app.command("show")
def show_command(
    run_id: IdArg,
    output_format: Annotated[
        ListFormat, typer.Option("--format", "-f", help="table, or json: the whole record.")
    ] = ListFormat.table,
    db: DbOpt = None,
) -> None:
    """Show one run: what ran (scenario, models, parameters, seed) and its results."""
    from detente.store.export import results_table, to_json

    with common.user_errors(), _open(db) as store:
        record = store.get(run_id)
    if output_format is ListFormat.json:
        sys.stdout.write(to_json(record).decode("utf-8"))
        return
    console = common.console()
    for key, value in (
        ("run", f"{record.id} ({record.kind})"),
        ("recorded", record.created_at.isoformat(timespec="seconds")),
        ("scenario", f"{record.scenario_name} (sha256 {record.scenario_hash})"),
        ("models", ", ".join(record.models)),
        ("seed", str(record.seed)),
        ("parameters", json.dumps(record.params, ensure_ascii=False)),
        ("detente", record.version),
    ):
        console.print(f"[bold]{key}:[/] {_escape(value)}", highlight=False)
    columns, rows = results_table(record)
    table = Table(title="Results", title_justify="left")
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(_cell(x) for x in row))
    console.print(table)


@runs_app.command("export")
def export_command(
    run_id: IdArg,
    output_format: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            "-f",
            help="json: the whole record; csv: a tidy table of the results; xlsx: a workbook"
            " (run, results, scenario and yaml sheets; needs --out).",
        ),
    ] = ExportFormat.json,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The file to write (default: standard output)."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Export one run as JSON, CSV or an XLSX workbook."""
    from detente.io.common import atomic_write

    with common.user_errors():
        if output_format is ExportFormat.xlsx and out is None:
            raise UsageError("--format xlsx: name the workbook to write with --out FILE")
        with _open(db) as store:
            data = store.export(run_id, output_format.value)
        if out is not None:
            atomic_write(out, lambda fh: fh.write(data))
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        common.console(stderr=True).print(f"wrote {out}", highlight=False)


@runs_app.command("delete")
def delete_command(run_id: IdArg, db: DbOpt = None) -> None:
    """Delete one run from the store (its id is never given to another run)."""
    with common.user_errors(), _open(db) as store:
        store.delete(run_id)
        url = store.url
    common.console(stderr=True).print(f"deleted run {run_id} from {url}", highlight=False)


def _cell(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.6g}"
    return _escape(str(x))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
