"""A small validator for the XML Schema subset of KTAB's ``smpSchema.xsd``.

Enough for that schema: global and local ``xs:element`` (``name``/``type`` or ``ref``),
``xs:complexType`` with one ``xs:sequence``, ``minOccurs``/``maxOccurs``, and simple types
restricting ``xs:string`` or ``xs:decimal`` by enumeration and inclusive bounds. It stands in
for a full validator, which is not among detente's dependencies.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

XS = "{http://www.w3.org/2001/XMLSchema}"
_DECIMAL = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")


class Schema:
    def __init__(self, path: Path) -> None:
        root = ET.parse(path).getroot()
        self.elements = {e.get("name"): e for e in root.findall(f"{XS}element")}
        self.types = {t.get("name"): t for t in root.findall(f"{XS}simpleType")}

    def errors(self, doc: ET.Element) -> list[str]:
        """Every violation found in ``doc`` (empty when valid)."""
        out: list[str] = []
        decl = self.elements.get(doc.tag)
        if decl is None:
            return [f"unknown root <{doc.tag}>"]
        self._element(decl, doc, doc.tag, out)
        return out

    def _element(self, decl: ET.Element, elem: ET.Element, path: str, out: list[str]) -> None:
        complex_type = decl.find(f"{XS}complexType")
        if complex_type is not None:
            self._sequence(complex_type.find(f"{XS}sequence"), elem, path, out)
            return
        if len(elem):
            out.append(f"{path}: expected text only")
        type_name = decl.get("type")
        restriction = None
        if type_name is None:
            simple = decl.find(f"{XS}simpleType")
            restriction = simple.find(f"{XS}restriction") if simple is not None else None
        elif not type_name.startswith("xs:"):
            restriction = self.types[type_name].find(f"{XS}restriction")
        base = type_name if restriction is None else restriction.get("base")
        text = elem.text or ""
        if base == "xs:decimal" and not _DECIMAL.match(text):
            out.append(f"{path}: {text!r} is not an xs:decimal")
            return
        if restriction is None:
            return
        allowed = [e.get("value") for e in restriction.findall(f"{XS}enumeration")]
        if allowed and text not in allowed:
            out.append(f"{path}: {text!r} not among {allowed}")
        for tag, ok in (
            ("minInclusive", lambda x, b: x >= b),
            ("maxInclusive", lambda x, b: x <= b),
        ):
            bound = restriction.find(f"{XS}{tag}")
            if bound is not None and not ok(Decimal(text.strip()), Decimal(bound.get("value"))):
                out.append(f"{path}: {text} violates {tag} {bound.get('value')}")

    def _sequence(
        self, seq: ET.Element | None, elem: ET.Element, path: str, out: list[str]
    ) -> None:
        children = list(elem)
        i = 0
        for item in [] if seq is None else list(seq):
            name = item.get("ref") or item.get("name")
            decl = self.elements[name] if item.get("ref") else item
            lo = int(item.get("minOccurs", "1"))
            hi_text = item.get("maxOccurs", "1")
            hi = math.inf if hi_text == "unbounded" else int(hi_text)
            n = 0
            while i < len(children) and children[i].tag == name and n < hi:
                n += 1
                self._element(decl, children[i], f"{path}/{name}[{n}]", out)
                i += 1
            if n < lo:
                out.append(f"{path}: expected at least {lo} <{name}>, got {n}")
        if i < len(children):
            out.append(f"{path}: unexpected <{children[i].tag}>")
