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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import math
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import anyio
from fastapi import Body, FastAPI, File, HTTPException, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

from detente import __version__, io
from detente.errors import InputError
from detente.evidence import DocumentStore
from detente.models import DEFAULT_SEED, ModelSpec, get_model, models
from detente.scenario import Scenario
from detente.store.errors import StoreError
from detente.store.record import RunRecord, RunSummary
from detente.web import views, work
from detente.web.budget import (
    MAX_SEED,
    Budget,
    OverBudget,
    compare_memory,
    monte_carlo_memory,
    run_memory,
)
from detente.web.guard import UPLOAD_PATH, Guard, StrictJSONRoute, body_limit, too_large
from detente.web.jobs import JobManager, TooManyJobs
from detente.web.schemas import (
    BuiltinScenario,
    CompareRequest,
    ComparisonOut,
    DocumentOut,
    EvidenceOut,
    EvidenceRequest,
    JobInfo,
    LoadedScenario,
    ModelInfo,
    MonteCarloRequest,
    MonteCarloSummary,
    Problem,
    RunRequest,
    RunResult,
    ValidationReport,
)
from detente.web.uploads import UploadArea, display_name
from detente.web.workers import Busy, Cancelled, Failed, WorkerPool, WorkError

if TYPE_CHECKING:
    from detente.store import RunStore

T = TypeVar("T")

STATIC = Path(__file__).with_name("static")

_SHA256 = r"^[0-9a-f]{64}$"


class _Services:
    """What the routes share: the budget, the store, the documents, the uploads, the workers
    and the jobs.

    The store and the documents are opened on first use, once, under a lock; the store
    makes its own session per call, so routes running on several threads never share one.
    """

    def __init__(
        self,
        store_url: str | None,
        upload_dir: Path | None,
        docs_dir: Path | None,
        budget: Budget,
    ) -> None:
        import threading

        self.store_url = store_url
        self.budget = budget
        self.upload_dir = (upload_dir or _default_upload_dir()).resolve()
        self.docs_dir = docs_dir.resolve() if docs_dir is not None else None
        self.uploads = UploadArea(self.upload_dir, budget.upload_ttl, budget.max_kept_uploads)
        self.pool = WorkerPool(budget.workers, budget.max_waiting)
        self.jobs = JobManager(max_pending=budget.max_jobs)
        self.worker_store_url = _shared_url(store_url)
        """The store the workers record in; None: an in-memory store, recorded here."""
        self._lock = threading.Lock()
        self._store: RunStore | None = None
        self._documents: DocumentStore | None = None

    @property
    def max_upload_bytes(self) -> int:
        return self.budget.max_upload_bytes

    def store(self) -> RunStore:
        with self._lock:
            if self._store is None:
                from detente.store import open_store

                self._store = open_store(self.store_url)
            return self._store

    def close(self) -> None:
        self.pool.close()
        self.uploads.close()
        with self._lock:
            if self._store is not None:
                self._store.close()

    def documents(self) -> DocumentStore:
        with self._lock:
            if self._documents is None:
                if self.docs_dir is None:
                    self._documents = DocumentStore()
                else:
                    self._documents = DocumentStore.from_dir(self.docs_dir)
            return self._documents

    def record(self, record: work.Record) -> int:
        saved = self.store().record(
            record.kind,
            record.scenario,
            record.models,
            record.params,
            record.seed,
            record.results,
        )
        return int(saved.id)

    async def answer(self, outcome: work.Outcome) -> Response:
        """The JSON answer of a finished run, recorded here first if the worker did not."""
        if outcome.body is not None:
            return Response(outcome.body, media_type="application/json")
        assert outcome.record is not None
        answer = dict(outcome.answer)
        answer["run_id"] = await anyio.to_thread.run_sync(self.record, outcome.record)
        return JSONResponse(answer)

    async def work(self, request: Request, task: Any, argument: Any) -> Any:
        """``task(argument)`` in a worker, within the budget's time and memory, cancelled (its
        worker killed) if the client goes away first."""
        running = self.pool.run(
            task,
            argument,
            seconds=self.budget.max_seconds,
            memory_bytes=self.budget.max_memory_bytes,
        )
        return await _attend(request, running)


