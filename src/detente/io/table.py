"""Analyst tables — a CSV file or an XLSX sheet as rows of cells — read into a scenario.

One module for both formats, so a sheet and its CSV export are read alike.

Columns are found by name, case-insensitively, ignoring spaces and punctuation:

* actor id: ``actor``, ``stakeholder``, ``name``, ``player``, ``party`` (name-like) or ``legend``,
  ``code``, ``id``, ``abbreviation`` (code-like). With both kinds, the code is the id and the
  name becomes the label; a ``label`` column is the label in any case.
* capability: ``capability``, ``clout``, ``influence``, ``power``, ``resources``,
  ``capabilities``, ``weight`` — when several are present the first in this order is used
  (and a note says so).
* position: ``position``, ``pstn``, ``stance``; salience: ``salience``, ``sal``, ``importance``,
  ``priority``; optional ``description``/``desc``, ``issue``/``dimension``/``dim``, ``risk``.

Layouts: *per-issue* (actor, capability, position, salience: one issue), *long* (an issue
column: one row per actor and issue) and *wide* (``<X> Position`` / ``<X> Salience`` column
pairs, one issue per ``X``; an actor with both cells of a pair empty has no stance on it).

Scales: a salience column whose values all lie in [0, 1] holds fractions; one with values
above 1 (all ≤ 100) is on 0–100 and is divided by 100 (noted). Values below and above 1 in
one column are an error (a typo on a fraction sheet, or a scale we cannot tell). Positions
are on 0–100 unless one lies outside: then the issue's scale is the positions' [min, max].

A sheet may hold several tables one under another (XLSX): each starts at a header row (a row
with an actor column and a position column or ``<X> Position`` columns), its data end at the
first blank row after data began. A plain per-issue table takes its issue from the title row
above its header: the text before the first ``:`` or ``?``, leading article dropped, first
four words, slugified (``"The Policy space: what is…"`` → ``policy-space``); the whole title is
the issue's label. Without a title the issue is named after the file or sheet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from pydantic import ValidationError

from detente.errors import InputError
from detente.io.common import ID_MAX, format_number, is_id, ranges, slugify, unique_id
from detente.scenario import Actor, Estimate, Issue, Scale, Scenario, Stance

Cell = object
"""A cell's value: ``str`` from CSV; ``str``, ``int``, ``float``, ``bool``, dates or ``None`` from
XLSX."""


@dataclass(frozen=True)
class SheetRow:
    """One row of a CSV file or sheet, numbered from 1 as a spreadsheet shows it."""

    number: int
    cells: tuple[Cell, ...]

    @property
    def blank(self) -> bool:
        return all(cell_text(c) is None for c in self.cells)


@dataclass
class Table:
    """A header row, its data rows and the title above it, if any."""

    header: SheetRow
    rows: list[SheetRow]
    title: str | None = None
    title_row: int | None = None


_ROLES: dict[str, tuple[str, ...]] = {
    "name": ("actor", "stakeholder", "name", "player", "party"),
    "code": ("legend", "code", "id", "abbreviation", "abbrev"),
    "label": ("label",),
    "capability": (
        "capability",
        "clout",
        "influence",
        "power",
        "resources",
        "capabilities",
        "weight",
    ),
    "position": ("position", "pstn", "stance"),
    "salience": ("salience", "sal", "importance", "priority"),
    "description": ("description", "desc"),
    "issue": ("issue", "dimension", "dim"),
    "risk": ("risk",),
}
_ROLE_OF = {alias: role for role, aliases in _ROLES.items() for alias in aliases}
_ROLE_WORDS = {"name": "actor name", "code": "actor code", "risk": "risk attitude"}

# Longest first, so that "salience" is preferred to "sal".
_PAIR_WORDS = sorted(_ROLES["position"] + _ROLES["salience"], key=len, reverse=True)
_PAIR_RE = re.compile("|".join(_PAIR_WORDS), re.IGNORECASE)


def normalize(header: str) -> str:
    """``"Policy Position, X"`` → ``"policypositionx"``: case and punctuation do not matter."""
    return re.sub(r"[\W_]+", "", header.casefold())


def cell_text(value: Cell) -> str | None:
    """A cell as stripped text, ``None`` when empty. Integral numbers print without ``.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return format_number(value) if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def cell_number(value: Cell, what: str, *, file: str, row: int, column: str | int) -> float:
    """A finite number from a cell; anything else is an ``InputError`` naming the cell."""
    if isinstance(value, bool | datetime | date | time):
        raise InputError(file, f"expected {what}", row=row, column=column, found=cell_text(value))
    if isinstance(value, int | float):
        try:
            x = float(value)
        except OverflowError:  # an integer beyond the floats (over 308 digits)
            x = math.inf
        text = cell_text(value)
    else:
        text = cell_text(value)
        if text is None:
            raise InputError(file, f"expected {what}, got an empty cell", row=row, column=column)
        try:
            # U+2212 is the minus sign some spreadsheets and word processors write.
            x = float(text.replace("\u2212", "-"))
        except ValueError:
            raise InputError(file, f"expected {what}", row=row, column=column, found=text) from None
    if not math.isfinite(x):
        raise InputError(
            file, f"expected {what} (a finite number)", row=row, column=column, found=text
        )
    return x


