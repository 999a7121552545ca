"""The web app: an HTTP API over the library, and one page that uses it.

:func:`create_app` builds the FastAPI application; ``detente serve`` runs it with uvicorn.
Nothing a request sends is ever used as a path: built-in scenarios are chosen by name from
:func:`detente.io.builtin_names`, documents by SHA-256 from the ``docs_dir`` folder, uploads
are saved under ``upload_dir`` with a generated name, and runs go to the store given at start.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import urlsplit

from fastapi import Body, FastAPI, File, HTTPException, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from detente import __version__, io
from detente.errors import InputError
from detente.evidence import DocumentStore
from detente.models import DEFAULT_SEED, ModelSpec, get_model, models, run
from detente.scenario import Scenario
from detente.store.errors import StoreError
from detente.store.record import RunKind, RunRecord, RunSummary
from detente.web import views
from detente.web.jobs import JobManager, TooManyJobs
from detente.web.schemas import (
    MAX_DRAWS,
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
    Problem,
    RunRequest,
    RunResult,
    ValidationReport,
)

if TYPE_CHECKING:
    from detente.store import RunStore

STATIC = Path(__file__).with_name("static")
MAX_JSON_BYTES = 16_000_000
"""The largest JSON body (a scenario with its options) any endpoint reads."""
MULTIPART_OVERHEAD = 64 * 1024
"""Room for the multipart headers around an uploaded file."""

_SHA256 = r"^[0-9a-f]{64}$"


class _Services:
    """What the routes share: the store, the documents, the upload area and the jobs.

    The store and the documents are opened on first use, once, under a lock; the store
    makes its own session per call, so routes running on several threads never share one.
    """

    def __init__(
        self,
        store_url: str | None,
        upload_dir: Path | None,
        docs_dir: Path | None,
        max_upload_bytes: int,
    ) -> None:
        self.store_url = store_url
        self.upload_dir = (upload_dir or _default_upload_dir()).resolve()
        self.docs_dir = docs_dir.resolve() if docs_dir is not None else None
        self.max_upload_bytes = max_upload_bytes
        self.jobs = JobManager()
        self._lock = threading.Lock()
        self._store: RunStore | None = None
        self._documents: DocumentStore | None = None

    def store(self) -> RunStore:
        with self._lock:
            if self._store is None:
                from detente.store import open_store

                self._store = open_store(self.store_url)
            return self._store

    def close(self) -> None:
        self.jobs.shutdown()
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

    def record(
        self,
        kind: RunKind,
        scenario: Scenario,
        model_names: Sequence[str],
        params: dict[str, Any],
        seed: int,
        results: Any,
    ) -> int:
        record = self.store().record(kind, scenario, list(model_names), params, seed, results)
        return int(record.id)

    def save_upload(self, filename: str, data: bytes) -> LoadedScenario:
        """Save ``data`` in a new folder with a generated name under the upload area, and read it.

        The file keeps a sanitised copy of the client's name, since readers take the scenario's
        name (and a one-issue sheet its issue id) from the file name.
        """
        shown = _display_name(filename)
        folder = self.upload_dir / uuid.uuid4().hex
        path = folder / _safe_name(shown)
        if not path.resolve().is_relative_to(self.upload_dir):  # cannot happen: checked anyway
            _fail(422, f"{shown}: not a usable file name")
        folder.mkdir(parents=True)
        with path.open("xb") as fh:  # "x": never replace a file
            fh.write(data)
        try:
            loaded = io.load(path)
        except InputError as exc:
            exc.file = shown  # name the user's file, not where it was saved
            message = exc.message.replace(str(path), shown)
        except Exception as exc:  # a reader bug must still answer with one line
            message = f"{shown}: cannot be read as a scenario ({type(exc).__name__}: {exc})"
        else:
            return LoadedScenario(
                scenario=loaded.scenario,
                format=loaded.format,
                notes=[note.replace(str(path), shown) for note in loaded.notes],
                origin=shown,
            )
        path.unlink(missing_ok=True)  # unreadable uploads are not kept
        folder.rmdir()
        _fail(422, message)


def _default_upload_dir() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("detente") / "uploads"


def _display_name(filename: str) -> str:
    """The last part of a client's file name, printable, at most 100 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-100:] or "upload"


def _safe_name(name: str) -> str:
    """``name`` with only letters, digits, spaces, dots, dashes and underscores, no leading dot."""
    safe = re.sub(r"[^\w .-]", "_", name).lstrip(". ")
    return safe or "upload"


