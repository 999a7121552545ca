"""Worker processes for the model work of the web app, each task with a time and memory limit.

Why processes, not threads with a cancellation flag: the models are NumPy and Numba kernels
that run for as long as they need inside one call (an smp turn, an eu batch, a Condorcet vote
array), so a flag checked between rounds could not stop a single long call, and would need a
callback in every model. A process can be killed at any moment and gives its memory back to
the system at once; and the work of independent requests runs on several CPUs instead of
taking turns under one interpreter lock, while the server's own process only parses requests
and answers.

:class:`WorkerPool` keeps ``workers`` processes (started with ``forkserver`` where available,
with detente's modules preloaded, so a replacement starts in milliseconds; ``spawn``
elsewhere). Tasks wait in one queue, first come first served; at most ``max_waiting`` wait or
run at once (:class:`Busy` beyond). One thread per process hands it a task and watches it: the
process is killed, and the task fails, when it runs longer than its ``seconds``
(:class:`TimeLimit`), when its resident memory grows by more than its ``memory_bytes`` plus
:data:`~detente.web.budget.WORKER_ALLOWANCE` (:class:`MemoryLimit`, read from ``/proc`` on
Linux), when the task is cancelled (the client went away, or the server stops waiting:
:class:`Cancelled`) and when the pool closes (:class:`Stopped`). A killed process is replaced
at once. A worker whose parent dies exits by itself within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from detente.errors import InputError
from detente.store.errors import RecordTooLargeError
from detente.web.budget import WORKER_ALLOWANCE, MiB

T = TypeVar("T")
Progress = Callable[[int, int], None]
Task = Callable[[Any, Progress | None], Any]

POLL = 0.05
"""Seconds between a watching thread's checks of its worker (time, memory, cancellation)."""

PRELOAD = ["detente.web.work", "detente.web.stored", "detente.web.sensitivity"]
"""Imported once by the fork server, so that every worker starts with them loaded."""


# -- errors --------------------------------------------------------------------------------


class WorkError(Exception):
    """A task that did not give a result; ``status`` and ``detail`` are the HTTP answer."""

    status = 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail}


class Busy(WorkError):
    """Too many tasks are waiting or running."""

    status = 429


class _Limit(WorkError):
    limit = ""

    def __init__(self, detail: str, value: float, allowed: float) -> None:
        super().__init__(detail)
        self.value, self.allowed = value, allowed

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "limit": self.limit,
            "value": self.value,
            "allowed": self.allowed,
        }


class RecordTooLarge(_Limit):
    """The run's record is larger than one row of the run store can hold: it can never be
    recorded there, so 413 (not 503, which would invite the client to try again), naming the
    store's limit (``allowed``) and the record's size (``value``), in bytes."""

    status = 413
    limit = "max_record_bytes"

    @classmethod
    def of(cls, exc: RecordTooLargeError) -> RecordTooLarge:
        return cls(f"run store: {' '.join(str(exc).split())}", exc.size, exc.limit)


class TimeLimit(_Limit):
    """The task ran longer than its time limit; its process was killed."""

    limit = "max_seconds"


class MemoryLimit(_Limit):
    """The task's process grew beyond its memory budget and was killed."""

    limit = "max_memory_bytes"


class Cancelled(WorkError):
    """The task was cancelled (its process killed if it had started)."""


class Stopped(WorkError):
    """The pool closed (the server is stopping) before the task finished."""


class WorkerLost(WorkError):
    """The worker process ended without an answer (killed from outside, or crashed)."""


class Failed(WorkError):
    """The task raised: ``kind`` is ``input`` (bad input, 422), ``missing`` (no such run,
    404), ``store`` (the store is unreachable or failing, 503) or ``bug`` (500). A record too
    large for the store is a :class:`RecordTooLarge` instead."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.status = {"input": 422, "missing": 404, "store": 503}.get(kind, 500)


# -- the worker process ----------------------------------------------------------------------


def _kind(exc: BaseException) -> str:
    from detente.store.errors import StoreError
    from detente.web.stored import RunMissing

    if isinstance(exc, RunMissing):
        return "missing"
    if isinstance(exc, StoreError):
        return "store"
    if isinstance(exc, ValueError | InputError):
        return "input"
    return "bug"


def _describe(exc: BaseException) -> str:
    if _kind(exc) in ("input", "missing", "store"):
        return " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "the run ran out of memory"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _watch_parent() -> None:
    """Exit when the parent process is gone (this process then has another parent). The
    parent is the fork server, which exits with the server, or the server itself (spawn)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="detente-parent-watch", daemon=True).start()


