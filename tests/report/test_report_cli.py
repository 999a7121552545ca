"""`detente report ID --out FILE`: loads the run from the store, writes one HTML file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("plotly")
pytest.importorskip("jinja2")
from typer.testing import CliRunner

from detente.cli import app
from detente.scenario import Scenario
from detente.store.record import RunRecord
from tests.report.conftest import MEMO

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


class FakeStore:
    """Stands in for the run store: holds one record."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record

    def get(self, run_id: int) -> RunRecord:
        assert run_id == self.record.id
        return self.record

    def close(self) -> None:
        pass


@pytest.fixture
def urls(monkeypatch: pytest.MonkeyPatch, records: dict[str, RunRecord]) -> list[str | None]:
    """Serves the mc record through ``detente.store.open_store``; collects the URLs given."""
    import detente.store

    seen: list[str | None] = []

    def open_store(url: str | None = None) -> FakeStore:
        seen.append(url)
        return FakeStore(records["mc"])

    monkeypatch.setattr(detente.store, "open_store", open_store)
    return seen


def test_report_writes_one_html_file(tmp_path: Path, urls: list[str | None]) -> None:
    out = tmp_path / "report.html"
    code, stdout, err = invoke("report", "7", "--out", str(out), "--db", "sqlite:///x.db")
    assert code == 0, err
    assert urls == ["sqlite:///x.db"]
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert 'id="fan"' in page
    assert stdout == ""
    assert f"wrote {out}" in err
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_report_default_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, urls: list[str | None]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("report", "7")
    assert code == 0, err
    assert urls == [None]
    assert (tmp_path / "run-7.html").is_file()


def test_report_quotes_documents(tmp_path: Path, urls: list[str | None]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.txt").write_text(MEMO, encoding="utf-8", newline="")
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "7", "-o", str(out), "--docs", str(docs))
    assert code == 0, err
    assert "<blockquote>the strongest hand</blockquote>" in out.read_text(encoding="utf-8")
    assert "warning" not in err


def test_report_warns_of_a_changed_document(tmp_path: Path, urls: list[str | None]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.txt").write_text(MEMO.upper(), encoding="utf-8", newline="")
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "7", "-o", str(out), "--docs", str(docs))
    assert code == 0, err
    assert "warning: source 1 (memo-span): document 'memo.txt' has changed" in err
    assert "cannot quote" in out.read_text(encoding="utf-8")


@pytest.mark.usefixtures("urls")
def test_report_errors_are_one_line(tmp_path: Path) -> None:
    code, _, err = invoke("report", "7", "--docs", str(tmp_path / "nowhere"))
    assert code == 2
    assert err.strip().count("\n") == 0
    assert err.startswith("error:")
    assert "does not exist" in err
    code, _, err = invoke("report", "7", "--out", str(tmp_path / "no" / "r.html"))
    assert code == 2
    assert "folder" in err
    assert err.strip().count("\n") == 0


def test_report_without_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, urls: list[str | None]
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "7", "--out", str(out))
    assert code == 2
    assert 'pip install "detente[report]"' in err
    assert err.strip().count("\n") == 0
    assert not out.exists()


def test_report_of_an_unknown_run_uses_the_store(tmp_path: Path) -> None:
    # The real store: an empty SQLite database has no run 99.
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "99", "--db", url, "--out", str(out))
    assert code == 2
    assert err.startswith("error:")
    assert "99" in err
    assert err.strip().count("\n") == 0
    assert not out.exists()


def test_report_of_a_recorded_run(
    tmp_path: Path, records: dict[str, RunRecord], scenario: Scenario
) -> None:
    from detente.store import open_store

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    stored = records["compare"]
    store = open_store(url)
    try:
        rec = store.record("compare", scenario, stored.models, {}, 0, stored.results)
    finally:
        store.close()
    out = tmp_path / "r.html"
    code, _, err = invoke("report", str(rec.id), "--db", url, "--out", str(out))
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert 'id="comparison"' in page
    assert "A gains ground" in page
