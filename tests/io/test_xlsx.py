"""Excel workbooks: KTAB's SOE workbook sheet by sheet, several tables per sheet, writing."""

from __future__ import annotations

import io as _io
from pathlib import Path

import openpyxl
import pytest

from detente import io
from detente.errors import InputError
from detente.scenario import Actor, Estimate, Issue, Scenario, Stance
from tests.conftest import shared_path

BOOK = ("reference", "ktab", "inputs", "SOE-data-from-paper.xlsx")


def book() -> Path:
    return shared_path(*BOOK)


def ktab(name: str) -> Scenario:
    return io.read(shared_path("reference", "ktab", "inputs", name))


def numbers(sc: Scenario, issue: str) -> dict[str, tuple[float, float, float]]:
    """Per actor with a stance on ``issue``: capability, position, salience."""
    return {
        a.id: (a.capability.value, a.stances[issue].position.value, a.stances[issue].salience.value)
        for a in sc.actors
        if issue in a.stances
    }


@pytest.mark.parametrize(
    ("sheet", "issue", "csv_name", "csv_issue"),
    [
        ("Policy", "policy", "SOE-Policy.csv", "Policy Position"),
        ("Competitive", "competitive", "SOE-Competitive.csv", "Competitive Position"),
    ],
)
def test_sheets_equal_ktab_csv_files(sheet: str, issue: str, csv_name: str, csv_issue: str) -> None:
    loaded = io.load(book(), sheet=sheet)
    sc, ref = loaded.scenario, ktab(csv_name)
    assert [i.id for i in sc.issues] == [issue]
    assert list(numbers(sc, issue).items()) == list(numbers(ref, csv_issue).items())
    # Descriptions agree too, except that the workbook holds two en dashes as mojibake.
    diff = {
        a.id: (a.description, b.description)
        for a, b in zip(sc.actors, ref.actors, strict=True)
        if a.description != b.description
    }
    if sheet == "Policy":
        assert set(diff) == {"LH", "XS"}
        assert all("â€“" in got and " - " in want for got, want in diff.values())
    else:
        assert diff == {}


def test_default_sheet_has_two_titled_tables() -> None:
    loaded = io.load(book())
    sc = loaded.scenario
    assert [i.id for i in sc.issues] == ["policy-space", "competitive-dimension"]
    assert sc.issues[0].label is not None
    assert sc.issues[0].label.startswith("The Policy space: what is the appetite")
    assert sc.issues[1].label is not None
    assert sc.issues[1].label.endswith("oil and gas sector in China?")
    actors = {a.id: a for a in sc.actors}
    assert actors["XJ"].label == "Xi Jinping"  # ids from 'Legend', labels from 'Actor'
    assert "competitive-dimension" not in actors["COG"].stances  # only in the policy table
    assert "policy-space" not in actors["WQ"].stances  # only in the competitive table
    policy = numbers(sc, "policy-space")
    assert policy == numbers(ktab("SOE-Policy.csv"), "Policy Position")
    comp = numbers(sc, "competitive-dimension")
    ref = numbers(ktab("SOE-Competitive.csv"), "Competitive Position")
    assert set(comp) == set(ref)  # the actors come in order of first appearance
    assert {k: v[1:] for k, v in comp.items()} == {k: v[1:] for k, v in ref.items()}
    # One capability per actor: where the two tables disagree the first table's is kept.
    differing = {k for k in comp if comp[k][0] != ref[k][0]}
    assert differing == {"LK", "SPC", "CPCIA", "IOC"}
    assert all(comp[k][0] == policy[k][0] for k in differing)
    notes = "\n".join(loaded.notes)
    for fragment in (
        "sheet 'SOE-data-v2' read",
        "capability taken from column 'Influence'; column(s) 'Power' ignored",
        "column(s) 'Group', 'Exercised' ignored",
        "capability differs between tables for 4 actor(s): LK (65 in row 6, 55 in row 39)",
        "2 tables read",
        "one issue, id 'policy-space', named after the title in row 1",
        "one issue, id 'competitive-dimension', named after the title in row 34",
    ):
        assert fragment in notes


