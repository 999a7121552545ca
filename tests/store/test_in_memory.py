"""An in-memory SQLite store is one database for every thread of the process."""

from __future__ import annotations

import threading

from detente import io
from detente.store import open_store


def test_a_run_recorded_from_another_thread_is_seen_by_this_one() -> None:
    store = open_store("sqlite://")
    try:
        ids: list[int] = []

        def record() -> None:
            rec = store.record("run", io.load_default(), ["median"], {}, 0, {"forecast": {}})
            ids.append(rec.id)

        worker = threading.Thread(target=record)
        worker.start()
        worker.join()
        assert [r.id for r in store.list()] == ids
        assert store.get(ids[0]).kind == "run"
    finally:
        store.close()