def serve(conn: Connection) -> None:
    """A worker's loop: receive ``(task, argument, wants_progress)``, run, send the answer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the server, which stops us
    _watch_parent()

    def progress(done: int, total: int) -> None:
        conn.send(("progress", done, total))

    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            task, argument, wants_progress = pickle.loads(data)
            result = task(argument, progress if wants_progress else None)
            answer = pickle.dumps(("ok", result), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            if _kind(exc) == "bug":
                traceback.print_exc(file=sys.stderr)
            if isinstance(exc, RecordTooLargeError):
                answer = pickle.dumps(("too_large", exc.size, exc.limit, exc.url))
            else:
                answer = pickle.dumps(("error", _kind(exc), _describe(exc)))
        try:
            conn.send_bytes(answer)
        except (EOFError, OSError):
            return


# -- the pool ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Ticket:
    """A submitted task: ``future`` gets its result or a :class:`WorkError`."""

    task: Task
    argument: Any
    seconds: float
    memory_bytes: int
    progress: Progress | None = None
    future: Future[Any] = field(default_factory=Future)
    _cancel: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Drop the task if it waits; kill its process if it runs."""
        self._cancel.set()
        self.future.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


def _rss(pid: int) -> int | None:
    """Resident memory of process ``pid`` in bytes (Linux), else None."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not on Linux or macOS


class _Slot:
    """One worker process and the pipe to it."""

    def __init__(self, ctx: Any, index: int) -> None:
        self.ctx, self.index = ctx, index
        self.process: Any = None
        self.conn: Connection | None = None
        self.fresh_rss: int | None = None

    def start(self) -> None:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        process = self.ctx.Process(
            target=serve,
            args=(child_end,),
            name=f"detente-worker-{self.index}",
            daemon=True,
        )
        process.start()
        child_end.close()
        self.process, self.conn = process, parent_end
        self.fresh_rss = None

    def ensure(self) -> Connection:
        if self.process is None or not self.process.is_alive():
            self.kill()
            self.start()
        assert self.conn is not None
        return self.conn

    def rss(self) -> int | None:
        return None if self.process is None else _rss(self.process.pid)

    def kill(self) -> None:
        process, conn = self.process, self.conn
        self.process = self.conn = None
        if process is not None:
            with contextlib.suppress(Exception):
                process.kill()
            process.join(timeout=5)
            with contextlib.suppress(Exception):
                process.close()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class WorkerPool:
    """``workers`` worker processes; at most ``max_waiting`` tasks waiting or running.

    Processes and their watching threads start with the first task (or :meth:`start`).
    ``recycle_bytes``: a worker whose idle resident memory has grown by more than this since
    it started is replaced after its task (memory that Python keeps after a large run).
    """

    def __init__(
        self,
        workers: int,
        max_waiting: int,
        *,
        recycle_bytes: int = 512 * MiB,
        allowance: int = WORKER_ALLOWANCE,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers, self.max_waiting = workers, max_waiting
        self.recycle_bytes, self.allowance = recycle_bytes, allowance
        self._queue: queue.SimpleQueue[Ticket | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._waiting = 0
        self._started = False
        self._closed = threading.Event()
        self._slots: list[_Slot] = []
        self._threads: list[threading.Thread] = []

    @property
    def waiting(self) -> int:
        """Tasks waiting for a worker or running."""
        with self._lock:
            return self._waiting

    def pids(self) -> list[int]:
        """The worker processes now running (for tests and diagnostics)."""
        return [s.process.pid for s in self._slots if s.process is not None]

    def start(self) -> None:
        """Start the worker processes now rather than with the first task."""
        with self._lock:
            if self._started or self._closed.is_set():
                return
            self._started = True
            ctx = _context()
            self._slots = [_Slot(ctx, i) for i in range(self.workers)]
        for slot in self._slots:
            slot.start()
            thread = threading.Thread(
                target=self._drive, args=(slot,), name=f"detente-watch-{slot.index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(
        self,
        task: Task,
        argument: Any,
        *,
        seconds: float,
        memory_bytes: int,
        progress: Progress | None = None,
    ) -> Ticket:
        """Queue ``task(argument, progress)`` for a worker; :class:`Busy` when full."""
        if self._closed.is_set():
            raise Stopped("the server is shutting down")
        self.start()
        ticket = Ticket(task, argument, seconds, memory_bytes, progress)
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise Busy(
                    f"{self._waiting} requests are already waiting for or using a worker;"
                    " try again shortly (--max-waiting)"
                )
            self._waiting += 1
        self._queue.put(ticket)
        return ticket

    async def run(
        self,
        task: Task,
        argument: Any,
        *,
        seconds: float,
        memory_bytes: int,
        progress: Progress | None = None,
    ) -> Any:
        """:meth:`submit` and wait; cancelling the caller cancels the task (kills its worker)."""
        ticket = self.submit(
            task, argument, seconds=seconds, memory_bytes=memory_bytes, progress=progress
        )
        try:
            return await asyncio.wrap_future(ticket.future)
        except asyncio.CancelledError:
            ticket.cancel()
            raise

    def close(self) -> None:
        """Fail every waiting task, kill every worker; returns within about a second."""
        self._closed.set()
        while True:
            try:
                ticket = self._queue.get_nowait()
            except queue.Empty:
                break
            if ticket is not None:
                self._finish(ticket, error=Stopped("the server is shutting down"))
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=2)
        for slot in self._slots:
            slot.kill()

    # -- the watching threads ---------------------------------------------------------------

    def _finish(
        self, ticket: Ticket, result: Any = None, error: BaseException | None = None
    ) -> None:
        with self._lock:
            self._waiting -= 1
        if ticket.future.done():  # cancelled while waiting
            return
        if error is not None:
            ticket.future.set_exception(error)
        else:
            ticket.future.set_result(result)

    def _drive(self, slot: _Slot) -> None:
        while True:
            ticket = self._queue.get()
            if ticket is None:
                return
            if ticket.cancelled or not ticket.future.set_running_or_notify_cancel():
                self._finish(ticket)
                continue
            if self._closed.is_set():
                self._finish(ticket, error=Stopped("the server is shutting down"))
                continue
            try:
                result = self._run(slot, ticket)
            except WorkError as exc:
                self._finish(ticket, error=exc)
            except Exception as exc:  # pragma: no cover - a bug here must not stop the thread
                self._finish(ticket, error=WorkerLost(f"worker: {type(exc).__name__}: {exc}"))
            else:
                self._finish(ticket, result=result)
            if self._closed.is_set():
                slot.kill()
            elif slot.process is None:
                slot.start()  # replace a killed worker now, so the next task does not wait

    def _send(self, slot: _Slot, message: bytes) -> Connection:
        for attempt in (1, 2):
            conn = slot.ensure()
            try:
                conn.send_bytes(message)
                return conn
            except (OSError, EOFError):  # the process died while idle: one fresh try
                slot.kill()
                if attempt == 2:
                    raise WorkerLost("the worker process could not be started") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, slot: _Slot, ticket: Ticket) -> Any:
        try:
            message = pickle.dumps(
                (ticket.task, ticket.argument, ticket.progress is not None),
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        except Exception as exc:
            raise Failed("bug", f"cannot send the task: {type(exc).__name__}: {exc}") from None
        slot.ensure()
        base = slot.rss()  # idle, before the task: what the task adds is measured from here
        if slot.fresh_rss is None:
            slot.fresh_rss = base
        conn = self._send(slot, message)
        start = time.monotonic()
        memory = ticket.memory_bytes + self.allowance
        while True:
            if self._closed.is_set():
                slot.kill()
                raise Stopped("the server is shutting down")
            if ticket.cancelled:
                slot.kill()
                raise Cancelled("cancelled")
            try:
                ready = conn.poll(POLL)
            except (OSError, EOFError):
                ready = True
            if ready:
                try:
                    reply = pickle.loads(conn.recv_bytes())
                except (OSError, EOFError):
                    code = slot.process.exitcode if slot.process is not None else None
                    slot.kill()
                    raise WorkerLost(
                        f"the worker process ended without an answer (exit code {code})"
                    ) from None
                if reply[0] == "progress":
                    if ticket.progress is not None:
                        ticket.progress(reply[1], reply[2])
                    continue
                self._after(slot)
                if reply[0] == "ok":
                    return reply[1]
                if reply[0] == "too_large":
                    raise RecordTooLarge.of(RecordTooLargeError(reply[1], reply[2], reply[3]))
                raise Failed(reply[1], reply[2])
            elapsed = time.monotonic() - start
            if elapsed > ticket.seconds:
                slot.kill()
                raise TimeLimit(
                    f"the work ran for longer than {ticket.seconds:g} s and was stopped"
                    " (--time-limit)",
                    round(elapsed, 3),
                    ticket.seconds,
                )
            rss = slot.rss()
            if rss is not None and base is not None and rss - base > memory:
                slot.kill()
                raise MemoryLimit(
                    f"the work used more than {(memory) / MiB:,.0f} MiB of memory and was"
                    " stopped (--max-memory)",
                    rss - base,
                    ticket.memory_bytes,
                )

    def _after(self, slot: _Slot) -> None:
        """Replace a worker that kept much memory after its task."""
        rss, fresh = slot.rss(), slot.fresh_rss
        if rss is not None and fresh is not None and rss - fresh > self.recycle_bytes:
            slot.kill()
