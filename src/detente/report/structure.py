"""Pictures of a scenario's structure: its causal map (a graph) and its summit's frontier.

Each picture comes as a Plotly figure (for HTML reports and the web app; ``report`` extra) and
as a PNG drawn with matplotlib (for ``detente causal --plot`` and ``detente summit --plot``;
``plot`` extra). The map is laid out in layers: levers on the left, each other concept one
layer right of its furthest cause (cycles are cut at the longest simple chain), outcomes last;
edges are blue when positive and red when negative, thicker for larger weights.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detente.causal import Settlement, settle
from detente.report.plots import _pyplot
from detente.scenario import CausalMap

if TYPE_CHECKING:
    from detente.summit import SummitResult

F = NDArray[np.float64]

POSITIVE, NEGATIVE = "#1f77b4", "#d62728"
_KIND_COLOUR = {"lever": "#2ca02c", "indicator": "#7f7f7f", "outcome": "#9467bd"}
_SOLUTION_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")  # matplotlib's C0-C3


def layout(cmap: CausalMap) -> tuple[F, F]:
    """``(x, y)`` per concept: ``x`` its layer (levers 0, outcomes last), ``y`` its place in the
    layer (top to bottom in map order), both scaled to [0, 1]."""
    ids = list(cmap.ids)
    index = {c: i for i, c in enumerate(ids)}
    depth = np.zeros(len(ids))
    kinds = [c.kind for c in cmap.concepts]
    # longest chain from a lever, by relaxation (at most C passes, so cycles stop)
    for _ in range(len(ids)):
        changed = False
        for edge in cmap.edges:
            i, j = index[edge.cause], index[edge.effect]
            if depth[i] + 1 > depth[j] and depth[i] + 1 < len(ids):
                depth[j] = depth[i] + 1
                changed = True
        if not changed:
            break
    inner = [depth[i] for i, kind in enumerate(kinds) if kind != "outcome"]
    right = (max(inner) if inner else 0.0) + 1.0  # outcomes in a column of their own
    for i, kind in enumerate(kinds):
        if kind == "lever":
            depth[i] = 0.0
        elif kind == "outcome":
            depth[i] = right
    layers = sorted(set(depth.tolist()))
    x = np.array([layers.index(d) for d in depth], dtype=float)
    x = x / max(x.max(), 1.0)
    y = np.zeros(len(ids))
    for d in layers:
        members = [i for i in range(len(ids)) if depth[i] == d]
        for rank, i in enumerate(members):
            y[i] = 1.0 - (rank + 1) / (len(members) + 1)
    return x, y


def _label(cmap: CausalMap, concept_id: str) -> str:
    return cmap.concept(concept_id).title


def causal_map_figure(go: Any, cmap: CausalMap, settled: Settlement | None = None) -> Any:
    """A Plotly figure of the map: concepts (hover: kind and settled value) and signed edges."""
    settled = settled if settled is not None else settle(cmap)
    x, y = layout(cmap)
    index = {c: i for i, c in enumerate(cmap.ids)}
    fig = go.Figure()
    annotations = []
    for edge in cmap.edges:
        i, j = index[edge.cause], index[edge.effect]
        w = edge.weight.value
        annotations.append(
            {
                "x": float(x[j]),
                "y": float(y[j]),
                "ax": float(x[i]),
                "ay": float(y[i]),
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 3,
                "arrowsize": 1.0,
                "arrowwidth": 1.0 + 3.0 * abs(w),
                "arrowcolor": POSITIVE if w >= 0 else NEGATIVE,
                "opacity": 0.75,
                "standoff": 14,
                "startstandoff": 14,
                "text": "",
            }
        )
    mid_x = [(x[index[e.cause]] + x[index[e.effect]]) / 2 for e in cmap.edges]
    mid_y = [(y[index[e.cause]] + y[index[e.effect]]) / 2 for e in cmap.edges]
    fig.add_trace(
        go.Scatter(
            x=mid_x,
            y=mid_y,
            mode="markers",
            marker={"size": 6, "color": "rgba(0,0,0,0)"},
            text=[
                f"{_label(cmap, e.cause)} → {_label(cmap, e.effect)}: {e.weight.value:+g}"
                for e in cmap.edges
            ],
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    for kind in ("lever", "indicator", "outcome"):
        members = [i for i, c in enumerate(cmap.concepts) if c.kind == kind]
        if not members:
            continue
        fig.add_trace(
            go.Scatter(
                x=x[members],
                y=y[members],
                mode="markers+text",
                name=f"{kind}s",
                marker={"size": 22, "color": _KIND_COLOUR[kind], "line": {"width": 1}},
                text=[cmap.concepts[i].title for i in members],
                textposition="bottom center",
                customdata=[[float(settled.final[0, i])] for i in members],
                hovertemplate="%{text}: settled value %{customdata[0]:.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        annotations=annotations,
        height=max(360, 70 * max(np.bincount((x * 10).astype(int)).max(), 4)),
    )
    fig.update_xaxes(visible=False, range=[-0.12, 1.12])
    fig.update_yaxes(visible=False, range=[-0.08, 1.02])
    return fig


def frontier_figure(go: Any, result: SummitResult) -> Any:
    """A Plotly figure of the summit: the Pareto frontier in the two actors' utilities, the
    no-deal point, the bargaining set and each solution."""
    a, b = result.between
    f = result.frontier.utilities
    d = result.disagreement
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=f[:, 0],
            y=f[:, 1],
            mode="lines+markers",
            name="Pareto frontier",
            line={"color": "#444", "width": 2},
            marker={"size": 5},
            hovertemplate=f"{a} %{{x:.3f}}, {b} %{{y:.3f}}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[d[0]],
            y=[d[1]],
            mode="markers",
            name=f"no deal ({result.no_deal_basis})",
            marker={"size": 11, "symbol": "x", "color": "#000"},
            hovertemplate=f"no deal: {a} %{{x:.3f}}, {b} %{{y:.3f}}<extra></extra>",
        )
    )
    symbols = {"nash": "circle", "kalai-smorodinsky": "diamond", "asymmetric-nash": "square"}
    for k, (name, solution) in enumerate(result.solutions.items()):
        if solution is None:
            continue
        fig.add_trace(
            go.Scatter(
                x=[solution.utilities[0]],
                y=[solution.utilities[1]],
                mode="markers",
                name=name + (" (chosen)" if name == result.chosen else ""),
                marker={
                    "size": 13 if name == result.chosen else 10,
                    "symbol": symbols.get(name, "triangle-up"),
                    "color": _SOLUTION_COLOURS[k % len(_SOLUTION_COLOURS)],
                    "line": {"width": 1, "color": "#000"},
                },
                hovertemplate=f"{name}: {a} %{{x:.3f}}, {b} %{{y:.3f}}<extra></extra>",
            )
        )
    fig.add_vline(x=float(d[0]), line={"dash": "dot", "color": "#999", "width": 1})
    fig.add_hline(y=float(d[1]), line={"dash": "dot", "color": "#999", "width": 1})
    fig.update_xaxes(title=f"utility of {a}", range=[min(f[:, 0].min(), d[0]) - 0.03, 1.02])
    fig.update_yaxes(title=f"utility of {b}", range=[min(f[:, 1].min(), d[1]) - 0.03, 1.02])
    fig.update_layout(height=460)
    return fig


def _png(fig: Any, plt: Any) -> bytes:
    buf = io.BytesIO()
    # No creation date in the file's metadata: the same input gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def causal_map_png(cmap: CausalMap, settled: Settlement | None = None, title: str = "") -> bytes:
    """The map as a PNG (matplotlib): concepts coloured by kind with their settled values,
    signed edges. Raises :class:`~detente.report.plots.MissingExtraError` without matplotlib."""
    plt = _pyplot()
    settled = settled if settled is not None else settle(cmap)
    x, y = layout(cmap)
    index = {c: i for i, c in enumerate(cmap.ids)}
    fig, ax = plt.subplots(figsize=(10, 6))
    for edge in cmap.edges:
        i, j = index[edge.cause], index[edge.effect]
        w = edge.weight.value
        ax.annotate(
            "",
            xy=(x[j], y[j]),
            xytext=(x[i], y[i]),
            arrowprops={
                "arrowstyle": "-|>",
                "color": POSITIVE if w >= 0 else NEGATIVE,
                "lw": 0.8 + 3.0 * abs(w),
                "alpha": 0.7,
                "shrinkA": 14,
                "shrinkB": 14,
                "connectionstyle": "arc3,rad=0.08",
            },
        )
        ax.text(
            (x[i] + x[j]) / 2,
            (y[i] + y[j]) / 2,
            f"{w:+g}",
            fontsize=7,
            color=POSITIVE if w >= 0 else NEGATIVE,
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    for i, concept in enumerate(cmap.concepts):
        ax.scatter(
            [x[i]],
            [y[i]],
            s=420,
            color=_KIND_COLOUR[concept.kind],
            zorder=3,
            edgecolors="black",
            linewidths=0.6,
        )
        ax.text(
            x[i],
            y[i] - 0.055,
            f"{concept.title}\n{settled.final[0, i]:.2f}",
            ha="center",
            va="top",
            fontsize=8,
        )
    for kind, colour in _KIND_COLOUR.items():
        ax.scatter([], [], s=80, color=colour, label=f"{kind}s", edgecolors="black")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=8, frameon=False)
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.12, 1.04)
    ax.axis("off")
    note = settled.note()
    ax.set_title(
        (title or "Causal map")
        + " (settled values below each concept)"
        + ("\n" + note if note else ""),
        fontsize=10,
    )
    fig.tight_layout()
    return _png(fig, plt)


def frontier_png(result: SummitResult) -> bytes:
    """The summit's frontier as a PNG (matplotlib)."""
    plt = _pyplot()
    a, b = result.between
    f = result.frontier.utilities
    d = result.disagreement
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    ax.plot(f[:, 0], f[:, 1], "-o", color="#444", markersize=3, label="Pareto frontier")
    ax.plot([d[0]], [d[1]], "kx", markersize=9, label=f"no deal ({result.no_deal_basis})")
    ax.axvline(d[0], color="#999", linestyle=":", linewidth=0.8)
    ax.axhline(d[1], color="#999", linestyle=":", linewidth=0.8)
    markers = {"nash": "o", "kalai-smorodinsky": "D", "asymmetric-nash": "s", "rubinstein": "^"}
    for k, (name, solution) in enumerate(result.solutions.items()):
        if solution is None:
            continue
        ax.plot(
            [solution.utilities[0]],
            [solution.utilities[1]],
            markers.get(name, "^"),
            color=f"C{k}",
            markersize=10 if name == result.chosen else 7,
            markeredgecolor="black",
            label=name + (" (chosen)" if name == result.chosen else ""),
        )
    ax.set_xlabel(f"utility of {a}")
    ax.set_ylabel(f"utility of {b}")
    ax.set_title(
        f"{result.scenario}: summit of {a} and {b} on {len(result.issues)} issues", fontsize=10
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return _png(fig, plt)
