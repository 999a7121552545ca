"""Analyst CSV files: the BDM inputs, layouts, aliases, scales, delimiters, the long form."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

from detente import io
from detente.io.csv_io import write_csv
from detente.scenario import Scenario
from tests.conftest import shared_path
from tests.io.strategies import scenarios

BDM = ("china", "emission_standards", "iran_2013_election", "sultan")


@pytest.mark.parametrize("name", BDM)
def test_bdm_inputs_load_with_exact_values(name: str) -> None:
    path = shared_path("reference", "bdm", "inputs", f"{name}.csv")
    loaded = io.load(path)
    sc = loaded.scenario
    assert loaded.format == "csv"
    assert len(sc.issues) == 1
    issue = sc.issues[0]
    assert issue.id == name.replace("_", "-")
    assert (issue.scale.min, issue.scale.max) == (0.0, 100.0)  # every position lies in 0–100
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [a.id for a in sc.actors] == [r["actor"] for r in rows]
    for actor, row in zip(sc.actors, rows, strict=True):
        assert actor.capability.value == float(row["capability"])
        stance = actor.stances[issue.id]
        assert stance.position.value == float(row["position"])
        assert stance.salience.value == float(row["salience"])  # fractions, kept as given
    assert not any("divided by 100" in n for n in loaded.notes)


def write(tmp_path: Path, text: str, name: str = "talks.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stances(sc: Scenario) -> dict[str, dict[str, tuple[float, float]]]:
    return {
        a.id: {k: (s.position.value, s.salience.value) for k, s in a.stances.items()}
        for a in sc.actors
    }


def test_aliases_and_percent_salience(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Stakeholder, Code ,Clout,Power,Stance,Importance,Notes\n"
        "Russian Federation,RU,90,5,80,70,x\nUkraine,UA,40,5,10,95,\n",
        "My Talks!.csv",
    )
    loaded = io.load(path)
    sc = loaded.scenario
    assert [a.id for a in sc.actors] == ["RU", "UA"]
    assert [a.label for a in sc.actors] == ["Russian Federation", "Ukraine"]
    assert [i.id for i in sc.issues] == ["my-talks"]
    assert sc.name == "My Talks!"
    assert stances(sc)["RU"] == {"my-talks": (80.0, 0.7)}
    assert sc.actors[0].capability.value == 90.0
    notes = "\n".join(loaded.notes)
    assert "capability taken from column 'Clout'; column(s) 'Power' ignored" in notes
    assert "salience read on a 0–100 scale and divided by 100 (column 'Importance'" in notes
    assert "column(s) 'Notes' ignored" in notes
    assert "actor ids taken from column 'Code', labels from column 'Stakeholder'" in notes


def test_issue_keyword_names_a_one_issue_sheet(tmp_path: Path) -> None:
    path = write(tmp_path, "actor,capability,position,salience\nA,1,50,0.5\n")
    sc = io.read(path, issue="ceasefire")
    assert [i.id for i in sc.issues] == ["ceasefire"]
    assert io.load(path, issue="ceasefire").notes == ()


def test_positions_outside_0_100_set_the_scale(tmp_path: Path) -> None:
    path = write(tmp_path, "actor,capability,position,salience\nA,1,-5,0.5\nB,2,250,1\n")
    loaded = io.load(path)
    scale = loaded.scenario.issues[0].scale
    assert (scale.min, scale.max) == (-5.0, 250.0)
    assert any("scale is taken as [-5, 250]" in n for n in loaded.notes)
    one = write(tmp_path, "actor,capability,position,salience\nA,1,-5,0.5\n", "one.csv")
    scale = io.read(one).issues[0].scale
    assert scale.min < -5.0 < scale.max


def test_long_layout_with_missing_stances(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Actor,Dimension,Influence,Position,Salience,Risk,Label\n"
        "A,land,2,10,0.5,0.5,Alpha\nA,aid,2,20,0.25,0.5,\nB,aid,1,30,1,,\nC,,3,,,,\n",
    )
    sc = io.read(path)
    assert [i.id for i in sc.issues] == ["land", "aid"]
    assert stances(sc) == {
        "A": {"land": (10.0, 0.5), "aid": (20.0, 0.25)},
        "B": {"aid": (30.0, 1.0)},
        "C": {},
    }
    assert [a.risk for a in sc.actors] == [0.5, None, None]
    assert sc.actors[0].label == "Alpha"


def test_wide_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'Actor,Description,Influence,"Policy Position, X",Policy Salience,'
        "CompetitivePosition,Competitive Sal,Opposition\n"
        "XJ,Xi,100,30,30,20,60,1\nLK,Li,60,45,65,,,2\n",
    )
    loaded = io.load(path)
    sc = loaded.scenario
    assert [(i.id, i.label) for i in sc.issues] == [
        ("policy", "Policy"),
        ("competitive", "Competitive"),
    ]
    assert stances(sc)["LK"] == {"policy": (45.0, 0.65)}  # both cells empty: no stance
    assert sc.actors[0].description == "Xi"
    assert any("'Opposition' ignored" in n for n in loaded.notes)


@pytest.mark.parametrize(("sep", "word"), [(";", "';'"), ("\t", "tab")])
def test_semicolon_and_tab_files_are_read_with_a_note(tmp_path: Path, sep: str, word: str) -> None:
    text = "actor;capability;position;salience\nA;1;50;0.5\n".replace(";", sep)
    loaded = io.load(write(tmp_path, text))
    assert stances(loaded.scenario) == {"A": {"talks": (50.0, 0.5)}}
    assert f"read as {word}-separated values" in loaded.notes


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "talks.csv"
    path.write_bytes(
        b"\xef\xbb\xbfactor,capability,position,salience\r\n\r\nA,1,50,0.5\r\n\r\nB,2,40,0.25\r\n"
    )
    assert stances(io.read(path)) == {"A": {"talks": (50.0, 0.5)}, "B": {"talks": (40.0, 0.25)}}


def test_long_form_writer_columns() -> None:
    sc = io.load_default()
    lines = write_csv(sc, "x.csv").decode().splitlines()
    assert lines[0] == "actor,issue,capability,position,salience,label,description"
    assert len(lines) == 1 + sum(len(a.stances) for a in sc.actors)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(with_sources=False))
def test_csv_long_round_trip_keeps_the_numbers(
    tmp_path_factory: pytest.TempPathFactory, sc: Scenario
) -> None:
    assume(any(a.stances for a in sc.actors))  # else the long form holds no issue at all
    path = tmp_path_factory.mktemp("csv") / "s.csv"
    io.save(sc, path)
    back = io.read(path)
    assert [a.id for a in back.actors] == [a.id for a in sc.actors]
    assert [a.capability.value for a in back.actors] == [a.capability.value for a in sc.actors]
    assert [a.risk for a in back.actors] == [a.risk for a in sc.actors]
    assert stances(back) == stances(sc)
    for issue in back.issues:  # the scale may differ, but holds every position
        for actor in back.actors:
            if issue.id in actor.stances:
                assert issue.scale.min <= actor.stances[issue.id].position.value <= issue.scale.max
