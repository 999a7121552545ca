"""Plain-language explanation of an ``eu`` trace, round by round."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detente.models.eu_kernel import KIND_NONE, KINDS
from detente.trace import Labels, Trace

F = NDArray[np.float64]

MAX_MOVES_EXPLAINED = 12
"""Moves named per round; a round with more lists the largest."""


def _num(v: float) -> str:
    """A position for prose: four significant digits, no trailing zeros."""
    return f"{v:.4g}"


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" if k == 1 else f"{k} {noun}s"


def _signed(v: float) -> str:
    text = f"{v:+.2f}"
    return text.replace("-", "−")


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _move_sentence(move: Mapping[str, Any], labels: Labels) -> str:
    who, by = labels.actor(move["actor"]), labels.actor(move["from"])
    old, new = _num(move["old"]), _num(move["new"])
    a, b = _signed(move["eu_challenge"]), _signed(move["eu_opponent"])
    if move["kind"] == "conflict":
        return (
            f"{who} lost a conflict to {by} and moved from {old} to {new} (both expected to gain"
            f" from a challenge, {by} {b} and {who} only {a}, as {who} reckoned)"
        )
    if move["kind"] == "compromise":
        return (
            f"{who} accepted {_possessive(by)} compromise offer and moved from {old} to {new}"
            f" because {by} expected {b} from challenging {who} and {who} only {a} from"
            f" challenging {by}"
        )
    return (
        f"{who} gave in to {by} and moved from {old} to {new} ({who} expected {a} from"
        f" challenging {by}, a loss larger than {_possessive(by)} expected gain of {b})"
    )


def _centre_sentence(med: F, mean: F, t: int) -> str:
    if med[t] == med[t - 1]:
        text = f"the median stays at {_num(med[t])}"
    else:
        text = f"the median moved from {_num(med[t - 1])} to {_num(med[t])}"
    if mean[t] == mean[t - 1]:
        return f"{text} and the mean at {_num(mean[t])}"
    return f"{text} and the mean from {_num(mean[t - 1])} to {_num(mean[t])}"


def _quiet_rounds(quiet: list[int], med: F) -> list[str]:
    """One line for a run of consecutive rounds in which nobody moved."""
    if not quiet:
        return []
    span = f"round {quiet[0]}" if len(quiet) == 1 else f"rounds {quiet[0]}–{quiet[-1]}"
    return [f"  {span}: nobody moved; the median stays at {_num(med[quiet[-1]])}."]


def explain(trace: Trace, labels: Labels) -> list[str]:
    """Plain sentences per issue and round: who accepted whose offer, and how the centre moved.

    Examples
    --------
    >>> import numpy as np
    >>> from detente.scenario import Scenario
    >>> from detente.models import run
    >>> sc = Scenario.model_validate({"name": "t", "issues": [{"id": "k"}], "actors": [
    ...     {"id": a, "capability": c, "stances": {"k": {"position": x, "salience": s}}}
    ...     for a, c, x, s in [("A", 1, 0, 0.9), ("B", 1, 50, 0.5), ("C", 2, 100, 0.3)]]})
    >>> lines = explain(run(sc, "eu", params={"rounds": 1}), Labels())
    >>> lines[0].startswith("k: 3 actors")
    True
    """
    lines: list[str] = []
    variant = trace.details.get("variant", "")
    for issue, info in trace.details.get("issues", {}).items():
        med = np.asarray(info["median_by_round"], dtype=np.float64)
        mean = np.asarray(info["mean_by_round"], dtype=np.float64)
        name = labels.issue(issue)
        rounds = info["rounds"]
        if np.isnan(med[0]):
            lines.append(f"{name}: no actor has weight here, so no forecast.")
            continue
        lines.append(
            f"{name}: {_count(len(info['actors']), 'actor')}, {_count(len(rounds), 'round')}"
            f" ({variant} variant);"
            f" the weighted median starts at {_num(med[0])} and ends at {_num(med[-1])}, the"
            f" forecast; the weighted mean goes from {_num(mean[0])} to {_num(mean[-1])}."
        )
        quiet: list[int] = []
        for entry in rounds:
            t = int(entry["round"])
            moves = [mv for mv in entry["accepted"] if mv["kind"] != KINDS[KIND_NONE]]
            if not moves:
                quiet.append(t)
                continue
            lines.extend(_quiet_rounds(quiet, med))
            quiet = []
            moves.sort(key=lambda mv: -abs(mv["new"] - mv["old"]))
            shown = [_move_sentence(mv, labels) for mv in moves[:MAX_MOVES_EXPLAINED]]
            if len(moves) > MAX_MOVES_EXPLAINED:
                shown.append(f"{len(moves) - MAX_MOVES_EXPLAINED} more actors moved less")
            centre = _centre_sentence(med, mean, t)
            lines.append(f"  round {t}: " + "; ".join(shown) + f"; {centre}.")
        lines.extend(_quiet_rounds(quiet, med))
    return lines
