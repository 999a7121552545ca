"""The DEU layout: EU legislative issues with actors' positions, saliences and the outcome.

Reads the tab-separated file of the DEU III dataset (Arregui & Perarnaud 2022, "A new dataset
on legislative decision-making in the European Union: the DEU III dataset", Journal of
European Public Policy 29(1); data doi:10.34810/data53, CC BY 4.0) in the layout of the public
``deu3.csv`` of github.com/blksv/predictioneers_game:

* a header row: proposal and issue ids and names, ``type``, ``council``, ``proc`` (COD, CNS),
  ``counvte`` (QMV, Unan), ``issues``, ``intro`` (introduction date, dd-mm-yy), ``finact``,
  then ``p<actor>`` positions (0–100) and ``s<actor>`` saliences (0–100) of the Commission
  (``com``), the Parliament (``ep``) and the member states, then ``rp`` (reference point, the
  status quo) and ``out`` (the outcome);
* an optional second row without ids whose position columns hold a capability per actor (in
  the public file: GDP-based weights);
* one row per issue. An empty cell or ``999`` is missing: an actor without a position took no
  part in the issue; a position without a salience counts with salience 0 (this reproduces the
  independent check of the shared README: compromise-model MAE 24.0).

Errors are :class:`~detente.errors.InputError`: file, row (1-based, the header is row 1),
column name, what was expected and what was found.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from detente.errors import InputError
from detente.io.common import decode_text, read_bytes
from detente.scenario import Scenario

MISSING = ("", "999")
"""Cell texts that mean "no value"."""

REQUIRED = ("prnr", "isnr", "proc", "counvte", "intro", "rp", "out")
"""Columns a DEU file must have (besides at least two actors' ``p``/``s`` pairs)."""

PROCEDURES = ("COD", "CNS")
COUNCIL_VOTES = ("QMV", "Unan")


@dataclass(frozen=True)
class DeuIssue:
    """One issue of one proposal.

    ``positions`` and ``saliences`` (0–1) hold the actors that took part (a position given);
    ``reference`` is the status quo and ``outcome`` the decision, both on 0–100 (None where
    missing). ``row`` is the file row, for messages.
    """

    proposal: str
    proposal_name: str
    issue: str
    procedure: str
    council_vote: str
    introduced: date
    positions: Mapping[str, float]
    saliences: Mapping[str, float]
    reference: float | None
    outcome: float | None
    row: int


@dataclass(frozen=True)
class DeuDataset:
    """A DEU file: its actors (in column order), the second row's capabilities (if any) and
    its issues."""

    path: str
    actors: tuple[str, ...]
    capability_row: Mapping[str, float] = field(default_factory=dict)
    issues: tuple[DeuIssue, ...] = ()

    @property
    def with_outcome(self) -> tuple[DeuIssue, ...]:
        """The issues whose outcome is known."""
        return tuple(i for i in self.issues if i.outcome is not None)

    def scenario(self, issue: DeuIssue, capability: Mapping[str, float]) -> Scenario:
        """One issue as a one-issue scenario on 0–100 (actors that took part, in file order).

        ``capability`` maps actor codes to capabilities (> 0); an actor it lacks or gives 0 is
        left out, with the others' weights unchanged. The file's reference point (``rp``),
        where given, is the issue's reference point.
        """
        actors = [
            {
                "id": a,
                "capability": capability[a],
                "stances": {"x": {"position": issue.positions[a], "salience": issue.saliences[a]}},
            }
            for a in self.actors
            if a in issue.positions and capability.get(a, 0.0) > 0.0
        ]
        return Scenario.model_validate(
            {
                "name": _ident(issue.issue),
                "issues": [{"id": "x", "reference": issue.reference}],
                "actors": actors,
            }
        )

    def proposal_scenario(
        self, issues: Sequence[DeuIssue], capability: Mapping[str, float]
    ) -> Scenario:
        """Several issues (of one proposal) as one scenario on 0–100, issue ids ``x0``,
        ``x1``, … in the order given, each with its reference point where the file gives one.

        An actor takes part if it has a position on one of the issues; where it has none it
        has no stance. ``capability`` as for :meth:`scenario`.
        """
        actors = []
        for a in self.actors:
            if capability.get(a, 0.0) <= 0.0:
                continue
            stances = {
                f"x{k}": {"position": i.positions[a], "salience": i.saliences[a]}
                for k, i in enumerate(issues)
                if a in i.positions
            }
            if stances:
                actors.append({"id": a, "capability": capability[a], "stances": stances})
        return Scenario.model_validate(
            {
                "name": _ident(issues[0].proposal),
                "issues": [{"id": f"x{k}", "reference": i.reference} for k, i in enumerate(issues)],
                "actors": actors,
            }
        )


def _ident(text: str) -> str:
    cleaned = "-".join(text.split()) or "issue"
    return cleaned[:80]


def read_deu(path: str | Path, data: bytes | None = None) -> DeuDataset:
    """Read a DEU file (see the module docstring); ``data`` instead of reading ``path``."""
    name = str(path)
    raw = read_bytes(Path(path)) if data is None else data
    text = decode_text(raw, name)
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not rows:
        raise InputError(name, "expected a header row of DEU columns, got an empty file")
    header = [h.strip() for h in rows[0]]
    col = {h: i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c not in col]
    if missing:
        raise InputError(
            name, f"expected the DEU columns {', '.join(REQUIRED)}", row=1, found=", ".join(missing)
        )
    actors = tuple(h[1:] for h in header if h.startswith("p") and len(h) > 1 and f"s{h[1:]}" in col)
    if len(actors) < 2:
        raise InputError(
            name, "expected p<actor> and s<actor> columns for two actors or more", row=1
        )
    body = rows[1:]
    capability: dict[str, float] = {}
    first = 2
    if body and _is_capability_row(body[0], col):
        capability = _capability_row(name, body[0], col, actors)
        body, first = body[1:], 3
    issues: list[DeuIssue] = []
    seen: set[str] = set()
    for offset, cells in enumerate(body):
        r = first + offset
        if not any(c.strip() for c in cells):
            continue
        issue = _issue(name, r, cells, col, actors)
        if issue.issue in seen:
            raise InputError(
                name, "expected distinct issue ids", row=r, column="isnr", found=issue.issue
            )
        seen.add(issue.issue)
        issues.append(issue)
    if not issues:
        raise InputError(name, "expected at least one issue row")
    return DeuDataset(name, actors, capability, tuple(issues))


def _is_capability_row(cells: Sequence[str], col: Mapping[str, int]) -> bool:
    """The second row without proposal and issue ids holds capabilities."""
    ids = [cells[col[k]].strip() if col[k] < len(cells) else "" for k in ("prnr", "isnr")]
    return not any(ids)


def _cell(name: str, r: int, cells: Sequence[str], col: Mapping[str, int], key: str) -> str:
    i = col[key]
    if i >= len(cells):
        raise InputError(
            name, f"expected {len(col)} columns", row=r, column=key, found=f"{len(cells)}"
        )
    return cells[i].strip()


def _number(
    name: str, r: int, cells: Sequence[str], col: Mapping[str, int], key: str, top: float
) -> float | None:
    text = _cell(name, r, cells, col, key)
    if text in MISSING:
        return None
    try:
        value = float(text) if len(text) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.0 <= value <= top):
        raise InputError(
            name, f"expected a number in [0, {top:g}], empty or 999", row=r, column=key, found=text
        )
    return value


