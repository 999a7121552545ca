"""``detente serve``: the web app (:mod:`detente.web`) on this machine, registered on the CLI's
``app`` when imported by detente.cli."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from detente.cli import UsageError, _console, _user_errors, app
from detente.errors import InputError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. The default answers this machine only; give another"
            " (e.g. 0.0.0.0) to let other machines in."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Run store URL or SQLite file (default: $DETENTE_DB_URL, else detente's own).",
        ),
    ] = None,
    docs: Annotated[
        Path | None,
        typer.Option("--docs", help="Folder of the source documents that anchors point into."),
    ] = None,
    upload_dir: Annotated[
        Path | None,
        typer.Option(
            "--upload-dir", help="Where uploaded files are kept (default: the user's cache)."
        ),
    ] = None,
    max_upload: Annotated[
        int, typer.Option("--max-upload", help="Largest accepted upload, in bytes.", min=1)
    ] = 2_000_000,
) -> None:
    """Start the web app: choose or upload a scenario, edit it, run models, compare shocks and
    read the evidence in a browser. The HTTP API is described at /openapi.json."""
    with _user_errors():
        try:
            import uvicorn

            from detente.web import create_app
        except ImportError as exc:
            raise UsageError(
                f"detente serve needs the web extra ({exc.name} is missing):"
                " pip install 'detente[web]'"
            ) from None
        if docs is not None and not docs.is_dir():
            raise InputError(docs, "expected a folder of source documents (--docs)")
        if upload_dir is not None and upload_dir.exists() and not upload_dir.is_dir():
            raise InputError(upload_dir, "expected a folder for uploads (--upload-dir)")
        # On loopback, answer only to loopback host names: a web page cannot then reach the
        # app through a DNS name rebound to 127.0.0.1.
        hosts = ["127.0.0.1", "localhost"] if host in LOOPBACK[:2] else None
        web = create_app(
            store_url=db,
            upload_dir=upload_dir,
            docs_dir=docs,
            max_upload_bytes=max_upload,
            allowed_hosts=hosts,
        )
        web.state.services.store()  # a bad --db fails here, in one line, not at the first run
    shown = f"[{host}]" if ":" in host else host
    err = _console(stderr=True)
    if host not in LOOPBACK:
        err.print(
            f"[yellow]warning:[/] listening on {host}: anyone who can reach this machine can"
            " run models, upload files and read the run store",
            highlight=False,
        )
    err.print(f"detente: serving on http://{shown}:{port}/ (Ctrl+C to stop)", highlight=False)
    uvicorn.run(web, host=host, port=port, log_level="warning")
