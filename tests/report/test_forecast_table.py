"""The forecast table's consensus column."""

from __future__ import annotations

from rich.console import Console

from detente import io
from detente.models import run
from detente.report.tables import forecast_table, model_consensus


def _text(tables: list) -> str:
    console = Console(width=400, record=True)
    for t in tables:
        console.print(t)
    return console.export_text()


def test_the_consensus_leaves_out_the_ensemble_which_mixes_the_other_models() -> None:
    sc = io.load_default()
    traces = [run(sc, m, seed=0) for m in ("mean", "median", "ensemble")]
    text = _text(forecast_table(sc, traces, width=400))
    header = next(line for line in text.splitlines() if "consensus" in line)
    column = [c.strip() for c in header.split("┃")].index("consensus")
    for k, issue in enumerate(sc.issues):
        row = next(line for line in text.splitlines() if issue.title in line)
        shown = float([c.strip() for c in row.split("│")][column])
        want, _, _ = model_consensus([t.forecast[k] for t in traces[:2]])
        assert shown == round(want, 1)
    # On this scenario the ensemble would move the consensus: the check can tell them apart.
    with_ensemble, _, _ = model_consensus([t.forecast[0] for t in traces])
    assert abs(with_ensemble - model_consensus([t.forecast[0] for t in traces[:2]])[0]) > 1
