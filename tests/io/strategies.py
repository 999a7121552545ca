"""Hypothesis strategies for valid scenarios, with every kind of source and uncertainty."""

from __future__ import annotations

import math
import string
from typing import Any

from hypothesis import strategies as st

from detente.scenario import (
    Actor,
    Anchor,
    Beta,
    Citation,
    Distribution,
    Estimate,
    Issue,
    Judgement,
    Normal,
    PlusMinus,
    Scale,
    Scenario,
    Shock,
    Stance,
    Threshold,
    Triangular,
    Uniform,
    ValueChange,
)

# Text as people type it: letters (any script), digits, punctuation, symbols and spaces,
# plus a few strings YAML would read as something else if written unquoted.
_CHARS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))
_TRICKY = st.sampled_from(
    ["no", "yes", "null", "~", "true", "1e5", "0x1F", "12:30", "2024-06-01", "- a", "#x", "'q'"]
)
text = st.one_of(st.text(_CHARS, min_size=0, max_size=30), _TRICKY)
ids = (
    st.one_of(
        st.text(string.ascii_letters + string.digits + "-_ ./é", min_size=1, max_size=12),
        _TRICKY,
    )
    .map(str.strip)
    .filter(bool)
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)

sources = st.one_of(
    st.builds(
        Anchor,
        document=st.text("0123456789abcdef", min_size=64, max_size=64),
        start=st.integers(0, 10_000),
        end=st.integers(10_001, 20_000),
        file=st.none() | text,
        note=st.none() | text,
    ),
    st.builds(
        Citation,
        publication=text.filter(bool),
        table=st.none() | text,
        year=st.none() | st.integers(1800, 2100),
        figure=st.none() | text,
        url=st.none() | text,
        note=st.none() | text,
    ),
    st.builds(Judgement, rationale=text.filter(bool)),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | finite | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def _uncertainty(draw: st.DrawFn, value: float, lo: float, hi: float) -> Distribution | None:
    """None, or a distribution valid for ``value`` in ``[lo, hi]`` (``hi`` may be inf)."""
    kind = draw(st.sampled_from(["none", "none", "pm", "normal", "beta", "uniform", "tri"]))
    if kind == "none":
        return None
    if kind == "pm":
        return PlusMinus(width=draw(st.floats(1e-6, 1e6)))
    if kind == "normal":
        return Normal(sd=draw(st.floats(1e-6, 1e6)))
    if kind == "beta" and math.isfinite(hi):
        return Beta(a=draw(st.floats(0.05, 50.0)), b=draw(st.floats(0.05, 50.0)))
    if math.isinf(hi):
        low = value * draw(st.floats(0.01, 0.99))
        high = value * (1.0 + draw(st.floats(0.01, 10.0)))
    else:
        low = lo + (value - lo) * draw(st.floats(0.0, 0.99))
        high = hi - (hi - value) * draw(st.floats(0.0, 0.99))
    inside = low > 0 if math.isinf(hi) else lo <= low and high <= hi
    if not (low < value < high and inside):
        return PlusMinus(width=1.0)  # value at (or rounding to) an end: no room for low < value
    cls = Uniform if kind == "uniform" else Triangular
    return cls(low=low, high=high)


@st.composite
def scenarios(draw: st.DrawFn, *, with_sources: bool = True) -> Scenario:
    """1–6 issues with random scales, 1–8 actors, some estimates sourced inline or by id, some
    uncertain, and a few thresholds."""
    source_table = draw(st.dictionaries(ids, sources, max_size=3)) if with_sources else {}
    refs = list(source_table)

    def estimate(value: float, lo: float = 0.0, hi: float = 1.0) -> Estimate:
        dist = _uncertainty(draw, value, lo, hi) if with_sources else None
        if not with_sources:
            return Estimate(value=value)
        choice = draw(st.sampled_from(["none", "inline", "ref"] if refs else ["none", "inline"]))
        if choice == "none":
            return Estimate(value=value, uncertainty=dist)
        if choice == "ref":
            return Estimate(value=value, source=draw(st.sampled_from(refs)), uncertainty=dist)
        return Estimate(value=value, source=draw(sources), uncertainty=dist)

    issue_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    issues = []
    for iid in issue_ids:
        lo = draw(st.floats(-1e6, 1e6))
        hi = lo + draw(st.floats(1e-3, 1e6))
        default = draw(st.booleans())
        scale = (
            Scale()
            if default
            else Scale(
                min=lo,
                max=hi,
                min_label=draw(st.none() | text),
                max_label=draw(st.none() | text),
                unit=draw(st.none() | text),
            )
        )
        issues.append(
            Issue(
                id=iid,
                label=draw(st.none() | text),
                description=draw(st.none() | text),
                scale=scale,
            )
        )
    actors = []
    for aid in draw(st.lists(ids, min_size=1, max_size=8, unique=True)):
        stances = {}
        for issue in issues:
            if draw(st.integers(0, 4)) == 0:
                continue  # a missing stance
            pos = draw(st.floats(issue.scale.min, issue.scale.max))
            sal = draw(st.floats(0.0, 1.0))
            stances[issue.id] = Stance(
                position=estimate(pos, issue.scale.min, issue.scale.max),
                salience=estimate(sal),
            )
        actors.append(
            Actor(
                id=aid,
                label=draw(st.none() | text),
                description=draw(st.none() | text),
                capability=estimate(draw(st.floats(1e-9, 1e9, exclude_min=True)), 0.0, math.inf),
                risk=draw(st.none() | st.floats(-1.0, 1.0)),
                stances=stances,
            )
        )
    parameters: dict[str, dict[str, Any]] = draw(
        st.dictionaries(ids, st.dictionaries(text, json_values, max_size=3), max_size=2)
    )
    thresholds = [
        Threshold(
            issue=issue.id,
            op=draw(st.sampled_from([">=", "<=", ">", "<"])),
            value=draw(st.floats(issue.scale.min, issue.scale.max)),
            label=draw(st.none() | text),
        )
        for issue in draw(st.lists(st.sampled_from(issues), max_size=3))
    ]
    shocks: dict[str, Shock] = {}
    for name in draw(st.lists(ids, max_size=2, unique=True)):
        changes = []
        for _ in range(draw(st.integers(0, 3))):
            actor = draw(st.sampled_from(actors))
            field = draw(st.sampled_from(["capability", "position", "salience"]))
            stanced = list(actor.stances)
            if field != "capability" and not stanced:
                field = "capability"
            op = draw(st.sampled_from(["set", "add", "scale", "toward"]))
            others = [
                a.id
                for a in actors
                if field == "capability" or all(k in a.stances for k in stanced[:1])
            ]
            changes.append(
                ValueChange(
                    actor=actor.id,
                    issue=None if field == "capability" else stanced[0],
                    field=field,
                    op=op,
                    value=draw(st.floats(0.0, 1.0) if op == "toward" else st.floats(-1e6, 1e6)),
                    toward=draw(st.sampled_from(others)) if op == "toward" else None,
                )
            )
        shocks[name] = Shock(
            label=draw(st.none() | text),
            description=draw(st.none() | text),
            source=draw(st.none() | sources) if with_sources else None,
            changes=changes,
        )
    return Scenario(
        name=draw(ids),
        description=draw(st.none() | text),
        seed=draw(st.none() | st.integers(0, 2**64 - 1)),
        issues=issues,
        actors=actors,
        parameters=parameters,
        sources=source_table,
        thresholds=thresholds,
        shocks=shocks,
    )
