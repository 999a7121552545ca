"""The ``detente`` command (Typer + Rich): parses, calls the library, prints. No modelling
happens here.

:mod:`.app` owns the Typer app; :mod:`.options` the options several commands share;
:mod:`.common` the helpers they share (console, one-line errors, loading, parameters, seeds,
progress, executors, recording). Each command group has its own module and registers its
commands on the app when imported. Imports run one way, so there is no cycle: this package
imports the command modules, they import :mod:`.common`, :mod:`.options` and :mod:`.app`,
and those import nothing of the CLI.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import typer

from detente.cli.app import app

__all__ = ["app", "main"]

COMMAND_MODULES = (
    "run",  # run, explain
    "mc",
    "scenario",  # validate, show, convert, evidence, models
    "backtest",
    "report",
    "runs",
    "sensitivity",
    "advise",  # advise, discover
    "serve",
    "shocks",  # shock, compare
    "causal",
    "summit",
    "sweep",
)
"""The modules that register commands, in the order of ``detente --help``."""

COMMANDS = {
    "run": "run",
    "explain": "run",
    "mc": "mc",
    "validate": "scenario",
    "show": "scenario",
    "convert": "scenario",
    "evidence": "scenario",
    "models": "scenario",
    "backtest": "backtest",
    "report": "report",
    "runs": "runs",
    "sensitivity": "sensitivity",
    "advise": "advise",
    "discover": "advise",
    "serve": "serve",
    "shock": "shocks",
    "compare": "shocks",
    "causal": "causal",
    "summit": "summit",
    "sweep": "sweep",
}
"""Each command (or group) and the module that registers it (tests check it against the app)."""

for _module in COMMAND_MODULES:
    import_module(f"{__name__}.{_module}")


def app_for(name: str) -> typer.Typer:
    """The ``detente`` program holding only the command (or group) ``name`` and the program's
    own options: what :func:`main` runs for ``detente NAME ...``.

    Typer builds, and reads the annotations of, every command of an app each time it runs;
    building one is what makes a command start quickly (``detente --help`` builds all)."""
    one = typer.Typer(
        name=app.info.name,
        help=app.info.help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    one.registered_callback = app.registered_callback
    one.registered_commands = [c for c in app.registered_commands if _name(c) == name]
    one.registered_groups = [g for g in app.registered_groups if g.name == name]
    return one


def _name(info: Any) -> str:
    return str(info.name or typer.main.get_command_name(info.callback.__name__))


def main() -> None:
    """Entry point of the ``detente`` script: the named command alone, else the whole app
    (``--help``, ``--version``, a mistyped command and its suggestions)."""
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name in COMMANDS:
        app_for(name)(prog_name="detente")
    else:
        app(prog_name="detente")
