"""The public API: load/read/save dispatch, built-in scenarios, resolve, atomic saving."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from detente import io
from detente.errors import InputError
from detente.io import yaml_io
from detente.scenario import Scenario
from tests.conftest import shared_path

SHEET = "actor,capability,position,salience\nA,1,50,0.5\nB,2,40,0.25\n"


def test_load_returns_format_and_notes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(SHEET, encoding="utf-8")
    loaded = io.load(path)
    assert loaded.format == "csv"
    assert isinstance(loaded.notes, tuple)
    assert io.read(path) == loaded.scenario
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.format = "yaml"  # type: ignore[misc]


def test_format_inference() -> None:
    ktab = shared_path("reference", "ktab", "inputs")
    assert io.load(ktab / "SOE-Policy.csv").format == "ktab-csv"
    assert io.load(ktab / "dummyData_3Dim.xml").format == "ktab-xml"
    assert io.load(ktab / "SOE-data-from-paper.xlsx", sheet="Policy").format == "xlsx"
    assert io.load(shared_path("reference", "bdm", "inputs", "china.csv")).format == "csv"


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "t.data"
    io.save(io.load_default(), path, format="yaml")
    assert io.load(path, format="yaml").format == "yaml"
    with pytest.raises(InputError, match="expected a format among"):
        io.load(path, format="json")


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".yaml", "yaml"), (".yml", "yaml"), (".csv", "csv"), (".xlsx", "xlsx")],
)
def test_save_infers_the_format(tmp_path: Path, suffix: str, fmt: str) -> None:
    sc = io.load_default()
    path = tmp_path / f"out{suffix}"
    io.save(sc, path)
    assert io.load(path).format == fmt


def test_save_ktab_csv_needs_the_format_and_is_detected_on_reading(tmp_path: Path) -> None:
    sc = io.read(shared_path("reference", "ktab", "inputs", "dummyData_3Dim.csv"))
    path = tmp_path / "out.csv"
    io.save(sc, path, format="ktab-csv")
    assert io.load(path).format == "ktab-csv"
    io.save(sc, path)
    assert io.load(path).format == "csv"


def test_failed_save_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.yaml"
    sc = io.load_default()
    io.save(sc, path)
    before = path.read_bytes()

    def broken_dump(*args: object, **kw: object) -> str:
        raise RuntimeError("disk full, say")

    monkeypatch.setattr(yaml_io.yaml, "dump", broken_dump)
    with pytest.raises(RuntimeError):
        io.save(sc, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.yaml"]


def test_save_refusing_a_format_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    path.write_text("<old/>", encoding="utf-8")
    with pytest.raises(InputError, match="KTAB needs each actor's saliences"):
        io.save(io.load_default(), path)
    assert path.read_text(encoding="utf-8") == "<old/>"


def test_save_errors(tmp_path: Path) -> None:
    sc = io.load_default()
    with pytest.raises(InputError, match="expected a file name ending in"):
        io.save(sc, tmp_path / "out.json")
    with pytest.raises(InputError, match="not found"):
        io.save(sc, tmp_path / "missing" / "out.yaml")


def test_builtins() -> None:
    assert "ukraine-talks" in io.builtin_names()
    loaded = io.load_builtin("ukraine-talks")
    assert loaded.format == "yaml"
    assert io.load_default() == loaded.scenario
    with pytest.raises(InputError) as info:
        io.load_builtin("x")
    assert info.value.message.endswith(
        f"unknown scenario 'x' (built-in scenarios: {', '.join(io.builtin_names())})"
    )


def test_builtins_from_a_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mini.yaml").write_text(
        "name: mini\nissues: [{id: x}]\nactors: [{id: a, capability: 1}]\n", encoding="utf-8"
    )
    (tmp_path / "notes.txt").write_text("not a scenario", encoding="utf-8")
    monkeypatch.setattr(io, "_data_dir", lambda: tmp_path)
    assert io.builtin_names() == ["mini"]
    assert io.load_builtin("mini").scenario.name == "mini"
    assert io.resolve("mini").scenario.name == "mini"
    (tmp_path / "bad.yaml").write_text("name: [\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        io.load_builtin("bad")
    assert info.value.file == "detente/data/bad.yaml"
    with pytest.raises(InputError, match=r"unknown scenario '\.\./x'"):
        io.load_builtin("../x")


def test_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert io.resolve("ukraine-talks").scenario == io.load_default()
    assert io.resolve("ukraine-talks", format="yaml", sheet=None).format == "yaml"
    with pytest.raises(InputError, match="expected no sheet for built-in scenario"):
        io.resolve("ukraine-talks", sheet="x")
    with pytest.raises(InputError, match="unknown scenario 'nope'"):
        io.resolve("nope")
    with pytest.raises(InputError, match="file not found"):
        io.resolve("nope.yaml")
    # A file of the same name as a built-in wins.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ukraine-talks").write_text(SHEET, encoding="utf-8")
    with pytest.raises(InputError, match="expected a file name ending in"):
        io.resolve("ukraine-talks")
    (tmp_path / "t.csv").write_text(SHEET, encoding="utf-8")
    assert io.resolve("t.csv", sheet=None, format=None).format == "csv"


def test_issue_and_sheet_apply_to_tables_only(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    io.save(io.load_default(), path)
    with pytest.raises(InputError, match="expected no issue="):
        io.load(path, issue="x")
    with pytest.raises(InputError, match="expected no sheet"):
        io.load(path, sheet="x")
    assert isinstance(io.read(path), Scenario)
