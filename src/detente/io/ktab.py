"""KTAB's Spatial Model of Politics (``smpc``) inputs: its CSV and XML scenario files.

Both formats hold positions and saliences on 0–100; saliences are divided by 100 on reading
and multiplied on writing, as the shortest decimal text that reads back to the same number
(``0.4953`` is written ``49.53``).

CSV (``SMPModel::csvRead``): a title line ``name,description,actors,dimensions`` (further
fields ignored), a header line whose position headers name the dimensions, then one line per
actor: name, description, capability, then position and salience per dimension. Followed:
quotes removed, ``$$`` read as a comma and ``&quot;`` as a double quote, optional trailing
comma, byte-order mark skipped. Differences, by choice: white space around names and
descriptions is stripped (KTAB keeps it; a note says when it mattered); blank lines are
skipped (KTAB stops at the first); the number of actor lines must equal the declared count
exactly; capability must be > 0 (KTAB's reader accepts 0, its model does not).

XML (schema ``smpSchema.xsd``): ``prngSeed`` becomes the scenario's seed, ``ModelParameters``
and ``IdealAdjustment`` go to ``parameters["smp"]`` (parameter names to value names, and
``IdealAdjustment`` as ``[[adjusting, reference, adjust], ...]``). ``IdealAdjustment`` may be
missing, as the schema allows (KTAB's reader itself requires it). Errors name the line and an
XPath-like field, 1-based: ``Actor[3]/Position/dCoord[1]``. Parameter values are read in the
schema's spelling and in ``smpc``'s (``Prop``, ``None``; see ``SMPC_SPELLINGS``) and written in
``smpc``'s, so that a written file runs in ``smpc`` (the schema itself would refuse those two).

Writers refuse (``InputError``) what KTAB cannot run: a scale other than 0–100, a missing
stance, fewer than 3 actors, saliences of an actor totalling more than 1 (100 in KTAB), and
for CSV names over 25 characters, descriptions over 256 and more than 250 actors, for XML
capabilities above 1000 (the schema's bound). A scenario without a seed is written to XML
with KTAB's own default seed, 15455440707583219804.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from detente.errors import InputError
from detente.io.common import (
    ID_MAX,
    decode_text,
    format_decimal,
    format_percent,
    is_id,
)
from detente.io.csv_io import parse_csv
from detente.io.table import SheetRow, normalize
from detente.scenario import Actor, Estimate, Issue, Scenario, Stance

SMP = "smp"
"""The key of ``Scenario.parameters`` holding KTAB's model parameters."""

MODEL_PARAMETERS: dict[str, tuple[str, ...]] = {
    "VictoryProbModel": ("Linear", "Square", "Quartic", "Octic", "Binary"),
    "PCEModel": ("Conditional", "MarkovIncentive", "MarkovUniform"),
    "StateTransitions": ("Deterministic", "Stochastic"),
    "VotingRule": ("Binary", "PropBin", "Proportional", "PropCbc", "Cubic", "ASymProsp"),
    "BigRAdjust": ("Full", "TwoThirds", "Half", "OneThird", "No"),
    "BigRRange": ("Min", "Mid", "Max"),
    "ThirdPartyCommit": ("NoCommit", "SemiCommit", "FullCommit"),
    "InterVecBrgn": ("S1P1", "S2P2", "S2PMax"),
    "BargnModel": ("InitOnlyInterp", "InitRcvrInterp", "PWCompInterp"),
}
"""The nine model parameters of the schema, in its order, with their allowed values."""

SMPC_SPELLINGS: dict[str, dict[str, str]] = {
    "VotingRule": {"Prop": "Proportional"},
    "BigRAdjust": {"None": "No"},
}
"""Where ``smpc``'s reader differs from the schema: its spelling to the schema's.

``smpc`` looks values up in KTAB's own name lists (``VotingRuleNames``, ``BigRAdjustNames`` in
``kmodel.h``), which say ``Prop`` and ``None`` where the schema says ``Proportional`` and
``No``; it refuses the schema's two spellings. Both are read; the writer writes ``smpc``'s.
"""

