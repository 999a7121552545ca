"""The web app: an HTTP API over the library, and one page that uses it.

:func:`create_app` builds the FastAPI application; ``detente serve`` runs it with uvicorn
(:mod:`detente.web.server`). Nothing a request sends is ever used as a path: built-in scenarios
are chosen by name from :func:`detente.io.builtin_names`, documents by SHA-256 from the
``docs_dir`` folder, uploads are saved under ``upload_dir`` with a generated name, and runs go
to the store given at start.

Every request has a budget (:class:`detente.web.budget.Budget`): its body, the scenario's
actors and issues, the model's rounds, the draws, the shocks and the memory its run would need
are checked before any work starts (413/422 naming the limit); the work itself (reading an
upload, a run, a Monte Carlo, a comparison) runs in a worker process
(:mod:`detente.web.workers`) that is killed when it outlasts the time limit or outgrows the
memory budget, when its client goes away, and when the server stops.

This module only assembles the application: the routes live in :mod:`detente.web.routes`,
one router per area, and share one :class:`~detente.web.services.Services`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

from detente import __version__
from detente.store.errors import RecordTooLargeError, StoreError
from detente.web.budget import Budget, OverBudget
from detente.web.guard import Guard, StrictJSONRoute, too_large
from detente.web.routes import (
    advise,
    analysis,
    compare,
    evidence,
    info,
    mc,
    pages,
    runs,
    scenarios,
    store,
    structure,
)
from detente.web.routes.common import finite
from detente.web.routes.pages import STATIC
from detente.web.services import Services
from detente.web.workers import Busy, Failed, RecordTooLarge, WorkError

ROUTERS = (
    pages,
    info,
    scenarios,
    runs,
    mc,
    compare,
    analysis,
    advise,
    structure,
    evidence,
    store,
)
"""The route modules, in the order of the API's reference (``/openapi.json``)."""


def create_app(
    *,
    store_url: str | None = None,
    upload_dir: Path | None = None,
    docs_dir: Path | None = None,
    max_upload_bytes: int | None = None,
    allowed_hosts: Sequence[str] | None = None,
    budget: Budget | None = None,
) -> FastAPI:
    """The detente web app.

    Parameters
    ----------
    store_url : str, optional
        The run store's database URL (default: the store's own default).
    upload_dir : Path, optional
        Where uploaded files are saved (default: ``uploads`` in the user's cache folder).
    docs_dir : Path, optional
        The folder of source documents that anchors point into (default: none, so spans
        cannot be shown).
    max_upload_bytes : int, optional
        The largest file an upload may carry (bigger requests get 413); overrides the
        budget's :attr:`~detente.web.budget.Budget.max_upload_bytes`.
    allowed_hosts : sequence of str, optional
        Host names the app answers to (e.g. ``["127.0.0.1", "localhost"]``, which guards a
        loopback server against DNS rebinding); default: any. The ``Host`` header's port must
        be the one the request came in on, whatever the name.
    budget : Budget, optional
        Every limit of a request (default: :class:`~detente.web.budget.Budget`'s defaults).

    Notes
    -----
    Model work runs in worker processes, started with the first task (``forkserver`` on
    Linux and macOS, ``spawn`` elsewhere); like any program using :mod:`multiprocessing` that
    way, a script serving the app must start it under ``if __name__ == "__main__":``.
    Leave the app's lifespan (``with TestClient(app)``, or uvicorn) to stop them.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> app = create_app(store_url="sqlite://")  # doctest: +SKIP
    >>> TestClient(app).get("/api/scenarios").json()  # doctest: +SKIP
    [{'name': 'ukraine-talks', 'description': '...'}]
    """
    budget = budget or Budget()
    if max_upload_bytes is not None:
        budget = dataclasses.replace(budget, max_upload_bytes=max_upload_bytes)
    services = Services(store_url, upload_dir, docs_dir, budget)

    async def sweep_uploads() -> None:
        interval = min(max(budget.upload_ttl / 2, 1.0), 60.0)
        while True:
            await anyio.to_thread.run_sync(services.uploads.sweep)
            await asyncio.sleep(interval)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.get_running_loop().create_task(sweep_uploads())
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            services.close()

    app = FastAPI(
        title="detente",
        version=__version__,
        summary="Forecast where a multi-party negotiation lands and how a shock moves it.",
        description=(
            "Scenarios are sent and received as the JSON form of `detente.scenario.Scenario`."
            " Every run, Monte Carlo and comparison is recorded in the run store."
            " Every request has a budget (`GET /api/info`, `limits`): one over a limit is"
            " refused before any work starts, with 413 or 422 and JSON naming the limit, the"
            " value and the value allowed."
        ),
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load from a CDN; /openapi.json is the reference
        redoc_url=None,
    )
    app.router.route_class = StrictJSONRoute
    app.state.services = services
    app.add_middleware(Guard, budget=budget, allowed_hosts=allowed_hosts)
    _handle_errors(app, budget)
    for module in ROUTERS:
        app.include_router(module.router(services))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _handle_errors(app: FastAPI, budget: Budget) -> None:
    """Every refusal and failure as JSON naming what went wrong."""

    @app.exception_handler(413)
    async def too_large_body(request: Request, _exc: Exception) -> JSONResponse:
        received = request.scope.get("detente.body_bytes")
        return too_large(request.url.path, budget, received).response()

    @app.exception_handler(OverBudget)
    async def over_budget(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OverBudget)
        return exc.response()

    @app.exception_handler(WorkError)
    async def work_failed(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, WorkError)
        body = exc.body()
        if isinstance(exc, Failed) and exc.kind == "store":
            body["detail"] = f"run store: {exc.detail}"
        headers = {"retry-after": "5"} if isinstance(exc, Busy) else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(StoreError)
    async def store_failed(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, RecordTooLargeError):  # can never fit: not worth a retry
            refusal = RecordTooLarge.of(exc)
            return JSONResponse(refusal.body(), status_code=refusal.status)
        return JSONResponse({"detail": f"run store: {exc}"}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        from fastapi.encoders import jsonable_encoder

        return JSONResponse({"detail": finite(jsonable_encoder(exc.errors()))}, 422)
