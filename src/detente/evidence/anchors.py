"""Anchors: character spans of source documents, read at run time and made by authors."""

from __future__ import annotations

from detente.evidence.documents import Document, DocumentStore, EvidenceError
from detente.scenario.sources import Anchor


def quote(anchor: Anchor, store: DocumentStore) -> str:
    """The text an anchor points to: ``text[anchor.start:anchor.end]`` of its document.

    Parameters
    ----------
    anchor : Anchor
        Document hash and ``[start, end)`` character offsets.
    store : DocumentStore
        The documents to look the hash up in.

    Returns
    -------
    str
        The exact span.

    Raises
    ------
    EvidenceError
        If no document has the anchor's hash (the message says whether a file of the anchor's
        file name is present with other content), or if the span runs past the document's end.

    Examples
    --------
    >>> from detente.scenario import Anchor
    >>> store = DocumentStore.from_texts({"memo.txt": "Talks resume in May."})
    >>> doc = store.named("memo.txt")
    >>> quote(Anchor(document=doc.id, start=16, end=19, file="memo.txt"), store)
    'May'
    """
    doc = store.get(anchor.document)
    if doc is None:
        raise EvidenceError(_missing(anchor, store))
    if anchor.end > len(doc.text):
        raise EvidenceError(
            f"anchor [{anchor.start}, {anchor.end}) runs past the end of document"
            f" '{doc.name}' ({len(doc.text)} characters)"
        )
    return doc.text[anchor.start : anchor.end]


def _missing(anchor: Anchor, store: DocumentStore) -> str:
    expected = f"{anchor.document[:8]}…"
    if anchor.file is not None:
        namesake = store.named(anchor.file)
        if namesake is not None:
            return (
                f"document '{anchor.file}' has changed since the anchor was made"
                f" (sha256 {expected} expected, {namesake.id[:8]}… found)"
            )
    hint = f" (file '{anchor.file}')" if anchor.file else ""
    where = f" in '{store.root}'" if store.root is not None else ""
    return f"no document with sha256 {expected}{hint}{where} ({len(store)} documents read)"


def find_span(text: str, phrase: str) -> tuple[int, int]:
    """Character offsets ``(start, end)`` of the one occurrence of ``phrase`` in ``text``.

    A tool for authors making anchors: the scenario stores the offsets, never the phrase.

    Parameters
    ----------
    text : str
        The full document text.
    phrase : str
        The exact passage to locate (case and white space matter).

    Returns
    -------
    tuple of int
        ``(start, end)`` with ``text[start:end] == phrase``.

    Raises
    ------
    EvidenceError
        If the phrase is empty, absent, or occurs more than once (lengthen it).

    Examples
    --------
    >>> find_span("Talks resume in May.", "May")
    (16, 19)
    """
    shown = phrase if len(phrase) <= 40 else phrase[:37] + "..."
    if not phrase:
        raise EvidenceError("expected a non-empty phrase to locate")
    start = text.find(phrase)
    if start < 0:
        raise EvidenceError(f"the phrase {shown!r} does not occur in the text")
    again = text.find(phrase, start + 1)
    if again >= 0:
        raise EvidenceError(
            f"the phrase {shown!r} is ambiguous: it occurs at {start} and at {again};"
            " lengthen it until it occurs once"
        )
    return start, start + len(phrase)


def anchor_for(document: Document, phrase: str, *, note: str | None = None) -> Anchor:
    """An anchor to the one occurrence of ``phrase`` in ``document``, via :func:`find_span`.

    Parameters
    ----------
    document : Document
        The source document (its id and name go into the anchor).
    phrase : str
        The exact supporting passage.
    note : str, optional
        Why the passage supports the value, in the author's own words.

    Returns
    -------
    Anchor

    Examples
    --------
    >>> doc = Document.from_text("Talks resume in May.", "memo.txt")
    >>> a = anchor_for(doc, "resume", note="talks are planned")
    >>> (a.start, a.end, a.file)
    (6, 12, 'memo.txt')
    """
    start, end = find_span(document.text, phrase)
    return Anchor(document=document.id, start=start, end=end, file=document.name, note=note)
