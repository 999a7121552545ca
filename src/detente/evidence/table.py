"""The evidence table: every number of a scenario next to what supports it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from detente.evidence.anchors import quote
from detente.evidence.documents import DocumentStore, EvidenceError
from detente.scenario import Anchor, Citation, Judgement, Scenario, Source, SourceRef

SourceKind = Literal["anchor", "citation", "judgement", "none"]


@dataclass(frozen=True)
class EvidenceRow:
    """One estimate of a scenario and its support.

    Attributes
    ----------
    path
        The estimate's dotted name, e.g. ``'russia.territory.position'``; for a shock,
        ``'shocks.summit'`` or ``'shocks.summit[0]: usa.ceasefire.position add 10'``; for the
        causal map, ``'causal.sanctions'`` (a concept's value), ``'causal.sanctions->morale'``
        (a weight) or ``'causal.links[0]: russia.capability scale 2 × leverage'``; ``'summit'``.
    value
        Its value (a shock change's number; None for a whole shock or a non-numeric change).
    kind
        ``'anchor'``, ``'citation'``, ``'judgement'`` or ``'none'`` (no source given).
    text
        The quoted span (anchor), the formatted citation, the rationale (judgement), or ``''``.
    note
        The anchor's or citation's note.
    file
        For anchors: the name of the document file the span was read from.
    start, end
        For anchors: the character offsets ``[start, end)``.
    source_id
        The id in ``Scenario.sources`` when the estimate refers to a shared source.
    """

    path: str
    value: float | None
    kind: SourceKind
    text: str
    note: str | None = None
    file: str | None = None
    start: int | None = None
    end: int | None = None
    source_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict, keys in field order.

        Examples
        --------
        >>> list(EvidenceRow("a.capability", 2.0, "judgement", "a guess").to_dict())
        ['path', 'value', 'kind', 'text', 'note', 'file', 'start', 'end', 'source_id']
        """
        return asdict(self)


def evidence_table(scenario: Scenario, store: DocumentStore) -> list[EvidenceRow]:
    """Every capability, position and salience of ``scenario`` with its source spelt out,
    then every shock and shock change that names a source, then the causal map's weights and
    the concepts and links that name a source, then the summit's source.

    Parameters
    ----------
    scenario : Scenario
        The scenario; shared sources are looked up with ``Scenario.resolve_source``.
    store : DocumentStore
        The documents anchors point into.

    Returns
    -------
    list of EvidenceRow
        In the order of ``Scenario.estimates()``, then the shocks, the map and the summit.

    Raises
    ------
    EvidenceError
        If an anchor cannot be read from ``store``; the message names the estimate.

    Examples
    --------
    >>> text = "Both sides say a ceasefire is close."
    >>> store = DocumentStore.from_texts({"memo.txt": text})
    >>> doc = store.named("memo.txt")
    >>> scenario = Scenario.model_validate({
    ...     "name": "demo",
    ...     "issues": [{"id": "ceasefire"}],
    ...     "actors": [{
    ...         "id": "a",
    ...         "capability": {"value": 1, "source": {"kind": "judgement", "rationale": "equal"}},
    ...         "stances": {"ceasefire": {
    ...             "position": {"value": 80, "source": "memo"},
    ...             "salience": 0.5,
    ...         }},
    ...     }],
    ...     "sources": {"memo": {"kind": "anchor", "document": doc.id, "start": 17, "end": 26}},
    ... })
    >>> [(row.path, row.kind, row.text) for row in evidence_table(scenario, store)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('a.capability', 'judgement', 'equal'),
     ('a.ceasefire.position', 'anchor', 'ceasefire'),
     ('a.ceasefire.salience', 'none', '')]
    """
    rows: list[EvidenceRow] = []
    for path, estimate in scenario.estimates():
        ref = estimate.source
        source_id = ref if isinstance(ref, str) else None
        source = scenario.resolve_source(ref)
        try:
            rows.append(_row(path, estimate.value, source, source_id, store))
        except EvidenceError as error:
            raise error.at(path) from None
    for name, shock in scenario.shocks.items():
        parts: list[tuple[str, float | None, SourceRef | None]] = [
            (f"shocks.{name}", None, shock.source)
        ]
        for c, change in enumerate(shock.changes):
            value = getattr(change, "value", None)
            number = float(value) if isinstance(value, int | float) else None
            parts.append((f"shocks.{name}[{c}]: {change.describe}", number, change.source))
        _add_rows(rows, scenario, parts, store)
    cmap = scenario.causal
    if cmap is not None:
        for concept in cmap.concepts:
            if concept.source is not None:
                parts = [(f"causal.{concept.id}", concept.value, concept.source)]
                _add_rows(rows, scenario, parts, store)
        for path, estimate in cmap.estimates():
            ref = estimate.source
            source_id = ref if isinstance(ref, str) else None
            try:
                rows.append(
                    _row(path, estimate.value, scenario.resolve_source(ref), source_id, store)
                )
            except EvidenceError as error:
                raise error.at(path) from None
        for k, link in enumerate(cmap.links):
            parts = [(f"causal.links[{k}]: {link.describe}", link.gain, link.source)]
            _add_rows(rows, scenario, parts, store)
    if scenario.summit is not None:
        _add_rows(rows, scenario, [("summit", None, scenario.summit.source)], store)
    return rows


def _add_rows(
    rows: list[EvidenceRow],
    scenario: Scenario,
    parts: list[tuple[str, float | None, SourceRef | None]],
    store: DocumentStore,
) -> None:
    """A row for each part that names a source."""
    for path, number, ref in parts:
        if ref is None:
            continue
        source_id = ref if isinstance(ref, str) else None
        try:
            rows.append(_row(path, number, scenario.resolve_source(ref), source_id, store))
        except EvidenceError as error:
            raise error.at(path) from None


def _row(
    path: str,
    value: float | None,
    source: Source | None,
    source_id: str | None,
    store: DocumentStore,
) -> EvidenceRow:
    match source:
        case None:
            return EvidenceRow(path, value, "none", "", source_id=source_id)
        case Anchor():
            text = quote(source, store)
            doc = store.get(source.document)
            return EvidenceRow(
                path,
                value,
                "anchor",
                text,
                note=source.note,
                file=doc.name if doc is not None else source.file,
                start=source.start,
                end=source.end,
                source_id=source_id,
            )
        case Citation():
            text = format_citation(source)
            return EvidenceRow(path, value, "citation", text, note=source.note, source_id=source_id)
        case Judgement():
            return EvidenceRow(path, value, "judgement", source.rationale, source_id=source_id)


def format_citation(citation: Citation) -> str:
    """A citation on one line: publication (year), table: figure — url.

    Parameters
    ----------
    citation : Citation
        The citation; absent fields are left out.

    Returns
    -------
    str

    Examples
    --------
    >>> format_citation(Citation(publication="SIPRI Yearbook", year=2025, figure="≈ 1 bn USD"))
    'SIPRI Yearbook (2025): ≈ 1 bn USD'
    """
    text = citation.publication
    if citation.year is not None:
        text += f" ({citation.year})"
    if citation.table:
        text += f", {citation.table}"
    if citation.figure:
        text += f": {citation.figure}"
    if citation.url:
        text += f" — {citation.url}"
    return text
