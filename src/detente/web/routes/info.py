"""The server's version, limits and formats: what the page asks first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from detente import __version__, io
from detente.web.routes.common import api_router
from detente.web.services import Services


def router(services: Services) -> APIRouter:
    routes = api_router(tags=["server"])
    budget = services.budget

    @routes.get("/api/info")
    def info() -> dict[str, Any]:
        """Version, limits and whether source documents are available."""
        return {
            "version": __version__,
            "max_upload_bytes": budget.max_upload_bytes,
            "max_draws": budget.max_draws,
            "limits": budget.limits(),
            "formats": list(io.FORMATS),
            "documents": len(services.documents()),
        }

    return routes
