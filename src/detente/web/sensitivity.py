"""What a worker process does for a sensitivity analysis (``POST /api/sensitivity``): run
:func:`detente.sim.sensitivity.analyse` as ``detente sensitivity`` does, record it and build the
page's summary.

Like the Monte Carlo job of :mod:`detente.web.work`, it runs in a process of
:class:`detente.web.workers.WorkerPool`, reports its progress (evaluations done) back to the
server and records the run itself when the store can be shared between processes, through
:func:`detente.store.run_and_record` as the command line does; with an in-memory store it hands
the run to the server to record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detente.models import get_model
from detente.scenario import Scenario
from detente.store.recording import RunJob
from detente.web import views
from detente.web.stored import store_for
from detente.web.work import Outcome

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SensitivityTask:
    scenario: Scenario
    model: str
    method: str
    samples: int | None
    seed: int
    params: dict[str, Any]
    spread: dict[str, float] = field(default_factory=dict)
    store_url: str | None = None
    """Where the worker records the run; None: the server records it."""


def sensitivity(task: SensitivityTask, progress: Progress | None = None) -> Outcome:
    """A sensitivity analysis, recorded; ``answer`` is the page's summary."""
    from detente.sim.sensitivity import MissingSALibError, Spread, analyse

    sc, name = task.scenario, get_model(task.model).name
    spread = Spread(**task.spread) if task.spread else None
    try:
        result = analyse(
            sc,
            name,
            task.method,
            samples=task.samples,
            seed=task.seed,
            params=task.params,
            spread=spread,
            progress=progress,
        )
    except MissingSALibError as exc:
        raise ValueError(str(exc)) from None
    # Recorded as `detente sensitivity` records it, so reports and `runs show` read it alike.
    options = {
        "method": task.method,
        "samples": task.samples,
        "spread": [f"{k}={v:g}" for k, v in task.spread.items()],
        "issue": None,
    }
    job = RunJob(
        "sensitivity",
        sc,
        [name],
        {name: task.params, "options": options},
        task.seed,
        result.to_dict(),
    )
    answer = views.sensitivity_view(result).model_dump(mode="json")
    if task.store_url is None:
        return Outcome(answer=answer, record=job)
    done = job.record_in(store_for(task.store_url))
    return Outcome(answer={**answer, "run_id": done.run_id})
