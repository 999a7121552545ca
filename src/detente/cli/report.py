"""``detente report``: one self-contained HTML page of a stored run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.program import app


@app.command("report")
def report_command(
    run_id: Annotated[
        int, typer.Argument(metavar="ID", help="The run's id (`detente runs list`).")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The HTML file to write (default: run-ID.html)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Run store URL (default: the local SQLite store)."),
    ] = None,
    docs: Annotated[
        Path | None,
        typer.Option("--docs", help="Folder of source documents: quote every anchored span."),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a stored run: inputs with their sources,
    forecast, positions by round, fan chart, tornado and comparison tables as they apply.

    Charts are interactive (Plotly, embedded: the file opens offline).
    """
    # Imported here: the store (SQLAlchemy) and the report extra load only for this command.
    from detente.evidence import DocumentStore
    from detente.io.common import atomic_write
    from detente.io.yaml_io import read_yaml
    from detente.report.html import anchor_problems, render_report
    from detente.report.plots import MissingExtraError
    from detente.store import StoreError, open_store

    target = out if out is not None else Path(f"run-{run_id}.html")
    with common.user_errors():
        try:
            store = open_store(db)
            try:
                record = store.get(run_id)
            finally:
                store.close()
        except StoreError as exc:  # no such run, bad URL, unreachable server
            raise UsageError(str(exc)) from None
        documents = DocumentStore.from_dir(docs) if docs is not None else None
        try:
            page = render_report(record, documents)
        except MissingExtraError as exc:
            common.die(str(exc))
        if documents is not None:
            scenario = read_yaml(f"<run {run_id}>", record.scenario_yaml.encode("utf-8"))
            problems = anchor_problems(scenario, documents)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                common.console(stderr=True).print(
                    f"warning: {problems[0]}{more}", highlight=False, markup=False
                )
        data = page.encode("utf-8")
        atomic_write(target, lambda fh: fh.write(data))
    common.console(stderr=True).print(f"wrote {target} ({len(data) / 1e6:.1f} MB)", highlight=False)
