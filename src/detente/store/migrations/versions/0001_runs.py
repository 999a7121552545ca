"""The runs table: one row per recorded run.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written by hand, frozen: later schema changes are new revisions, never edits of this one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON(none_as_null=False)
    op.create_table(
        "runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scenario_name", sa.Text(), nullable=False),
        sa.Column("scenario_hash", sa.String(64), nullable=False),
        sa.Column("scenario_yaml", sa.Text(), nullable=False),
        sa.Column("models", json, nullable=False),
        sa.Column("params", json, nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("results", json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.CheckConstraint(
            "kind IN ('run', 'mc', 'compare', 'shock', 'sensitivity')", name=op.f("ck_runs_kind")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_runs_created_at"), "runs", ["created_at"])
    op.create_index(op.f("ix_runs_scenario_hash"), "runs", ["scenario_hash"])


def downgrade() -> None:
    op.drop_index("ix_runs_scenario_hash", table_name="runs")
    op.drop_index("ix_runs_created_at", table_name="runs")
    op.drop_table("runs")
