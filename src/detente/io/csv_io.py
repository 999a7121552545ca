"""Analyst CSV files: parsing into rows, reading (via :mod:`detente.io.table`) and the long form.

A file whose first line has no comma but a ``;`` or a tab is read with that delimiter
(noted), as spreadsheets in many locales save "CSV" that way. Blank lines are skipped;
row numbers count every line as a spreadsheet does. White space around cells is dropped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from detente.errors import InputError
from detente.io.common import format_number, slugify
from detente.io.table import SheetRow, first_table, long_rows, read_tables
from detente.scenario import Scenario

_DELIMITER_NAMES = {";": "';'", "\t": "tab"}


def sniff_delimiter(text: str) -> str:
    """``,`` unless the first non-blank line has no comma but a ``;`` or a tab."""
    for line in text.splitlines():
        if line.strip():
            if "," in line:
                return ","
            for candidate in (";", "\t"):
                if candidate in line:
                    return candidate
            return ","
    return ","


def parse_csv(text: str, file: str, *, delimiter: str = ",", strip: bool = True) -> list[SheetRow]:
    """Every record of ``text`` as a row of strings (stripped unless ``strip=False``).

    Blank lines are kept as empty rows so that row numbers match a spreadsheet's.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[SheetRow] = []
    try:
        for number, record in enumerate(reader, start=1):
            rows.append(SheetRow(number, tuple(f.strip() if strip else f for f in record)))
    except csv.Error as exc:
        raise InputError(
            file, f"expected valid CSV: {exc}", row=reader.line_num, row_kind="line"
        ) from None
    return rows


def read_csv(
    path: Path, text: str, *, issue: str | None = None, scale: tuple[float, float] | None = None
) -> tuple[Scenario, list[str]]:
    """An analyst CSV file (per-issue, long or wide layout) as a scenario and notes."""
    file = str(path)
    notes: list[str] = []
    delimiter = sniff_delimiter(text)
    if delimiter != ",":
        notes.append(f"read as {_DELIMITER_NAMES[delimiter]}-separated values")
    rows = parse_csv(text, file, delimiter=delimiter)
    table = first_table(rows)
    if table is None:
        raise InputError(file, "expected a scenario, got an empty file")
    scenario, more = read_tables(
        [table],
        file=file,
        name=_name(path),
        issue=issue,
        default_issue=slugify(path.stem),
        default_source="the file name (--issue chooses another)",
        ragged_check=True,
        scale=scale,
    )
    return scenario, notes + more


def _name(path: Path) -> str:
    name = path.stem.strip()[:80].strip()
    return name or "scenario"


def write_csv(scenario: Scenario, file: str) -> bytes:
    """The long form as CSV: ``actor,issue,capability,position,salience[,risk,label,description]``.

    Numbers are written so that they read back exactly. Issue labels, descriptions and
    scales, sources, parameters and the seed are not part of this form. ``file`` is the
    target, for errors (there are none: every scenario has a long form).
    """
    del file
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    for row in long_rows(scenario):
        writer.writerow(
            ["" if v is None else format_number(v) if isinstance(v, float) else v for v in row]
        )
    return buf.getvalue().encode("utf-8")