# -- the header ----------------------------------------------------------------


@dataclass
class _Pair:
    label: str
    position: int
    salience: int
    key: str = ""


@dataclass
class _Columns:
    names: list[str]
    id: int
    capability: int
    label: int | None = None
    description: int | None = None
    risk: int | None = None
    issue: int | None = None
    position: int | None = None
    salience: int | None = None
    pairs: list[_Pair] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        if self.position is None:
            return "wide"
        return "long" if self.issue is not None else "per-issue"

    def name(self, col: int) -> str | int:
        """The column's header, or its 1-based number when the header cell is blank."""
        return self.names[col] if self.names[col] else col + 1


def _pair_word(header: str) -> tuple[str, str, str] | None:
    """``"Policy Position, X"`` → ``("position", "Policy", ", X")``; ``None`` if no pair word.

    The word must stand apart: after a non-letter or a camel-case boundary and not followed
    by a lower-case letter, so "Opposition" or "Salary" do not count.
    """
    for m in _PAIR_RE.finditer(header):
        start, end = m.span()
        before = header[start - 1] if start else ""
        after = header[end] if end < len(header) else ""
        if before.isalpha() and not (before.islower() and header[start].isupper()):
            continue
        if after.isalpha() and after.islower():
            continue
        word = _ROLE_OF[m.group().casefold()]
        prefix = header[:start].strip(" \t_-:.,;/")
        return word, prefix, header[end:].strip(" \t_-:.,;/")
    return None


def is_header(row: SheetRow) -> bool:
    """A row that starts a table: an actor column and a position (or ``<X> Position``) column."""
    roles = set()
    for cell in row.cells:
        text = cell_text(cell)
        if text is None or not isinstance(cell, str):
            continue
        role = _ROLE_OF.get(normalize(text))
        if role is not None:
            roles.add(role)
        else:
            pair = _pair_word(text)
            if pair is not None and pair[0] == "position" and (pair[1] or pair[2]):
                roles.add("pair")
    return bool(roles & {"name", "code"}) and bool(roles & {"position", "pair"})