DEFAULT_PARAMETERS: dict[str, str] = {
    "VictoryProbModel": "Linear",
    "PCEModel": "Conditional",
    "StateTransitions": "Deterministic",
    "VotingRule": "Proportional",
    "BigRAdjust": "OneThird",
    "BigRRange": "Mid",
    "ThirdPartyCommit": "SemiCommit",
    "InterVecBrgn": "S2P2",
    "BargnModel": "InitOnlyInterp",
}
"""KTAB's defaults, which every CSV input runs with."""

IDEAL_ADJUSTMENT = "IdealAdjustment"
DEFAULT_SEED = 15455440707583219804
"""``smpc``'s default seed, written when a scenario has none."""

_SALIENCE_NOTE = "saliences read on KTAB's 0–100 scale and divided by 100"


# -- CSV -------------------------------------------------------------------------


def _unescape(field: str) -> str:
    """KTAB's CSV escapes: ``$$`` is a comma, ``&quot;`` a double quote."""
    return field.replace("$$", ",").replace("&quot;", '"')


# Counts in a KTAB title line have at most this many digits: no file of MAX_FILE_BYTES holds
# as many actor lines or columns, and longer ones are beyond what Python turns into numbers.
_COUNT_DIGITS = 9


def _is_count(text: str) -> bool:
    return re.fullmatch(r"\s*\d+\s*", text) is not None


def looks_like_ktab_csv(rows: list[SheetRow]) -> bool:
    """A KTAB title line: its 3rd and 4th fields are integers (actor and dimension counts).

    Also true when the second line starts ``Actor,Description`` under a first line that is
    not a header, so a KTAB file with a bad count gets KTAB's error messages.
    """
    filled = [r for r in rows if not r.blank][:2]
    if not filled:
        return False
    title = [str(c) for c in filled[0].cells]
    if len(title) >= 4 and _is_count(title[2]) and _is_count(title[3]):
        return True
    if len(filled) < 2:
        return False
    second = [normalize(str(c)) for c in filled[1].cells[:2]]
    first = {normalize(str(c)) for c in filled[0].cells}
    return second == ["actor", "description"] and not first & {"actor", "name", "stakeholder"}


def _fields(row: SheetRow, width: int) -> list[str]:
    """The row's fields, trailing empty ones beyond ``width`` dropped (the optional comma)."""
    fields = [_unescape(str(c)) for c in row.cells]
    while len(fields) > width and not fields[-1].strip():
        fields.pop()
    return fields


