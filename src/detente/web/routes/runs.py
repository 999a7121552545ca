"""The models and one run of a model (in a worker process, recorded in the store)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.requests import Request

from detente.models import models
from detente.web import views, work
from detente.web.routes import common
from detente.web.schemas import ModelInfo, RunRequest, RunResult
from detente.web.services import Services


def router(services: Services) -> APIRouter:
    routes = common.api_router(tags=["models"])
    budget = services.budget

    @routes.get("/api/models")
    def list_models() -> list[ModelInfo]:
        """The models and their parameters."""
        return [views.model_info(spec) for spec in models()]

    @routes.post(
        "/api/run",
        response_model=RunResult,
        max_body_size=budget.max_body_bytes,
        responses={
            413: {
                "description": "the body is over the budget, or the record over the store's limit"
            },
            422: {"description": "bad input, or over a limit of the budget (named)"},
            429: {"description": "too many requests are waiting for a worker"},
            503: {"description": "over the time or memory limit while running, or the store"},
        },
    )
    async def run_model(request: Request, body: RunRequest) -> Response:
        """Run one model (in a worker process); the run is recorded in the store."""
        sc, spec = body.scenario, common.model(body.model)
        budget.check_size(sc)
        seed = common.seed(sc, body.seed)
        budget.check_run(spec, common.params(spec, sc, body.params), sc)
        task = work.RunTask(sc, spec.name, dict(body.params), seed, services.worker_store_url)
        return await services.answer(await services.work(request, work.run_model, task))

    return routes
