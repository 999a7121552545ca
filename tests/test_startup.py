"""Start-up: a command loads only what it uses (the timings are in benchmarks/bench_process.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from detente.models import BUILTIN, models


def test_the_builtin_table_names_every_model_and_alias_as_registered() -> None:
    listed = {spec.name: spec.aliases for spec in models()}
    assert listed == BUILTIN
    assert [spec.name for spec in models()] == list(BUILTIN)


def _modules_after(argv: list[str]) -> set[str]:
    """The modules loaded by ``detente ARGV`` run through the script's entry point, in a fresh
    interpreter."""
    script = f"""
import json, sys
sys.argv = ["detente", *{argv!r}]
from detente.cli import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_run_with_one_model_loads_that_model_and_one_command_module() -> None:
    loaded = _modules_after(["run", "--model", "mean", "--no-record", "--format", "json"])
    assert "detente.models.baselines" in loaded
    for other in ("smp", "eu", "exchange", "nbs", "ensemble"):
        assert f"detente.models.{other}" not in loaded
    commands = {m for m in loaded if m.startswith("detente.cli.")}
    assert commands == {
        "detente.cli.run",
        "detente.cli.common",
        "detente.cli.options",
        "detente.cli.program",
    }
    # readers of other formats, and the libraries they need, stay unloaded
    for module in ("detente.io.xlsx", "detente.io.ktab", "openpyxl", "sqlalchemy", "pandas"):
        assert module not in loaded


def test_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "detente", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    from detente.cli import COMMANDS

    for name in COMMANDS:
        assert f" {name} " in done.stdout, name
