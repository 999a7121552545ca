"""What the routes of one app share: its budget, store, documents, uploads, workers and jobs."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from fastapi.responses import JSONResponse, Response
from starlette.requests import Request

from detente.evidence import DocumentStore
from detente.store.errors import RecordTooLargeError
from detente.store.recording import RunJob
from detente.web import work
from detente.web.budget import Budget
from detente.web.jobs import JobManager
from detente.web.uploads import UploadArea
from detente.web.workers import Cancelled, RecordTooLarge, WorkerPool

if TYPE_CHECKING:
    from detente.store import RunStore

T = TypeVar("T")


class Services:
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
        self.store_url = store_url
        self.budget = budget
        self.upload_dir = (upload_dir or _default_upload_dir()).resolve()
        self.docs_dir = docs_dir.resolve() if docs_dir is not None else None
        self.uploads = UploadArea(self.upload_dir, budget.upload_ttl, budget.max_kept_uploads)
        self.pool = WorkerPool(budget.workers, budget.max_waiting)
        self.jobs = JobManager(max_pending=budget.max_jobs)
        self.worker_store_url = shared_url(store_url)
        """The store the workers record in; None: an in-memory store, recorded here."""
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

    def record(self, job: RunJob) -> int:
        """Record a run a worker handed over (:func:`~detente.store.run_and_record`);
        :class:`~detente.web.workers.RecordTooLarge` (413) for a record the store cannot hold,
        as when a worker records it."""
        try:
            run_id = job.record_in(self.store()).run_id
        except RecordTooLargeError as exc:
            raise RecordTooLarge.of(exc) from None
        assert run_id is not None
        return run_id

    async def answer(self, outcome: work.Outcome) -> Response:
        """The JSON answer of a finished run, recorded here first if the worker did not."""
        if outcome.body is not None:
            return Response(outcome.body, media_type="application/json")
        assert outcome.record is not None
        answer = dict(outcome.answer)
        answer["run_id"] = await anyio.to_thread.run_sync(self.record, outcome.record)
        return JSONResponse(answer)

    async def run_id(self, outcome: work.Outcome) -> tuple[dict[str, Any], int]:
        """A background job's answer (without ``run_id``) and the id of its recorded run,
        recorded here first if the worker did not."""
        answer = dict(outcome.answer)
        if outcome.record is not None:
            return answer, await anyio.to_thread.run_sync(self.record, outcome.record)
        return answer, int(answer.pop("run_id"))

    async def work(self, request: Request, task: Any, argument: Any) -> Any:
        """``task(argument)`` in a worker, within the budget's time and memory, cancelled (its
        worker killed) if the client goes away first."""
        running = self.pool.run(
            task,
            argument,
            seconds=self.budget.max_seconds,
            memory_bytes=self.budget.max_memory_bytes,
        )
        return await attend(request, running)


def services(request: Request) -> Services:
    """The app's :class:`Services` (``app.state.services``)."""
    found = request.app.state.services
    assert isinstance(found, Services)
    return found


def shared_url(url: str | None) -> str | None:
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


async def attend(request: Request, running: Awaitable[T]) -> T:
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
