"""Charts of advice (lever gains) and scenario discovery (PRIM's peeling trajectory), drawn
with matplotlib (the optional ``plot`` extra)."""

from __future__ import annotations

import io
import textwrap
from typing import Any

import numpy as np

from detente.report.plots import _pyplot
from detente.sim.advise import AdviceResult
from detente.sim.discover import DiscoveryResult

KIND_COLOURS = {
    "position": "C0",
    "salience": "C1",
    "persuade-position": "C2",
    "persuade-salience": "C4",
    "shock": "C3",
    "custom": "C5",
}
"""One colour per lever kind (other kinds: grey)."""


def _png(plt: Any, fig: Any) -> bytes:
    buf = io.BytesIO()
    # No creation date in the file's metadata: the same result gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def advice_chart(result: AdviceResult, top: int = 15) -> bytes:
    """A PNG of the ``top`` levers: median gain (bar) with its 5–95 % interval over the draws
    (whiskers), best on top, coloured by kind.

    Raises :class:`~detente.report.plots.MissingExtraError` when matplotlib is not installed.
    """
    plt = _pyplot()
    shown = result.levers[: max(1, top)]
    k = max(1, len(shown))
    fig, ax = plt.subplots(figsize=(9.0, 1.4 + 0.34 * k))
    y = np.arange(len(shown))[::-1]
    med = np.array([lv.gain[0] for lv in shown])
    lo = np.array([lv.gain[1] for lv in shown])
    hi = np.array([lv.gain[2] for lv in shown])
    colours = [KIND_COLOURS.get(lv.kind, "0.5") for lv in shown]
    if shown:
        ax.barh(y, med, color=colours, alpha=0.85)
        ax.errorbar(
            med, y, xerr=[med - lo, hi - med], fmt="none", ecolor="black", capsize=2, lw=0.8
        )
        labels = [textwrap.shorten(lv.label, 60, placeholder="…") for lv in shown]
        ax.set_yticks(y, labels, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no lever", ha="center", va="center", transform=ax.transAxes)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(
        f"gain for {result.actor}: points closer to its positions (salience-weighted, 0–100)"
    )
    kinds = list(dict.fromkeys(lv.kind for lv in shown))
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=KIND_COLOURS.get(kind, "0.5"), alpha=0.85)
        for kind in kinds
    ]
    if handles:
        ax.legend(handles, kinds, fontsize=8, loc="lower right")
    ax.set_title(
        f"{result.scenario}: levers for {result.actor} under {result.model}\n{result.draws}"
        f" draws, seed {result.seed}; bar = median gain, whiskers = 5–95 %",
        fontsize=10,
    )
    fig.tight_layout()
    return _png(plt, fig)


def trajectory_chart(result: DiscoveryResult) -> bytes:
    """A PNG of PRIM's peeling trajectory per box (coverage against density, coloured by the
    number of inputs restricted), the selected peeled box circled and the final box (after
    pasting and pruning) starred; with the base rate as a dashed line.

    Raises :class:`~detente.report.plots.MissingExtraError` when matplotlib is not installed.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 5.0))
    scatter = None
    top = 1
    for box in result.boxes:
        top = max(top, *(len(p.limits) for p in box.trajectory))
    for b, box in enumerate(result.boxes, start=1):
        cov = [p.coverage for p in box.trajectory]
        den = [p.density for p in box.trajectory]
        ax.plot(cov, den, color="0.7", linewidth=0.8, zorder=1)
        scatter = ax.scatter(
            cov,
            den,
            c=[len(p.limits) for p in box.trajectory],
            cmap="viridis",
            vmin=0,
            vmax=top,
            s=18,
            zorder=2,
        )
        sel = box.trajectory[box.selected]
        ax.scatter(
            [sel.coverage], [sel.density], s=120, facecolors="none", edgecolors="C3", zorder=3
        )
        ax.scatter([box.coverage], [box.density], marker="*", s=180, color="C3", zorder=4)
        ax.annotate(
            f"box {b}",
            (box.coverage, box.density),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
        )
    if scatter is not None:
        fig.colorbar(scatter, ax=ax, label="inputs restricted")
    else:
        ax.text(0.5, 0.5, "no box", ha="center", va="center", transform=ax.transAxes)
    ax.axhline(result.base_rate, color="0.4", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage (share of the draws with the outcome inside the box)")
    ax.set_ylabel("density (share of the box's draws with the outcome)")
    ax.grid(alpha=0.3)
    ax.set_title(
        f"{result.scenario}: {result.threshold.condition} under {result.model},"
        f" {result.draws} draws (base rate {result.base_rate:.0%}); ○ selected, ★ final",
        fontsize=9,
    )
    fig.tight_layout()
    return _png(plt, fig)
