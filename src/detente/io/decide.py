"""The input format of the decide-exchange-model program: ``#A``, ``#P``, ``#M`` and ``#D`` rows.

Each row starts with an identifier (the program's ``inputfiles.md``):

* ``#A key [name [comment]]``: an actor;
* ``#P key [name [comment]]``: an issue;
* ``#M issue position [description]``: a labelled point of an issue's scale; the lowest and
  highest points are the scale's ends (0–100 where an issue has none);
* ``#D actor issue position salience power``: a stance (salience and power in [0, 1]);
* ``#0`` and ``#/``: comments. Blank lines are skipped.

Fields are separated by tabs, semicolons or commas (the first row decides) and may be wrapped
in single or double quotes, as the program's sample files are. detente has one capability per
actor, so an actor's power must be the same on every issue it has a stance on.

Errors are :class:`~detente.errors.InputError` naming the file, the row (every line counts,
as in a text editor), the field and what was expected.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from detente.errors import InputError
from detente.io.common import format_number, is_id
from detente.scenario import Scenario

KINDS = ("#A", "#P", "#M", "#D", "#0", "#/")
"""Row identifiers of the format."""

_D_FIELDS = ("identifier", "actor", "issue", "position", "salience", "power")


def _unquote(cell: str) -> str:
    text = cell.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text


def _delimiter(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return next((d for d in ("\t", ";", ",") if d in line), "\t")
    return "\t"


def looks_like_decide(text: str) -> bool:
    """Whether the first non-blank row of ``text`` starts with one of :data:`KINDS`."""
    for line in text.splitlines()[:50]:
        if line.strip():
            first = _unquote(line.replace(";", "\t").replace(",", "\t").split("\t")[0])
            return first.upper() in KINDS
    return False


def _rows(text: str, file: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), quotechar="\x00")
    out = []
    try:
        for record in reader:
            if any(c.strip() for c in record):
                out.append((reader.line_num, [_unquote(c) for c in record]))
    except csv.Error as exc:
        raise InputError(file, f"expected delimited text: {exc}", row=reader.line_num) from None
    return out


def _number(file: str, row: int, cells: list[str], k: int, what: str) -> float:
    text = cells[k] if k < len(cells) else ""
    try:
        value = float(text) if len(text) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(file, f"expected {what}", row=row, column=_D_FIELDS[k], found=text)
    return value


def _key(file: str, row: int, cells: list[str], k: int, what: str) -> str:
    text = cells[k] if k < len(cells) else ""
    if not is_id(text):
        raise InputError(
            file,
            f"expected {what}: 1–80 characters, no white space at either end",
            row=row,
            column=k + 1,
            column_kind="field",
            found=text,
        )
    return text


def read_decide(path: Path | str, text: str) -> tuple[Scenario, list[str]]:
    """A decide-exchange-model input file as a scenario and notes (see the module docstring)."""
    file = str(path)
    actors: dict[str, dict[str, object]] = {}
    issues: dict[str, dict[str, object]] = {}
    points: dict[str, list[tuple[float, str, int]]] = {}
    stances: list[tuple[int, str, str, float, float, float]] = []
    for row, cells in _rows(text, file):
        kind = cells[0].upper()
        if kind not in KINDS:
            raise InputError(
                file,
                f"expected a row starting with one of {', '.join(KINDS)}",
                row=row,
                column=1,
                column_kind="field",
                found=cells[0],
            )
        if kind in ("#0", "#/"):
            continue
        if kind in ("#A", "#P"):
            what = "an actor key" if kind == "#A" else "an issue key"
            key = _key(file, row, cells, 1, what)
            table = actors if kind == "#A" else issues
            if key in table:
                raise InputError(
                    file, f"expected distinct {kind} keys", row=row, column=2,
                    column_kind="field", found=key,
                )  # fmt: skip
            name = cells[2] if len(cells) > 2 else ""
            comment = cells[3] if len(cells) > 3 else ""
            table[key] = {"id": key, "name": name, "comment": comment, "row": row}
        elif kind == "#M":
            issue = _key(file, row, cells, 1, "an issue key")
            value = _number(file, row, cells, 2, "a position (a number)")
            label = cells[3] if len(cells) > 3 else ""
            points.setdefault(issue, []).append((value, label, row))
        else:
            actor = _key(file, row, cells, 1, "an actor key")
            issue = _key(file, row, cells, 2, "an issue key")
            x = _number(file, row, cells, 3, "a position (a number)")
            s = _number(file, row, cells, 4, "a salience in [0, 1]")
            c = _number(file, row, cells, 5, "a power in (0, 1]")
            if not 0.0 <= s <= 1.0:
                raise InputError(
                    file, "expected a salience in [0, 1]", row=row, column="salience", found=s
                )
            if not c > 0.0:
                raise InputError(
                    file, "expected a power greater than 0", row=row, column="power", found=c
                )
            stances.append((row, actor, issue, x, s, c))
    if not actors or not issues:
        raise InputError(file, "expected #A rows (actors) and #P rows (issues)")
    notes: list[str] = []
    scales: dict[str, tuple[float, float]] = {}
    for key, info in issues.items():
        pts = sorted(points.get(key, []))
        if not pts:
            scales[key] = (0.0, 100.0)
            continue
        low, high = pts[0], pts[-1]
        if high[0] <= low[0]:
            raise InputError(
                file,
                f"expected #M points spanning a scale for issue {key!r} (two different"
                " positions, or none for 0–100)",
                row=low[2],
            )
        scales[key] = (low[0], high[0])
        info["min_label"], info["max_label"] = low[1] or None, high[1] or None
        inner = [p for p in pts[1:-1] if p[1]]
        if inner:
            notes.append(
                f"issue {key!r}: the descriptions of {len(inner)} inner #M point(s) are not kept"
                " (detente labels the scale's two ends)"
            )
    for issue in points:
        if issue not in issues:
            raise InputError(
                file,
                f"expected #M rows for a #P issue ({', '.join(issues)})",
                row=points[issue][0][2],
                column=2,
                column_kind="field",
                found=issue,
            )
    power: dict[str, tuple[float, str, int]] = {}
    seen: set[tuple[str, str]] = set()
    by_actor: dict[str, dict[str, dict[str, float]]] = {a: {} for a in actors}
    for row, actor, issue, x, s, c in stances:
        if actor not in actors:
            raise InputError(
                file, f"expected an actor defined by #A ({', '.join(actors)})", row=row,
                column="actor", found=actor,
            )  # fmt: skip
        if issue not in issues:
            raise InputError(
                file, f"expected an issue defined by #P ({', '.join(issues)})", row=row,
                column="issue", found=issue,
            )  # fmt: skip
        if (actor, issue) in seen:
            raise InputError(
                file, f"expected one #D row for actor {actor!r} on issue {issue!r}", row=row
            )
        seen.add((actor, issue))
        lo, hi = scales[issue]
        if not lo <= x <= hi:
            raise InputError(
                file,
                f"expected a position within the scale of {issue!r} [{lo:g}, {hi:g}]",
                row=row,
                column="position",
                found=x,
            )
        first = power.setdefault(actor, (c, issue, row))
        if c != first[0]:
            raise InputError(
                file,
                f"expected the power of {actor!r} on {first[1]!r} (row {first[2]}),"
                f" {format_number(first[0])}: detente gives an actor one capability",
                row=row,
                column="power",
                found=c,
            )
        by_actor[actor][issue] = {"position": x, "salience": s}
    missing = [a for a in actors if a not in power]
    if missing:
        raise InputError(
            file,
            f"expected #D rows for every actor; none for {', '.join(missing)}",
            row=int(str(actors[missing[0]]["row"])),
        )
    data = {
        "name": _name(Path(file)),
        "issues": [
            {
                "id": key,
                **({"label": info["name"]} if info["name"] and info["name"] != key else {}),
                **({"description": info["comment"]} if info["comment"] else {}),
                "scale": {
                    "min": scales[key][0],
                    "max": scales[key][1],
                    "min_label": info.get("min_label"),
                    "max_label": info.get("max_label"),
                },
            }
            for key, info in issues.items()
        ],
        "actors": [
            {
                "id": key,
                **({"label": info["name"]} if info["name"] and info["name"] != key else {}),
                **({"description": info["comment"]} if info["comment"] else {}),
                "capability": power[key][0],
                "stances": by_actor[key],
            }
            for key, info in actors.items()
        ],
    }
    try:
        return Scenario.model_validate(data), notes
    except ValueError as exc:  # e.g. a capability outside detente's bounds
        lines = str(exc).splitlines()
        raise InputError(file, f"expected a valid scenario: {lines[-1].strip()}") from None


def _name(path: Path) -> str:
    name = path.stem.strip()[:80].strip()
    return name or "scenario"


def _field(text: str) -> str:
    return "'" + text.replace("'", "’").replace("\t", " ").replace("\n", " ") + "'"


def write_decide(scenario: Scenario, file: str) -> bytes:
    """The scenario as a decide-exchange-model input file: tab-separated, quoted as the
    program's own sample files (ids, names, comments, scales, stances and capabilities)."""
    lines: list[list[str]] = []
    for a in scenario.actors:
        lines.append(["'#A'", _field(a.id), _field(a.label or a.id), _field(a.description or "")])
    for i in scenario.issues:
        lines.append(["'#P'", _field(i.id), _field(i.label or i.id), _field(i.description or "")])
        for value, label in ((i.scale.min, i.scale.min_label), (i.scale.max, i.scale.max_label)):
            row = ["'#M'", _field(i.id), format_number(value)]
            lines.append([*row, _field(label)] if label else row)
    for a in scenario.actors:
        for i in scenario.issues:
            stance = a.stances.get(i.id)
            if stance is not None:
                x, s = stance.position.value, stance.salience.value
                lines.append(
                    ["'#D'", _field(a.id), _field(i.id), format_number(x), format_number(s),
                     format_number(a.capability.value)]
                )  # fmt: skip
    return "".join("\t".join(line) + "\n" for line in lines).encode("utf-8")
