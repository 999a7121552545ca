"""Hypothesis strategies: valid scenarios, with every kind of source and uncertainty; and
hostile input for the readers (mutants of valid files, random tables and documents)."""

from __future__ import annotations

import csv
import io
import math
import random
import re
import string
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from detente.io.ktab import MODEL_PARAMETERS
from detente.scenario import (
    Actor,
    Anchor,
    Beta,
    Citation,
    Distribution,
    Estimate,
    Issue,
    Judgement,
    Normal,
    PlusMinus,
    Scale,
    Scenario,
    Shock,
    Stance,
    Threshold,
    Triangular,
    Uniform,
    ValueChange,
)

# Text as people type it: letters (any script), digits, punctuation, symbols and spaces,
# plus a few strings YAML would read as something else if written unquoted.
_CHARS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))
_TRICKY = st.sampled_from(
    ["no", "yes", "null", "~", "true", "1e5", "0x1F", "12:30", "2024-06-01", "- a", "#x", "'q'"]
)
text = st.one_of(st.text(_CHARS, min_size=0, max_size=30), _TRICKY)
ids = (
    st.one_of(
        st.text(string.ascii_letters + string.digits + "-_ ./é", min_size=1, max_size=12),
        _TRICKY,
    )
    .map(str.strip)
    .filter(bool)
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)