def read_ktab_csv(path: Path, text: str) -> tuple[Scenario, list[str]]:
    """A KTAB CSV scenario (see the module docstring) and the notes on how it was read."""
    file = str(path)
    rows = parse_csv(text, file, strip=False)
    filled = [r for r in rows if not r.blank]
    if not filled:
        raise InputError(file, "expected a scenario, got an empty file")
    notes = [_SALIENCE_NOTE]
    stripped: set[str] = set()

    def clean(value: str, what: str) -> str:
        if value != value.strip():
            stripped.add(what)
        return value.strip()

    title = filled[0]
    tf = [_unescape(str(c)) for c in title.cells]
    if len(tf) < 4:
        raise InputError(
            file,
            "expected a KTAB title line: scenario name, description, number of actors,"
            " number of dimensions",
            row=title.number,
            found=f"{len(tf)} field(s)",
        )
    counts = []
    for col, what in ((2, "actors"), (3, "dimensions")):
        digits = tf[col].strip().lstrip("0")
        if not _is_count(tf[col]) or not digits or len(digits) > _COUNT_DIGITS:
            raise InputError(
                file,
                f"expected the number of {what} (a whole number from 1 to"
                f" {10**_COUNT_DIGITS - 1:,}) in the title line",
                row=title.number,
                column=col + 1,
                found=tf[col].strip(),
            )
        counts.append(int(digits))
    n_actors, n_dims = counts
    width = 3 + 2 * n_dims
    layout = (
        f"{width} fields: actor, description, capability, then a position and a salience for"
        f" each of the {n_dims} dimensions"
    )
    name = clean(tf[0], "names")
    if not name:
        name = path.stem.strip()[:ID_MAX].strip() or "scenario"
        notes.append(f"the title line has no scenario name; named {name!r} after the file")
    elif not is_id(name):
        raise InputError(
            file,
            f"expected a scenario name of 1–{ID_MAX} characters",
            row=title.number,
            column=1,
            found=name,
        )
    description = clean(tf[1], "descriptions") or None

    if len(filled) < 2:
        raise InputError(file, "expected a header line below the title line", row=title.number + 1)
    header = filled[1]
    hf = _fields(header, width)
    if len(hf) != width:
        raise InputError(file, f"expected {layout}", row=header.number, found=f"{len(hf)} fields")
    columns: list[str | int] = [h.strip() or i + 1 for i, h in enumerate(hf)]
    dims: list[str] = []
    for k in range(n_dims):
        col = 3 + 2 * k
        dim = clean(hf[col], "dimension names")
        if not is_id(dim):
            raise InputError(
                file,
                f"expected a dimension name of 1–{ID_MAX} characters",
                row=header.number,
                column=col + 1,
                found=dim,
            )
        if dim in dims:
            raise InputError(
                file,
                f"expected distinct dimension names, but {dim!r} repeats column"
                f" {3 + 2 * dims.index(dim) + 1}",
                row=header.number,
                column=col + 1,
            )
        dims.append(dim)

    data = filled[2:]
    if len(data) < n_actors:
        raise InputError(
            file,
            f"expected {n_actors} actor lines as declared in the title line, found {len(data)}",
            row=title.number,
            column=3,
        )
    if len(data) > n_actors:
        raise InputError(
            file,
            f"expected no more than the {n_actors} actor lines declared in the title line"
            f" (row {title.number})",
            row=data[n_actors].number,
        )
    if any(r.number != header.number + 1 + i for i, r in enumerate(data)):
        notes.append("blank lines skipped (KTAB stops reading at the first blank line)")

    actors: list[Actor] = []
    seen: dict[str, int] = {}
    for row in data:
        f = _fields(row, width)
        if len(f) != width:
            raise InputError(file, f"expected {layout}", row=row.number, found=f"{len(f)} fields")

        actor_id = clean(f[0], "names")
        if not is_id(actor_id):
            raise InputError(
                file,
                f"expected an actor name of 1–{ID_MAX} characters",
                row=row.number,
                column=columns[0],
                found=actor_id,
            )
        if actor_id in seen:
            raise InputError(
                file,
                f"expected each actor once, but {actor_id!r} is also in row {seen[actor_id]}",
                row=row.number,
                column=columns[0],
            )
        seen[actor_id] = row.number
        where = (file, row.number)
        capability = _number(where, columns[2], f[2], "a capability > 0", 0.0, math.inf, True)
        stances = {}
        for k, dim in enumerate(dims):
            c = 3 + 2 * k
            pos = _number(where, columns[c], f[c], "a position in [0, 100]", 0.0, 100.0, False)
            sal = _number(
                where, columns[c + 1], f[c + 1], "a salience in [0, 100]", 0.0, 100.0, False
            )
            stances[dim] = Stance(position=Estimate(value=pos), salience=Estimate(value=sal / 100))
        try:
            actors.append(
                Actor(
                    id=actor_id,
                    description=clean(f[1], "descriptions") or None,
                    capability=Estimate(value=capability),
                    stances=stances,
                )
            )
        except ValidationError as exc:  # the checks above should leave nothing
            raise InputError(
                file, f"expected a valid actor: {exc.errors()[0]['msg']}", row=row.number
            ) from None
    if stripped:
        notes.append(f"white space around {', '.join(sorted(stripped))} stripped (KTAB keeps it)")
    scenario = _scenario(
        file, name=name, description=description, issues=dims, actors=actors, seed=None, smp={}
    )
    return scenario, notes


