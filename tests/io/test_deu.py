"""The DEU reader: the shared DEU III file, and malformed rows as one-line errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from detente.errors import InputError
from detente.io.deu import read_deu
from tests.conftest import shared_path

HEADER = "prnr\tisnr\tprname\tproc\tcounvte\tintro\tpcom\tpep\tpde\tscom\tsep\tsde\trp\tout\n"
WEIGHTS = "\t\t\t\t\t\t4.1\t4.1\t4.1\t\t\t\t\t\n"
ROW = "d0001\td0001i1\tx\tCOD\tQMV\t26-01-00\t100\t40\t0\t80\t50\t\t\t60\n"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deu.tsv"
    path.write_text(text)
    return path


def test_the_shared_file() -> None:
    data = read_deu(shared_path("reference", "deu", "deu3-shared.tsv"))
    assert len(data.actors) == 30
    assert data.actors[:3] == ("com", "ep", "at")
    assert len(data.issues) == 261
    assert len(data.with_outcome) == 250
    assert len({i.proposal for i in data.issues}) == 103
    assert data.capability_row["de"] == 4.1
    # the three date layouts of the file all agree with the year in the proposal id
    for i in data.issues:
        assert 0 <= i.introduced.year % 100 - int(i.proposal[1:3]) <= 2 or (
            i.proposal[1:3] == "99" and i.introduced.year == 2000
        ), (i.proposal, i.introduced)


def test_a_small_file_and_its_conventions(tmp_path: Path) -> None:
    data = read_deu(_file(tmp_path, HEADER + WEIGHTS + ROW))
    (issue,) = data.issues
    assert data.actors == ("com", "ep", "de")
    assert issue.introduced == date(2000, 1, 26)
    assert issue.positions == {"com": 100.0, "ep": 40.0, "de": 0.0}
    # a position without a salience counts with salience 0
    assert issue.saliences == {"com": 0.8, "ep": 0.5, "de": 0.0}
    assert issue.reference is None
    assert issue.outcome == 60.0
    sc = data.scenario(issue, data.capability_row)
    assert [a.id for a in sc.actors] == ["com", "ep", "de"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (ROW.replace("\t40\t", "\t140\t"), "row 3, column 'pep': expected a number in [0, 100]"),
        (ROW.replace("COD", "XYZ"), "row 3, column 'proc': expected one of COD, CNS"),
        (ROW.replace("QMV", "Majority"), "row 3, column 'counvte': expected one of QMV, Unan"),
        (ROW.replace("26-01-00", "Jan 2000"), "row 3, column 'intro': expected a date"),
        (ROW.replace("\t60\n", "\tsixty\n"), "row 3, column 'out': expected a number"),
        (ROW.replace("\t60\n", "\t" + "9" * 5000 + "\n"), "row 3, column 'out': expected a number"),
        (ROW.replace("d0001i1", ""), "row 3, column 'isnr': expected a proposal and an issue id"),
        ("d0001\td0001i1\tx\tCOD\n", "row 3, column 'counvte': expected 14 columns"),
        (ROW + ROW, "row 4, column 'isnr': expected distinct issue ids"),
    ],
)
def test_malformed_rows_are_one_line_errors(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        read_deu(_file(tmp_path, HEADER + WEIGHTS + row))
    text = str(info.value)
    assert "\n" not in text
    assert message in text, text


def test_missing_columns_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected the DEU columns"):
        read_deu(_file(tmp_path, HEADER.replace("\tout", "")))
    with pytest.raises(InputError, match="empty file"):
        read_deu(_file(tmp_path, ""))
    with pytest.raises(InputError, match="at least one issue row"):
        read_deu(_file(tmp_path, HEADER + WEIGHTS))
