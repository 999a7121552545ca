"""Advice in the web app: an actor's levers ranked under uncertainty (``detente advise``).

* ``POST /api/advise``: the ranked levers (the library's ``AdviceResult.to_dict()``), run in
  a worker process within the budget's time and memory and recorded in the store;
* ``GET /advise``: a page that asks for it for a built-in scenario (``?scenario=NAME``) and
  shows the best levers, their gain intervals and the caveat.

Every lever runs on every draw: the request's model evaluations, ``(levers + 1) × draws``, are
bounded like Monte Carlo draws (the budget's ``max_draws``); narrow the kinds or the draws to
fit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from detente.scenario import Scenario
from detente.web import work
from detente.web.budget import MAX_SEED, monte_carlo_memory
from detente.web.routes import common
from detente.web.routes.pages import STATIC
from detente.web.services import Services


class AdviceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    actor: str = Field(min_length=1, max_length=80, description="the actor advised (its id)")
    model: str = "median"
    draws: int = Field(default=100, ge=1, description="draws, the same for every lever")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    params: dict[str, Any] = Field(default_factory=dict)
    kinds: list[str] | None = Field(
        default=None, description="lever kinds to try (default: every kind; GET /api/info)"
    )


class AdviceOut(BaseModel):
    """The recorded run's id and the library's result (``AdviceResult.to_dict()``)."""

    model_config = ConfigDict(frozen=True)

    run_id: int = Field(description="the run's id in the store (GET /api/runs/{id})")
    result: dict[str, Any]


def advise_work(task: tuple[Any, ...], _progress: Any = None) -> work.Outcome:
    """In a worker: the lever search, as a run for the server to record."""
    from detente.scenario.levers import LeverPlan
    from detente.sim.advise import advise

    scenario, actor, model, draws, seed, params, kinds = task
    plan = LeverPlan(kinds=tuple(kinds) if kinds is not None else None)
    result = advise(scenario, actor, model, draws, seed, params=params, plan=plan)
    results = result.to_dict()
    options = {"actor": actor, "draws": draws, "kinds": kinds}
    record = work.Record(
        "advise", scenario, [model], {model: params, "options": options}, seed, results
    )
    return work.Outcome(answer={"result": results}, record=record)


def router(services: Services) -> APIRouter:
    routes = common.api_router(tags=["advice"])
    budget = services.budget

    @routes.get("/advise", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "advise.html", media_type="text/html")

    @routes.post(
        "/api/advise",
        response_model=AdviceOut,
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
    async def advise_levers(request: Request, body: AdviceRequest) -> Response:
        """Rank an actor's levers by how far each moves the forecast toward its positions."""
        from detente.scenario.levers import LeverPlan
        from detente.sim.advise import LEVER_KINDS, LeverContext, candidates

        sc, spec = body.scenario, common.model(body.model)
        budget.check_size(sc)
        actors = [a.id for a in sc.actors]
        if body.actor not in actors:
            common.fail(422, f"unknown actor {body.actor!r} (actors: {', '.join(actors)})")
        unknown = [k for k in body.kinds or [] if k not in LEVER_KINDS]
        if unknown:
            common.fail(
                422,
                f"unknown lever kind {', '.join(map(repr, unknown))}"
                f" (kinds: {', '.join(LEVER_KINDS)})",
            )
        params = common.params(spec, sc, body.params)
        budget.check_rounds(spec, params)
        seed = common.seed(sc, body.seed)
        plan = LeverPlan(kinds=tuple(body.kinds) if body.kinds is not None else None)
        try:
            levers = len(candidates(LeverContext(sc, sc.arrays(), body.actor, spec.name, plan)))
        except ValueError as exc:
            common.fail(422, str(exc))
        evaluations = (levers + 1) * body.draws
        if evaluations > budget.max_draws:
            raise budget.refuse(
                "max_draws",
                evaluations,
                f"{levers} levers on {body.draws:,} draws need {evaluations:,} model evaluations"
                " (fewer draws or kinds fit)",
            )
        n, m = len(sc.actors), len(sc.issues)
        chunk = common.default_chunk(spec)
        estimate = monte_carlo_memory(spec, params, n, m, evaluations, chunk, sc)
        budget.check_memory(estimate, f"{evaluations:,} {spec.name} evaluations")
        task = (sc, body.actor, spec.name, body.draws, seed, dict(body.params), body.kinds)
        return await services.answer(await services.work(request, advise_work, task))

    return routes