sources = st.one_of(
    st.builds(
        Anchor,
        document=st.text("0123456789abcdef", min_size=64, max_size=64),
        start=st.integers(0, 10_000),
        end=st.integers(10_001, 20_000),
        file=st.none() | text,
        note=st.none() | text,
    ),
    st.builds(
        Citation,
        publication=text.filter(bool),
        table=st.none() | text,
        year=st.none() | st.integers(1800, 2100),
        figure=st.none() | text,
        url=st.none() | text,
        note=st.none() | text,
    ),
    st.builds(Judgement, rationale=text.filter(bool)),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | finite | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def _uncertainty(draw: st.DrawFn, value: float, lo: float, hi: float) -> Distribution | None:
    """None, or a distribution valid for ``value`` in ``[lo, hi]`` (``hi`` may be inf)."""
    kind = draw(st.sampled_from(["none", "none", "pm", "normal", "beta", "uniform", "tri"]))
    if kind == "none":
        return None
    if kind == "pm":
        return PlusMinus(width=draw(st.floats(1e-6, 1e6)))
    if kind == "normal":
        return Normal(sd=draw(st.floats(1e-6, 1e6)))
    if kind == "beta" and math.isfinite(hi):
        return Beta(a=draw(st.floats(0.05, 50.0)), b=draw(st.floats(0.05, 50.0)))
    if math.isinf(hi):
        low = value * draw(st.floats(0.01, 0.99))
        high = value * (1.0 + draw(st.floats(0.01, 10.0)))
    else:
        low = lo + (value - lo) * draw(st.floats(0.0, 0.99))
        high = hi - (hi - value) * draw(st.floats(0.0, 0.99))
    inside = low > 0 if math.isinf(hi) else lo <= low and high <= hi
    if not (low < value < high and inside):
        return PlusMinus(width=1.0)  # value at (or rounding to) an end: no room for low < value
    cls = Uniform if kind == "uniform" else Triangular
    return cls(low=low, high=high)


@st.composite
def scenarios(draw: st.DrawFn, *, with_sources: bool = True) -> Scenario:
    """1–6 issues with random scales, 1–8 actors, some estimates sourced inline or by id, some
    uncertain, and a few thresholds."""
    source_table = draw(st.dictionaries(ids, sources, max_size=3)) if with_sources else {}
    refs = list(source_table)

    def estimate(value: float, lo: float = 0.0, hi: float = 1.0) -> Estimate:
        dist = _uncertainty(draw, value, lo, hi) if with_sources else None
        if not with_sources:
            return Estimate(value=value)
        choice = draw(st.sampled_from(["none", "inline", "ref"] if refs else ["none", "inline"]))
        if choice == "none":
            return Estimate(value=value, uncertainty=dist)
        if choice == "ref":
            return Estimate(value=value, source=draw(st.sampled_from(refs)), uncertainty=dist)
        return Estimate(value=value, source=draw(sources), uncertainty=dist)

    issue_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    issues = []
    for iid in issue_ids:
        lo = draw(st.floats(-1e6, 1e6))
        hi = lo + draw(st.floats(1e-3, 1e6))
        default = draw(st.booleans())
        scale = (
            Scale()
            if default
            else Scale(
                min=lo,
                max=hi,
                min_label=draw(st.none() | text),
                max_label=draw(st.none() | text),
                unit=draw(st.none() | text),
            )
        )
        issues.append(
            Issue(
                id=iid,
                label=draw(st.none() | text),
                description=draw(st.none() | text),
                scale=scale,
            )
        )
    actors = []
    for aid in draw(st.lists(ids, min_size=1, max_size=8, unique=True)):
        stances = {}
        for issue in issues:
            if draw(st.integers(0, 4)) == 0:
                continue  # a missing stance
            pos = draw(st.floats(issue.scale.min, issue.scale.max))
            sal = draw(st.floats(0.0, 1.0))
            stances[issue.id] = Stance(
                position=estimate(pos, issue.scale.min, issue.scale.max),
                salience=estimate(sal),
            )
        actors.append(
            Actor(
                id=aid,
                label=draw(st.none() | text),
                description=draw(st.none() | text),
                capability=estimate(draw(st.floats(1e-9, 1e9, exclude_min=True)), 0.0, math.inf),
                risk=draw(st.none() | st.floats(-1.0, 1.0)),
                stances=stances,
            )
        )
    parameters: dict[str, dict[str, Any]] = draw(
        st.dictionaries(ids, st.dictionaries(text, json_values, max_size=3), max_size=2)
    )
    thresholds = [
        Threshold(
            issue=issue.id,
            op=draw(st.sampled_from([">=", "<=", ">", "<"])),
            value=draw(st.floats(issue.scale.min, issue.scale.max)),
            label=draw(st.none() | text),
        )
        for issue in draw(st.lists(st.sampled_from(issues), max_size=3))
    ]
    shocks: dict[str, Shock] = {}
    for name in draw(st.lists(ids, max_size=2, unique=True)):
        changes = []
        for _ in range(draw(st.integers(0, 3))):
            actor = draw(st.sampled_from(actors))
            field = draw(st.sampled_from(["capability", "position", "salience"]))
            stanced = list(actor.stances)
            if field != "capability" and not stanced:
                field = "capability"
            op = draw(st.sampled_from(["set", "add", "scale", "toward"]))
            others = [
                a.id
                for a in actors
                if field == "capability" or all(k in a.stances for k in stanced[:1])
            ]
            changes.append(
                ValueChange(
                    actor=actor.id,
                    issue=None if field == "capability" else stanced[0],
                    field=field,
                    op=op,
                    value=draw(st.floats(0.0, 1.0) if op == "toward" else st.floats(-1e6, 1e6)),
                    toward=draw(st.sampled_from(others)) if op == "toward" else None,
                )
            )
        shocks[name] = Shock(
            label=draw(st.none() | text),
            description=draw(st.none() | text),
            source=draw(st.none() | sources) if with_sources else None,
            changes=changes,
        )
    return Scenario(
        name=draw(ids),
        description=draw(st.none() | text),
        seed=draw(st.none() | st.integers(0, 2**64 - 1)),
        issues=issues,
        actors=actors,
        parameters=parameters,
        sources=source_table,
        thresholds=thresholds,
        shocks=shocks,
    )


# -- hostile input: mutants of valid files and random tables, for the readers' fuzz tests ----

# Bytes that mean something to one of the formats, and values the readers must survive.
HOSTILE = [
    b"9" * 5000,
    b"-" + b"9" * 400,
    b"1e400",
    b"-1e999",
    b"nan",
    b"inf",
    b"-0",
    b"1_000",
    b"\xe2\x88\x92" + b"5",  # U+2212 minus sign
    b"0x" + b"f" * 50,
    b"",
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b"\r",
    b"\x00",
    b"\x07",
    b"\xff",
    b"\xef\xbb\xbf",
    "é€😀".encode(),
    b"\xe2\x80\xa8",  # U+2028 line separator
]
LAUGHS = (
    b"[&l0 [a,a,a,a,a,a,a,a,a]"
    + b"".join(b", &l%d [" % k + b",".join([b"*l%d" % (k - 1)] * 9) + b"]" for k in range(1, 8))
    + b"]"
)
"""Seven levels of nine aliases each: 4,782,969 values from 272 bytes."""
YAML_TOKENS = [
    b"&a ",
    b"*a",
    b"&b [*a, *a, *a, *a]",
    b"[",
    b"]",
    b"{",
    b"}",
    b": ",
    b"- ",
    b", ",
    b"  ",
    b"? ",
    b"<<: *a",
    b"!!int ",
    b"!!python/object:os.system ",
    b"!custom ",
    b"|\n",
    b">-\n",
    b"'",
    b'"',
    b"#",
    b"~",
    b"null",
    b"true",
    b"no",
    b"=",
    b".inf",
    b"-.nan",
    b"12:30:45",
    b"2024-06-01",
    b"1" + b":0" * 3000,
    b"0b" + b"1" * 20000,
    b"%YAML 1.1\n---\n",
    b"---\n",
    b"...\n",
    b"[\n" * 1000 + b"1" + b"]" * 1000,  # a line each: PyYAML scans one long line slowly
    LAUGHS,
    b"{a:\n" * 1000 + b"1" + b"}" * 1000,
    b"value",
    b"source",
    b"uncertainty",
    b"{dist: beta, a: 0, b: -1}",
    b"+-",
    b"\xc2\xb1",
    b"parameters",
    b"shocks",
    b"sources",
]
YAML_VALUES = [
    b"[\n" * 1000 + b"]" * 1000,
    b"{a:\n" * 1000 + b"1" + b"}" * 1000,
    LAUGHS,
    b"&a [1, *a]",
    b"!!int x",
    b"!!timestamp x",
    b"!!set {a}",
    b"1" + b":0" * 3000,
    b"0b" + b"1" * 20000,
    b"*a",
]
"""Values that keep a YAML document's syntax: deep, expanding, recursive, tagged, huge."""
CSV_TOKENS = [
    b",",
    b";",
    b"\t",
    b'"',
    b'""',
    b",,",
    b"Actor",
    b"Name",
    b"Code",
    b"Label",
    b"Capability",
    b"Power",
    b"Clout",
    b"Position",
    b"Salience",
    b"Issue",
    b"Risk",
    b"Description",
    b"X Position",
    b"X Salience",
    b"Title: what is it?",
    b"0.5",
    b"50",
    b"150",
    b"-3",
    b"$$",
    b"&quot;",
    b"3,1,",
    b"999999999999",
    b"0",
]
XML_TOKENS = [
    b"<",
    b">",
    b"</",
    b"/>",
    b"<Actor>",
    b"</Actor>",
    b"<Actors>",
    b"<name>A</name>",
    b"<dCoord>",
    b"</dCoord>",
    b"<dSal>1</dSal>",
    b"<Dimensions><dName>d</dName></Dimensions>",
    b"<ModelParameters>",
    b"<VotingRule>Prop</VotingRule>",
    b"<BigRAdjust>None</BigRAdjust>",
    b"<IdealAdjustment>",
    b"<iaPair><adjustingIdeal>A</adjustingIdeal><referencePos>B</referencePos><adjust>1</adjust>"
    b"</iaPair>",
    b"<prngSeed>" + b"7" * 30 + b"</prngSeed>",
    b"&amp;",
    b"&a;",
    b"&#0;",
    b"&#x10FFFF;",
    b"<!DOCTYPE s [<!ENTITY a 'x'>]>",
    b"<!DOCTYPE s SYSTEM 'file:///etc/passwd'>",
    b'<?xml version="1.0" encoding="UTF-32"?>',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="klingon"?>',
    b"<![CDATA[",
    b"]]>",
    b"<!-- x -->",
    b"<?pi x?>",
    b' xmlns="urn:x"',
    b"<a>" * 1000,
]
CELL_WORDS = [
    "Actor",
    "Stakeholder",
    "Name",
    "Code",
    "Label",
    "Capability",
    "Power",
    "Influence",
    "Position",
    "Salience",
    "Importance",
    "Issue",
    "Dimension",
    "Risk",
    "Description",
    "X Position",
    "X Salience",
    "Policy Position",
    "Title: the policy space?",
]


_VALUES = [b"0", b"1", b"0.5", b"50", b"100", b"101", b"-1", b"1e-300", b"1.5", b"x", b"A"]
_NUMBERS = [b"9" * 5000, b"-" + b"9" * 400, b"1e400", b"nan", b"0", b"-1", b"101", b"0x1f"]
_HEADS = [
    b'<?xml version="1.0" encoding="UTF-32"?>',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="Shift_JIS"?>',
    b'<?xml version="1.0" encoding="klingon"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b"\xef\xbb\xbf",
    b"%YAML 1.1\n---",
    b"s,d,3,1,",
    b"s,d," + b"9" * 5000 + b",1,",
    b"s,d,3," + b"1" * 5000 + b",",
]
_WORD = re.compile(rb"[\w.+-]+")
_NUMBER = re.compile(rb"(?<![\w.])[-+]?\d[\d.eE+-]*")
_MARK = re.compile(rb"[\n,:;<>\[\]{}]")
_OPS = ["word"] * 5 + ["number"] * 3 + ["insert"] * 3 + ["replace"] * 2
_OPS += ["delete", "repeat", "byte"] * 2 + ["cut", "lines", "head"]


def mutate(
    seed: bytes,
    rng: random.Random,
    tokens: list[bytes],
    values: list[bytes] | None = None,
    max_edits: int = 4,
) -> bytes:
    """``seed`` with 1–``max_edits`` edits (mostly one or two) drawn from ``rng``: a word or
    number replaced by a value (hostile ones, ``values``), a token or random bytes; tokens
    inserted or written over a span, next to a delimiter (new line, comma, colon, bracket)
    half the time; spans deleted or repeated; a byte changed; the tail cut; two lines swapped;
    the first line replaced (an XML declaration, a KTAB title line)."""
    pieces = tokens + HOSTILE + _VALUES
    replacements = HOSTILE + _VALUES + (values or [])
    data = bytearray(seed)
    edits = 1
    while edits < max_edits and rng.random() < 0.4:
        edits += 1
    for _ in range(edits):
        n = len(data)
        piece = rng.choice(pieces) if rng.random() < 0.9 else rng.randbytes(rng.randint(1, 8))
        op = rng.choice(_OPS)
        if op in ("word", "number"):  # mostly a value that keeps the syntax
            words = list((_WORD if op == "word" else _NUMBER).finditer(data))
            if words:
                word = rng.choice(words)
                if op == "number":
                    value = rng.choice(_NUMBERS)
                else:
                    value = rng.choice(replacements) if rng.random() < 0.7 else piece
                data[word.start() : word.end()] = value
            continue
        marks = [m.start() for m in _MARK.finditer(data)]
        i = rng.choice(marks) if marks and rng.random() < 0.5 else rng.randint(0, n)
        j = min(n, i + rng.randint(0, 64))
        if op == "insert":
            data[i:i] = piece
        elif op == "replace":
            data[i:j] = piece
        elif op == "delete":
            del data[i:j]
        elif op == "repeat":
            data[i:i] = data[i:j] * rng.randint(1, 4)
        elif op == "byte" and n:
            data[min(i, n - 1)] = rng.randrange(256)
        elif op == "cut":
            del data[i:]
        elif op == "lines":
            lines = bytes(data).split(b"\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            data = bytearray(b"\n".join(lines))
        elif op == "head":  # the first line: an XML declaration, a KTAB title line
            first = data.find(b"\n")
            data[: first if first >= 0 else n] = rng.choice(_HEADS)
    return bytes(data)


_CELL_VALUE = re.compile(rb"<v>([^<]*)</v>")
_CELL_NUMBERS = [b"9" * 400, b"-" + b"9" * 400, b"9" * 5000, b"1e400", b"nan", b"-inf", b"", b"x"]
_CELL_NUMBERS += [b"0", b"-1", b"101", b"0.5", b"1E+2", b"TRUE"]


def mutate_xlsx(seed: bytes, rng: random.Random) -> bytes:
    """The workbook ``seed`` with one part mutated (a sheet or the shared strings, mostly);
    1 time in 8 its zip bytes instead."""
    if rng.random() < 1 / 8:
        return mutate(seed, rng, XML_TOKENS)
    with zipfile.ZipFile(io.BytesIO(seed)) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    sheets = [n for n in parts if n.startswith("xl/worksheets/") or "sharedStrings" in n]
    name = rng.choice(sheets * 8 + sorted(parts))
    values = list(_CELL_VALUE.finditer(parts[name]))
    if values and rng.random() < 1 / 3:  # a cell's value: the reader's numbers get it
        cell = rng.choice(values)
        text = bytearray(parts[name])
        text[cell.start(1) : cell.end(1)] = rng.choice(_CELL_NUMBERS)
        parts[name] = bytes(text)
    else:
        parts[name] = mutate(parts[name], rng, XML_TOKENS + CSV_TOKENS)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part, content in parts.items():
            zf.writestr(part, content)
    return buf.getvalue()


_hostile_text = st.sampled_from([t.decode("utf-8", "replace") for t in HOSTILE])
_printable = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=10)


def _now_and_then(draw: st.DrawFn, n: int) -> bool:
    """True about once in ``n`` draws. (A middle value: Hypothesis favours the ends of a range.)"""
    return bool(draw(st.integers(0, n - 1)) == n // 2)


def _mostly(valid: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``valid`` 9 times in 10, else ``odd``."""
    return st.integers(0, 9).flatmap(lambda k: odd if k == 5 else valid)


numeric_text = _mostly(
    st.one_of(st.integers(0, 100).map(str), st.floats(0, 1).map(repr)),
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(10**400), 10**400).map(str),
        _hostile_text,
        _printable,
    ),
)
"""Cell text for a number: mostly in range, now and then far out or not a number at all."""
cell_text = st.one_of(
    st.sampled_from(CELL_WORDS), _hostile_text, numeric_text, st.text(max_size=12)
)
"""Any cell text."""
_names = _mostly(st.sampled_from(["A", "B", "C", "Dee", "e-1", "Über"]), _printable | _hostile_text)

_LAYOUTS = {
    "per-issue": ["Actor", "Capability", "Position", "Salience"],
    "long": ["Actor", "Issue", "Power", "Position", "Salience", "Risk"],
    "wide": ["Code", "Clout", "Tax Position", "Tax Salience", "Trade Position", "Trade Salience"],
}


@st.composite
def csv_tables(draw: st.DrawFn) -> bytes:
    """An analyst CSV table in one of the three layouts, header names re-cased and sometimes
    replaced, over rows of names and numbers with hostile values mixed in; sometimes a title
    line, ';' or tab as delimiter, ragged rows."""
    header = list(draw(st.sampled_from(sorted(_LAYOUTS.values()))))
    for k in range(len(header)):
        header[k] = draw(st.sampled_from([header[k], header[k].upper(), header[k].lower()]))
        if _now_and_then(draw, 10):
            header[k] = draw(cell_text)
    if _now_and_then(draw, 5):
        header.insert(draw(st.integers(0, len(header))), draw(cell_text))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(_names)] + [draw(numeric_text) for _ in header[1:]]
        if "Issue" in header:
            row[1] = draw(st.sampled_from(["x", "y", ""]) | _names)
        if _now_and_then(draw, 10):
            row = [*row[: draw(st.integers(0, len(row) + 1))], draw(cell_text)]
        rows.append(row)
    buf = io.StringIO()
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=end)
    if _now_and_then(draw, 4):
        writer.writerow([draw(cell_text)])
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8", "surrogatepass")


@st.composite
def ktab_csv_tables(draw: st.DrawFn) -> bytes:
    """A KTAB CSV file: a title line whose counts are mostly right (sometimes wrong or
    thousands of digits long), a header and actor lines of numbers with hostile values."""
    dims = draw(st.integers(1, 3))
    actors = draw(st.integers(3, 5))
    odd = st.sampled_from(["9" * 5000, "0", "007", " 3 ", "x", ""])
    title = [
        draw(st.sampled_from(["s", "Scenario 1"]) | _names),
        draw(st.sampled_from(["", "about it"]) | _names),
        draw(odd) if _now_and_then(draw, 4) else str(actors),
        draw(odd) if _now_and_then(draw, 4) else str(dims),
    ]
    header = ["Actor", "Description", "Power"]
    header += [h for k in range(dims) for h in (f"D{k}", f"S{k}")]
    rows = []
    for i in range(actors + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))):
        row = [f"A{i}", draw(st.sampled_from(["", "an actor"]) | _names)]
        row += [draw(numeric_text) for _ in range(1 + 2 * dims)]
        if _now_and_then(draw, 10):
            row = row[: draw(st.integers(0, len(row)))]
        rows.append(row)
    lines = [title, header, *rows]
    end = draw(st.sampled_from([",\n", "\n", ",\r\n"]))
    text = "".join(",".join(line) + end for line in lines)
    return text.encode("utf-8", "surrogatepass")


_PARAMETER_VALUES = [
    *("Linear", "Conditional", "Deterministic", "Prop", "Proportional", "None", "No", "Mid"),
    *("SemiCommit", "S2P2", "InitOnlyInterp", "Majority", ""),
]


@st.composite
def xml_documents(draw: st.DrawFn) -> bytes:
    """A KTAB XML scenario of random size whose values are random (numbers in and out of
    range, huge seeds, unknown parameter values, text); in one document of three, elements
    are now and then dropped, repeated or renamed."""
    chaos = _now_and_then(draw, 3)

    def leaf(parent: ET.Element, tag: str, text: str) -> None:
        if chaos and _now_and_then(draw, 20):
            return  # dropped
        for _ in range(2 if chaos and _now_and_then(draw, 20) else 1):
            renamed = chaos and _now_and_then(draw, 30)
            name = draw(st.sampled_from(["x", "Actor"])) if renamed else tag
            ET.SubElement(parent, name).text = text.replace("\x00", "")

    dims = draw(st.integers(1, 3))
    root = ET.Element("Scenario")
    leaf(root, "name", draw(st.sampled_from(["s", "scenario"]) | _names))
    leaf(root, "desc", draw(_names))
    odd_seed = st.sampled_from(["9" * 5000, "", "-1", str(2**64), "x"])
    seed = draw(odd_seed) if _now_and_then(draw, 4) else str(draw(st.integers(0, 2**64 - 1)))
    leaf(root, "prngSeed", seed)
    if draw(st.booleans()):
        params = ET.SubElement(root, "ModelParameters")
        for key, allowed in MODEL_PARAMETERS.items():
            value = _mostly(st.sampled_from(allowed), st.sampled_from(_PARAMETER_VALUES))
            leaf(params, key, draw(value))
    if not _now_and_then(draw, 4):
        names = ET.SubElement(root, "Dimensions")
        for k in range(dims):
            leaf(names, "dName", draw(st.just(f"d{k}") | _names))
    actors = ET.SubElement(root, "Actors")
    count = 0 if _now_and_then(draw, 20) else draw(st.integers(1, 5))
    for i in range(count):
        actor = ET.SubElement(actors, "Actor")
        leaf(actor, "name", draw(st.just(f"A{i}") | _names))
        leaf(actor, "description", draw(_names))
        leaf(actor, "capability", draw(numeric_text))
        for block, tag in (("Position", "dCoord"), ("Salience", "dSal")):
            elem = ET.SubElement(actor, block)
            for _ in range(dims + (draw(st.sampled_from([-1, 1])) if chaos else 0)):
                leaf(elem, tag, draw(numeric_text))
    if count and draw(st.booleans()):
        ideal = ET.SubElement(root, "IdealAdjustment")
        for _ in range(draw(st.integers(0, 3))):
            pair = ET.SubElement(ideal, "iaPair")
            leaf(pair, "adjustingIdeal", f"A{draw(st.integers(0, count))}")
            leaf(pair, "referencePos", f"A{draw(st.integers(0, count))}")
            leaf(pair, "adjust", draw(numeric_text))
    try:
        body = ET.tostring(root, encoding="unicode")
    except ValueError:
        body = "<Scenario/>"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8", "surrogatepass")


xlsx_cells = st.one_of(
    st.none(),
    st.sampled_from(CELL_WORDS),
    st.integers(-(10**300), 10**300),  # openpyxl cannot write integers beyond the floats
    st.floats(0, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1)),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12),
    st.sampled_from(["=1/0", "=SUM(A1:A2)", "#DIV/0!"]),
)
"""Cell values openpyxl can write."""
