"""Tornado chart of a sensitivity analysis (matplotlib, the optional ``plot`` extra)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from detente.report.plots import _pyplot
from detente.scenario import Scenario
from detente.sim.sensitivity import SensitivityResult


def tornado_chart(
    result: SensitivityResult,
    scenario: Scenario,
    issues: Sequence[str] | None = None,
    top: int = 10,
) -> bytes:
    """A PNG tornado chart: per issue (one panel each), horizontal bars of the ``top`` inputs'
    ranking index (``ST`` with ``S1`` inside for sobol, ``mu_star`` for morris) with its 95 %
    confidence, most influential on top.

    Raises :class:`~detente.report.plots.MissingExtraError` when matplotlib is not installed.
    """
    plt = _pyplot()
    chosen = list(issues) if issues else list(result.issues)
    m = len(chosen)
    cols = min(2, m)
    rows = -(-m // cols)
    k = max(1, min(top, len(result.inputs)))
    fig, axes = plt.subplots(
        rows, cols, figsize=(6.4 * cols, 0.8 + 0.32 * k * rows + 0.6 * rows), squeeze=False
    )
    key = result.key
    for j, issue_id in enumerate(chosen):
        ax = axes[j // cols][j % cols]
        ranked = result.ranking[issue_id][:k]
        ax.set_title(scenario.issue(issue_id).title, fontsize=10)
        if not ranked:
            ax.text(0.5, 0.5, "not analysed", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        y = np.arange(len(ranked))[::-1]
        names = [r.input for r in ranked]
        val = np.array([r.values[key] for r in ranked])
        conf = np.array([r.values[f"{key}_conf"] for r in ranked])
        ax.barh(y, val, xerr=conf, color="C0", alpha=0.8, label=key, capsize=2)
        if result.method == "sobol":
            ax.barh(y, [r.values["S1"] for r in ranked], height=0.4, color="C1", label="S1")
        else:
            ax.plot([r.values["sigma"] for r in ranked], y, "o", color="C3", label="sigma")
        ax.set_yticks(y, names, fontsize=8)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    for j in range(m, rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.suptitle(
        f"{result.scenario}: {result.model}, {result.method} ({result.evaluations} evaluations,"
        f" seed {result.seed})",
        fontsize=10,
    )
    fig.tight_layout()
    buf = io.BytesIO()
    # No creation date in the file's metadata: the same result gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
