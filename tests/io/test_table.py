"""The shared table logic, on rows of cells as both CSV and XLSX deliver them."""

from __future__ import annotations

import pytest

from detente.errors import InputError
from detente.io.table import SheetRow, Table, is_header, read_tables, split_tables


def rows(*cells: tuple[object, ...], start: int = 1) -> list[SheetRow]:
    return [SheetRow(start + i, c) for i, c in enumerate(cells)]


def read(*tables: Table, issue: str | None = None) -> tuple[object, list[str]]:
    return read_tables(
        list(tables),
        file="f",
        name="n",
        issue=issue,
        default_issue="sheet",
        default_source="the sheet",
        ragged_check=False,
    )


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (("Actor", "Legend", "Group", "Position", "Influence"), True),
        (("Player", "Policy Position, X"), True),
        (("Party", "PolicyPosition"), True),
        (("actor", "Opposition"), False),
        (("The", "Policy", "space:"), False),
        (("Actor", "Power"), False),
        (("Code", "stance"), True),
        ((1, "position"), False),
    ],
)
def test_header_detection(cells: tuple[object, ...], expected: bool) -> None:
    assert is_header(SheetRow(1, cells)) is expected


def test_split_tables_titles_blank_rows_and_leftovers() -> None:
    sheet = rows(
        ("The", "Policy", "space:", "what", "now?"),
        (),
        ("Actor", "Code", "Position", "Influence", "Salience"),
        (None, None),
        ("Xi", "XJ", 30, 100, 30),
        ("Li", "LK", 45, 65, 65),
        (),
        ("a note",),
        ("A second title: more",),
        ("Actor", "Code", "Position", "Influence", "Salience"),
        ("Xi", "XJ", 20, 100, 60),
        (),
        (None, 0.5, 7),
    )
    tables, skipped = split_tables(sheet)
    assert [t.header.number for t in tables] == [3, 10]
    assert [[r.number for r in t.rows] for t in tables] == [[5, 6], [11]]
    assert [t.title for t in tables] == ["The Policy space: what now?", "A second title: more"]
    assert skipped == [8, 13]
    sc, _ = read(*tables)
    assert [i.id for i in sc.issues] == ["policy-space", "second-title"]  # type: ignore[attr-defined]


def test_title_slug_rule() -> None:
    def issue_id(title: str) -> str:
        table = Table(
            rows(("actor", "capability", "position", "salience"))[0],
            rows(("A", 1, 2, 0.5), start=2),
            title,
        )
        sc, _ = read(table)
        return sc.issues[0].id  # type: ignore[attr-defined, no-any-return]

    assert issue_id("The Policy space: what is it?") == "policy-space"
    assert issue_id("An Issue With Very Many Words In It") == "issue-with-very-many"
    assert issue_id("Is it? Yes") == "is-it"
    assert issue_id("Ölpreis 2025") == "ölpreis-2025"
    assert issue_id("???") == "sheet"


def test_salience_scale_detection() -> None:
    header = SheetRow(1, ("actor", "capability", "position", "salience"))

    def saliences(*values: object) -> list[float]:
        data = rows(*[(f"a{i}", 1, 50, v) for i, v in enumerate(values)], start=2)
        sc, _ = read(Table(header, data))
        return [a.stances["sheet"].salience.value for a in sc.actors]  # type: ignore[attr-defined]

    assert saliences(0, 0.5, 1) == [0.0, 0.5, 1.0]
    assert saliences(0, 1, 50, 100) == [0.0, 0.01, 0.5, 1.0]
    with pytest.raises(InputError, match="mixes values below and above 1") as info:
        saliences(0.5, 0.9, 2)
    assert (info.value.row, info.value.column) == (4, "salience")


def test_numbers_from_cells() -> None:
    header = SheetRow(1, ("actor", "capability", "position", "salience"))
    data = rows(("A", "1e2", " \u221250 ", "0.5"), (7, 2.0, 50, 1), start=2)
    sc, _ = read(Table(header, data))
    actors = sc.actors  # type: ignore[attr-defined]
    assert [a.id for a in actors] == ["A", "7"]
    assert actors[0].capability.value == 100.0
    assert actors[0].stances["sheet"].position.value == -50.0


def test_long_form_capability_must_agree_within_a_table() -> None:
    header = SheetRow(1, ("actor", "issue", "capability", "position", "salience"))
    data = rows(("A", "x", 1, 5, 0.5), ("A", "y", 1.5, 5, 0.5), start=2)
    with pytest.raises(InputError) as info:
        read(Table(header, data))
    assert (info.value.row, info.value.column) == (3, "capability")
    assert "(1 in row 2)" in info.value.message


def test_issue_keyword_renames_the_single_issue() -> None:
    header = SheetRow(1, ("actor", "capability", "position", "salience"))
    sc, notes = read(Table(header, rows(("A", 1, 2, 0.5), start=2)), issue="aid")
    assert [i.id for i in sc.issues] == ["aid"]  # type: ignore[attr-defined]
    assert not any(n.startswith("one issue") for n in notes)
    with pytest.raises(InputError, match="expected an issue id"):
        read(Table(header, rows(("A", 1, 2, 0.5), start=2)), issue=" bad ")