def _capability_row(
    name: str, cells: Sequence[str], col: Mapping[str, int], actors: Sequence[str]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for a in actors:
        value = _number(name, 2, cells, col, f"p{a}", 1e15)
        if value is not None:
            out[a] = value
    return out


def _date(name: str, r: int, text: str) -> date:
    """``dd-mm-yy`` (yy < 50: 20yy), ``dd-mm-yyyy``, or ``yyyy-mm-dd`` as the public file has
    it: there it is a ``dd-mm-yy`` date that a spreadsheet read as ``yy-mm-dd`` (``2014-07-04``
    of proposal a04163 is 14 July 2004; ``1930-05-01``, 30 May 2001), and is read back so."""
    parts = text.split("-")
    try:
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError(text)
        a, b, c = (int(p) for p in parts)
        if len(parts[0]) == 4:
            a %= 100  # the day, read as a year
        year = c if len(parts[2]) == 4 else c + (1900 if c >= 50 else 2000)
        return date(year, b, a)
    except ValueError:
        raise InputError(
            name,
            "expected a date dd-mm-yy, dd-mm-yyyy or yyyy-mm-dd",
            row=r,
            column="intro",
            found=text,
        ) from None


def _issue(
    name: str, r: int, cells: Sequence[str], col: Mapping[str, int], actors: Sequence[str]
) -> DeuIssue:
    proposal = _cell(name, r, cells, col, "prnr")
    issue_id = _cell(name, r, cells, col, "isnr")
    if not proposal or not issue_id:
        raise InputError(
            name,
            "expected a proposal and an issue id",
            row=r,
            column="prnr" if not proposal else "isnr",
        )
    procedure = _cell(name, r, cells, col, "proc")
    if procedure not in PROCEDURES:
        raise InputError(
            name, f"expected one of {', '.join(PROCEDURES)}", row=r, column="proc", found=procedure
        )
    vote = _cell(name, r, cells, col, "counvte")
    if vote not in COUNCIL_VOTES:
        raise InputError(
            name, f"expected one of {', '.join(COUNCIL_VOTES)}", row=r, column="counvte", found=vote
        )
    positions: dict[str, float] = {}
    saliences: dict[str, float] = {}
    for a in actors:
        p = _number(name, r, cells, col, f"p{a}", 100.0)
        s = _number(name, r, cells, col, f"s{a}", 100.0)
        if p is not None:
            positions[a] = p
            saliences[a] = 0.0 if s is None else s / 100.0
    return DeuIssue(
        proposal=proposal,
        proposal_name=_cell(name, r, cells, col, "prname") if "prname" in col else "",
        issue=issue_id,
        procedure=procedure,
        council_vote=vote,
        introduced=_date(name, r, _cell(name, r, cells, col, "intro")),
        positions=positions,
        saliences=saliences,
        reference=_number(name, r, cells, col, "rp", 100.0),
        outcome=_number(name, r, cells, col, "out", 100.0),
        row=r,
    )
