"""``detente summit``: two actors' bilateral bargain, its solutions, its agreement as a shock."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.options import (
    FormatOpt,
    InputFormatOpt,
    OutputFormat,
    ScenarioArg,
    SeedOpt,
    SheetOpt,
)
from detente.cli.program import app
from detente.scenario import Scenario
from detente.summit import AGREEMENT, SummitError, SummitResult, agreement_shock, summit

BetweenOpt = Annotated[
    tuple[str, str] | None,
    typer.Option(
        "--between",
        help="The two actors who meet, e.g. --between usa russia (default: the scenario's"
        " summit: section).",
    ),
]


@app.command("summit")
def summit_command(
    scenario: ScenarioArg = "ukraine-talks",
    between: BetweenOpt = None,
    issues: Annotated[
        str | None,
        typer.Option(
            "--issues", help="Comma-separated summit issues (default: all both have a stance on)."
        ),
    ] = None,
    discount: Annotated[
        str | None,
        typer.Option(
            "--discount",
            help="Per-round discount factors for Rubinstein's game, e.g. usa=0.95,russia=0.9"
            " (default 0.95).",
        ),
    ] = None,
    no_deal: Annotated[
        str | None,
        typer.Option(
            "--no-deal",
            help="What failing to agree gives: a model whose forecast is the outcome"
            " (default median), or stated utilities usa=0.4,russia=0.3.",
        ),
    ] = None,
    solution: Annotated[
        str | None,
        typer.Option(
            "--solution",
            help="The agreement that becomes the shock: nash, kalai-smorodinsky,"
            " asymmetric-nash or rubinstein (default nash).",
        ),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--first", help="Who proposes first in Rubinstein's game.")
    ] = None,
    write_shock: Annotated[
        Path | None,
        typer.Option(
            "--write-shock",
            help=f"Write the agreement as shock {AGREEMENT!r} to a YAML file for --shocks-file.",
        ),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the frontier as a PNG.")
    ] = None,
    seed: SeedOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    sheet: SheetOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Two actors' bargain over several issues: the frontier, Nash, Kalai-Smorodinsky,
    capability-weighted Nash, Rubinstein; the agreement as a shock for compare."""
    with common.user_errors():
        if output_format == OutputFormat.csv:
            raise UsageError("--format: summit prints a table or json")
        sc = common.load(scenario, sheet, input_format)
        try:
            result = summit(
                sc,
                list(between) if between else None,
                issues=_names(issues) if issues else None,
                no_deal=_no_deal(no_deal),
                discount=_numbers("--discount", discount) if discount else None,
                first=first,
                solution=solution,
                seed=common.seed_of(sc, seed),
            )
            shock = agreement_shock(result) if write_shock is not None else None
        except SummitError as exc:
            raise UsageError(str(exc)) from None
        if shock is not None and write_shock is not None:
            _write_shock(write_shock, shock.model_dump(mode="json", exclude_none=True))
        if plot is not None:
            _write_plot(result, plot)
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
    else:
        given = (between, issues, discount, no_deal, solution, first)
        _table(sc, result, as_written=sc.summit is not None and all(x is None for x in given))


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _numbers(option: str, text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in _names(text):
        key, sep, value = item.partition("=")
        try:
            number = float(value)
            if not sep or not key.strip() or not math.isfinite(number):
                raise ValueError
        except ValueError:
            raise UsageError(f"{option} {item!r}: expected ACTOR=NUMBER, e.g. usa=0.95") from None
        out[key.strip()] = number
    return out


def _no_deal(text: str | None) -> str | dict[str, float] | None:
    if text is None:
        return None
    return _numbers("--no-deal", text) if "=" in text else text.strip()


def _write_shock(path: Path, shock: dict[str, object]) -> None:
    from detente.io.common import atomic_write

    text = yaml.safe_dump(
        {"shocks": {AGREEMENT: shock}}, sort_keys=False, allow_unicode=True, width=100
    )
    data = text.encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
    common.console(stderr=True).print(
        f"[dim]wrote shock {AGREEMENT!r} to {path} (use: --shocks-file {path} --shocks"
        f" {AGREEMENT})[/]",
        highlight=False,
    )


def _write_plot(result: SummitResult, path: Path) -> None:
    from detente.io.common import atomic_write
    from detente.report.plots import MissingExtraError
    from detente.report.structure import frontier_png

    try:
        png = frontier_png(result)
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None
    atomic_write(path, lambda fh: fh.write(png))
    common.console(stderr=True).print(f"[dim]wrote {path}[/]", highlight=False)


def _table(sc: Scenario, result: SummitResult, *, as_written: bool) -> None:
    """The summit as tables; ``as_written``: the scenario's own summit, which `compare` derives
    ``summit-agreement`` from (another summit goes through a shock file)."""
    out = common.console()
    a, b = result.between
    names = {x.id: x.title for x in sc.actors}
    d = result.disagreement
    out.print(
        f"{sc.name}: summit of {names[a]} and {names[b]} on {len(result.issues)} issues;"
        f" no deal: {result.no_deal_basis} ({a} {d[0]:.3f}, {b} {d[1]:.3f})",
        highlight=False,
    )
    terms = Table(title="Positions (salience) and agreed values", title_justify="left")
    terms.add_column("issue")
    terms.add_column(a, justify="right")
    terms.add_column(b, justify="right")
    terms.add_column("no deal", justify="right")
    for name in result.solutions:
        terms.add_column(name, justify="right")
    for k, issue in enumerate(result.issues):
        nd = result.no_deal[k]
        row = [
            sc.issue(issue).title,
            f"{result.ideal[0, k]:g} ({result.salience[0, k]:g})",
            f"{result.ideal[1, k]:g} ({result.salience[1, k]:g})",
            "–" if math.isnan(nd) else f"{nd:.1f}",
        ]
        for found in result.solutions.values():
            row.append("–" if found is None else f"{found.outcome[k]:.1f}")
        terms.add_row(*row)
    out.print(terms)
    utilities = Table(title="Utilities and gains over no deal", title_justify="left")
    for column in ("solution", a, b, f"gain {a}", f"gain {b}"):
        utilities.add_column(column, justify="left" if column == "solution" else "right")
    for name, found in result.solutions.items():
        label = name + (" (chosen)" if name == result.chosen else "")
        if found is None:
            utilities.add_row(label, "–", "–", "–", "–")
            continue
        utilities.add_row(
            label,
            f"{found.utilities[0]:.3f}",
            f"{found.utilities[1]:.3f}",
            f"{found.gains[0]:+.3f}",
            f"{found.gains[1]:+.3f}",
        )
    out.print(utilities)
    out.print(
        f"asymmetric Nash weights {a} by its capability share {result.alpha:.2f}; Rubinstein:"
        f" discount {a} {result.discount[0]:g}, {b} {result.discount[1]:g}, {result.first}"
        " proposes first",
        highlight=False,
    )
    for note in result.notes:
        out.print(f"[yellow]note:[/] {note}", highlight=False)
    if result.agreement is not None:
        how = (
            f"detente compare {sc.name} --shocks {AGREEMENT}"
            if as_written
            else f"--write-shock FILE, then detente compare {sc.name} --shocks-file FILE"
            f" --shocks {AGREEMENT}"
        )
        out.print(
            f"[dim]The multi-party models from the {result.chosen} agreement: {how}[/]",
            highlight=False,
        )
