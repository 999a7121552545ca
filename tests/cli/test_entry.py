"""The ``detente`` script builds only the command it runs (start-up): the same command, help,
options and errors as the whole app, and every command of the app is reachable that way."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from detente import cli
from detente.cli import COMMANDS, app, app_for


def test_every_command_of_the_app_is_mapped_to_its_module() -> None:
    names = {cli._name(c) for c in app.registered_commands}
    names |= {str(g.name) for g in app.registered_groups}
    assert set(COMMANDS) == names
    for info in app.registered_commands:
        assert info.callback is not None
        assert info.callback.__module__ == f"detente.cli.{COMMANDS[cli._name(info)]}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_one_command_helps_and_parses_as_in_the_whole_app(name: str) -> None:
    runner = CliRunner()
    one = app_for(name)
    assert list(typer.main.get_command(one).commands) == [name]  # type: ignore[attr-defined]
    for args in ([name, "--help"], [name, "--no-such-option"]):
        got = runner.invoke(one, args, prog_name="detente")
        want = runner.invoke(app, args, prog_name="detente")
        assert (got.exit_code, got.output) == (want.exit_code, want.output)


def test_the_script_runs_the_named_command_and_the_app_otherwise() -> None:
    def script(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "detente", *args], capture_output=True, text=True, check=False
        )

    ran = script("run", "--model", "mean", "--no-record", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    assert '"model": "mean"' in ran.stdout
    assert script("--version").stdout.startswith("detente ")
    typo = script("rnu")
    assert typo.returncode == 2
    assert "Did you mean 'run'?" in typo.stderr
    listing = script("--help").stdout
    assert all(name in listing for name in COMMANDS)
