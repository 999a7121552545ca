"""Analyses: how each model of a recorded run reached its forecast, in sentences; which
uncertain inputs move each forecast (a sensitivity analysis, as a background job)."""

from __future__ import annotations

import importlib.util
from typing import Any

import anyio
from fastapi import APIRouter
from starlette.requests import Request

from detente.web import sensitivity as work
from detente.web import stored
from detente.web.budget import sensitivity_evaluations, sensitivity_memory
from detente.web.jobs import TooManyJobs
from detente.web.routes import common
from detente.web.routes.store import NO_RUN, RunId, on_stored
from detente.web.schemas import ExplainOut, JobInfo, SensitivityRequest, SensitivitySummary
from detente.web.services import Services


def router(services: Services) -> APIRouter:
    routes = common.api_router(tags=["analysis"])
    budget = services.budget

    @routes.get(
        "/api/runs/{run_id}/explain",
        responses={**NO_RUN, 422: {"description": "not a single run (a Monte Carlo, ...)"}},
    )
    async def explain_run(request: Request, run_id: RunId) -> ExplainOut:
        """How each model of a recorded run reached its forecast (``detente explain``), with
        the scenario's names (in a worker process)."""
        out: ExplainOut = await on_stored(services, request, run_id, stored.explain)
        return out

    @routes.post(
        "/api/sensitivity",
        status_code=202,
        max_body_size=budget.max_body_bytes,
        responses={
            422: {"description": "bad input, or over a limit of the budget (named)"},
            429: {"description": "too many jobs or requests are waiting"},
            501: {"description": "SALib (the sensitivity extra) is not installed"},
        },
    )
    async def start_sensitivity(body: SensitivityRequest) -> JobInfo:
        """Start a sensitivity analysis (``detente sensitivity``) in the background; poll
        ``GET /api/jobs/{id}``. Its evaluations count against the budget's draws."""
        from detente.sim.sensitivity import DEFAULT_SAMPLES, SALIB_EXTRA, Spread, inputs

        sc, spec = body.scenario, common.model(body.model)
        budget.check_size(sc)
        seed = common.seed(sc, body.seed)
        params = common.params(spec, sc, body.params)  # bad parameters are reported now
        budget.check_rounds(spec, params)
        if spec.batch is None:
            common.fail(422, f"model {spec.name!r} has no batch run (sensitivity needs one)")
        if importlib.util.find_spec("SALib") is None:
            common.fail(501, SALIB_EXTRA)
        samples = body.samples if body.samples is not None else DEFAULT_SAMPLES[body.method]
        if body.method == "morris" and samples < 2:
            common.fail(422, f"samples must be at least 2 for morris, got {samples}")
        try:
            spread = Spread(**body.spread) if body.spread else None
        except ValueError as exc:
            common.fail(422, str(exc))
        found, _notes = await anyio.to_thread.run_sync(inputs, sc, spread)
        d = len(found)
        evaluations = sensitivity_evaluations(body.method, samples, d)
        what = f"a {body.method} analysis of {d:,} inputs with {samples:,} samples"
        budget.check_evaluations(evaluations, what)
        n, m = len(sc.actors), len(sc.issues)
        estimate = sensitivity_memory(spec, params, n, m, d, evaluations)
        budget.check_memory(estimate, f"{what} ({evaluations:,} {spec.name} evaluations)")
        task = work.SensitivityTask(
            sc,
            spec.name,
            body.method,
            body.samples,
            seed,
            dict(body.params),
            {str(k): v for k, v in body.spread.items()},
            services.worker_store_url,
        )

        def start(progress: Any) -> Any:
            return services.pool.submit(
                work.sensitivity,
                task,
                seconds=budget.max_seconds,
                memory_bytes=budget.max_memory_bytes,
                progress=progress,
            )

        async def finish(outcome: Any) -> tuple[SensitivitySummary, int]:
            answer, run_id = await services.run_id(outcome)
            return SensitivitySummary.model_validate(answer), run_id

        try:
            return services.jobs.submit(
                evaluations, start, finish, common.error_text, kind="sensitivity"
            )
        except TooManyJobs as exc:
            common.fail(429, str(exc))

    return routes
