"""Evidence: every number of a scenario with its source, and the documents anchors point to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from detente.web import views
from detente.web.routes.common import api_router, fail
from detente.web.schemas import DocumentOut, EvidenceOut, EvidenceRequest
from detente.web.services import Services

SHA256 = r"^[0-9a-f]{64}$"


def router(services: Services) -> APIRouter:
    routes = api_router(tags=["evidence"])
    budget = services.budget

    @routes.post("/api/evidence", max_body_size=budget.max_body_bytes)
    def evidence(request: EvidenceRequest) -> EvidenceOut:
        """Every number of the scenario with its source; anchors name their document."""
        budget.check_size(request.scenario)
        docs = services.documents()
        return EvidenceOut(rows=views.evidence_items(request.scenario, docs), documents=len(docs))

    @routes.get(
        "/api/documents/{doc_id}",
        responses={404: {"description": "no document with that SHA-256"}},
    )
    def document(doc_id: Annotated[str, PathParam(pattern=SHA256)]) -> DocumentOut:
        """A source document's text, by the SHA-256 that anchors name it by."""
        doc = services.documents().get(doc_id)
        if doc is None:
            where = "no documents folder (start with --docs DIR)"
            if services.docs_dir is not None:
                where = "not in the documents folder"
            fail(404, f"no document with sha256 {doc_id[:12]}…: {where}")
        return DocumentOut(id=doc.id, name=doc.name, text=doc.text)

    return routes
