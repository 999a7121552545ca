"""The decide-exchange-model input format (#A/#P/#M/#D): the shipped inputs, round trips and
one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from detente.errors import InputError
from detente.io import load, losses, save
from tests.conftest import shared_path

SMALL = """'#A'\t'a'\t'Actor A'\t'first'
'#A'\t'b'\t'b'\t''
'#P'\t'x'\t'Issue X'\t'about x'
'#M'\t'x'\t0\t'none'
'#M'\t'x'\t50\t'half'
'#M'\t'x'\t10\t'all'
'#P'\t'y'\t'y'\t''
'#0'\tcomment
'#D'\t'a'\t'x'\t2\t0.5\t0.3
'#D'\t'a'\t'y'\t80\t1\t0.3
'#D'\t'b'\t'x'\t9\t0.25\t0.7
"""


def _file(tmp_path: Path, text: str, name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "actors", "issues"), [("copenhagen.csv", 11, 7), ("sample_data.txt", 10, 6)]
)
def test_the_programs_inputs(name: str, actors: int, issues: int) -> None:
    loaded = load(shared_path("reference", "exchange", "inputs", name))
    sc = loaded.scenario
    assert loaded.format == "decide"
    assert (len(sc.actors), len(sc.issues)) == (actors, issues)
    if name == "sample_data.txt":
        scale = sc.issue("tol-hoogte").scale
        assert (scale.min, scale.max) == (0.5, 7.0)
        assert sc.actor("GL").capability.value == 0.6
        assert sc.actor("GL").stances["tol-hoogte"].position.value == 5.0


def test_a_small_file_round_trips(tmp_path: Path) -> None:
    loaded = load(_file(tmp_path, SMALL))
    sc = loaded.scenario
    x = sc.issue("x")
    assert (x.label, x.description, x.scale.min, x.scale.max) == ("Issue X", "about x", 0, 50)
    assert (x.scale.min_label, x.scale.max_label) == ("none", "half")
    assert "inner #M point" in loaded.notes[0]
    assert sc.actor("a").label == "Actor A"
    assert sc.actor("b").stances.keys() == {"x"}  # no stance on y
    out = tmp_path / "out.csv"
    save(sc, out, format="decide")
    back = load(out).scenario
    assert back.model_dump(exclude={"name"}) == sc.model_dump(exclude={"name"})
    assert losses(sc, "decide") == []


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (
            "'#D'\t'b'\t'x'\t9\t0.25\t0.7",
            "row 12, column 'power': expected the power of 'b' on 'x' (row 11)",
        ),
        ("'#D'\t'a'\t'x'\t2\t0.5\t0.3", "expected one #D row for actor 'a' on issue 'x'"),
        ("'#D'\t'c'\t'x'\t9\t0.25\t0.3", "column 'actor': expected an actor defined by #A"),
        ("'#D'\t'b'\t'z'\t9\t0.25\t0.3", "column 'issue': expected an issue defined by #P"),
        ("'#D'\t'b'\t'x'\t90\t0.25\t0.3", "expected a position within the scale of 'x' [0, 50]"),
        ("'#D'\t'b'\t'x'\t9\t1.5\t0.3", "column 'salience': expected a salience in [0, 1]"),
        ("'#D'\t'b'\t'x'\t9\thigh\t0.3", "column 'salience': expected a salience in [0, 1]"),
        ("'#D'\t'b'\t'x'\t9\t0.5\t0", "column 'power': expected a power greater than 0"),
        ("'#Q'\t'b'", "row 11, field 1: expected a row starting with one of #A"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, replace: str, message: str) -> None:
    # the last #D row is replaced; in the first case b's power differs between its rows
    lines = SMALL.splitlines()
    text = "\n".join([*lines[:-1], replace, "'#D'\t'b'\t'y'\t1\t0.1\t0.7"]) + "\n"
    if "power of" in message:
        text = SMALL.replace("'#D'\t'b'\t'x'\t9\t0.25\t0.7", "'#D'\t'b'\t'x'\t9\t0.25\t0.4")
        text += "'#D'\t'b'\t'y'\t1\t0.1\t0.7\n"
    with pytest.raises(InputError) as err:
        load(_file(tmp_path, text))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_scale_needs_two_points_and_known_issues(tmp_path: Path) -> None:
    one = SMALL.replace("'#M'\t'x'\t50\t'half'\n'#M'\t'x'\t10\t'all'\n", "")
    one = one.replace("9\t0.25", "0\t0.25").replace("'x'\t2\t", "'x'\t0\t")
    with pytest.raises(InputError, match="expected #M points spanning a scale for issue 'x'"):
        load(_file(tmp_path, one))
    stray = SMALL + "'#M'\t'w'\t3\n"
    with pytest.raises(InputError, match="expected #M rows for a #P issue"):
        load(_file(tmp_path, stray))


def test_other_files_are_not_taken_for_decide(tmp_path: Path) -> None:
    analyst = _file(tmp_path, "Stakeholder,Capability,Position,Salience\nA,1,20,0.5\n", "a.csv")
    assert load(analyst).format == "csv"
