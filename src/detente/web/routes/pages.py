"""The page: ``index.html`` and Plotly's script, served from the package (no CDN)."""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from detente.web.routes.common import api_router, fail
from detente.web.services import Services

STATIC = Path(__file__).resolve().parent.parent / "static"


@functools.cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs()).encode("utf-8")


def router(_services: Services) -> APIRouter:
    routes = api_router(include_in_schema=False)

    @routes.get("/")
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @routes.get("/static/plotly.js")
    def plotly_js() -> Response:
        try:
            body = _plotly_js()
        except ImportError:
            fail(404, "plotly is not installed (pip install 'detente[web]')")
        return Response(
            body,
            media_type="application/javascript",
            headers={"cache-control": "public, max-age=86400"},
        )

    return routes
