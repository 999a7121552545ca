"""The options that several commands share, as ``Annotated`` types for their signatures.

An option is shared only where its flags, help text and default agree between commands; an
option whose help says something particular to one command (``--draws`` of ``mc`` and of
``sweep``, the seed of ``mc``'s draws) stays with that command.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


ScenarioArg = Annotated[
    str,
    typer.Argument(
        help="A scenario file (YAML, CSV, XLSX, KTAB CSV or XML) or a built-in scenario name.",
        show_default=True,
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]

# -- reading the scenario ------------------------------------------------------------------

SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="XLSX: the worksheet to read (default: first table).")
]
IssueOpt = Annotated[
    str | None,
    typer.Option(
        "--sheet-issue",
        "--issue",
        help="Issue id for a one-issue CSV/XLSX sheet (default: from its name).",
    ),
]
ScaleOpt = Annotated[
    str | None,
    typer.Option(
        "--scale",
        help="CSV/XLSX: MIN:MAX, the scale of the positions (default: 0–100, or their range"
        " when some lie outside it).",
    ),
]
InputFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--input-format", help="Force the input format: yaml, csv, ktab-csv, ktab-xml, xlsx."
    ),
]
ShocksFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--shocks-file",
        help="A YAML file of more shocks (and the sources they cite) to add to the scenario's.",
    ),
]

# -- the models ----------------------------------------------------------------------------

ModelsOpt = Annotated[
    list[str] | None,
    typer.Option("--model", "-m", help="Model to run (repeatable). Default: every model."),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        help="Seed of every random choice (default: the scenario file's seed, else 0).", min=0
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Model parameter KEY=VALUE or MODEL.KEY=VALUE."),
]
RoundsOpt = Annotated[
    int | None, typer.Option("--rounds", help="Rounds to run (models with a `rounds` parameter).")
]
CompatOpt = Annotated[
    bool,
    typer.Option("--ktab-compat", help="SMP: reproduce KTAB's documented quirks exactly."),
]
VariantOpt = Annotated[
    str | None,
    typer.Option("--variant", help="Model variant (models with a `variant` parameter)."),
]

# -- where the work runs -------------------------------------------------------------------

ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where chunks run: inline, process or dask (same numbers on every executor).",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Workers of the process pool or Dask cluster (default: CPUs)."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="With --executor dask: a Dask scheduler address (default: a local cluster).",
    ),
]

# -- the run store -------------------------------------------------------------------------

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Run store to record the run in: a SQLite file or a database URL"
        " (default: $DETENTE_DB_URL, else detente's own SQLite file; `detente runs --help`).",
    ),
]
NoRecordOpt = Annotated[
    bool, typer.Option("--no-record", help="Do not record this run in the run store.")
]
