"""detente's own format: the scenario model as YAML, read safely and written compactly.

Reading: plain YAML only (a tag such as ``!!python/object`` is refused), one document, no
duplicate keys (PyYAML would silently keep the last). Two relaxations of YAML 1.1, both
friendlier to hand-written files: ``1e5`` is a number (YAML 1.1 wants ``1.0e+5``), and only
``true``/``false`` are booleans and dates stay text, so an actor called ``no`` (Norway) or an
issue ``2024-06-01`` keeps its name. Errors name the line and the field, e.g.
``actors[2].stances.territory.salience`` (list indices from 0). Hostile input is bounded before
it is built: :data:`MAX_DEPTH` levels of nesting, :data:`MAX_NODES` values with aliases
expanded, no recursive alias, integers of at most :data:`MAX_INT_DIGITS` digits.

Writing: top-level keys in the order name, description, seed, issues, actors, thresholds,
shocks, causal, summit, parameters, sources; defaults left out; numbers as Python's shortest
float repr, so that reading what was written gives back an equal scenario.

Speed: where PyYAML was built with libyaml, its C parser tokenises the text and its C emitter
writes it (about 30 and 4 times faster than PyYAML's pure-Python parser and emitter), while the
checks above stay in Python. Anything the fast path refuses, and every error's line and field,
comes from the pure-Python loader, so messages do not depend on libyaml; without libyaml the pure
Python classes do everything, with the same results (tested).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import re
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, Event, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.representer import SafeRepresenter
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from detente.errors import InputError
from detente.io.common import MAX_INT_DIGITS, decode_text
from detente.scenario import CausalMap, Estimate, Scenario, Shock, Source, SummitSpec

_libyaml: Any
try:  # libyaml's parser and emitter, where PyYAML was built with it
    _libyaml = importlib.import_module("yaml._yaml")
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _libyaml = None
_CParser: Any = getattr(_libyaml, "CParser", None)
_CEmitter: Any = getattr(_libyaml, "CEmitter", None)

_NON_PRINTABLE = Reader.NON_PRINTABLE  # what PyYAML's reader refuses, checked before libyaml

PURE_YAML_ENV = "DETENTE_PURE_YAML"
"""Set (to anything but ``0`` or empty) to use PyYAML's pure-Python parser and emitter even where
libyaml is available: the same results, slower."""

_BOOL = "tag:yaml.org,2002:bool"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
# Floats YAML 1.1 misses: no dot ("1e5", "2E-3"). PyYAML itself writes "1.0e+17".
_EXP_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


MAX_DEPTH = 100
"""Lists and mappings nest at most this deep (aliases expanded); a scenario needs about 8."""
MAX_NODES = 1_000_000
"""At most this many values (scalars, lists, mappings) in a document, each alias counted as
the values it repeats: about 400 times ``ukraine-talks``, and no "billion laughs"."""
_INT_BOUND = 10**MAX_INT_DIGITS


class _DuplicateKeyError(Exception):
    def __init__(self, key: object, node: Node, first: int) -> None:
        super().__init__(key)
        self.key, self.node, self.first = key, node, first


class _Marked(Protocol):
    """Where a YAML event or node starts (PyYAML's Mark, or its C twin)."""

    index: int
    line: int


class _Refused(Exception):
    """A document refused while it is composed or constructed, before it can grow."""

    def __init__(
        self, expected: str, mark: _Marked | None, field: str = "", found: object = None
    ) -> None:
        super().__init__(expected)
        self.expected, self.mark, self.field, self.found = expected, mark, field, found


class _Bounded(Composer, SafeConstructor, Resolver):
    """The checks of both loaders: YAML 1.2 booleans, exponent floats, text dates, duplicate-key
    check; no tags; nesting (:data:`MAX_DEPTH`), values (:data:`MAX_NODES`) and integers bounded.
    They sit on PyYAML's composer, so they see every event whichever parser produced it."""

    if TYPE_CHECKING:  # from the parser (PyYAML's or libyaml's)

        def peek_event(self) -> Event: ...
        def dispose(self) -> None: ...

    def _start(self) -> None:
        self._open: list[list[int]] = []  # [values, depth] of each collection being composed
        self._places: list[object] = []  # and its place in its parent (see _path)
        self._sizes: dict[int, tuple[int, int]] = {}  # id(anchored node) -> (values, depth)
        self._values = 0  # in the document so far, aliases expanded

    def _path(self, where: object) -> str:
        """The field path of the node at ``where`` (a list index, the key node of a mapping's
        value, or None for a key) in the innermost open collection; built only for an error."""
        path = ""
        for place in (*self._places, where):
            if isinstance(place, int):
                path = _join(path, place)
            elif isinstance(place, ScalarNode):
                path = _join(path, place.value)
        return path

    def _charge(self, values: int, depth: int, mark: _Marked | None, where: object) -> None:
        """Count ``values`` more into the document, ``depth`` levels below the open ones."""
        self._values += values
        if self._values > MAX_NODES:
            raise _Refused(
                f"expected at most {MAX_NODES:,} values in the document (each alias counted as"
                " the values it repeats)",
                mark,
                self._path(where),
            )
        if len(self._open) + depth > MAX_DEPTH:
            raise _Refused(
                f"expected lists and mappings nested at most {MAX_DEPTH} deep (aliases expanded)",
                mark,
                self._path(where),
            )

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Event = self.peek_event()
        where: object = index  # a list index, the key node of a mapping's value, or None
        mark = event.start_mark
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)  # an unknown alias: ComposerError
            size = self._sizes.get(id(node))
            if size is None:  # its anchor is still open: it would contain itself
                raise _Refused(
                    "expected an alias outside the list or mapping it names (no recursive alias)",
                    mark,
                    self._path(where),
                    f"*{event.anchor}",
                )
            self._charge(*size, mark, where)
        elif isinstance(event, NodeEvent) and getattr(event, "tag", None) not in (None, "!"):
            tag = str(getattr(event, "tag", "")).replace("tag:yaml.org,2002:", "!!")
            raise _Refused("expected plain YAML (no tags)", mark, self._path(where), tag)
        elif isinstance(event, CollectionStartEvent):
            self._charge(1, 1, mark, where)
            self._open.append([1, 1])
            self._places.append(where)
            node = super().compose_node(parent, index)
            self._places.pop()
            values, depth = self._open.pop()
            size = (values, depth)
        else:
            node = super().compose_node(parent, index)
            self._charge(1, 0, mark, where)
            size = (1, 0)
        if self._open:
            outer = self._open[-1]
            outer[0] += size[0]
            outer[1] = max(outer[1], size[1] + 1)
        if isinstance(event, NodeEvent) and event.anchor is not None:
            self._sizes[id(node)] = size
        return node

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value: int | None = None
        if len(node.value) <= 2 * MAX_INT_DIGITS:  # a longer one is refused before any work
            try:
                value = super().construct_yaml_int(node)
            except ValueError:  # beyond Python's limit of digits
                value = None
        if value is None or abs(value) >= _INT_BOUND:
            expected = f"expected a whole number of at most {MAX_INT_DIGITS} digits"
            raise _Refused(expected, node.start_mark, found=node.value)
        return value

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKeyError(key, key_node, seen[key])
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_Bounded.yaml_implicit_resolvers = {
    # "=" (YAML 1.1's "value" key, which SafeLoader cannot construct) stays text too.
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _TIMESTAMP, _VALUE)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Bounded.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Bounded.add_implicit_resolver(_FLOAT, _EXP_FLOAT, list("-+0123456789"))
_Bounded.add_constructor(  # type: ignore[type-var]
    "tag:yaml.org,2002:int", _Bounded.construct_yaml_int
)


