"""The ``detente`` command (Typer + Rich): parses, calls the library, prints. No modelling
happens here.

:mod:`.program` owns the Typer app; :mod:`.options` the options several commands share;
:mod:`.common` the helpers they share (console, one-line errors, loading, parameters, seeds,
progress, executors, recording). Each command group has its own module and registers its
commands on the app when imported. Imports run one way, so there is no cycle: this package
imports the command modules, they import :mod:`.common`, :mod:`.options` and :mod:`.program`,
and those import nothing of the CLI.

``detente NAME ...`` imports the one module that registers ``NAME`` (start-up time: each
command module brings its own libraries); :data:`app`, the whole program, imports them all.
"""

from __future__ import annotations

import atexit
import gc
import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from detente.cli.program import app

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


def _program(*names: str) -> typer.Typer:
    """The Typer app with the commands of ``names`` (command modules) registered."""
    for name in names:
        import_module(f"{__name__}.{name}")
    from detente.cli.program import app as program

    # listed (--help) in COMMAND_MODULES' order, whichever module was imported first
    rank = {f"{__name__}.{m}": i for i, m in enumerate(COMMAND_MODULES)}
    program.registered_commands.sort(key=lambda c: rank.get(c.callback.__module__, -1))
    return program


def __getattr__(name: str) -> Any:
    """``app``: the whole program, every command registered (``detente --help`` lists them)."""
    if name == "app":
        return _program(*COMMAND_MODULES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def app_for(name: str) -> typer.Typer:
    """The ``detente`` program holding only the command (or group) ``name`` and the program's
    own options: what :func:`main` runs for ``detente NAME ...``.

    Typer builds, and reads the annotations of, every command of an app each time it runs;
    building one is what makes a command start quickly (``detente --help`` builds all)."""
    app = _program(COMMANDS[name])
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
    # At exit the interpreter runs full garbage collections over every object the libraries
    # made (about 0.1 s): frozen objects are skipped. Nothing of detente's needs collecting
    # then: stores commit and files are flushed before a command returns.
    atexit.register(gc.freeze)
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name in COMMANDS:
        app_for(name)(prog_name="detente")
    else:
        _program(*COMMAND_MODULES)(prog_name="detente")