def _analyse_header(header: SheetRow, file: str) -> _Columns:
    names = [cell_text(c) or "" for c in header.cells]
    found: dict[str, list[tuple[int, int]]] = {}
    unmatched: list[int] = []
    for col, name in enumerate(names):
        if not name:
            continue
        role = _ROLE_OF.get(normalize(name))
        if role is None:
            unmatched.append(col)
        else:
            found.setdefault(role, []).append((_ROLES[role].index(normalize(name)), col))
    notes: list[str] = []
    ignored: list[int] = []

    def pick(role: str) -> int | None:
        candidates = sorted(found.get(role, []))
        if not candidates:
            return None
        first = candidates[0]
        for other in candidates[1:]:
            if other[0] == first[0]:
                raise InputError(
                    file,
                    f"expected one column for the {_ROLE_WORDS.get(role, role)}, but column"
                    f" {names[other[1]]!r} repeats"
                    f" column {first[1] + 1} ({names[first[1]]!r})",
                    row=header.number,
                    column=names[other[1]],
                )
        if len(candidates) > 1:
            others = ", ".join(repr(names[c]) for _, c in candidates[1:])
            notes.append(
                f"{_ROLE_WORDS.get(role, role)} taken from column {names[first[1]]!r};"
                f" column(s) {others} ignored"
            )
            ignored.extend(c for _, c in candidates[1:])
        return first[1]

    def missing(what: str, aliases: Sequence[str]) -> InputError:
        have = ", ".join(repr(n) for n in names if n) or "none"
        return InputError(
            file,
            f"expected a column for the {what} (named one of: {', '.join(aliases)});"
            f" columns found: {have}",
            row=header.number,
        )

    name_col, code_col, label_col = pick("name"), pick("code"), pick("label")
    if code_col is not None:
        id_col = code_col
        if name_col is not None:
            if label_col is None:
                label_col = name_col
                notes.append(
                    f"actor ids taken from column {names[code_col]!r},"
                    f" labels from column {names[name_col]!r}"
                )
            else:
                ignored.append(name_col)
    elif name_col is not None:
        id_col = name_col
    else:
        raise missing("actor", _ROLES["name"] + _ROLES["code"])
    cap_col = pick("capability")
    if cap_col is None:
        raise missing("capability", _ROLES["capability"])
    cols = _Columns(
        names=names,
        id=id_col,
        capability=cap_col,
        label=label_col,
        description=pick("description"),
        risk=pick("risk"),
        issue=pick("issue"),
        position=pick("position"),
        salience=pick("salience"),
        notes=notes,
    )

    # "<X> Position" / "<X> Salience" pairs, matched by X.
    halves: dict[str, dict[str, tuple[int, str]]] = {"position": {}, "salience": {}}
    for col in unmatched:
        pair = _pair_word(names[col])
        if pair is None or not (pair[1] or pair[2]):
            ignored.append(col)
            continue
        word, prefix, suffix = pair
        key = normalize(prefix or suffix)
        label = prefix or names[col]
        if key in halves[word]:
            raise InputError(
                file,
                f"expected one {word} column for issue {label!r}, but column {names[col]!r}"
                f" repeats column {halves[word][key][0] + 1}",
                row=header.number,
                column=names[col],
            )
        halves[word][key] = (col, label)

    if cols.position is not None:
        if cols.salience is None:
            raise missing("salience", _ROLES["salience"])
        ignored.extend(c for half in halves.values() for c, _ in half.values())
    else:
        if not halves["position"] and not halves["salience"]:
            raise missing("position", (*_ROLES["position"], "<issue> Position"))
        for word, other in (("position", "salience"), ("salience", "position")):
            for key, (col, label) in halves[word].items():
                if key not in halves[other]:
                    raise InputError(
                        file,
                        f"expected a matching '{label} {other.capitalize()}' column for"
                        f" column {names[col]!r}",
                        row=header.number,
                        column=names[col],
                    )
        for key, (pcol, label) in halves["position"].items():
            cols.pairs.append(_Pair(label, pcol, halves["salience"][key][0]))
        ignored.extend(c for c in (cols.issue, cols.salience) if c is not None)
        cols.issue = cols.salience = None
    if ignored:
        named = [repr(names[c]) for c in sorted(set(ignored)) if not _mentioned(notes, names[c])]
        if named:
            notes.append(f"column(s) {', '.join(named)} ignored")
    return cols


def _mentioned(notes: list[str], name: str) -> bool:
    return any(f"{name!r} ignored" in n or f"{name!r}," in n for n in notes)


# -- rows -------------------------------------------------------------------------


