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

from importlib import import_module

from detente.cli.app import app, main

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

for _module in COMMAND_MODULES:
    import_module(f"{__name__}.{_module}")