class _Loader(_Bounded, Reader, Scanner, Parser):
    """The pure-Python loader: the reference, and the one whose errors users see."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._start()


_CLoader: Callable[[str], _Bounded] | None = None
if _CParser is not None:

    class _CLoaderType(_Bounded, _CParser):  # type: ignore[misc]
        """libyaml's parser under the same composer, constructor and resolvers."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._start()

    _CLoader = _CLoaderType


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes whatever :class:`_Loader` would not read back as text."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# The dumper quotes a string when any resolver of its own would read it as something else;
# it keeps YAML 1.1's (a superset of the loader's), plus the exponent floats.
_Dumper.add_implicit_resolver(_FLOAT, _EXP_FLOAT, list("-+0123456789"))

_CDumper: type[Any] | None = None
if _CEmitter is not None:

    class _CDumperType(_CEmitter, SafeRepresenter, Resolver):  # type: ignore[misc]
        """libyaml's emitter with :class:`_Dumper`'s representer and resolvers (used where it
        writes the same text, see :func:`write_yaml`)."""

        def __init__(self, stream: Any, **kw: Any) -> None:
            _CEmitter.__init__(self, stream, **_emitter_options(kw))
            SafeRepresenter.__init__(
                self,
                default_style=kw.get("default_style"),
                default_flow_style=kw.get("default_flow_style", False),
                sort_keys=kw.get("sort_keys", True),
            )
            Resolver.__init__(self)

        def ignore_aliases(self, data: Any) -> bool:
            return True

    _CDumperType.yaml_implicit_resolvers = _Dumper.yaml_implicit_resolvers
    _CDumper = _CDumperType


