"""Charts, drawn with matplotlib (the optional ``plot`` extra), imported only when used."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from detente.scenario import Scenario
from detente.sim.montecarlo import MCResult

PLOT_EXTRA = "plots need the 'plot' extra: pip install 'detente[plot]'"


class MissingExtraError(RuntimeError):
    """An optional dependency is not installed; the message says how to install it."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError(PLOT_EXTRA) from None
    # Agg renders to files without a display and is the same on every machine.
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def fan_chart(result: MCResult, scenario: Scenario) -> bytes:
    """A PNG fan chart: per issue, the 5–95 % and 25–75 % bands and the median of the
    ``c·s``-weighted median position after each round, over all replicates.

    Raises :class:`MissingExtraError` when matplotlib is not installed.
    """
    plt = _pyplot()
    fan = result.fan()  # [5 quantiles, round, issue]
    m = len(result.issues)
    cols = min(3, m)
    rows = -(-m // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False, sharex=True
    )
    rounds = np.arange(fan.shape[1])
    for j, issue_id in enumerate(result.issues):
        ax = axes[j // cols][j % cols]
        issue = scenario.issue(issue_id)
        ax.fill_between(rounds, fan[0, :, j], fan[4, :, j], alpha=0.2, color="C0", label="5–95 %")
        ax.fill_between(rounds, fan[1, :, j], fan[3, :, j], alpha=0.35, color="C0", label="25–75 %")
        ax.plot(rounds, fan[2, :, j], color="C0", marker="o" if len(rounds) == 1 else None)
        for t in result.thresholds:
            if t.issue == issue_id:
                ax.axhline(t.value, color="C3", linestyle="--", linewidth=0.8)
        ax.set_title(issue.title, fontsize=10)
        ax.set_ylim(issue.scale.min, issue.scale.max)
        ax.grid(alpha=0.3)
    for j in range(m, rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("round")
    axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle(
        f"{result.scenario}: {result.model}, {result.draws} draws, seed {result.seed}"
        " (c·s-weighted median position)",
        fontsize=10,
    )
    fig.tight_layout()
    buf = io.BytesIO()
    # No creation date in the file's metadata: the same result gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def error_boxplot(result: Any) -> bytes:
    """A PNG of each model's absolute errors in a backtest (a box per model, mean marked),
    best model (lowest MAE) first. ``result`` is a ``BacktestResult``.

    Raises :class:`MissingExtraError` when matplotlib is not installed.
    """
    plt = _pyplot()
    scores = sorted((s for s in result.scores if s.issues), key=lambda s: s.mae)
    errors = [
        [
            abs(r.forecasts[s.model] - r.outcome)
            for r in result.issues
            if np.isfinite(r.forecasts.get(s.model, np.nan))
        ]
        for s in scores
    ]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(scores), 4.2), dpi=120)
    ax.boxplot(errors, showmeans=True, meanprops={"marker": "D", "markersize": 5})
    ax.set_xticks(range(1, len(scores) + 1), [s.model for s in scores])
    ax.set_ylabel("absolute error (points of the 0–100 scale)")
    ax.set_title(
        f"Backtest on {len(result.issues)} issues ({result.capability} capabilities):"
        " errors per model, ◆ = mean",
        fontsize=9,
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
