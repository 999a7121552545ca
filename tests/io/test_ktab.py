"""KTAB's CSV and XML: every shipped input, checked against what smpc itself read."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detente import io
from detente.errors import InputError
from detente.io.ktab import (
    DEFAULT_PARAMETERS,
    MODEL_PARAMETERS,
    SMP,
    _unescape,
    looks_like_ktab_csv,
)
from detente.io.table import SheetRow
from detente.scenario import Actor, Estimate, Issue, Scale, Scenario, Stance
from tests.conftest import shared_path
from tests.io.xsd import Schema

INPUTS = ("reference", "ktab", "inputs")

# Run folder → input file (runs/*/scenario.csv lists what smpc read).
RUNS = {
    "dummyData_3Dim": "dummyData_3Dim.csv",
    "dummyData_3Dim_fulllog": "dummyData_3Dim.csv",
    "dummyData_6Dim": "dummyData_6Dim.csv",
    "SOE-Pol-Comp": "SOE-Pol-Comp.csv",
    "smpExample_as-of-2017-05": "smpExample_as-of-2017-05.xml",
}

# scenario.csv stores the nine parameters as integers (KTAB README, sections A.3, A.4, A.10),
# under partly different names.
CODE_KEYS = {
    "VictoryProbModel": "VictoryProbModel",
    "ProbCondorcetElection": "PCEModel",
    "StateTransition": "StateTransitions",
    "VotingRule": "VotingRule",
    "BigRAdjust": "BigRAdjust",
    "BigRRange": "BigRRange",
    "ThirdPartyCommit": "ThirdPartyCommit",
    "InterVecBrgn": "InterVecBrgn",
    "BargnModel": "BargnModel",
}
CODES = {
    "VictoryProbModel": {"Linear": 0},
    "PCEModel": {"Conditional": 0, "MarkovIncentive": 1, "MarkovUniform": 2},
    "StateTransitions": {"Deterministic": 0, "Stochastic": 1},
    "VotingRule": {
        "Binary": 0,
        "PropBin": 1,
        "Proportional": 2,
        "PropCbc": 3,
        "Cubic": 4,
        "ASymProsp": 5,
    },
    "BigRAdjust": {"No": 0, "OneThird": 1, "Half": 2, "TwoThirds": 3, "Full": 4},
    "BigRRange": {"Min": 0, "Mid": 1, "Max": 2},
    "ThirdPartyCommit": {"NoCommit": 0, "SemiCommit": 1, "FullCommit": 2},
    "InterVecBrgn": {"S2P2": 1},
    "BargnModel": {"InitOnlyInterp": 0, "InitRcvrInterp": 1, "PWCompInterp": 2},
}

ALL_INPUTS = {
    "SOE-Competitive.csv",
    "SOE-Pol-Comp.csv",
    "SOE-Policy.csv",
    "SOE-data-from-paper.xlsx",
    "dummyData-a040.csv",
    "dummyData-a080.csv",
    "dummyData-a160.csv",
    "dummyData_3Dim-no-final-comma.csv",
    "dummyData_3Dim.csv",
    "dummyData_3Dim.xml",
    "dummyData_6Dim.csv",
    "smpExample.xml",
    "smpExample_as-of-2017-05.xml",
    "smpSchema.xsd",
}


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def inputs(name: str) -> Path:
    return shared_path(*INPUTS, name)


def test_every_input_loads_except_the_broken_example() -> None:
    folder = shared_path(*INPUTS)
    assert {p.name for p in folder.iterdir()} == ALL_INPUTS, "inputs changed: update the tests"
    for name in sorted(ALL_INPUTS - {"smpSchema.xsd", "smpExample.xml"}):
        loaded = io.load(folder / name)
        assert loaded.scenario.actors, name
    with pytest.raises(InputError) as info:
        io.load(folder / "smpExample.xml")
    err = info.value
    assert (err.row, err.row_kind, err.column, err.column_kind) == (
        32,
        "line",
        "Actor[1]/Position/dCoord[1]",
        "field",
    )
    assert "expected a number in [0, 100], got ''" in err.message


def _scenario_csv(run: str) -> tuple[dict[str, str], list[dict[str, object]]]:
    meta: dict[str, str] = {}
    actors: dict[int, dict[str, object]] = {}
    with shared_path("reference", "ktab", "runs", run, "scenario.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            kind, key, value = row["kind"], row["key"], row["value"]
            if kind == "scenario":
                meta[key] = value
                continue
            actor = actors.setdefault(int(key), {"sal": {}})
            if kind == "actor_name":
                actor["name"] = value
            elif kind == "capability":
                actor["cap"] = value
            else:
                dim = kind.split("|", 1)[1]
                actor["sal"][dim] = value  # type: ignore[index]
    return meta, [actors[i] for i in sorted(actors)]


def _turn0(run: str) -> dict[tuple[str, str], str]:
    out = {}
    with shared_path("reference", "ktab", "runs", run, "positions_long.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["turn"] == "0":
                out[(row["actor"], row["dim"])] = row["position"]
    return out


@pytest.mark.parametrize("run", sorted(RUNS))
def test_loaded_numbers_equal_what_smpc_read(run: str) -> None:
    loaded = io.load(inputs(RUNS[run]))
    sc = loaded.scenario
    meta, actors = _scenario_csv(run)
    positions = _turn0(run)
    assert sc.name == meta["Scenario"].strip()
    assert sc.description == meta["Desc"]
    assert [a.id for a in sc.actors] == [a["name"] for a in actors]
    assert [i.id for i in sc.issues] == list(actors[0]["sal"])  # type: ignore[arg-type]
    for actor, ref in zip(sc.actors, actors, strict=True):
        assert close(actor.capability.value, float(ref["cap"]))  # type: ignore[arg-type]
        for dim, sal in ref["sal"].items():  # type: ignore[attr-defined]
            stance = actor.stances[dim]
            assert close(stance.salience.value, float(sal)), (actor.id, dim)
            assert close(stance.position.value, float(positions[(actor.id, dim)]))
    smp = sc.parameters.get(SMP, {})
    expected = {CODE_KEYS[k]: int(v) for k, v in meta.items() if k in CODE_KEYS}
    if loaded.format == "ktab-xml":
        assert sc.seed == int(meta["RNGSeed"])
        assert {k: CODES[k][smp[k]] for k in MODEL_PARAMETERS} == expected
    else:
        assert sc.seed is None  # a CSV holds no seed; smpc took it from the command line
        assert smp == {}
        assert {k: CODES[k][v] for k, v in DEFAULT_PARAMETERS.items()} == expected


def test_final_comma_is_optional() -> None:
    a = io.read(inputs("dummyData_3Dim.csv"))
    b = io.read(inputs("dummyData_3Dim-no-final-comma.csv"))
    assert a.actors == b.actors
    assert a.issues == b.issues
    assert (a.name, b.name) == ("DummyData_3Dim", "Scenario-0x89B9E56731783372")


def test_xml_and_csv_of_dummy_3dim_agree() -> None:
    a = io.read(inputs("dummyData_3Dim.csv"))
    loaded = io.load(inputs("dummyData_3Dim.xml"))
    b = loaded.scenario
    assert a.actors == b.actors
    assert a.issues == b.issues
    assert (a.name, a.description) == (b.name, b.description)
    assert b.seed == 3707583219545544125
    assert b.parameters == {}  # no ModelParameters, no IdealAdjustment
    assert any("IdealAdjustment" in n for n in loaded.notes)


def test_smp_example_parameters_and_ideal_adjustment() -> None:
    sc = io.read(inputs("smpExample_as-of-2017-05.xml"))
    smp = sc.parameters[SMP]
    assert smp["VotingRule"] == "PropCbc"
    assert smp["StateTransitions"] == "Stochastic"
    assert smp["IdealAdjustment"][:3] == [
        ["Alice", "Alice", 0.87],
        ["Bob", "Bob", 0.75],
        ["Bob", "Alice", 0.07],
    ]
    assert len(smp["IdealAdjustment"]) == 6
    assert sc.actors[0].stances["FirstDim"].position.value == 52.8


def test_white_space_is_stripped_and_noted() -> None:
    loaded = io.load(inputs("dummyData-a040.csv"))
    sc = loaded.scenario
    assert [i.id for i in sc.issues] == ["XYZ Position"]
    assert sc.actors[0].description == "Desc-1001"
    assert sc.description == "XYZ Issue"
    assert any("KTAB keeps it" in n for n in loaded.notes)


def test_ktab_csv_detection() -> None:
    def rows(*lines: str) -> list[SheetRow]:
        return [SheetRow(i + 1, tuple(line.split(","))) for i, line in enumerate(lines)]

    assert looks_like_ktab_csv(rows("n,d, 13, 2, ", "Actor,Description,Influence"))
    assert looks_like_ktab_csv(rows("n,d,x,2", "Actor,Description,Power"))
    assert not looks_like_ktab_csv(rows("actor,capability,position,salience", "A,1,2,3"))
    assert not looks_like_ktab_csv(rows("Actor,Description,Power,P,S", "A,d,1,2,3"))


def test_escapes_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text(
        '"Talks, 2025",say &quot;hi&quot;,3,1\nActor,Description,Power,P,S\n'
        'A$$B,"one, two",1,50,50\nC,,2,10,20\nD,,3,0,100\n',
        encoding="utf-8",
    )
    sc = io.read(path)
    assert (sc.name, sc.description) == ("Talks, 2025", 'say "hi"')
    assert [a.id for a in sc.actors] == ["A,B", "C", "D"]
    assert sc.actors[0].description == "one, two"
    assert sc.actors[2].stances["P"].salience.value == 1.0


@pytest.mark.parametrize(
    "name",
    [
        "dummyData_3Dim.csv",
        "dummyData_6Dim.csv",
        "SOE-Pol-Comp.csv",
        "dummyData-a040.csv",
        "dummyData_3Dim.xml",
        "smpExample_as-of-2017-05.xml",
    ],
)
@pytest.mark.parametrize("fmt", ["ktab-csv", "ktab-xml"])
def test_ktab_writers_round_trip(tmp_path: Path, name: str, fmt: str) -> None:
    sc = io.read(inputs(name))
    out = tmp_path / ("out.xml" if fmt == "ktab-xml" else "out.csv")
    io.save(sc, out, format=fmt)
    back = io.read(out)
    assert back.actors == sc.actors
    assert back.issues == sc.issues
    assert (back.name, back.description) == (sc.name, sc.description)
    if fmt == "ktab-xml":
        assert back.parameters == sc.parameters
        assert back.seed == (sc.seed if sc.seed is not None else 15455440707583219804)


def test_written_xml_is_schema_valid(tmp_path: Path) -> None:
    schema = Schema(inputs("smpSchema.xsd"))
    for name in ("dummyData_3Dim.xml", "smpExample_as-of-2017-05.xml"):
        assert schema.errors(ET.parse(inputs(name)).getroot()) == [], name
    assert schema.errors(ET.parse(inputs("smpExample.xml")).getroot())  # the empty dCoord
    for name in ("smpExample_as-of-2017-05.xml", "SOE-Pol-Comp.csv", "dummyData_6Dim.csv"):
        out = tmp_path / "out.xml"
        io.save(io.read(inputs(name)), out)
        assert schema.errors(ET.parse(out).getroot()) == [], name


def test_missing_model_parameters_get_ktab_defaults(tmp_path: Path) -> None:
    sc = io.read(inputs("dummyData_3Dim.csv"))
    sc = sc.model_copy(update={"parameters": {SMP: {"VotingRule": "Binary"}}})
    out = tmp_path / "out.xml"
    io.save(sc, out)
    smp = io.read(out).parameters[SMP]
    assert smp == {**DEFAULT_PARAMETERS, "VotingRule": "Binary"}
    bad = sc.model_copy(update={"parameters": {SMP: {"VotingRule": "Majority"}}})
    with pytest.raises(InputError, match="VotingRule: expected one of"):
        io.save(bad, out)


def _three(**stance_kw: float) -> Scenario:
    def stance(p: float = 50.0, s: float = 0.3) -> Stance:
        return Stance(position=Estimate(value=p), salience=Estimate(value=s))

    return Scenario(
        name="t",
        issues=[Issue(id="x")],
        actors=[
            Actor(id=a, capability=Estimate(value=1.0), stances={"x": stance(**stance_kw)})
            for a in "ABC"
        ],
    )


@pytest.mark.parametrize("fmt", ["ktab-csv", "ktab-xml"])
def test_ktab_writers_refuse_what_ktab_cannot_run(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old", encoding="utf-8")
    base = _three()
    scaled = base.model_copy(update={"issues": [Issue(id="x", scale=Scale(min=4, max=10))]})
    cases = {
        "positions on a 0–100 scale; issue 'x' has scale [4, 10]": _rescaled(scaled),
        "3 to 250 actors": base.model_copy(update={"actors": base.actors[:2]}),
        "actor 'A' has none on issue 'y'": base.model_copy(
            update={"issues": [*base.issues, Issue(id="y")]}
        ),
    }
    for fragment, sc in cases.items():
        with pytest.raises(InputError, match=re.escape(fragment)):
            io.save(sc, out, format=fmt)
    two = Scenario(
        name="t",
        issues=[Issue(id="x"), Issue(id="y")],
        actors=[
            Actor(
                id=a,
                capability=Estimate(value=1.0),
                stances={
                    k: Stance(position=Estimate(value=5.0), salience=Estimate(value=0.6))
                    for k in "xy"
                },
            )
            for a in "ABC"
        ],
    )
    with pytest.raises(InputError, match="total at most 100"):
        io.save(two, out, format=fmt)
    if fmt == "ktab-xml":
        bell = base.model_copy(update={"description": "ring \x07"})
        with pytest.raises(InputError, match="XML cannot hold control characters"):
            io.save(bell, out, format=fmt)
    if fmt == "ktab-csv":
        for text in ("costs $$", "$,", "x$,y"):
            dollars = base.model_copy(update={"description": text})
            with pytest.raises(InputError, match=r"cannot hold this text \(it would read back"):
                io.save(dollars, out, format=fmt)
    assert out.read_text(encoding="utf-8") == "old"


def _rescaled(sc: Scenario) -> Scenario:
    actors = [
        a.model_copy(
            update={
                "stances": {"x": Stance(position=Estimate(value=5.0), salience=Estimate(value=0.3))}
            }
        )
        for a in sc.actors
    ]
    return Scenario.model_validate({**sc.model_dump(), "actors": [a.model_dump() for a in actors]})


# Text the KTAB CSV can carry: its escapes ``$$`` and ``&quot;`` cannot appear literally.
_KTAB_TEXT = (
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=20)
    .map(str.strip)
    # what the KTAB CSV writer refuses: text its escapes would not give back unchanged
    .filter(lambda t: _unescape(t.replace(",", "$$").replace('"', "&quot;")) == t)
)


@st.composite
def ktab_scenarios(draw: st.DrawFn) -> Scenario:
    """Scenarios KTAB can hold: 0–100 scales, full stances, saliences totalling ≤ 1."""
    dims = draw(st.lists(_KTAB_TEXT.filter(bool), min_size=1, max_size=3, unique=True))
    names = draw(
        st.lists(_KTAB_TEXT.filter(lambda t: 0 < len(t) <= 25), min_size=3, max_size=6, unique=True)
    )
    actors = [
        Actor(
            id=name,
            description=draw(_KTAB_TEXT) or None,
            capability=Estimate(value=draw(st.floats(1e-6, 1000.0))),
            stances={
                d: Stance(
                    position=Estimate(value=draw(st.floats(0.0, 100.0))),
                    salience=Estimate(value=draw(st.floats(0.0, 1.0 / len(dims)))),
                )
                for d in dims
            },
        )
        for name in names
    ]
    return Scenario(
        name=draw(_KTAB_TEXT.filter(bool)),
        description=draw(_KTAB_TEXT) or None,
        issues=[Issue(id=d) for d in dims],
        actors=actors,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ktab_scenarios(), st.sampled_from(["ktab-csv", "ktab-xml"]))
def test_ktab_round_trip_keeps_the_numbers(
    tmp_path_factory: pytest.TempPathFactory, sc: Scenario, fmt: str
) -> None:
    path = tmp_path_factory.mktemp("ktab") / ("s.xml" if fmt == "ktab-xml" else "s.csv")
    io.save(sc, path, format=fmt)
    back = io.read(path)
    assert (back.name, back.description) == (sc.name, sc.description)
    assert [i.id for i in back.issues] == [i.id for i in sc.issues]
    for a, b in zip(back.actors, sc.actors, strict=True):
        assert (a.id, a.description) == (b.id, b.description)
        assert a.capability.value == b.capability.value
        for d, stance in b.stances.items():
            assert a.stances[d].position.value == stance.position.value
            assert close(a.stances[d].salience.value, stance.salience.value)


def test_writer_uses_smpc_spellings_that_read_back(tmp_path: Path) -> None:
    """smpc refuses the schema's ``Proportional``/``No``; the writer writes ``Prop``/``None``."""
    sc = io.read(inputs("dummyData_3Dim.csv"))
    sc = sc.model_copy(update={"parameters": {SMP: {"VotingRule": "Proportional"}}})
    out = tmp_path / "out.xml"
    io.save(sc, out)
    text = out.read_text()
    assert "<VotingRule>Prop</VotingRule>" in text
    assert "<BigRAdjust>OneThird</BigRAdjust>" in text
    assert io.read(out).parameters[SMP]["VotingRule"] == "Proportional"
    none = sc.model_copy(update={"parameters": {SMP: {"BigRAdjust": "No"}}})
    io.save(none, out)
    assert "<BigRAdjust>None</BigRAdjust>" in out.read_text()
    assert io.read(out).parameters[SMP]["BigRAdjust"] == "No"
    # the schema objects to exactly those two spellings
    errors = Schema(inputs("smpSchema.xsd")).errors(ET.parse(out).getroot())
    assert errors
    assert all("None" in e or "Prop" in e for e in errors), errors


@pytest.mark.parametrize("name", ["#A", "#0", "#D"])
def test_a_ktab_csv_named_like_a_decide_row_still_reads_as_ktab(tmp_path: Path, name: str) -> None:
    # Found by the round-trip property test: the title's first cell is the scenario's name.
    sc = Scenario(
        name=name,
        issues=[Issue(id="land", scale=Scale(min=0, max=100))],
        actors=[
            Actor(
                id=key,
                capability=Estimate(value=cap),
                stances={"land": Stance(position=Estimate(value=x), salience=Estimate(value=0.5))},
            )
            for key, cap, x in (("east", 2.0, 10.0), ("west", 1.0, 80.0), ("mid", 1.0, 50.0))
        ],
    )
    path = tmp_path / "s.csv"
    io.save(sc, path, format="ktab-csv")
    loaded = io.load(path)
    assert loaded.format == "ktab-csv"
    assert [a.id for a in loaded.scenario.actors] == [a.id for a in sc.actors]
