"""Used consent-form nonces (web pages: replayed POSTs record nothing).

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("web",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_form_nonces",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_web_form_nonces"),
    )
    op.create_index("ix_web_form_nonces_used_at", "web_form_nonces", ["used_at"])


def downgrade() -> None:
    op.drop_index("ix_web_form_nonces_used_at", table_name="web_form_nonces")
    op.drop_table("web_form_nonces")
