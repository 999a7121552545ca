"""Evidence: source documents by content hash, anchors into them, and the evidence table.

A scenario never stores quoted text. An :class:`~detente.scenario.Anchor` names a document by
the SHA-256 of its UTF-8 text and a ``[start, end)`` span of Python character offsets; the span
is read from a :class:`DocumentStore` at run time with :func:`quote`.
"""

from detente.evidence.anchors import anchor_for, find_span, quote
from detente.evidence.documents import Document, DocumentStore, EvidenceError, document_id
from detente.evidence.table import EvidenceRow, SourceKind, evidence_table, format_citation

__all__ = [
    "Document",
    "DocumentStore",
    "EvidenceError",
    "EvidenceRow",
    "SourceKind",
    "anchor_for",
    "document_id",
    "evidence_table",
    "find_span",
    "format_citation",
    "quote",
]
