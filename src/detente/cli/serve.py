"""``detente serve``: the web app (:mod:`detente.web`) on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from detente.cli import common
from detente.cli.common import UsageError
from detente.cli.program import app
from detente.errors import InputError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
LIMITS = "Limits (a request over one gets 413/422 naming it)"
CONNECTIONS = "Connections and workers"


def _option(name: str, metavar: str = "", panel: str = LIMITS) -> Any:
    """The option of the budget's field ``name``, with its help and default from the field."""
    from detente.web.budget import Budget

    default = getattr(Budget(), name)
    shown = f"{default:,}" if isinstance(default, int) else f"{default:g}"
    if name == "max_memory_bytes":
        shown = f"{default // 2**20:,}"
    return typer.Option(
        Budget.option(name),
        help=f"{Budget.doc(name)[0].upper()}{Budget.doc(name)[1:]} [default: {shown}].",
        metavar=metavar or ("SECONDS" if isinstance(default, float) else "N"),
        show_default=False,
        rich_help_panel=panel,
    )


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
    max_upload: Annotated[int | None, _option("max_upload_bytes", "BYTES")] = None,
    max_body: Annotated[int | None, _option("max_body_bytes", "BYTES")] = None,
    max_actors: Annotated[int | None, _option("max_actors")] = None,
    max_issues: Annotated[int | None, _option("max_issues")] = None,
    max_rounds: Annotated[int | None, _option("max_rounds")] = None,
    max_draws: Annotated[int | None, _option("max_draws")] = None,
    max_shocks: Annotated[int | None, _option("max_shocks")] = None,
    max_memory: Annotated[int | None, _option("max_memory_bytes", "MIB")] = None,
    time_limit: Annotated[float | None, _option("max_seconds")] = None,
    upload_ttl: Annotated[float | None, _option("upload_ttl")] = None,
    max_kept_uploads: Annotated[int | None, _option("max_kept_uploads")] = None,
    workers: Annotated[int | None, _option("workers", panel=CONNECTIONS)] = None,
    max_waiting: Annotated[int | None, _option("max_waiting", panel=CONNECTIONS)] = None,
    max_jobs: Annotated[int | None, _option("max_jobs", panel=CONNECTIONS)] = None,
    header_timeout: Annotated[float | None, _option("header_timeout", panel=CONNECTIONS)] = None,
    body_timeout: Annotated[float | None, _option("body_timeout", panel=CONNECTIONS)] = None,
    keep_alive: Annotated[float | None, _option("keep_alive", panel=CONNECTIONS)] = None,
    max_header: Annotated[
        int | None, _option("max_header_bytes", "BYTES", panel=CONNECTIONS)
    ] = None,
    max_connections: Annotated[int | None, _option("max_connections", panel=CONNECTIONS)] = None,
    shutdown_grace: Annotated[float | None, _option("shutdown_grace", panel=CONNECTIONS)] = None,
) -> None:
    """Start the web app: choose or upload a scenario, edit it, run models, compare shocks and
    read the evidence in a browser. The HTTP API is described at /openapi.json; every request
    has a budget (the limits below, shown by GET /api/info)."""
    with common.user_errors():
        try:
            import uvicorn

            from detente.web import create_app
            from detente.web.budget import Budget
            from detente.web.server import uvicorn_options
        except ImportError as exc:
            raise UsageError(
                f"detente serve needs the web extra ({exc.name} is missing):"
                " pip install 'detente[web]'"
            ) from None
        given: dict[str, Any] = {
            "max_upload_bytes": max_upload,
            "max_body_bytes": max_body,
            "max_actors": max_actors,
            "max_issues": max_issues,
            "max_rounds": max_rounds,
            "max_draws": max_draws,
            "max_shocks": max_shocks,
            "max_memory_bytes": None if max_memory is None else max_memory * 2**20,
            "max_seconds": time_limit,
            "upload_ttl": upload_ttl,
            "max_kept_uploads": max_kept_uploads,
            "workers": workers,
            "max_waiting": max_waiting,
            "max_jobs": max_jobs,
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "keep_alive": keep_alive,
            "max_header_bytes": max_header,
            "max_connections": max_connections,
            "shutdown_grace": shutdown_grace,
        }
        try:
            budget = Budget(**{k: v for k, v in given.items() if v is not None})
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if docs is not None and not docs.is_dir():
            raise InputError(docs, "expected a folder of source documents (--docs)")
        if upload_dir is not None and upload_dir.exists() and not upload_dir.is_dir():
            raise InputError(upload_dir, "expected a folder for uploads (--upload-dir)")
        # On loopback, answer only to loopback host names: a web page cannot then reach the
        # app through a DNS name rebound to 127.0.0.1.
        hosts = None
        if host in LOOPBACK[:2]:
            hosts = ["127.0.0.1", "localhost"]
        elif host == "::1":
            hosts = ["[::1]", "localhost"]
        web = create_app(
            store_url=db,
            upload_dir=upload_dir,
            docs_dir=docs,
            budget=budget,
            allowed_hosts=hosts,
        )
        services = web.state.services
        services.store()  # a bad --db fails here, in one line, not at the first run
    services.pool.start()  # the workers load the models now, not at the first run
    shown = f"[{host}]" if ":" in host else host
    err = common.console(stderr=True)
    if host not in LOOPBACK:
        err.print(
            f"[yellow]warning:[/] listening on {host}: anyone who can reach this machine can"
            " run models, upload files and read the run store",
            highlight=False,
        )
    err.print(f"detente: serving on http://{shown}:{port}/ (Ctrl+C to stop)", highlight=False)
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning", **uvicorn_options(budget))
    finally:
        services.close()  # also when uvicorn could not start (e.g. the port is taken)
