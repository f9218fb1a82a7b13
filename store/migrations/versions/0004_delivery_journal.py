"""Delivery journal for duplicate suppression on client retries.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("journal",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_journal",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_delivery_journal"),
    )
    op.create_index("ix_delivery_journal_delivered_at", "delivery_journal", ["delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_journal_delivered_at", table_name="delivery_journal")
    op.drop_table("delivery_journal")