@dataclass
class _Value:
    """A number with the cell it came from."""

    x: float
    row: int
    column: str | int
    text: str | None


@dataclass
class _Entry:
    """One actor's data from one table."""

    row: int
    id: str
    label: str | None
    description: str | None
    capability: _Value
    risk: _Value | None
    stances: dict[str, tuple[_Value, _Value]] = field(default_factory=dict)


@dataclass
class _ParsedTable:
    entries: dict[str, _Entry]
    issues: dict[str, str | None]  # key -> label
    salience_columns: list[list[_Value]]
    notes: list[str]


class _Reader:
    """Reads the tables of one file or sheet into entries, then into a scenario."""

    def __init__(
        self, file: str, *, ragged_check: bool, scale: tuple[float, float] | None = None
    ) -> None:
        self.file = file
        self.ragged_check = ragged_check
        self.scale = scale
        self.notes: list[str] = []
        self.conflicts: dict[str, list[str]] = {}

    def _get(self, row: SheetRow, col: int | None) -> Cell:
        if col is None or col >= len(row.cells):
            return None
        return row.cells[col]

    def _number(self, row: SheetRow, cols: _Columns, col: int, what: str) -> _Value:
        value = self._get(row, col)
        x = cell_number(value, what, file=self.file, row=row.number, column=cols.name(col))
        return _Value(x, row.number, cols.name(col), cell_text(value))

    def _check_width(self, row: SheetRow, cols: _Columns, required: list[int]) -> None:
        width = len(cols.names)
        extra = [i for i in range(width, len(row.cells)) if cell_text(row.cells[i]) is not None]
        if self.ragged_check and extra:
            raise InputError(
                self.file,
                f"expected at most {width} fields as in the header, got {len(row.cells)}",
                row=row.number,
                column=extra[0] + 1,
                found=cell_text(row.cells[extra[0]]),
            )
        if self.ragged_check and required and max(required) >= len(row.cells):
            first = min(c for c in required if c >= len(row.cells))
            raise InputError(
                self.file,
                f"expected {width} fields as in the header, got {len(row.cells)}",
                row=row.number,
                column=cols.name(first),
            )

    def _actor_id(self, row: SheetRow, cols: _Columns) -> str:
        text = cell_text(self._get(row, cols.id))
        if text is None:
            raise InputError(
                self.file,
                "expected an actor id, got an empty cell",
                row=row.number,
                column=cols.name(cols.id),
            )
        if not is_id(text):
            raise InputError(
                self.file,
                f"expected an actor id of 1–{ID_MAX} characters on one line",
                row=row.number,
                column=cols.name(cols.id),
                found=text,
            )
        return text

    def parse(self, table: Table, *, default_issue: str, default_source: str) -> _ParsedTable:
        cols = _analyse_header(table.header, self.file)
        notes = list(cols.notes)
        if not table.rows:
            raise InputError(
                self.file,
                "expected data rows below the header, found none",
                row=table.header.number,
            )
        issues: dict[str, str | None] = {}
        if cols.layout == "per-issue":
            if table.title:
                words = re.split(r"[:?]", table.title, maxsplit=1)[0].split()
                if len(words) > 1 and words[0].casefold() in ("the", "a", "an"):
                    words = words[1:]
                key = slugify(" ".join(words), fallback=default_issue, max_words=4)
                issues[key] = table.title
                notes.append(
                    f"one issue, id {key!r}, named after the title in row {table.title_row}"
                )
            else:
                key = default_issue
                issues[key] = None
                notes.append(f"one issue, id {key!r}, named after {default_source}")
        elif cols.layout == "wide":
            for pair in cols.pairs:
                pair.key = unique_id(slugify(pair.label), set(issues))
                issues[pair.key] = pair.label if pair.label != pair.key else None
        entries: dict[str, _Entry] = {}
        seen_pairs: dict[tuple[str, str], int] = {}
        sal_columns: dict[int, list[_Value]] = {}
        orphans: set[int] = set()
        for row in table.rows:
            required = [cols.id, cols.capability]
            if cols.position is not None and cols.salience is not None:
                required += [cols.position, cols.salience]
            self._check_width(row, cols, required)
            orphans.update(
                i
                for i, c in enumerate(row.cells[: len(cols.names)])
                if not cols.names[i] and cell_text(c) is not None
            )
            actor = self._actor_id(row, cols)
            entry = _Entry(
                row=row.number,
                id=actor,
                label=cell_text(self._get(row, cols.label)),
                description=cell_text(self._get(row, cols.description)),
                capability=self._number(row, cols, cols.capability, "a capability (a number > 0)"),
                risk=None,
            )
            if entry.capability.x <= 0:
                raise InputError(
                    self.file,
                    "expected a capability > 0",
                    row=row.number,
                    column=cols.name(cols.capability),
                    found=entry.capability.text,
                )
            if cols.risk is not None and cell_text(self._get(row, cols.risk)) is not None:
                entry.risk = self._number(row, cols, cols.risk, "a risk attitude in [-1, 1]")
                if not -1.0 <= entry.risk.x <= 1.0:
                    raise InputError(
                        self.file,
                        "expected a risk attitude in [-1, 1]",
                        row=row.number,
                        column=cols.name(cols.risk),
                        found=entry.risk.text,
                    )
            stances: list[tuple[str, int, int]] = []
            if cols.layout == "per-issue":
                assert cols.position is not None
                assert cols.salience is not None
                stances.append((next(iter(issues)), cols.position, cols.salience))
            elif cols.layout == "long":
                assert cols.issue is not None
                assert cols.position is not None
                assert cols.salience is not None
                issue = cell_text(self._get(row, cols.issue))
                pos_text = cell_text(self._get(row, cols.position))
                sal_text = cell_text(self._get(row, cols.salience))
                if issue is None and pos_text is None and sal_text is None:
                    pass  # an actor without stances (the long writer emits such rows)
                elif issue is None:
                    raise InputError(
                        self.file,
                        "expected an issue id, got an empty cell",
                        row=row.number,
                        column=cols.name(cols.issue),
                    )
                elif not is_id(issue):
                    raise InputError(
                        self.file,
                        f"expected an issue id of 1–{ID_MAX} characters on one line",
                        row=row.number,
                        column=cols.name(cols.issue),
                        found=issue,
                    )
                else:
                    first = seen_pairs.get((actor, issue))
                    if first is not None:
                        raise InputError(
                            self.file,
                            f"expected one row per actor and issue, but actor {actor!r} already"
                            f" has a row for issue {issue!r} (row {first})",
                            row=row.number,
                            column=cols.name(cols.id),
                        )
                    seen_pairs[(actor, issue)] = row.number
                    issues.setdefault(issue, None)
                    stances.append((issue, cols.position, cols.salience))
            else:
                for pair in cols.pairs:
                    p = cell_text(self._get(row, pair.position))
                    s = cell_text(self._get(row, pair.salience))
                    if p is None and s is None:
                        continue  # no stance on this issue
                    stances.append((pair.key, pair.position, pair.salience))
            for key, pcol, scol in stances:
                pos = self._number(row, cols, pcol, "a position (a number)")
                sal = self._number(row, cols, scol, "a salience (a number in [0, 1] or [0, 100])")
                sal_columns.setdefault(scol, []).append(sal)
                entry.stances[key] = (pos, sal)
            previous = entries.get(actor)
            if previous is None:
                entries[actor] = entry
            elif cols.layout != "long":
                raise InputError(
                    self.file,
                    f"expected each actor once, but {actor!r} is also in row {previous.row}",
                    row=row.number,
                    column=cols.name(cols.id),
                )
            else:
                self._merge_long(previous, entry, cols)
        if orphans:
            notes.append(
                f"values in column(s) {ranges([c + 1 for c in orphans])} without a header ignored"
            )
        return _ParsedTable(entries, issues, list(sal_columns.values()), notes)

    def _merge_long(self, first: _Entry, entry: _Entry, cols: _Columns) -> None:
        """Another row of the same actor in long form: its per-actor values must agree."""
        if entry.capability.x != first.capability.x:
            raise InputError(
                self.file,
                f"expected the same capability for actor {entry.id!r} in every row"
                f" ({first.capability.text} in row {first.row})",
                row=entry.row,
                column=entry.capability.column,
                found=entry.capability.text,
            )
        a, b = first.risk, entry.risk
        if (a is None) != (b is None) or (a is not None and b is not None and a.x != b.x):
            raise InputError(
                self.file,
                f"expected the same risk attitude for actor {entry.id!r} in every row"
                f" ({a.text if a else 'empty'} in row {first.row})",
                row=entry.row,
                column=cols.name(cols.risk) if cols.risk is not None else None,
                found=b.text if b else None,
            )
        for attr in ("label", "description"):
            old, new = getattr(first, attr), getattr(entry, attr)
            if old is None:
                setattr(first, attr, new)
            elif new is not None and new != old:
                self.notes.append(
                    f"{attr} of actor {entry.id!r} differs between rows {first.row} and"
                    f" {entry.row}; the first is used"
                )
        first.stances.update(entry.stances)

    # -- from tables to a scenario ---------------------------------------------

    def salience_divisor(self, values: list[_Value]) -> float:
        """1 for a column of fractions, 100 for one on 0–100 (noted); mixed scales are errors."""
        for v in values:
            if not 0.0 <= v.x <= 100.0:
                raise InputError(
                    self.file,
                    "expected a salience in [0, 1] or [0, 100]",
                    row=v.row,
                    column=v.column,
                    found=v.text,
                )
        if all(v.x <= 1.0 for v in values):
            return 1.0
        fraction = next((v for v in values if 0.0 < v.x < 1.0), None)
        if fraction is not None:
            big = next(v for v in values if v.x > 1.0)
            raise InputError(
                self.file,
                f"expected a salience in [0, 1] like row {fraction.row}'s {fraction.text}"
                " (this column mixes values below and above 1; use one scale: 0–1 or 0–100)",
                row=big.row,
                column=big.column,
                found=big.text,
            )
        rows = ranges([v.row for v in values])
        column = values[0].column
        self.notes.append(
            f"salience read on a 0–100 scale and divided by 100 (column {column!r}, rows {rows})"
        )
        # Divide (not multiply by 0.01) so that 70 gives 0.7 exactly as 70/100 does elsewhere.
        return 100.0

    def scenario(self, tables: list[_ParsedTable], *, name: str, issue: str | None) -> Scenario:
        """Merge the tables' entries into one scenario (first value wins across tables)."""
        issue_ids: dict[tuple[int, str], str] = {}
        labels: dict[str, str | None] = {}
        for t, table in enumerate(tables):
            for key, label in table.issues.items():
                iid = unique_id(key, set(labels))
                issue_ids[(t, key)] = iid
                labels[iid] = label
        if not labels:
            raise InputError(
                self.file, "expected at least one row with an issue, a position and a salience"
            )
        if issue is not None:
            if len(labels) != 1:
                raise InputError(
                    self.file,
                    f"expected one issue for issue={issue!r}, but the table has {len(labels)}"
                    f" ({', '.join(labels)})",
                )
            if not is_id(issue):
                raise InputError(
                    self.file, f"expected an issue id of 1–{ID_MAX} characters", found=issue
                )
            old = next(iter(labels))
            labels = {issue: labels[old]}
            issue_ids = {k: issue for k in issue_ids}
        divisors: dict[int, float] = {}
        for table in tables:
            for column in table.salience_columns:
                d = self.salience_divisor(column)
                for v in column:
                    divisors[id(v)] = d
        positions: dict[str, list[_Value]] = {iid: [] for iid in labels}
        merged: dict[str, _Entry] = {}
        stances: dict[str, dict[str, tuple[float, float]]] = {}
        for t, table in enumerate(tables):
            for entry in table.entries.values():
                first = merged.get(entry.id)
                if first is None:
                    merged[entry.id] = first = entry
                    stances[entry.id] = {}
                elif first is not entry:
                    self._merge_tables(first, entry)
                for key, (pos, sal) in entry.stances.items():
                    iid = issue_ids[(t, key)]
                    positions[iid].append(pos)
                    stances[entry.id][iid] = (pos.x, sal.x / divisors[id(sal)])
        self._conflict_notes()
        try:
            scales = {iid: self._scale(iid, values) for iid, values in positions.items()}
            return Scenario(
                name=name,
                issues=[
                    Issue(id=iid, label=label, scale=scales[iid]) for iid, label in labels.items()
                ],
                actors=[
                    Actor(
                        id=e.id,
                        label=e.label,
                        description=e.description,
                        capability=Estimate(value=e.capability.x),
                        risk=e.risk.x if e.risk else None,
                        stances={
                            iid: Stance(position=Estimate(value=p), salience=Estimate(value=s))
                            for iid, (p, s) in stances[e.id].items()
                        },
                    )
                    for e in merged.values()
                ],
            )
        except ValidationError as exc:  # the checks above should leave nothing; keep it one line
            first_error = exc.errors()[0]
            raise InputError(
                self.file, f"expected a valid scenario: {first_error['msg']}"
            ) from None

    def _merge_tables(self, first: _Entry, entry: _Entry) -> None:
        """The same actor in a later table: its stances join; differing values are collected
        for one note each (see :meth:`_conflict_notes`)."""
        if entry.capability.x != first.capability.x:
            self.conflicts.setdefault("capability", []).append(
                f"{entry.id} ({first.capability.text} in row {first.row},"
                f" {entry.capability.text} in row {entry.row})"
            )
        if entry.risk is not None:
            if first.risk is None:
                first.risk = entry.risk
            elif first.risk.x != entry.risk.x:
                self.conflicts.setdefault("risk attitude", []).append(
                    f"{entry.id} (rows {first.row}, {entry.row})"
                )
        for attr in ("label", "description"):
            old, new = getattr(first, attr), getattr(entry, attr)
            if old is None:
                setattr(first, attr, new)
            elif new is not None and new != old:
                self.conflicts.setdefault(attr, []).append(
                    f"{entry.id} (rows {first.row}, {entry.row})"
                )

    def _conflict_notes(self) -> None:
        for what, items in self.conflicts.items():
            self.notes.append(
                f"{what} differs between tables for {len(items)} actor(s): {', '.join(items)};"
                " the first table's is used"
            )

    def _scale(self, iid: str, values: list[_Value]) -> Scale:
        if self.scale is not None:
            lo, hi = self.scale
            for v in values:
                if not lo <= v.x <= hi:
                    raise InputError(
                        self.file,
                        f"expected a position on the scale [{format_number(lo)},"
                        f" {format_number(hi)}] given by --scale",
                        row=v.row,
                        column=v.column,
                        found=v.text if v.text is not None else format_number(v.x),
                    )
            self.notes.append(
                f"issue {iid!r}: positions read on [{format_number(lo)}, {format_number(hi)}]"
                " (--scale)"
            )
            return Scale(min=lo, max=hi)
        if all(0.0 <= v.x <= 100.0 for v in values):
            top = max(v.x for v in values)
            if 0.0 < top <= 10.0:
                self.notes.append(
                    f"issue {iid!r}: positions lie within 0–{format_number(top)} but are read"
                    " on 0–100; give --scale MIN:MAX (e.g. 0:10) if that is not their scale"
                )
            return Scale()
        lo, hi = min(v.x for v in values), max(v.x for v in values)
        if lo == hi:
            # One distinct position: any scale holding it would do; keep it symmetric.
            pad = max(1.0, abs(lo))
            lo, hi = lo - pad, hi + pad
            if not (math.isfinite(lo) and math.isfinite(hi)):  # near the float limits
                lo = math.nextafter(values[0].x, -math.inf)
                hi = math.nextafter(values[0].x, math.inf)
        self.notes.append(
            f"issue {iid!r}: positions lie outside 0–100, so its scale is taken as"
            f" [{format_number(lo)}, {format_number(hi)}] from the data (--scale MIN:MAX"
            " sets it, and refuses a position outside it, such as a typo)"
        )
        return Scale(min=lo, max=hi)


