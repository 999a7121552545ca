"""Where chunks of work run: in-process, a local process pool, or Dask.

One small interface (as in EMA Workbench): :meth:`Executor.map` applies a module-level
function to every item and returns the results **in item order**, whatever order they finish
in. Callers split work into the same fixed chunks whatever the executor, and every chunk
carries its own random streams (derived from the seed and the chunk's replicates, never from
the worker), so every executor and worker count gives identical numbers, bit for bit.

``on_result(index, result)`` is called in the parent as each item completes (in order of
completion), e.g. to advance a progress bar.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

OnResult = Callable[[int, Any], None]

EXECUTORS = ("inline", "process", "dask")
"""Executor names accepted by :func:`make_executor` (and ``--executor``)."""

DASK_MISSING = "the dask executor needs the 'dask' extra: pip install 'detente[dask]'"


class ExecutorError(ValueError):
    """An executor that cannot be made (unknown name, bad worker count, missing extra)."""


class Executor(Protocol):
    """Runs ``fn`` on every item; results in item order."""

    name: str

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_result: OnResult | None = None
    ) -> list[R]:
        """``[fn(x) for x in items]``, possibly in parallel; ``fn`` must be module-level."""
        ...


def default_workers() -> int:
    """The number of CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class InlineExecutor:
    """Runs every item in this process, one after the other."""

    name = "inline"

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_result: OnResult | None = None
    ) -> list[R]:
        out: list[R] = []
        for i, item in enumerate(items):
            out.append(fn(item))
            if on_result is not None:
                on_result(i, out[-1])
        return out


class ProcessExecutor:
    """A local pool of ``workers`` processes (started with ``spawn``, so the same on every OS)."""

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _check_workers(workers)

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_result: OnResult | None = None
    ) -> list[R]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        if len(items) <= 1:  # not worth starting a pool
            return InlineExecutor().map(fn, items, on_result)
        ctx = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(items))
        out: list[Any] = [None] * len(items)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for fut in as_completed(futures):
                i = futures[fut]
                out[i] = fut.result()
                if on_result is not None:
                    on_result(i, out[i])
        return out


class DaskExecutor:
    """Dask: a scheduler at ``address``, else a local cluster of ``workers`` processes.

    With ``distributed`` installed a ``LocalCluster`` (one thread per worker, no dashboard) is
    started for each :meth:`map` and closed after it; with plain ``dask``, the ``processes``
    scheduler of ``dask.compute``.
    """

    name = "dask"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        try:
            importlib.import_module("dask")
        except ImportError:
            raise ExecutorError(DASK_MISSING) from None
        self.workers = _check_workers(workers)
        self.address = address

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], on_result: OnResult | None = None
    ) -> list[R]:
        try:
            distributed = importlib.import_module("distributed")
        except ImportError:
            if self.address is not None:
                raise ExecutorError(
                    "a Dask scheduler address needs 'distributed': pip install 'dask[distributed]'"
                ) from None
            return self._compute(fn, items, on_result)
        return self._distributed(distributed, fn, items, on_result)

    def _compute(
        self, fn: Callable[[T], R], items: Sequence[T], on_result: OnResult | None
    ) -> list[R]:
        dask: Any = importlib.import_module("dask")
        tasks = [dask.delayed(fn, pure=False)(item) for item in items]
        out = list(dask.compute(*tasks, scheduler="processes", num_workers=self.workers))
        if on_result is not None:
            for i, r in enumerate(out):
                on_result(i, r)
        return out

    def _distributed(
        self, distributed: Any, fn: Callable[[T], R], items: Sequence[T], on_result: OnResult | None
    ) -> list[R]:
        if self.address is not None:
            with distributed.Client(self.address) as client:
                return _gather(distributed, client, fn, items, on_result)
        with (
            distributed.LocalCluster(
                n_workers=min(self.workers, max(1, len(items))),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=50,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            return _gather(distributed, client, fn, items, on_result)


def _gather(
    distributed: Any,
    client: Any,
    fn: Callable[[T], R],
    items: Sequence[T],
    on_result: OnResult | None,
) -> list[R]:
    futures = client.map(fn, list(items), pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    out: list[Any] = [None] * len(items)
    for fut in distributed.as_completed(futures):
        i = index[fut.key]
        out[i] = fut.result()
        if on_result is not None:
            on_result(i, out[i])
    return out


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return default_workers()
    if workers < 1:
        raise ExecutorError(f"workers must be at least 1, got {workers}")
    return int(workers)


def make_executor(
    name: str, workers: int | None = None, address: str | None = None
) -> InlineExecutor | ProcessExecutor | DaskExecutor:
    """The executor called ``name`` (``inline``, ``process`` or ``dask``).

    ``workers`` (default: the CPUs available) sizes the process pool or the local Dask
    cluster; ``address`` is a Dask scheduler to use instead of a local cluster.
    """
    key = name.strip().lower()
    if key == "inline":
        return InlineExecutor()
    if key == "process":
        return ProcessExecutor(workers)
    if key == "dask":
        return DaskExecutor(workers, address)
    raise ExecutorError(f"unknown executor {name!r} (executors: {', '.join(EXECUTORS)})")
