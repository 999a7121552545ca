"""Background jobs with progress: long Monte Carlo runs and sensitivity analyses that the page
polls.

A job is a task of the worker pool (:mod:`detente.web.workers`), which reports its progress
(``done`` of ``total`` draws or evaluations) as the worker finishes chunks; an asyncio task on
the server's event loop waits for it and keeps its result. Finished jobs are kept (the most recent
:attr:`JobManager.keep`) so the page can fetch their result. Closing the pool (the server
stopping) fails the unfinished jobs at once.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from detente.web.schemas import JobInfo, JobKind, JobStatus, MonteCarloSummary, SensitivitySummary
from detente.web.workers import Ticket

Progress = Callable[[int, int], None]
Summary = MonteCarloSummary | SensitivitySummary


class TooManyJobs(RuntimeError):
    """More jobs are waiting or running than the manager accepts."""


@dataclass
class _Job:
    id: str
    total: int
    kind: JobKind = "mc"
    status: JobStatus = "queued"
    done: int = 0
    error: str | None = None
    run_id: int | None = None
    result: Summary | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def info(self) -> JobInfo:
        with self.lock:
            return JobInfo(
                id=self.id,
                kind=self.kind,
                status=self.status,
                done=self.done,
                total=self.total,
                error=self.error,
                run_id=self.run_id,
                result=self.result,
            )

    def progress(self, done: int, total: int) -> None:
        """Called by the pool's watching thread as the worker reports chunks."""
        with self.lock:
            self.status, self.done, self.total = "running", done, total


class JobManager:
    """Jobs on the worker pool; refuses new ones beyond ``max_pending`` unfinished.

    Parameters
    ----------
    max_pending : int
        Unfinished (queued or running) jobs allowed at once.
    keep : int
        Jobs remembered; the oldest finished ones are forgotten first.
    """

    def __init__(self, max_pending: int = 16, keep: int = 200) -> None:
        self.max_pending = max_pending
        self.keep = keep
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(
        self,
        total: int,
        start: Callable[[Progress], Ticket],
        finish: Callable[[Any], Awaitable[tuple[Summary, int]]],
        describe_error: Callable[[Exception], str],
        kind: JobKind = "mc",
    ) -> JobInfo:
        """Start a job: ``start(progress)`` submits it to the pool; ``finish(result)`` turns
        the worker's result into the summary and the run's id; ``describe_error`` turns an
        exception into the job's message. Call from the event loop."""
        job = _Job(id=uuid.uuid4().hex, total=total, kind=kind)
        with self._lock:
            pending = sum(1 for j in self._jobs.values() if j.status in ("queued", "running"))
            if pending >= self.max_pending:
                raise TooManyJobs(
                    f"{pending} jobs are already waiting or running; try again when one"
                    " finishes (--max-jobs)"
                )
            ticket = start(job.progress)
            self._jobs[job.id] = job
            self._forget_old()
        task = asyncio.get_running_loop().create_task(
            self._follow(job, ticket, finish, describe_error)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job.info()

    def get(self, job_id: str) -> JobInfo | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return None if job is None else job.info()

    async def _follow(
        self,
        job: _Job,
        ticket: Ticket,
        finish: Callable[[Any], Awaitable[tuple[Summary, int]]],
        describe_error: Callable[[Exception], str],
    ) -> None:
        try:
            result, run_id = await finish(await asyncio.wrap_future(ticket.future))
        except asyncio.CancelledError:
            ticket.cancel()
            with job.lock:
                job.status, job.error = "failed", "the server stopped before the job finished"
            raise
        except Exception as exc:  # reported to the page
            with job.lock:
                job.status, job.error = "failed", describe_error(exc)
            return
        with job.lock:
            job.status, job.result, job.run_id, job.done = "done", result, run_id, job.total

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
        for key in finished[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[key]