def _shared_url(url: str | None) -> str | None:
    """``url`` resolved, if worker processes can open the same store; None for in-memory
    SQLite (each process would have its own)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from detente.store.db import default_url

    resolved = url or default_url()
    try:
        parsed = make_url(resolved)
    except ArgumentError:  # a plain path: a SQLite file
        return resolved
    memory = parsed.database in (None, "", ":memory:") or "mode=memory" in resolved
    return None if parsed.get_backend_name() == "sqlite" and memory else resolved


async def _attend(request: Request, running: Awaitable[T]) -> T:
    """Wait for ``running`` while the client waits; cancel it when the client goes away."""
    task = asyncio.ensure_future(running)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, gone):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
    if task.cancelled():
        raise Cancelled("the client went away; the work was stopped")
    return task.result()


async def _disconnected(request: Request) -> None:
    # The body has been read: the next message is the client going away.
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _default_upload_dir() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("detente") / "uploads"


def _fail(status: int, message: str) -> NoReturn:
    raise HTTPException(status_code=status, detail=message)


def _model(name: str) -> ModelSpec:
    try:
        return get_model(name)
    except KeyError as exc:
        _fail(422, str(exc.args[0]))


def _params(spec: ModelSpec, scenario: Scenario, given: dict[str, Any]) -> dict[str, Any]:
    """The parameters a run will use (defaults, the scenario's, the request's); 422 if bad."""
    try:
        return spec.resolve_params(scenario.parameters.get(spec.name, {}), given)
    except ValueError as exc:
        _fail(422, str(exc))


def _seed(scenario: Scenario, seed: int | None) -> int:
    if seed is not None:
        return seed  # the request's own seed: bounded by its schema
    if scenario.seed is None:
        return DEFAULT_SEED
    if scenario.seed > MAX_SEED:  # the store's column: refused now, not after the work
        raise HTTPException(
            422,
            [
                {
                    "type": "less_than_equal",
                    "loc": ["body", "scenario", "seed"],
                    "msg": f"Input should be less than or equal to {MAX_SEED}",
                    "input": scenario.seed,
                }
            ],
        )
    return scenario.seed


def _error_text(exc: Exception) -> str:
    if isinstance(exc, WorkError):
        return exc.detail
    if isinstance(exc, ValueError | InputError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _finite(value: Any) -> Any:
    """Validation errors as JSON: non-finite numbers (which JSON has not) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _compare_estimate(
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
    estimate = compare_memory(baseline, shocked)
    shown = f"a comparison of {len(variants)} variant(s) under {', '.join(names)}"
    budget.check_memory(estimate, shown)
    return estimate


def _default_chunk(spec: ModelSpec) -> int:
    """Replicates per Monte Carlo chunk the library uses for ``spec`` by default."""
    from detente.sim import montecarlo

    chunk = getattr(spec, "chunk", None)  # the registry's, where it has one
    if isinstance(chunk, int) and chunk > 0:
        return chunk
    name = "SMP_CHUNK" if spec.name == "smp" else "CHUNK"
    return int(getattr(montecarlo, name, 500))


@functools.cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs()).encode("utf-8")


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
    services = _Services(store_url, upload_dir, docs_dir, budget)
    upload_limit = body_limit(UPLOAD_PATH, budget)[1]

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
            " Every run, Monte Carlo and comparison is recorded in the run store. Every request"
            " has a budget (`GET /api/info`, `limits`): one over a limit is refused before any"
            " work starts, with 413 or 422 and JSON naming the limit, the value and the value"
            " allowed."
        ),
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load from a CDN; /openapi.json is the reference
        redoc_url=None,
    )
    app.router.route_class = StrictJSONRoute
    app.state.services = services
    app.add_middleware(Guard, budget=budget, allowed_hosts=allowed_hosts)

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
        return JSONResponse({"detail": f"run store: {exc}"}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        from fastapi.encoders import jsonable_encoder

        return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, 422)

    # -- the page ------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/plotly.js", include_in_schema=False)
    def plotly_js() -> Response:
        try:
            body = _plotly_js()
        except ImportError:
            _fail(404, "plotly is not installed (pip install 'detente[web]')")
        return Response(
            body,
            media_type="application/javascript",
            headers={"cache-control": "public, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- scenarios -----------------------------------------------------------------

    @app.get("/api/info", tags=["server"])
    def info() -> dict[str, Any]:
        """Version, limits and whether source documents are available."""
        return {
            "version": __version__,
            "max_upload_bytes": budget.max_upload_bytes,
            "max_draws": budget.max_draws,
            "limits": budget.limits(),
            "formats": list(io.FORMATS),
            "documents": len(services.documents()),
        }

    @app.get("/api/scenarios", tags=["scenarios"])
    def builtin_scenarios() -> list[BuiltinScenario]:
        """The scenarios shipped with detente."""
        out = []
        for name in io.builtin_names():
            sc = io.load_builtin(name).scenario
            out.append(BuiltinScenario(name=name, description=sc.description))
        return out

    @app.get(
        "/api/scenarios/{name}",
        tags=["scenarios"],
        responses={404: {"description": "no built-in scenario of that name"}},
    )
    def builtin_scenario(name: str) -> LoadedScenario:
        """A built-in scenario, by a name of ``GET /api/scenarios`` (never a path)."""
        if name not in io.builtin_names():
            _fail(404, f"unknown scenario {name!r} (built-in: {', '.join(io.builtin_names())})")
        loaded = io.load_builtin(name)
        return LoadedScenario(
            scenario=loaded.scenario, format=loaded.format, notes=list(loaded.notes), origin=name
        )

    @app.post(
        UPLOAD_PATH,
        tags=["scenarios"],
        max_body_size=upload_limit,
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
            _fail(422, str(exc))
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

    @app.post("/api/validate", tags=["scenarios"], max_body_size=budget.max_body_bytes)
    def validate(
        scenario: Annotated[dict[str, Any], Body(description="a scenario's JSON, possibly bad")],
    ) -> ValidationReport:
        """Every problem of a scenario, with the actor, issue and field it concerns."""
        budget.check_size(scenario)
        found: list[Problem] = views.problems(scenario)
        return ValidationReport(ok=not found, problems=found)

    # -- models and runs -----------------------------------------------------------

    @app.get("/api/models", tags=["models"])
    def list_models() -> list[ModelInfo]:
        """The models and their parameters."""
        return [views.model_info(spec) for spec in models()]

    @app.post(
        "/api/run",
        tags=["models"],
        response_model=RunResult,
        max_body_size=budget.max_body_bytes,
        responses={
            413: {"description": "the body is larger than the budget"},
            422: {"description": "bad input, or over a limit of the budget (named)"},
            429: {"description": "too many requests are waiting for a worker"},
            503: {"description": "over the time or memory limit while running, or the store"},
        },
    )
    async def run_model(request: Request, body: RunRequest) -> Response:
        """Run one model (in a worker process); the run is recorded in the store."""
        sc, spec = body.scenario, _model(body.model)
        budget.check_size(sc)
        seed = _seed(sc, body.seed)
        budget.check_run(spec, _params(spec, sc, body.params), sc)
        task = work.RunTask(sc, spec.name, dict(body.params), seed, services.worker_store_url)
        return await services.answer(await services.work(request, work.run_model, task))

    @app.post(
        "/api/mc",
        tags=["models"],
        status_code=202,
        max_body_size=budget.max_body_bytes,
        responses={429: {"description": "too many jobs or requests are waiting"}},
    )
    async def start_monte_carlo(body: MonteCarloRequest) -> JobInfo:
        """Start a Monte Carlo run in the background; poll ``GET /api/jobs/{id}``."""
        sc, spec = body.scenario, _model(body.model)
        budget.check_size(sc)
        draws = body.draws
        budget.check_draws(draws)
        seed = _seed(sc, body.seed)
        params = _params(spec, sc, body.params)  # bad parameters are reported now
        budget.check_rounds(spec, params)
        # About twenty progress steps; the numbers do not depend on the chunk size.
        chunk = min(_default_chunk(spec), max(25, math.ceil(draws / 20)))
        n, m = len(sc.actors), len(sc.issues)
        estimate = monte_carlo_memory(spec, params, n, m, draws, chunk)
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
            answer = dict(outcome.answer)
            if outcome.record is not None:
                run_id = await anyio.to_thread.run_sync(services.record, outcome.record)
            else:
                run_id = int(answer.pop("run_id"))
            return MonteCarloSummary.model_validate(answer), run_id

        try:
            return services.jobs.submit(draws, start, finish, _error_text)
        except TooManyJobs as exc:
            _fail(429, str(exc))

    @app.get("/api/jobs/{job_id}", tags=["models"], responses={404: {"description": "no job"}})
    def job(job_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]) -> JobInfo:
        """How far a background job has got; its result once done."""
        found = services.jobs.get(job_id)
        if found is None:
            _fail(404, f"no job {job_id}")
        return found

    @app.post(
        "/api/compare",
        tags=["models"],
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
            _fail(422, f"scenario {sc.name!r} defines no shocks")
        budget.check_shocks(len(shocks))
        names = list(dict.fromkeys(_model(m).name for m in body.models or []))
        names = names or [spec.name for spec in models()]
        seed = _seed(sc, body.seed)
        variants = {"+".join(shocks): list(shocks)} if body.combined else {s: [s] for s in shocks}
        try:
            await anyio.to_thread.run_sync(_compare_estimate, budget, sc, variants, names)
        except ValueError as exc:
            _fail(422, str(exc))
        task = work.CompareTask(sc, shocks, names, seed, body.combined, services.worker_store_url)
        return await services.answer(await services.work(request, work.compare_shocks, task))

    # -- evidence ------------------------------------------------------------------

    @app.post("/api/evidence", tags=["evidence"], max_body_size=budget.max_body_bytes)
    def evidence(request: EvidenceRequest) -> EvidenceOut:
        """Every number of the scenario with its source; anchors name their document."""
        budget.check_size(request.scenario)
        docs = services.documents()
        return EvidenceOut(rows=views.evidence_items(request.scenario, docs), documents=len(docs))

    @app.get(
        "/api/documents/{doc_id}",
        tags=["evidence"],
        responses={404: {"description": "no document with that SHA-256"}},
    )
    def document(doc_id: Annotated[str, PathParam(pattern=_SHA256)]) -> DocumentOut:
        """A source document's text, by the SHA-256 that anchors name it by."""
        doc = services.documents().get(doc_id)
        if doc is None:
            where = "no documents folder (start with --docs DIR)"
            if services.docs_dir is not None:
                where = "not in the documents folder"
            _fail(404, f"no document with sha256 {doc_id[:12]}…: {where}")
        return DocumentOut(id=doc.id, name=doc.name, text=doc.text)

    # -- the run store -------------------------------------------------------------

    @app.get("/api/runs", tags=["runs"])
    def list_runs(
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[RunSummary]:
        """The most recent runs, newest first."""
        return list(services.store().list(limit=limit))

    @app.get("/api/runs/{run_id}", tags=["runs"], responses={404: {"description": "no run"}})
    def get_run(run_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)]) -> RunRecord:
        """One run: its scenario, models, parameters, seed and results."""
        try:
            return services.store().get(run_id)
        except LookupError:
            _fail(404, f"no run {run_id}")

    return app
