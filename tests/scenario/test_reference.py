"""The optional per-issue reference point (status quo): YAML, validation, arrays, DEU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detente.errors import InputError
from detente.io import load, save
from detente.io.deu import read_deu
from detente.scenario import Scenario

YAML = """name: rp
issues:
  - id: a
    reference: {ref}
  - id: b
    scale: {{min: -5, max: 5}}
actors:
  - id: p
    capability: 1
    stances:
      a: {{position: 10, salience: 0.5}}
      b: {{position: 1, salience: 0.5}}
"""


def test_yaml_reads_and_writes_the_reference_point(tmp_path: Path) -> None:
    path = tmp_path / "rp.yaml"
    path.write_text(YAML.format(ref=30))
    sc = load(path).scenario
    assert sc.issue("a").reference == 30.0
    assert sc.issue("b").reference is None
    ref = sc.arrays().reference_points()
    assert ref[0] == 30.0
    assert np.isnan(ref[1])
    again = tmp_path / "again.yaml"
    save(sc, again)
    assert load(again).scenario.issue("a").reference == 30.0


def test_a_reference_point_outside_the_scale_is_named(tmp_path: Path) -> None:
    path = tmp_path / "rp.yaml"
    path.write_text(YAML.format(ref=130))
    with pytest.raises(InputError) as err:
        load(path)
    text = str(err.value)
    assert "issues[0]" in text
    assert "reference point 130 lies outside the scale [0, 100]" in text


def test_arrays_built_without_a_reference_have_none() -> None:
    sc = Scenario.model_validate(
        {
            "name": "x",
            "issues": [{"id": "a"}],
            "actors": [
                {"id": "p", "capability": 1, "stances": {"a": {"position": 1, "salience": 1}}}
            ],
        }
    )
    assert np.isnan(sc.arrays().reference_points()).all()


def test_deu_scenarios_carry_the_reference_point(tmp_path: Path) -> None:
    head = "prnr\tisnr\tproc\tcounvte\tintro\tpcom\tpde\tscom\tsde\trp\tout\n"
    rows = (
        "d1\td1i1\tCOD\tQMV\t26-01-00\t100\t0\t80\t50\t20\t60\n"
        "d1\td1i2\tCOD\tQMV\t26-01-00\t40\t\t80\t\t\t50\n"
    )
    path = tmp_path / "deu.tsv"
    path.write_text(head + rows)
    data = read_deu(path)
    caps = {"com": 1.0, "de": 2.0}
    assert data.scenario(data.issues[0], caps).issue("x").reference == 20.0
    assert data.scenario(data.issues[1], caps).issue("x").reference is None
    both = data.proposal_scenario(data.issues, caps)
    assert [i.reference for i in both.issues] == [20.0, None]
    assert set(both.actor("de").stances) == {"x0"}  # no position on the second issue
    assert both.actor("com").stances["x1"].position.value == 40.0
