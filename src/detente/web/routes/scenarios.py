"""Scenarios: the built-in ones by name, uploaded files read in a worker, validation."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, File, UploadFile
from starlette.requests import Request

from detente import io
from detente.web import views, work
from detente.web.guard import UPLOAD_PATH, body_limit, too_large
from detente.web.routes.common import api_router, fail
from detente.web.schemas import BuiltinScenario, LoadedScenario, Problem, ValidationReport
from detente.web.services import Services
from detente.web.uploads import display_name


def router(services: Services) -> APIRouter:
    routes = api_router(tags=["scenarios"])
    budget = services.budget

    @routes.get("/api/scenarios")
    def builtin_scenarios() -> list[BuiltinScenario]:
        """The scenarios shipped with detente."""
        out = []
        for name in io.builtin_names():
            sc = io.load_builtin(name).scenario
            out.append(BuiltinScenario(name=name, description=sc.description))
        return out

    @routes.get(
        "/api/scenarios/{name}",
        responses={404: {"description": "no built-in scenario of that name"}},
    )
    def builtin_scenario(name: str) -> LoadedScenario:
        """A built-in scenario, by a name of ``GET /api/scenarios`` (never a path)."""
        if name not in io.builtin_names():
            fail(404, f"unknown scenario {name!r} (built-in: {', '.join(io.builtin_names())})")
        loaded = io.load_builtin(name)
        return LoadedScenario(
            scenario=loaded.scenario, format=loaded.format, notes=list(loaded.notes), origin=name
        )

    @routes.post(
        UPLOAD_PATH,
        max_body_size=body_limit(UPLOAD_PATH, budget)[1],
        form_limits={"max_files": 1, "max_fields": 4},
        responses={
            413: {"description": "the file is larger than the server accepts"},
            422: {"description": "the file cannot be read: the reader's one-line message"},
        },
    )
    async def upload(
        request: Request,
        file: Annotated[UploadFile, File(description="YAML, CSV, XLSX, KTAB CSV or XML")],
    ) -> LoadedScenario:
        """Read an uploaded scenario file with detente's readers (in a worker process)."""
        data = await file.read(budget.max_upload_bytes + 1)
        if len(data) > budget.max_upload_bytes:
            raise too_large(UPLOAD_PATH, budget, None)
        shown = display_name(file.filename or "")
        try:
            path = await anyio.to_thread.run_sync(services.uploads.save, shown, data)
        except ValueError as exc:
            fail(422, str(exc))
        kept = False
        try:
            loaded: LoadedScenario = await services.work(
                request, work.read_upload, work.UploadTask(path, shown)
            )
            budget.check_size(loaded.scenario, shown)
            kept = True
        finally:
            if kept:
                await anyio.to_thread.run_sync(services.uploads.kept, path)
            else:  # unreadable (or too large) uploads are not kept
                await anyio.to_thread.run_sync(services.uploads.discard, path)
        return loaded

    @routes.post("/api/validate", max_body_size=budget.max_body_bytes)
    def validate(
        scenario: Annotated[dict[str, Any], Body(description="a scenario's JSON, possibly bad")],
    ) -> ValidationReport:
        """Every problem of a scenario, with the actor, issue and field it concerns."""
        budget.check_size(scenario)
        found: list[Problem] = views.problems(scenario)
        return ValidationReport(ok=not found, problems=found)

    return routes
