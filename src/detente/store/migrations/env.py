"""Alembic's environment for the run store.

detente runs the migrations itself (:func:`detente.store.db.open_store`), handing over a
connection already inside a transaction in ``config.attributes["connection"]``. For
development, ``alembic -c src/detente/store/alembic.ini ...`` also works: it connects to
``-x url=...``, else ``sqlalchemy.url`` of the ini, else the default store.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from detente.store.db import Base, default_url

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or default_url()
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    with create_engine(_url()).connect() as conn:
        _run(conn)
        conn.commit()
