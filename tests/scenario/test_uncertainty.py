"""Uncertainty on estimates and thresholds: validation, located errors, serialisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from detente import io
from detente.errors import InputError
from detente.io.yaml_io import read_yaml, to_data, write_yaml
from detente.scenario import Beta, Estimate, Normal, PlusMinus, Scenario, Triangular, Uniform


def scenario(
    position: Any = 50, salience: Any = 0.5, capability: Any = 1, **extra: Any
) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "s",
            "issues": [{"id": "x"}, {"id": "y", "scale": {"min": -1, "max": 1}}],
            "actors": [
                {
                    "id": "a",
                    "capability": capability,
                    "stances": {"x": {"position": position, "salience": salience}},
                }
            ],
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("text", "dist"),
    [
        ("±10", PlusMinus(width=10)),
        ("+-2.5", PlusMinus(width=2.5)),
        (" ± 1e-3 ", PlusMinus(width=0.001)),
        ({"dist": "uniform", "low": 40, "high": 60}, Uniform(low=40, high=60)),
        ({"dist": "normal", "sd": 5}, Normal(sd=5)),
        ({"dist": "triangular", "low": 0, "high": 100}, Triangular(low=0, high=100)),
        ({"dist": "beta", "a": 2, "b": 3}, Beta(a=2, b=3)),
    ],
)
def test_distributions_parse(text: Any, dist: Any) -> None:
    sc = scenario(position={"value": 50, "uncertainty": text})
    assert sc.actors[0].stances["x"].position.uncertainty == dist


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"position": {"value": 50, "uncertainty": "10"}}, "expected an uncertainty"),
        ({"position": {"value": 50, "uncertainty": "±-1"}}, "must be a finite number > 0"),
        ({"position": {"value": 50, "uncertainty": {"dist": "cauchy"}}}, "dist"),
        (
            {"position": {"value": 50, "uncertainty": {"dist": "uniform", "low": 60, "high": 70}}},
            "low < value < high",
        ),
        (
            {"position": {"value": 50, "uncertainty": {"dist": "uniform", "low": 70, "high": 60}}},
            "low (70.0) must be less than high",
        ),
        (
            {"position": {"value": 50, "uncertainty": {"dist": "uniform", "low": -5, "high": 60}}},
            "within the valid range [0, 100]",
        ),
        ({"position": {"value": 50, "uncertainty": {"dist": "normal", "sd": 0}}}, "sd must be"),
        ({"salience": {"value": 0.5, "uncertainty": {"dist": "beta", "a": 0, "b": 1}}}, "a must"),
        (
            {
                "salience": {
                    "value": 0.5,
                    "uncertainty": {"dist": "triangular", "low": 0.6, "high": 1},
                }
            },
            "salience: triangular needs low < value < high",
        ),
        (
            {"capability": {"value": 2, "uncertainty": {"dist": "uniform", "low": 0, "high": 3}}},
            "valid range (0, ∞)",
        ),
        ({"capability": {"value": 2, "uncertainty": {"dist": "beta", "a": 1, "b": 1}}}, "bounded"),
        ({"thresholds": [{"issue": "z", "op": ">=", "value": 1}]}, "unknown issue 'z'"),
        ({"thresholds": [{"issue": "y", "op": ">=", "value": 2}]}, "outside the scale"),
        ({"thresholds": [{"issue": "y", "op": "=>", "value": 0}]}, "'>='"),
    ],
)
def test_validation_errors(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        scenario(**kwargs)
    assert fragment in str(info.value)


def test_estimate_serialises_compactly() -> None:
    assert Estimate(value=3).model_dump() == 3.0
    e = Estimate.model_validate({"value": 3, "uncertainty": "+-1"})
    assert e.model_dump(mode="json", exclude_none=True) == {"value": 3.0, "uncertainty": "±1"}
    e = Estimate(value=3, uncertainty=Normal(sd=0.5))
    assert e.model_dump(mode="json", exclude_none=True) == {
        "value": 3.0,
        "uncertainty": {"dist": "normal", "sd": 0.5},
    }


def test_yaml_round_trip_with_uncertainty_and_thresholds() -> None:
    sc = scenario(
        position={"value": 50, "uncertainty": "+-0.1"},
        salience={"value": 0.5, "uncertainty": {"dist": "beta", "a": 2, "b": 2}},
        capability={"value": 1, "uncertainty": {"dist": "triangular", "low": 0.5, "high": 3}},
        thresholds=[{"issue": "x", "op": "<", "value": 30, "label": "low"}],
    )
    data = write_yaml(sc, "s.yaml")
    assert read_yaml("s.yaml", data) == sc
    text = data.decode()
    assert "uncertainty: ±0.1" in text
    assert list(to_data(sc)) == ["name", "issues", "actors", "thresholds"]
    keys = [line.split(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert keys == ["name", "issues", "actors", "thresholds"]


@pytest.mark.parametrize(
    ("stance", "line", "field", "fragment"),
    [
        (
            "{position: {value: 50, uncertainty: {dist: normal, sd: -1}}, salience: 1}",
            6,
            "actors[0].stances.x.position.uncertainty",
            "sd must be",
        ),
        (
            "{position: {value: 50, uncertainty: {dist: uniform, low: 60, high: 90}}, salience: 1}",
            6,
            "actors[0].stances.x.position.uncertainty",
            "low < value < high",
        ),
        (
            "{position: {value: 50, uncertainty: {dist: pareto}}, salience: 1}",
            6,
            "actors[0].stances.x.position.uncertainty",
            "expected an uncertainty",
        ),
        (
            "{position: 50, salience: {value: 1, uncertainty: 'ten'}}",
            6,
            "actors[0].stances.x.salience.uncertainty",
            "expected an uncertainty",
        ),
    ],
)
def test_yaml_errors_name_line_and_field(
    tmp_path: Path, stance: str, line: int, field: str, fragment: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nissues: [{id: x}]\nactors:\n- id: a\n  capability: 1\n"
        f"  stances: {{x: {stance}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        io.read(path)
    err = info.value
    assert (err.row, err.column) == (line, field), err.message
    assert fragment in err.message


def test_yaml_threshold_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nissues: [{id: x}]\nactors: [{id: a, capability: 1}]\nthresholds:\n"
        "- {issue: x, op: '>=', value: 50}\n- {issue: x, op: '>=', value: 500}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        io.read(path)
    assert (info.value.row, info.value.column) == (6, "thresholds[1].value")
