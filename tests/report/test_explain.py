"""``detente explain``'s prose lives in the report layer; every model gets sentences."""

from __future__ import annotations

import dataclasses

import pytest

from detente.io import load_default
from detente.models import models, run
from detente.report.explain import EXPLAINERS, explain


@pytest.mark.parametrize("name", [spec.name for spec in models()])
def test_every_model_is_explained(name: str) -> None:
    trace = run(load_default(), name)
    lines = explain(trace)
    assert lines
    assert all(isinstance(line, str) and line for line in lines)


def test_a_model_without_its_own_explainer_gets_the_generic_sentences() -> None:
    trace = dataclasses.replace(run(load_default(), "median"), model="newcomer")
    assert "newcomer" not in EXPLAINERS
    lines = explain(trace)
    assert len(lines) == len(trace.issues)
    assert lines[0].startswith("territory: newcomer forecasts")
    assert "in one step" in lines[0]