# -- entry points ---------------------------------------------------------------


def split_tables(rows: Sequence[SheetRow]) -> tuple[list[Table], list[int]]:
    """The tables of a sheet (see the module docstring) and the non-blank rows outside them."""
    tables: list[Table] = []
    pending: list[SheetRow] = []
    skipped: list[int] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        i += 1
        if row.blank:
            continue
        if not is_header(row):
            pending.append(row)
            continue
        title, title_row = None, None
        if pending and any(isinstance(c, str) and cell_text(c) for c in pending[-1].cells):
            texts = [cell_text(c) for c in pending[-1].cells]
            title, title_row = " ".join(t for t in texts if t), pending.pop().number
        skipped.extend(r.number for r in pending)
        pending = []
        data: list[SheetRow] = []
        while i < len(rows):
            nxt = rows[i]
            if nxt.blank:
                if data:
                    break
                i += 1
                continue
            if is_header(nxt):
                break
            data.append(nxt)
            i += 1
        tables.append(Table(header=row, rows=data, title=title, title_row=title_row))
    skipped.extend(r.number for r in pending)
    return tables, skipped


def first_table(rows: Sequence[SheetRow]) -> Table | None:
    """The plain reading of a CSV file: the first non-blank row is the header, the rest data."""
    filled = [r for r in rows if not r.blank]
    if not filled:
        return None
    return Table(header=filled[0], rows=filled[1:])


