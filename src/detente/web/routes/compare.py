"""Shocks against the baseline under several models (in a worker process, recorded)."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
from fastapi import APIRouter
from fastapi.responses import Response
from starlette.requests import Request

from detente.models import get_model, models
from detente.scenario import Scenario
from detente.web import work
from detente.web.budget import Budget, compare_memory, run_memory
from detente.web.routes import common
from detente.web.schemas import CompareRequest, ComparisonOut
from detente.web.services import Services


def estimate(
    budget: Budget, sc: Scenario, variants: dict[str, list[str]], names: Sequence[str]
) -> int:
    """Memory of a comparison, after checking every shocked scenario's size and rounds."""
    from detente.sim.shocks import apply_shocks

    def runs(scenario: Scenario) -> list[int]:
        out = []
        for name in names:
            spec = get_model(name)
            params = spec.resolve_params(scenario.parameters.get(spec.name, {}))
            budget.check_rounds(spec, params)
            out.append(run_memory(spec, params, len(scenario.actors), len(scenario.issues)))
        return out

    baseline = runs(sc)
    shocked: list[int] = []
    for variant, applied in variants.items():
        scenario, _notes = apply_shocks(sc, applied)
        budget.check_size(scenario, f"the scenario with {variant!r}")
        shocked.append(max(runs(scenario)))
    total = compare_memory(baseline, shocked)
    shown = f"a comparison of {len(variants)} variant(s) under {', '.join(names)}"
    budget.check_memory(total, shown)
    return total


def router(services: Services) -> APIRouter:
    routes = common.api_router(tags=["models"])
    budget = services.budget

    @routes.post(
        "/api/compare",
        response_model=ComparisonOut,
        max_body_size=budget.max_body_bytes,
        response_model_exclude_unset=True,  # pivots only where the method gives them
    )
    async def compare_shocks(request: Request, body: CompareRequest) -> Response:
        """The baseline against each shock (or all together) under each model."""
        sc = body.scenario
        budget.check_size(sc)
        shocks = body.shocks or list(sc.shocks)
        if not shocks:
            common.fail(422, f"scenario {sc.name!r} defines no shocks")
        budget.check_shocks(len(shocks))
        names = list(dict.fromkeys(common.model(m).name for m in body.models or []))
        names = names or [spec.name for spec in models()]
        seed = common.seed(sc, body.seed)
        variants = {"+".join(shocks): list(shocks)} if body.combined else {s: [s] for s in shocks}
        try:
            await anyio.to_thread.run_sync(estimate, budget, sc, variants, names)
        except ValueError as exc:
            common.fail(422, str(exc))
        task = work.CompareTask(sc, shocks, names, seed, body.combined, services.worker_store_url)
        return await services.answer(await services.work(request, work.compare_shocks, task))

    return routes