def test_common_sheet() -> None:
    loaded = io.load(book(), sheet="common")
    sc = loaded.scenario
    ref = ktab("SOE-Pol-Comp.csv")
    assert [i.id for i in sc.issues] == ["policy", "competitive"]
    assert [a.id for a in sc.actors] == [a.id for a in ref.actors]
    for issue, ref_issue in (
        ("policy", "Policy Position"),
        ("competitive", "Competitive Position"),
    ):
        mine, theirs = numbers(sc, issue), numbers(ref, ref_issue)
        assert {k: v[:2] for k, v in mine.items()} == {k: v[:2] for k, v in theirs.items()}
    # The sheet's salience columns are the raw ones; SOE-Pol-Comp.csv uses rescaled saliences
    # (the unlabelled columns to the right), so they differ.
    assert numbers(sc, "policy")["XJ"][2] == 0.3
    assert numbers(ref, "Policy Position")["XJ"][2] == 0.24
    notes = "\n".join(loaded.notes)
    assert "row(s) 19 outside the table(s) ignored" in notes
    assert "values in column(s) 14–16 without a header ignored" in notes


def workbook(*sheets: tuple[str, list[tuple[object, ...]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_first_sheet_with_a_table_and_untitled_tables(tmp_path: Path) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(
        workbook(
            ("Cover", [("About this workbook",), ()]),
            (
                "Ceasefire Terms",
                [
                    ("Name", "Weight", "Position", "Salience"),
                    ("A", 1, 10, 0.5),
                    ("B", 2, 20, 1),
                    (),
                    ("Name", "Weight", "Position", "Salience"),
                    ("A", 1, 30, 0.25),
                ],
            ),
        )
    )
    loaded = io.load(path)
    sc = loaded.scenario
    assert [i.id for i in sc.issues] == ["ceasefire-terms", "ceasefire-terms-2"]
    assert sc.actors[1].stances.keys() == {"ceasefire-terms"}
    assert "sheet 'Ceasefire Terms' read" in loaded.notes[0]
    with pytest.raises(InputError, match="expected one issue for issue='x'"):
        io.load(path, issue="x")


def test_sheet_names_match_case_insensitively(tmp_path: Path) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(
        workbook(("Data", [("actor", "capability", "position", "salience"), ("A", 1, 2, 0.5)]))
    )
    assert io.read(path, sheet="data").actors[0].id == "A"
    with pytest.raises(InputError) as info:
        io.load(path, sheet="Nope")
    assert "sheets: 'Data'" in info.value.message


def test_xlsx_errors_name_the_sheet(tmp_path: Path) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(
        workbook(("Data", [("actor", "capability", "position", "salience"), ("A", True, 2, 0.5)]))
    )
    with pytest.raises(InputError) as info:
        io.load(path)
    assert info.value.file == f"{path} (sheet 'Data')"
    assert (info.value.row, info.value.column) == (2, "capability")


def test_xlsx_round_trip_keeps_text_and_numbers(tmp_path: Path) -> None:
    sc = Scenario(
        name="t",
        issues=[Issue(id="=1+1"), Issue(id="007")],
        actors=[
            Actor(
                id="=A1",
                label="0.5",
                capability=Estimate(value=0.1),
                stances={
                    "=1+1": Stance(position=Estimate(value=33.3), salience=Estimate(value=0.7)),
                    "007": Stance(position=Estimate(value=1e-7), salience=Estimate(value=1.0)),
                },
            )
        ],
    )
    path = tmp_path / "out.xlsx"
    io.save(sc, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["scenario"]
    assert wb["scenario"]["A2"].data_type == "s"
    back = io.read(path)
    assert back.actors == sc.actors
    assert [i.id for i in back.issues] == ["=1+1", "007"]


def test_default_scenario_through_xlsx(tmp_path: Path) -> None:
    sc = io.load_default()
    path = tmp_path / "u.xlsx"
    io.save(sc, path)
    back = io.read(path)
    assert [(a.id, a.label, a.description, a.capability.value) for a in back.actors] == [
        (a.id, a.label, a.description, a.capability.value) for a in sc.actors
    ]
    assert {a.id: a.stances.keys() for a in back.actors} == {
        a.id: a.stances.keys() for a in sc.actors
    }
