"""The web app: ``detente serve`` (an HTTP API typed with the library's models, and a page).

Needs the ``web`` extra (FastAPI, uvicorn, python-multipart, plotly). See :func:`create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detente.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing detente.web does not need FastAPI until an app is made.
    if name == "create_app":
        from detente.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
