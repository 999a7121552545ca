"""What a worker does with a finished run: records it through run_and_record where the store
can be shared, else hands it to the server as a RunJob."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from detente import io
from detente.store import RunJob, open_store
from detente.web import work


def test_a_worker_records_a_run_in_a_shared_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    sc = io.load_default()
    outcome = work.run_model(work.RunTask(sc, "median", {}, 4, url))
    assert outcome.record is None
    assert outcome.body is not None
    answer = json.loads(outcome.body)
    with open_store(url) as store:
        record = store.get(answer["run_id"])
    assert (record.kind, record.models, record.seed) == ("run", ["median"], 4)
    assert record.params == {"median": {}, "options": {}}
    assert record.results["forecast"] == answer["forecast"]


def test_without_a_shared_store_the_server_gets_the_job(tmp_path: Path) -> None:
    sc = io.load_default()
    outcome = work.monte_carlo(work.MonteCarloTask(sc, "median", {}, 1, 20, 10, None))
    assert outcome.body is None
    assert "run_id" not in outcome.answer
    job = pickle.loads(pickle.dumps(outcome.record))  # it crosses from the worker process
    assert isinstance(job, RunJob)
    assert (job.kind, job.models, job.seed) == ("mc", ["median"], 1)
    assert job.params == {"median": {}, "options": {"draws": 20}}
    with open_store(f"sqlite:///{tmp_path / 'server.sqlite'}") as store:
        done = job.record_in(store)  # as the server records it
        assert done.run_id is not None
        assert store.get(done.run_id).results == job.results
