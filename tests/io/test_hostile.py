"""Hostile input (issue 18): each reproducer is one InputError through ``io.read`` and one
``error:`` line with exit status 2 through ``detente validate``, never a traceback or a hang."""

from __future__ import annotations

import io as _io
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from detente import io
from detente.cli import app
from detente.errors import InputError
from detente.io import common
from detente.io.yaml_io import MAX_DEPTH, MAX_NODES

HEAD = "name: s\nissues: [{id: x}]\nactors:\n- id: a\n  capability: 1\n"  # 5 lines


def laughs(levels: int = 9) -> str:
    """The "billion laughs": each level a list of nine aliases of the level before."""
    text = "parameters:\n  lol:\n    a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    keys = "abcdefghijklmnopqrstuvwxyz"
    for k in range(1, levels):
        text += f"    {keys[k]}: &{keys[k]} [" + ",".join([f"*{keys[k - 1]}"] * 9) + "]\n"
    return HEAD + text


def xlsx_with(position: str) -> bytes:
    """A one-issue workbook whose position cell holds the number ``position`` (as written in
    the sheet's XML: openpyxl cannot write integers beyond the floats itself)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Actor", "Capability", "Position", "Salience"])
    ws.append(["A", 1, 12345, 0.5])
    buf = _io.BytesIO()
    wb.save(buf)
    out = _io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            part = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                assert b"<v>12345</v>" in part
                part = part.replace(b"<v>12345</v>", f"<v>{position}</v>".encode())
            dst.writestr(info, part)
    return out.getvalue()


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    content: str | bytes | Callable[[Path], None]
    fragment: str
    row: int | None = None
    column: str | int | None = None  # None: not checked ("" for none)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def _too_big(path: Path) -> None:
    with path.open("wb") as fh:  # sparse: no disk used
        fh.truncate(common.MAX_FILE_BYTES + 1)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


DEEP = f"nested at most {MAX_DEPTH} deep"
VALUES = f"expected at most {MAX_NODES:,} values"
HUGE_INT = "expected a whole number of at most 4300 digits"
DEEP_LIST = "[" * 1000 + "]" * 1000
DEEP_MAP = "{a: " * 1000 + "1" + "}" * 1000
DEEP_BLOCK = "".join(" " * i + "a:\n" for i in range(1000)) + " " * 1000 + "1\n"
MERGES = HEAD + "parameters:\n  m:\n    k0: &k0 {a: 1, b: 2}\n"
MERGES += "".join(f"    k{i}: &k{i} {{<<: [*k{i - 1}, *k{i - 1}], c: 1}}\n" for i in range(1, 40))
ALIAS_DEPTH = "parameters:\n  m:\n    a: &a " + "[" * 60 + "]" * 60 + "\n"
ALIAS_DEPTH += "    b: " + "[" * 60 + "*a" + "]" * 60 + "\n"
KTAB = "s,d,3,1,\nActor,Description,Power,P,S,\nA,,1,5,5,\nB,,1,5,5,\nC,,1,5,5,\n"
XML = '<?xml version="1.0"{}?>\n<Scenario>\n<name>s</name>\n<desc/>\n<prngSeed>{}</prngSeed>\n'
XML += "</Scenario>\n"

CASES = [
    # 1. nesting 1,000 deep, in any part of the file
    Case("deep list in parameters", "s.yaml", HEAD + f"parameters: {{p: {DEEP_LIST}}}\n", DEEP, 6),
    Case("deep mapping in parameters", "s.yaml", HEAD + f"parameters:\n  p: {DEEP_MAP}\n", DEEP, 7),
    Case("deep list as the actors", "s.yaml", f"name: s\nactors: {DEEP_LIST}\n", DEEP, 2),
    Case("deep document", "s.yaml", DEEP_LIST, DEEP, 1, "[0]" * MAX_DEPTH),
    Case("deep block mappings", "s.yaml", DEEP_BLOCK, DEEP, MAX_DEPTH + 1),
    Case("deep description", "s.yaml", HEAD + f"description: {DEEP_LIST}\n", DEEP, 6),
    # 2. alias expansion
    Case("billion laughs", "s.yaml", laughs(), VALUES, 14, "parameters.lol.g[0]"),
    Case(
        "recursive alias",
        "s.yaml",
        HEAD + "parameters: {m: {x: &r [1, *r]}}\n",
        "expected an alias outside the list or mapping it names",
        6,
        "parameters.m.x[1]",
    ),
    Case("merge-key bomb", "s.yaml", MERGES, VALUES, 24, "parameters.m.k16.<<[1]"),
    Case(
        "aliases nesting deeper",
        "s.yaml",
        HEAD + ALIAS_DEPTH,
        DEEP,
        9,
        "parameters.m.b" + "[0]" * 60,
    ),
    # 3. integers beyond Python's 4,300 digits
    Case(
        "YAML capability of 5000 digits",
        "s.yaml",
        HEAD.replace("capability: 1", "capability: " + "9" * 5000),
        HUGE_INT,
        5,
        "actors[0].capability",
    ),
    Case(
        "YAML seed of 5000 digits", "s.yaml", HEAD + f"seed: -{'9' * 5000}\n", HUGE_INT, 6, "seed"
    ),
    Case(
        "YAML parameter of 5000 digits",
        "s.yaml",
        HEAD + f"parameters: {{m: {{k: {'1' * 5000}}}}}\n",
        HUGE_INT,
        6,
        "parameters.m.k",
    ),
    Case(
        "YAML base 60, 1e5 parts",
        "s.yaml",
        HEAD + f"seed: 1{':0' * 100_000}\n",
        HUGE_INT,
        6,
        "seed",
    ),
    Case(
        "YAML hexadecimal, 8000 digits",
        "s.yaml",
        HEAD + f"seed: 0x{'f' * 8000}\n",
        HUGE_INT,
        6,
        "seed",
    ),
    Case(
        "KTAB CSV actor count of 5000 digits",
        "k.csv",
        KTAB.replace(",3,1,", f",{'3' * 5000},1,"),
        "expected the number of actors (a whole number from 1 to 999,999,999)",
        1,
        3,
    ),
    Case(
        "KTAB CSV dimension count of 5000 digits",
        "k.csv",
        KTAB.replace(",3,1,", f",3,{'1' * 5000},"),
        "expected the number of dimensions",
        1,
        4,
    ),
    Case(
        "KTAB XML seed of 5000 digits", "k.xml", XML.format("", "1" * 5000), "seed", 5, "prngSeed"
    ),
    # 4. numbers beyond the floats in a workbook
    Case(
        "XLSX number of 400 digits",
        "b.xlsx",
        xlsx_with("9" * 400),
        "expected a position (a number) (a finite number), got '999",
        2,
        "Position",
    ),
    Case(
        "XLSX negative, 400 digits", "b.xlsx", xlsx_with("-" + "9" * 400), "finite", 2, "Position"
    ),
    Case(
        "XLSX number of 5000 digits",
        "b.xlsx",
        xlsx_with("9" * 5000),
        "expected numbers of at most 4300 digits, but a cell holds a longer one",
        2,
    ),
    # 5. encodings expat cannot read
    Case(
        "KTAB XML declared UTF-32",
        "k.xml",
        XML.format(' encoding="UTF-32"', 1),
        "expected an XML file in a known encoding (UTF-8, UTF-16 or a one-byte encoding),"
        " got 'UTF-32'",
        1,
    ),
    Case(
        "KTAB XML declared Shift_JIS",
        "k.xml",
        XML.format(' encoding="Shift_JIS"', 1),
        "got 'Shift_JIS'",
        1,
    ),
    # 6. files that are not regular, or too large
    Case("/dev/zero", "z.yaml", _dev_zero, "expected a regular file, got a character device"),
    Case("a FIFO", "f.yaml", _fifo, "expected a regular file, got a named pipe (FIFO)"),
    Case("a socket", "u.csv", _socket, "expected a regular file, got a socket"),
    Case(
        "a file over the size limit",
        "big.csv",
        _too_big,
        "expected a file of at most 64 MiB, got 67,108,865 bytes",
    ),
]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case_file(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Case, Path]:
    case: Case = request.param
    path = tmp_path / case.file
    if callable(case.content):
        if case.content is _fifo and not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        case.content(path)
    elif isinstance(case.content, str):
        path.write_text(case.content, encoding="utf-8")
    else:
        path.write_bytes(case.content)
    return case, path


def test_one_input_error(case_file: tuple[Case, Path]) -> None:
    case, path = case_file
    with pytest.raises(InputError) as info:
        io.read(path)
    err = info.value
    assert str(err.file).startswith(str(path)), err.message
    assert case.fragment in err.message, err.message
    assert err.row == case.row, err.message
    if case.column is not None:
        assert err.column == (case.column or None), err.message
    assert len(err.message.splitlines()) == 1
    assert len(err.message) < 400, err.message


runner = CliRunner()


def _one_error_line(code: int, out: str, err: str) -> str:
    assert code == 2, out + err
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


def test_validate_prints_one_error_line(case_file: tuple[Case, Path]) -> None:
    case, path = case_file
    result = runner.invoke(app, ["validate", str(path)], env={"COLUMNS": "1000"})
    line = _one_error_line(result.exit_code, result.stdout, result.stderr)
    assert case.fragment in line


@pytest.mark.parametrize("command", ["convert", "show", "run"])
def test_the_laughs_never_expand(tmp_path: Path, command: str) -> None:
    """The bomb is refused where it used to pass `validate` and expand in these commands."""
    path = tmp_path / "lol.yaml"
    path.write_text(laughs(), encoding="utf-8")
    target = tmp_path / "out.yaml"
    args = [command, str(path), *([str(target)] if command == "convert" else [])]
    result = runner.invoke(app, args, env={"COLUMNS": "1000"})
    line = _one_error_line(result.exit_code, result.stdout, result.stderr)
    assert f"at most {MAX_NODES:,} values" in line
    assert not target.exists()


def test_a_bomb_small_enough_loads(tmp_path: Path) -> None:
    """Six levels (531,441 leaves) stay under the limit: aliases as such are fine."""
    path = tmp_path / "lol.yaml"
    path.write_text(laughs(6), encoding="utf-8")
    assert io.read(path).parameters["lol"]["f"][8][8][8][8][8] == ["lol"] * 9


def test_nesting_up_to_the_limit_is_read_and_written(tmp_path: Path) -> None:
    inner = MAX_DEPTH - 3  # the document, parameters and p are three levels
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + "parameters: {p: {q: " + "[" * inner + "]" * inner + "}}\n")
    scenario = io.read(path)
    io.save(scenario, tmp_path / "again.yaml")
    assert io.read(tmp_path / "again.yaml") == scenario
    path.write_text(HEAD + "parameters: {p: {q: " + "[" * (inner + 1) + "]" * (inner + 1) + "}}\n")
    with pytest.raises(InputError, match=DEEP):
        io.read(path)


def test_tags_are_refused_before_they_are_built(tmp_path: Path) -> None:
    """Even YAML's own tags: `!!int x`, `!!timestamp x`, `!!bool x` used to raise ValueError,
    AttributeError and KeyError; `!!set` and `!!binary` values cannot be written as JSON."""
    path = tmp_path / "s.yaml"
    for tag in ("!!int x", "!!timestamp x", "!!bool x", "!!set {a}", "!!binary AAAA", "!!str s"):
        path.write_text(HEAD.replace("name: s", f"name: {tag}"), encoding="utf-8")
        with pytest.raises(InputError, match="no tags") as info:
            io.read(path)
        assert (info.value.row, info.value.column) == (1, "name")
    path.write_text(HEAD.replace("name: s", "name: ="), encoding="utf-8")
    assert io.read(path).name == "="  # YAML 1.1's "value" key is plain text


def test_shock_files_have_the_same_limits(tmp_path: Path) -> None:
    path = tmp_path / "shocks.yaml"
    path.write_text("shocks:\n  s: " + "[" * 1000 + "]" * 1000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=DEEP) as info:
        io.with_shocks(io.load_default(), path)
    assert info.value.row == 2


def test_a_file_growing_past_the_limit_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc files say they are empty; reading stops one byte past the limit."""
    status = Path("/proc/self/status")
    if not status.is_file():
        pytest.skip("no /proc")
    monkeypatch.setattr(common, "MAX_FILE_BYTES", 16)
    with pytest.raises(InputError, match="at most 0 MiB, got more"):
        io.load(status, format="yaml")


def test_a_fifo_does_not_hang_a_real_process(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/zero")):
        proc = subprocess.run(
            [sys.executable, "-m", "detente.cli", "validate", str(target)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        line = _one_error_line(proc.returncode, proc.stdout, proc.stderr)
        assert "expected a regular file" in line
