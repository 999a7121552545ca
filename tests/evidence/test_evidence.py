"""detente.evidence: document ids, the document store, quoting anchors, the evidence table."""

from __future__ import annotations

import doctest
import hashlib
import json
from pathlib import Path

import pytest

import detente.evidence.anchors
import detente.evidence.documents
import detente.evidence.table
from detente.errors import InputError
from detente.evidence import (
    DocumentStore,
    EvidenceError,
    EvidenceRow,
    anchor_for,
    document_id,
    evidence_table,
    find_span,
    format_citation,
    quote,
)
from detente.scenario import Anchor, Citation, Scenario

MEMO = "Delegations meet on Monday.\nThe agenda is short: prisoners, grain, and a truce — maybe.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "memo.txt").write_bytes(MEMO.encode("utf-8"))
    (tmp_path / "notes.md").write_text("# Notes\nNothing yet.\n", encoding="utf-8")
    return tmp_path


def _anchor(store: DocumentStore, name: str, phrase: str) -> Anchor:
    doc = store.named(name)
    assert doc is not None
    return anchor_for(doc, phrase)


def test_document_id_is_sha256_of_utf8() -> None:
    text = "Kyiv – Київ"
    assert document_id(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert len(document_id("")) == 64


def test_store_reads_every_text_file_and_equals_file_hash(folder: Path) -> None:
    (folder / "page.html").write_text("<p>hello</p>", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.txt").write_text("not read", encoding="utf-8")
    store = DocumentStore.from_dir(folder)
    assert sorted(doc.name for doc in store) == ["memo.txt", "notes.md", "page.html"]
    memo = store.named("memo.txt")
    assert memo is not None
    assert memo.id == hashlib.sha256((folder / "memo.txt").read_bytes()).hexdigest()
    assert memo.id in store
    assert store.get(memo.id) is memo
    assert store.skipped == ()


def test_store_keeps_crlf_so_offsets_match_the_file(tmp_path: Path) -> None:
    (tmp_path / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    doc = DocumentStore.from_dir(tmp_path).named("crlf.txt")
    assert doc is not None
    assert doc.text == "one\r\ntwo\r\n"


def test_store_skips_non_utf8_with_a_warning(folder: Path) -> None:
    (folder / "latin1.txt").write_bytes("café".encode("latin-1"))
    (folder / "blob.bin").write_bytes(b"\x00\x01\x02")
    store = DocumentStore.from_dir(folder)
    assert len(store) == 2
    assert store.named("latin1.txt") is None
    assert len(store.skipped) == 2
    assert any(w.startswith("latin1.txt: not UTF-8") for w in store.skipped)
    assert any(w.startswith("blob.bin: not a text file") for w in store.skipped)


def test_store_from_missing_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="does not exist"):
        DocumentStore.from_dir(tmp_path / "nowhere")


def test_quote_returns_exact_span(folder: Path) -> None:
    store = DocumentStore.from_dir(folder)
    anchor = _anchor(store, "memo.txt", "a truce — maybe")
    assert quote(anchor, store) == "a truce — maybe"
    assert MEMO[anchor.start : anchor.end] == "a truce — maybe"


def test_quote_changed_document_says_so(folder: Path) -> None:
    anchor = _anchor(DocumentStore.from_dir(folder), "memo.txt", "Monday")
    (folder / "memo.txt").write_text(MEMO.replace("Monday", "Tuesday"), encoding="utf-8")
    store = DocumentStore.from_dir(folder)
    with pytest.raises(EvidenceError) as info:
        quote(anchor, store)
    found = document_id(MEMO.replace("Monday", "Tuesday"))
    assert str(info.value) == (
        "document 'memo.txt' has changed since the anchor was made"
        f" (sha256 {anchor.document[:8]}… expected, {found[:8]}… found)"
    )


def test_quote_unknown_document(folder: Path) -> None:
    store = DocumentStore.from_dir(folder)
    anchor = Anchor(document="0" * 64, start=0, end=3, file="gone.txt")
    with pytest.raises(EvidenceError) as info:
        quote(anchor, store)
    assert str(info.value).startswith("no document with sha256 00000000… (file 'gone.txt') in ")


def test_quote_end_beyond_document(folder: Path) -> None:
    store = DocumentStore.from_dir(folder)
    doc = store.named("memo.txt")
    assert doc is not None
    anchor = Anchor(document=doc.id, start=5, end=len(MEMO) + 1, file="memo.txt")
    with pytest.raises(EvidenceError, match=r"runs past the end of document 'memo\.txt'"):
        quote(anchor, store)
    assert quote(anchor.model_copy(update={"end": len(MEMO)}), store) == MEMO[5:]


def test_evidence_error_is_one_line_input_error() -> None:
    error = EvidenceError("first\nsecond").at("usa.aid.position")
    assert isinstance(error, InputError)
    assert str(error) == "usa.aid.position: first second"


def test_find_span() -> None:
    assert find_span(MEMO, "grain") == (MEMO.index("grain"), MEMO.index("grain") + 5)
    with pytest.raises(EvidenceError, match="does not occur"):
        find_span(MEMO, "wheat")
    with pytest.raises(EvidenceError, match="ambiguous"):
        find_span(MEMO, "e")
    with pytest.raises(EvidenceError, match="ambiguous"):
        find_span("aaa", "aa")  # overlapping occurrences count too
    with pytest.raises(EvidenceError, match="non-empty"):
        find_span(MEMO, "")


def _scenario(anchor: Anchor) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "demo",
            "issues": [{"id": "truce"}, {"id": "grain"}],
            "actors": [
                {
                    "id": "a",
                    "capability": {"value": 2, "source": "stats"},
                    "stances": {
                        "truce": {
                            "position": {"value": 70, "source": anchor.model_dump()},
                            "salience": {"value": 0.4, "source": "memo"},
                        },
                        "grain": {
                            "position": 10,
                            "salience": {
                                "value": 0.5,
                                "source": {"kind": "judgement", "rationale": "a guess"},
                            },
                        },
                    },
                }
            ],
            "sources": {
                "memo": anchor.model_dump(),
                "stats": {
                    "kind": "citation",
                    "publication": "Yearbook",
                    "year": 2024,
                    "figure": "2 units",
                    "note": "rounded",
                },
            },
        }
    )


