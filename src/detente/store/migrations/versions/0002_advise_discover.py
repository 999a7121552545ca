"""Two more kinds of run: ``advise`` and ``discover``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Written by hand, frozen. Only the check constraint on ``runs.kind`` changes: SQLite rebuilds
the table in batch mode (copying every row), PostgreSQL alters the constraint in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD = "kind IN ('run', 'mc', 'compare', 'shock', 'sensitivity')"
_NEW = "kind IN ('run', 'mc', 'compare', 'shock', 'sensitivity', 'advise', 'discover')"


def _replace(condition: str) -> None:
    # the rebuilt SQLite table keeps AUTOINCREMENT: ids of deleted runs are never reused
    with op.batch_alter_table(
        "runs", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_constraint(op.f("ck_runs_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_runs_kind"), condition)


def _sequence() -> int | None:
    """SQLite: the highest id ever given (deleted runs included), which a rebuilt table would
    forget; None elsewhere."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    value = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'runs'")).scalar()
    return None if value is None else int(value)


def _keep_sequence(seq: int | None) -> None:
    if seq is None:
        return
    bind = op.get_bind()
    now = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'runs'")).scalar()
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'runs'"))
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('runs', :seq)"),
        {"seq": max(seq, int(now or 0))},
    )


def upgrade() -> None:
    seq = _sequence()
    _replace(_NEW)
    _keep_sequence(seq)


def downgrade() -> None:
    seq = _sequence()
    op.execute("DELETE FROM runs WHERE kind IN ('advise', 'discover')")
    _replace(_OLD)
    _keep_sequence(seq)