def _emitter_options(kw: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "canonical", "indent", "width", "allow_unicode", "line_break", "encoding",
        "explicit_start", "explicit_end", "version", "tags",
    )  # fmt: skip
    return {k: kw[k] for k in keys if k in kw}


_ORDER = (
    "name",
    "description",
    "seed",
    "issues",
    "actors",
    "thresholds",
    "shocks",
    "causal",
    "summit",
    "parameters",
    "sources",
)


# -- writing ----------------------------------------------------------------------


def to_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data: defaults (``None``, empty, the 0–100 scale) left out."""
    # exclude_none, not exclude_defaults: the latter would drop each source's "kind", which
    # tells the three kinds of source apart on reading.
    data = scenario.model_dump(mode="json", exclude_none=True, exclude={"parameters"})
    data["parameters"] = scenario.model_dump(mode="json", include={"parameters"})["parameters"]
    for issue, model in zip(data["issues"], scenario.issues, strict=True):
        scale = model.scale.model_dump(mode="json", exclude_defaults=True)
        if scale:
            issue["scale"] = scale
        else:
            issue.pop("scale", None)
    for actor in data["actors"]:
        if not actor.get("stances"):
            actor.pop("stances", None)
    for shock in (data.get("shocks") or {}).values():
        if not shock.get("changes"):
            shock.pop("changes", None)
    for key in ("thresholds", "shocks", "parameters", "sources"):
        if not data.get(key):
            data.pop(key, None)
    ordered = {k: data.pop(k) for k in _ORDER if k in data}
    ordered.update(data)  # fields added to the model later keep their place at the end
    return ordered


def write_yaml(scenario: Scenario, file: str) -> bytes:
    """The scenario as YAML text (UTF-8)."""
    del file  # every scenario can be written
    data = to_data(scenario)
    options: dict[str, Any] = {
        "sort_keys": False,
        "allow_unicode": True,
        "default_flow_style": False,
        "width": 100,
    }
    if _CDumper is not None and not _pure() and _short_keys(data):
        text: str = yaml.dump(data, Dumper=_CDumper, **options)
        # The two emitters write plain, single-quoted and block text alike, but fold long
        # double-quoted text and escape U+0085 and characters beyond U+FFFF differently (all
        # of which libyaml writes in double quotes): any double quote, and PyYAML writes it.
        # They also disagree on when a key is too long to stand before its colon (PyYAML
        # counts characters, libyaml bytes): long keys, and PyYAML writes it too.
        if '"' not in text:
            return text.encode("utf-8")
    reference: str = yaml.dump(data, Dumper=_Dumper, **options)
    return reference.encode("utf-8")


def _short_keys(data: Any) -> bool:
    """Whether every mapping key in ``data`` is non-empty (libyaml writes an empty key as
    ``? ''``, PyYAML as ``''``) and well below both emitters' limit for a key written before
    its colon (128 characters in PyYAML, 128 bytes in libyaml)."""
    if isinstance(data, dict):
        return all(
            0 < len(str(k).encode("utf-8")) < 120 and _short_keys(v) for k, v in data.items()
        )
    if isinstance(data, list):
        return all(_short_keys(v) for v in data)
    return True


# -- reading ----------------------------------------------------------------------


def read_yaml(path: Path | str, data: bytes) -> Scenario:
    """The scenario in YAML ``data`` read from ``path``; any problem is an ``InputError``."""
    file = str(path)
    top = "a mapping with name, issues and actors at the top"
    _, obj = _parse(file, data, top)
    try:
        return Scenario.model_validate(obj)
    except ValidationError as exc:
        node, _ = _parse(file, data, top, fast=False)  # lines and fields from the reference
        raise _located(file, node, obj, exc) from None


class _ShockFile(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    shocks: dict[Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")], Shock]
    sources: dict[str, Source] = Field(default_factory=dict)


def read_shocks(path: Path | str, data: bytes, scenario: Scenario) -> Scenario:
    """``scenario`` with the shocks (and sources) of the YAML shock file ``data`` added.

    The file holds ``shocks:`` (as in a scenario) and optionally ``sources:`` they refer to.
    A shock or source id the scenario already uses with other content, or a shock that does
    not fit the scenario, is an ``InputError`` naming the file, line and field.
    """
    file = str(path)
    # Shock files are small and their errors point into them: the reference loader throughout.
    node, obj = _parse(file, data, "a mapping with 'shocks' (and optionally 'sources')", fast=False)
    try:
        extra = _ShockFile.model_validate(obj)
    except ValidationError as exc:
        raise _located(file, node, obj, exc) from None
    for key, mine, theirs in (
        ("shocks", extra.shocks, scenario.shocks),
        ("sources", extra.sources, scenario.sources),
    ):
        for ident, value in mine.items():
            if ident in theirs and theirs[ident] != value:
                at, where = _walk(node, (key, ident))
                raise _error(
                    file,
                    at,
                    where,
                    f"expected a new {key[:-1]} id; scenario {scenario.name!r} already defines"
                    f" {ident!r} differently",
                )
    merged = scenario.model_copy(
        update={
            "shocks": {**scenario.shocks, **extra.shocks},
            "sources": {**scenario.sources, **extra.sources},
        }
    )
    for name in extra.shocks:
        problem = merged.shock_problem(name)
        if problem is not None:
            c, field, message = problem
            loc: tuple[int | str, ...] = ("shocks", name)
            if c is not None:
                loc = (*loc, "changes", c)
            at, where = _walk(node, (*loc, field))
            raise _error(file, at, where, message.split(": ", 1)[-1])
    return merged


def _pure() -> bool:
    """Whether :data:`PURE_YAML_ENV` asks for the pure-Python parser and emitter."""
    return os.environ.get(PURE_YAML_ENV, "").strip() not in ("", "0")


def _parse(file: str, data: bytes, top: str, *, fast: bool = True) -> tuple[Node, dict[str, Any]]:
    """The root node and the plain data of a YAML document; ``top`` says what it should be.

    ``fast``: try libyaml's parser first. Whatever it cannot read, or reads as something other
    than a mapping, goes through the pure-Python loader, whose error is the one raised; a caller
    that reports a problem at a node asks again with ``fast=False`` for the reference's marks.
    """
    text = decode_text(data, file)
    if fast and _CLoader is not None and not _pure() and not _NON_PRINTABLE.search(text):
        quick = _CLoader(text)
        try:
            root = quick.get_single_node()
            data_ = quick.construct_document(root) if root is not None else None
        except Exception:  # the pure-Python loader below says why, in its words
            pass
        else:
            if root is not None and isinstance(data_, dict):
                return root, data_
        finally:
            quick.dispose()
    try:
        loader = _Loader(text)  # its reader already rejects control characters
    except yaml.reader.ReaderError as exc:
        char = exc.character
        code = char if isinstance(char, int) else ord(str(char)[:1] or "\0")
        raise InputError(
            file,
            f"expected printable text, but the control character U+{code:04X} is not allowed"
            " in YAML",
            row=text.count("\n", 0, exc.position) + 1,
            row_kind="line",
        ) from None
    node: Node | None = None
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(file, "expected a scenario, got an empty file")
        obj = loader.construct_document(node)
    except _DuplicateKeyError as exc:
        raise InputError(
            file,
            f"expected each key once in a mapping, but {exc.key!r} is also on line {exc.first}",
            row=exc.node.start_mark.line + 1,
            row_kind="line",
            column=(_path_to(node, exc.node) if node else None) or str(exc.key),
            column_kind="field",
        ) from None
    except _Refused as exc:
        field = exc.field
        if not field and node is not None and exc.mark is not None:
            field = _path_at(node, exc.mark) or ""
        raise InputError(
            file,
            exc.expected,
            row=exc.mark.line + 1 if exc.mark else None,
            row_kind="line",
            column=field or None,
            column_kind="field",
            found=exc.found,
        ) from None
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        tag = re.search(r"tag '([^']*)'", exc.problem or "")
        if tag:
            raise InputError(
                file,
                "expected plain YAML (no tags)",
                row=line,
                row_kind="line",
                found=tag.group(1).replace("tag:yaml.org,2002:", "!!"),
            ) from None
        raise InputError(
            file, f"expected plain YAML: {exc.problem}", row=line, row_kind="line"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise InputError(
            file, f"expected valid YAML: {problem}", row=line, row_kind="line"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(file, f"expected valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(obj, dict):
        raise InputError(
            file,
            f"expected {top}",
            row=node.start_mark.line + 1,
            row_kind="line",
            found=type(obj).__name__,
        )
    return node, obj


def _located(file: str, root: Node, obj: dict[str, Any], exc: ValidationError) -> InputError:
    """The most specific error of ``exc``, with its YAML line and field path."""
    errors = exc.errors()
    # The most specific error; among equals, not the "str" branch of a source (an id or an
    # inline source), whose "expected text" would hide the real problem of an inline source.
    best = max(
        errors,
        key=lambda e: (len(e["loc"]), not (e["loc"] and e["loc"][-1] == "str")),
    )
    if best["type"] == "missing":
        # a misspelt field is both missing and unknown: name the unknown one, which the
        # user wrote (actors[0].capabilty for capability)
        for e in errors:
            if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == tuple(best["loc"][:-1]):
                best = e
                break
    if not best["loc"]:
        located = _consistency(obj)
        message = best["msg"].removeprefix("Value error, ")
        if located is None:
            return InputError(file, message)
        loc, message = located
        node, path = _walk(root, loc)
        return _error(file, node, path, message)
    node, path = _walk(root, best["loc"])
    if best["type"] == "missing":
        path = _join(path, best["loc"][-1])
    return _error(file, node, path, _expected(best), _found(best))


def _error(file: str, node: Node, path: str, expected: str, found: object = None) -> InputError:
    return InputError(
        file,
        expected,
        row=node.start_mark.line + 1,
        row_kind="line",
        column=path or None,
        column_kind="field",
        found=found,
    )


def _join(path: str, part: int | str) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else str(part)


def _path_to(root: Node, key_node: Node) -> str | None:
    """The field path of the mapping entry whose key is ``key_node``."""
    return _find(root, lambda k, v: k is key_node)


def _path_at(root: Node, mark: _Marked) -> str | None:
    """The field path of the key or value that starts at ``mark``."""
    return _find(root, lambda k, v: mark.index in (v.start_mark.index, k and k.start_mark.index))


def _find(root: Node, match: Callable[[Node | None, Node], bool]) -> str | None:
    """The path of the first entry (key, value; key ``None`` in a list) that ``match`` accepts.

    Each node is visited once, so that aliases do not multiply the walk."""
    seen: set[int] = set()

    def walk(node: Node, path: str) -> str | None:
        if id(node) in seen:
            return None
        seen.add(id(node))
        entries: list[tuple[Node | None, Node, str]] = []
        if isinstance(node, MappingNode):
            entries = [
                (k, v, _join(path, k.value) if isinstance(k, ScalarNode) else path)
                for k, v in node.value
            ]
        elif isinstance(node, SequenceNode):
            entries = [(None, item, _join(path, i)) for i, item in enumerate(node.value)]
        for k, v, here in entries:
            if match(k, v):
                return here
            found = walk(v, here)
            if found is not None:
                return found
        return None

    return walk(root, "")


def _walk(root: Node, loc: tuple[int | str, ...]) -> tuple[Node, str]:
    """The node at ``loc`` and its path; parts not in the document (pydantic's union branch
    names, a number's implicit ``value``) are skipped."""
    node, path = root, ""
    for part in loc:
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                    node, path = value_node, _join(path, part)
                    break
        elif (
            isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
        ):
            node, path = node.value[part], _join(path, part)
    return node, path


_TYPE_TEXT = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected text",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


@functools.cache
def _known_fields() -> tuple[str, ...]:
    """Every field name of the scenario's models, for "did you mean" hints."""
    from pydantic import BaseModel

    import detente.scenario as scenario_module

    names: set[str] = set()
    for obj in vars(scenario_module).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            names.update(obj.model_fields)
    return tuple(sorted(names))


def _expected(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = error["loc"]
    field = str(loc[-1]) if loc else ""
    if kind == "missing":
        return f"expected the field {field!r}"
    if kind == "extra_forbidden":
        near = difflib.get_close_matches(field, _known_fields(), n=1, cutoff=0.75)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"expected a known field, not {field!r}{hint}"
    if kind == "model_type" and error.get("ctx", {}).get("class_name") == "Estimate":
        return "expected a number (or a mapping with value and source)"
    if kind in ("model_type", "model_attributes_type"):
        return "expected a mapping"
    if kind == "string_pattern_mismatch":
        return "expected an id: 1–80 characters, no white space at either end"
    in_union = any(isinstance(p, str) and p.startswith("tagged-union") for p in loc)
    union_error = kind in ("union_tag_invalid", "union_tag_not_found") or (
        in_union and kind == "model_attributes_type"
    )
    if union_error and "uncertainty" in loc:
        return (
            "expected an uncertainty: '±x' (or '+-x'), or a mapping with dist: uniform {low,"
            " high}, normal {sd}, triangular {low, high} or beta {a, b}"
        )
    if union_error:
        return (
            "expected a source: the id of an entry of 'sources', or a mapping with kind:"
            " anchor, citation or judgement"
        )
    if kind in _TYPE_TEXT:
        return _TYPE_TEXT[kind]
    if kind == "literal_error":
        return "expected one of " + str(error.get("ctx", {}).get("expected", "the allowed values"))
    msg = error["msg"].removeprefix("Value error, ")
    return "expected " + msg[0].lower() + msg[1:] if msg.startswith("Input should") else msg


def _found(error: ErrorDetails) -> object:
    # The model's own checks (value_error) already quote the value in their message.
    if error["type"] in ("missing", "extra_forbidden", "value_error", "assertion_error"):
        return None
    value = error.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        return value if value is not None else "null"
    return None


def _consistency(obj: dict[str, Any]) -> tuple[tuple[int | str, ...], str] | None:
    """Where a whole-scenario check failed, found again on the raw data.

    Pydantic reports these checks (``Scenario._consistent``) without a location; this
    repeats them only to point at the offending field. The model stays the authority: if
    nothing is found here the model's message is shown without a line.
    """
    issues = obj.get("issues") or []
    actors = obj.get("actors") or []
    sources = obj.get("sources") or {}
    for key, items in (("issues", issues), ("actors", actors)):
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, str):
                if ident in seen:
                    return (key, i, "id"), (
                        f"expected distinct ids, but {ident!r} is also {key}[{seen[ident]}]"
                    )
                seen[ident] = i
    scales: dict[str, tuple[float, float]] = {}
    for issue in issues:
        if isinstance(issue, dict) and isinstance(issue.get("id"), str):
            scale = issue.get("scale") or {}
            scales[issue["id"]] = (float(scale.get("min", 0.0)), float(scale.get("max", 100.0)))
    for i, actor in enumerate(actors):
        if not isinstance(actor, dict):
            continue
        for issue_id, stance in (actor.get("stances") or {}).items():
            if issue_id not in scales:
                known = ", ".join(scales)
                return (
                    ("actors", i, "stances", issue_id),
                    f"expected a stance on a known issue ({known}), not {issue_id!r}",
                )
            if not isinstance(stance, dict):
                continue
            pos = stance.get("position")
            x = pos.get("value") if isinstance(pos, dict) else pos
            lo, hi = scales[issue_id]
            if isinstance(x, int | float) and not lo <= x <= hi:
                return (
                    ("actors", i, "stances", issue_id, "position"),
                    f"expected a position within the issue's scale [{lo:g}, {hi:g}], got {x}",
                )
            problem = _position_uncertainty(pos, lo, hi)
            if problem is not None:
                return ("actors", i, "stances", issue_id, "position", "uncertainty"), problem
    for t, threshold in enumerate(obj.get("thresholds") or []):
        if not isinstance(threshold, dict):
            continue
        issue_id, value = threshold.get("issue"), threshold.get("value")
        if issue_id not in scales:
            known = ", ".join(scales)
            return (
                ("thresholds", t, "issue"),
                f"expected a threshold on a known issue ({known}), not {issue_id!r}",
            )
        lo, hi = scales[issue_id]
        if isinstance(value, int | float) and not lo <= value <= hi:
            return (
                ("thresholds", t, "value"),
                f"expected a threshold within the scale of {issue_id!r} [{lo:g}, {hi:g}],"
                f" got {value}",
            )
    refs = _estimates(actors)
    located = _shock_problem(obj) or _section_problem(obj)
    if located is not None:
        return located
    for loc, estimate in refs:
        ref = estimate.get("source") if isinstance(estimate, dict) else None
        if isinstance(ref, str) and ref not in sources:
            known = ", ".join(sources) or "none defined"
            return (
                (*loc, "source"),
                f"expected a source id defined under 'sources' ({known}), not {ref!r}",
            )
    return None


def _shock_problem(obj: dict[str, Any]) -> tuple[tuple[int | str, ...], str] | None:
    """The first shock change that does not fit the scenario, found by the model's own check
    (:meth:`Scenario.shock_problem`) on the scenario without shocks, one shock at a time."""
    shocks = obj.get("shocks")
    if not isinstance(shocks, dict):
        return None
    try:
        base = Scenario.model_validate({k: v for k, v in obj.items() if k != "shocks"})
        parsed = {name: Shock.model_validate(shock) for name, shock in shocks.items()}
    except ValidationError:
        return None
    for name, shock in parsed.items():
        problem = base.model_copy(update={"shocks": {name: shock}}).shock_problem(name)
        if problem is None:
            continue
        c, field, message = problem
        loc: tuple[int | str, ...] = (
            ("shocks", name) if c is None else ("shocks", name, "changes", c)
        )
        return (*loc, field), message.split(": ", 1)[-1]
    return None


def _section_problem(obj: dict[str, Any]) -> tuple[tuple[int | str, ...], str] | None:
    """Where the causal map or the summit does not fit the scenario, found by the model's own
    checks (:meth:`Scenario.causal_problem`, :meth:`Scenario.summit_problem`) on the scenario
    without its shocks, one section at a time."""
    sections = [k for k in ("causal", "summit") if obj.get(k) is not None]
    if not sections:
        return None
    try:
        base = Scenario.model_validate(
            {k: v for k, v in obj.items() if k not in ("shocks", *sections)}
        )
        parsed = {
            "causal": CausalMap.model_validate(obj["causal"]) if "causal" in sections else None,
            "summit": SummitSpec.model_validate(obj["summit"]) if "summit" in sections else None,
        }
    except ValidationError:
        return None
    if parsed["causal"] is not None:
        problem = base.model_copy(update={"causal": parsed["causal"]}).causal_problem()
        if problem is not None:
            return problem
    if parsed["summit"] is not None:
        return base.model_copy(update={"summit": parsed["summit"]}).summit_problem()
    return None


def _position_uncertainty(pos: Any, lo: float, hi: float) -> str | None:
    """What is wrong with a position's uncertainty given the scale, or None."""
    if not (isinstance(pos, dict) and pos.get("uncertainty") is not None):
        return None
    try:
        estimate = Estimate.model_validate(pos)
        estimate.check_uncertainty(lo, hi, "position")
    except ValidationError:
        return None  # a problem of the estimate itself, reported with its own location
    except ValueError as exc:
        return str(exc)
    return None


def _estimates(actors: list[Any]) -> list[tuple[tuple[int | str, ...], Any]]:
    out: list[tuple[tuple[int | str, ...], Any]] = []
    for i, actor in enumerate(actors):
        if not isinstance(actor, dict):
            continue
        out.append((("actors", i, "capability"), actor.get("capability")))
        for issue_id, stance in (actor.get("stances") or {}).items():
            if isinstance(stance, dict):
                for part in ("position", "salience"):
                    out.append((("actors", i, "stances", issue_id, part), stance.get(part)))
    return out
