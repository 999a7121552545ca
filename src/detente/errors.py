"""The one error type for bad input, printed by the CLI as one line."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: names the file, the row (or line), the column (or field) and what was expected.

    ``str(error)`` is one line, e.g.
    ``actors.csv, row 4, column 'Salience': expected a number in [0, 1] or [0, 100], got 'high'``.
    """

    def __init__(
        self,
        file: str | Path | None,
        expected: str,
        *,
        row: int | None = None,
        column: str | int | None = None,
        found: object = None,
        row_kind: str = "row",
        column_kind: str = "column",
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.expected = expected
        self.found = found
        self.row_kind = row_kind
        self.column_kind = column_kind
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [self.file or "<input>"]
        if self.row is not None:
            where.append(f"{self.row_kind} {self.row}")
        if self.column is not None:
            col = self.column if isinstance(self.column, int) else repr(self.column)
            if isinstance(col, str) and len(col) > 100:
                col = col[:97] + "..."
            where.append(f"{self.column_kind} {col}")
        text = f"{', '.join(where)}: {self.expected}"
        if self.found is not None:
            found = repr(self.found) if isinstance(self.found, str) else str(self.found)
            if len(found) > 60:
                found = found[:57] + "..."
            text += f", got {found}"
        return " ".join(text.split())
