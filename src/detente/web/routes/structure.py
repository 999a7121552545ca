"""A scenario's structure: its causal map with levers set, and its two-leader summit.

* ``POST /api/causal``: the map settled before and after setting levers, the scenario values
  the move changes, and the map as a Plotly figure;
* ``POST /api/summit``: two actors' frontier and bargaining solutions, the frontier as a
  Plotly figure;
* ``GET /structure``: a page that draws both for a built-in scenario (``?scenario=NAME``).

Both run in a worker process within the budget's time and memory (the summit's no-deal point
runs a model).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from detente.scenario import Scenario
from detente.web.budget import MAX_SEED, run_memory
from detente.web.routes import common
from detente.web.routes.pages import STATIC
from detente.web.services import Services


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CausalRequest(_In):
    scenario: Scenario
    levers: dict[str, float] = Field(
        default_factory=dict, description="lever settings, e.g. {'sanctions': 1}"
    )


class SummitRequest(_In):
    scenario: Scenario
    between: list[str] | None = Field(
        default=None, min_length=2, max_length=2, description="default: the scenario's summit"
    )
    issues: list[str] | None = None
    no_deal: str | dict[str, float] | None = Field(
        default=None, description="a model name, or each actor's stated no-deal utility"
    )
    discount: dict[str, float] | None = None
    first: str | None = None
    solution: str | None = None
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


class StructureOut(BaseModel):
    """The library's result (``to_dict()``) and the picture as a Plotly figure."""

    model_config = ConfigDict(frozen=True)

    result: dict[str, Any]
    figure: dict[str, Any]


def causal_work(task: tuple[Scenario, dict[str, float]], _progress: Any = None) -> dict[str, Any]:
    """In a worker: set the levers, draw the map settled after the move."""
    import plotly.graph_objects as go

    from detente.report.structure import causal_map_figure
    from detente.sim.levers import set_levers

    scenario, levers = task
    result = set_levers(scenario, levers)
    assert result.shocked.causal is not None
    figure = causal_map_figure(go, result.shocked.causal, result.after)
    return {"result": result.to_dict(), "figure": json.loads(figure.to_json())}


def summit_work(task: tuple[Scenario, dict[str, Any]], _progress: Any = None) -> dict[str, Any]:
    """In a worker: hold the summit, draw its frontier."""
    import plotly.graph_objects as go

    from detente.report.structure import frontier_figure
    from detente.summit import summit

    scenario, options = task
    result = summit(scenario, **options)
    figure = frontier_figure(go, result)
    return {"result": result.to_dict(), "figure": json.loads(figure.to_json())}


def router(services: Services) -> APIRouter:
    routes = common.api_router(tags=["structure"])
    budget = services.budget

    @routes.get("/structure", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "structure.html", media_type="text/html")

    @routes.post("/api/causal", max_body_size=budget.max_body_bytes)
    async def causal(request: Request, body: CausalRequest) -> StructureOut:
        """The causal map settled with the levers set, and what the move changes."""
        sc = body.scenario
        budget.check_size(sc)
        if sc.causal is None:
            common.fail(422, f"scenario {sc.name!r} has no causal map (causal:)")
        # a bad lever fails in the worker as bad input: 422 naming it
        answer = await services.work(request, causal_work, (sc, dict(body.levers)))
        return StructureOut(**answer)

    @routes.post("/api/summit", max_body_size=budget.max_body_bytes)
    async def summit(request: Request, body: SummitRequest) -> StructureOut:
        """Two actors' bargaining set, solutions and frontier."""
        sc = body.scenario
        budget.check_size(sc)
        options: dict[str, Any] = {
            "issues": body.issues,
            "no_deal": body.no_deal,
            "discount": body.discount,
            "first": body.first,
            "solution": body.solution,
            "seed": common.seed(sc, body.seed),
        }
        model = body.no_deal if isinstance(body.no_deal, str) else None
        if model is None and body.no_deal is None and sc.summit is not None:
            model = sc.summit.no_deal if isinstance(sc.summit.no_deal, str) else None
        if model is not None or body.no_deal is None:
            spec = common.model(model or "median")
            params = common.params(spec, sc, {})
            budget.check_rounds(spec, params)
            budget.check_memory(
                run_memory(spec, params, len(sc.actors), len(sc.issues)),
                f"the no-deal run of {spec.name}",
            )
        task = (sc, {"between": body.between, **options})
        answer = await services.work(request, summit_work, task)
        return StructureOut(**answer)

    return routes
