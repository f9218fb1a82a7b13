"""Routed-tracker measurement: counts, identified events, last-open dates (issue 6).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("tracking",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("message_ref", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "message_ref", "purpose", "source", name="pk_tracking_counts"
        ),
    )
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("message_ref", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_events"),
    )
    op.create_index("ix_tracking_events_recipient", "tracking_events", ["recipient"])
    op.create_index("ix_tracking_events_occurred_at", "tracking_events", ["occurred_at"])
    op.create_table(
        "tracking_last_open",
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("last_open", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("recipient", name="pk_tracking_last_open"),
    )


def downgrade() -> None:
    op.drop_table("tracking_last_open")
    op.drop_index("ix_tracking_events_occurred_at", table_name="tracking_events")
    op.drop_index("ix_tracking_events_recipient", table_name="tracking_events")
    op.drop_table("tracking_events")
    op.drop_table("tracking_counts")
