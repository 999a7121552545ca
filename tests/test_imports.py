"""Start-up: what a fresh interpreter loads for the library and the command.

The heavy parts (spreadsheets and images, plotting and HTML reports, SQLAlchemy and Alembic,
pandas, the web stack, Numba) load only where a command needs them, so that ``detente run``
starts in a fraction of a second (benchmarks/bench_process.py measures it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared_path

HEAVY = (
    "openpyxl",
    "PIL",
    "matplotlib",
    "plotly",
    "jinja2",
    "pandas",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "numba",
    "SALib",
    "dask",
    "distributed",
    "defusedxml",
)


def _loaded(code: str, *args: str) -> list[str]:
    """The heavy top-level packages in ``sys.modules`` after ``code`` runs in a new process."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    return list(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import detente",
        "import detente.io, detente.models, detente.trace, detente.store",
        "from detente import io; io.load_default()",
        "from detente import io, run; run(io.load_default(), 'mean').to_dict(scenario='s', seed=0)",
    ],
)
def test_the_library_loads_nothing_heavy(code: str) -> None:
    assert _loaded(code) == []


def test_the_command_loads_nothing_heavy() -> None:
    """Typer builds every command (and reads every option's annotations) on each call."""
    code = (
        "import typer.main\nfrom detente.cli import app\n"
        "typer.main.get_command(app).make_context('detente', ['run', '--help'],"
        " resilient_parsing=True)"
    )
    assert _loaded(code) == []


def test_a_whole_run_of_the_command_loads_nothing_heavy(tmp_path: Path) -> None:
    from detente.store import open_store

    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    open_store(url).close()  # created (through SQLAlchemy, once)
    code = (
        "import sys\nfrom detente.cli import main\n"
        "sys.argv = ['detente', 'run', '--model', 'mean', '--db', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded(code, url) == []


def test_recording_in_a_current_sqlite_store_loads_nothing_heavy(tmp_path: Path) -> None:
    from detente.store import open_store

    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    open_store(url).close()  # created (through SQLAlchemy, once)
    code = (
        "import sys\nfrom detente import io\nfrom detente.store import open_store\n"
        "s = open_store(sys.argv[1])\n"
        "s.record('run', io.load_default(), ['mean'], {}, 0, {'x': 1}); s.list()"
    )
    assert _loaded(code, url) == []


def test_reading_a_workbook_loads_openpyxl_then(tmp_path: Path) -> None:
    """The lazy import still happens where it is needed (and only there)."""
    from detente import io

    path = tmp_path / "s.xlsx"
    io.save(io.load_default(), path)
    assert "openpyxl" in _loaded(f"from detente import io; io.read({str(path)!r})")
    ktab = shared_path("reference", "ktab", "inputs", "dummyData_3Dim.xml")
    assert _loaded(f"from detente import io; io.read({str(ktab)!r})") == ["defusedxml"]
