"""The run store: the most recent runs, one run as recorded, its view on the page and its HTML
report."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.requests import Request

from detente.store.errors import RunNotFoundError
from detente.store.record import RunRecord, RunSummary
from detente.web import stored
from detente.web.routes.common import api_router, fail
from detente.web.schemas import StoredRun
from detente.web.services import Services

RunId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]

NO_RUN: dict[int | str, dict[str, Any]] = {404: {"description": "no run"}}


def record(services: Services, run_id: int) -> RunRecord:
    """Run ``run_id`` from the store; 404 if there is none."""
    try:
        return services.store().get(run_id)
    except RunNotFoundError:
        fail(404, f"no run {run_id}")


async def on_stored(services: Services, request: Request, run_id: int, task: Any) -> Any:
    """``task`` (of :mod:`detente.web.stored`) on run ``run_id`` in a worker: the worker reads
    the run itself where it can open the same store, else the run is read here and sent."""
    given = None
    if services.worker_store_url is None:
        given = await anyio.to_thread.run_sync(record, services, run_id)
    argument = stored.StoredTask(run_id, services.worker_store_url, given, services.docs_dir)
    return await services.work(request, task, argument)


def router(services: Services) -> APIRouter:
    routes = api_router(tags=["runs"])

    @routes.get("/api/runs")
    def list_runs(
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[RunSummary]:
        """The most recent runs, newest first."""
        return list(services.store().list(limit=limit))

    @routes.get("/api/runs/{run_id}", responses=NO_RUN)
    def get_run(run_id: RunId) -> RunRecord:
        """One run: its scenario, models, parameters, seed and results."""
        return record(services, run_id)

    @routes.get(
        "/api/runs/{run_id}/view",
        responses=NO_RUN,
        response_model_exclude_unset=True,  # only the results of the run's kind; pivots where given
    )
    async def view_run(request: Request, run_id: RunId) -> StoredRun:
        """One run as the page shows it: its scenario and its results, read back through the
        results' own types (in a worker process)."""
        found: StoredRun = await on_stored(services, request, run_id, stored.view)
        return found

    @routes.get(
        "/api/runs/{run_id}/report",
        response_class=Response,
        responses={
            200: {"content": {"text/html": {}}, "description": "the report, as a download"},
            **NO_RUN,
        },
    )
    async def run_report(request: Request, run_id: RunId) -> Response:
        """The run's self-contained HTML report (``detente report ID``), as a download."""
        page: bytes = await on_stored(services, request, run_id, stored.report)
        return Response(
            page,
            media_type="text/html; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="run-{run_id}.html"'},
        )

    return routes
