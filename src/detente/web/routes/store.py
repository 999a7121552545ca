"""The run store: the most recent runs and one run as recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from detente.store.record import RunRecord, RunSummary
from detente.web.routes.common import api_router, fail
from detente.web.services import Services

RunId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


def router(services: Services) -> APIRouter:
    routes = api_router(tags=["runs"])

    @routes.get("/api/runs")
    def list_runs(
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[RunSummary]:
        """The most recent runs, newest first."""
        return list(services.store().list(limit=limit))

    @routes.get("/api/runs/{run_id}", responses={404: {"description": "no run"}})
    def get_run(run_id: RunId) -> RunRecord:
        """One run: its scenario, models, parameters, seed and results."""
        try:
            return services.store().get(run_id)
        except LookupError:
            fail(404, f"no run {run_id}")

    return routes