def _fail(status: int, message: str) -> NoReturn:
    raise HTTPException(status_code=status, detail=message)


def _model(name: str) -> ModelSpec:
    try:
        return get_model(name)
    except KeyError as exc:
        _fail(422, str(exc.args[0]))


def _seed(scenario: Scenario, seed: int | None) -> int:
    if seed is not None:
        return seed
    return scenario.seed if scenario.seed is not None else DEFAULT_SEED


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValueError | InputError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@functools.cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs()).encode("utf-8")


class _Guard:
    """Refuses cross-site writes and oversized bodies, and adds protective response headers.

    A page on another site can make the browser POST a form to 127.0.0.1; such a request
    carries an ``Origin`` that does not match the ``Host`` it is sent to. A body announced
    larger than its route accepts is refused before a byte of it is read (the routes' own
    ``max_body_size`` stops bodies that come without a ``Content-Length``), and the
    connection is closed rather than the rest of the body read and thrown away.
    """

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
            b" img-src 'self' data: blob:; object-src 'none'; base-uri 'none';"
            b" frame-ancestors 'none'; form-action 'self'",
        ),
    )

    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # Whether the whole request body has been read: an answer given before (a refusal,
        # a parse error) closes the connection, so the server never drains what is left.
        body_read = b"transfer-encoding" not in headers and headers.get(
            b"content-length", b"0"
        ) in (b"", b"0")

        async def receive_body() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = self.HEADERS if body_read else (*self.HEADERS, (b"connection", b"close"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive_body, send_with_headers)
            return
        await self.app(scope, receive_body, send_with_headers)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return None
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is not None:
            host = headers.get(b"host", b"").decode("latin-1")
            if urlsplit(origin.decode("latin-1")).netloc != host:
                return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > _limit(scope["path"], self.max_upload_bytes):
            return JSONResponse({"detail": _too_large(scope["path"], self.max_upload_bytes)}, 413)
        return None


def _limit(path: str, max_upload_bytes: int) -> int:
    return max_upload_bytes + MULTIPART_OVERHEAD if path == "/api/upload" else MAX_JSON_BYTES


def _too_large(path: str, max_upload_bytes: int) -> str:
    if path == "/api/upload":
        return f"upload too large: at most {max_upload_bytes:,} bytes are accepted"
    return f"request too large: at most {MAX_JSON_BYTES:,} bytes are accepted"


def create_app(
    *,
    store_url: str | None = None,
    upload_dir: Path | None = None,
    docs_dir: Path | None = None,
    max_upload_bytes: int = 2_000_000,
    allowed_hosts: Sequence[str] | None = None,
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
    max_upload_bytes : int
        The largest file an upload may carry; bigger requests get 413.
    allowed_hosts : sequence of str, optional
        Host names the app answers to (e.g. ``["127.0.0.1", "localhost"]``, which guards a
        loopback server against DNS rebinding); default: any.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> app = create_app(store_url="sqlite://")  # doctest: +SKIP
    >>> TestClient(app).get("/api/scenarios").json()  # doctest: +SKIP
    [{'name': 'ukraine-talks', 'description': '...'}]
    """
    services = _Services(store_url, upload_dir, docs_dir, max_upload_bytes)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="detente",
        version=__version__,
        summary="Forecast where a multi-party negotiation lands and how a shock moves it.",
        description=(
            "Scenarios are sent and received as the JSON form of `detente.scenario.Scenario`."
            " Every run, Monte Carlo and comparison is recorded in the run store."
        ),
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load from a CDN; /openapi.json is the reference
        redoc_url=None,
    )
    app.state.services = services
    app.add_middleware(_Guard, max_upload_bytes=max_upload_bytes)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    @app.exception_handler(413)
    async def too_large(request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": _too_large(request.url.path, max_upload_bytes)}, 413)

    @app.exception_handler(StoreError)
    async def store_failed(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"run store: {exc}"}, status_code=503)

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
            "max_upload_bytes": max_upload_bytes,
            "max_draws": MAX_DRAWS,
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
        "/api/upload",
        tags=["scenarios"],
        max_body_size=_limit("/api/upload", max_upload_bytes),
        form_limits={"max_files": 1, "max_fields": 4},
        responses={
            413: {"description": "the file is larger than the server accepts"},
            422: {"description": "the file cannot be read: the reader's one-line message"},
        },
    )
    def upload(
        file: Annotated[UploadFile, File(description="YAML, CSV, XLSX, KTAB CSV or XML")],
    ) -> LoadedScenario:
        """Read an uploaded scenario file with detente's readers."""
        data = file.file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            _fail(413, _too_large("/api/upload", max_upload_bytes))
        return services.save_upload(file.filename or "", data)

    @app.post("/api/validate", tags=["scenarios"], max_body_size=MAX_JSON_BYTES)
    def validate(
        scenario: Annotated[dict[str, Any], Body(description="a scenario's JSON, possibly bad")],
    ) -> ValidationReport:
        """Every problem of a scenario, with the actor, issue and field it concerns."""
        found: list[Problem] = views.problems(scenario)
        return ValidationReport(ok=not found, problems=found)

    # -- models and runs -----------------------------------------------------------

    @app.get("/api/models", tags=["models"])
    def list_models() -> list[ModelInfo]:
        """The models and their parameters."""
        return [views.model_info(spec) for spec in models()]

    @app.post("/api/run", tags=["models"], max_body_size=MAX_JSON_BYTES)
    def run_model(request: RunRequest) -> RunResult:
        """Run one model; the run is recorded in the store."""
        sc, spec = request.scenario, _model(request.model)
        seed = _seed(sc, request.seed)
        try:
            trace = run(sc, spec.name, seed=seed, params=request.params)
        except ValueError as exc:
            _fail(422, str(exc))
        record = trace.to_dict(scenario=sc.name, seed=seed)
        params = {spec.name: request.params, "options": {}}
        run_id = services.record("run", sc, [spec.name], params, seed, record)
        return views.run_result(trace, record, run_id)

    @app.post("/api/mc", tags=["models"], status_code=202, max_body_size=MAX_JSON_BYTES)
    def start_monte_carlo(request: MonteCarloRequest) -> JobInfo:
        """Start a Monte Carlo run in the background; poll ``GET /api/jobs/{id}``."""
        from detente.sim import montecarlo

        sc, spec = request.scenario, _model(request.model)
        seed, draws, params = _seed(sc, request.seed), request.draws, dict(request.params)
        try:  # bad parameters are reported now, not by the job
            spec.resolve_params(sc.parameters.get(spec.name, {}), params)
        except ValueError as exc:
            _fail(422, str(exc))
        # About twenty progress steps; the numbers do not depend on the chunk size.
        default = spec.chunk
        chunk = min(default, max(25, math.ceil(draws / 20)))

        def work(progress: Any) -> tuple[Any, int]:
            result = montecarlo.monte_carlo(
                sc, spec.name, draws, seed, params=params, chunk=chunk, progress=progress
            )
            record = result.to_dict()
            options = {spec.name: params, "options": {"draws": draws}}
            run_id = services.record("mc", sc, [spec.name], options, seed, record)
            return views.mc_summary(result, record), run_id

        try:
            return services.jobs.submit(draws, work, _error_text)
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
        max_body_size=MAX_JSON_BYTES,
        response_model_exclude_unset=True,  # pivots only where the method gives them
    )
    def compare_shocks(request: CompareRequest) -> ComparisonOut:
        """The baseline against each shock (or all together) under each model."""
        from detente.sim.compare import compare

        sc = request.scenario
        shocks = request.shocks or list(sc.shocks)
        if not shocks:
            _fail(422, f"scenario {sc.name!r} defines no shocks")
        names = list(dict.fromkeys(_model(m).name for m in request.models or []))
        names = names or [spec.name for spec in models()]
        seed = _seed(sc, request.seed)
        try:
            result = compare(sc, shocks, names, seed, combined=request.combined)
        except ValueError as exc:
            _fail(422, str(exc))
        record = result.to_dict()
        params: dict[str, Any] = {m: {} for m in names}
        params["options"] = {"shocks": shocks, "combined": request.combined}
        kind: RunKind = "shock" if request.combined else "compare"
        run_id = services.record(kind, sc, names, params, seed, record)
        return ComparisonOut(run_id=run_id, **record)

    # -- evidence ------------------------------------------------------------------

    @app.post("/api/evidence", tags=["evidence"], max_body_size=MAX_JSON_BYTES)
    def evidence(request: EvidenceRequest) -> EvidenceOut:
        """Every number of the scenario with its source; anchors name their document."""
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
