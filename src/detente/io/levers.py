"""Reading a levers file for ``detente advise`` (:class:`detente.scenario.levers.LeverPlan`).

Errors name the file, the line and the field, as for scenarios: a field of the wrong type, a
target that is no actor of the scenario, a lever of one's own that does not fit it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from detente.io.common import read_bytes
from detente.io.yaml_io import _error, _located, _parse, _walk
from detente.scenario import Scenario
from detente.scenario.levers import LeverPlan


def read_levers(path: Path | str, data: bytes, scenario: Scenario) -> LeverPlan:
    """The lever plan in the YAML ``data`` read from ``path``, checked against ``scenario``.

    Raises :class:`~detente.errors.InputError` naming file, line and field.

    Examples
    --------
    >>> from detente.io import load_default
    >>> plan = read_levers("x.yaml", b"kinds: [shock]\\ntargets: [eu]\\n", load_default())
    >>> plan.kinds, plan.targets
    (('shock',), ('eu',))
    """
    file = str(path)
    top = "a mapping of lever settings (kinds, position_steps, ..., levers)"
    node, obj = _parse(file, data, top, fast=False)
    try:
        plan = LeverPlan.model_validate(obj)
    except ValidationError as exc:
        raise _located(file, node, obj, exc) from None
    actors = [a.id for a in scenario.actors]
    for n, target in enumerate(plan.targets or ()):
        if target not in actors:
            at, where = _walk(node, ("targets", n))
            raise _error(
                file,
                at,
                where,
                f"expected an actor of scenario {scenario.name!r} ({', '.join(actors)})",
                target,
            )
    # a lever of one's own must fit the scenario as a shock would
    merged = scenario.model_copy(update={"shocks": {**scenario.shocks, **plan.levers}})
    for name in plan.levers:
        problem = merged.shock_problem(name)
        if problem is not None:
            c, field, message = problem
            loc: tuple[int | str, ...] = ("levers", name)
            if c is not None:
                loc = (*loc, "changes", c)
            at, where = _walk(node, (*loc, field))
            raise _error(file, at, where, message.split(": ", 1)[-1])
    return plan


def load_levers(path: Path | str, scenario: Scenario) -> LeverPlan:
    """:func:`read_levers` of the file at ``path`` (a regular file of at most 64 MiB)."""
    p = Path(path)
    return read_levers(p, read_bytes(p), scenario)