def read_tables(
    tables: Iterable[Table],
    *,
    file: str,
    name: str,
    issue: str | None,
    default_issue: str,
    default_source: str,
    ragged_check: bool,
    scale: tuple[float, float] | None = None,
) -> tuple[Scenario, list[str]]:
    """The scenario held by ``tables`` and the notes on how it was read; ``scale`` sets every
    issue's scale instead of inferring it (positions outside it are errors)."""
    reader = _Reader(file, ragged_check=ragged_check, scale=scale)
    parsed: list[_ParsedTable] = []
    notes: list[str] = []
    for table in tables:
        p = reader.parse(table, default_issue=default_issue, default_source=default_source)
        parsed.append(p)
        notes.extend(n for n in p.notes if n not in notes)
    if issue is not None:
        notes = [n for n in notes if not n.startswith("one issue, id ")]
    scenario = reader.scenario(parsed, name=name, issue=issue)
    notes.extend(n for n in reader.notes if n not in notes)
    return scenario, notes


# -- the long form, as written ------------------------------------------------------


def long_rows(scenario: Scenario) -> list[list[str | float | None]]:
    """Header and rows of the long form: one row per actor and issue.

    Columns ``actor, issue, capability, position, salience``, then ``risk``, ``label`` and
    ``description`` when any actor has one. An actor without stances gets one row with the
    issue, position and salience empty, so that it survives the round trip.
    """
    extra = [
        col
        for col in ("risk", "label", "description")
        if any(getattr(a, col) is not None for a in scenario.actors)
    ]
    out: list[list[str | float | None]] = [
        ["actor", "issue", "capability", "position", "salience", *extra]
    ]
    order = [i.id for i in scenario.issues]
    for actor in scenario.actors:
        tail = [getattr(actor, col) for col in extra]
        cap = actor.capability.value
        keys = [k for k in order if k in actor.stances]
        if not keys:
            out.append([actor.id, None, cap, None, None, *tail])
        for key in keys:
            st = actor.stances[key]
            out.append([actor.id, key, cap, st.position.value, st.salience.value, *tail])
    return out
