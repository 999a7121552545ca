"""The ``detente`` Typer app itself: the commands register on :data:`app` from their modules."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="detente",
    help="Forecast where a multi-party negotiation lands and how a shock moves it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from detente import __version__

        typer.echo(f"detente {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Forecast where a multi-party negotiation lands and how a shock moves it."""
    # Numba compiles detente's kernels only where a job pays for it; say so once, on stderr
    from detente.models import accel

    accel.announce_compiling()


def main() -> None:
    """Entry point of the ``detente`` script (the commands are registered by importing
    :mod:`detente.cli`, which the script does)."""
    app()
