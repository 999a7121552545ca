"""Excel workbooks (.xlsx): one sheet read as analyst tables; the long form written.

Reading uses openpyxl in read-only mode with cached formula values (``data_only``), so a
formula shows the value Excel last computed. Row numbers are Excel's. Errors name the file
as ``book.xlsx (sheet 'Name')``. A workbook unzipping to more than :data:`MAX_UNZIPPED_BYTES`,
or a sheet beyond :data:`MAX_ROWS` rows or :data:`MAX_CELLS` cells, is refused.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path
from typing import Any

from detente.errors import InputError
from detente.io.common import MAX_FILE_BYTES, MAX_INT_DIGITS, ranges, slugify
from detente.io.table import (
    SheetRow,
    Table,
    first_table,
    long_rows,
    read_tables,
    split_tables,
)
from detente.scenario import Scenario

SHEET = "scenario"
"""The sheet the writer creates."""

MAX_UNZIPPED_BYTES = 4 * MAX_FILE_BYTES
"""The most a workbook may unzip to (256 MiB): no zip bomb; real workbooks shrink 5–10 times."""
MAX_ROWS = 1_048_576
"""Excel's own limit of rows on a sheet."""
MAX_CELLS = 10_000_000
"""The most cells read from a sheet, counting the empty ones up to its last used column."""


def _open(data: bytes, file: str) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unzipped = sum(info.file_size for info in zf.infolist())
    except Exception:  # not a zip file: openpyxl says so below
        unzipped = 0
    if unzipped > MAX_UNZIPPED_BYTES:
        # zipfile never unpacks more than the sizes stated, so their total bounds the work.
        raise InputError(
            file,
            f"expected a workbook that unzips to at most {MAX_UNZIPPED_BYTES // 2**20} MiB,"
            f" got {unzipped:,} bytes",
        )
    import openpyxl  # here, not at the top: only workbooks need it, and it is slow to import

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for files it cannot read
        raise InputError(
            file, "expected an Excel workbook (.xlsx), but the file cannot be read as one"
        ) from None


def _rows(ws: Any, file: str) -> list[SheetRow]:
    where = f"{file} (sheet {ws.title!r})"
    rows: list[SheetRow] = []
    cells = 0
    try:
        for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            if number > MAX_ROWS:
                raise InputError(where, f"expected at most {MAX_ROWS:,} rows", row=number)
            cells += len(values)
            if cells > MAX_CELLS:
                raise InputError(
                    where,
                    f"expected at most {MAX_CELLS:,} cells (counting empty ones up to the last"
                    " used column)",
                    row=number,
                )
            rows.append(SheetRow(number, tuple(values)))
    except InputError:
        raise
    except Exception as exc:  # a damaged sheet part; openpyxl's error types vary
        if isinstance(exc, ValueError) and "digits" in str(exc):  # int() refused the text
            raise InputError(
                where,
                f"expected numbers of at most {MAX_INT_DIGITS} digits, but a cell holds a"
                " longer one",
                row=len(rows) + 1,
            ) from None
        raise InputError(
            file, f"expected a readable sheet, but sheet {ws.title!r} is damaged"
        ) from None
    return rows


def read_xlsx(
    path: Path,
    data: bytes,
    *,
    sheet: str | None = None,
    issue: str | None = None,
    scale: tuple[float, float] | None = None,
) -> tuple[Scenario, list[str]]:
    """The scenario on one sheet: ``sheet`` or, by default, the first with a recognisable table.

    A sheet may hold several tables one under another, each becoming an issue (see
    :mod:`detente.io.table`).
    """
    file = str(path)
    with warnings.catch_warnings():  # openpyxl's on parts it drops; bad input is an error
        warnings.simplefilter("ignore")
        wb = _open(data, file)
        try:
            names = list(wb.sheetnames)
            chosen, rows, tables, skipped = _choose(wb, names, sheet, file)
        finally:
            wb.close()
    notes: list[str] = []
    if sheet is None and len(names) > 1:
        notes.append(f"sheet {chosen!r} read (the first with a table; --sheet chooses another)")
    where = f"{file} (sheet {chosen!r})"
    if not tables:
        table = first_table(rows)
        if table is None:
            raise InputError(where, "expected a table, but the sheet is empty")
        tables, skipped = [table], []
    if len(tables) > 1:
        notes.append(
            f"{len(tables)} tables read, one issue each (header rows "
            + ", ".join(str(t.header.number) for t in tables)
            + ")"
        )
    if skipped:
        notes.append(f"row(s) {ranges(skipped)} outside the table(s) ignored")
    scenario, more = read_tables(
        tables,
        file=where,
        name=path.stem.strip()[:80].strip() or "scenario",
        issue=issue,
        default_issue=slugify(chosen),
        default_source=f"sheet {chosen!r} (--issue chooses another)",
        ragged_check=False,
        scale=scale,
    )
    return scenario, notes + more


def _choose(
    wb: Any, names: list[str], sheet: str | None, file: str
) -> tuple[str, list[SheetRow], list[Table], list[int]]:
    """The sheet to read, its rows, its tables and the rows outside them."""
    if sheet is not None:
        chosen = _find_sheet(names, sheet, file)
        rows = _rows(wb[chosen], file)
        return (chosen, rows, *split_tables(rows))
    first_filled: tuple[str, list[SheetRow]] | None = None
    for name in names:
        rows = _rows(wb[name], file)
        tables, skipped = split_tables(rows)
        if tables:
            return name, rows, tables, skipped
        if first_filled is None and any(not r.blank for r in rows):
            first_filled = (name, rows)
    if first_filled is None:
        raise InputError(file, "expected a sheet with a table, but every sheet is empty")
    # No recognisable table anywhere: read the first non-empty sheet plainly, so that the
    # error names what its first row lacks.
    return first_filled[0], first_filled[1], [], []


def _find_sheet(names: list[str], sheet: str, file: str) -> str:
    if sheet in names:
        return sheet
    folded = [n for n in names if n.casefold() == sheet.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise InputError(
        file, f"expected a sheet named {sheet!r}; sheets: {', '.join(repr(n) for n in names)}"
    )


def write_xlsx(scenario: Scenario, file: str) -> bytes:
    """The long form (as :func:`detente.io.csv_io.write_csv`) on a sheet named ``scenario``.

    openpyxl stores numbers with 16 significant digits (Excel shows 15), so a float needing
    17 may come back one unit in the last place off; CSV and YAML keep every digit.
    """
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    for row in long_rows(scenario):
        try:
            ws.append(row)
        except ValueError as exc:  # openpyxl refuses control characters in text
            raise InputError(file, f"expected text an Excel cell can hold: {exc}") from None
    for cells in ws.iter_rows():
        for cell in cells:
            # openpyxl would store text starting with "=" as a formula; keep it text.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