def _number(
    where: tuple[str, int],
    column: str | int,
    field: str,
    expected: str,
    lo: float,
    hi: float,
    open_lo: bool,
) -> float:
    """A number in ``[lo, hi]`` (``(lo, hi]`` with ``open_lo``) from a field of a KTAB CSV line."""
    text = field.strip()
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not (math.isfinite(x) and lo <= x <= hi) or (open_lo and x <= lo):
        raise InputError(where[0], f"expected {expected}", row=where[1], column=column, found=text)
    return x


def _scenario(
    file: str,
    *,
    name: str,
    description: str | None,
    issues: list[str],
    actors: list[Actor],
    seed: int | None,
    smp: dict[str, Any],
) -> Scenario:
    try:
        return Scenario(
            name=name,
            description=description,
            issues=[Issue(id=d) for d in issues],
            actors=actors,
            seed=seed,
            parameters={SMP: smp} if smp else {},
        )
    except ValidationError as exc:  # the checks above should leave nothing; keep it one line
        raise InputError(file, f"expected a valid scenario: {exc.errors()[0]['msg']}") from None


# -- XML -------------------------------------------------------------------------


class _LineTreeBuilder(ET.TreeBuilder):
    """A tree builder that remembers the line each element starts on."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[ET.Element, int] = {}
        self.expat: Any = None

    def start(self, tag: str, attrs: dict[str, str], /) -> ET.Element:
        elem = super().start(tag, attrs)
        self.lines[elem] = int(self.expat.CurrentLineNumber) if self.expat is not None else 0
        return elem


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _XmlReader:
    def __init__(self, file: str, lines: dict[ET.Element, int]) -> None:
        self.file = file
        self.lines = lines
        self.notes: list[str] = []

    def error(
        self, elem: ET.Element, path: str | None, expected: str, found: object = None
    ) -> InputError:
        return InputError(
            self.file,
            expected,
            row=self.lines.get(elem),
            row_kind="line",
            column=path,
            column_kind="field",
            found=found,
        )

    def children(
        self, elem: ET.Element, path: str, allowed: tuple[str, ...]
    ) -> dict[str, list[ET.Element]]:
        """The child elements by name; an unknown one is an error."""
        out: dict[str, list[ET.Element]] = {name: [] for name in allowed}
        for child in elem:
            tag = _local(child.tag)
            if tag not in out:
                raise self.error(
                    child,
                    _join(path, tag),
                    f"expected one of the elements {', '.join(allowed)} here",
                    found=f"<{tag}>",
                )
            out[tag].append(child)
        return out

    def one(
        self, parent: ET.Element, found: dict[str, list[ET.Element]], tag: str, path: str
    ) -> ET.Element:
        elems = found[tag]
        if not elems:
            raise self.error(parent, _join(path, tag), f"expected a <{tag}> element")
        if len(elems) > 1:
            raise self.error(elems[1], _join(path, tag), f"expected one <{tag}> element, got two")
        return elems[0]

    def text(self, elem: ET.Element, path: str) -> str:
        for child in elem:
            raise self.error(
                child, path, "expected text, not nested elements", found=f"<{_local(child.tag)}>"
            )
        return (elem.text or "").strip()

    def number(
        self, elem: ET.Element, path: str, expected: str, lo: float, hi: float, *, open_lo: bool
    ) -> float:
        text = self.text(elem, path)
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and lo <= x <= hi) or (open_lo and x <= lo):
            raise self.error(elem, path, f"expected {expected}", found=text)
        return x

    def ident(self, elem: ET.Element, path: str, what: str) -> str:
        text = self.text(elem, path)
        if not is_id(text):
            raise self.error(
                elem, path, f"expected {what} of 1–{ID_MAX} characters on one line", found=text
            )
        return text

    def read(self, root: ET.Element) -> Scenario:
        if _local(root.tag) != "Scenario":
            raise self.error(
                root, None, "expected the root element <Scenario>", found=f"<{_local(root.tag)}>"
            )
        top = self.children(
            root,
            "",
            (
                "name",
                "desc",
                "prngSeed",
                "ModelParameters",
                "Dimensions",
                "Actors",
                IDEAL_ADJUSTMENT,
            ),
        )
        name = self.ident(self.one(root, top, "name", ""), "name", "a scenario name")
        description = self.text(self.one(root, top, "desc", ""), "desc") or None
        seed = self._seed(self.one(root, top, "prngSeed", ""))
        smp: dict[str, Any] = {}
        if top["ModelParameters"]:
            smp.update(self._parameters(self.one(root, top, "ModelParameters", "")))
        dims: list[str] | None = None
        if top["Dimensions"]:
            dims = self._dimensions(self.one(root, top, "Dimensions", ""))
        actors_elem = self.one(root, top, "Actors", "")
        found = self.children(actors_elem, "Actors", ("Actor",))
        if not found["Actor"]:
            raise self.error(actors_elem, "Actors/Actor", "expected at least one <Actor>")
        if dims is None:
            first = found["Actor"][0].find("Position")
            count = len(first) if first is not None else 1
            dims = [f"dim{k + 1}" for k in range(count)]
            self.notes.append(
                f"no <Dimensions>: the {count} dimension(s) are named {', '.join(dims)}"
            )
        actors = [self._actor(e, i + 1, dims) for i, e in enumerate(found["Actor"])]
        ids: dict[str, int] = {}
        for i, (elem, actor) in enumerate(zip(found["Actor"], actors, strict=True)):
            if actor.id in ids:
                raise self.error(
                    elem,
                    f"Actor[{i + 1}]/name",
                    f"expected distinct actor names, but {actor.id!r} is also"
                    f" Actor[{ids[actor.id]}]",
                )
            ids[actor.id] = i + 1
        if top[IDEAL_ADJUSTMENT]:
            smp[IDEAL_ADJUSTMENT] = self._ideal_adjustment(
                self.one(root, top, IDEAL_ADJUSTMENT, ""), set(ids)
            )
        else:
            self.notes.append(
                "no <IdealAdjustment>: accepted as the schema allows (KTAB's reader requires it)"
            )
        self.notes.insert(0, _SALIENCE_NOTE)
        return _scenario(
            self.file,
            name=name,
            description=description,
            issues=dims,
            actors=actors,
            seed=seed,
            smp=smp,
        )

    def _seed(self, elem: ET.Element) -> int | None:
        text = self.text(elem, "prngSeed")
        if not text:
            self.notes.append("<prngSeed> is empty: no seed stored")
            return None
        too_long = len(text.lstrip("0")) > 20  # 2^64 has 20 digits; int() refuses 4,301
        if not text.isdigit() or not text.isascii() or too_long or int(text) >= 2**64:
            raise self.error(
                elem, "prngSeed", "expected a seed: a whole number in [0, 2^64 - 1]", found=text
            )
        return int(text)

    def _parameters(self, elem: ET.Element) -> dict[str, str]:
        found = self.children(elem, "ModelParameters", tuple(MODEL_PARAMETERS))
        out: dict[str, str] = {}
        for key, allowed in MODEL_PARAMETERS.items():
            path = f"ModelParameters/{key}"
            child = self.one(elem, found, key, "ModelParameters")
            value = self.text(child, path)
            value = SMPC_SPELLINGS.get(key, {}).get(value, value)
            if value not in allowed:
                names = [*allowed, *SMPC_SPELLINGS.get(key, {})]
                raise self.error(child, path, f"expected one of {', '.join(names)}", found=value)
            out[key] = value
        return out

    def _dimensions(self, elem: ET.Element) -> list[str]:
        found = self.children(elem, "Dimensions", ("dName",))
        if not found["dName"]:
            raise self.error(elem, "Dimensions/dName", "expected at least one <dName>")
        dims: list[str] = []
        for k, child in enumerate(found["dName"]):
            path = f"Dimensions/dName[{k + 1}]"
            dim = self.ident(child, path, "a dimension name")
            if dim in dims:
                raise self.error(
                    child, path, f"expected distinct dimension names, got {dim!r} twice"
                )
            dims.append(dim)
        return dims

    def _actor(self, elem: ET.Element, i: int, dims: list[str]) -> Actor:
        path = f"Actor[{i}]"
        found = self.children(
            elem, path, ("name", "description", "capability", "Position", "Salience")
        )
        actor_id = self.ident(self.one(elem, found, "name", path), f"{path}/name", "an actor name")
        description = self.text(self.one(elem, found, "description", path), f"{path}/description")
        capability = self.number(
            self.one(elem, found, "capability", path),
            f"{path}/capability",
            "a capability > 0",
            0.0,
            math.inf,
            open_lo=True,
        )
        values: dict[str, list[float]] = {}
        for block, leaf in (("Position", "dCoord"), ("Salience", "dSal")):
            block_elem = self.one(elem, found, block, path)
            block_path = f"{path}/{block}"
            leaves = self.children(block_elem, block_path, (leaf,))[leaf]
            if len(leaves) != len(dims):
                raise self.error(
                    block_elem,
                    block_path,
                    f"expected {len(dims)} <{leaf}> elements, one per dimension",
                    found=len(leaves),
                )
            values[block] = [
                self.number(
                    e,
                    f"{block_path}/{leaf}[{k + 1}]",
                    "a number in [0, 100]",
                    0,
                    100,
                    open_lo=False,
                )
                for k, e in enumerate(leaves)
            ]
        try:
            return Actor(
                id=actor_id,
                description=description or None,
                capability=Estimate(value=capability),
                stances={
                    dim: Stance(
                        position=Estimate(value=values["Position"][k]),
                        salience=Estimate(value=values["Salience"][k] / 100),
                    )
                    for k, dim in enumerate(dims)
                },
            )
        except ValidationError as exc:  # the checks above should leave nothing
            raise self.error(
                elem, path, f"expected a valid actor: {exc.errors()[0]['msg']}"
            ) from None

    def _ideal_adjustment(self, elem: ET.Element, actors: set[str]) -> list[list[Any]]:
        found = self.children(elem, IDEAL_ADJUSTMENT, ("iaPair",))
        out: list[list[Any]] = []
        for k, pair in enumerate(found["iaPair"]):
            path = f"{IDEAL_ADJUSTMENT}/iaPair[{k + 1}]"
            parts = self.children(pair, path, ("adjustingIdeal", "referencePos", "adjust"))
            names = []
            for tag in ("adjustingIdeal", "referencePos"):
                child = self.one(pair, parts, tag, path)
                name = self.text(child, f"{path}/{tag}")
                if name not in actors:
                    raise self.error(
                        child, f"{path}/{tag}", "expected the name of an actor", found=name
                    )
                names.append(name)
            adjust = self.number(
                self.one(pair, parts, "adjust", path),
                f"{path}/adjust",
                "a number",
                -math.inf,
                math.inf,
                open_lo=False,
            )
            out.append([names[0], names[1], adjust])
        return out


def _join(path: str, tag: str) -> str:
    return f"{path}/{tag}" if path else tag


_ENCODING_RE = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")


def read_ktab_xml(path: Path, data: bytes) -> tuple[Scenario, list[str]]:
    """A KTAB XML scenario (see the module docstring) and the notes on how it was read."""
    file = str(path)
    declared = _ENCODING_RE.match(data)
    if declared is None or declared.group(1).lower() in (b"utf-8", b"utf8"):
        decode_text(data, file)  # UTF-8 errors with byte offsets, and the empty file
    import defusedxml  # here: only XML files need it
    from defusedxml.ElementTree import DefusedXMLParser

    builder = _LineTreeBuilder()
    parser = DefusedXMLParser(target=builder)
    builder.expat = parser.parser
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        message = re.sub(r":\s*line \d+, column \d+$", "", str(exc))
        raise InputError(
            file, f"expected well-formed XML ({message})", row=line, row_kind="line"
        ) from None
    except defusedxml.DefusedXmlException:
        raise InputError(
            file, "expected plain XML without entity declarations or external references"
        ) from None
    except (LookupError, ValueError) as exc:  # an unknown encoding; a multi-byte one (UTF-32)
        if isinstance(exc, ValueError) and "encoding" not in str(exc):
            raise InputError(file, f"expected well-formed XML ({exc})") from None
        raise InputError(
            file,
            "expected an XML file in a known encoding (UTF-8, UTF-16 or a one-byte encoding)",
            row=1,
            row_kind="line",
            found=declared.group(1).decode("ascii", "replace") if declared else None,
        ) from None
    reader = _XmlReader(file, builder.lines)
    scenario = reader.read(root)
    return scenario, reader.notes


# -- writers ---------------------------------------------------------------------


def _check_ktab(scenario: Scenario, file: str, *, csv: bool) -> None:
    """Refuse what KTAB cannot read or run (see the module docstring)."""
    for issue in scenario.issues:
        if issue.scale.min != 0.0 or issue.scale.max != 100.0:
            raise InputError(
                file,
                f"KTAB formats need positions on a 0–100 scale; issue {issue.id!r} has scale"
                f" [{issue.scale.min:g}, {issue.scale.max:g}]",
            )
    n = len(scenario.actors)
    if n < 3 or (csv and n > 250):
        raise InputError(file, f"KTAB needs 3 to 250 actors; the scenario has {n}")
    for actor in scenario.actors:
        for issue in scenario.issues:
            if issue.id not in actor.stances:
                raise InputError(
                    file,
                    "KTAB formats need a stance of every actor on every issue; actor"
                    f" {actor.id!r} has none on issue {issue.id!r}",
                )
        total = sum(s.salience.value for s in actor.stances.values())
        if total > 1.0 + 1e-9:
            raise InputError(
                file,
                f"KTAB needs each actor's saliences to total at most 100 (1 as fractions);"
                f" actor {actor.id!r} totals {total:.4g}",
            )
        if csv and len(actor.id) > 25:
            raise InputError(
                file, f"KTAB CSV allows actor names of up to 25 characters; got {actor.id!r}"
            )
        if csv and len(_actor_description(actor)) > 256:
            raise InputError(
                file,
                f"KTAB CSV allows descriptions of up to 256 characters; actor {actor.id!r}"
                " has a longer one",
            )
        if not csv and actor.capability.value > 1000:
            raise InputError(
                file,
                "KTAB XML (smpSchema.xsd) allows capabilities of up to 1000; actor"
                f" {actor.id!r} has {actor.capability.value:g}",
            )


def _actor_description(actor: Actor) -> str:
    """KTAB has one text per actor besides its name: the description, else the label."""
    return actor.description or actor.label or ""


def _escape(text: str, file: str) -> str:
    if "\n" in text or "\r" in text:
        raise InputError(file, f"KTAB CSV cannot hold line breaks in text; got {text!r}")
    escaped = text.replace(",", "$$").replace('"', "&quot;")
    # KTAB's escapes have no escape of their own ("$," becomes "$$$", read back as ",$").
    if _unescape(escaped) != text:
        raise InputError(
            file, f"KTAB CSV cannot hold this text (it would read back changed): {text!r}"
        )
    return escaped


def _salience_header(dim: str) -> str:
    if dim.endswith("Position"):
        return dim[: -len("Position")] + "Salience"
    return f"{dim} Salience"


def write_ktab_csv(scenario: Scenario, file: str) -> bytes:
    """KTAB's CSV (title, header, one line per actor; trailing commas as in KTAB's examples).

    Text is escaped KTAB's way (``$$`` for a comma, ``&quot;`` for a double quote). Only
    names, descriptions (or labels), capabilities, positions and saliences are kept.
    """
    _check_ktab(scenario, file, csv=True)
    dims = [i.id for i in scenario.issues]
    lines = [
        [
            scenario.name,
            scenario.description or "",
            str(len(scenario.actors)),
            str(len(dims)),
        ],
        ["Actor", "Description", "Power"] + [h for d in dims for h in (d, _salience_header(d))],
    ]
    for actor in scenario.actors:
        row = [actor.id, _actor_description(actor), format_decimal(actor.capability.value)]
        for d in dims:
            stance = actor.stances[d]
            row += [
                format_decimal(stance.position.value),
                format_percent(stance.salience.value),
            ]
        lines.append(row)
    text = "".join(",".join(_escape(f, file) for f in line) + ",\n" for line in lines)
    return text.encode("utf-8")


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _check_xml_text(scenario: Scenario, file: str) -> None:
    """XML 1.0 cannot hold most control characters, not even escaped."""
    texts = [scenario.name, scenario.description or ""]
    texts += [i.id for i in scenario.issues]
    texts += [t for a in scenario.actors for t in (a.id, _actor_description(a))]
    for text in texts:
        if _NOT_XML.search(text):
            raise InputError(file, f"XML cannot hold control characters; got {text!r}")


def write_ktab_xml(scenario: Scenario, file: str) -> bytes:
    """KTAB's XML, valid against ``smpSchema.xsd``.

    ``ModelParameters`` is written when ``parameters["smp"]`` names any of the nine
    parameters (the others get KTAB's defaults); ``IdealAdjustment`` when it is given there.
    """
    _check_ktab(scenario, file, csv=False)
    _check_xml_text(scenario, file)
    smp = scenario.parameters.get(SMP, {})
    root = ET.Element(
        "Scenario",
        {
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "smpSchema.xsd",
        },
    )
    ET.SubElement(root, "name").text = scenario.name
    ET.SubElement(root, "desc").text = scenario.description or ""
    seed = DEFAULT_SEED if scenario.seed is None else scenario.seed
    if not 0 <= seed < 2**64:
        raise InputError(file, f"KTAB needs a seed in [0, 2^64 - 1]; got {seed}")
    ET.SubElement(root, "prngSeed").text = str(seed)
    if any(k in smp for k in MODEL_PARAMETERS):
        params = ET.SubElement(root, "ModelParameters")
        for key, allowed in MODEL_PARAMETERS.items():
            value = smp.get(key, DEFAULT_PARAMETERS[key])
            value = SMPC_SPELLINGS.get(key, {}).get(value, value)
            if value not in allowed:
                raise InputError(
                    file,
                    f"parameters.smp.{key}: expected one of {', '.join(allowed)}",
                    found=str(value),
                )
            smpc_name = {v: k for k, v in SMPC_SPELLINGS.get(key, {}).items()}
            ET.SubElement(params, key).text = smpc_name.get(value, value)
    dims = ET.SubElement(root, "Dimensions")
    for issue in scenario.issues:
        ET.SubElement(dims, "dName").text = issue.id
    actors = ET.SubElement(root, "Actors")
    for actor in scenario.actors:
        a = ET.SubElement(actors, "Actor")
        ET.SubElement(a, "name").text = actor.id
        ET.SubElement(a, "description").text = _actor_description(actor)
        ET.SubElement(a, "capability").text = format_decimal(actor.capability.value)
        pos = ET.SubElement(a, "Position")
        sal = ET.SubElement(a, "Salience")
        for issue in scenario.issues:
            stance = actor.stances[issue.id]
            ET.SubElement(pos, "dCoord").text = format_decimal(stance.position.value)
            ET.SubElement(sal, "dSal").text = format_percent(stance.salience.value)
    pairs = smp.get(IDEAL_ADJUSTMENT)
    if pairs:
        ia = ET.SubElement(root, IDEAL_ADJUSTMENT)
        names = {a.id for a in scenario.actors}
        for pair in pairs:
            ok = (
                isinstance(pair, list | tuple)
                and len(pair) == 3
                and pair[0] in names
                and pair[1] in names
                and isinstance(pair[2], int | float)
                and not isinstance(pair[2], bool)
                and math.isfinite(pair[2])
            )
            if not ok:
                raise InputError(
                    file,
                    "parameters.smp.IdealAdjustment: expected [adjusting actor, reference"
                    " actor, adjust] triples",
                    found=str(pair),
                )
            p = ET.SubElement(ia, "iaPair")
            ET.SubElement(p, "adjustingIdeal").text = pair[0]
            ET.SubElement(p, "referencePos").text = pair[1]
            ET.SubElement(p, "adjust").text = format_decimal(pair[2])
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text + b"\n"