def test_evidence_table_rows(folder: Path) -> None:
    store = DocumentStore.from_dir(folder)
    anchor = _anchor(store, "memo.txt", "prisoners, grain").model_copy(update={"note": "listed"})
    rows = evidence_table(_scenario(anchor), store)
    assert [(r.path, r.kind) for r in rows] == [
        ("a.capability", "citation"),
        ("a.truce.position", "anchor"),
        ("a.truce.salience", "anchor"),
        ("a.grain.position", "none"),
        ("a.grain.salience", "judgement"),
    ]
    capability, position, salience, bare, judged = rows
    text = "Yearbook (2024): 2 units"
    assert capability == EvidenceRow(
        "a.capability", 2.0, "citation", text, note="rounded", source_id="stats"
    )
    assert position.text == "prisoners, grain"
    assert (position.file, position.start, position.end) == ("memo.txt", anchor.start, anchor.end)
    assert position.note == "listed"
    assert position.source_id is None
    assert salience.source_id == "memo"
    assert bare.text == ""
    assert bare.value == 10.0
    assert judged.text == "a guess"
    assert position.to_dict()["start"] == anchor.start
    assert json.loads(json.dumps([r.to_dict() for r in rows]))[0]["kind"] == "citation"


def test_evidence_table_error_names_the_estimate(folder: Path) -> None:
    anchor = _anchor(DocumentStore.from_dir(folder), "memo.txt", "Monday")
    (folder / "memo.txt").write_text("rewritten", encoding="utf-8")
    with pytest.raises(EvidenceError) as info:
        evidence_table(_scenario(anchor), DocumentStore.from_dir(folder))
    assert str(info.value).startswith("a.truce.position: document 'memo.txt' has changed")


def test_format_citation_full() -> None:
    citation = Citation(
        publication="Atlas", table="T1", year=2020, figure="3 bn USD", url="https://example.org"
    )
    assert format_citation(citation) == "Atlas (2020), T1: 3 bn USD — https://example.org"


@pytest.mark.parametrize(
    "module",
    [detente.evidence.documents, detente.evidence.anchors, detente.evidence.table],
)
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0
