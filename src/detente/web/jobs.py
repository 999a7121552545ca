"""Background jobs with progress: long Monte Carlo runs that the page polls.

A job runs in a small thread pool; its work function gets a ``progress(done, total)``
callback and returns the result and the run's id in the store. Finished jobs are kept (the
most recent :attr:`JobManager.keep`) so the page can fetch their result.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from detente.web.schemas import JobInfo, JobStatus, MonteCarloSummary

Progress = Callable[[int, int], None]
Work = Callable[[Progress], tuple[MonteCarloSummary, int]]


class TooManyJobs(RuntimeError):
    """More jobs are waiting or running than the manager accepts."""


@dataclass
class _Job:
    id: str
    total: int
    status: JobStatus = "queued"
    done: int = 0
    error: str | None = None
    run_id: int | None = None
    result: MonteCarloSummary | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def info(self) -> JobInfo:
        with self.lock:
            return JobInfo(
                id=self.id,
                kind="mc",
                status=self.status,
                done=self.done,
                total=self.total,
                error=self.error,
                run_id=self.run_id,
                result=self.result,
            )


class JobManager:
    """Runs jobs on ``workers`` threads; refuses new ones beyond ``max_pending`` unfinished.

    Parameters
    ----------
    workers : int
        Threads running jobs at once.
    max_pending : int
        Unfinished (queued or running) jobs allowed at once.
    keep : int
        Jobs remembered; the oldest finished ones are forgotten first.
    """

    def __init__(self, workers: int = 2, max_pending: int = 16, keep: int = 200) -> None:
        self.max_pending = max_pending
        self.keep = keep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detente-job")
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, total: int, work: Work, describe_error: Callable[[Exception], str]) -> JobInfo:
        """Queue ``work``; ``describe_error`` turns an exception into the job's message."""
        job = _Job(id=uuid.uuid4().hex, total=total)
        with self._lock:
            pending = sum(1 for j in self._jobs.values() if j.status in ("queued", "running"))
            if pending >= self.max_pending:
                raise TooManyJobs(
                    f"{pending} jobs are already waiting or running; try again when one finishes"
                )
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, work, describe_error)
        return job.info()

    def get(self, job_id: str) -> JobInfo | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return None if job is None else job.info()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: _Job, work: Work, describe_error: Callable[[Exception], str]) -> None:
        with job.lock:
            job.status = "running"

        def progress(done: int, total: int) -> None:
            with job.lock:
                job.done, job.total = done, total

        try:
            result, run_id = work(progress)
        except Exception as exc:  # reported to the page, never raised in the pool
            with job.lock:
                job.status, job.error = "failed", describe_error(exc)
            return
        with job.lock:
            job.status, job.result, job.run_id, job.done = "done", result, run_id, job.total

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
        for key in finished[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[key]
