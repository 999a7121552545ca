"""`detente shock` and `detente compare` on the default scenario: table, JSON, CSV, errors."""

from __future__ import annotations

import csv
import io as _io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.models import models

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "240"})
    return result.exit_code, result.stdout, result.stderr


def test_shock_table_names_contributors_and_clipping() -> None:
    code, out, err = invoke("shock", "--apply", "summit", "--model", "mean", "--model", "median")
    assert code == 0, err
    assert "baseline" in out
    assert "summit" in out
    assert "Ceasefire terms" in out
    line = re.search(r"summit · mean · Ceasefire terms: ([\d.]+) → ([\d.]+) \(\+([\d.]+)\);"
                     r" United States \+([\d.]+)", out)  # fmt: skip
    assert line is not None, out
    before, after, delta, usa = map(float, line.groups())
    assert after - before == pytest.approx(delta, abs=0.011)
    assert delta > 0
    assert usa > 0


def test_shock_file_late_shock_and_clipping_note(tmp_path: Path) -> None:
    f = tmp_path / "more.yaml"
    f.write_text(
        "shocks:\n"
        "  push:\n"
        "    changes:\n"
        "    - {actor: usa, issue: ceasefire, field: position, op: add, value: 50}\n",
        encoding="utf-8",
    )
    code, out, err = invoke(
        "shock", "--shocks-file", str(f), "-a", "push@3", "-m", "eu", "-m", "mean"
    )
    assert code == 0, err
    assert "clipped to 100" in out
    assert "push after round 3" in out
    assert "mean takes one step" in out
    code, _, err = invoke("compare", "--shocks-file", str(tmp_path / "none.yaml"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1


def test_shock_applies_several_together() -> None:
    code, out, err = invoke(
        "shock", "-a", "summit", "-a", "sanctions-tighten", "-m", "mean", "-f", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["shocks"] == ["summit+sanctions-tighten"]


def test_compare_json_is_byte_identical_and_has_no_timings() -> None:
    args = ("compare", "--shocks", "summit,us-commitment-erodes,sanctions-tighten", "-f", "json")
    code, first, err = invoke(*args, "--seed", "3")
    assert code == 0, err
    _, second, _ = invoke(*args, "--seed", "3")
    assert first == second
    data = json.loads(first)
    assert data["seed"] == 3
    names = [spec.name for spec in models()]
    assert data["models"] == names
    assert data["shocks"] == ["summit", "us-commitment-erodes", "sanctions-tighten"]
    assert len(data["results"]) == 3 * len(names)
    assert not any(k in first for k in ("time", "elapsed", "seconds"))
    mean_aid = next(
        i
        for r in data["results"]
        if (r["shock"], r["model"]) == ("us-commitment-erodes", "mean")
        for i in r["issues"]
        if i["issue"] == "aid"
    )
    assert mean_aid["method"] == "exact"
    assert abs(mean_aid["explained"] - mean_aid["delta"]) < 1e-9
    assert mean_aid["contributions"][0]["actor"] == "usa"


def test_compare_table_and_csv() -> None:
    code, out, err = invoke("compare", "-s", "sanctions-tighten", "-m", "mean", "-m", "smp")
    assert code == 0, err
    assert "sanctions-tighten · mean · Sanctions on Russia" in out
    code, out, err = invoke("compare", "-s", "summit", "-m", "mean", "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(_io.StringIO(out)))
    assert len(rows) == 6
    ceasefire = next(r for r in rows if r["issue"] == "ceasefire")
    assert ceasefire["top_contributors"].startswith("usa:")
    assert float(ceasefire["delta"]) > 0


def test_unknown_shock_is_one_line_exit_2() -> None:
    for args in (("compare", "--shocks", "summit,nope"), ("shock", "--apply", "nope")):
        code, out, err = invoke(*args)
        assert code == 2
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1
        assert "unknown shock 'nope'" in lines[0]
        assert "shocks: summit, us-commitment-erodes, sanctions-tighten, nato-unity" in lines[0]


def test_shock_needs_a_name() -> None:
    code, _, err = invoke("shock", "-m", "mean")
    assert code == 2
    assert "--apply" in err
