"""Monte Carlo runs as background jobs with progress, and how far any job has got."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from detente.models import ModelSpec
from detente.web import work
from detente.web.budget import monte_carlo_memory
from detente.web.jobs import TooManyJobs
from detente.web.routes import common
from detente.web.schemas import JobInfo, MonteCarloRequest, MonteCarloSummary
from detente.web.services import Services


def progress_chunk(spec: ModelSpec, draws: int) -> int:
    """Replicates per chunk of a web Monte Carlo run: about twenty progress steps, at most the
    model's own chunk (the numbers do not depend on the chunk size)."""
    return min(common.default_chunk(spec), max(25, math.ceil(draws / 20)))


def router(services: Services) -> APIRouter:
    routes = common.api_router(tags=["models"])
    budget = services.budget

    @routes.post(
        "/api/mc",
        status_code=202,
        max_body_size=budget.max_body_bytes,
        responses={429: {"description": "too many jobs or requests are waiting"}},
    )
    async def start_monte_carlo(body: MonteCarloRequest) -> JobInfo:
        """Start a Monte Carlo run in the background; poll ``GET /api/jobs/{id}``."""
        sc, spec = body.scenario, common.model(body.model)
        budget.check_size(sc)
        draws = body.draws
        budget.check_draws(draws)
        seed = common.seed(sc, body.seed)
        params = common.params(spec, sc, body.params)  # bad parameters are reported now
        budget.check_rounds(spec, params)
        chunk = progress_chunk(spec, draws)
        n, m = len(sc.actors), len(sc.issues)
        estimate = monte_carlo_memory(spec, params, n, m, draws, chunk, sc)
        budget.check_memory(estimate, f"{draws:,} {spec.name} draws of {n:,} actors × {m:,} issues")
        task = work.MonteCarloTask(
            sc, spec.name, dict(body.params), seed, draws, chunk, services.worker_store_url
        )

        def start(progress: Any) -> Any:
            return services.pool.submit(
                work.monte_carlo,
                task,
                seconds=budget.max_seconds,
                memory_bytes=budget.max_memory_bytes,
                progress=progress,
            )

        async def finish(outcome: work.Outcome) -> tuple[MonteCarloSummary, int]:
            answer, run_id = await services.run_id(outcome)
            return MonteCarloSummary.model_validate(answer), run_id

        try:
            return services.jobs.submit(draws, start, finish, common.error_text)
        except TooManyJobs as exc:
            common.fail(429, str(exc))

    @routes.get("/api/jobs/{job_id}", responses={404: {"description": "no job"}})
    def job(job_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]) -> JobInfo:
        """How far a background job has got; its result once done."""
        found = services.jobs.get(job_id)
        if found is None:
            common.fail(404, f"no job {job_id}")
        return found

    return routes
