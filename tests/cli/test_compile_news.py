"""The command says once, on stderr, when Numba compiles detente's kernels (issue 14)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.models import accel


def test_every_command_listens_for_compiling(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(accel, "_hook", [])
    monkeypatch.setattr(accel, "_compile_seen", [])
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert len(accel._hook) == 1  # registered by the program's callback, whatever the command
    capsys.readouterr()
    accel._first_compile()  # what Numba's first compile event of a detente kernel triggers
    accel._first_compile()  # and any later one: said once
    captured = capsys.readouterr()
    assert captured.err == accel.COMPILE_MESSAGE + "\n"
    assert captured.out == ""
