"""Analyses: how each model of a recorded run reached its forecast, in sentences."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from detente.web import stored
from detente.web.routes.common import api_router
from detente.web.routes.store import NO_RUN, RunId, on_stored
from detente.web.schemas import ExplainOut
from detente.web.services import Services


def router(services: Services) -> APIRouter:
    routes = api_router(tags=["analysis"])

    @routes.get(
        "/api/runs/{run_id}/explain",
        responses={**NO_RUN, 422: {"description": "not a single run (a Monte Carlo, ...)"}},
    )
    async def explain_run(request: Request, run_id: RunId) -> ExplainOut:
        """How each model of a recorded run reached its forecast (``detente explain``), with
        the scenario's names (in a worker process)."""
        out: ExplainOut = await on_stored(services, request, run_id, stored.explain)
        return out

    return routes
